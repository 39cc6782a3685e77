"""Data for examples and tutorials: the nights in ``SKDREAMY_DATA``.

Like MNE's data sets, the folder is given explicitly or named by an
environment variable; the library never guesses where a checkout keeps it.
"""

import os
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._nights import load_nights
from ._schema import nights_bunch
from ._synthetic import make_sleep_epochs

DREAMS_CREDIT = (
    "Data: DREAMS Spindles Database, University of MONS - TCTS Laboratory "
    "(Stéphanie Devuyst, Thierry Dutoit) and Université Libre de Bruxelles - "
    "CHU de Charleroi Sleep Laboratory (Myriam Kerkhofs); CC BY-NC-ND 3.0, "
    "non-commercial use."
)

ENV_VAR = "SKDREAMY_DATA"
"""The environment variable naming the folder of example nights."""

_HOW_TO_GET_DATA = (
    "Set the environment variable SKDREAMY_DATA to a folder of .npz nights "
    "(the format of skdreamy.datasets.load_nights), or pass path=. To get real "
    "scored nights, skdreamy.datasets.load_sleep_edf downloads Sleep-EDF from "
    "PhysioNet; fallback='synthetic' uses simulated epochs instead, which "
    "measure nothing."
)


@validate_params(
    {"path": [str, os.PathLike, None]},
    prefer_skip_nested_validation=True,
)
def find_nights(path=None):
    """The folder of example nights: ``path``, else ``$SKDREAMY_DATA``.

    The first of ``path`` and the folder named by the environment variable
    ``SKDREAMY_DATA`` that holds at least one ``*.npz`` file; the files are
    not read (:func:`load_nights` checks them). No other place is searched.

    Parameters
    ----------
    path : str, path-like or None, default=None
        Checked first.

    Returns
    -------
    folder : pathlib.Path or None
        The folder found, ``~`` expanded; ``None`` if neither holds a
        ``.npz`` file.

    See Also
    --------
    load_example_nights : Reads the folder found.

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
    for folder in (path, os.environ.get(ENV_VAR)):
        if folder and any(Path(folder).expanduser().glob("*.npz")):
            return Path(folder).expanduser()
    return None


@validate_params(
    {
        "path": [str, os.PathLike, None],
        "fallback": [StrOptions({"raise", "synthetic"})],
        "n_synthetic": [Interval(Integral, 1, None, closed="left")],
        "n_subjects": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def load_example_nights(
    path=None, *, fallback="raise", n_synthetic=900, n_subjects=6, random_state=0
):
    """Scored nights for examples and tutorials, from ``path`` or ``$SKDREAMY_DATA``.

    Reads the ``.npz`` nights of the folder :func:`find_nights` finds (``path``,
    else the folder named by the environment variable ``SKDREAMY_DATA``) with
    :func:`load_nights`. Without such a folder it raises an error that says
    how to get data, or, with ``fallback="synthetic"``, returns
    ``n_synthetic`` epochs of ``n_subjects`` simulated subjects from
    :func:`make_sleep_epochs`. ``description`` says which, with the
    attribution the DREAMS licence requires, or a warning that synthetic
    scores measure nothing.

    Parameters
    ----------
    path : str, path-like or None, default=None
        A folder of ``.npz`` nights, preferred to ``$SKDREAMY_DATA``.
    fallback : {"raise", "synthetic"}, default="raise"
        What to do when no folder of nights is found.
    n_synthetic : int, default=900
        Epochs to generate with ``fallback="synthetic"``.
    n_subjects : int, default=6
        Simulated subjects (one night each) with ``fallback="synthetic"``.
    random_state : int, RandomState instance or None, default=0
        Seed of the synthetic epochs.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The keys every loader returns (see :ref:`loader-schema`):
        ``X``, ``y``, ``groups``, ``nights``, ``onsets``, ``subjects``,
        ``files``, ``channels``, ``orig_fs`` and, when the files hold it,
        ``label_agreement``; plus ``synthetic`` (bool), ``path`` (the folder
        read, or None) and ``description`` (str).

    Raises
    ------
    FileNotFoundError
        If no folder of nights is found and ``fallback="raise"``; the message
        says how to get data.
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
    >>> load_example_nights(tempfile.mkdtemp(), fallback="synthetic").synthetic
    True
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
        data.update(synthetic=False, path=folder, description=text)
        return data
    if fallback == "raise":
        where = [f"path={str(path)!r}"] if path is not None else []
        where.append(f"{ENV_VAR}={os.environ.get(ENV_VAR)!r}")
        raise FileNotFoundError(
            f"no folder of .npz nights found ({', '.join(where)}). " + _HOW_TO_GET_DATA
        )
    X, y, groups = make_sleep_epochs(
        n_synthetic,
        n_subjects=n_subjects,
        return_groups=True,
        random_state=random_state,
    )
    nights = [np.flatnonzero(groups == g) for g in range(n_subjects)]
    nights = [rows for rows in nights if len(rows)]
    return nights_bunch(
        [X[rows] for rows in nights],
        y=[y[rows] for rows in nights],
        subjects=[f"synthetic{groups[rows[0]]}" for rows in nights],
        onsets=[30.0 * np.arange(len(rows)) for rows in nights],
        files=[None] * len(nights),
        channels=["synthetic"] * len(nights),
        synthetic=True,
        path=None,
        description=(
            f"No real data found: using {n_synthetic} SYNTHETIC epochs of "
            f"{n_subjects} simulated subjects (make_sleep_epochs). Scores on them "
            "only show that the code runs; they are no measure of accuracy."
        ),
    )
