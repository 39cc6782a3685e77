"""Issue 6, item 3: the front end, ``EpochSpectrogram`` on one core.

Epochs per second of ``EpochSpectrogram().transform`` against a plain loop of
``scipy.signal.spectrogram`` (one call per epoch, the obvious way) and one
vectorised ``scipy.signal.spectrogram(X, axis=-1)`` call, interleaved, in a
child process pinned to one CPU with BLAS/OpenMP limited to one thread. Also
checks that all give the same values (float32 rounding). Goal: >= 20,000
epochs/s.

Run ``python -m benchmarks.spectrogram --quick`` or ``--full``.
"""

import argparse

from . import _common as C

_CHILD = """
import os, json, time
os.sched_setaffinity(0, {{sorted(os.sched_getaffinity(0))[-1]}})
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import numpy as np
from scipy.signal import spectrogram
from skdreamy import EpochSpectrogram
from benchmarks._common import load_epochs, interleave
X, y, source = load_epochs({data!r}, {n})
X = np.ascontiguousarray(X, dtype=np.float32)
spec = EpochSpectrogram().fit(X)
kw = dict(fs=100.0, nperseg=100, noverlap=50)
cpu = {{}}
def timed(name, f):
    def run():
        t, c = time.perf_counter(), time.process_time()
        f()
        cpu.setdefault(name, []).append(time.process_time() - c)
        return time.perf_counter() - t
    return run
def loop():
    out = np.empty((len(X), 51, 59), np.float32)
    for i, x in enumerate(X):
        out[i] = spectrogram(x, **kw)[2]
def vectorised():
    spectrogram(X, axis=-1, **kw)[2].astype(np.float32)
def ours():
    spec.transform(X)
a = spec.transform(X[:200]).reshape(200, 51, 59)
b = spectrogram(X[:200].astype(np.float64), axis=-1, **kw)[2]
err = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
variants = {{"EpochSpectrogram.transform": ours, "scipy vectorised": vectorised}}
if {loop}:
    variants["scipy loop"] = loop
variants = {{k: timed(k, f) for k, f in variants.items()}}
times = interleave(variants, {repeats})
print(json.dumps({{"times": times, "cpu_times": cpu, "source": source,
                  "max_rel_err": err, "cpu": sorted(os.sched_getaffinity(0))}}))
"""


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=None, help="epochs per call")
    args = parser.parse_args(argv)
    n = args.n or (20000 if args.full else 5000)
    repeats = args.repeats or (7 if args.full else 3)
    info = C.header("EpochSpectrogram throughput on one core (item 3)", args)
    code = _CHILD.format(data=args.data, n=n, repeats=repeats, loop=True)
    out = C.run_child(code, env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    print(
        f"   data     {out['source']}; {n} epochs per call, pinned to CPU {out['cpu']}"
    )
    print(f"   max relative difference from scipy (float64): {out['max_rel_err']:.1e}")
    results = {"n": n, "source": out["source"], "max_rel_err": out["max_rel_err"]}
    print(
        "   epochs/s by wall clock and by CPU time of the process (the latter "
        "is what one\n   core gives when not shared), median [min-max]:"
    )
    base = None
    for name, times in out["times"].items():
        rate = C.summarise([n / t for t in times])
        cpu_rate = C.summarise([n / t for t in out["cpu_times"][name]])
        base = base or cpu_rate["median"]
        results[name] = {"wall": rate, "cpu": cpu_rate}
        verdict = (
            f"goal >= 20,000: {'met' if cpu_rate['median'] >= 20000 else 'NOT met'}"
            if base == cpu_rate["median"]
            else f"ours is x{base / cpu_rate['median']:.1f} faster"
        )
        print(
            f"   {name:<27} wall {C.fmt(rate, '', 0)}; cpu "
            f"{C.fmt(cpu_rate, '', 0)}  {verdict}"
        )
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
