"""Every writer of files: evaluation reports, a night's statistics, hypnograms.

Reports: JSON scores, a Markdown report that stands alone and figures
(:func:`write_report`). A staged night: the per-epoch CSV
(:func:`write_hypnogram_csv`), its sleep statistics as JSON and Markdown
(:func:`write_statistics`), and exports other tools read: EDF+ annotations
(:func:`write_edf_annotations`, as Sleep-EDF hypnograms) and a BIDS events
TSV (:func:`write_events_tsv`). Every file is written atomically: complete or
absent (an existing file is left untouched on error).
"""

import csv
import json
import math
import os
from numbers import Real
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._io import atomic_open
from ._stages import STAGE_NAMES, stage_name
from .hypnogram import (
    UNSCORED,
    as_codes,
    confidence_summary,
    expected_statistics,
    sleep_statistics,
    transition_matrix,
)
from .plotting import plot_confusion_matrix, plot_statistics_agreement

_PATH = [str, os.PathLike]
_EPOCH = Interval(Real, 0, None, closed="neither")


def _jsonable(value):
    """JSON-ready copy: numpy to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@validate_params({"scores": [dict]}, prefer_skip_nested_validation=True)
def scores_table(scores):
    """A Markdown table of the overall scores and the per-stage F1.

    Parameters
    ----------
    scores : dict
        As returned by :func:`skdreamy.metrics.sleep_scores`.

    Returns
    -------
    table : str
        Two small Markdown tables, readable in a terminal too.

    Examples
    --------
    >>> from skdreamy.metrics import sleep_scores
    >>> from skdreamy.report import scores_table
    >>> print(scores_table(sleep_scores([0, 2, 2, 3], [0, 2, 3, 3])))
    | epochs | accuracy | macro-F1 | kappa |
    |---:|---:|---:|---:|
    | 4 | 0.750 | 0.778 | 0.636 |
    <BLANKLINE>
    | F1 | W | N1 | N2 | N3 | REM |
    |---|---:|---:|---:|---:|---:|
    | per stage | 1.000 | - | 0.667 | 0.667 | - |
    """

    def fmt(value):
        return "-" if value is None else f"{value:.3f}"

    names = list(scores["per_class_f1"])
    return "\n".join(
        [
            "| epochs | accuracy | macro-F1 | kappa |",
            "|---:|---:|---:|---:|",
            f"| {scores['n_epochs']} | {fmt(scores['accuracy'])} | "
            f"{fmt(scores['f1_macro'])} | {fmt(scores['cohen_kappa'])} |",
            "",
            "| F1 | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
            "| per stage | "
            + " | ".join(fmt(scores["per_class_f1"][n]) for n in names)
            + " |",
        ]
    )


def _value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def _fold_table(folds):
    rows = [
        "| fold | test epochs | test groups | accuracy | macro-F1 | kappa |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for fold in folds:
        groups = fold.get("test_groups")
        rows.append(
            f"| {fold.get('fold', '')} | {fold.get('n_test', '')} | "
            f"{'-' if groups is None else _value(groups)} | "
            + " | ".join(
                "-" if fold.get(k) is None else f"{fold[k]:.3f}"
                for k in ("accuracy", "f1_macro", "cohen_kappa")
            )
            + " |"
        )
    return "\n".join(rows)


def _describe(extra):
    """What was evaluated, as Markdown: every setting of ``extra``."""
    lines, tables = [], []
    for key, value in extra.items():
        if key == "fold_scores" and isinstance(value, list):
            tables.append(f"### Folds\n\n{_fold_table(value)}")
        elif isinstance(value, dict):
            inner = ", ".join(
                f"{k}: {_value(v)}"
                for k, v in value.items()
                if not isinstance(v, dict | list)
            )
            lines.append(f"- **{key}**: {inner}")
        elif isinstance(value, list) and len(value) > 20:
            lines.append(f"- **{key}**: {len(value)} entries (see report.json)")
        else:
            lines.append(f"- **{key}**: {_value(value)}")
    return "\n".join(lines), tables


@validate_params(
    {
        "out_dir": _PATH,
        "scores": [dict],
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "title": [str],
        "extra": [dict, None],
        "agreement": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def write_report(
    out_dir, scores, y_true, y_pred, *, title="skdreamy", extra=None, agreement=None
):
    """Write ``report.json``, ``report.md`` and ``confusion_matrix.png``.

    ``report.md`` stands alone: after the scores it lists every entry of
    ``extra`` (what was evaluated: command, data, nights, model or settings,
    folds, versions) and, with ``agreement``, the agreement of the sleep
    statistics. Every file is written atomically (complete or absent);
    ``report.json`` is written last.

    Parameters
    ----------
    out_dir : str or path-like
        Folder for the report; created if needed.
    scores : dict
        :func:`skdreamy.metrics.sleep_scores` of ``y_true`` and ``y_pred``.
    y_true, y_pred : array-like of shape (n_epochs,)
        Expert and predicted labels, for the confusion matrix figure.
    title : str, default="skdreamy"
        Heading of ``report.md``.
    extra : dict or None, default=None
        More JSON-serialisable entries for ``report.json`` (settings, folds).
    agreement : dict or None, default=None
        :func:`skdreamy.hypnogram.statistics_agreement` of the nights: also
        written as ``"statistics_agreement"`` in ``report.json``, as a table
        in ``report.md`` and as ``statistics_agreement.png``.

    Returns
    -------
    paths : dict
        ``"json"``, ``"markdown"`` and ``"confusion_matrix"`` paths (and
        ``"statistics_agreement"`` with ``agreement``).

    Raises
    ------
    ValueError
        If ``extra`` overrides a score key, or if a score or an ``extra``
        entry is NaN or infinite.
    TypeError
        If an ``extra`` entry is not JSON-serialisable.

    Examples
    --------
    >>> import json, tempfile
    >>> from skdreamy.metrics import sleep_scores
    >>> from skdreamy.report import write_report
    >>> y_true, y_pred = [0, 2, 2, 3, 4], [0, 2, 3, 3, 4]
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_report(folder, sleep_scores(y_true, y_pred), y_true, y_pred,
    ...                      title="Night 1", extra={"model": "stager.skdreamy"})
    >>> sorted(path.name for path in paths.values())
    ['confusion_matrix.png', 'report.json', 'report.md']
    >>> report = json.loads(paths["json"].read_text())
    >>> report["accuracy"], report["model"]
    (0.8, 'stager.skdreamy')
    >>> paths["markdown"].read_text().splitlines()[0]
    '# Night 1'
    """
    out = Path(out_dir)
    content = dict(scores)
    for key, value in (extra or {}).items():
        if key in scores:
            raise ValueError(f"extra entry {key!r} would override a score.")
        content[key] = value
    if agreement is not None:
        if "statistics_agreement" in content:
            raise ValueError("extra entry 'statistics_agreement' would be overridden.")
        content["statistics_agreement"] = agreement_json(agreement)
    text = json.dumps(content, indent=2, allow_nan=False)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "confusion_matrix": out / "confusion_matrix.png",
    }
    fig = plot_confusion_matrix(y_true, y_pred, path=paths["confusion_matrix"])
    plt.close(fig)
    sections = [f"# {title}", "## Epoch-wise scores", scores_table(scores)]
    if agreement is not None:
        paths["statistics_agreement"] = out / "statistics_agreement.png"
        fig = plot_statistics_agreement(agreement, path=paths["statistics_agreement"])
        plt.close(fig)
        sections += [
            "## Sleep statistics: predicted against expert",
            "Per statistic over the nights: mean of each scoring, the bias "
            "(mean of predicted - expert), the SD of the differences and the "
            "95 % limits of agreement (Bland-Altman: bias +/- 1.96 SD). "
            "Durations in minutes, SE as a fraction. Figure: "
            "statistics_agreement.png.",
            agreement_table(agreement),
        ]
    sections.append(
        "Confusion matrix (rows: expert, columns: predicted; fraction of the "
        "row, epoch count in brackets): confusion_matrix.png."
    )
    if extra:
        described, tables = _describe(extra)
        sections += ["## What was evaluated", described, *tables]
    with atomic_open(paths["markdown"], "w", encoding="utf-8") as file:
        file.write("\n\n".join(sections) + "\n")
    with atomic_open(paths["json"], "w", encoding="utf-8") as file:
        file.write(text + "\n")
    return paths


@validate_params({"agreement": [dict]}, prefer_skip_nested_validation=True)
def agreement_json(agreement):
    """The agreement of :func:`~skdreamy.hypnogram.statistics_agreement` as
    JSON-ready data (NaN as None): the summary and the per-night values.

    Parameters
    ----------
    agreement : dict
        As returned by :func:`skdreamy.hypnogram.statistics_agreement`.

    Returns
    -------
    data : dict
        ``"summary"`` (per statistic: bias, SD, limits of agreement, number
        of nights) and ``"per_night"`` (per night: each statistic's expert
        value, predicted value and difference).

    Examples
    --------
    >>> from skdreamy.hypnogram import statistics_agreement
    >>> from skdreamy.report import agreement_json
    >>> data = agreement_json(statistics_agreement([0, 2, 2], [0, 0, 2]))
    >>> data["summary"]["TST"]["bias"], data["per_night"][0]["TST"]
    (-0.5, {'true': 1.0, 'pred': 0.5, 'diff': -0.5})
    """
    per_night = []
    for i, night in enumerate(agreement["nights"]):
        entry = {"night": night}
        for name in agreement["statistics"]:
            entry[name] = {
                "true": agreement["true"][name][i],
                "pred": agreement["pred"][name][i],
                "diff": agreement["diff"][name][i],
            }
        per_night.append(entry)
    return _jsonable(
        {
            "statistics": list(agreement["statistics"]),
            "summary": agreement["summary"],
            "per_night": per_night,
        }
    )


def _num(value, digits=2):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


@validate_params({"agreement": [dict]}, prefer_skip_nested_validation=True)
def agreement_table(agreement):
    """A Markdown table of the Bland-Altman summary of each statistic.

    Parameters
    ----------
    agreement : dict
        As returned by :func:`skdreamy.hypnogram.statistics_agreement`.

    Returns
    -------
    table : str

    Examples
    --------
    >>> from skdreamy.hypnogram import statistics_agreement
    >>> from skdreamy.report import agreement_table
    >>> agreement = statistics_agreement(
    ...     [0, 2, 2, 0, 0, 2], [0, 0, 2, 0, 2, 2], nights=[1, 1, 1, 2, 2, 2],
    ...     statistics=["TST"])
    >>> print(agreement_table(agreement))
    | statistic | nights | expert | predicted | bias | SD | 95 % limits |
    |---|---:|---:|---:|---:|---:|---|
    | TST (min) | 2 | 0.75 | 0.75 | 0.00 | 0.71 | -1.39 to 1.39 |
    """
    rows = [
        "| statistic | nights | expert | predicted | bias | SD | 95 % limits |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in agreement["statistics"]:
        s = agreement["summary"][name]
        rows.append(
            f"| {_label(name)} | {s['n_nights']} | {_num(s['mean_true'])} | "
            f"{_num(s['mean_pred'])} | {_num(s['bias'])} | {_num(s['sd'])} | "
            f"{_num(s['loa_lower'])} to {_num(s['loa_upper'])} |"
        )
    return "\n".join(rows)


# -- a staged night ------------------------------------------------------------

#: Rows of the statistics table, in order (the JSON holds every statistic).
STATISTICS_ROWS = (
    "TIB", "SPT", "TST", "WASO", "SOL", "SE", "SME",
    "Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM", "Lat_REM_SO",
    "W", "N1", "N2", "N3", "REM", "Unscored", "%N1", "%N2", "%N3", "%REM",
    "N_awakenings", "N_stage_shifts",
)  # fmt: skip


def _label(name):
    if name in ("SE", "SME"):
        return f"{name} (fraction)"
    if name.startswith("%"):
        return f"{name} (% of TST)"
    if name.startswith("N_"):
        return name
    return f"{name} (min)"


@validate_params({"columns": [dict]}, prefer_skip_nested_validation=True)
def statistics_table(columns):
    """A Markdown table of sleep statistics, one column per source.

    Parameters
    ----------
    columns : dict
        Column heading -> statistics dict (from
        :func:`~skdreamy.hypnogram.sleep_statistics` or
        :func:`~skdreamy.hypnogram.expected_statistics`); rows in the order
        of :data:`STATISTICS_ROWS`, "-" where a column lacks a row or the
        value is undefined (NaN).

    Returns
    -------
    table : str

    Examples
    --------
    >>> from skdreamy.hypnogram import sleep_statistics
    >>> from skdreamy.report import statistics_table
    >>> table = statistics_table({"predicted": sleep_statistics([0, 2, 2, 0])})
    >>> print(*table.splitlines()[:5], sep="\\n")
    | statistic | predicted |
    |---|---:|
    | TIB (min) | 2.00 |
    | SPT (min) | 1.00 |
    | TST (min) | 1.00 |
    """
    heads = list(columns)
    rows = ["| statistic | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
    for name in STATISTICS_ROWS:
        if not any(name in c for c in columns.values()):
            continue
        digits = 0 if name.startswith("N_") else 2
        cells = [_num(columns[h].get(name), digits) for h in heads]
        rows.append(f"| {_label(name)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


@validate_params(
    {
        "hypnogram": ["array-like"],
        "proba": ["array-like", None],
        "classes": ["array-like", None],
        "expert": ["array-like", None],
        "epoch_duration": [_EPOCH],
        "threshold": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def night_statistics(
    hypnogram, *, proba=None, classes=None, expert=None, epoch_duration=30.0,
    threshold=0.5,
):  # fmt: skip
    """Everything :func:`write_statistics` writes about one staged night.

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        Predicted stages of consecutive epochs (see
        :func:`~skdreamy.hypnogram.as_codes`; gaps as unscored, e.g. with
        :func:`~skdreamy.hypnogram.fill_gaps`).
    proba : array-like of shape (n_epochs, n_classes), default=None
        Probabilities of the same epochs (all-NaN rows for unscored ones).
    classes : array-like, default=None
        Stage of each column of ``proba``; ``None``: W, N1, N2, N3, REM.
    expert : array-like of shape (n_epochs,), default=None
        The expert's stages of the same epochs.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    threshold : float, default=0.5
        For :func:`~skdreamy.hypnogram.confidence_summary`.

    Returns
    -------
    statistics : dict
        ``"epoch_duration_s"``, ``"predicted"`` (sleep statistics),
        ``"transitions"`` (counts, rows/columns W..REM) and, when given,
        ``"expected"`` and ``"confidence"`` (from ``proba``) and
        ``"expert"`` and ``"difference"`` (predicted - expert).

    Raises
    ------
    ValueError
        If a stage is unknown, ``proba`` is not probabilities, or the
        lengths differ.

    Examples
    --------
    >>> from skdreamy.report import night_statistics
    >>> stats = night_statistics([0, 2, 2, 0], expert=[0, 0, 2, 0])
    >>> stats["predicted"]["TST"], stats["expert"]["TST"], stats["difference"]["TST"]
    (1.0, 0.5, 0.5)
    """
    codes = as_codes(hypnogram)
    out = {
        "epoch_duration_s": float(epoch_duration),
        "predicted": sleep_statistics(codes, epoch_duration=epoch_duration),
        "transitions": {
            "stages": list(STAGE_NAMES),
            "counts": transition_matrix(codes).tolist(),
        },
    }
    if proba is not None:
        if len(proba) != len(codes):
            raise ValueError(
                f"proba has {len(proba)} rows but the hypnogram {len(codes)} epochs."
            )
        out["expected"] = expected_statistics(
            proba, classes=classes, epoch_duration=epoch_duration
        )
        out["confidence"] = confidence_summary(
            proba, classes=classes, threshold=threshold
        )
    if expert is not None:
        expert = as_codes(expert, name="expert")
        if len(expert) != len(codes):
            raise ValueError(
                f"expert has {len(expert)} epochs but the hypnogram {len(codes)}."
            )
        out["expert"] = sleep_statistics(expert, epoch_duration=epoch_duration)
        out["difference"] = {
            k: v - out["expert"][k] for k, v in out["predicted"].items()
        }
    return out


@validate_params(
    {"path": _PATH, "statistics": [dict], "title": [str]},
    prefer_skip_nested_validation=True,
)
def write_statistics(path, statistics, *, title="Sleep statistics"):
    """Write a night's statistics as JSON and as a Markdown table beside it.

    Parameters
    ----------
    path : str or path-like
        The JSON file; the Markdown goes to the same name with ``.md``.
    statistics : dict
        From :func:`night_statistics`.
    title : str, default="Sleep statistics"
        Heading of the Markdown file (e.g. the night's name).

    Returns
    -------
    paths : dict
        ``"json"`` and ``"markdown"`` paths.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from skdreamy.report import night_statistics, write_statistics
    >>> path = Path(tempfile.mkdtemp()) / "night.statistics.json"
    >>> paths = write_statistics(path, night_statistics([0, 2, 2, 4, 0]))
    >>> json.loads(paths["json"].read_text())["predicted"]["TST"]
    1.5
    >>> paths["markdown"].name
    'night.statistics.md'
    """
    path = Path(path)
    text = json.dumps(_jsonable(statistics), indent=2, allow_nan=False)
    columns = {
        heading: statistics[key]
        for key, heading in (
            ("predicted", "predicted"),
            ("expected", "expected (probabilities)"),
            ("expert", "expert"),
        )
        if key in statistics
    }
    parts = [
        f"# {title}",
        "Durations in minutes from lights-off (the first epoch); definitions "
        "in skdreamy.hypnogram.sleep_statistics.",
        statistics_table(columns),
    ]
    if "confidence" in statistics:
        c = statistics["confidence"]
        parts.append(
            f"Confidence: mean top probability {_num(c['mean_max_proba'])}; "
            f"{_num(100 * c['fraction_below'], 1)} % of {c['n_epochs']} staged "
            f"epochs below {c['threshold']:g}; {c['n_unscored']} epochs "
            "not staged."
        )
    counts = statistics["transitions"]["counts"]
    names = statistics["transitions"]["stages"]
    parts.append(
        "Transitions (row: stage of an epoch, column: stage of the next)\n\n"
        + "| from \\ to | " + " | ".join(names) + " |\n"
        + "|---|" + "---:|" * len(names) + "\n"
        + "\n".join(
            f"| {name} | " + " | ".join(str(v) for v in row) + " |"
            for name, row in zip(names, counts, strict=True)
        )
    )  # fmt: skip
    markdown = path.with_suffix(".md")
    with atomic_open(markdown, "w", encoding="utf-8") as file:
        file.write("\n\n".join(parts) + "\n")
    with atomic_open(path, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    return {"json": path, "markdown": markdown}


def _proba_columns(proba, classes, n_epochs):
    """Column names and a (n_epochs, n_columns) array, W..REM first."""
    if proba is None:
        return [], None
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or len(proba) != n_epochs:
        raise ValueError(
            f"proba must have one row per epoch ({n_epochs}), got shape {proba.shape}."
        )
    if classes is None:
        classes = list(range(proba.shape[1]))
    names = [stage_name(c) for c in np.asarray(classes).tolist()]
    if len(names) != proba.shape[1]:
        raise ValueError(
            f"classes must name the {proba.shape[1]} columns of proba, got "
            f"{len(names)}."
        )
    order = list(dict.fromkeys([*STAGE_NAMES, *names]))
    full = np.zeros((n_epochs, len(order)))
    for j, name in enumerate(names):
        full[:, order.index(name)] = proba[:, j]
    full[np.isnan(proba).all(axis=1)] = np.nan
    return order, full


@validate_params(
    {
        "path": _PATH,
        "y_pred": ["array-like"],
        "proba": ["array-like", None],
        "classes": ["array-like", None],
        "onsets": ["array-like", None],
        "quality": ["array-like", None],
        "epoch_duration": [_EPOCH],
    },
    prefer_skip_nested_validation=True,
)
def write_hypnogram_csv(
    path, y_pred, *, proba=None, classes=None, onsets=None, quality=None,
    epoch_duration=30.0,
):  # fmt: skip
    """Write a staged night as CSV: one row per epoch.

    Columns: ``onset_s``, ``stage`` (name; empty for an epoch without a
    stage), ``p_W`` ... ``p_REM`` (and ``p_<class>`` for other classes; empty
    for an epoch without a stage) when ``proba`` is given, and ``quality``
    ("ok", or the reason an epoch was not staged or is doubtful, see
    :func:`skdreamy.staging.stage`). :func:`skdreamy.datasets.read_hypnogram`
    reads it back.

    Parameters
    ----------
    path : str or path-like
        The CSV file (written atomically).
    y_pred : array-like of shape (n_epochs,)
        Stages; ``None`` (or :data:`~skdreamy.hypnogram.UNSCORED`) for an
        epoch without one.
    proba : array-like of shape (n_epochs, n_classes), default=None
        Probabilities (all-NaN rows for epochs without a stage).
    classes : array-like of shape (n_classes,), default=None
        Label of each column of ``proba``; ``None``: codes 0, 1, ...
    onsets : array-like of shape (n_epochs,), default=None
        Start of each epoch in seconds; ``None``: back to back from 0.
    quality : array-like of str, default=None
        Per epoch: "" when fine, else the problem; ``None``: "ok" for staged
        epochs, "unscored" for the others.
    epoch_duration : float, default=30.0
        Epoch length in seconds (for ``onsets=None``).

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdreamy.report import write_hypnogram_csv
    >>> path = Path(tempfile.mkdtemp()) / "night.csv"
    >>> _ = write_hypnogram_csv(path, [0, 2, None], proba=[[0.9, 0.1], [0.2, 0.8],
    ...                         [float("nan")] * 2], classes=[0, 2])
    >>> print(path.read_text().strip())
    onset_s,stage,p_W,p_N1,p_N2,p_N3,p_REM,quality
    0,W,0.900000,0.000000,0.100000,0.000000,0.000000,ok
    30,N2,0.200000,0.000000,0.800000,0.000000,0.000000,ok
    60,,,,,,,unscored
    """
    codes = as_codes(y_pred, name="y_pred")
    n = len(codes)
    onsets = (
        epoch_duration * np.arange(n)
        if onsets is None
        else np.asarray(onsets, dtype=float)
    )
    if onsets.shape != (n,):
        raise ValueError(
            f"onsets must hold one start time per epoch ({n}), got shape "
            f"{onsets.shape}."
        )
    if quality is None:
        quality = np.where(codes == UNSCORED, "unscored", "")
    quality = np.asarray(quality, dtype=str)
    if quality.shape != (n,):
        raise ValueError(f"quality must hold one entry per epoch ({n}).")
    names, full = _proba_columns(proba, classes, n)
    with atomic_open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["onset_s", "stage", *(f"p_{n}" for n in names), "quality"])
        for i in range(n):
            if codes[i] == UNSCORED:
                row = ["", *([""] * len(names))]
            else:
                probs = [f"{p:.6f}" for p in full[i]] if names else []
                row = [STAGE_NAMES[codes[i]], *probs]
            writer.writerow([f"{onsets[i]:g}", *row, quality[i] or "ok"])
    return Path(path)


@validate_params(
    {
        "path": _PATH,
        "hypnogram": ["array-like"],
        "epoch_duration": [_EPOCH],
        "start": [Real],
        "merge": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def write_edf_annotations(
    path, hypnogram, *, epoch_duration=30.0, start=0.0, merge=True
):
    """Write the hypnogram as an EDF+ file of annotations (no signal).

    The format of Sleep-EDF's ``*-Hypnogram.edf`` files: one annotation per
    bout (``merge=True``) or per epoch, "Sleep stage W", "Sleep stage 1" ...
    "Sleep stage R" and "Sleep stage ?" for epochs without a stage
    (:data:`~skdreamy.hypnogram.ANNOTATION_TEXTS`), onsets in seconds from
    ``start``. :func:`mne.read_annotations`, EDFbrowser and
    :func:`skdreamy.datasets.read_night` read it. Written with ``edfio``.

    Parameters
    ----------
    path : str or path-like
        The ``.edf`` file (written atomically).
    hypnogram : array-like of shape (n_epochs,)
        Stages of consecutive epochs; see
        :func:`~skdreamy.hypnogram.as_codes`.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    start : float, default=0.0
        Onset of the first epoch in seconds from the recording's start.
    merge : bool, default=True
        One annotation per run of equal stages instead of one per epoch.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import mne
    >>> from skdreamy.report import write_edf_annotations
    >>> path = Path(tempfile.mkdtemp()) / "night.edf"
    >>> _ = write_edf_annotations(path, ["W", "W", "N2", "REM"])
    >>> annotations = mne.read_annotations(path)
    >>> list(annotations.description), annotations.duration.tolist()
    (['Sleep stage W', 'Sleep stage 2', 'Sleep stage R'], [60.0, 30.0, 30.0])
    """
    from edfio import Edf, EdfAnnotation

    from .hypnogram import to_annotations

    codes = as_codes(hypnogram)
    annotations = to_annotations(
        codes, epoch_duration=epoch_duration, start=start, merge=merge
    )
    edf = Edf(
        [],
        annotations=[
            EdfAnnotation(float(onset), float(duration), str(text))
            for onset, duration, text in zip(
                annotations.onset,
                annotations.duration,
                annotations.description,
                strict=True,
            )
        ],
    )
    with atomic_open(path, "wb") as file:
        edf.write(file)
    return Path(path)


@validate_params(
    {
        "path": _PATH,
        "hypnogram": ["array-like"],
        "proba": ["array-like", None],
        "classes": ["array-like", None],
        "epoch_duration": [_EPOCH],
        "start": [Real],
    },
    prefer_skip_nested_validation=True,
)
def write_events_tsv(
    path, hypnogram, *, proba=None, classes=None, epoch_duration=30.0, start=0.0
):
    """Write the hypnogram as a BIDS-style events TSV, one row per epoch.

    Columns ``onset`` and ``duration`` (seconds), ``trial_type`` (the stage:
    W, N1, N2, N3, REM, or ``n/a`` for an epoch without one) and, with
    ``proba``, ``p_W`` ... ``p_REM`` (``n/a`` where unknown), as the BIDS
    specification lays out ``*_events.tsv`` files. A JSON sidecar with the
    same name (``.json``) describes the columns.
    :func:`skdreamy.datasets.read_hypnogram` reads it back.

    Parameters
    ----------
    path : str or path-like
        The ``.tsv`` file (written atomically), e.g. ``sub-01_events.tsv``.
    hypnogram : array-like of shape (n_epochs,)
        Stages of consecutive epochs.
    proba : array-like of shape (n_epochs, n_classes), default=None
        Probabilities (all-NaN rows for epochs without a stage).
    classes : array-like of shape (n_classes,), default=None
        Label of each column of ``proba``; ``None``: codes 0, 1, ...
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    start : float, default=0.0
        Onset of the first epoch in seconds.

    Returns
    -------
    paths : dict
        ``"tsv"`` and ``"json"`` (the sidecar) paths.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdreamy.report import write_events_tsv
    >>> path = Path(tempfile.mkdtemp()) / "sub-01_events.tsv"
    >>> paths = write_events_tsv(path, ["W", "N2", None])
    >>> print(paths["tsv"].read_text().strip())
    onset	duration	trial_type
    0	30	W
    30	30	N2
    60	30	n/a
    """
    codes = as_codes(hypnogram)
    n = len(codes)
    names, full = _proba_columns(proba, classes, n)
    path = Path(path)
    sidecar = {
        "onset": {"Description": "Start of the epoch", "Units": "s"},
        "duration": {"Description": "Length of the epoch", "Units": "s"},
        "trial_type": {
            "Description": "Sleep stage (AASM), scored by skdreamy",
            "Levels": {
                "W": "Wake",
                "N1": "NREM stage 1",
                "N2": "NREM stage 2",
                "N3": "NREM stage 3",
                "REM": "REM sleep",
                "n/a": "Not staged (unscored or invalid epoch)",
            },
        },
        **{
            f"p_{name}": {"Description": f"Predicted probability of {name}"}
            for name in names
        },
    }
    rows = ["\t".join(["onset", "duration", "trial_type", *(f"p_{m}" for m in names)])]
    for i in range(n):
        stage = "n/a" if codes[i] == UNSCORED else STAGE_NAMES[codes[i]]
        probs = ["n/a" if np.isnan(p) else f"{p:.6f}" for p in full[i]] if names else []
        onset = float(start) + i * float(epoch_duration)
        rows.append("\t".join([f"{onset:g}", f"{epoch_duration:g}", stage, *probs]))
    json_path = path.with_suffix(".json")
    with atomic_open(json_path, "w", encoding="utf-8") as file:
        file.write(json.dumps(sidecar, indent=2) + "\n")
    with atomic_open(path, "w", encoding="utf-8", newline="") as file:
        file.write("\n".join(rows) + "\n")
    return {"tsv": path, "json": json_path}


__all__ = [
    "STATISTICS_ROWS",
    "agreement_json",
    "agreement_table",
    "night_statistics",
    "scores_table",
    "statistics_table",
    "write_edf_annotations",
    "write_events_tsv",
    "write_hypnogram_csv",
    "write_report",
    "write_statistics",
]
