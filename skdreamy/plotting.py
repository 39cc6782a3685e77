"""Figures of a sleep staging: hypnogram, confusion matrix, training curves and
per-epoch stage probabilities (hypnodensity).

Every function draws with matplotlib (any backend, Agg included), returns the
:class:`~matplotlib.figure.Figure` and, given ``path``, also saves it there
(the format follows the extension: ``.png``, ``.pdf``, ``.svg`` ...). Without
``ax`` a new figure is made with :mod:`matplotlib.pyplot`, so ``plt.show()``
shows it; close figures you no longer need with ``plt.close(fig)``.
"""

import os
from collections.abc import Mapping
from numbers import Real
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from ._io import atomic_open
from ._stages import STAGE_CODES, STAGE_NAMES, stage_name
from .metrics import _check_label_vectors, _is_stage_set, _label_order

#: Hypnogram rows from top to bottom, the clinical convention.
HYPNOGRAM_ORDER = ("W", "REM", "N1", "N2", "N3")

#: The colour of each stage in every skdreamy figure.
STAGE_COLORS = {
    "W": "#f0b429",
    "N1": "#9ecae1",
    "N2": "#4292c6",
    "N3": "#08306b",
    "REM": "#d62728",
}

_LEVEL = {name: len(HYPNOGRAM_ORDER) - 1 - i for i, name in enumerate(HYPNOGRAM_ORDER)}


def _figure_and_axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


@validate_params(
    {"fig": [HasMethods(["savefig"])], "path": [str, os.PathLike]},
    prefer_skip_nested_validation=True,
)
def save_figure(fig, path):
    """Save a figure atomically: an interrupted save leaves no partial file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Destination; the format follows the suffix (PNG without one).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The same figure.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    ValueError
        If matplotlib does not know the format of the suffix.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import matplotlib.pyplot as plt
    >>> from skdreamy.plotting import plot_hypnogram, save_figure
    >>> fig = plot_hypnogram([0, 1, 2, 2, 3, 2, 4, 0])
    >>> path = Path(tempfile.mkdtemp()) / "hypnogram.png"
    >>> save_figure(fig, path) is fig, path.read_bytes()[1:4]
    (True, b'PNG')
    >>> plt.close(fig)
    """
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with atomic_open(path, "wb") as file:
        fig.savefig(file, format=fmt, dpi=150, bbox_inches="tight")
    return fig


def _finish(fig, path):
    return fig if path is None else save_figure(fig, path)


