"""A hypnogram on its own: skdreamy's exports and plain text files, read back."""

import csv
import os
from numbers import Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._stages import STAGE_NAMES
from ..hypnogram import UNSCORED, as_codes
from ._checks import check_file
from ._edf import _resolve_mapping, cut_epochs

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".edf": "edf",
    ".bdf": "edf",
    ".gdf": "edf",
}


def _code(token, *, source, where):
    """The stage code of one text token, or an error naming its place."""
    text = token.strip()
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        return int(as_codes([value])[0])
    except ValueError:
        raise ValueError(
            f"{source}, {where}: unknown stage {text!r}; expected codes 0-4 "
            f"(-1 or -2 unscored) or names {list(STAGE_NAMES)} ('?' unscored)."
        ) from None


def _read_text(path, epoch_duration):
    codes = []
    with open(path, encoding="utf-8-sig") as file:
        lines = file.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        if not line.strip():
            raise ValueError(
                f"{path}, line {number}: empty line inside the hypnogram; write "
                "'?' (or -1) for an epoch without a stage."
            )
        codes.append(_code(line, source=path, where=f"line {number}"))
    if not codes:
        raise ValueError(f"{path}: no stage in this file (one stage per line).")
    return Bunch(
        y=np.asarray(codes, dtype=np.int8),
        onsets=epoch_duration * np.arange(len(codes)),
        proba=None,
        classes=None,
    )


def _table(path, delimiter):
    with open(path, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file, delimiter=delimiter))
    if not rows:
        raise ValueError(f"{path}: the file is empty.")
    return rows[0], rows[1:]


def _number(text, *, source, where, column):
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{source}, {where}: {column} must be a number, got {text!r}."
        ) from None


def _probabilities(header, rows, path, first_line):
    columns = [j for j, name in enumerate(header) if name.startswith("p_")]
    if not columns:
        return None, None
    proba = np.full((len(rows), len(columns)), np.nan)
    for i, row in enumerate(rows):
        for k, j in enumerate(columns):
            text = row[j].strip()
            if text not in ("", "n/a"):
                proba[i, k] = _number(
                    text, source=path, where=f"line {i + first_line}", column=header[j]
                )
    return proba, np.array([header[j][2:] for j in columns])


def _read_csv(path):
    header, rows = _table(path, ",")
    missing = {"onset_s", "stage"} - set(header)
    if missing:
        raise ValueError(
            f"{path}: not a skdreamy hypnogram CSV; it lacks the column(s) "
            f"{sorted(missing)} (it has {header})."
        )
    rows = [row for row in rows if row]
    if not rows:
        raise ValueError(f"{path}: no epoch in this file.")
    onset_col, stage_col = header.index("onset_s"), header.index("stage")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {i + 2}: {len(row)} fields, expected {len(header)}."
            )
    codes = [
        _code(row[stage_col], source=path, where=f"line {i + 2}")
        for i, row in enumerate(rows)
    ]
    onsets = [
        _number(row[onset_col], source=path, where=f"line {i + 2}", column="onset_s")
        for i, row in enumerate(rows)
    ]
    proba, classes = _probabilities(header, rows, path, 2)
    return Bunch(
        y=np.asarray(codes, dtype=np.int8),
        onsets=np.asarray(onsets),
        proba=proba,
        classes=classes,
    )


def _annotation_mapping():
    mapping = _resolve_mapping(None)
    mapping.update({"n/a": -2, "": -2, "unscored": -2, "uns": -2})
    return mapping


def _expanded(onsets, durations, texts, path, epoch_duration):
    starts, codes = cut_epochs(
        np.asarray(onsets, dtype=float),
        np.asarray(durations, dtype=float),
        list(texts),
        mapping=_annotation_mapping(),
        epoch_duration=epoch_duration,
        source=path,
    )
    if not len(codes):
        raise ValueError(f"{path}: no sleep stage annotation in this file.")
    return starts, np.where(codes < 0, UNSCORED, codes).astype(np.int8)


def _read_tsv(path, epoch_duration):
    header, rows = _table(path, "\t")
    missing = {"onset", "duration", "trial_type"} - set(header)
    if missing:
        raise ValueError(
            f"{path}: not a BIDS events file of sleep stages; it lacks the "
            f"column(s) {sorted(missing)} (it has {header})."
        )
    rows = [row for row in rows if row]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {i + 2}: {len(row)} fields, expected {len(header)}."
            )
    cols = {name: header.index(name) for name in ("onset", "duration", "trial_type")}
    onsets = [
        _number(r[cols["onset"]], source=path, where=f"line {i + 2}", column="onset")
        for i, r in enumerate(rows)
    ]
    durations = [
        _number(
            r[cols["duration"]], source=path, where=f"line {i + 2}", column="duration"
        )
        for i, r in enumerate(rows)
    ]
    for i, row in enumerate(rows):  # name the line of an unknown stage
        _code(row[cols["trial_type"]], source=path, where=f"line {i + 2}")
    starts, codes = _expanded(
        onsets, durations, [r[cols["trial_type"]] for r in rows], path, epoch_duration
    )
    proba, classes = None, None
    if len(starts) == len(rows):  # one row per epoch: probabilities line up
        proba, classes = _probabilities(header, rows, path, 2)
        if proba is not None:
            proba = proba[np.argsort(onsets, kind="stable")]
    return Bunch(y=codes, onsets=starts, proba=proba, classes=classes)


