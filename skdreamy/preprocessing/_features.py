"""Spectral features of each epoch: a few dozen numbers per spectrogram."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    check_non_negative,
)

from .._validation import log_power, validate_spectrograms

# The classical EEG bands (Hz, lower edge included, upper edge excluded), of
# ``SpectralFeatures(bands=True)``; the last band ends at ``fmax`` (included).
BANDS = (
    ("delta", 0.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 12.0),
    ("sigma", 12.0, 16.0),
    ("beta", 16.0, np.inf),
)
# Pairs (numerator, denominator) of the band-power ratios.
RATIOS = (
    ("delta", "theta"),
    ("delta", "alpha"),
    ("theta", "alpha"),
    ("delta", "beta"),
    ("alpha", "beta"),
)


def _band_edges(band):
    """``(low, high)`` of a two-number band, or a ValueError naming it."""
    try:
        low, high = (float(edge) for edge in band)
    except (TypeError, ValueError):
        raise ValueError(
            f"SpectralFeatures' relative_band must be two frequencies (low, "
            f"high) in Hz, got {band!r}."
        ) from None
    if not low <= high:
        raise ValueError(
            f"SpectralFeatures' relative_band must have low <= high, got {band!r}."
        )
    return low, high


class SpectralFeatures(TransformerMixin, BaseEstimator):
    """Log power per frequency, and optionally band powers, of each spectrogram.

    Reduces each epoch's spectrogram (as :class:`EpochSpectrogram` returns it:
    power per frequency row and time bin) to a feature vector that a
    scikit-learn classifier such as a random forest can use directly:

    - ``logpow_<f>Hz``: the mean over time bins of ``log10(power + log_offset)``
      of each frequency row between ``fmin`` and ``fmax``;
    - ``relpow_<f>Hz`` (``relative=True``): the same minus the epoch's mean
      log power over the rows in ``relative_band``, i.e. the spectrum's shape
      with the epoch's overall gain (electrode impedance, amplifier) removed;
    - with ``bands=True``, per classical band (delta below 4 Hz, theta 4-8,
      alpha 8-12, sigma 12-16, beta 16 Hz to ``fmax``; rows between ``fmin``
      and ``fmax`` only): ``band_<name>``, ``log10`` of the band's share of
      the power between ``fmin`` and ``fmax``; ``ratio_<a>_<b>``, ``log10``
      of the ratios delta/theta, delta/alpha, theta/alpha, delta/beta and
      alpha/beta; and ``std_<name>``, the standard deviation over time bins
      of the band's log power (how much it changes within the epoch).

    The transformer has no statistics to learn: ``fit`` only records the
    input layout, and each epoch's features depend on that epoch alone.

    Parameters
    ----------
    spectrogram_shape : tuple of (int, int) or None, default=(51, 59)
        ``(n_freqs, n_times)`` of each spectrogram. ``None`` infers it from
        3-D input, or treats 2-D input as ``(n_features, 1)`` (one time bin).
    frequency_resolution : float, default=1.0
        Hz between frequency rows; row ``i`` is ``i * frequency_resolution``
        Hz (as :class:`EpochSpectrogram` with ``nperseg = sfreq`` gives).
    fmin : float, default=1.0
        Lowest frequency (Hz) of the features; 1 Hz leaves out the slow drifts
        and movement of row 0.
    fmax : float or None, default=30.0
        Highest frequency (Hz) of the features, included. ``None``: up to the
        last row. Sleep EEG above 30 Hz is mostly muscle and line noise.
    relative : bool, default=True
        Add the log power of each row relative to the epoch's mean over
        ``relative_band``.
    relative_band : tuple of (float, float), default=(1.0, 25.0)
        Frequencies (Hz, both included) whose mean log power is the epoch's
        reference level for ``relative=True``. Leaving out 25-30 Hz, where
        muscle activity dominates, scored better leave-one-subject-out
        (benchmarks/README.md, "Presets").
    bands : bool, default=False
        Add the band powers, band ratios and within-epoch band variability.
    log_offset : float, default=1e-6
        Added to the power before the logarithm, so zero power stays finite.

    Attributes
    ----------
    frequencies_ : ndarray of shape (n_rows,)
        Frequencies (Hz) of the rows used, between ``fmin`` and ``fmax``.
    spectrogram_shape_ : tuple of int
        ``(n_freqs, n_times)`` seen in ``fit``.
    n_features_in_ : int
        ``n_freqs * n_times``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when ``X`` has string column names.

    See Also
    --------
    EpochSpectrogram : Computes the spectrograms from raw epochs.
    SpectrogramScaler : Scales the whole spectrogram for the CNN instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.preprocessing import SpectralFeatures
    >>> S = np.random.default_rng(0).gamma(2.0, 10.0, size=(8, 51, 59))
    >>> features = SpectralFeatures().fit(S)
    >>> F = features.transform(S)
    >>> F.shape
    (8, 60)
    >>> features.get_feature_names_out()[[0, 29, 30]].tolist()
    ['logpow_1Hz', 'logpow_30Hz', 'relpow_1Hz']
    >>> SpectralFeatures(bands=True).fit_transform(S).shape
    (8, 75)
    """

    _parameter_constraints = {
        "spectrogram_shape": [tuple, list, None],
        "frequency_resolution": [Interval(Real, 0, None, closed="neither")],
        "fmin": [Interval(Real, 0, None, closed="left")],
        "fmax": [Interval(Real, 0, None, closed="left"), None],
        "relative": ["boolean"],
        "relative_band": [tuple, list],
        "bands": ["boolean"],
        "log_offset": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        spectrogram_shape=(51, 59),
        frequency_resolution=1.0,
        fmin=1.0,
        fmax=30.0,
        relative=True,
        relative_band=(1.0, 25.0),
        bands=False,
        log_offset=1e-6,
    ):
        self.spectrogram_shape = spectrogram_shape
        self.frequency_resolution = frequency_resolution
        self.fmin = fmin
        self.fmax = fmax
        self.relative = relative
        self.relative_band = relative_band
        self.bands = bands
        self.log_offset = log_offset

    def _validate(self, X, reset):
        X, shape = validate_spectrograms(
            self,
            X,
            spectrogram_shape=self.spectrogram_shape,
            reset=reset,
            dtype=[np.float64, np.float32],
        )
        return X.reshape(X.shape[0], *shape), shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the spectrogram layout and the frequency rows used.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs, n_times) or \
                (n_epochs, n_freqs * n_times)
            Power spectrograms (not log power).
        y : None
            Ignored.

        Returns
        -------
        self : SpectralFeatures
            The fitted transformer.

        Raises
        ------
        ValueError
            If ``X`` has the wrong rank or shape, contains NaN or infinite
            values, negative power, or if no frequency row lies between
            ``fmin`` and ``fmax`` (or in ``relative_band``).
        """
        images, shape = self._validate(X, reset=True)
        check_non_negative(images, f"{type(self).__name__}.fit (power spectrograms)")
        frequencies = np.arange(shape[0]) * float(self.frequency_resolution)
        fmax = np.inf if self.fmax is None else self.fmax
        rows = np.flatnonzero((frequencies >= self.fmin) & (frequencies <= fmax))
        if rows.size == 0:
            raise ValueError(
                f"SpectralFeatures keeps the frequency rows between fmin={self.fmin} "
                f"and fmax={self.fmax} Hz, but the {shape[0]} rows of X span "
                f"0-{frequencies[-1]:g} Hz at frequency_resolution="
                f"{self.frequency_resolution}; none is left."
            )
        self.spectrogram_shape_ = shape
        self.frequencies_ = frequencies[rows]
        self._rows = rows
        if self.relative:
            low, high = _band_edges(self.relative_band)
            reference = (frequencies >= low) & (frequencies <= high)
            if not reference.any():
                raise ValueError(
                    f"SpectralFeatures' relative_band={self.relative_band} Hz "
                    f"holds none of the {shape[0]} rows of X (0-"
                    f"{frequencies[-1]:g} Hz); pass a band within it."
                )
            self._reference = np.flatnonzero(reference)
        return self

    def transform(self, X):
        """Compute the features of each epoch.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs, n_times) or \
                (n_epochs, n_freqs * n_times)
            Power spectrograms with the layout seen in ``fit``.

        Returns
        -------
        F : ndarray of shape (n_epochs, n_features_out), dtype float64
            The features, in the order of :meth:`get_feature_names_out`.

        Raises
        ------
        ValueError
            If ``X`` has another layout than in ``fit``, contains NaN or
            infinite values, or contains negative power.
        """
        check_is_fitted(self)
        images, _ = self._validate(X, reset=False)
        images = images.astype(np.float64, copy=False)
        power = images[:, self._rows]
        spectrum = log_power(power, self.log_offset).mean(axis=2)
        parts = [spectrum]
        if self.relative:
            reference = log_power(images[:, self._reference], self.log_offset)
            level = reference.mean(axis=(1, 2))[:, np.newaxis]
            parts.append(spectrum - level)
        if self.bands:
            parts.extend(self._band_features(power))
        return np.hstack(parts)

    def _band_masks(self):
        return [
            (name, (self.frequencies_ >= low) & (self.frequencies_ < high))
            for name, low, high in BANDS
        ]

    def _band_features(self, power):
        offset = self.log_offset
        total = power.mean(axis=2).sum(axis=1)
        band_power, variability = {}, []
        for name, mask in self._band_masks():
            over_time = power[:, mask].sum(axis=1)  # (n_epochs, n_times)
            band_power[name] = over_time.mean(axis=1)
            variability.append(np.log10(over_time + offset).std(axis=1))
        share = [
            np.log10((band_power[name] + offset) / (total + offset))
            for name, *_ in BANDS
        ]
        ratios = [
            np.log10((band_power[a] + offset) / (band_power[b] + offset))
            for a, b in RATIOS
        ]
        return [
            np.column_stack(share),
            np.column_stack(ratios),
            np.column_stack(variability),
        ]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # power, never negative
        return tags

    def get_feature_names_out(self, input_features=None):
        """Name each output feature.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the input seen in ``fit``; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``logpow_<f>Hz``, then ``relpow_<f>Hz``, then ``band_<name>``,
            ``ratio_<a>_<b>`` and ``std_<name>`` (see the class description).
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        names = [f"logpow_{f:g}Hz" for f in self.frequencies_]
        if self.relative:
            names += [f"relpow_{f:g}Hz" for f in self.frequencies_]
        if self.bands:
            names += [f"band_{name}" for name, *_ in BANDS]
            names += [f"ratio_{a}_{b}" for a, b in RATIOS]
            names += [f"std_{name}" for name, *_ in BANDS]
        return np.asarray(names, dtype=object)
