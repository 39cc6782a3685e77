"""Input checks shared by the transformers and the classifier.

Inside a pipeline spectrograms are 2-D ``(n_epochs, n_freqs * n_times)``; at
the entry they may also come as 3-D ``(n_epochs, n_freqs, n_times)``. The
helpers here turn either into the 2-D form, check it against the expected
``spectrogram_shape`` and raise errors that name the problem.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import column_or_1d, validate_data


def check_spectrogram_shape(spectrogram_shape, name="spectrogram_shape"):
    """Validate a ``(n_freqs, n_times)`` pair; ``None`` passes through."""
    if spectrogram_shape is None:
        return None
    try:
        shape = tuple(spectrogram_shape)
    except TypeError:
        shape = ()
    if len(shape) != 2 or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in shape
    ):
        raise ValueError(
            f"{name} must be None or a pair of positive integers "
            f"(n_freqs, n_times), got {spectrogram_shape!r}."
        )
    return (int(shape[0]), int(shape[1]))


def validate_spectrograms(estimator, X, *, spectrogram_shape, reset, dtype):
    """Validate spectrograms given as 2-D or 3-D input and return them 2-D.

    Parameters
    ----------
    estimator : estimator instance
        Receives ``n_features_in_`` (and ``feature_names_in_``) through
        :func:`sklearn.utils.validation.validate_data`.
    X : array-like of shape (n_epochs, n_freqs, n_times) or \
            (n_epochs, n_freqs * n_times)
        Spectrograms.
    spectrogram_shape : tuple of int or None
        Expected ``(n_freqs, n_times)``. ``None`` infers it: ``(F, T)`` from
        3-D input, ``(n_features, 1)`` from 2-D input.
    reset : bool
        Whether this is a call to ``fit`` (record the input layout) or not
        (check it against the recorded one).
    dtype : dtype or list of dtypes
        Passed to :func:`~sklearn.utils.check_array`.

    Returns
    -------
    X2d : ndarray of shape (n_epochs, n_freqs * n_times)
    shape : tuple of int
        The ``(n_freqs, n_times)`` layout of each row.
    """
    expected = check_spectrogram_shape(spectrogram_shape)
    if isinstance(X, list | tuple):
        X = np.asarray(X)
    ndim = getattr(X, "ndim", None)
    if ndim == 3:
        X = check_array(X, allow_nd=True, dtype=dtype, input_name="X")
        shape3 = X.shape[1:]
        if expected is not None and shape3 != expected:
            raise ValueError(
                f"X has spectrograms of shape {shape3} (n_freqs, n_times), but "
                f"{type(estimator).__name__} expects spectrogram_shape={expected}."
            )
        shape = tuple(int(s) for s in shape3)
        X = X.reshape(X.shape[0], -1)
    elif ndim is not None and ndim not in (1, 2):
        raise ValueError(
            f"X must be 2-D (n_epochs, n_freqs * n_times) or 3-D "
            f"(n_epochs, n_freqs, n_times); got an array of {ndim} dimensions "
            f"with shape {X.shape}."
        )
    else:
        shape = None
    X = validate_data(estimator, X, reset=reset, dtype=dtype)
    n_features = X.shape[1]
    if shape is None:
        if expected is None:
            fitted = getattr(estimator, "spectrogram_shape_", None)
            shape = fitted if not reset and fitted is not None else (n_features, 1)
        else:
            shape = expected
    if shape[0] * shape[1] != n_features:
        raise ValueError(
            f"X has {n_features} features per epoch, but spectrogram_shape="
            f"{shape} needs {shape[0]} * {shape[1]} = {shape[0] * shape[1]}. "
            "Pass spectrograms of that shape (2-D flattened or 3-D), or set "
            "spectrogram_shape to the layout of your data."
        )
    if not reset:
        fitted = getattr(estimator, "spectrogram_shape_", None)
        if fitted is not None and tuple(fitted) != tuple(shape):
            raise ValueError(
                f"X has spectrograms of shape {shape}, but "
                f"{type(estimator).__name__} was fitted on {tuple(fitted)}."
            )
    return X, shape


def check_one_label_per_epoch(n_epochs, y):
    """Return ``y`` 1-D; it must hold one label per epoch of ``X``."""
    y = column_or_1d(y, warn=True)
    if len(y) != n_epochs:
        raise ValueError(
            f"X has {n_epochs} epochs but y has {len(y)} labels; they must match "
            "one to one."
        )
    return y


def log_power(X, offset):
    """``log10(X + offset)``, refusing negative power with a clear error."""
    X = np.asarray(X)
    if X.size and np.min(X) < 0:
        raise ValueError(
            "log=True needs non-negative power values, but X contains negative "
            f"values (min {np.min(X):.4g}). Pass power spectrograms, or set "
            "log=False."
        )
    return np.log10(X + offset)
