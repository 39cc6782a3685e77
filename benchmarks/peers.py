"""Peers of skdreamy on the same nights, the same folds and the same metrics.

Usage (from the repository root)::

    python -m benchmarks.peers                       # every peer, 3 seeds
    python -m benchmarks.peers --peers yasa mne_rf   # some of them
    python -m benchmarks.peers --skdreamy reference accurate --peers
    python -m benchmarks.peers --peers-python /work/venv-peers/bin/python
    python -m benchmarks.peers --list

One table, every row scored on the six shared DREAMS excerpts
(``../shared/data`` or ``--data``) with the metrics of skdreamy's own
benchmarks (:func:`skdreamy.metrics.sleep_scores`, pooled over all epochs):
accuracy, macro-F1 and Cohen's kappa, each also on the epochs whose expert
label is unambiguous (``label_agreement == 1`` in the night files: the 30-s
windows straddle the experts' 20-s epochs, which caps any model's score on
the rest).

Two kinds of rows:

- **pretrained** (no training, applied to each night as a whole):
  ``yasa``, YASA's EEG-only LightGBM through :class:`skdreamy.pretrained.
  YasaStager`; ``gssc``, the Greek Sleep Stage Classifier (ResNet per epoch +
  GRU over the night). GSSC is AGPL-3.0 and never a dependency of skdreamy:
  it runs in a child process of another interpreter (``--peers-python``, or
  the environment variable ``SKDREAMY_PEERS_PYTHON``) where it is installed
  by hand; without one the row is skipped with a note.
- **trained leave-one-subject-out** (``LeaveOneGroupOut`` over subjects, the
  folds of ``benchmarks/accuracy.py``), one run per seed: ``mne_rf``, the MNE
  sleep tutorial's RandomForest on relative band powers; ``yasa_lgbm`` and
  ``yasa_rf``, YASA's features (clock-time features dropped) retrained with
  LightGBM (YASA's own hyper-parameters) and a RandomForest; ``chambon``,
  braindecode's ``SleepStagerChambon2018`` trained from scratch (braindecode
  tutorial's recipe; in the ``--peers-python`` interpreter); ``majority``,
  the training folds' most frequent stage (a floor); and with
  ``--skdreamy NAME ...`` skdreamy's presets (``skdreamy.pipeline.PRESETS``).

Each row is written as JSON to ``--out`` (default
``benchmarks/results/peers-<date>/<row>.json``) with the out-of-fold
predictions of every seed; the table is printed and written to
``table.md`` there. ``--json`` also writes everything to one file.
"""

import argparse
import contextlib
import json
import os
import re
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from . import _common as C

SEEDS = (0, 1, 2)
# name -> (kind, description)
PEERS = {
    "yasa": (
        "pretrained",
        "YASA pretrained EEG-only LightGBM (skdreamy.pretrained.YasaStager), "
        "each night whole",
    ),
    "gssc": (
        "pretrained",
        "GSSC pretrained (ResNet + GRU), EEG only, its 0.3-30 Hz filter, each "
        "night whole",
    ),
    "mne_rf": (
        "LOSO",
        "MNE tutorial: Welch PSD, relative power in 5 bands, RandomForest(100)",
    ),
    "yasa_lgbm": (
        "LOSO",
        "YASA features (no clock time) + LightGBM with YASA's hyper-parameters",
    ),
    "yasa_rf": (
        "LOSO",
        "YASA features (no clock time) + RandomForest(300, min_samples_leaf=2)",
    ),
    "majority": (
        "LOSO",
        "baseline: the training folds' most frequent stage (always N2 here)",
    ),
    "chambon": (
        "LOSO",
        "braindecode SleepStagerChambon2018 from scratch (tutorial recipe: "
        "30 Hz low-pass, per-window z-score, Adam 1e-3, batch 32, balanced "
        "class weights)",
    ),
}
# YASA's clock-time features: meaningless on 30-min excerpts.
_YASA_CLOCK = ("time_hour", "time_norm")
# MNE's sleep tutorial's bands (Hz).
_MNE_BANDS = {
    "delta": (0.5, 4.5),
    "theta": (4.5, 8.5),
    "alpha": (8.5, 11.5),
    "sigma": (11.5, 15.5),
    "beta": (15.5, 30.0),
}
SFREQ = 100.0


