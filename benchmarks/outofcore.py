"""Peak memory of out-of-core training as the data set grows (issue 9).

For each size (``--base-mib`` x 1, 4, 16 by default) this writes raw EEG
epochs (n, 3000) float32 with stage labels to a memory-mappable file in a
temporary folder (``--dir``, default the system's; never the repository),
then, in a fresh Python process per run, fits
``make_pipeline(raw=True, n_per_class=...)`` on ``np.memmap(..., mode="r")``
with :func:`skdreamy.outofcore.fit_out_of_core` and reports:

- ``VmHWM``: the kernel's peak resident set of the process (anonymous memory
  plus mapped file pages), the figure an RSS budget is about;
- the peaks of anonymous and file-backed resident memory, sampled every
  10 ms from ``/proc/self/status``;
- the time before training (reading every epoch, spectrograms, scaler
  statistics, balancing; in memory also the copy into memory) and of the
  training itself.

Runs: out of core (pages released after each chunk/batch, the default), out
of core without releasing pages (largest size only: where the file-backed
RSS goes), and the ordinary in-memory ``pipeline.fit`` on ``np.array(X)``
(sizes up to ``--in-memory-max-mib``). Linux only (``/proc``).

The epochs are synthetic (``make_sleep_epochs``), a block repeated to the
size wanted: this measures memory and time, not accuracy. The classifier is
the reference CNN trained for ``--epochs`` epoch(s) on ``--n-per-class``
epochs per stage; training reads only those balanced rows, whatever the size.

Run ``python -m benchmarks.outofcore`` (about 5 minutes on 2 cores), or
``--quick`` (8 and 32 MiB).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import _common as C

N_TIMES = 3000
ROW_BYTES = N_TIMES * 4
REPO = Path(__file__).resolve().parents[1]


def write_epochs(folder, n_epochs, block=4000, seed=0):
    """Write ``n_epochs`` raw epochs and labels; return their paths."""
    from skdreamy.datasets import make_sleep_epochs

    X_block, y_block = make_sleep_epochs(block, random_state=seed)
    X_block = X_block.astype(np.float32)
    x_path, y_path = folder / "X.f32", folder / "y.npy"
    y = np.empty(n_epochs, dtype=np.int64)
    with open(x_path, "wb") as out:
        for start in range(0, n_epochs, block):
            stop = min(start + block, n_epochs)
            rows = np.roll(np.arange(block), start // block)[: stop - start]
            out.write(X_block[rows].tobytes())
            y[start:stop] = y_block[rows]
    np.save(y_path, y)
    return x_path, y_path


class _Sampler(threading.Thread):
    """Peaks of RssAnon and RssFile of this process, every 10 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.running = True

    def run(self):
        while self.running:
            for key, kib in _status(("RssAnon", "RssFile")).items():
                self.peak[key] = max(self.peak[key], kib)
            time.sleep(0.01)


def _status(keys):
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in keys:
                values[name] = int(rest.split()[0])  # kB
    return values


def child(args):
    """One run, in a fresh process: fit and print one line of JSON."""
    sampler = _Sampler()
    sampler.start()
    from skdreamy import SleepStageCNNClassifier, make_pipeline
    from skdreamy.outofcore import fit_out_of_core

    y = np.load(args.y)
    X = np.memmap(args.x, dtype=np.float32, mode="r", shape=(len(y), N_TIMES))
    import keras

    class TrainingTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_end(self, logs=None):
            self.end = time.perf_counter()

    timer = TrainingTimer()
    clf = SleepStageCNNClassifier(
        architecture=args.architecture,
        epochs=args.epochs,
        callbacks=[timer],
        random_state=0,
    )
    pipe = make_pipeline(
        raw=True, n_per_class=args.n_per_class, classifier=clf, random_state=0
    )
    t0 = time.perf_counter()
    if args.mode == "in-memory":
        pipe.fit(np.array(X), y)
    else:
        fit_out_of_core(
            pipe,
            X,
            y,
            chunk_size=args.chunk_size,
            release_memory=args.mode == "out-of-core",
        )
    t_total = time.perf_counter() - t0
    sampler.running = False
    sampler.join()
    peak = _status(("VmHWM",))["VmHWM"]
    print(
        json.dumps(
            {
                "vmhwm_mib": peak / 1024,
                "anon_mib": sampler.peak["RssAnon"] / 1024,
                "file_mib": sampler.peak["RssFile"] / 1024,
                # Before training: reading, spectrograms, scaler, balancing.
                "transform_s": timer.start - t0,
                "train_s": timer.end - timer.start,
                "total_s": t_total,
                "accuracy": pipe["classify"].history_["accuracy"][-1],
            }
        )
    )


def run_child(x_path, y_path, mode, args):
    command = [
        sys.executable,
        "-m",
        "benchmarks.outofcore",
        "--child",
        "--x",
        str(x_path),
        "--y",
        str(y_path),
        "--mode",
        mode,
        "--epochs",
        str(args.epochs),
        "--n-per-class",
        str(args.n_per_class),
        "--chunk-size",
        str(args.chunk_size),
        "--architecture",
        args.architecture,
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-mib", type=float, default=256)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--in-memory-max-mib", type=float, default=1024)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-per-class", type=int, default=200)
    parser.add_argument("--chunk-size", type=int, default=2048)
    parser.add_argument("--architecture", default="reference")
    parser.add_argument("--dir", default=None, help="folder for the data files")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--x", help=argparse.SUPPRESS)
    parser.add_argument("--y", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.quick:
        args.base_mib, args.factors = 8, [1, 4]

    rows = []
    print(
        "| data | epochs | run | peak RSS (VmHWM) | peak anon. | peak file-backed "
        "| before training | training |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for factor in args.factors:
        n_epochs = int(args.base_mib * factor * 2**20 // ROW_BYTES)
        folder = Path(tempfile.mkdtemp(prefix="skdreamy-outofcore-", dir=args.dir))
        try:
            x_path, y_path = write_epochs(folder, n_epochs)
            modes = ["out-of-core"]
            if factor == max(args.factors):
                modes.append("out-of-core, pages kept")
            if n_epochs * ROW_BYTES <= args.in_memory_max_mib * 2**20:
                modes.append("in-memory")
            for mode in modes:
                result = run_child(x_path, y_path, mode, args)
                result.update(
                    factor=factor,
                    mode=mode,
                    n_epochs=n_epochs,
                    data_mib=n_epochs * ROW_BYTES / 2**20,
                )
                rows.append(result)
                transform = f"{result['transform_s']:.0f} s"
                print(
                    f"| {factor}x: {result['data_mib']:,.0f} MiB | {n_epochs:,} "
                    f"| {mode} | {result['vmhwm_mib']:,.0f} MiB "
                    f"| {result['anon_mib']:,.0f} MiB | {result['file_mib']:,.0f} MiB "
                    f"| {transform} | {result['train_s']:.0f} s |",
                    flush=True,
                )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    C.save_json(args.json, C.provenance(), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
