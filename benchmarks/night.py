"""Issue 6, item 4: stage a whole night, raw signal to hypnogram.

A raw pipeline (``make_pipeline(raw=True)``: spectrogram, scaling, balancing,
reference CNN) is fitted once (one training epoch: prediction speed does not
depend on how well it learnt) and saved with ``skdreamy.save``. Then each
repeat runs a *fresh* Python process that

1. imports skdreamy and what it loads lazily (Keras and its backend,
   scikeras, scikit-learn, imbalanced-learn): the import time;
2. ``skdreamy.load``-s the fitted pipeline;
3. cuts a continuous night of ``--night`` 30-s epochs (the real epochs of the
   data folder, repeated and concatenated into one signal) into epochs and
   calls ``predict``: the first call (includes building the predict function)
   and then the median of further calls;

and reports the peak RSS of that process. Goal: load + first predict of a
~1,000-epoch night <= 1 s on CPU, after import.

Run ``python -m benchmarks.night --quick`` or ``--full``.
"""

import argparse
import tempfile
from pathlib import Path

from . import _common as C

CHILD = """
import os, sys, time, json
t0 = time.perf_counter()
import numpy as np
import skdreamy
# skdreamy imports its heavy parts lazily; count them all as import time:
# Keras and its backend, scikeras, scikit-learn and imbalanced-learn.
import skdreamy.classifier, skdreamy.pipeline, keras
keras.ops.zeros(1)  # the backend's runtime starts on first use
t_import = time.perf_counter() - t0
from benchmarks._common import load_epochs, rss_mib, peak_rss_mib
rss_import = rss_mib()
X, _, source = load_epochs({data!r}, {night})
signal = X.reshape(-1)  # one continuous night, in microvolts at 100 Hz
del X
rss_data = rss_mib()
def cpu():
    t = os.times()
    return t.user + t.system
c0 = cpu()
t = time.perf_counter()
pipe = skdreamy.load({path!r})
t_load = time.perf_counter() - t
def stage():
    epochs = signal[: signal.size // 3000 * 3000].reshape(-1, 3000)
    return pipe.predict(epochs)
t = time.perf_counter()
hypnogram = stage()
t_first = time.perf_counter() - t
cpu_first = cpu() - c0
warm = []
for _ in range({warm}):
    t = time.perf_counter()
    stage()
    warm.append(time.perf_counter() - t)
print(json.dumps({{"import": t_import, "load": t_load, "first": t_first,
                  "cpu_load_first": cpu_first,
                  "warm": warm, "n": len(hypnogram), "source": source,
                  "rss_import_mib": rss_import, "rss_data_mib": rss_data,
                  "peak_rss_mib": peak_rss_mib(),
                  "stages": np.bincount(hypnogram, minlength=5).tolist()}}))
"""

FIT = """
import json
from skdreamy import SleepStageCNNClassifier, make_pipeline, save
from benchmarks._common import load_epochs
X, y, source = load_epochs({data!r})
params = dict(epochs=1, random_state=0)
if {precision!r} != "float32":
    params["precision"] = {precision!r}
pipe = make_pipeline(raw=True, n_per_class=200, random_state=0,
                     classifier=SleepStageCNNClassifier(**params))
save(pipe.fit(X, y), {path!r})
print(json.dumps({{"source": source}}))
"""


def fitted_pipeline(data, folder, precision="float32"):
    """Fit and save a raw pipeline in a child process; return its path."""
    path = str(Path(folder) / "night_pipeline.skdreamy")
    C.run_child(FIT.format(data=data, path=path, precision=precision))
    return path


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--night", type=int, default=1000, help="epochs per night")
    parser.add_argument("--precision", default="float32", help="the classifier's")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.full else 2)
    warm = 5 if args.full else 2
    info = C.header("whole night, raw signal to hypnogram (item 4)", args)
    with tempfile.TemporaryDirectory() as tmp:
        path = fitted_pipeline(args.data, tmp, args.precision)
        code = CHILD.format(data=args.data, night=args.night, path=path, warm=warm)
        runs = []
        for r in range(repeats):
            runs.append(C.run_child(code))
            o = runs[-1]
            print(
                f"   process {r + 1}/{repeats}: import {o['import']:.2f} s, load "
                f"{o['load']:.2f} s, first predict {o['first']:.2f} s, warm "
                f"{min(o['warm']):.2f} s, peak RSS {o['peak_rss_mib']:.0f} MiB"
            )
    print(
        f"   data     {runs[0]['source']}, {runs[0]['n']} epochs as one signal; "
        f"precision {args.precision}"
    )
    results = {"night_epochs": runs[0]["n"], "source": runs[0]["source"]}
    rows = {
        "import skdreamy": [o["import"] for o in runs],
        "skdreamy.load": [o["load"] for o in runs],
        "first predict": [o["first"] for o in runs],
        "load + first predict": [o["load"] + o["first"] for o in runs],
        "  its CPU time (s)": [o["cpu_load_first"] for o in runs],
        "warm predict": [w for o in runs for w in o["warm"]],
        "peak RSS (MiB)": [o["peak_rss_mib"] for o in runs],
        "RSS after import (MiB)": [o["rss_import_mib"] for o in runs],
    }
    for name, values in rows.items():
        s = C.summarise(values)
        results[name] = s
        unit = "" if "MiB" in name else "s"
        digits = 0 if "MiB" in name else 3
        print(f"   {name:<24} {C.fmt(s, unit, digits)}")
    after = C.summarise(rows["load + first predict"])["median"]
    print(
        f"   goal: night staged <= 1 s after import: "
        f"{'met' if after <= 1 else 'NOT met'} ({after:.2f} s)"
    )
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
