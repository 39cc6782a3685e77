"""One night of scored EEG: an EDF recording and its hypnogram, to 30-s epochs.

MNE reads the signal (:func:`mne.io.read_raw`) and the scoring
(:func:`mne.read_annotations`); this module only cuts the epochs the scoring
defines, maps their labels to stage codes and counts what it leaves out.
"""

import math
import os
import re
import warnings
from numbers import Real

import mne
import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from .._stages import STAGE_CODES, STAGE_NAMES
from ._checks import check_file

MOVEMENT = -1
"""Internal code of epochs scored as movement time (dropped and counted)."""
UNSCORED = -2
"""Internal code of unscored epochs (dropped and counted)."""

_DROP_CODES = {"movement": MOVEMENT, "unscored": UNSCORED}

# Annotation descriptions understood without a ``stage_mapping``, compared
# after ``str.strip().casefold()``: R&K as in Sleep-EDF, then AASM.
DEFAULT_STAGE_MAPPING = {
    "sleep stage w": 0,
    "sleep stage 1": 1,
    "sleep stage 2": 2,
    "sleep stage 3": 3,
    "sleep stage 4": 3,
    "sleep stage r": 4,
    "sleep stage ?": UNSCORED,
    "movement time": MOVEMENT,
    "sleep stage n1": 1,
    "sleep stage n2": 2,
    "sleep stage n3": 3,
    "sleep stage rem": 4,
    "w": 0,
    "wake": 0,
    "n1": 1,
    "n2": 2,
    "n3": 3,
    "r": 4,
    "rem": 4,
    "?": UNSCORED,
    "unscored": UNSCORED,
    "movement": MOVEMENT,
}

# Sleep-EDF file names: SC4ssN... (sleep cassette) and ST7ssN... (telemetry),
# ss = subject, N = night.
_PHYSIONET_NAME = re.compile(r"^S[CT][47](\d\d)(\d)")

# The warning MNE gives when the number of data records in an EDF/BDF header
# does not match the file size; it then reads what is there, which would hide
# a truncated file (but is right for a header that announces fewer records, or
# -1, "unknown": a recording that was not closed properly).
_RECORD_COUNT = "does not match the file size"


def physionet_ids(path):
    """Subject and night of a Sleep-EDF file name, or ``(None, None)``.

    Examples
    --------
    >>> from skdreamy.datasets._edf import physionet_ids
    >>> physionet_ids("SC4012E0-PSG.edf"), physionet_ids("night.edf")
    ((1, 2), (None, None))
    """
    match = _PHYSIONET_NAME.match(os.path.basename(path))
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2))


def _resolve_mapping(stage_mapping):
    """The default mapping updated with the user's, keys case-folded."""
    mapping = dict(DEFAULT_STAGE_MAPPING)
    for description, value in (stage_mapping or {}).items():
        if value is None:
            code = None
        elif isinstance(value, str) and value in STAGE_CODES:
            code = STAGE_CODES[value]
        elif isinstance(value, str) and value in _DROP_CODES:
            code = _DROP_CODES[value]
        elif (
            isinstance(value, int | np.integer)
            and not isinstance(value, bool)
            and 0 <= value < len(STAGE_NAMES)
        ):
            code = int(value)
        else:
            raise ValueError(
                f"stage_mapping[{description!r}] must be a stage code 0..4, a "
                f"stage name {list(STAGE_NAMES)}, 'movement', 'unscored' or "
                f"None (ignore the annotation); got {value!r}."
            )
        mapping[str(description).strip().casefold()] = code
    return mapping


