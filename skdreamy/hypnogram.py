"""The night, not just the epochs: sleep statistics and their agreement.

A *hypnogram* here is the stage of every epoch of one night, in order and
back to back (epoch ``i`` starts at ``i * epoch_duration`` seconds after
lights-off): integer codes 0=W 1=N1 2=N2 3=N3 4=REM, or the names "W", "N1",
"N2", "N3", "REM". Epochs that carry no stage (left out by
``stage(..., invalid="mark")``, unscored or scored as artefact/movement by
the expert, a gap in the recording) carry their own code, :data:`UNSCORED`
(-1). They count in time in bed but never as sleep and never as wake.

Everything is computed from the codes with numpy; the definitions follow the
AASM manual (Iber et al., 2007; Berry et al., 2012, "The AASM Manual for the
Scoring of Sleep and Associated Events", v2) as summarised in
:func:`sleep_statistics`, and the names follow YASA's
(:func:`yasa.sleep_statistics`) wherever the definitions coincide.
"""

from numbers import Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from ._stages import STAGE_CODES, STAGE_NAMES

UNSCORED = -1
"""Code of an epoch without a stage (unscored, artefact, marked invalid)."""

_SLEEP = (1, 2, 3, 4)

_NAME_CODES = {
    **{name.casefold(): code for name, code in STAGE_CODES.items()},
    "wake": 0,
    "r": 4,
    **{
        name: UNSCORED
        for name in (
            "?",
            "",
            "unscored",
            "uns",
            "n/a",
            "nan",
            "none",
            "art",
            "artefact",
            "artifact",
            "movement",
        )
    },
}

#: The statistics compared between two scorings by default (minutes, SE and
#: SME as fractions).
AGREEMENT_STATISTICS = ("TST", "SE", "SOL", "WASO", "N1", "N2", "N3", "REM")

_EPOCH = Interval(Real, 0, None, closed="neither")


def _code_of(value):
    """The stage code of one label, or None if it is not a stage."""
    if value is None:
        return UNSCORED
    if isinstance(value, str | np.str_):
        return _NAME_CODES.get(value.strip().casefold())
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, Real):
        if np.isnan(value):
            return UNSCORED
        if not np.isfinite(value):
            return None
        if value != int(value):
            return None
        code = int(value)
        if code in (-1, -2):  # YASA: -1 artefact/movement, -2 unscored
            return UNSCORED
        return code if 0 <= code < len(STAGE_NAMES) else None
    return None


@validate_params({"hypnogram": ["array-like"]}, prefer_skip_nested_validation=True)
def as_codes(hypnogram, *, name="hypnogram"):
    """Check a hypnogram and return its stage codes.

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        Stage codes 0-4, stage names ("W", "N1", "N2", "N3", "REM"; also
        "Wake" and "R", any case), or the marks of an epoch without a stage:
        ``UNSCORED`` (-1), YASA's -2 (unscored), ``None``, NaN, "?",
        "unscored", "n/a", "artefact", "movement".
    name : str, default="hypnogram"
        The argument's name, for error messages.

    Returns
    -------
    codes : ndarray of shape (n_epochs,), dtype int8
        0-4 for the stages, :data:`UNSCORED` (-1) for the others.

    Raises
    ------
    ValueError
        If the hypnogram is empty, not 1-D, or holds a label that is not a
        stage (the message gives the first one and its epoch).

    Examples
    --------
    >>> from skdreamy.hypnogram import as_codes
    >>> as_codes(["W", "N1", "n2", None, "REM", -2]).tolist()
    [0, 1, 2, -1, 4, -1]
    """
    values = np.asarray(hypnogram, dtype=object)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of stages (one per epoch), "
            f"got shape {values.shape}."
        )
    codes = np.empty(values.size, dtype=np.int8)
    lookup = {}
    for i, value in enumerate(values.tolist()):
        key = (type(value), value) if value == value else (type(value), "nan")
        try:
            code = lookup[key]
        except KeyError:
            code = lookup[key] = _code_of(value)
        if code is None:
            raise ValueError(
                f"{name} holds an unknown stage {value!r} at epoch {i}; expected "
                f"codes 0-4 or names {list(STAGE_NAMES)}, or {UNSCORED} / None "
                "for an epoch without a stage."
            )
        codes[i] = code
    return codes