# -- data ----------------------------------------------------------------------


def load(folder):
    """The shared nights: epochs, labels, subjects, nights, agreement."""
    from skdreamy.datasets import load_nights

    data = load_nights(folder)
    data.X = np.asarray(data.X, dtype=np.float64)
    return data


def runs_of_epochs(data):
    """Index arrays of each night's consecutive epochs, split at any gap in
    ``onsets`` (pretrained models need an uninterrupted signal)."""
    runs = []
    for night in np.unique(data.nights):
        rows = np.flatnonzero(data.nights == night)
        onsets = np.asarray(data.onsets)[rows]
        if np.isnan(onsets).any():
            runs.append(rows)
            continue
        gaps = np.flatnonzero(~np.isclose(np.diff(onsets), 30.0)) + 1
        runs.extend(np.split(rows, gaps))
    return runs


# -- features of the trained peers ---------------------------------------------


def mne_band_features(X):
    """Relative power of the MNE tutorial's five bands (Welch PSD 0.5-30 Hz)."""
    from scipy.signal import welch

    freqs, psd = welch(X, fs=SFREQ, nperseg=256, axis=-1)
    keep = (freqs >= 0.5) & (freqs <= 30.0)
    freqs, psd = freqs[keep], psd[:, keep]
    psd = psd / psd.sum(axis=1, keepdims=True)
    return np.column_stack(
        [
            psd[:, (freqs >= lo) & (freqs < hi)].mean(axis=1)
            for lo, hi in _MNE_BANDS.values()
        ]
    )


_YASA_FEATURES = {}


def yasa_features(data):
    """YASA's features of every epoch, each night computed whole (its rolling
    context and robust scaling stay inside the night), clock time dropped."""
    import mne
    import yasa

    if id(data) in _YASA_FEATURES:  # the two retrained rows share them
        return _YASA_FEATURES[id(data)]
    features = np.empty(len(data.y), dtype=object)
    names = None
    for rows in runs_of_epochs(data):
        info = mne.create_info(["EEG"], sfreq=SFREQ, ch_types="eeg")
        raw = mne.io.RawArray(data.X[rows].reshape(1, -1) * 1e-6, info, verbose=False)
        table = yasa.SleepStaging(raw, eeg_name="EEG").get_features()
        table = table.drop(columns=list(_YASA_CLOCK))
        names = list(table.columns) if names is None else names
        for i, row in zip(rows, table[names].to_numpy(np.float64), strict=True):
            features[i] = row
    _YASA_FEATURES[id(data)] = np.vstack(features), names
    return _YASA_FEATURES[id(data)]


def yasa_lightgbm(seed, classes=range(5)):
    """LightGBM with the hyper-parameters of YASA's shipped EEG classifier
    (its class weights restricted to the ``classes`` of the training fold)."""
    from lightgbm import LGBMClassifier

    weights = {0: 1.0, 1: 2.2, 2: 1.0, 3: 1.2, 4: 1.4}

    return LGBMClassifier(
        boosting_type="gbdt",
        n_estimators=400,
        max_depth=5,
        num_leaves=90,
        colsample_bytree=0.5,
        importance_type="gain",
        class_weight={int(c): weights[int(c)] for c in classes},
        n_jobs=1,
        random_state=seed,
        verbose=-1,
    )


def loso_predict(make, F, y, groups):
    """Out-of-fold predictions, leave-one-subject-out; ``make(classes=...)``
    gets the stages of the training fold."""
    from sklearn.model_selection import LeaveOneGroupOut

    y_pred = np.empty_like(y)
    for train, test in LeaveOneGroupOut().split(F, y, groups):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = make(classes=np.unique(y[train]))
            y_pred[test] = model.fit(F[train], y[train]).predict(F[test])
    return y_pred