def cut_epochs(onsets, durations, descriptions, *, mapping, epoch_duration, source):
    """Turn scoring annotations into one label per epoch.

    An annotation of duration ``k * epoch_duration`` scores ``k`` consecutive
    epochs from its onset; one of duration 0 scores one epoch. A stage
    annotation whose duration is not a whole number of epochs is an error
    (the scoring does not use this epoch length); a movement or unscored one
    is cut to its whole epochs.

    Parameters
    ----------
    onsets, durations : array-like of float
        In seconds, onsets from the start of the recording.
    descriptions : array-like of str
        Annotation texts, looked up in ``mapping`` after
        ``str.strip().casefold()``.
    mapping : dict
        Case-folded description to a stage code 0..4, ``MOVEMENT``,
        ``UNSCORED`` or None (the annotation is not a scoring; ignored).
    epoch_duration : float
        Seconds per epoch.
    source : str
        The file the annotations came from, for error messages.

    Returns
    -------
    starts : ndarray of float, sorted
        Start of each epoch in seconds.
    codes : ndarray of int64
        Stage code of each epoch, or ``MOVEMENT`` / ``UNSCORED``.
    """
    tolerance = 1e-3 * epoch_duration
    starts, codes, unknown = [], [], []
    for onset, duration, description in zip(
        onsets, durations, descriptions, strict=True
    ):
        key = str(description).strip().casefold()
        if key not in mapping:
            unknown.append(str(description))
            continue
        code = mapping[key]
        if code is None:
            continue
        ratio = duration / epoch_duration
        if duration <= tolerance:
            n_epochs = 1
        elif abs(ratio - round(ratio)) * epoch_duration <= tolerance:
            n_epochs = round(ratio)
        elif code >= 0:
            raise ValueError(
                f"{source}: the annotation {description!r} at {onset:g} s lasts "
                f"{duration:g} s, which is not a whole number of "
                f"{epoch_duration:g}-s epochs; was this night scored in "
                "epochs of another length (set epoch_duration)?"
            )
        else:
            n_epochs = math.floor(ratio)
        starts.extend(onset + epoch_duration * np.arange(n_epochs))
        codes.extend([code] * n_epochs)
    if unknown:
        raise ValueError(
            f"{source}: unknown annotation label(s) {sorted(set(unknown))}. "
            "Known labels (case-insensitive): "
            f"{sorted(k for k in mapping if mapping[k] is not None)}. Pass "
            "stage_mapping={label: stage code, stage name, 'movement', "
            "'unscored' or None to ignore it}."
        )
    starts = np.asarray(starts, dtype=float)
    codes = np.asarray(codes, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, codes = starts[order], codes[order]
    overlap = np.flatnonzero(np.diff(starts) < epoch_duration - tolerance)
    if overlap.size:
        i = overlap[0]
        raise ValueError(
            f"{source}: the scoring overlaps itself: epochs start at "
            f"{starts[i]:g} s and {starts[i + 1]:g} s, less than "
            f"{epoch_duration:g} s apart."
        )
    return starts, codes


def _read_signal(path, channel, verbose):
    """The one channel of ``path`` as a loaded :class:`mne.io.Raw`."""
    level = "info" if verbose else "warning"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(path, preload=False, verbose=level)
        except Exception as exc:
            raise ValueError(
                f"{path}: cannot read this file as a recording; it may be "
                f"corrupt or not in a format MNE reads ({type(exc).__name__}: "
                f"{exc})."
            ) from exc
    for warning in caught:
        if _RECORD_COUNT in str(warning.message):
            announced, found = _record_counts(path, raw)
            if announced is None:
                raise ValueError(
                    f"{path}: the file is truncated: it holds fewer data records "
                    f"than its header announces (MNE: {warning.message})."
                )
            if announced != -1 and announced > found:
                raise ValueError(
                    f"{path}: the file is truncated: it holds {found} complete "
                    f"data records, fewer than its header announces ({announced})."
                )
            warnings.warn(
                f"{path}: the header announces {announced} data records but the "
                f"file holds {found}; reading all {found} (was the recording not "
                "closed properly?).",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        warnings.warn(warning.message, warning.category, stacklevel=3)
    if channel not in raw.ch_names:
        raise ValueError(
            f"{path}: no channel {channel!r}; the channels are {raw.ch_names}."
        )
    raw.pick([channel])
    try:
        raw.load_data(verbose=level)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot read the data of channel {channel!r} "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return raw


def _record_counts(path, raw):
    """Data records an EDF/BDF header announces (None if unreadable), and read.

    The count and the duration of a record are fixed fields of the header
    (bytes 236-252); MNE reads as many complete records as the file holds.
    """
    with open(path, "rb") as file:
        head = file.read(256)
    try:
        announced, duration = int(head[236:244]), float(head[244:252])
    except ValueError:
        return None, None
    if not duration > 0:
        return None, None
    return announced, round(raw.n_times / float(raw.info["sfreq"]) / duration)


def _signal_uv(raw, sfreq, verbose):
    """The one channel of ``raw`` at ``sfreq`` (MNE's polyphase resampler), in uV."""
    if float(raw.info["sfreq"]) != sfreq:
        raw.resample(sfreq, method="polyphase", verbose="info" if verbose else False)
    return raw.get_data(picks=[0])[0] * 1e6  # MNE holds volts


def _epoch_samples(sfreq, epoch_duration):
    n_times = sfreq * epoch_duration
    if abs(n_times - round(n_times)) > 1e-6:
        raise ValueError(
            f"sfreq * epoch_duration must be a whole number of samples, got "
            f"{sfreq} * {epoch_duration} = {n_times}."
        )
    return round(n_times)


def _read_scoring(path, raw, *, in_psg):
    """Annotations of ``path`` (or of ``raw``) with onsets from the signal start.

    EDF annotations are read again from the file rather than taken from
    ``raw``, because MNE crops those that run past the signal.
    """
    if path is None:
        annotations, path = raw.annotations, raw.filenames[0]
    else:
        try:
            annotations = mne.read_annotations(path)
        except Exception as exc:
            raise ValueError(
                f"{path}: cannot read annotations (the scoring) from this file "
                f"({type(exc).__name__}: {exc})."
            ) from exc
    if len(annotations) == 0:
        raise ValueError(
            f"{path}: no annotations found, so no scoring; "
            + (
                "pass the hypnogram file as hypnogram_path."
                if in_psg
                else "is the file corrupt, or not a hypnogram?"
            )
        )
    onsets = np.asarray(annotations.onset, dtype=float)
    meas_date = raw.info["meas_date"]
    if annotations.orig_time is not None and meas_date is not None:
        # Onsets count from orig_time; the first sample is at meas_date +
        # first_time (MNE's convention).
        shift = (annotations.orig_time - meas_date).total_seconds()
        onsets = onsets + shift - raw.first_time
    return onsets, np.asarray(annotations.duration, float), annotations.description


@validate_params(
    {
        "psg_path": [str, os.PathLike],
        "hypnogram_path": [str, os.PathLike, None],
        "channel": [str],
        "sfreq": [Interval(Real, 0, None, closed="neither")],
        "epoch_duration": [Interval(Real, 0, None, closed="neither")],
        "trim_wake": [Interval(Real, 0, None, closed="left"), None],
        "stage_mapping": [dict, None],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def read_night(
    psg_path,
    hypnogram_path=None,
    *,
    channel="EEG Fpz-Cz",
    sfreq=100.0,
    epoch_duration=30.0,
    trim_wake=None,
    stage_mapping=None,
    verbose=False,
):
    """Read one scored night: a recording and its hypnogram, as labelled epochs.

    The signal of ``channel`` is read with :func:`mne.io.read_raw` (EDF, BDF,
    GDF or any format MNE reads), resampled to ``sfreq`` with MNE's polyphase
    resampler when the recording has another rate, and converted to
    microvolts. The scoring is read with :func:`mne.read_annotations`: each
    annotation of ``k * epoch_duration`` seconds scores ``k`` epochs from its
    onset (one of duration 0 scores one epoch), and each epoch is cut from
    the signal at its scored onset.

    Annotation labels understood by default (case-insensitive), R&K as in
    Sleep-EDF and AASM:

    - 0 (W): ``Sleep stage W``, ``W``, ``Wake``
    - 1 (N1): ``Sleep stage 1``, ``Sleep stage N1``, ``N1``
    - 2 (N2): ``Sleep stage 2``, ``Sleep stage N2``, ``N2``
    - 3 (N3): ``Sleep stage 3``, ``Sleep stage 4``, ``Sleep stage N3``, ``N3``
    - 4 (REM): ``Sleep stage R``, ``Sleep stage REM``, ``R``, ``REM``
    - dropped and counted as movement: ``Movement time``, ``Movement``
    - dropped and counted as unscored: ``Sleep stage ?``, ``?``, ``Unscored``

    Parameters
    ----------
    psg_path : str or path-like
        The recording (e.g. a Sleep-EDF ``*-PSG.edf``).
    hypnogram_path : str, path-like or None, default=None
        The file holding the scoring as annotations (e.g. a Sleep-EDF
        ``*-Hypnogram.edf``, or any file :func:`mne.read_annotations` reads).
        ``None`` uses the annotations stored in ``psg_path``. Onsets count
        from the start of the recording (or from the annotations' own
        ``orig_time`` when both files carry a date).
    channel : str, default="EEG Fpz-Cz"
        The EEG channel to read.
    sfreq : float, default=100.0
        Sampling rate of the returned epochs in Hz.
    epoch_duration : float, default=30.0
        Length of a scored epoch in seconds; ``sfreq * epoch_duration`` must
        be a whole number of samples.
    trim_wake : float or None, default=None
        Keep only the wake epochs within this many minutes before the first
        and after the last sleep epoch (N1-REM); the Sleep-EDF convention is
        30. ``None`` keeps all of them.
    stage_mapping : dict or None, default=None
        Extra or overriding labels: annotation text to a stage code 0..4, a
        stage name (``"W"``, ``"N1"``, ``"N2"``, ``"N3"``, ``"REM"``),
        ``"movement"`` or ``"unscored"`` (dropped and counted), or ``None``
        for annotations that are not a scoring (arousals, lights off...),
        which are ignored. Keys are compared case-insensitively.
    verbose : bool, default=False
        Let MNE log what it reads.

    Returns
    -------
    night : :class:`~sklearn.utils.Bunch`
        With the keys:

        - ``X``: ndarray of shape (n_epochs, round(sfreq * epoch_duration)),
          float32, EEG in microvolts.
        - ``y``: ndarray of shape (n_epochs,), int64, 0=W 1=N1 2=N2 3=N3 4=REM.
        - ``onsets``: ndarray of shape (n_epochs,), start of each epoch in
          seconds from the start of the recording.
        - ``channel``, ``sfreq``, ``orig_sfreq``: the channel read, the rate of
          ``X`` and the rate of the recording.
        - ``n_dropped``: dict, epochs left out by reason: ``"movement"``,
          ``"unscored"``, ``"trimmed_wake"`` and ``"beyond_signal"`` (scored
          or movement epochs not entirely inside the signal; unscored ones
          there are not counted).
        - ``subject``, ``night``: from a Sleep-EDF file name (``SC4ssN...``),
          else None.
        - ``psg_path``, ``hypnogram_path``: the files read (absolute paths;
          ``hypnogram_path`` is None when the scoring came from the PSG).

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file is corrupt or truncated, ``channel`` is not in the
        recording (the message lists the channels), an annotation label is
        unknown, a stage annotation is not a whole number of epochs, the
        scoring overlaps itself, the scored part of the hypnogram extends
        more than one epoch beyond the signal (the two files are probably not
        of the same night; up to one epoch is dropped and counted as
        ``"beyond_signal"``), or no scored epoch is left.

    See Also
    --------
    load_sleep_edf : Several Sleep-EDF nights at once.

    Examples
    --------
    A 3-minute recording with its scoring inside, written with MNE:

    >>> import numpy as np, mne, tempfile, pathlib
    >>> from skdreamy.datasets import read_night
    >>> info = mne.create_info(["EEG Fpz-Cz"], 100.0, ch_types="eeg")
    >>> eeg = 20e-6 * np.random.default_rng(0).standard_normal((1, 18000))
    >>> raw = mne.io.RawArray(eeg, info, verbose=False)
    >>> raw.set_annotations(mne.Annotations(
    ...     onset=[0, 60, 120, 150],
    ...     duration=[60, 60, 30, 30],
    ...     description=["Sleep stage W", "Sleep stage 2", "Movement time",
    ...                  "Sleep stage R"]))  # doctest: +ELLIPSIS
    <RawArray ...>
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "night.edf"
    >>> mne.export.export_raw(path, raw, verbose=False)
    >>> night = read_night(path)
    >>> night.X.shape, night.X.dtype
    ((5, 3000), dtype('float32'))
    >>> night.y.tolist(), night.onsets.tolist()
    ([0, 0, 2, 2, 4], [0.0, 30.0, 60.0, 90.0, 150.0])
    >>> night.n_dropped
    {'movement': 1, 'unscored': 0, 'trimmed_wake': 0, 'beyond_signal': 0}
    """
    psg_path = check_file(psg_path, what="PSG file")
    if hypnogram_path is not None:
        hypnogram_path = check_file(hypnogram_path, what="hypnogram file")
    n_times = _epoch_samples(sfreq, epoch_duration)
    mapping = _resolve_mapping(stage_mapping)

    raw = _read_signal(psg_path, channel, verbose)
    orig_sfreq = float(raw.info["sfreq"])
    scoring_path = hypnogram_path
    if scoring_path is None and psg_path.suffix.lower() in {".edf", ".bdf", ".gdf"}:
        scoring_path = psg_path
    onsets, durations, descriptions = _read_scoring(
        scoring_path, raw, in_psg=hypnogram_path is None
    )
    source = scoring_path or psg_path
    starts, codes = cut_epochs(
        onsets,
        durations,
        descriptions,
        mapping=mapping,
        epoch_duration=epoch_duration,
        source=source,
    )
    signal = _signal_uv(raw, sfreq, verbose)
    signal_duration = signal.size / sfreq

    scored = codes != UNSCORED
    if scored.any():
        first, last = starts[scored].min(), starts[scored].max() + epoch_duration
        if first < -epoch_duration or last > signal_duration + epoch_duration:
            raise ValueError(
                f"{source}: the hypnogram scores from {first:g} s to {last:g} s, "
                f"but the signal of {psg_path.name} lasts {signal_duration:g} s "
                "(more than one epoch apart); are they of the same night?"
            )
    first_sample = np.round(starts * sfreq).astype(np.int64)
    inside = (first_sample >= 0) & (first_sample + n_times <= signal.size)
    n_dropped = {
        "movement": int(np.sum(inside & (codes == MOVEMENT))),
        "unscored": int(np.sum(inside & (codes == UNSCORED))),
        "trimmed_wake": 0,
        "beyond_signal": int(np.sum(~inside & scored)),
    }
    keep = inside & (codes >= 0)
    if trim_wake is not None:
        asleep = keep & (codes > 0)
        if not asleep.any():
            raise ValueError(
                f"{source}: no sleep epoch (N1-REM) to trim wake around; pass "
                "trim_wake=None to keep the wake epochs."
            )
        margin = 60.0 * trim_wake + 1e-3 * epoch_duration  # float round-off
        window = (starts >= starts[asleep].min() - margin) & (
            starts <= starts[asleep].max() + margin
        )
        n_dropped["trimmed_wake"] = int(np.sum(keep & ~window))
        keep &= window
    if not keep.any():
        raise ValueError(
            f"{source}: no scored epoch (W, N1, N2, N3, REM) left in this night; "
            f"dropped: {n_dropped}."
        )
    index = first_sample[keep, None] + np.arange(n_times)
    subject, night = physionet_ids(psg_path)
    return Bunch(
        X=signal[index].astype(np.float32),
        y=codes[keep],
        onsets=starts[keep],
        channel=channel,
        sfreq=float(sfreq),
        orig_sfreq=orig_sfreq,
        n_dropped=n_dropped,
        subject=subject,
        night=night,
        psg_path=psg_path,
        hypnogram_path=hypnogram_path,
    )


@validate_params(
    {
        "psg_path": [str, os.PathLike],
        "channel": [str],
        "sfreq": [Interval(Real, 0, None, closed="neither")],
        "epoch_duration": [Interval(Real, 0, None, closed="neither")],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def read_recording(
    psg_path, *, channel="EEG Fpz-Cz", sfreq=100.0, epoch_duration=30.0, verbose=False
):
    """Read an unscored recording as consecutive epochs from its start.

    For staging a night nobody has scored: the signal of ``channel`` is read,
    resampled and converted to microvolts as in :func:`read_night`, then cut
    into back-to-back epochs from the first sample; an incomplete last epoch
    is left out.

    Parameters
    ----------
    psg_path : str or path-like
        The recording (EDF, BDF, GDF or any format :func:`mne.io.read_raw`
        reads).
    channel : str, default="EEG Fpz-Cz"
        The EEG channel to read.
    sfreq : float, default=100.0
        Sampling rate of the returned epochs in Hz.
    epoch_duration : float, default=30.0
        Epoch length in seconds.
    verbose : bool, default=False
        Let MNE log what it reads.

    Returns
    -------
    recording : :class:`~sklearn.utils.Bunch`
        ``X`` (n_epochs, round(sfreq * epoch_duration)) float32 in microvolts,
        ``onsets`` (seconds from the start), ``channel``, ``sfreq``,
        ``orig_sfreq``, ``psg_path``, ``subject``, ``night`` and
        ``n_dropped`` (``{"incomplete_tail": 0 or 1}``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is corrupt or truncated, ``channel`` is not in it, or the
        signal is shorter than one epoch.

    See Also
    --------
    read_night : A recording with its scoring.

    Examples
    --------
    >>> import numpy as np, mne, tempfile, pathlib
    >>> from skdreamy.datasets import read_recording
    >>> info = mne.create_info(["EEG Fpz-Cz"], 200.0, ch_types="eeg")
    >>> eeg = 20e-6 * np.random.default_rng(0).standard_normal((1, 200 * 100))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "night.edf"
    >>> mne.export.export_raw(path, mne.io.RawArray(eeg, info, verbose=False),
    ...                       verbose=False)
    >>> rec = read_recording(path)
    >>> rec.X.shape, rec.onsets.tolist(), rec.n_dropped
    ((3, 3000), [0.0, 30.0, 60.0], {'incomplete_tail': 1})
    """
    psg_path = check_file(psg_path, what="recording")
    n_times = _epoch_samples(sfreq, epoch_duration)
    raw = _read_signal(psg_path, channel, verbose)
    orig_sfreq = float(raw.info["sfreq"])
    signal = _signal_uv(raw, sfreq, verbose)
    n_epochs = signal.size // n_times
    if n_epochs == 0:
        raise ValueError(
            f"{psg_path}: the signal lasts {signal.size / sfreq:g} s, shorter than "
            f"one epoch of {epoch_duration:g} s."
        )
    subject, night = physionet_ids(psg_path)
    return Bunch(
        X=signal[: n_epochs * n_times].reshape(n_epochs, n_times).astype(np.float32),
        onsets=np.arange(n_epochs) * float(epoch_duration),
        channel=channel,
        sfreq=float(sfreq),
        orig_sfreq=orig_sfreq,
        psg_path=psg_path,
        subject=subject,
        night=night,
        n_dropped={"incomplete_tail": int(signal.size % n_times > 0)},
    )
