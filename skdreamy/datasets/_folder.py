"""Every night in a folder, whatever its format: what the command line reads."""

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._edf import read_night
from ._nights import load_nights

_HYPNOGRAM = re.compile(r"hypnogram", re.IGNORECASE)
_PSG_SUFFIX = re.compile(r"[-_.]?psg$", re.IGNORECASE)
_EDF_SUFFIXES = {".edf", ".bdf", ".gdf"}


def _pair_key(path):
    """Key shared by a recording and its hypnogram file.

    Sleep-EDF names share their first six characters (``SC4001E0-PSG.edf``,
    ``SC4001EC-Hypnogram.edf``); other names share their stem once ``-PSG`` or
    ``-Hypnogram`` is removed (``night1.edf``, ``night1-hypnogram.edf``).
    """
    stem = Path(path).stem
    if re.match(r"S[CT]\d{4}", stem):
        return stem[:6].upper()
    stem = _HYPNOGRAM.sub("", stem).rstrip("-_. ")
    return _PSG_SUFFIX.sub("", stem).casefold()


def edf_pairs(folder):
    """(recording, hypnogram) pairs of the EDF files directly in ``folder``.

    Parameters
    ----------
    folder : str or path-like
        A folder of recordings and hypnogram files (names containing
        "hypnogram").

    Returns
    -------
    pairs : list of tuple of pathlib.Path
        Sorted by recording name.

    Raises
    ------
    ValueError
        If a recording has no hypnogram or several, or a hypnogram has no
        recording.
    """
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in _EDF_SUFFIXES
    )
    hypnograms, recordings = {}, []
    for file in files:
        if _HYPNOGRAM.search(file.name):
            hypnograms.setdefault(_pair_key(file), []).append(file)
        else:
            recordings.append(file)
    pairs, problems = [], []
    for recording in recordings:
        matches = hypnograms.pop(_pair_key(recording), [])
        if len(matches) == 1:
            pairs.append((recording, matches[0]))
        else:
            problems.append(
                f"{recording.name}: {len(matches)} hypnogram files"
                + (f" ({', '.join(m.name for m in matches)})" if matches else "")
            )
    problems += [f"{h.name}: no recording" for hs in hypnograms.values() for h in hs]
    if problems:
        raise ValueError(
            f"{folder}: cannot pair every recording with one hypnogram: "
            f"{'; '.join(problems)}. Name them like NAME.edf and "
            "NAME-Hypnogram.edf (or Sleep-EDF's SC4ssNxx-PSG.edf and "
            "SC4ssNxx-Hypnogram.edf)."
        )
    return pairs


def load_folder(path, *, channel="EEG Fpz-Cz", trim_wake=None):
    """Load every scored night in a folder: ``.npz`` nights or EDF + hypnogram.

    A folder holding ``.npz`` files is read by :func:`load_nights`; otherwise
    its EDF (or BDF/GDF) recordings are paired with their hypnogram files by
    name (see :func:`edf_pairs`) and read by :func:`read_night`. Each
    recording counts as its own subject unless its Sleep-EDF name says
    otherwise.

    Parameters
    ----------
    path : str or path-like
        The folder, or one ``.npz`` night.
    channel : str, default="EEG Fpz-Cz"
        EEG channel of EDF recordings (``.npz`` nights hold one channel).
    trim_wake : float or None, default=None
        Minutes of wake kept around sleep in EDF nights (see
        :func:`read_night`).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X`` (n_epochs, 3000) float32 microvolts, ``y``, ``groups`` (subject
        index per epoch), ``subjects`` (names), ``nights`` (index into
        ``files``), ``onsets`` and ``files``; EDF folders add ``n_dropped``,
        per night the epochs left out by reason (see :func:`read_night`).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or holds no night.
    ValueError
        If a file is malformed (the message names it) or recordings and
        hypnograms cannot be paired.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skdreamy.datasets import load_folder, make_sleep_epochs
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> x, y = make_sleep_epochs(6, random_state=0)
    >>> np.savez(folder / "n1.npz", x=x, y=y, subject="s1", channel="C3-A1")
    >>> load_folder(folder).X.shape
    (6, 3000)
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder.")
    if path.is_file() or any(path.glob("*.npz")):
        data = load_nights(path)
        return Bunch(
            X=data.X,
            y=data.y,
            groups=data.groups,
            subjects=data.subjects,
            nights=data.nights,
            onsets=data.onsets,
            files=data.files,
        )
    pairs = edf_pairs(path)
    if not pairs:
        raise FileNotFoundError(
            f"{path}: no nights found (neither .npz files nor EDF recordings "
            "with hypnograms)."
        )
    nights = [
        read_night(psg, hyp, channel=channel, trim_wake=trim_wake) for psg, hyp in pairs
    ]
    names = [
        str(n.subject) if n.subject is not None else Path(n.psg_path).stem
        for n in nights
    ]
    subjects, subject_index = np.unique(names, return_inverse=True)
    sizes = [len(n.y) for n in nights]
    return Bunch(
        X=np.concatenate([n.X for n in nights]),
        y=np.concatenate([n.y for n in nights]),
        groups=np.repeat(subject_index, sizes).astype(np.int64),
        subjects=subjects,
        nights=np.repeat(np.arange(len(nights)), sizes).astype(np.int64),
        onsets=np.concatenate([n.onsets for n in nights]),
        files=[psg for psg, _ in pairs],
        n_dropped=[n.n_dropped for n in nights],
    )
