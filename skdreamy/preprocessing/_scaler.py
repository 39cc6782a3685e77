"""Scaling of spectrograms, fitted on training epochs only."""

from numbers import Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import log_power, validate_spectrograms
from ..datasets._spectrograms import SPECTROGRAM_SHAPE

_REDUCE_AXES = {"cell": (0,), "frequency": (0, 2), "global": (0, 1, 2)}


def _streams(scaler):
    """Whether the scaler's statistics can be learnt chunk by chunk."""
    if scaler.method == "robust":
        raise AttributeError(
            "SpectrogramScaler(method='robust') has no partial_fit: its "
            "percentiles need all values at once. Use fit, or method='minmax' "
            "(exact chunk by chunk) or method='standard'."
        )
    return True


class SpectrogramScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale spectrograms with statistics learnt from the training epochs.

    The default reproduces the reference project: every (frequency, time)
    cell is min-max scaled to [0, 1] independently, like
    :class:`~sklearn.preprocessing.MinMaxScaler` on the flattened images.
    The other options are the usual candidates for a grid search: statistics
    pooled per frequency row or over the whole image, standardisation or
    robust scaling instead of min-max, log power before scaling, and clipping
    of test values that fall outside the range seen in ``fit``.

    Input may be 3-D ``(n_epochs, n_freqs, n_times)`` or 2-D
    ``(n_epochs, n_freqs * n_times)`` (frequency-major, as
    :class:`EpochSpectrogram` returns); the output is always 2-D float32 so
    that it can flow into imbalanced-learn samplers.

    Parameters
    ----------
    method : {"minmax", "standard", "robust"}, default="minmax"
        ``"minmax"`` maps the fitted minimum and maximum to 0 and 1;
        ``"standard"`` subtracts the mean and divides by the standard deviation;
        ``"robust"`` subtracts the median and divides by the interquartile
        range. Statistics that would divide by zero (a constant cell) are
        replaced by 1.
    per : {"cell", "frequency", "global"}, default="cell"
        Which values share statistics: each (frequency, time) cell on its own,
        each frequency row (pooled over time bins and epochs), or all values.
    log : bool, default=False
        Take ``log10(X + log_offset)`` before computing statistics. Power
        spans orders of magnitude across frequencies; its logarithm is closer
        to Gaussian.
    log_offset : float, default=1e-6
        Added before the logarithm so that zero power stays finite.
    clip : bool, default=False
        Clip values to the range seen in ``fit`` (after the logarithm, before
        scaling), so that with ``method="minmax"`` the output stays in [0, 1]
        on unseen epochs too.
    spectrogram_shape : tuple of (int, int) or None, default=(51, 59)
        ``(n_freqs, n_times)`` of each spectrogram. ``None`` infers it from
        3-D input, or treats 2-D input as ``(n_features, 1)``.

    Attributes
    ----------
    center_ : ndarray of shape (n_freqs, n_times), (n_freqs, 1) or (1, 1)
        Subtracted value (minimum, mean or median) per statistics unit.
    scale_ : ndarray of the same shape as ``center_``
        Divisor (range, standard deviation or IQR) per statistics unit.
    data_min_, data_max_ : ndarray of the same shape as ``center_``
        Range seen in ``fit`` (after the logarithm), used by ``clip``.
    spectrogram_shape_ : tuple of int
        ``(n_freqs, n_times)`` seen in ``fit``.
    n_samples_seen_ : int
        Epochs the statistics come from (``fit`` and ``partial_fit``).
    mean_, var_ : ndarray of the same shape as ``center_``
        Mean and variance, only with ``method="standard"`` (the running
        statistics of :meth:`partial_fit`).
    n_features_in_ : int
        ``n_freqs * n_times``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when ``X`` has string column names.

    See Also
    --------
    EpochSpectrogram : Computes the spectrograms from raw epochs.
    sklearn.preprocessing.MinMaxScaler : The per-feature scaler this generalises.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy import SpectrogramScaler
    >>> rng = np.random.default_rng(0)
    >>> S = rng.gamma(2.0, 10.0, size=(20, 51, 59))
    >>> Z = SpectrogramScaler().fit_transform(S)
    >>> Z.shape, Z.dtype, float(Z.min()), float(Z.max())
    ((20, 3009), dtype('float32'), 0.0, 1.0)
    >>> scaler = SpectrogramScaler(method="standard", per="frequency", log=True)
    >>> Z = scaler.fit_transform(S)
    >>> bool(abs(Z.mean()) < 1e-4)
    True
    """

    _parameter_constraints = {
        "method": [StrOptions({"minmax", "standard", "robust"})],
        "per": [StrOptions(set(_REDUCE_AXES))],
        "log": ["boolean"],
        "log_offset": [Interval(Real, 0, None, closed="neither")],
        "clip": ["boolean"],
        "spectrogram_shape": [tuple, list, None],
    }

    def __init__(
        self,
        *,
        method="minmax",
        per="cell",
        log=False,
        log_offset=1e-6,
        clip=False,
        spectrogram_shape=SPECTROGRAM_SHAPE,
    ):
        self.method = method
        self.per = per
        self.log = log
        self.log_offset = log_offset
        self.clip = clip
        self.spectrogram_shape = spectrogram_shape

    def _images(self, X, reset):
        X, shape = validate_spectrograms(
            self,
            X,
            spectrogram_shape=self.spectrogram_shape,
            reset=reset,
            dtype=[np.float64, np.float32],
        )
        X = X.reshape(X.shape[0], *shape)
        if self.log:
            X = log_power(X, self.log_offset)
        return X, shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the scaling statistics from training spectrograms.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs, n_times) or \
                (n_epochs, n_freqs * n_times)
            Training spectrograms (power, not log power, if ``log=True``).
        y : None
            Ignored.

        Returns
        -------
        self : SpectrogramScaler
            The fitted scaler.

        Raises
        ------
        ValueError
            If ``X`` has the wrong rank or shape, contains NaN or infinite
            values, or contains negative power while ``log=True``.
        """
        images, shape = self._images(X, reset=True)
        axes = _REDUCE_AXES[self.per]
        images = images.astype(np.float64, copy=False)
        if self.method == "minmax":
            center = images.min(axis=axes, keepdims=True)
            scale = images.max(axis=axes, keepdims=True) - center
        elif self.method == "standard":
            center = images.mean(axis=axes, keepdims=True)
            scale = images.std(axis=axes, keepdims=True)
        else:
            q25, center, q75 = np.percentile(
                images, [25, 50, 75], axis=axes, keepdims=True
            )
            scale = q75 - q25
        self.center_ = center[0]
        self.scale_ = _nonzero(scale[0], self.center_)
        self.data_min_ = images.min(axis=axes, keepdims=True)[0]
        self.data_max_ = images.max(axis=axes, keepdims=True)[0]
        self.spectrogram_shape_ = shape
        # State that partial_fit continues from.
        self.n_samples_seen_ = images.shape[0]
        if self.method == "standard":
            self.mean_, self.var_ = center[0], scale[0] ** 2
        else:
            vars(self).pop("mean_", None)
            vars(self).pop("var_", None)
        return self

    @available_if(_streams)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the statistics with one more chunk of training spectrograms.

        For data sets that do not fit in memory: feed the training epochs chunk
        by chunk (see :func:`skdreamy.outofcore.fit_out_of_core`). After each
        call the scaler is usable, with the statistics of every epoch seen so
        far (and by an earlier :meth:`fit`).

        How exactly each setting streams:

        - ``method="minmax"`` (any ``per``, ``log``, ``clip``): exact; the
          result equals :meth:`fit` on all chunks at once, bit for bit.
        - ``method="standard"``: mean and variance are merged chunk by chunk
          (Chan, Golub and LeVeque's pairwise update, in float64); equal to
          :meth:`fit` up to floating-point rounding (relative differences
          around 1e-15), not bit for bit.
        - ``method="robust"``: percentiles need all values at once; the
          scaler then has no ``partial_fit`` (an ``AttributeError`` says why).

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs, n_times) or \
                (n_epochs, n_freqs * n_times)
            A chunk of training spectrograms.
        y : None
            Ignored.

        Returns
        -------
        self : SpectrogramScaler
            The updated scaler.

        Raises
        ------
        ValueError
            As in :meth:`fit`; if the chunk's layout differs from the earlier
            ones; or if ``method="standard"`` should continue from statistics
            learnt with another method.

        Examples
        --------
        >>> import numpy as np
        >>> from skdreamy import SpectrogramScaler
        >>> S = np.random.default_rng(0).gamma(2.0, 10.0, size=(30, 51, 59))
        >>> streamed = SpectrogramScaler()
        >>> for chunk in np.array_split(S, 4):
        ...     streamed = streamed.partial_fit(chunk)
        >>> whole = SpectrogramScaler().fit(S)
        >>> bool(np.array_equal(streamed.transform(S), whole.transform(S)))
        True
        >>> streamed.n_samples_seen_
        30
        """
        first = not hasattr(self, "n_samples_seen_")
        if not first and self.method == "standard" and not hasattr(self, "mean_"):
            raise ValueError(
                "partial_fit cannot continue method='standard' statistics from a "
                "scaler fitted with another method; call fit, or partial_fit on "
                "an unfitted SpectrogramScaler."
            )
        images, shape = self._images(X, reset=first)
        axes = _REDUCE_AXES[self.per]
        low = images.min(axis=axes, keepdims=True)[0].astype(np.float64)
        high = images.max(axis=axes, keepdims=True)[0].astype(np.float64)
        n_seen = images.shape[0]
        if self.method == "standard":
            images = images.astype(np.float64, copy=False)
            mean = images.mean(axis=axes, keepdims=True)[0]
            var = images.var(axis=axes, keepdims=True)[0]
            if not first:
                # Values per statistics unit, before and in this chunk.
                per_epoch = images[0].size // mean.size
                n_old = self.n_samples_seen_ * per_epoch
                n_chunk = images.shape[0] * per_epoch
                n_all = n_old + n_chunk
                delta = mean - self.mean_
                mean = self.mean_ + delta * (n_chunk / n_all)
                var = (
                    self.var_ * n_old
                    + var * n_chunk
                    + delta**2 * (n_old * n_chunk / n_all)
                ) / n_all
            self.mean_, self.var_ = mean, var
            center, scale = mean, np.sqrt(var)
        if not first:
            low = np.minimum(low, self.data_min_)
            high = np.maximum(high, self.data_max_)
            n_seen += self.n_samples_seen_
        if self.method == "minmax":
            center, scale = low, high - low
        self.center_ = center
        self.scale_ = _nonzero(scale, center)
        self.data_min_, self.data_max_ = low, high
        self.spectrogram_shape_ = shape
        self.n_samples_seen_ = n_seen
        return self

    def transform(self, X):
        """Scale spectrograms with the statistics learnt in ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs, n_times) or \
                (n_epochs, n_freqs * n_times)
            Spectrograms with the layout seen in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_epochs, n_freqs * n_times), dtype float32
            Scaled spectrograms, frequency-major. Always finite: a value
            beyond float32's range (only possible far outside a training
            spread that is itself near float32's smallest number) saturates
            at float32's largest finite value.

        Raises
        ------
        ValueError
            If ``X`` has another layout than in ``fit``, contains NaN or
            infinite values, or negative power while ``log=True``.
        """
        check_is_fitted(self)
        images, _ = self._images(X, reset=False)
        if self.clip:
            images = np.clip(images, self.data_min_, self.data_max_)
        with np.errstate(over="ignore"):
            Z = (images - self.center_) / self.scale_
        largest = np.finfo(np.float32).max
        np.clip(Z, -largest, largest, out=Z)
        return Z.reshape(Z.shape[0], -1).astype(np.float32, copy=False)

    def inverse_transform(self, X):
        """Undo the scaling (and the logarithm) of :meth:`transform`.

        Values clipped by ``clip=True`` come back at the clipping bound.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs * n_times) or \
                (n_epochs, n_freqs, n_times)
            Scaled spectrograms.

        Returns
        -------
        S : ndarray of shape (n_epochs, n_freqs * n_times), dtype float32
            Spectrograms on the input scale.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the scaler has not been fitted.
        ValueError
            If ``X`` has another layout than in ``fit`` or contains NaN or
            infinite values.
        """
        check_is_fitted(self)
        Z, _ = validate_spectrograms(
            self,
            X,
            spectrogram_shape=self.spectrogram_shape_,
            reset=False,
            dtype=[np.float64, np.float32],
        )
        images = Z.reshape(Z.shape[0], *self.spectrogram_shape_)
        images = images * self.scale_ + self.center_
        if self.log:
            images = np.power(10.0, images) - self.log_offset
        return images.reshape(images.shape[0], -1).astype(np.float32, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _nonzero(scale, center):
    """Replace the divisors of constant units by 1, as scikit-learn's scalers do.

    A unit counts as constant when its spread is zero up to rounding relative
    to its level, so data in V^2/Hz (values near 1e-12) is not mistaken for
    constant data.
    """
    scale = np.array(scale, dtype=np.float64)
    tiny = 10 * np.finfo(np.float64).eps * np.abs(center)
    scale[(scale <= tiny) | (scale == 0)] = 1.0
    return scale