# -- rows -----------------------------------------------------------------------


def row_yasa(data, seeds, args):
    from skdreamy.pretrained import YasaStager

    y_pred = np.empty_like(data.y)
    for rows in runs_of_epochs(data):
        y_pred[rows] = YasaStager(sfreq=SFREQ).predict(data.X[rows])
    return [{"seed": None, "y_pred": y_pred}], "deterministic: one run"


_GSSC_CHILD = r"""
import functools, json, sys, warnings
import numpy as np
import torch
torch.set_num_threads(1)
# GSSC's networks are pickled modules; torch >= 2.6 loads weights only by default.
torch.load = functools.partial(torch.load, weights_only=False)
import mne
from gssc.infer import EEGInfer
mne.set_log_level("ERROR")
warnings.simplefilter("ignore")
args = json.loads(sys.argv[1])
x = np.load(args["x"])
infer = EEGInfer(use_cuda=False)
out = []
for start, stop in args["runs"]:
    signal = x[start:stop].reshape(-1)
    # One sample more than n x 30 s, or GSSC crops the last epoch.
    signal = np.append(signal, signal[-1]) * 1e-6
    raw = mne.io.RawArray(signal[None], mne.create_info(["EEG"], 100.0, "eeg"))
    stages, times = infer.mne_infer(raw, eeg=["EEG"], eog=[], eeg_drop=False)
    out.append([int(s) for s in stages])
from importlib.metadata import version
print(json.dumps({"stages": out, "gssc": version("gssc")}))
"""


def _child_python(args):
    python = args.peers_python or os.environ.get("SKDREAMY_PEERS_PYTHON")
    if not python or not Path(python).exists():
        return None
    return python