def _runs(codes):
    """Start, length and code of each run of equal codes."""
    change = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(codes)]]))
    return starts, lengths, codes[starts]


def _nan():
    return float("nan")


@validate_params(
    {"hypnogram": ["array-like"], "epoch_duration": [_EPOCH]},
    prefer_skip_nested_validation=True,
)
def sleep_statistics(hypnogram, *, epoch_duration=30.0):
    """AASM sleep statistics of one night.

    Durations are in minutes, ``SE`` and ``SME`` are fractions in [0, 1],
    ``%`` entries are percent of TST. Lights-off is the start of the
    hypnogram and lights-on its end. Unscored epochs (:data:`UNSCORED`) are
    part of TIB (and of SPT when between sleep epochs) but neither sleep nor
    wake.

    Definitions (AASM manual, Iber et al. 2007 / Berry et al. 2012, section
    IV "Sleep scoring data"; Silber et al. 2007):

    - ``TIB``, time in bed: lights-off to lights-on (the whole hypnogram;
      AASM "total recording time").
    - ``SPT``, sleep period time: first to last epoch of sleep, inclusive.
    - ``TST``, total sleep time: N1 + N2 + N3 + REM.
    - ``WASO``, wake after sleep onset: W inside SPT (0 without sleep).
    - ``SE``, sleep efficiency: TST / TIB (0 without sleep).
    - ``SME``, sleep maintenance efficiency: TST / SPT (NaN without sleep).
    - ``SOL``, sleep onset latency: lights-off to the first epoch of any
      sleep stage (NaN without sleep).
    - ``Lat_N1`` ... ``Lat_REM``: lights-off to the first epoch of that
      stage, as YASA reports them (NaN if the stage is absent).
    - ``Lat_N1_SO`` ... ``Lat_REM_SO``: the same from sleep onset
      (``Lat_X - SOL``); ``Lat_REM_SO`` is the AASM "REM latency".
    - ``W``, ``N1``, ``N2``, ``N3``, ``REM``: minutes of each stage in TIB;
      ``NREM`` = N1 + N2 + N3; ``Unscored``: minutes without a stage.
    - ``%N1`` ... ``%REM``, ``%NREM``: percent of TST (NaN without sleep).
    - ``N_awakenings``: bouts of W inside SPT (one epoch or more).
    - ``N_stage_shifts``: pairs of consecutive scored epochs of different
      stages (a pair with an unscored epoch is no shift).
    - ``Bout_mean_X``, ``Bout_max_X``: mean and longest bout of stage X in
      minutes, a bout being a run of consecutive epochs of X (NaN if absent).

    Where YASA (:func:`yasa.sleep_statistics`) reports the same quantity the
    numbers agree, except for two conventions: YASA gives ``SE`` and ``SME``
    in percent (here fractions, so that 0-1 is the range of every
    efficiency), and ``WASO`` is NaN there for a night without sleep (0 here:
    no sleep period, so no wake in it).

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        Stages of consecutive epochs from lights-off; see :func:`as_codes`.
    epoch_duration : float, default=30.0
        Epoch length in seconds.

    Returns
    -------
    statistics : dict
        The entries above, as Python floats (counts as ints).

    Raises
    ------
    ValueError
        If the hypnogram is empty or holds an unknown stage.

    See Also
    --------
    expected_statistics : The same from per-epoch probabilities.
    transition_matrix : Stage-to-stage transitions.

    Examples
    --------
    >>> from skdreamy.hypnogram import sleep_statistics
    >>> night = ["W", "W", "N1", "N2", "N2", "W", "N2", "N3", "REM", "W"]
    >>> stats = sleep_statistics(night)
    >>> stats["TIB"], stats["SPT"], stats["TST"], stats["WASO"], stats["SOL"]
    (5.0, 3.5, 3.0, 0.5, 1.0)
    >>> stats["SE"], round(stats["SME"], 3), stats["Lat_REM_SO"]
    (0.6, 0.857, 3.0)
    >>> sleep_statistics(["W", "W"])["TST"], sleep_statistics(["W", "W"])["SOL"]
    (0.0, nan)
    """
    codes = as_codes(hypnogram)
    minutes = float(epoch_duration) / 60.0
    n = len(codes)
    sleep = np.isin(codes, _SLEEP)
    sleep_idx = np.flatnonzero(sleep)
    has_sleep = sleep_idx.size > 0
    stats = {"TIB": n * minutes}
    if has_sleep:
        first, last = sleep_idx[0], sleep_idx[-1]
        period = codes[first : last + 1]
        stats["SPT"] = (last - first + 1) * minutes
        stats["TST"] = sleep_idx.size * minutes
        stats["WASO"] = np.count_nonzero(period == 0) * minutes
    else:
        period = codes[:0]
        stats.update(SPT=0.0, TST=0.0, WASO=0.0)
    stats["SE"] = stats["TST"] / stats["TIB"]
    stats["SME"] = stats["TST"] / stats["SPT"] if has_sleep else _nan()
    stats["SOL"] = sleep_idx[0] * minutes if has_sleep else _nan()
    for code, name in enumerate(STAGE_NAMES):
        stats[name] = np.count_nonzero(codes == code) * minutes
    stats["NREM"] = stats["N1"] + stats["N2"] + stats["N3"]
    stats["Unscored"] = np.count_nonzero(codes == UNSCORED) * minutes
    for code, name in enumerate(STAGE_NAMES[1:], start=1):
        where = np.flatnonzero(codes == code)
        stats[f"Lat_{name}"] = where[0] * minutes if where.size else _nan()
    for name in STAGE_NAMES[1:]:
        stats[f"Lat_{name}_SO"] = stats[f"Lat_{name}"] - stats["SOL"]
    for name in (*STAGE_NAMES[1:], "NREM"):
        stats[f"%{name}"] = (
            100.0 * stats[name] / stats["TST"] if stats["TST"] > 0 else _nan()
        )
    starts, lengths, run_codes = _runs(codes)
    if has_sleep:
        inside = (starts > sleep_idx[0]) & (starts < sleep_idx[-1])
        stats["N_awakenings"] = int(np.count_nonzero(inside & (run_codes == 0)))
    else:
        stats["N_awakenings"] = 0
    scored_pairs = (codes[:-1] != UNSCORED) & (codes[1:] != UNSCORED)
    stats["N_stage_shifts"] = int(
        np.count_nonzero(scored_pairs & (codes[:-1] != codes[1:]))
    )
    for code, name in enumerate(STAGE_NAMES):
        bouts = lengths[run_codes == code] * minutes
        stats[f"Bout_mean_{name}"] = float(bouts.mean()) if bouts.size else _nan()
        stats[f"Bout_max_{name}"] = float(bouts.max()) if bouts.size else _nan()
    return {
        key: value if isinstance(value, int) else float(value)
        for key, value in stats.items()
    }


