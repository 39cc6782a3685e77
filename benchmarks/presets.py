"""Leave-one-subject-out scores of skdreamy's presets, with out-of-fold predictions.

Usage::

    python -m benchmarks.presets --configs features reference --seeds 0 1 2 \\
        --out benchmarks/results/presets-20261202
    python -m benchmarks.presets --list

Each configuration (a ``make_pipeline`` preset, or a variant tried while
choosing the ``features`` preset) is fitted leave-one-subject-out on the six
DREAMS excerpts of ``../shared/data`` (or ``--data``), once per seed, on the
spectrograms of the raw epochs (the same input ``make_pipeline(raw=True)``
computes inside). Scores are given on all epochs and on the epochs whose expert
label is unambiguous (``label_agreement == 1``).

Per configuration and seed, ``<out>/<config>-seed<seed>.json`` holds the
out-of-fold predictions so that another script can rescore them::

    {"config": str, "seed": int, "labels": [0, 1, 2, 3, 4],
     "label_names": ["W", "N1", "N2", "N3", "REM"],
     "y_true": [...], "y_pred": [...],          # stage codes, one per epoch
     "proba": [[...], ...],                      # (n_epochs, 5), columns = labels
     "subject": [...], "night": [...], "file": [...], "onset_s": [...],
     "label_agreement": [...], "fold": [...],
     "scores": {"all": {...}, "agreement_1": {...}},   # sleep_scores
     "fit_time": [...], "commit": str, "date": str, "description": str}

Epochs are in the order of ``load_nights(data)`` (files sorted by name, epochs
in time order). ``--vote accurate features`` rescores the saved
probabilities of two configurations as their soft vote (what the
``ensemble`` preset predicts) without training anything. A line per
(config, seed) is also appended to ``<out>/summary.jsonl``; the Markdown
table of means over seeds is printed.
"""

import argparse
import contextlib
import json
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np

from .accuracy import DEFAULT_DATA, spectrograms


def _variants():
    """Variants tried while choosing the features preset: name -> (description,
    factory(seed) -> estimator taking flat (n, 51*59) spectrograms)."""
    from imblearn.pipeline import Pipeline
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from skdreamy.preprocessing import SpectralFeatures
    from skdreamy.sampling import ClassBalancer

    def chain(features, model, n_per_class=None, scale=False):
        def make(seed):
            steps = [("features", SpectralFeatures(**features))]
            if scale:
                steps.append(("standardise", StandardScaler()))
            if n_per_class is not None:
                steps.append(
                    (
                        "balance",
                        ClassBalancer(n_per_class=n_per_class, random_state=seed),
                    )
                )
            steps.append(("classify", model(seed)))
            return Pipeline(steps)

        return make

    def rf(**kw):
        return lambda seed: RandomForestClassifier(
            n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1, **kw
        )

    def et(**kw):
        return lambda seed: ExtraTreesClassifier(
            n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1, **kw
        )

    def hgb(**kw):
        return lambda seed: HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, random_state=seed, **kw
        )

    spectrum = {"bands": False}  # log-spectrum rows, absolute + relative
    both = {"bands": True}  # + relative band powers and ratios
    return {
        "rf_spectrum": (
            "RandomForest (300 trees, min leaf 2) on the log-spectrum rows "
            "1-30 Hz, absolute and relative (the old rf_log_spectrum)",
            chain(spectrum, rf()),
        ),
        "rf_spectrum_bands": (
            "as rf_spectrum, plus relative band powers and band ratios",
            chain(both, rf()),
        ),
        "rf_spectrum_cw": (
            "as rf_spectrum, class_weight='balanced'",
            chain(spectrum, rf(class_weight="balanced")),
        ),
        "rf_spectrum_bal100": (
            "as rf_spectrum, classes balanced to 100 epochs each (ClassBalancer)",
            chain(spectrum, rf(), n_per_class=100),
        ),
        "rf_bands_cw_subsample": (
            "as rf_spectrum_bands, class_weight='balanced_subsample'",
            chain(both, rf(class_weight="balanced_subsample")),
        ),
        "et_spectrum": (
            "ExtraTrees (300 trees, min leaf 2) on the log-spectrum rows",
            chain(spectrum, et()),
        ),
        "et_spectrum_bands": (
            "ExtraTrees on log-spectrum rows plus band powers and ratios",
            chain(both, et()),
        ),
        "et_bands_cw": (
            "ExtraTrees on log-spectrum rows plus bands, class_weight='balanced'",
            chain(both, et(class_weight="balanced")),
        ),
        "hgb_spectrum_bands": (
            "HistGradientBoosting (200 iterations, rate 0.05) on log-spectrum "
            "rows plus bands",
            chain(both, hgb()),
        ),
        "hgb_bands_cw": (
            "as hgb_spectrum_bands, class_weight='balanced'",
            chain(both, hgb(class_weight="balanced")),
        ),
        "logreg_bands": (
            "standardised log-spectrum rows plus bands, logistic regression "
            "(C=0.1, class_weight='balanced')",
            chain(
                both,
                lambda seed: LogisticRegression(
                    C=0.1, class_weight="balanced", max_iter=2000
                ),
                scale=True,
            ),
        ),
    }


