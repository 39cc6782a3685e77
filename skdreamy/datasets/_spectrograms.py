"""Spectrograms saved by the reference project: ``(n, 51, 59)`` images + labels."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from .._stages import STAGE_NAMES
from ._checks import check_epochs, check_file, check_stage_labels
from ._nights import read_npz

SPECTROGRAM_SHAPE = (51, 59)
"""(n_freqs, n_times) of a 30-s epoch at 100 Hz, as EpochSpectrogram makes."""

_FOLDER_PAIRS = (("X.npy", "y.npy"), ("spectrograms.npy", "labels.npy"))
_NPZ_KEYS = (("X", "y"), ("x", "y"))


def _from_folder(folder):
    present = [pair for pair in _FOLDER_PAIRS if (folder / pair[0]).is_file()]
    if len(present) != 1:
        wanted = " or ".join(" + ".join(pair) for pair in _FOLDER_PAIRS)
        found = "both" if present else "neither"
        raise FileNotFoundError(
            f"{str(folder)!r} must hold {wanted}; it holds {found}."
        )
    x_name, y_name = present[0]
    files = [folder / x_name, check_file(folder / y_name, what="labels file")]
    arrays = []
    for file in files:
        try:
            arrays.append(np.load(file, allow_pickle=False))
        except Exception as exc:
            raise ValueError(
                f"{file}: cannot read this file with numpy.load; it may be "
                f"truncated or corrupt ({type(exc).__name__}: {exc})."
            ) from exc
        if not isinstance(arrays[-1], np.ndarray):
            raise ValueError(f"{file}: expected one .npy array, found an archive.")
    return arrays[0], arrays[1], files


def _from_npz(file):
    arrays = read_npz(file)
    present = [keys for keys in _NPZ_KEYS if keys[0] in arrays and keys[1] in arrays]
    if len(present) != 1:
        raise ValueError(
            f"{file}: expected the arrays 'X' and 'y' (or 'x' and 'y')"
            + (", not both 'X' and 'x'" if present else "")
            + f"; the file has {sorted(arrays)}."
        )
    x_key, y_key = present[0]
    return arrays[x_key], arrays[y_key], [file]


def _as_codes(y, *, source):
    """One-hot rows (as Keras' ``to_categorical`` makes) to stage codes."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == len(STAGE_NAMES):
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise ValueError(
                f"{source}: 2-D labels must be one-hot, with a single 1 per row."
            )
        return np.argmax(y, axis=1)
    return y


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_spectrograms(path):
    """Load precomputed spectrograms and their stage labels.

    Accepted layouts, exactly:

    - an ``.npz`` file with the arrays ``X`` and ``y``, or ``x`` and ``y``;
    - a folder with ``X.npy`` and ``y.npy``, or with ``spectrograms.npy`` and
      ``labels.npy`` (not both pairs).

    The spectrograms must have shape ``(n_epochs, 51, 59)`` (frequencies 0-50
    Hz by 59 half-second time bins, what :class:`~skdreamy.EpochSpectrogram`
    computes from a 30-s epoch at 100 Hz) and be finite. The labels are
    ``(n_epochs,)`` integer stage codes 0=W 1=N1 2=N2 3=N3 4=REM (whole
    numbers stored as floats are accepted) or ``(n_epochs, 5)`` one-hot rows.
    Object (pickled) arrays are refused.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file or the folder.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the keys ``X`` (ndarray of shape (n_epochs, 51, 59), float32),
        ``y`` (ndarray of shape (n_epochs,), int64) and ``files`` (the files
        read).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or the folder lacks the files above.
    ValueError
        If a file is corrupt, lacks the arrays above, or they have the wrong
        shape, non-finite values or labels outside 0..4.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skdreamy import EpochSpectrogram
    >>> from skdreamy.datasets import load_spectrograms, make_sleep_epochs
    >>> X, y = make_sleep_epochs(10, random_state=0)
    >>> images = EpochSpectrogram().fit_transform(X).reshape(-1, 51, 59)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "X.npy", images)
    >>> np.save(folder / "y.npy", y)
    >>> data = load_spectrograms(folder)
    >>> data.X.shape, data.X.dtype, data.y.tolist() == y.tolist()
    ((10, 51, 59), dtype('float32'), True)
    """
    path = Path(path).expanduser()
    if path.is_dir():
        X, y, files = _from_folder(path.resolve())
    else:
        files = [check_file(path, what="spectrogram file")]
        X, y, files = _from_npz(files[0])
    X = check_epochs(X, source=files[0], shape=SPECTROGRAM_SHAPE, name="X")
    y = check_stage_labels(
        _as_codes(y, source=files[-1]),
        source=files[-1],
        n_epochs=X.shape[0],
        name="y",
    )
    return Bunch(X=X, y=y, files=files)
