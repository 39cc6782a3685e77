"""Data for examples and benchmarks: real nights when present, else synthetic."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._nights import load_nights
from ._synthetic import make_sleep_epochs

DREAMS_CREDIT = (
    "Data: DREAMS Spindles Database, University of MONS - TCTS Laboratory "
    "(Stéphanie Devuyst, Thierry Dutoit) and Université Libre de Bruxelles - "
    "CHU de Charleroi Sleep Laboratory (Myriam Kerkhofs); CC BY-NC-ND 3.0, "
    "non-commercial use."
)

_SEARCHED = (Path("../shared/data"), Path("../../shared/data"))


def find_nights(path=None):
    """Find the first folder that holds ``.npz`` nights.

    The candidates, in order: ``path``, the folder named by the environment
    variable ``SKDREAMY_DATA``, then ``../shared/data`` and
    ``../../shared/data`` relative to the current working directory. A
    candidate counts when it holds at least one ``*.npz`` file; the files are
    not read (:func:`load_nights` checks them).

    Parameters
    ----------
    path : str, path-like or None, default=None
        Checked first.

    Returns
    -------
    folder : pathlib.Path or None
        The folder found, ``~`` expanded; ``None`` if no candidate holds a
        ``.npz`` file.

    See Also
    --------
    load_example_nights : Reads the folder found, or makes synthetic epochs.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from skdreamy.datasets import find_nights, make_sleep_epochs
    >>> folder = Path(tempfile.mkdtemp())
    >>> x, y = make_sleep_epochs(4, random_state=0)
    >>> np.savez(folder / "night.npz", x=x, y=y, subject="s1", channel="C3-A1")
    >>> find_nights(folder) == folder
    True
    """
    candidates = [path, os.environ.get("SKDREAMY_DATA"), *_SEARCHED]
    for folder in candidates:
        if folder and any(Path(folder).expanduser().glob("*.npz")):
            return Path(folder).expanduser()
    return None


def load_example_nights(path=None, *, n_synthetic=900, n_subjects=6, random_state=0):
    """Real scored nights when available, synthetic epochs otherwise.

    For examples, tutorials and benchmarks: the nights of the first folder
    found by :func:`find_nights` (read with :func:`load_nights`), or, when
    there is none, ``n_synthetic`` epochs of ``n_subjects`` simulated subjects
    from :func:`make_sleep_epochs`. ``description`` says which, with the
    attribution the DREAMS licence requires, or a warning that synthetic
    scores measure nothing.

    Parameters
    ----------
    path : str, path-like or None, default=None
        A folder of ``.npz`` nights to prefer.
    n_synthetic : int, default=900
        Epochs to generate when no real data is found.
    n_subjects : int, default=6
        Simulated subjects (one night each) for the synthetic fallback.
    random_state : int, default=0
        Seed of the synthetic fallback.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X``, ``y``, ``groups``, ``nights``, ``subjects``, ``onsets`` as in
        :func:`load_nights`, plus ``synthetic`` (bool), ``path`` (the folder
        read, or None) and ``description`` (str).

    Raises
    ------
    ValueError
        If a ``.npz`` file of the folder found is malformed (as
        :func:`load_nights`; the message names the file).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skdreamy.datasets import load_example_nights, make_sleep_epochs
    >>> folder = tempfile.mkdtemp()
    >>> x, y = make_sleep_epochs(4, random_state=0)
    >>> np.savez(f"{folder}/night.npz", x=x, y=y, subject="s1", channel="C3-A1")
    >>> data = load_example_nights(folder)
    >>> data.X.shape, data.synthetic
    ((4, 3000), False)
    """
    folder = find_nights(path)
    if folder is not None:
        data = load_nights(folder)
        text = (
            f"Real EEG: {len(data.y)} epochs of {len(data.subjects)} subjects "
            f"from {folder}."
        )
        if any(str(s).startswith("dreams") for s in data.subjects):
            text += " " + DREAMS_CREDIT
        return Bunch(
            X=data.X,
            y=data.y,
            groups=data.groups,
            nights=data.nights,
            subjects=data.subjects,
            onsets=data.onsets,
            synthetic=False,
            path=folder,
            description=text,
        )
    X, y, groups = make_sleep_epochs(
        n_synthetic,
        n_subjects=n_subjects,
        return_groups=True,
        random_state=random_state,
    )
    onsets = np.zeros(len(y))
    for g in range(n_subjects):
        onsets[groups == g] = 30.0 * np.arange(np.sum(groups == g))
    return Bunch(
        X=X,
        y=y,
        groups=groups,
        nights=groups.copy(),
        subjects=np.array([f"synthetic{g}" for g in range(n_subjects)]),
        onsets=onsets,
        synthetic=True,
        path=None,
        description=(
            f"No real data found: using {n_synthetic} SYNTHETIC epochs of "
            f"{n_subjects} simulated subjects (make_sleep_epochs). Scores on them "
            "only show that the code runs; they are no measure of accuracy."
        ),
    )
