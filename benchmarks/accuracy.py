"""Leave-one-subject-out accuracy of named configurations on real sleep EEG.

Usage::

    python -m benchmarks.accuracy --configs reference compact_log --seeds 0 1 2
    python -m benchmarks.accuracy --list

Every configuration is scored leave-one-subject-out on the DREAMS excerpts of
``../shared/data`` (or ``--data``): each subject is staged by a model that never
saw it. Scores are pooled over all epochs (``skdreamy.metrics.sleep_scores``)
per seed, then averaged over seeds (mean and standard deviation); the spread
over subjects is the standard deviation of the per-fold accuracy. ``--split
stratified`` scores the reference's epoch-wise 5-fold split instead.

Results are appended as JSON lines to ``--out`` (default
``benchmarks/results/accuracy.jsonl``) and printed as a Markdown table.
"""

import argparse
import json
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _common as C

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@dataclass
class Config:
    """A pipeline factory and the input it takes."""

    description: str
    make: object  # callable(seed, spectrogram_shape) -> estimator
    context: int = 0
    fmax: int = 50  # keep the spectrogram rows 0..fmax Hz


def center_epochs(X):
    """Subtract each epoch's mean (on scaled log power: remove its gain)."""
    return X - X.mean(axis=1, keepdims=True)


def log_spectrum_features(X, shape=(51, 59)):
    """Per epoch: the mean log power of each 1-30 Hz row, absolute and relative
    to the epoch's mean over 1-25 Hz (60 features; a band-power baseline).
    The library's :class:`skdreamy.preprocessing.SpectralFeatures` with its
    defaults, which ``make_pipeline(preset="features")`` uses."""
    from skdreamy.preprocessing import SpectralFeatures

    return SpectralFeatures(spectrogram_shape=tuple(shape)).fit_transform(
        np.asarray(X).reshape(len(X), -1)
    )


def forest_classifier(seed):
    """The RandomForest of the ``rf_log_spectrum`` baseline."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(300, min_samples_leaf=2, random_state=seed)


def _pipe(n_per_class=1000, scaler=None, **clf):
    """A config's builder: ``make_pipeline`` with these settings, for a seed
    and a spectrogram shape."""
    from skdreamy import SleepStageCNNClassifier, make_pipeline

    def make(seed, shape):
        return make_pipeline(
            n_per_class=n_per_class,
            scaler=scaler(shape) if scaler else None,
            classifier=SleepStageCNNClassifier(
                spectrogram_shape=shape, random_state=seed, **clf
            ),
            spectrogram_shape=shape,
            random_state=seed,
        )

    return make


def _accurate():
    """The settings of make_pipeline(preset="accurate"), which the "compact_*"
    configs change one at a time."""
    from skdreamy.pipeline import PRESETS

    return PRESETS["accurate"]


def _log_std():
    """The accurate preset's scaler (log power standardised per frequency)."""
    from skdreamy import SpectrogramScaler

    settings = _accurate()["scaler"]
    return lambda shape: SpectrogramScaler(**settings, spectrogram_shape=shape)


def _centred(n_per_class, **clf):
    """Like :func:`_pipe` with :func:`_log_std`, each epoch then centred."""
    from imblearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    make = _pipe(n_per_class=n_per_class, scaler=_log_std(), **clf)

    def build(seed, shape):
        steps = make(seed, shape).steps
        centre = ("centre", FunctionTransformer(center_epochs))
        return Pipeline([steps[0], centre, *steps[1:]])

    return build


def _forest(seed, shape):
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return sk_pipeline(
        FunctionTransformer(log_spectrum_features, kw_args={"shape": shape}),
        forest_classifier(seed),
    )


def _perceptron(seed, shape):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return sk_pipeline(
        FunctionTransformer(log_spectrum_features, kw_args={"shape": shape}),
        StandardScaler(),
        MLPClassifier((64,), alpha=1e-2, max_iter=2000, random_state=seed),
    )


def _baseline_configs():
    """Not CNNs: feature baselines."""
    return {
        "mlp_log_spectrum": Config(
            "the RandomForest baseline's 60 features, standardised, into a "
            "small neural network (one hidden layer of 64, L2 0.01)",
            _perceptron,
        ),
        "rf_log_spectrum": Config(
            "baseline, not a CNN: RandomForest (300 trees) on the mean log power "
            "of each 1-30 Hz row, absolute and relative",
            _forest,
        ),
    }