def configs():
    """Every configuration: the presets of ``make_pipeline``, then the variants."""
    from skdreamy import make_pipeline
    from skdreamy.pipeline import PRESETS

    def preset(name):
        return lambda seed: make_pipeline(preset=name, random_state=seed)

    out = {name: (f"make_pipeline(preset={name!r})", preset(name)) for name in PRESETS}
    with contextlib.suppress(ImportError):  # before SpectralFeatures existed
        out.update(_variants())
    return out


def commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def score_one(name, description, make, seed, data, S):
    """Fit ``make(seed)`` leave-one-subject-out; the JSON record of one seed."""
    from sklearn.model_selection import LeaveOneGroupOut

    from skdreamy._stages import STAGE_NAMES
    from skdreamy.metrics import cross_validate_stages, sleep_scores

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cross_validate_stages(
            make(seed),
            S.reshape(len(S), -1),
            data.y,
            groups=data.groups,
            cv=LeaveOneGroupOut(),
            labels=[0, 1, 2, 3, 4],
            return_proba=True,
        )
    seconds = time.perf_counter() - start
    agree = data.label_agreement == 1
    scores = {
        "all": result.scores,
        "agreement_1": sleep_scores(
            data.y[agree], result.y_pred[agree], labels=[0, 1, 2, 3, 4]
        ),
    }
    return {
        "config": name,
        "description": description,
        "seed": seed,
        "labels": [0, 1, 2, 3, 4],
        "label_names": list(STAGE_NAMES),
        "y_true": data.y.tolist(),
        "y_pred": np.asarray(result.y_pred).tolist(),
        "proba": np.round(result.proba, 6).tolist(),
        "subject": data.subjects[data.groups].tolist(),
        "night": data.nights.tolist(),
        "file": [Path(data.files[n]).name for n in data.nights],
        "onset_s": data.onsets.tolist(),
        "label_agreement": data.label_agreement.tolist(),
        "fold": result.fold.tolist(),
        "scores": scores,
        "fit_time": result.fit_time.tolist(),
        "seconds": seconds,
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.processor() or platform.machine(),
    }


KEYS = ("accuracy", "f1_macro", "cohen_kappa")


