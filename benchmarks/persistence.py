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

It reports file sizes (exact) and the median save and load times with their
ratio (format 2 / format 1). Goal of the issue: no worse than format 1 by
more than 10 %. Both loads also predict, and the predictions are checked to
be bitwise equal.

Run ``python -m benchmarks.persistence --quick`` (3 rounds) or ``--full``
(9 rounds); ``--json PATH`` also writes the results.
"""

import argparse
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


def _measure(name, model, X_test, folder, repeats):
    import numpy as np

    from skdreamy import load, save
    from skdreamy.persistence import _save_version1

    paths = {1: folder / f"{name}.v1", 2: folder / f"{name}.v2"}
    expected = model.predict_proba(X_test)

    def save_run(version):
        writer = _save_version1 if version == 1 else save
        return lambda: _timed(lambda: writer(model, paths[version]))[0]

    def load_run(version):
        def run():
            seconds, loaded = _timed(
                lambda: (
                    load(paths[version], trusted=True)
                    if version == 1
                    else load(paths[version])
                )
            )
            assert np.array_equal(loaded.predict_proba(X_test), expected), name
            return seconds

        return run

    variants = {
        "save format 1": save_run(1),
        "save format 2": save_run(2),
        "load format 1": load_run(1),
        "load format 2": load_run(2),
    }
    times = C.interleave(variants, repeats, label=f"{name}: ")
    stats = {key: C.summarise(values) for key, values in times.items()}
    sizes = {version: path.stat().st_size for version, path in paths.items()}
    return {
        "size_bytes": {"format 1": sizes[1], "format 2": sizes[2]},
        "size_ratio": sizes[2] / sizes[1],
        "seconds": stats,
        "save_ratio": stats["save format 2"]["median"]
        / stats["save format 1"]["median"],
        "load_ratio": stats["load format 2"]["median"]
        / stats["load format 1"]["median"],
    }


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
        for name, (model, X_test) in models.items():
            results[name] = _measure(name, model, X_test, Path(tmp), 1)
        for name, (model, X_test) in models.items():
            results[name] = _measure(name, model, X_test, Path(tmp), repeats)
    print(
        "\n   configuration                      size v1 -> v2 (ratio)        "
        "save ratio  load ratio  (median v2/v1)"
    )
    for name, r in results.items():
        s = r["size_bytes"]
        print(
            f"   {name:<34} {s['format 1']:>9,} -> {s['format 2']:>9,} "
            f"({r['size_ratio']:.3f})  {r['save_ratio']:>9.2f}  {r['load_ratio']:>9.2f}"
        )
    info["results"] = results
    info["repeats"] = repeats
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=2))
        print(f"   written  {args.json}")
    return info


if __name__ == "__main__":
    main()
