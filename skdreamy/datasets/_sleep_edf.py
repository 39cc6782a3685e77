"""Sleep-EDF Expanded, sleep-cassette study: several scored nights at once.

Files come from MNE's PhysioNet fetcher or from a local folder laid out as
PhysioNet's: ``SC4ssN?0-PSG.edf`` and ``SC4ssN??-Hypnogram.edf``, where ``ss``
is the subject (00-82) and ``N`` the night (1 or 2).
"""

import os
import re
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._edf import read_night
from ._schema import nights_bunch

N_SUBJECTS = 83
"""Sleep-cassette subjects are numbered 0..82 (a few are missing)."""

_CASSETTE_FILE = re.compile(r"SC4(\d\d)(\d)\w\w-(PSG|Hypnogram)\.edf")


def _ids(values, name, allowed):
    ids = np.atleast_1d(np.asarray(values))
    if (
        ids.ndim != 1
        or ids.size == 0
        or ids.dtype.kind not in "iu"
        or not np.isin(ids, allowed).all()
    ):
        raise ValueError(
            f"{name} must be integers in {min(allowed)}..{max(allowed)}, got "
            f"{values!r}."
        )
    return list(dict.fromkeys(int(i) for i in ids))  # unique, in given order


def _report_missing(message, on_missing):
    if on_missing == "raise":
        raise FileNotFoundError(message)
    if on_missing == "warn":
        warnings.warn(message, UserWarning, stacklevel=3)


def _local_files(path, subjects, recordings, on_missing):
    """(PSG, hypnogram) pairs found under ``path`` (searched recursively)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"Sleep-EDF folder {str(folder)!r} does not exist.")
    found = {"PSG": {}, "Hypnogram": {}}
    for file in sorted(folder.rglob("SC4*.edf")):
        match = _CASSETTE_FILE.fullmatch(file.name)
        if match:
            key = (int(match.group(1)), int(match.group(2)))
            found[match.group(3)].setdefault(key, []).append(file.resolve())
    pairs, missing = [], []
    for key in ((s, r) for s in subjects for r in recordings):
        psg, hypnogram = found["PSG"].get(key, []), found["Hypnogram"].get(key, [])
        for files in (psg, hypnogram):
            if len(files) > 1:
                raise ValueError(
                    f"several files for subject {key[0]}, night {key[1]} in "
                    f"{str(folder)!r}: {[str(f) for f in files]}."
                )
        if psg and hypnogram:
            pairs.append((psg[0], hypnogram[0]))
        else:
            lacks = " and ".join(
                kind
                for kind, files in (("PSG", psg), ("hypnogram", hypnogram))
                if not files
            )
            missing.append(f"subject {key[0]} night {key[1]} (no {lacks} file)")
    if missing:
        _report_missing(
            f"Sleep-EDF files not found under {str(folder)!r}: "
            f"{'; '.join(missing)}. Expected names like SC4{subjects[0]:02d}"
            f"{recordings[0]}E0-PSG.edf and SC4{subjects[0]:02d}{recordings[0]}"
            "EC-Hypnogram.edf.",
            on_missing,
        )
    return pairs


def _fetched_files(subjects, recordings, on_missing, verbose):
    """(PSG, hypnogram) pairs from MNE's fetcher (downloads what is missing)."""
    from mne.datasets.sleep_physionet import age

    try:
        pairs = age.fetch_data(
            subjects,
            recording=recordings,
            on_missing=on_missing,
            verbose="info" if verbose else "warning",
        )
    except OSError as exc:  # connection errors of requests/urllib are OSErrors
        raise OSError(
            f"could not get Sleep-EDF subjects {subjects}, nights {recordings} "
            f"from PhysioNet ({type(exc).__name__}: {exc}). Without internet "
            "access, copy the sleep-cassette files (SC4ssN?0-PSG.edf and "
            "SC4ssN??-Hypnogram.edf) into a folder and pass path=<that folder>."
        ) from exc
    return [(Path(psg), Path(hypnogram)) for psg, hypnogram in pairs]