def _stage_names(y, name):
    """Stage names of a vector of stage codes or names; refuse other labels."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {y.shape}.")
    values = np.unique(y)
    if not _is_stage_set(values):
        others = [v for v in values.tolist() if stage_name(v) not in STAGE_CODES]
        others = others or values.tolist()
        raise ValueError(
            f"{name} holds labels that are not sleep stages: {others[:10]}; "
            f"expected codes 0-4 or names {list(STAGE_NAMES)}."
        )
    return np.array([stage_name(v) for v in y.tolist()])


def _onsets(n_epochs, onsets, epoch_duration):
    """Epoch start times in seconds, checked."""
    if onsets is None:
        return np.arange(n_epochs) * float(epoch_duration)
    onsets = np.asarray(onsets, dtype=float)
    if onsets.shape != (n_epochs,):
        raise ValueError(
            f"onsets must hold one start time per epoch, shape ({n_epochs},), "
            f"got shape {onsets.shape}."
        )
    if not np.all(np.isfinite(onsets)) or np.any(np.diff(onsets) <= 0):
        raise ValueError("onsets must be finite and strictly increasing (seconds).")
    return onsets


def _post_steps(onsets, epoch_duration, values):
    """Points for a ``where="post"`` step plot, broken (NaN) at gaps.

    Each epoch holds its value from its onset to ``onset + epoch_duration``;
    where the next epoch starts later, a NaN point leaves the gap empty.
    Returns hours and values (one row per point).
    """
    values = np.asarray(values, dtype=float)
    ends = onsets + epoch_duration
    gaps = np.flatnonzero(onsets[1:] > ends[:-1] + 1e-6)
    x = np.insert(onsets, gaps + 1, ends[gaps])
    v = np.insert(values, gaps + 1, np.nan, axis=0)
    x = np.append(x, ends[-1])
    v = np.concatenate([v, values[-1:]], axis=0)
    return x / 3600.0, v


# Constraints of the arguments the night figures share.
_NIGHT_AXES = {
    "onsets": ["array-like", None],
    "epoch_duration": [Interval(Real, 0, None, closed="neither")],
    "ax": [HasMethods(["plot"]), None],
    "path": [str, os.PathLike, None],
}


@validate_params(
    {"y_pred": ["array-like"], "y_true": ["array-like", None], **_NIGHT_AXES},
    prefer_skip_nested_validation=True,
)
def plot_hypnogram(
    y_pred,
    *,
    y_true=None,
    onsets=None,
    epoch_duration=30,
    title=None,
    key_figures=None,
    ax=None,
    path=None,
):
    """Plot a hypnogram: the sleep stage of each epoch over the night.

    The conventional step plot: W at the top, then REM, N1, N2 and N3 at the
    bottom; REM periods drawn as thick red bars; time in hours on the x axis.
    With ``y_true`` the expert hypnogram is drawn underneath as a thick grey
    line, so disagreements stand out where the black line leaves it.

    Parameters
    ----------
    y_pred : array-like of shape (n_epochs,)
        Stages (codes 0-4 or names "W", "N1", "N2", "N3", "REM"), e.g. the
        output of ``pipeline.predict``.
    y_true : array-like of shape (n_epochs,), default=None
        Expert stages of the same epochs.
    onsets : array-like of shape (n_epochs,), default=None
        Start of each epoch in seconds from the start of the recording,
        strictly increasing; gaps (rejected epochs) are left blank. ``None``
        means back-to-back epochs from 0.
    epoch_duration : float, default=30
        Epoch length in seconds.
    title : str, default=None
        Title (e.g. the night's name), at the top left.
    key_figures : dict, default=None
        Sleep statistics (:func:`skdreamy.hypnogram.sleep_statistics`):
        TST, SE, WASO and SOL are shown at the top right.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.
    path : str or os.PathLike, default=None
        Also save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes hold one line for the stages, one for the REM
        bars and, with ``y_true``, one for the expert stages (drawn first),
        and a legend naming them.

    Raises
    ------
    ValueError
        If a label is not a sleep stage, the lengths differ, or ``onsets`` is
        not strictly increasing.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skdreamy.plotting import plot_hypnogram
    >>> y_pred = [0, 0, 1, 2, 2, 3, 3, 2, 4, 4, 0]
    >>> y_true = [0, 1, 1, 2, 2, 3, 2, 2, 4, 4, 4]
    >>> fig = plot_hypnogram(y_pred, y_true=y_true)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['N3', 'N2', 'N1', 'REM', 'W']
    >>> len(fig.axes[0].lines)
    3
    >>> plt.close(fig)
    """
    names = _stage_names(y_pred, "y_pred")
    onsets = _onsets(len(names), onsets, epoch_duration)
    fig, ax = _figure_and_axes(ax, (10, 3))
    if y_true is not None:
        true_names = _stage_names(y_true, "y_true")
        if len(true_names) != len(names):
            raise ValueError(
                f"y_true has {len(true_names)} epochs but y_pred has {len(names)}."
            )
        x, level = _post_steps(onsets, epoch_duration, [_LEVEL[s] for s in true_names])
        ax.step(x, level, where="post", color="0.6", lw=4, alpha=0.6, label="expert")
    x, level = _post_steps(onsets, epoch_duration, [_LEVEL[s] for s in names])
    ax.step(
        x,
        level,
        where="post",
        color="k",
        lw=1.2,
        label="predicted" if y_true is not None else "stage",
    )
    rem = np.where(level == _LEVEL["REM"], level, np.nan)
    ax.step(
        x,
        rem,
        where="post",
        color=STAGE_COLORS["REM"],
        lw=4,
        solid_capstyle="butt",
        label="REM",
    )
    ax.set_yticks(sorted(_LEVEL.values()), HYPNOGRAM_ORDER[::-1])
    ax.set_ylim(-0.6, len(HYPNOGRAM_ORDER) - 0.4)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("Time (h)")
    ax.set_ylabel("Sleep stage")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    if title is not None:
        ax.set_title(str(title), loc="left")
    if key_figures is not None:
        ax.set_title(key_figures_text(key_figures), loc="right", fontsize="small")
    return _finish(fig, path)


@validate_params({"statistics": [dict]}, prefer_skip_nested_validation=True)
def key_figures_text(statistics):
    """TST, SE, WASO and SOL in one line, e.g. for a figure or the console.

    Parameters
    ----------
    statistics : dict
        From :func:`skdreamy.hypnogram.sleep_statistics` (or
        :func:`~skdreamy.hypnogram.expected_statistics`).

    Returns
    -------
    text : str

    Examples
    --------
    >>> from skdreamy.hypnogram import sleep_statistics
    >>> from skdreamy.plotting import key_figures_text
    >>> key_figures_text(sleep_statistics([0, 0, 2, 2, 2, 0, 4, 4]))
    'TST 2.5 min · SE 62 % · WASO 0.5 min · SOL 1.0 min'
    """

    def minutes(key):
        value = statistics.get(key)
        if value is None or not np.isfinite(value):
            return f"{key} -"
        if value >= 120:
            return f"{key} {value / 60:.1f} h"
        return f"{key} {value:.1f} min"

    se = statistics.get("SE")
    se = "SE -" if se is None or not np.isfinite(se) else f"SE {100 * se:.0f} %"
    return " · ".join([minutes("TST"), se, minutes("WASO"), minutes("SOL")])


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "normalize": [StrOptions({"true", "pred", "all"}), None],
        "labels": ["array-like", None],
        "ax": [HasMethods(["plot"]), None],
        "path": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_confusion_matrix(
    y_true, y_pred, *, normalize="true", labels=None, ax=None, path=None
):
    """Plot the confusion matrix of a staging, stages named on the axes.

    Drawn by :class:`sklearn.metrics.ConfusionMatrixDisplay`; rows are the
    true (expert) stages, columns the predicted ones, in the order of
    :func:`~skdreamy.metrics.sleep_scores` (all five stages for stage labels).

    Parameters
    ----------
    y_true : array-like of shape (n_epochs,)
        Expert labels.
    y_pred : array-like of shape (n_epochs,)
        Predicted labels.
    normalize : {"true", "pred", "all"} or None, default="true"
        Divide by the row sums (``"true"``: each row shows the recall of its
        stage), the column sums, or the total; ``None`` shows epoch counts.
        Rows or columns with no epochs show 0. Normalised cells also show
        their epoch count in brackets, so that a row of few epochs is not
        read as certain.
    labels : array-like of shape (n_labels,), default=None
        Label order; see :func:`~skdreamy.metrics.sleep_scores`.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.
    path : str or os.PathLike, default=None
        Also save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (the matrix axes and its colour bar).

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_pred`` differ in length or are empty, a label
        is missing from ``labels``, or ``normalize`` is not an option.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skdreamy.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix([0, 0, 2, 2, 4], [0, 2, 2, 2, 4])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['W', 'N1', 'N2', 'N3', 'REM']
    >>> fig.axes[0].texts[0].get_text()  # W epochs scored W: fraction (count)
    '0.50\\n(1)'
    >>> plt.close(fig)
    """
    y_true, y_pred = _check_label_vectors(y_true, y_pred)
    labels = _label_order(y_true, y_pred, labels)
    names = [stage_name(label) for label in labels.tolist()]
    if ax is None:
        _, ax = _figure_and_axes(None, (5.5, 4.5))
    with np.errstate(invalid="ignore", divide="ignore"):
        display = ConfusionMatrixDisplay.from_predictions(
            y_true,
            y_pred,
            labels=labels,
            normalize=normalize,
            display_labels=names,
            cmap="Blues",
            values_format="d" if normalize is None else ".2f",
            ax=ax,
        )
    if normalize is not None:  # the count beside each fraction
        counts = confusion_matrix(y_true, y_pred, labels=labels)
        for (i, j), text in np.ndenumerate(display.text_):
            text.set_text(f"{text.get_text()}\n({counts[i, j]})")
            text.set_fontsize("small")
    if _is_stage_set(labels):
        ax.set_xlabel("Predicted stage")
        ax.set_ylabel("True stage")
    return _finish(display.figure_, path)


def _history_of(history):
    """The per-epoch history dict of a dict, classifier, pipeline or History."""
    if isinstance(history, Mapping):
        return dict(history)
    estimator = history
    if hasattr(estimator, "steps"):  # a (fitted) pipeline: its last step
        estimator = estimator.steps[-1][1]
    if hasattr(estimator, "history_"):
        return dict(estimator.history_)
    if isinstance(getattr(estimator, "history", None), Mapping):  # keras History
        return dict(estimator.history)
    if hasattr(estimator, "fit"):
        raise NotFittedError(
            f"{type(estimator).__name__} has no training history (history_): "
            "fit it first."
        )
    raise TypeError(
        "history must be a dict of per-epoch lists, a fitted "
        "SleepStageCNNClassifier or a pipeline ending in one, got "
        f"{type(history).__name__}."
    )


@validate_params(
    {
        "history": [dict, HasMethods(["fit"])],
        "path": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_training_curves(history, *, path=None):
    """Plot loss and accuracy per training epoch, training and validation.

    One panel per metric (loss first, then accuracy, then any other metric
    Keras recorded); each shows the training curve and, when the classifier
    held out a validation set (``validation_fraction > 0``), the validation
    curve (``val_<metric>``).

    Parameters
    ----------
    history : dict, SleepStageCNNClassifier or Pipeline
        A dict of per-epoch lists (``loss``, ``accuracy``, ``val_loss``,
        ``val_accuracy`` ...), a fitted classifier (its ``history_``), a
        fitted pipeline ending in one, or a :class:`keras.callbacks.History`.
    path : str or os.PathLike, default=None
        Also save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        A figure with one axes per metric.

    Raises
    ------
    NotFittedError
        If the classifier has not been fitted.
    TypeError
        If ``history`` is none of the above.
    ValueError
        If the history is empty or its curves differ in length.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skdreamy.plotting import plot_training_curves
    >>> history = {
    ...     "loss": [1.5, 1.1, 0.9], "accuracy": [0.4, 0.6, 0.7],
    ...     "val_loss": [1.4, 1.2, 1.1], "val_accuracy": [0.45, 0.55, 0.6],
    ... }
    >>> fig = plot_training_curves(history)
    >>> [ax.get_title() for ax in fig.axes], [len(ax.lines) for ax in fig.axes]
    (['loss', 'accuracy'], [2, 2])
    >>> plt.close(fig)
    """
    history = _history_of(history)
    curves = {key: np.asarray(value, dtype=float) for key, value in history.items()}
    if not curves or not any(len(v) for v in curves.values()):
        raise ValueError("The training history is empty: no epoch was recorded.")
    lengths = {key: len(v) for key, v in curves.items()}
    if len(set(lengths.values())) != 1 or any(v.ndim != 1 for v in curves.values()):
        raise ValueError(
            f"Every curve of the history must be a list of one value per epoch, "
            f"of the same length; got lengths {lengths}."
        )
    metrics = list(dict.fromkeys(key.removeprefix("val_") for key in curves))
    metrics.sort(key=lambda m: {"loss": 0, "accuracy": 1}.get(m, 2))
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(4.5 * len(metrics), 3.5),
        squeeze=False,
        layout="constrained",
    )
    epochs = np.arange(1, next(iter(lengths.values())) + 1)
    for ax, metric in zip(axes[0], metrics, strict=True):
        marker = "o" if len(epochs) <= 30 else None
        if metric in curves:
            ax.plot(epochs, curves[metric], marker=marker, label="training")
        if f"val_{metric}" in curves:
            ax.plot(epochs, curves[f"val_{metric}"], marker=marker, label="validation")
        ax.set_title(metric)
        ax.set_xlabel("Epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


@validate_params(
    {"proba": ["array-like"], "classes": ["array-like", None], **_NIGHT_AXES},
    prefer_skip_nested_validation=True,
)
def plot_probabilities(
    proba, *, classes=None, onsets=None, epoch_duration=30, ax=None, path=None
):
    """Plot per-epoch stage probabilities, stacked (a hypnodensity).

    Each epoch is a vertical slice whose coloured bands show the probability
    of each stage (e.g. ``pipeline.predict_proba(X)``), so uncertain epochs
    and transitions stand out, unlike in a hypnogram.

    Parameters
    ----------
    proba : array-like of shape (n_epochs, n_classes)
        Probabilities, one row per epoch (rows summing to 1).
    classes : array-like of shape (n_classes,), default=None
        Label of each column, e.g. ``estimator.classes_``. ``None`` accepts
        five columns only, taken as W, N1, N2, N3, REM.
    onsets : array-like of shape (n_epochs,), default=None
        Start of each epoch in seconds, strictly increasing; gaps are left
        blank. ``None`` means back-to-back epochs from 0.
    epoch_duration : float, default=30
        Epoch length in seconds.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into; ``None`` makes a new figure.
    path : str or os.PathLike, default=None
        Also save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes hold one filled band per class, bottom to top in
        the order of ``classes``.

    Raises
    ------
    ValueError
        If ``proba`` is not 2-D, holds values outside [0, 1] or NaN, or its
        columns do not match ``classes``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skdreamy.plotting import plot_probabilities
    >>> proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.6, 0.2], [0.0, 0.3, 0.7]])
    >>> fig = plot_probabilities(proba, classes=["W", "N2", "REM"])
    >>> len(fig.axes[0].collections)
    3
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['REM', 'N2', 'W']
    >>> plt.close(fig)
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[0] == 0:
        raise ValueError(
            "proba must be a non-empty 2-D array (n_epochs, n_classes), got "
            f"shape {proba.shape}."
        )
    if not np.all(np.isfinite(proba)) or proba.min() < -1e-6 or proba.max() > 1 + 1e-6:
        raise ValueError("proba must hold probabilities in [0, 1], without NaN.")
    if classes is None:
        if proba.shape[1] != len(STAGE_NAMES):
            raise ValueError(
                f"proba has {proba.shape[1]} columns; pass classes (e.g. "
                "estimator.classes_) unless they are the five stages."
            )
        classes = np.arange(len(STAGE_NAMES))
    classes = np.asarray(classes)
    if classes.shape != (proba.shape[1],):
        raise ValueError(
            f"classes must name the {proba.shape[1]} columns of proba, got "
            f"{len(classes)} classes."
        )
    names = [stage_name(c) for c in classes.tolist()]
    colors = [STAGE_COLORS.get(name, f"C{i}") for i, name in enumerate(names)]
    onsets = _onsets(len(proba), onsets, epoch_duration)
    fig, ax = _figure_and_axes(ax, (10, 3))
    x, bands = _post_steps(onsets, epoch_duration, proba)
    ax.stackplot(x, bands.T, labels=names, colors=colors, step="post", lw=0)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("Time (h)")
    ax.set_ylabel("Probability")
    handles, texts = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],  # top band first, as stacked
        texts[::-1],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        frameon=False,
    )
    return _finish(fig, path)