def _run_child(python, code, payload, *, timeout):
    """Run ``code`` with ``python``; ``payload`` (JSON) as its argument."""
    import subprocess

    proc = subprocess.run(
        [python, "-c", code, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=C.REPO,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{python} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row_gssc(data, seeds, args):
    python = _child_python(args)
    if python is None:
        return None, "skipped: no --peers-python with gssc installed"
    runs = runs_of_epochs(data)
    contiguous = all(np.array_equal(r, np.arange(r[0], r[-1] + 1)) for r in runs)
    assert contiguous, "runs of epochs are slices of X"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.npy"
        np.save(path, data.X.astype(np.float32))
        out = _run_child(
            python,
            _GSSC_CHILD,
            {"x": str(path), "runs": [[int(r[0]), int(r[-1]) + 1] for r in runs]},
            timeout=3600,
        )
    y_pred = np.empty_like(data.y)
    for rows, stages in zip(runs, out["stages"], strict=True):
        if len(stages) != len(rows):
            raise RuntimeError(f"GSSC staged {len(stages)} of {len(rows)} epochs")
        y_pred[rows] = stages
    return [{"seed": None, "y_pred": y_pred}], f"gssc {out['gssc']}; deterministic"


def row_mne_rf(data, seeds, args):
    from sklearn.ensemble import RandomForestClassifier

    F = mne_band_features(data.X)
    return [
        {
            "seed": seed,
            "y_pred": loso_predict(
                lambda s=seed, **_: RandomForestClassifier(100, random_state=s),
                F,
                data.y,
                data.groups,
            ),
        }
        for seed in seeds
    ], f"{F.shape[1]} features"


def row_majority(data, seeds, args):
    from sklearn.dummy import DummyClassifier

    y_pred = loso_predict(
        lambda **_: DummyClassifier(strategy="most_frequent"),
        data.X[:, :1],
        data.y,
        data.groups,
    )
    return [{"seed": None, "y_pred": y_pred}], "deterministic: one run"


def _yasa_trained(make):
    def row(data, seeds, args):
        F, names = yasa_features(data)
        runs = [
            {
                "seed": seed,
                "y_pred": loso_predict(
                    lambda s=seed, **kw: make(s, **kw), F, data.y, data.groups
                ),
            }
            for seed in seeds
        ]
        return runs, f"{len(names)} YASA features (without {', '.join(_YASA_CLOCK)})"

    return row


def _forest(seed, classes=None):
    from benchmarks.accuracy import forest_classifier

    return forest_classifier(seed)


_CHAMBON_CHILD = r"""
import json, sys, warnings
import numpy as np
import torch
torch.set_num_threads(1)
warnings.simplefilter("ignore")
import braindecode
from braindecode import EEGClassifier
from braindecode.models import SleepStagerChambon2018
from braindecode.util import set_random_seeds
from mne.filter import filter_data
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.utils.class_weight import compute_class_weight

args = json.loads(sys.argv[1])
with np.load(args["data"]) as f:
    X, y, groups, nights = f["X"], f["y"].astype(np.int64), f["groups"], f["nights"]
# Tutorial: low-pass 30 Hz per recording, then each window z-scored.
for night in np.unique(nights):
    rows = nights == night
    sig = filter_data(X[rows].reshape(-1), 100.0, None, 30.0, verbose=False)
    X[rows] = sig.reshape(-1, X.shape[1])
if args["scaling"] == "window":
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
else:  # each night standardised as a whole (keeps the epochs' relative power)
    for night in np.unique(nights):
        rows = nights == night
        X[rows] = (X[rows] - X[rows].mean()) / X[rows].std()
X = X[:, None, :].astype(np.float32)
out = {}
for seed in args["seeds"]:
    y_pred = np.empty_like(y)
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        set_random_seeds(seed, cuda=False)
        classes = np.unique(y[train])
        weights = np.ones(5, dtype=np.float32)
        weights[classes] = compute_class_weight("balanced", classes=classes, y=y[train])
        clf = EEGClassifier(
            SleepStagerChambon2018(
                n_chans=1, sfreq=100, n_outputs=5, n_times=X.shape[2]
            ),
            criterion=torch.nn.CrossEntropyLoss,
            criterion__weight=torch.tensor(weights),
            optimizer=torch.optim.Adam,
            optimizer__lr=1e-3,
            batch_size=32,
            max_epochs=args["epochs"],
            train_split=None,
            classes=list(range(5)),
            device="cpu",
            verbose=0,
        )
        clf.fit(X[train], y[train])
        y_pred[test] = clf.predict(X[test])
    out[str(seed)] = y_pred.tolist()
print(json.dumps({"y_pred": out, "braindecode": braindecode.__version__,
                  "torch": torch.__version__}))
"""


def row_chambon(data, seeds, args):
    python = _child_python(args)
    if python is None:
        return None, "skipped: no --peers-python with braindecode installed"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, X=data.X, y=data.y, groups=data.groups, nights=data.nights)
        out = _run_child(
            python,
            _CHAMBON_CHILD,
            {
                "data": str(path),
                "seeds": list(seeds),
                "epochs": args.chambon_epochs,
                "scaling": args.chambon_scaling,
            },
            timeout=6 * 3600,
        )
    runs = [
        {"seed": seed, "y_pred": np.asarray(out["y_pred"][str(seed)])} for seed in seeds
    ]
    note = (
        f"braindecode {out['braindecode']}, torch {out['torch']}, "
        f"{args.chambon_epochs} epochs, {args.chambon_scaling} z-score"
    )
    return runs, note


def row_skdreamy(preset):
    def row(data, seeds, args):
        from sklearn.model_selection import LeaveOneGroupOut

        from skdreamy import make_pipeline
        from skdreamy.metrics import cross_validate_stages

        runs = []
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = cross_validate_stages(
                    make_pipeline(preset=preset, raw=True, random_state=seed),
                    data.X.astype(np.float32),
                    data.y,
                    groups=data.groups,
                    cv=LeaveOneGroupOut(),
                )
            runs.append({"seed": seed, "y_pred": np.asarray(result.y_pred)})
        return runs, f"make_pipeline(preset={preset!r}, raw=True)"

    return row


def saved_rows(paths, data):
    """Rows of out-of-fold predictions saved by another script (``--oof``),
    grouped by their ``config``."""
    by_config = {}
    for path in paths:
        record = json.loads(Path(path).read_text())
        y_pred = np.asarray(record["y_pred"])
        if len(y_pred) != len(data.y) or (
            "y_true" in record and not np.array_equal(record["y_true"], data.y)
        ):
            raise ValueError(f"{path}: its epochs are not those of the nights")
        by_config.setdefault(record["config"], []).append(
            {"seed": record.get("seed"), "y_pred": y_pred, "file": str(path)}
        )

    def row(runs):
        files = sorted({Path(r["file"]).name for r in runs})
        return lambda *_: (runs, "from " + ", ".join(files))

    return {name: row(runs) for name, runs in by_config.items()}


ROWS = {
    "yasa": row_yasa,
    "gssc": row_gssc,
    "mne_rf": row_mne_rf,
    "yasa_lgbm": _yasa_trained(yasa_lightgbm),
    "yasa_rf": _yasa_trained(_forest),
    "chambon": row_chambon,
    "majority": row_majority,
}


# -- scores and table -------------------------------------------------------------


def score(data, runs):
    """Pooled scores of each run, on all epochs and on unambiguous ones."""
    from skdreamy.metrics import sleep_scores

    agree = np.asarray(data.label_agreement) == 1
    keys = ("accuracy", "f1_macro", "cohen_kappa")
    out = []
    for run in runs:
        y_pred = np.asarray(run["y_pred"])
        every = sleep_scores(data.y, y_pred)
        clear = sleep_scores(data.y[agree], y_pred[agree]) if agree.any() else {}
        out.append(
            {
                "all": {k: every[k] for k in keys},
                "agreement_1": {k: clear.get(k) for k in keys},
                "per_class_f1": every["per_class_f1"],
            }
        )
    return out


def _stat(values):
    values = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    if np.isnan(values).all():
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std():.3f}"