@validate_params(
    {"hypnogram": ["array-like"], "normalize": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def transition_matrix(hypnogram, *, normalize=False):
    """Stage-to-stage transitions between consecutive epochs.

    Counts every pair of consecutive scored epochs (staying in a stage
    included), as :func:`yasa.transition_matrix` does; pairs with an
    unscored epoch are skipped.

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        See :func:`as_codes`.
    normalize : bool, default=False
        Return probabilities (each row divided by its sum: the probability
        of the next stage given the current one; NaN rows for stages never
        followed by a scored epoch) instead of counts.

    Returns
    -------
    matrix : ndarray of shape (5, 5)
        Row: stage of epoch ``i`` (W, N1, N2, N3, REM); column: stage of
        epoch ``i + 1``.

    Examples
    --------
    >>> from skdreamy.hypnogram import transition_matrix
    >>> transition_matrix([0, 0, 1, 2, 2, -1, 2, 4])[:3].tolist()
    [[1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 0, 1]]
    >>> transition_matrix([0, 0, 1, 2], normalize=True)[0].tolist()
    [0.5, 0.5, 0.0, 0.0, 0.0]
    """
    codes = as_codes(hypnogram)
    n = len(STAGE_NAMES)
    now, then = codes[:-1], codes[1:]
    keep = (now != UNSCORED) & (then != UNSCORED)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (now[keep], then[keep]), 1)
    if not normalize:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)