def _read_annotations(path, epoch_duration):
    import mne

    try:
        annotations = mne.read_annotations(path)
    except Exception as exc:  # MNE raises many types for a file it cannot read
        raise ValueError(
            f"{path}: cannot read annotations from this file "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    starts, codes = _expanded(
        annotations.onset,
        annotations.duration,
        annotations.description,
        path,
        epoch_duration,
    )
    return Bunch(y=codes, onsets=starts, proba=None, classes=None)


@validate_params(
    {
        "path": [str, os.PathLike],
        "format": [StrOptions({"csv", "tsv", "edf", "txt"}), None],
        "epoch_duration": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def read_hypnogram(path, *, format=None, epoch_duration=30.0):
    """Read a hypnogram: skdreamy's exports or a plain text file.

    Formats (chosen by ``format``, else by the file's suffix):

    - ``"csv"`` (``.csv``): the per-epoch CSV of ``skdreamy predict``
      (:func:`skdreamy.report.write_hypnogram_csv`): ``onset_s``, ``stage``
      and ``p_<stage>`` columns; an empty stage is an epoch without one.
    - ``"tsv"`` (``.tsv``): a BIDS-style events file
      (:func:`skdreamy.report.write_events_tsv`): ``onset``, ``duration``,
      ``trial_type``; an event of ``k`` epochs stands for ``k`` epochs.
    - ``"edf"`` (``.edf``, ``.bdf``, ``.gdf``): annotations read by
      :func:`mne.read_annotations`, e.g. from
      :func:`skdreamy.report.write_edf_annotations` or a Sleep-EDF
      ``*-Hypnogram.edf``; labels as in
      :func:`~skdreamy.datasets.read_night`.
    - ``"txt"`` (any other suffix): one stage per line, as YASA and many labs
      write them: codes (0-4, -1/-2 unscored; ``2.0`` too) or names (W, N1,
      N2, N3, REM or R, ``?`` unscored); lines starting with ``#`` are
      comments. Epochs are back to back from 0.

    Unscored, artefact and movement epochs are read as
    :data:`skdreamy.hypnogram.UNSCORED` (-1).

    Parameters
    ----------
    path : str or path-like
        The file.
    format : {"csv", "tsv", "edf", "txt"} or None, default=None
        The format; ``None`` guesses it from the suffix.
    epoch_duration : float, default=30.0
        Epoch length in seconds (for the text format's onsets and to cut
        annotations into epochs).

    Returns
    -------
    hypnogram : :class:`~sklearn.utils.Bunch`
        - ``y``: int8 ndarray of shape (n_epochs,), stage codes (-1 for
          epochs without a stage);
        - ``onsets``: start of each epoch in seconds;
        - ``proba``: (n_epochs, n_classes) probabilities or None;
        - ``classes``: stage names of the ``proba`` columns or None;
        - ``format``, ``path``, ``epoch_duration``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If a stage is unknown (the message names the line) or the file is
        not of the format.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdreamy.datasets import read_hypnogram
    >>> path = Path(tempfile.mkdtemp()) / "hypno.txt"
    >>> _ = path.write_text("W\\nN1\\nN2\\n?\\nREM\\n")
    >>> read_hypnogram(path).y.tolist()
    [0, 1, 2, -1, 4]
    >>> _ = path.write_text("W\\nN5\\n")
    >>> read_hypnogram(path)
    Traceback (most recent call last):
    ...
    ValueError: ...hypno.txt, line 2: unknown stage 'N5'; expected codes 0-4 ...
    """
    path = check_file(path, what="hypnogram file")
    if format is None:
        format = _SUFFIX_FORMATS.get(path.suffix.lower(), "txt")
    if format == "csv":
        result = _read_csv(path)
    elif format == "tsv":
        result = _read_tsv(path, float(epoch_duration))
    elif format == "edf":
        result = _read_annotations(path, float(epoch_duration))
    else:
        result = _read_text(path, float(epoch_duration))
    result.update(format=format, path=path, epoch_duration=float(epoch_duration))
    return result