@validate_params(
    {
        "subjects": [Integral, "array-like"],
        "recordings": [Integral, "array-like"],
        "path": [str, os.PathLike, None],
        "channel": [str],
        "sfreq": [Interval(Real, 0, None, closed="neither")],
        "trim_wake": [Interval(Real, 0, None, closed="left"), None],
        "stage_mapping": [dict, None],
        "on_missing": [StrOptions({"raise", "warn", "ignore"})],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_sleep_edf(
    subjects=(0,),
    recordings=(1,),
    *,
    path=None,
    channel="EEG Fpz-Cz",
    sfreq=100.0,
    trim_wake=30,
    stage_mapping=None,
    on_missing="raise",
    verbose=False,
):
    """Load scored nights of the Sleep-EDF Expanded sleep-cassette study.

    Each night is read with :func:`read_night` (30-s epochs of one channel in
    microvolts, R&K stages mapped to 0=W 1=N1 2=N2 3=N3 4=REM with S3 and S4
    merged, movement and unscored epochs dropped) and the nights are
    concatenated.

    Parameters
    ----------
    subjects : int or array-like of int, default=(0,)
        Subjects 0..82 (39, 68, 69, 78 and 79 do not exist).
    recordings : int or array-like of int, default=(1,)
        Nights 1 and/or 2 (night 1 of subjects 36 and 52 and night 2 of
        subject 13 do not exist).
    path : str, path-like or None, default=None
        A folder holding the PhysioNet files (``SC4ssN?0-PSG.edf`` and
        ``SC4ssN??-Hypnogram.edf``, in it or in its subfolders). ``None``
        uses :func:`mne.datasets.sleep_physionet.age.fetch_data`, which
        reuses MNE's local copy (``PHYSIONET_SLEEP_PATH`` or ``~/mne_data``)
        and downloads what is missing from PhysioNet.
    channel : str, default="EEG Fpz-Cz"
        The EEG channel ("EEG Fpz-Cz" or "EEG Pz-Oz" in Sleep-EDF).
    sfreq : float, default=100.0
        Sampling rate of the returned epochs (Sleep-EDF EEG is at 100 Hz).
    trim_wake : float or None, default=30
        Minutes of wake kept before the first and after the last sleep epoch
        of each night (the usual Sleep-EDF convention); ``None`` keeps all.
    stage_mapping : dict or None, default=None
        Extra annotation labels, see :func:`read_night`.
    on_missing : {"raise", "warn", "ignore"}, default="raise"
        What to do when a requested night is not available.
    verbose : bool, default=False
        Let MNE log what it reads and downloads.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The keys every loader returns (see :ref:`loader-schema`):
        ``X`` (n_epochs, round(30 * sfreq)) float32 µV, ``y``, ``groups``
        (index into ``subjects``), ``nights`` (index into ``files``),
        ``onsets`` (seconds from the start of each recording), ``subjects``
        (the Sleep-EDF subject numbers as strings, ``"0"`` ... ``"82"``),
        ``files`` (the PSG files), ``channels`` and ``orig_fs``; and:

        - ``records``: list of Bunch, one per night, with ``subject`` (int),
          ``night`` (1 or 2), ``psg_path``, ``hypnogram_path``, ``n_epochs``
          and ``n_dropped`` (see :func:`read_night`).
        - ``sfreq``: the sampling rate of ``X``.

    Raises
    ------
    FileNotFoundError
        If ``path`` lacks a requested night (with ``on_missing="raise"``) or
        no night at all is found.
    OSError
        If ``path=None`` and the files cannot be downloaded (e.g. offline);
        the message says to pass ``path=``.
    ValueError
        If a file cannot be read; see :func:`read_night`.

    Examples
    --------
    A folder laid out as PhysioNet's, with one 4-minute night of subject 0
    (written here with edfio):

    >>> import datetime, tempfile, pathlib
    >>> import edfio, numpy as np
    >>> from skdreamy.datasets import load_sleep_edf
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> eeg = 30 * np.random.default_rng(0).standard_normal(24000)
    >>> edfio.Edf([edfio.EdfSignal(eeg, 100, label="EEG Fpz-Cz",
    ...                            physical_dimension="uV")]
    ...           ).write(folder / "SC4001E0-PSG.edf")
    >>> scoring = [edfio.EdfAnnotation(0, 90, "Sleep stage W"),
    ...            edfio.EdfAnnotation(90, 60, "Sleep stage 3"),
    ...            edfio.EdfAnnotation(150, 30, "Sleep stage 4"),
    ...            edfio.EdfAnnotation(180, 60, "Sleep stage ?")]
    >>> edfio.Edf([], annotations=scoring).write(folder / "SC4001EC-Hypnogram.edf")
    >>> data = load_sleep_edf(subjects=[0], recordings=[1], path=folder)
    >>> data.X.shape, data.y.tolist(), data.groups.tolist(), data.subjects.tolist()
    ((6, 3000), [0, 0, 0, 3, 3, 3], [0, 0, 0, 0, 0, 0], ['0'])
    >>> data.records[0].n_dropped
    {'movement': 0, 'unscored': 2, 'trimmed_wake': 0, 'beyond_signal': 0}
    """
    subjects = _ids(subjects, "subjects", range(N_SUBJECTS))
    recordings = _ids(recordings, "recordings", (1, 2))
    if path is None:
        pairs = _fetched_files(subjects, recordings, on_missing, verbose)
    else:
        pairs = _local_files(path, subjects, recordings, on_missing)
    if not pairs:
        raise FileNotFoundError(
            f"no Sleep-EDF night found for subjects {subjects}, nights {recordings}."
        )
    nights, records = [], []
    for psg, hypnogram in pairs:
        night = read_night(
            psg,
            hypnogram,
            channel=channel,
            sfreq=sfreq,
            trim_wake=trim_wake,
            stage_mapping=stage_mapping,
            verbose=verbose,
        )
        nights.append(night)
        records.append(
            Bunch(
                subject=night.subject,
                night=night.night,
                psg_path=night.psg_path,
                hypnogram_path=night.hypnogram_path,
                n_epochs=len(night.y),
                n_dropped=night.n_dropped,
            )
        )
    return nights_bunch(
        [night.X for night in nights],
        y=[night.y for night in nights],
        subjects=[str(night.subject) for night in nights],
        onsets=[night.onsets for night in nights],
        files=[night.psg_path for night in nights],
        channels=[night.channel for night in nights],
        orig_fs=[night.orig_sfreq for night in nights],
        records=records,
        sfreq=float(sfreq),
    )
