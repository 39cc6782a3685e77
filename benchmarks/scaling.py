"""Issue 6, item 7: training time and memory against the training-set size.

For each size N (raw EEG epochs: the real ones repeated to N, or synthetic),
a fresh process runs the steps of ``make_pipeline(raw=True,
n_per_class=N // 5)`` one by one (spectrogram, scaling, balancing, classifier
with ``--epochs`` training epochs, default 2), recording the RSS after each
step and the peak (``VmHWM``) at the end, and the wall time of the last
training epoch (the first also builds and traces the model). Linear scaling
means constant seconds per 1,000 samples; the memory columns show where the memory goes.

Run ``python -m benchmarks.scaling --quick`` (1k, 3k) or ``--full``
(1k, 5k, 20k, 50k).
"""

import argparse

from . import _common as C

CHILD = """
import os, time, json
import numpy as np
from skdreamy import EpochSpectrogram, SpectrogramScaler, SleepStageCNNClassifier
from skdreamy.sampling import ClassBalancer
from benchmarks._common import load_epochs, rss_mib, peak_rss_mib
from benchmarks.training import EpochTimer
n = {n}
rss = {{"import": rss_mib()}}
X, y, source = load_epochs({data!r}, n)
rss["raw data"] = rss_mib()
t0 = time.perf_counter()
S = EpochSpectrogram().fit_transform(X)
rss["+ spectrograms"] = rss_mib()
Z = SpectrogramScaler().fit_transform(S)
rss["+ scaled"] = rss_mib()
Zb, yb = ClassBalancer(n_per_class=n // 5, random_state=0).fit_resample(Z, y)
rss["+ balanced"] = rss_mib()
t_pre = time.perf_counter() - t0
timer = EpochTimer()
t = time.perf_counter()
clf = SleepStageCNNClassifier(epochs={epochs}, random_state=0, callbacks=[timer])
clf.fit(Zb, yb)
t_fit = time.perf_counter() - t
rss["after fit"] = rss_mib()
print(json.dumps({{"n": n, "source": source, "rss": rss, "peak": peak_rss_mib(),
                  "preprocess": t_pre, "fit": t_fit, "epochs": timer.times,
                  "bytes_raw": X.nbytes, "bytes_spec": S.nbytes}}))
"""


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--sizes", default=None, help="comma-separated N")
    parser.add_argument(
        "--epochs",
        type=int,
        default=2,
        help="training epochs per size (the "
        "last one is timed; with 1 it includes building and tracing)",
    )
    args = parser.parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([1000, 5000, 20000, 50000] if args.full else [1000, 3000])
    )
    info = C.header("scaling with the training-set size (item 7)", args)
    rows = []
    for n in sizes:
        o = C.run_child(
            CHILD.format(n=n, data=args.data, epochs=args.epochs), timeout=7200
        )
        rows.append(o)
        print(
            f"   N={n:>6}: epoch {o['epochs'][-1]:.1f} s "
            f"({1000 * o['epochs'][-1] / n:.2f} s per 1k), preprocessing "
            f"{o['preprocess']:.1f} s, peak RSS {o['peak']:.0f} MiB, load "
            f"{C.machine()['loadavg'][0]}",
            flush=True,
        )
    print(f"   data     {rows[0]['source'].split(', repeated')[0]}, repeated to N")
    print(
        "\n   N       epoch s  s/1k   prep s  peak MiB  RSS MiB after: import, "
        "raw, +spectro, +scaled, +balanced, fit"
    )
    for o in rows:
        r = o["rss"]
        print(
            f"   {o['n']:<7} {o['epochs'][-1]:7.1f} "
            f"{1000 * o['epochs'][-1] / o['n']:5.2f}  {o['preprocess']:6.1f}  "
            f"{o['peak']:8.0f}  " + ", ".join(f"{v:.0f}" for v in r.values())
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        ta, tb = a["epochs"][-1], b["epochs"][-1]
        per = (tb - ta) / (b["n"] - a["n"])
        print(
            f"\n   time: {1000 * per:.2f} s per 1,000 more samples (from the "
            f"smallest to the largest N), intercept {ta - per * a['n']:.1f} s"
        )
        slope = (b["peak"] - a["peak"]) / (b["n"] - a["n"])
        print(
            f"\n   peak memory grows {slope * 1000:.0f} MiB per 1,000 epochs "
            f"(raw epoch 11.7 KiB, spectrogram 11.8 KiB: one copy of each = "
            f"{(a['bytes_raw'] + a['bytes_spec']) / a['n'] * 1000 / 2**20:.0f} MiB "
            "per 1,000)"
        )
    C.save_json(args.json, info, {"rows": rows})
    return rows


if __name__ == "__main__":
    main()