@validate_params(
    {
        "agreement": [dict],
        "statistics": [list, tuple, None],
        "path": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_statistics_agreement(agreement, *, statistics=None, path=None):
    """Bland-Altman plots of sleep statistics: one panel per statistic.

    Each night is a point: the difference between the two scorings
    (predicted - expert) against their mean. Solid line: the bias (mean
    difference); dashed lines: the 95 % limits of agreement (bias +/- 1.96
    SD; drawn with two nights or more); dotted line: no difference.

    Parameters
    ----------
    agreement : dict
        As returned by :func:`skdreamy.hypnogram.statistics_agreement`.
    statistics : list of str, default=None
        Statistics to show (of ``agreement["statistics"]``); ``None``: all.
    path : str or os.PathLike, default=None
        Also save the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per statistic, titled with its name and unit.

    Raises
    ------
    ValueError
        If a statistic is not in ``agreement``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skdreamy.hypnogram import statistics_agreement
    >>> from skdreamy.plotting import plot_statistics_agreement
    >>> agreement = statistics_agreement(
    ...     [0, 2, 2, 0, 0, 2, 2, 2, 4], [0, 0, 2, 0, 2, 2, 2, 4, 4],
    ...     nights=[1, 1, 1, 2, 2, 2, 3, 3, 3])
    >>> fig = plot_statistics_agreement(agreement, statistics=["TST", "SE"])
    >>> [ax.get_title() for ax in fig.axes]
    ['TST (min)', 'SE (fraction)']
    >>> plt.close(fig)
    """
    names = list(agreement["statistics"] if statistics is None else statistics)
    unknown = [name for name in names if name not in agreement["statistics"]]
    if unknown or not names:
        raise ValueError(
            f"statistics must be some of {list(agreement['statistics'])}, got "
            f"{unknown or names}."
        )
    n_cols = min(4, len(names))
    n_rows = -(-len(names) // n_cols)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(3.4 * n_cols, 2.9 * n_rows),
        squeeze=False,
        layout="constrained",
    )
    for ax, name in zip(axes.flat[: len(names)], names, strict=True):
        true = np.asarray(agreement["true"][name], dtype=float)
        pred = np.asarray(agreement["pred"][name], dtype=float)
        summary = agreement["summary"][name]
        ax.axhline(0, color="0.5", lw=0.8, ls=":")
        ax.scatter((true + pred) / 2, pred - true, s=18, color="k", zorder=3)
        if np.isfinite(summary["bias"]):
            ax.axhline(summary["bias"], color="C0", lw=1.2, label="bias")
        if np.isfinite(summary["sd"]):
            for key in ("loa_lower", "loa_upper"):
                ax.axhline(summary[key], color="C0", lw=1, ls="--")
        unit = "fraction" if name in ("SE", "SME") else (
            "% of TST" if name.startswith("%") else (
                "count" if name.startswith("N_") else "min"))  # fmt: skip
        ax.set_title(f"{name} ({unit})")
        ax.set_xlabel("mean of the two")
        ax.set_ylabel("predicted - expert")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    return _finish(fig, path)


__all__ = [
    "HYPNOGRAM_ORDER",
    "STAGE_COLORS",
    "key_figures_text",
    "plot_confusion_matrix",
    "plot_hypnogram",
    "plot_probabilities",
    "plot_statistics_agreement",
    "plot_training_curves",
    "save_figure",
]
