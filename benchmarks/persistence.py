"""Issue 17: model file format 2 (data members) against format 1 (a pickle).

For each shipped configuration (every preset of ``make_pipeline`` on raw
epochs, and a scikit-learn tree ensemble on spectrogram features, the kind of
model a "features" preset holds), a pipeline is fitted once (one training
epoch: the file holds the same weights however well they learnt) and then,
interleaved round by round on the same machine,

- saved as format 1 (``skdreamy.persistence._save_version1``: the pickle
  skdreamy wrote until issue 17) and as format 2 (``skdreamy.save``);
- loaded from each (``load(path, trusted=True)`` for format 1, ``load(path)``
  for format 2: the safe default, Keras in safe mode, allow-list checks).

It reports file sizes (exact) and the median save and load times, wall-clock
and CPU time of the process (``time.process_time``: what other processes on a
shared machine do not change, but without the disk's own time), with their
ratios (format 2 / format 1); a fast save or load is timed over several calls
(``calls_per_timing`` in the JSON). Goal of the issue: no worse than format 1 by
more than 10 %. Both loads also predict, and the predictions are checked to
be bitwise equal.

Run ``python -m benchmarks.persistence --quick`` (3 rounds) or ``--full``
(9 rounds); ``--json PATH`` also writes the results.
"""

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

from . import _common as C


def _models(X, y, quick):
    """name -> fitted estimator and the test input it predicts on."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    from skdreamy import EpochSpectrogram, make_pipeline
    from skdreamy.pipeline import PRESETS

    n = len(y) // 2
    models = {}
    for preset in PRESETS:
        pipe = make_pipeline(preset=preset, raw=True, n_per_class=20, random_state=0)
        pipe.set_params(**{k: 1 for k in pipe.get_params() if k.endswith("__epochs")})
        models[f"preset {preset}"] = (pipe.fit(X[:n], y[:n]), X[n:])
    # Log band power per frequency row: 51 features, as a feature model uses.
    S = EpochSpectrogram(log=True).fit_transform(X).reshape(len(X), 51, 59)
    F = S.mean(axis=2).astype(np.float32)
    trees = 50 if quick else 200
    models[f"random forest ({trees} trees)"] = (
        RandomForestClassifier(n_estimators=trees, random_state=0).fit(F[:n], y[:n]),
        F[n:],
    )
    models["hist gradient boosting (50 iter)"] = (
        HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(F[:n], y[:n]),
        F[n:],
    )
    return models


def _timed(function):
    start = time.perf_counter()
    out = function()
    return time.perf_counter() - start, out


def _timed_cpu(function, inner):
    """Wall-clock and CPU seconds (this process) per call, over ``inner``
    calls; the CPU time does not count other processes on a loaded machine
    (but leaves out the disk's own time, e.g. of fsync). Garbage left by the
    run before (a Keras model just loaded) is collected first, outside the
    timing: otherwise the run after a load pays for it."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(inner):
        out = function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / inner, cpu / inner, out


def _measure(name, model, X_test, folder, repeats, inner=1):
    import numpy as np

    from skdreamy import load, save
    from skdreamy.persistence import _save_version1

    paths = {1: folder / f"{name}.v1", 2: folder / f"{name}.v2"}
    expected = model.predict_proba(X_test)
    cpu = {}

    def save_run(version):
        writer = _save_version1 if version == 1 else save
        key = f"save format {version}"

        def run():
            wall, seconds, _ = _timed_cpu(lambda: writer(model, paths[version]), inner)
            cpu.setdefault(key, []).append(seconds)
            return wall

        return run

    def load_run(version):
        key = f"load format {version}"

        def run():
            wall, seconds, loaded = _timed_cpu(
                lambda: (
                    load(paths[version], trusted=True)
                    if version == 1
                    else load(paths[version])
                ),
                inner,
            )
            cpu.setdefault(key, []).append(seconds)
            assert np.array_equal(loaded.predict_proba(X_test), expected), name
            return wall

        return run

    variants = {
        "save format 1": save_run(1),
        "save format 2": save_run(2),
        "load format 1": load_run(1),
        "load format 2": load_run(2),
    }
    times = C.interleave(variants, repeats, label=f"{name}: ")
    stats = {key: C.summarise(values) for key, values in times.items()}
    cpu_stats = {key: C.summarise(values) for key, values in cpu.items()}
    sizes = {version: path.stat().st_size for version, path in paths.items()}

    def ratio(table, what):
        return table[f"{what} format 2"]["median"] / table[f"{what} format 1"]["median"]

    return {
        "size_bytes": {"format 1": sizes[1], "format 2": sizes[2]},
        "size_ratio": sizes[2] / sizes[1],
        "calls_per_timing": inner,
        "seconds": stats,
        "cpu_seconds": cpu_stats,
        "save_ratio": ratio(stats, "save"),
        "load_ratio": ratio(stats, "load"),
        "save_cpu_ratio": ratio(cpu_stats, "save"),
        "load_cpu_ratio": ratio(cpu_stats, "load"),
    }


def _calls_per_timing(result, target=0.2):
    """Calls per timing so that one lasts about ``target`` seconds (a fast
    save or load timed once is mostly noise)."""
    slowest = min(s["median"] for s in result["seconds"].values())
    return max(1, min(50, round(target / max(slowest, 1e-4))))


def main(argv=None):
    """Run the benchmark; print a table; optionally write JSON (``--json``)."""
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    args = parser.parse_args(argv)
    repeats = args.repeats or (9 if args.full else 3)
    info = C.header("Model files: format 2 (data) vs format 1 (pickle)", args)
    X, y, source = C.load_epochs(args.data)
    print(f"   data     {source}")
    models = _models(X, y, quick=not args.full)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # One save and load of each format first: imports (skops, Keras'
        # saving code) are not part of the figures.
        inner = {}
        for name, (model, X_test) in models.items():
            warm = _measure(name, model, X_test, Path(tmp), 1)
            inner[name] = _calls_per_timing(warm)
        for name, (model, X_test) in models.items():
            results[name] = _measure(
                name, model, X_test, Path(tmp), repeats, inner[name]
            )
    print(
        "\n   configuration                      size v1 -> v2 (ratio)        "
        "save ratio (cpu)    load ratio (cpu)   (median v2/v1)"
    )
    for name, r in results.items():
        s = r["size_bytes"]
        print(
            f"   {name:<34} {s['format 1']:>9,} -> {s['format 2']:>9,} "
            f"({r['size_ratio']:.3f})  {r['save_ratio']:>5.2f} "
            f"({r['save_cpu_ratio']:.2f})   {r['load_ratio']:>9.2f} "
            f"({r['load_cpu_ratio']:.2f})"
        )
    info["results"] = results
    info["repeats"] = repeats
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=2))
        print(f"   written  {args.json}")
    return info


if __name__ == "__main__":
    main()