HEADER = (
    "| row | kind | runs | accuracy | macro-F1 | kappa | accuracy (agr. 1) | "
    "macro-F1 (agr. 1) | kappa (agr. 1) |\n"
    "|---|---|---:|---|---|---|---|---|---|"
)


def table_row(record):
    if record.get("scores") is None:
        return f"| {record['row']} | {record['kind']} | 0 | {record['note']} |||||| "
    cells = []
    for subset in ("all", "agreement_1"):
        for key in ("accuracy", "f1_macro", "cohen_kappa"):
            cells.append(_stat([s[subset][key] for s in record["scores"]]))
    return (
        f"| {record['row']} | {record['kind']} | {len(record['scores'])} | "
        + " | ".join(cells)
        + " |"
    )


def _table_order(record):
    """Pretrained rows first, then by mean accuracy, best first."""
    scores = record.get("scores") or [{"all": {"accuracy": -1.0}}]
    accuracy = np.mean([s["all"]["accuracy"] for s in scores])
    return (record["kind"] != "pretrained", -accuracy, record["row"])


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers", description=__doc__.splitlines()[0]
    )
    C.add_common_args(parser)
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=list(PEERS),
        default=list(PEERS),
        help="peer rows to run (default: all; none with --peers alone)",
    )
    parser.add_argument(
        "--skdreamy",
        nargs="*",
        default=[],
        metavar="PRESET",
        help="also skdreamy presets (names of skdreamy.pipeline.PRESETS)",
    )
    parser.add_argument(
        "--oof",
        nargs="*",
        type=Path,
        default=[],
        metavar="JSON",
        help="also score saved out-of-fold predictions: JSON files each holding "
        '{"config": NAME, "seed": S, "y_pred": [...]} (optionally "y_true", '
        "checked against the nights), one row per config",
    )
    parser.add_argument(
        "--oof-prefix",
        default="",
        help="put before the config names of --oof rows (e.g. 'skdreamy ')",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument(
        "--peers-python",
        default=None,
        help="interpreter with gssc and braindecode installed (default: "
        "$SKDREAMY_PEERS_PYTHON); their rows are skipped without one",
    )
    parser.add_argument(
        "--chambon-epochs",
        type=int,
        default=10,
        help="training epochs of the Chambon network (default 10, the tutorial's)",
    )
    parser.add_argument(
        "--chambon-scaling",
        choices=("window", "night"),
        default="window",
        help="z-score each 30-s window (default, the tutorial's) or each night",
    )
    parser.add_argument("--out", type=Path, default=None, help="folder of the JSON")
    parser.add_argument("--list", action="store_true", help="list the rows")
    args = parser.parse_args(argv)

    from skdreamy.pipeline import PRESETS

    if args.list:
        for name, (kind, what) in PEERS.items():
            print(f"{name:<10} {kind:<10} {what}")
        for name in PRESETS:
            print(f"{name:<10} {'LOSO':<10} skdreamy --skdreamy {name}")
        return 0
    unknown = sorted(set(args.skdreamy) - set(PRESETS))
    if unknown:
        parser.error(f"unknown skdreamy presets {unknown}; choose from {list(PRESETS)}")
    folder = Path(args.data)
    if not any(folder.glob("*.npz")):
        parser.error(f"no .npz nights in {folder}; pass --data")
    seeds = args.seeds or ((0,) if args.quick else SEEDS)
    out = args.out or C.RESULTS / f"peers-{time.strftime('%Y%m%d')}"

    info = C.header("peers: every peer on the same nights, folds and metrics")
    for name in ("yasa", "lightgbm", "antropy", "mne", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["versions"][name] = metadata.version(name)
    print(
        "   peers    "
        + ", ".join(
            f"{k} {info['versions'].get(k)}" for k in ("yasa", "lightgbm", "mne")
        ),
        flush=True,
    )
    data = load(folder)
    agree = np.asarray(data.label_agreement) == 1
    print(
        f"   data     {len(data.y)} epochs of {len(np.unique(data.groups))} "
        f"subjects in {folder} ({agree.sum()} with label_agreement == 1); "
        f"seeds {list(seeds)}",
        flush=True,
    )
    jobs = [(name, PEERS[name][0], PEERS[name][1], ROWS[name]) for name in args.peers]
    if (args.chambon_epochs, args.chambon_scaling) != (10, "window"):
        jobs = [  # another recipe: another row
            (
                f"{name} {args.chambon_epochs}ep {args.chambon_scaling}"
                if name == "chambon"
                else name,
                *rest,
            )
            for name, *rest in jobs
        ]
    jobs += [
        (f"skdreamy {p}", "LOSO", f"make_pipeline(preset={p!r})", row_skdreamy(p))
        for p in args.skdreamy
    ]
    jobs += [
        (f"{args.oof_prefix}{name}", "LOSO", "saved out-of-fold predictions", run)
        for name, run in saved_rows(args.oof, data).items()
    ]
    records = []
    out.mkdir(parents=True, exist_ok=True)
    for name, kind, description, run in jobs:
        print(f"   running  {name} ...", flush=True)
        start = time.perf_counter()
        runs, note = run(data, seeds, args)
        seconds = time.perf_counter() - start
        record = {
            "row": name,
            "kind": kind,
            "description": description,
            "note": note,
            "seconds": round(seconds, 1),
            "scores": None if runs is None else score(data, runs),
            "runs": None
            if runs is None
            else [
                {"seed": r["seed"], "y_pred": np.asarray(r["y_pred"]).tolist()}
                for r in runs
            ],
        }
        records.append(record)
        path = out / (re.sub(r"[^\w.]+", "-", name).strip("-") + ".json")
        path.write_text(json.dumps({**info, "result": record}, indent=1, default=str))
        print(f"   {table_row(record)}  ({seconds:.0f} s; {note})", flush=True)
    table = "\n".join([HEADER, *(table_row(r) for r in records)])
    print(f"\n{table}\n")
    # The folder's table: every row written there so far (runs add up).
    every = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    every = [r["result"] for r in every if "result" in r]  # not a --json file
    every.sort(key=_table_order)
    (out / "table.md").write_text(
        "\n".join([HEADER, *(table_row(r) for r in every)]) + "\n"
    )
    C.save_json(args.json, info, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