def _check_proba(proba, classes, *, tolerance=1e-3):
    """Five-column probabilities (W..REM) and a mask of scored rows."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[0] == 0:
        raise ValueError(
            "proba must be a non-empty 2-D array (n_epochs, n_classes), got "
            f"shape {proba.shape}."
        )
    if classes is None:
        if proba.shape[1] != len(STAGE_NAMES):
            raise ValueError(
                f"proba has {proba.shape[1]} columns; pass classes (e.g. "
                "estimator.classes_) unless they are the five stages W..REM."
            )
        classes = np.arange(len(STAGE_NAMES))
    columns = as_codes(classes, name="classes")
    if len(columns) != proba.shape[1] or np.any(columns == UNSCORED):
        raise ValueError(
            f"classes must name the {proba.shape[1]} columns of proba with "
            f"distinct stages, got {list(np.asarray(classes).tolist())}."
        )
    if len(set(columns.tolist())) != len(columns):
        raise ValueError(f"classes name a stage twice: {list(classes)}.")
    missing = np.isnan(proba)
    unscored = missing.all(axis=1)
    partial = np.flatnonzero(missing.any(axis=1) & ~unscored)
    if partial.size:
        raise ValueError(
            f"proba row {partial[0]} is partly NaN; a row is either all NaN "
            "(an epoch without a stage) or probabilities."
        )
    rows = proba[~unscored]
    if not np.all(np.isfinite(rows)) or (rows.size and rows.min() < -tolerance):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    sums = rows.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > tolerance)
    if bad.size:
        row = np.flatnonzero(~unscored)[bad[0]]
        raise ValueError(
            f"proba rows must sum to 1, but row {row} sums to {sums[bad[0]]:.6g} "
            f"({bad.size} such rows)."
        )
    full = np.zeros((len(proba), len(STAGE_NAMES)))
    full[:, columns] = np.where(unscored[:, None], 0.0, proba)
    return full, ~unscored


def _first_expected(p_event, minutes):
    """Expected epochs-to-first-event (in minutes), given that it happens.

    With independent epochs, P(first event after k epochs or later) is the
    product of (1 - p) over the first k epochs.
    """
    q = 1.0 - p_event
    none_before = np.concatenate([[1.0], np.cumprod(q)])  # k = 0 .. n
    never = none_before[-1]
    if never >= 1.0 - 1e-12:
        return _nan()
    return float(minutes * np.sum(none_before[1:-1] - never) / (1.0 - never))


@validate_params(
    {
        "proba": ["array-like"],
        "classes": ["array-like", None],
        "epoch_duration": [_EPOCH],
    },
    prefer_skip_nested_validation=True,
)
def expected_statistics(proba, *, classes=None, epoch_duration=30.0):
    """Sleep statistics as expected values from per-epoch probabilities.

    A hypnodensity says more than its most likely stages: an epoch scored N2
    with probability 0.55 contributes 0.55 epochs of N2 here, not 1. The
    linear statistics are exact expectations whatever the dependence between
    epochs: minutes of each stage (sum of probabilities times the epoch
    length), ``TST``, ``NREM``, ``SE``. The others assume epochs independent
    given their probabilities: ``SPT``, ``WASO`` and the latencies ``SOL``,
    ``Lat_N1`` ... ``Lat_REM`` (each given that the stage occurs; NaN if it
    cannot). ``SME`` and the ``%`` entries are ratios of expectations. The
    definitions are those of :func:`sleep_statistics`; with one-hot
    probabilities the values are the same.

    Parameters
    ----------
    proba : array-like of shape (n_epochs, n_classes)
        Probabilities of consecutive epochs from lights-off, rows summing to
        1 (within 1e-3); an all-NaN row is an epoch without a stage (as
        ``stage(..., invalid="mark")`` returns it).
    classes : array-like of shape (n_classes,), default=None
        Stage of each column (codes or names), e.g. ``estimator.classes_``;
        ``None`` means the five stages W, N1, N2, N3, REM. Stages without a
        column have probability 0.
    epoch_duration : float, default=30.0
        Epoch length in seconds.

    Returns
    -------
    statistics : dict
        ``TIB``, ``SPT``, ``TST``, ``WASO``, ``SE``, ``SME``, ``SOL``,
        ``W``, ``N1``, ``N2``, ``N3``, ``REM``, ``NREM``, ``Unscored``,
        ``Lat_N1`` ... ``Lat_REM``, ``%N1`` ... ``%NREM`` (floats).

    Raises
    ------
    ValueError
        If a row is partly NaN, negative or does not sum to 1, or the
        columns do not match ``classes``.

    Examples
    --------
    >>> from skdreamy.hypnogram import expected_statistics
    >>> proba = [[1.0, 0, 0, 0, 0], [0.5, 0, 0.5, 0, 0], [0, 0, 1.0, 0, 0]]
    >>> stats = expected_statistics(proba)
    >>> stats["TST"], stats["N2"], stats["SE"], stats["SOL"]
    (0.75, 0.75, 0.5, 0.75)
    """
    p, scored = _check_proba(proba, classes)
    minutes = float(epoch_duration) / 60.0
    n = len(p)
    sleep = p[:, 1:].sum(axis=1)
    wake = p[:, 0]
    q = 1.0 - sleep
    stats = {"TIB": n * minutes}
    none_upto = np.cumprod(q)  # no sleep in epochs 0..i
    none_from = np.cumprod(q[::-1])[::-1]  # no sleep in epochs i..n-1
    never = none_upto[-1]
    in_period = 1.0 - none_upto - none_from + never
    stats["SPT"] = float(minutes * np.sum(np.clip(in_period, 0.0, 1.0)))
    stats["TST"] = float(minutes * sleep.sum())
    before = np.concatenate([[1.0], none_upto[:-1]])  # none in 0..i-1
    after = np.concatenate([none_from[1:], [1.0]])  # none in i+1..n-1
    stats["WASO"] = float(minutes * np.sum(wake * (1 - before) * (1 - after)))
    stats["SE"] = stats["TST"] / stats["TIB"]
    stats["SME"] = stats["TST"] / stats["SPT"] if stats["SPT"] > 0 else _nan()
    stats["SOL"] = _first_expected(sleep, minutes)
    for code, name in enumerate(STAGE_NAMES):
        stats[name] = float(minutes * p[:, code].sum())
    stats["NREM"] = stats["N1"] + stats["N2"] + stats["N3"]
    stats["Unscored"] = float(minutes * np.count_nonzero(~scored))
    for code, name in enumerate(STAGE_NAMES[1:], start=1):
        stats[f"Lat_{name}"] = _first_expected(p[:, code], minutes)
    for name in (*STAGE_NAMES[1:], "NREM"):
        stats[f"%{name}"] = (
            100.0 * stats[name] / stats["TST"] if stats["TST"] > 0 else _nan()
        )
    return stats


@validate_params(
    {
        "proba": ["array-like"],
        "classes": ["array-like", None],
        "threshold": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def confidence_summary(proba, *, classes=None, threshold=0.5):
    """How sure the model was of a night: its per-epoch top probabilities.

    Parameters
    ----------
    proba : array-like of shape (n_epochs, n_classes)
        As for :func:`expected_statistics` (all-NaN rows: epochs without a
        stage, left out here).
    classes : array-like of shape (n_classes,), default=None
        Stage of each column; ``None`` means W, N1, N2, N3, REM.
    threshold : float, default=0.5
        An epoch whose top probability is below it counts as uncertain.

    Returns
    -------
    summary : dict
        ``n_epochs`` (staged epochs), ``n_unscored``, ``mean_max_proba``,
        ``median_max_proba``, ``threshold`` and ``fraction_below``
        (fraction of staged epochs below ``threshold``).

    Examples
    --------
    >>> from skdreamy.hypnogram import confidence_summary
    >>> summary = confidence_summary([[0.9, 0.1, 0, 0, 0], [0.4, 0.3, 0.3, 0, 0]])
    >>> summary["mean_max_proba"], summary["fraction_below"]
    (0.65, 0.5)
    """
    p, scored = _check_proba(proba, classes)
    top = p[scored].max(axis=1)
    has = top.size > 0
    return {
        "n_epochs": int(scored.sum()),
        "n_unscored": int((~scored).sum()),
        "mean_max_proba": float(top.mean()) if has else _nan(),
        "median_max_proba": float(np.median(top)) if has else _nan(),
        "threshold": float(threshold),
        "fraction_below": float(np.mean(top < threshold)) if has else _nan(),
    }


@validate_params(
    {
        "hypnogram": ["array-like"],
        "onsets": ["array-like"],
        "epoch_duration": [_EPOCH],
        "proba": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def fill_gaps(hypnogram, onsets, *, epoch_duration=30.0, proba=None):
    """Back-to-back epochs from epochs with onsets: gaps become unscored.

    Loaders drop epochs the expert did not score (and
    :func:`~skdreamy.datasets.read_night` returns each epoch's onset); the
    statistics need the night without holes, so each missing epoch is put
    back as :data:`UNSCORED` (and an all-NaN row of ``proba``).

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        See :func:`as_codes`.
    onsets : array-like of shape (n_epochs,)
        Start of each epoch in seconds, increasing, on a grid of
        ``epoch_duration`` from the first one. NaN onsets (unknown) mean
        back-to-back epochs.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    proba : array-like of shape (n_epochs, n_classes), default=None
        Probabilities to fill the same way.

    Returns
    -------
    night : :class:`~sklearn.utils.Bunch`
        ``hypnogram`` (int8 codes), ``onsets`` (seconds, back to back),
        ``proba`` (or None), ``start`` (onset of the first epoch) and
        ``index`` (where each input epoch went).

    Raises
    ------
    ValueError
        If the lengths differ, or the onsets are not increasing or not on
        the epoch grid.

    Examples
    --------
    >>> from skdreamy.hypnogram import fill_gaps
    >>> night = fill_gaps([0, 2, 2], [30.0, 60.0, 120.0])
    >>> night.hypnogram.tolist(), night.start
    ([0, 2, -1, 2], 30.0)
    """
    codes = as_codes(hypnogram)
    onsets = np.asarray(onsets, dtype=float)
    if onsets.shape != codes.shape:
        raise ValueError(
            f"onsets must hold one start time per epoch, {len(codes)}, got "
            f"shape {onsets.shape}."
        )
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.ndim != 2 or len(proba) != len(codes):
            raise ValueError(
                f"proba must have one row per epoch ({len(codes)}), got shape "
                f"{proba.shape}."
            )
    if np.isnan(onsets).any():
        index = np.arange(len(codes))
        start = 0.0
    else:
        start = float(onsets[0])
        position = (onsets - start) / epoch_duration
        index = np.round(position).astype(np.int64)
        if np.any(np.abs(position - index) > 1e-3) or np.any(np.diff(index) <= 0):
            raise ValueError(
                "onsets must increase on a grid of epoch_duration "
                f"({epoch_duration:g} s) from the first epoch."
            )
    n = int(index[-1]) + 1
    filled = np.full(n, UNSCORED, dtype=np.int8)
    filled[index] = codes
    out_proba = None
    if proba is not None:
        out_proba = np.full((n, proba.shape[1]), np.nan)
        out_proba[index] = proba
    return Bunch(
        hypnogram=filled,
        onsets=start + epoch_duration * np.arange(n),
        proba=out_proba,
        start=start,
        index=index,
    )


def _split_nights(y, nights, onsets, epoch_duration, name):
    """One back-to-back hypnogram per night id, in order of appearance."""
    if nights is None:
        ids = np.zeros(len(y), dtype=np.int64)
    else:
        ids = np.asarray(nights)
        if ids.shape != (len(y),):
            raise ValueError(
                f"nights must name the night of each of the {len(y)} epochs, "
                f"got shape {ids.shape}."
            )
    order = list(dict.fromkeys(ids.tolist()))
    out = {}
    for night in order:
        mask = ids == night
        codes = as_codes(np.asarray(y, dtype=object)[mask], name=name)
        if onsets is not None:
            codes = fill_gaps(
                codes, np.asarray(onsets, float)[mask], epoch_duration=epoch_duration
            ).hypnogram
        out[night] = codes
    return out


def _summary(diff, true, pred):
    keep = np.isfinite(diff)
    d = diff[keep]
    n = int(d.size)
    bias = float(d.mean()) if n else _nan()
    sd = float(d.std(ddof=1)) if n > 1 else _nan()
    return {
        "n_nights": n,
        "mean_true": float(true[keep].mean()) if n else _nan(),
        "mean_pred": float(pred[keep].mean()) if n else _nan(),
        "bias": bias,
        "sd": sd,
        "loa_lower": bias - 1.96 * sd,
        "loa_upper": bias + 1.96 * sd,
    }


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "nights": ["array-like", None],
        "onsets": ["array-like", None],
        "epoch_duration": [_EPOCH],
        "statistics": [list, tuple, None],
    },
    prefer_skip_nested_validation=True,
)
def statistics_agreement(
    y_true,
    y_pred,
    *,
    nights=None,
    onsets=None,
    epoch_duration=30.0,
    statistics=None,
):
    """Agreement of sleep statistics between two scorings of the same nights.

    For each night and statistic, the difference ``pred - true``; over the
    nights, the Bland-Altman summary (Bland & Altman, 1986, Lancet 327:307):
    bias (mean difference), SD of the differences (``ddof=1``) and 95 %
    limits of agreement, bias +/- 1.96 SD. A statistic undefined in a night
    (``SOL`` of a night without sleep) leaves that night out of its
    summary; ``n_nights`` says how many remained.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_epochs,)
        The two scorings (e.g. expert and predicted) of the same epochs; see
        :func:`as_codes`.
    nights : array-like of shape (n_epochs,), default=None
        Night of each epoch; within a night, epochs in time order. ``None``:
        one night.
    onsets : array-like of shape (n_epochs,), default=None
        Start of each epoch in seconds; gaps inside a night are filled with
        unscored epochs (:func:`fill_gaps`). ``None``: back to back.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    statistics : list of str, default=None
        Keys of :func:`sleep_statistics` to compare; ``None`` means
        :data:`AGREEMENT_STATISTICS` (TST, SE, SOL, WASO and the minutes of
        N1, N2, N3, REM).

    Returns
    -------
    agreement : :class:`~sklearn.utils.Bunch`
        - ``statistics``: list of the statistics compared;
        - ``nights``: list of night ids, in order of appearance;
        - ``true``, ``pred``, ``diff``: dict statistic -> ndarray of shape
          (n_nights,);
        - ``summary``: dict statistic -> dict with ``n_nights``,
          ``mean_true``, ``mean_pred``, ``bias``, ``sd``, ``loa_lower`` and
          ``loa_upper`` (NaN where undefined: SD with one night).

    Raises
    ------
    ValueError
        If the lengths differ, a stage is unknown or a statistic is not one
        of :func:`sleep_statistics`.

    Examples
    --------
    >>> from skdreamy.hypnogram import statistics_agreement
    >>> y_true = [0, 0, 2, 2, 4, 0, 0, 2, 2, 2]
    >>> y_pred = [0, 2, 2, 2, 4, 0, 0, 0, 2, 2]
    >>> agreement = statistics_agreement(y_true, y_pred, nights=[1] * 5 + [2] * 5)
    >>> agreement.diff["TST"].tolist(), agreement.summary["TST"]["bias"]
    ([0.5, -0.5], 0.0)
    """
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must score the same epochs, but y_true has "
            f"{len(y_true)} and y_pred {len(y_pred)}."
        )
    if onsets is not None and len(onsets) != len(y_true):
        raise ValueError(
            f"onsets must hold one start time per epoch ({len(y_true)}), got "
            f"{len(onsets)}."
        )
    true_nights = _split_nights(y_true, nights, onsets, epoch_duration, "y_true")
    pred_nights = _split_nights(y_pred, nights, onsets, epoch_duration, "y_pred")
    true_stats = [
        sleep_statistics(h, epoch_duration=epoch_duration) for h in true_nights.values()
    ]
    pred_stats = [
        sleep_statistics(h, epoch_duration=epoch_duration) for h in pred_nights.values()
    ]
    names = list(AGREEMENT_STATISTICS if statistics is None else statistics)
    unknown = [s for s in names if s not in true_stats[0]]
    if unknown or not names:
        raise ValueError(
            f"statistics must be keys of sleep_statistics, got {unknown or names}; "
            f"known: {sorted(true_stats[0])}."
        )
    true = {s: np.array([st[s] for st in true_stats], dtype=float) for s in names}
    pred = {s: np.array([st[s] for st in pred_stats], dtype=float) for s in names}
    diff = {s: pred[s] - true[s] for s in names}
    return Bunch(
        statistics=names,
        nights=list(true_nights),
        true=true,
        pred=pred,
        diff=diff,
        summary={s: _summary(diff[s], true[s], pred[s]) for s in names},
    )


#: Annotation text of each code, as Sleep-EDF writes its hypnograms.
ANNOTATION_TEXTS = {
    0: "Sleep stage W",
    1: "Sleep stage 1",
    2: "Sleep stage 2",
    3: "Sleep stage 3",
    4: "Sleep stage R",
    UNSCORED: "Sleep stage ?",
}


def _bouts(codes, merge):
    """(first epoch, n epochs, code) of each annotation to write."""
    if not merge:
        return [(i, 1, int(c)) for i, c in enumerate(codes.tolist())]
    starts, lengths, run_codes = _runs(codes)
    return list(zip(starts.tolist(), lengths.tolist(), run_codes.tolist(), strict=True))


@validate_params(
    {
        "hypnogram": ["array-like"],
        "epoch_duration": [_EPOCH],
        "start": [Real],
        "merge": ["boolean"],
        "orig_time": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def to_annotations(
    hypnogram, *, epoch_duration=30.0, start=0.0, merge=True, orig_time=None
):
    """The hypnogram as :class:`mne.Annotations`, for work in MNE.

    One annotation per bout of a stage (``merge=True``) or per epoch, with
    the texts Sleep-EDF uses (:data:`ANNOTATION_TEXTS`: "Sleep stage W",
    "Sleep stage 1" ... "Sleep stage R", "Sleep stage ?" for unscored
    epochs), which :func:`~skdreamy.datasets.read_night` and
    :func:`~skdreamy.datasets.read_hypnogram` read back.

    Parameters
    ----------
    hypnogram : array-like of shape (n_epochs,)
        See :func:`as_codes`.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    start : float, default=0.0
        Onset of the first epoch in seconds (from the recording's start).
    merge : bool, default=True
        One annotation per run of equal stages instead of one per epoch.
    orig_time : datetime or None, default=None
        Passed to :class:`mne.Annotations` (the recording's start).

    Returns
    -------
    annotations : mne.Annotations

    Examples
    --------
    >>> from skdreamy.hypnogram import to_annotations
    >>> annotations = to_annotations(["W", "W", "N2", "REM"])
    >>> list(annotations.description), annotations.duration.tolist()
    (['Sleep stage W', 'Sleep stage 2', 'Sleep stage R'], [60.0, 30.0, 30.0])
    """
    import mne

    codes = as_codes(hypnogram)
    bouts = _bouts(codes, merge)
    return mne.Annotations(
        onset=[float(start) + first * epoch_duration for first, _, _ in bouts],
        duration=[count * float(epoch_duration) for _, count, _ in bouts],
        description=[ANNOTATION_TEXTS[code] for _, _, code in bouts],
        orig_time=orig_time,
    )


__all__ = [
    "AGREEMENT_STATISTICS",
    "ANNOTATION_TEXTS",
    "UNSCORED",
    "as_codes",
    "confidence_summary",
    "expected_statistics",
    "fill_gaps",
    "sleep_statistics",
    "statistics_agreement",
    "to_annotations",
    "transition_matrix",
]