def _reference_configs():
    """The reference CNN: its protocol and variations."""
    return {
        "reference": Config(
            "reference protocol: min-max, 1000/class, reference CNN, batch 16, "
            "25 epochs",
            _pipe(),
        ),
        "reference_fast": Config(
            "reference protocol for a GPU: mixed_bfloat16, batch 256, learning "
            "rate 0.004 (sqrt-scaled from 0.001 at batch 16), 25 epochs",
            _pipe(precision="mixed_bfloat16", batch_size=256, learning_rate=4e-3),
        ),
        "reference_n200": Config(
            "reference protocol with 200/class", _pipe(n_per_class=200)
        ),
        "reference_log": Config(
            "reference CNN, log power standardised per frequency, 200/class",
            _pipe(n_per_class=200, scaler=_log_std()),
        ),
    }


def _compact_configs():
    """The compact CNN: the accurate preset and variations of it."""
    from skdreamy import make_pipeline

    compact = dict(_accurate()["classifier"])
    tiny = dict(architecture="compact", dense_units=0, epochs=1, batch_size=32)
    return {
        "tiny": Config(
            "a 1-epoch compact CNN: checks that the benchmark runs, scores nothing",
            _pipe(n_per_class=20, scaler=_log_std(), **tiny),
        ),
        "accurate": Config(
            "make_pipeline(preset='accurate'): log power standardised per "
            "frequency, compact CNN (no dense layer, dropout 0.2, 60 epochs), "
            "100/class",
            lambda seed, shape: make_pipeline(
                preset="accurate", spectrogram_shape=shape, random_state=seed
            ),
        ),
        "compact_log": Config(
            "compact CNN (dropout 0.2, 60 epochs), log power standardised per "
            "frequency, 100/class",
            _pipe(n_per_class=100, scaler=_log_std(), **compact),
        ),
        "compact_log_es": Config(
            "the accurate preset with early stopping: up to 100 epochs, stop "
            "after 10 without a better loss on a stratified 20 % validation "
            "split, best weights restored",
            _pipe(
                n_per_class=100,
                scaler=_log_std(),
                **{**compact, "epochs": 100},
                validation_fraction=0.2,
                early_stopping=True,
                patience=10,
            ),
        ),
        "compact_log_nobal": Config(
            "compact CNN, log power per frequency, no balancing",
            _pipe(n_per_class=None, scaler=_log_std(), **compact),
        ),
        "compact_log_cw": Config(
            "compact CNN, log power per frequency, no balancing, class_weight=balanced",
            _pipe(
                n_per_class=None, scaler=_log_std(), class_weight="balanced", **compact
            ),
        ),
        "compact_log_aug": Config(
            "compact CNN, log power per frequency, no balancing, random offset "
            "0.5 and noise 0.1",
            _pipe(
                n_per_class=None,
                scaler=_log_std(),
                offset_std=0.5,
                noise_std=0.1,
                **compact,
            ),
        ),
        "compact_log_30hz": Config(
            "compact CNN, log power per frequency, no balancing, 0-30 Hz only",
            _pipe(n_per_class=None, scaler=_log_std(), **compact),
            fmax=30,
        ),
        "compact_log_30hz_aug": Config(
            "compact CNN, log power per frequency, no balancing, 0-30 Hz, "
            "offset 0.5, noise 0.1",
            _pipe(
                n_per_class=None,
                scaler=_log_std(),
                offset_std=0.5,
                noise_std=0.1,
                **compact,
            ),
            fmax=30,
        ),
        "compact_30hz_long": Config(
            "compact CNN (dropout 0.3, 100 epochs), log power per frequency, "
            "0-30 Hz, 100/class",
            _pipe(
                n_per_class=100,
                scaler=_log_std(),
                **{**compact, "dropout": 0.3, "epochs": 100},
            ),
            fmax=30,
        ),
        "compact_30hz_centred": Config(
            "compact CNN, log power per frequency then each epoch centred "
            "(gain removed), 0-30 Hz, 100/class",
            _centred(100, **compact),
            fmax=30,
        ),
        "compact_log_ctx1": Config(
            "compact CNN, log power per frequency, no balancing, +-1 epoch context",
            _pipe(n_per_class=None, scaler=_log_std(), **compact),
            context=1,
        ),
        "compact_log_ctx2": Config(
            "compact CNN, log power per frequency, no balancing, +-2 epochs context",
            _pipe(n_per_class=None, scaler=_log_std(), **compact),
            context=2,
        ),
    }


def _configs():
    """Every named configuration: name -> :class:`Config`."""
    return {**_baseline_configs(), **_reference_configs(), **_compact_configs()}


