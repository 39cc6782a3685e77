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

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@dataclass
class Config:
    """A pipeline factory and the input it takes."""

    description: str
    make: object  # callable(seed, spectrogram_shape) -> estimator
    context: int = 0
    fmax: int = 50  # keep the spectrogram rows 0..fmax Hz


def _configs():
    from skdreamy import SleepStageCNNClassifier, SpectrogramScaler, make_pipeline

    def pipe(n_per_class=1000, scaler=None, **clf):
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

    def log_std(per="frequency"):
        return lambda shape: SpectrogramScaler(
            method="standard", per=per, log=True, spectrogram_shape=shape
        )

    compact = dict(architecture="compact", dense_units=0, dropout=0.2, epochs=60)
    return {
        "reference": Config(
            "reference protocol: min-max, 1000/class, reference CNN, batch 16, "
            "25 epochs",
            pipe(),
        ),
        "reference_n200": Config(
            "reference protocol with 200/class", pipe(n_per_class=200)
        ),
        "reference_log": Config(
            "reference CNN, log power standardised per frequency, 200/class",
            pipe(n_per_class=200, scaler=log_std()),
        ),
        "compact_log": Config(
            "compact CNN (dropout 0.2, 60 epochs), log power standardised per "
            "frequency, 100/class",
            pipe(n_per_class=100, scaler=log_std(), **compact),
        ),
        "compact_log_nobal": Config(
            "compact CNN, log power per frequency, no balancing",
            pipe(n_per_class=None, scaler=log_std(), **compact),
        ),
        "compact_log_cw": Config(
            "compact CNN, log power per frequency, no balancing, class_weight=balanced",
            pipe(
                n_per_class=None, scaler=log_std(), class_weight="balanced", **compact
            ),
        ),
        "compact_log_aug": Config(
            "compact CNN, log power per frequency, no balancing, random offset "
            "0.5 and noise 0.1",
            pipe(
                n_per_class=None,
                scaler=log_std(),
                offset_std=0.5,
                noise_std=0.1,
                **compact,
            ),
        ),
        "compact_log_30hz": Config(
            "compact CNN, log power per frequency, no balancing, 0-30 Hz only",
            pipe(n_per_class=None, scaler=log_std(), **compact),
            fmax=30,
        ),
        "compact_log_30hz_aug": Config(
            "compact CNN, log power per frequency, no balancing, 0-30 Hz, "
            "offset 0.5, noise 0.1",
            pipe(
                n_per_class=None,
                scaler=log_std(),
                offset_std=0.5,
                noise_std=0.1,
                **compact,
            ),
            fmax=30,
        ),
        "compact_log_ctx1": Config(
            "compact CNN, log power per frequency, no balancing, +-1 epoch context",
            pipe(n_per_class=None, scaler=log_std(), **compact),
            context=1,
        ),
        "compact_log_ctx2": Config(
            "compact CNN, log power per frequency, no balancing, +-2 epochs context",
            pipe(n_per_class=None, scaler=log_std(), **compact),
            context=2,
        ),
    }


def load(data_dir):
    """Spectrograms (n, 51, 59), labels, subjects and nights of the real data."""
    from skdreamy import EpochSpectrogram
    from skdreamy.datasets import load_nights

    data = load_nights(data_dir)
    S = EpochSpectrogram().fit_transform(data.X).reshape(-1, 51, 59)
    return S, data.y, data.groups, data.nights


def run(name, config, S, y, groups, nights, seeds, split):
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    from skdreamy.metrics import cross_validate_stages
    from skdreamy.preprocessing import stack_context

    X = stack_context(S[:, : config.fmax + 1], nights, config.context)
    shape = X.shape[1:]
    runs = []
    for seed in seeds:
        cv = (
            LeaveOneGroupOut()
            if split == "subject"
            else StratifiedKFold(5, shuffle=True, random_state=seed)
        )
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
                "seconds": time.perf_counter() - start,
            }
        )
    return {
        "config": name,
        "description": config.description,
        "split": split,
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--configs", nargs="+", default=["reference_n200"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--split", choices=("subject", "stratified"), default="subject")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "accuracy.jsonl"
    )
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    configs = _configs()
    if args.list:
        for name, config in configs.items():
            print(f"{name}: {config.description}")
        return 0
    unknown = set(args.configs) - set(configs)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; see --list")
    if not any(args.data.glob("*.npz")):
        parser.error(f"no .npz nights in {args.data}; pass --data")
    S, y, groups, nights = load(args.data)
    print(HEADER, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in args.configs:
        record = run(name, configs[name], S, y, groups, nights, args.seeds, args.split)
        with args.out.open("a") as file:
            file.write(json.dumps(record) + "\n")
        print(summary(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
