"""Run the performance benchmarks of issue 6 one after the other.

Usage (from the repository root)::

    python -m benchmarks run --quick      # every benchmark, small: minutes
    python -m benchmarks run --full       # the figures of benchmarks/README.md
    python -m benchmarks run --quick --only spectrogram night
    python -m benchmarks list

Each benchmark runs in its own process (``python -m benchmarks.<name>``), so
that none inherits another's TensorFlow state or memory; its output is shown
as it comes and its results are written as JSON to ``--out`` (default
``benchmarks/results/<date>-<mode>/``). ``--data`` (default
``../shared/data``) is passed on; without real data every benchmark says it
used synthetic epochs. The GPU benchmark runs only with ``--gpu`` (it needs
``KERAS_BACKEND=jax`` and JAX; see ``benchmarks/gpu.py``).

The accuracy benchmarks (``benchmarks.accuracy``, ``benchmarks.precision``)
are not part of this runner: they take much longer; run them on their own.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from . import _common as C

BENCHMARKS = {
    "spectrogram": "item 3: EpochSpectrogram epochs/s on one core vs scipy",
    "training": "items 1-2: raw Keras vs classifier vs pipeline fit; GFLOP/s",
    "speed_options": "item 2: steps_per_execution, determinism, XLA, bfloat16",
    "backends": "item 2: TF NCHW, oneDNN off, JAX and torch back ends on CPU",
    "night": "item 4: a night from raw signal to hypnogram; import time",
    "memory": "item 5 (+ 4-min goal): reference protocol time and peak RSS",
    "scaling": "item 7: time and memory vs training-set size",
    "gpu": "item 6: Keras on JAX, GPU (only with --gpu)",
}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the benchmarks")
    run = sub.add_parser("run", help="run benchmarks")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="default: a few minutes")
    mode.add_argument("--full", action="store_true", help="the reported figures")
    run.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=None)
    run.add_argument("--data", default=str(C.DEFAULT_DATA))
    run.add_argument("--gpu", action="store_true", help="also the JAX/GPU benchmark")
    run.add_argument("--out", default=None, help="folder for the JSON results")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, what in BENCHMARKS.items():
            print(f"{name:<14} {what}")
        return 0
    flag = "--full" if args.full else "--quick"
    names = args.only or [n for n in BENCHMARKS if n != "gpu" or args.gpu]
    out = Path(
        args.out or C.RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-{flag.lstrip('-')}"
    )
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(C.REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    failed = []
    start = time.perf_counter()
    for name in names:
        cmd = [
            sys.executable,
            "-m",
            f"benchmarks.{name}",
            flag,
            "--data",
            args.data,
            "--json",
            str(out / f"{name}.json"),
        ]
        env_run = {**env, "KERAS_BACKEND": "jax"} if name == "gpu" else env
        t = time.perf_counter()
        code = subprocess.call(cmd, env=env_run, cwd=C.REPO)
        print(
            f"   [{name}: {time.perf_counter() - t:.0f} s, exit {code}]\n", flush=True
        )
        if code:
            failed.append(name)
    print(
        f"== {len(names) - len(failed)}/{len(names)} benchmarks done in "
        f"{(time.perf_counter() - start) / 60:.1f} min; JSON in {out}"
        + (f"; FAILED: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
