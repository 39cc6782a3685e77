"""Checks shared by the loaders: one function per check, errors that name the file.

Every loader turns what it read into ``X`` (epochs or spectrograms) and ``y``
(stage codes) and passes them through these functions, so that a bad file
gives the same kind of message whichever loader read it.
"""

from pathlib import Path

import numpy as np

from .._stages import STAGE_NAMES


def check_file(path, *, what="file"):
    """Return ``path`` as an absolute :class:`~pathlib.Path`; it must be a file."""
    path = Path(path).expanduser()
    if not path.is_file():
        reason = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{what} {str(path)!r} {reason}.")
    return path.resolve()


def check_epochs(X, *, source, shape, name="x", allow_nonfinite=False):
    """Check a stack of epochs: ``(n, *shape)``, numeric, finite, non-empty.

    Parameters
    ----------
    X : ndarray
        The array as read from the file.
    source : str or Path
        The file it came from, named in the error messages.
    shape : tuple of int
        The shape of one epoch, e.g. ``(3000,)`` or ``(51, 59)``.
    name : str, default="x"
        The name of the array in the file.
    allow_nonfinite : bool, default=False
        Accept NaN and infinite values (gaps in a recording).

    Returns
    -------
    X : ndarray of shape (n, *shape), dtype float32
    """
    X = np.asarray(X)
    expected = "(n_epochs, " + ", ".join(str(s) for s in shape) + ")"
    if X.ndim != 1 + len(shape) or X.shape[1:] != tuple(shape):
        raise ValueError(
            f"{source}: {name!r} must have shape {expected}, got {X.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{source}: {name!r} holds no epochs (shape {X.shape}).")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"{source}: {name!r} must hold numbers, got dtype {X.dtype}.")
    X = X.astype(np.float32, copy=False)
    finite = np.isfinite(X).all(axis=tuple(range(1, X.ndim)))
    if not (allow_nonfinite or finite.all()):
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{source}: {name!r} has NaN or infinite values in {bad.size} "
            f"epoch(s), the first at index {bad[0]}."
        )
    return X


def check_stage_labels(y, *, source, n_epochs, name="y"):
    """Check stage codes: 1-D, one per epoch, integers in 0..4.

    Whole numbers stored as floats (``2.0``) are accepted.

    Returns
    -------
    y : ndarray of shape (n_epochs,), dtype int64
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_epochs:
        raise ValueError(
            f"{source}: {name!r} must have shape ({n_epochs},), one label per "
            f"epoch, got {y.shape}."
        )
    if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.astype(np.int64)  # codes saved as floats, e.g. 2.0
    if y.dtype.kind not in "iu":
        raise ValueError(
            f"{source}: {name!r} must hold integer stage codes 0..4 "
            f"({', '.join(f'{c}={s}' for c, s in enumerate(STAGE_NAMES))}), "
            f"got dtype {y.dtype}."
        )
    bad = (y < 0) | (y >= len(STAGE_NAMES))
    if bad.any():
        raise ValueError(
            f"{source}: {name!r} has labels outside 0..4: "
            f"{sorted(set(y[bad].tolist()))} (first at index {np.flatnonzero(bad)[0]})."
        )
    return y.astype(np.int64, copy=False)


def check_per_epoch(values, *, source, n_epochs, name):
    """Check a 1-D array with one finite number per epoch; return it as float."""
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != n_epochs:
        raise ValueError(
            f"{source}: {name!r} must have shape ({n_epochs},), one value per "
            f"epoch, got {values.shape}."
        )
    if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
        raise ValueError(f"{source}: {name!r} must hold finite numbers.")
    return values