def spectrograms(data):
    """Spectrograms (n, 51, 59), labels, subjects and nights of loaded nights."""
    from skdreamy import EpochSpectrogram

    S = EpochSpectrogram().fit_transform(data.X).reshape(-1, 51, 59)
    return S, data.y, data.groups, data.nights


def load(data_dir):
    """:func:`spectrograms` of the ``.npz`` nights in ``data_dir``."""
    from skdreamy.datasets import load_nights

    return spectrograms(load_nights(data_dir))


def run(name, config, S, y, groups, nights, seeds, split, n_folds=None):
    """Score one configuration for each seed; ``n_folds``: GroupKFold instead
    of leave-one-subject-out (for data sets of many subjects)."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedKFold

    from skdreamy.metrics import cross_validate_stages
    from skdreamy.preprocessing import stack_context

    X = stack_context(S[:, : config.fmax + 1], nights, config.context)
    shape = X.shape[1:]
    runs = []
    for seed in seeds:
        if split == "stratified":
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        elif n_folds:
            cv = GroupKFold(n_splits=n_folds)
        else:
            cv = LeaveOneGroupOut()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = cross_validate_stages(
                config.make(seed, shape),
                X,
                y,
                groups=groups if split == "subject" else None,
                cv=cv,
            )
        runs.append(
            {
                "seed": seed,
                "scores": result.scores,
                "fold_accuracy": [f["accuracy"] for f in result.fold_scores],
                "fold_f1_macro": [f["f1_macro"] for f in result.fold_scores],
                "histories": [f["history"] for f in result.fold_scores],
                "fit_time": result.fit_time.tolist(),
                "seconds": time.perf_counter() - start,
            }
        )
    return {
        "config": name,
        "description": config.description,
        "split": split if split == "stratified" else type(cv).__name__,
        "seeds": list(seeds),
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.processor() or platform.machine(),
    }


def summary(record):
    """One Markdown row: mean +- std over seeds of the pooled scores."""

    def stat(values):
        values = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        return f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}"

    runs = record["runs"]
    pooled = {
        key: [r["scores"][key] for r in runs]
        for key in ("accuracy", "f1_macro", "cohen_kappa")
    }
    n1 = [r["scores"]["per_class_f1"]["N1"] for r in runs]
    subject_sd = np.mean([np.std(r["fold_accuracy"]) for r in runs])
    seconds = np.mean([r["seconds"] for r in runs])
    return (
        f"| {record['config']} | {record['split']} | {len(runs)} | "
        f"{stat(pooled['accuracy'])} | {stat(pooled['f1_macro'])} | "
        f"{stat(pooled['cohen_kappa'])} | {stat(n1)} | {subject_sd:.3f} | "
        f"{seconds:.0f} |"
    )


HEADER = (
    "| config | split | seeds | accuracy | macro-F1 | kappa | N1 F1 | "
    "subject SD (acc) | s per seed |\n|---|---|---:|---|---|---|---|---:|---:|"
)


def common_arguments(parser, *, default_out):
    """Arguments shared with benchmarks/sleep_edf.py."""
    parser.add_argument("--configs", nargs="+", default=["reference_n200"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--out", type=Path, default=C.output_path(default_out.name, default_out)
    )
    parser.add_argument("--list", action="store_true", help="list the configs")


def run_all(args, parser, data, *, split="subject", n_folds=None, source=""):
    """Check the configs, score each on ``data``, print and append the results."""
    configs = _configs()
    if args.list:
        for name, config in configs.items():
            print(f"{name}: {config.description}")
        return 0
    unknown = set(args.configs) - set(configs)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; see --list")
    S, y, groups, nights = spectrograms(data())
    print(HEADER, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    provenance = C.provenance()
    for name in args.configs:
        record = run(
            name,
            configs[name],
            S,
            y,
            groups,
            nights,
            args.seeds,
            split,
            n_folds=n_folds,
        )
        record["data"] = source
        record["provenance"] = provenance
        with args.out.open("a") as file:
            file.write(json.dumps(record) + "\n")
        print(summary(record), flush=True)
    return 0


def main(argv=None):
    from skdreamy.datasets import load_nights

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("subject", "stratified"), default="subject")
    common_arguments(
        parser, default_out=Path(__file__).parent / "results" / "accuracy.jsonl"
    )
    args = parser.parse_args(argv)
    if not args.list and not any(args.data.glob("*.npz")):
        parser.error(f"no .npz nights in {args.data}; pass --data")
    return run_all(
        args,
        parser,
        lambda: load_nights(args.data),
        split=args.split,
        source=str(args.data),
    )


if __name__ == "__main__":
    raise SystemExit(main())