def soft_vote(out, first, second, weight=0.5):
    """Rescore the saved out-of-fold probabilities of two configurations as
    their soft vote, ``weight * first + (1 - weight) * second``, per seed that
    both have: what ``VotingClassifier(voting="soft")`` over the two
    pipelines predicts, since each member is fitted on the same training
    epochs with the same seed. Returns summary records."""
    from skdreamy.metrics import sleep_scores

    records = []
    for path in sorted(out.glob(f"{first}-seed*.json")):
        seed = int(path.stem.rsplit("seed", 1)[1])
        other = out / f"{second}-seed{seed}.json"
        if not other.exists():
            continue
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        assert a["y_true"] == b["y_true"] and a["labels"] == b["labels"]
        proba = weight * np.array(a["proba"]) + (1 - weight) * np.array(b["proba"])
        y = np.array(a["y_true"])
        pred = np.array(a["labels"])[proba.argmax(axis=1)]
        agree = np.array(a["label_agreement"]) == 1
        records.append(
            {
                "config": f"vote({first},{second},{weight:g})",
                "seed": seed,
                "scores": {
                    "all": sleep_scores(y, pred, labels=a["labels"]),
                    "agreement_1": sleep_scores(
                        y[agree], pred[agree], labels=a["labels"]
                    ),
                },
                "seconds": a["seconds"] + b["seconds"],
            }
        )
    return records


def table(records):
    """Markdown rows: mean ± sd over seeds, all epochs and agreement == 1."""
    by_config = {}
    for record in records:
        by_config.setdefault(record["config"], []).append(record)
    lines = [
        "| config | seeds | accuracy | macro-F1 | kappa | accuracy (agr. 1) | "
        "macro-F1 (agr. 1) | kappa (agr. 1) | s per seed |",
        "|---|---:|---|---|---|---|---|---|---:|",
    ]
    for name, runs in by_config.items():
        cells = []
        for subset in ("all", "agreement_1"):
            for key in KEYS:
                values = np.array([r["scores"][subset][key] for r in runs], float)
                cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        seconds = np.mean([r["seconds"] for r in runs])
        lines.append(
            f"| {name} | {len(runs)} | " + " | ".join(cells) + f" | {seconds:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    from skdreamy.datasets import load_nights

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--configs", nargs="+", default=["features"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent
        / "results"
        / f"presets-{time.strftime('%Y%m%d', time.gmtime())}",
    )
    parser.add_argument("--list", action="store_true", help="list the configs")
    parser.add_argument(
        "--table", action="store_true", help="print the table of --out and exit"
    )
    parser.add_argument(
        "--vote",
        nargs=2,
        metavar=("FIRST", "SECOND"),
        help="rescore the soft vote of two configurations saved in --out",
    )
    parser.add_argument(
        "--weight", type=float, default=0.5, help="FIRST's weight in --vote"
    )
    args = parser.parse_args(argv)
    known = configs()
    if args.list:
        for name, (description, _) in known.items():
            print(f"{name}: {description}")
        return 0
    if args.vote:
        print(table(soft_vote(args.out, *args.vote, weight=args.weight)))
        return 0
    if args.table:
        lines = (args.out / "summary.jsonl").read_text().splitlines()
        print(table([json.loads(line) for line in lines]))
        return 0
    unknown = set(args.configs) - set(known)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; see --list")
    data = load_nights(args.data)
    S, *_ = spectrograms(data)
    args.out.mkdir(parents=True, exist_ok=True)
    records = []
    for name in args.configs:
        description, make = known[name]
        for seed in args.seeds:
            record = score_one(name, description, make, seed, data, S)
            path = args.out / f"{name}-seed{seed}.json"
            path.write_text(json.dumps(record))
            summary = {k: v for k, v in record.items() if k in ("config", "seed")}
            summary.update(
                scores=record["scores"],
                seconds=record["seconds"],
                commit=record["commit"],
                date=record["date"],
            )
            with (args.out / "summary.jsonl").open("a") as file:
                file.write(json.dumps(summary) + "\n")
            records.append(record)
            s = record["scores"]
            print(
                f"{name} seed {seed}: "
                + " ".join(f"{k}={s['all'][k]:.3f}" for k in KEYS)
                + " | agreement 1: "
                + " ".join(f"{k}={s['agreement_1'][k]:.3f}" for k in KEYS)
                + f" ({record['seconds']:.0f} s)",
                flush=True,
            )
    print(table(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
