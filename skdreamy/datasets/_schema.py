"""The one Bunch every loader of scored nights returns.

:func:`load_nights`, :func:`load_folder`, :func:`load_sleep_edf` and
:func:`load_example_nights` read different sources but return the same keys
with the same meanings, built here by :func:`nights_bunch`.
"""

import numpy as np
from sklearn.utils import Bunch

SCHEMA_KEYS = (
    "X",
    "y",
    "groups",
    "nights",
    "onsets",
    "subjects",
    "files",
    "channels",
    "orig_fs",
)
"""Keys of every loader's Bunch (``label_agreement`` is optional)."""


def nights_bunch(
    X,
    *,
    y,
    subjects,
    onsets,
    files,
    channels,
    orig_fs=None,
    label_agreement=None,
    **extra,
):
    """Assemble scored nights into the Bunch every loader returns.

    The schema, one row per epoch or one entry per night:

    - ``X``: ndarray of shape (n_epochs, n_times), float32, EEG in
      microvolts (n_times = 3000: 30 s at 100 Hz, unless a loader was asked
      for another rate).
    - ``y``: ndarray of shape (n_epochs,), int64 stage codes 0=W 1=N1 2=N2
      3=N3 4=REM.
    - ``groups``: ndarray of shape (n_epochs,), int64, the subject of each
      epoch as an index into ``subjects`` (for group-wise cross-validation).
    - ``nights``: ndarray of shape (n_epochs,), int64, the night of each
      epoch as an index into ``files``, ``channels`` and ``orig_fs``.
    - ``onsets``: ndarray of shape (n_epochs,), float64, start of each epoch
      in seconds from the start of its recording (NaN when the source does
      not say).
    - ``subjects``: ndarray of str, the distinct subject names, sorted.
    - ``files``: list of :class:`~pathlib.Path`, one per night (the
      recording read; ``None`` for generated nights).
    - ``channels``: ndarray of str, one per night, the EEG channel.
    - ``orig_fs``: ndarray of float64, one per night, the sampling rate of
      the source recording in Hz (NaN when unknown).
    - ``label_agreement`` (optional; present when at least one night has
      it): ndarray of shape (n_epochs,), float32 in [0, 1], how much of the
      epoch its label covers (NaN for nights without it).

    Loaders may add keys of their own after these (documented with each).

    Parameters
    ----------
    X : list of ndarray or ndarray
        The epochs of each night, or all epochs already stacked (e.g. a
        memory map).
    y, onsets : list of ndarray
        Per night: stage codes and onsets (seconds, NaN when unknown).
    subjects : list of str
        Per night: the subject name.
    files : list of pathlib.Path or None
        Per night: the file read.
    channels : list of str
        Per night: the channel.
    orig_fs : list of float or None, default=None
        Per night: the source's sampling rate (``None``: all unknown).
    label_agreement : list of (ndarray or None) or None, default=None
        Per night: label agreement of each epoch, ``None`` for nights
        without; the key is left out when no night has it.
    **extra : dict
        Loader-specific keys, added as given.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.datasets._schema import nights_bunch
    >>> data = nights_bunch(
    ...     [np.zeros((2, 3000)), np.zeros((3, 3000))],
    ...     y=[np.array([0, 2]), np.array([2, 2, 4])],
    ...     subjects=["ben", "anna"],
    ...     onsets=[np.array([0.0, 30.0]), np.full(3, np.nan)],
    ...     files=[None, None],
    ...     channels=["C3-A1", "C3-A1"],
    ... )
    >>> data.subjects.tolist(), data.groups.tolist(), data.nights.tolist()
    (['anna', 'ben'], [1, 1, 0, 0, 0], [0, 0, 1, 1, 1])
    >>> sorted(data)
    ['X', 'channels', 'files', 'groups', 'nights', 'onsets', 'orig_fs', 'subjects', 'y']
    """
    sizes = [len(labels) for labels in y]
    n_nights = len(sizes)
    names, night_subject = np.unique(
        np.asarray(subjects, dtype=str), return_inverse=True
    )
    if not isinstance(X, np.ndarray):
        X = np.concatenate(X)
    data = Bunch(
        X=X if X.dtype == np.float32 else X.astype(np.float32),
        y=np.concatenate(y).astype(np.int64, copy=False),
        groups=np.repeat(night_subject, sizes).astype(np.int64),
        nights=np.repeat(np.arange(n_nights), sizes).astype(np.int64),
        onsets=np.concatenate(onsets).astype(np.float64, copy=False),
        subjects=names,
        files=list(files),
        channels=np.asarray(channels, dtype=str),
        orig_fs=np.full(n_nights, np.nan)
        if orig_fs is None
        else np.asarray(orig_fs, dtype=np.float64),
    )
    if label_agreement is not None and any(a is not None for a in label_agreement):
        data.label_agreement = np.concatenate(
            [
                np.full(n, np.nan, dtype=np.float32)
                if a is None
                else np.asarray(a, dtype=np.float32)
                for a, n in zip(label_agreement, sizes, strict=True)
            ]
        )
    data.update(extra)
    return data
