"""Raw EEG epochs to spectrograms: the bridge from real EEG to the CNN input."""

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.fft
from scipy.signal import get_window
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_feature_names_in, validate_data

from .._validation import log_power


class _Plan(NamedTuple):
    shape: tuple
    step: int
    frequencies: np.ndarray
    times: np.ndarray
    window: np.ndarray
    scale: np.ndarray


# Epochs are transformed in chunks so that the framed copy of the signal
# (n_segments * nperseg values per epoch) stays in cache; see benchmarks/.
_CHUNK = 128


class EpochSpectrogram(TransformerMixin, BaseEstimator):
    """Turn raw single-channel EEG epochs into flattened power spectrograms.

    Each epoch of ``n_times`` samples is cut into windowed segments (a Tukey
    window by default, as SciPy's) of ``nperseg`` samples overlapping by
    ``noverlap`` and turned into a one-sided power spectral density, exactly
    as :func:`scipy.signal.spectrogram` does with the same arguments
    (constant detrend, ``scaling="density"``). With the
    defaults, a 30-s epoch at 100 Hz (3000 samples) gives 51 frequencies
    (0-50 Hz, 1 Hz apart) x 59 time bins (0.5 s apart): the input format of the
    reference CNN.

    The output is 2-D, ``(n_epochs, n_freqs * n_times)`` in frequency-major
    order, so that it flows through scikit-learn and imbalanced-learn steps;
    ``output.reshape(-1, *transformer.spectrogram_shape_)`` gives the images.

    The transformer is stateless: ``fit`` only checks the input.

    Parameters
    ----------
    sfreq : float, default=100.0
        Sampling frequency of the epochs in Hz.
    epoch_duration : float or None, default=30.0
        Expected epoch length in seconds. Input whose number of samples is not
        ``sfreq * epoch_duration`` is rejected, which catches signals at
        another sampling rate. ``None`` accepts any length.
    nperseg : int, default=100
        Samples per segment.
    noverlap : int, default=50
        Samples shared by consecutive segments; must be below ``nperseg``.
    window : str or tuple, default=("tukey", 0.25)
        Window passed to :func:`scipy.signal.get_window` (SciPy's default for
        :func:`~scipy.signal.spectrogram`).
    fmax : float or None, default=None
        Keep only the frequencies up to ``fmax`` Hz (e.g. 30: sleep EEG has
        little above, and recordings sampled at 50 Hz have nothing above
        25 Hz). ``None`` keeps all, up to ``sfreq / 2``.
    log : bool, default=False
        Return ``log10(power + log_offset)`` instead of power.
    log_offset : float, default=1e-6
        Added to the power (in uV^2/Hz) before the logarithm so that flat
        segments stay finite.

    Attributes
    ----------
    n_features_in_ : int
        Samples per epoch seen in ``fit``.
    spectrogram_shape_ : tuple of int
        ``(n_freqs, n_times)`` of each output spectrogram.
    frequencies_ : ndarray of shape (n_freqs,)
        Frequency of each row in Hz.
    times_ : ndarray of shape (n_times,)
        Centre of each time bin in seconds from the epoch start.

    See Also
    --------
    SpectrogramScaler : Scales the spectrograms this transformer returns.

    Examples
    --------
    >>> from skdreamy import EpochSpectrogram
    >>> from skdreamy.datasets import make_sleep_epochs
    >>> X, y = make_sleep_epochs(10, random_state=0)
    >>> X.shape
    (10, 3000)
    >>> spec = EpochSpectrogram().fit(X)
    >>> S = spec.transform(X)
    >>> S.shape, S.dtype, spec.spectrogram_shape_
    ((10, 3009), dtype('float32'), (51, 59))
    """

    _parameter_constraints = {
        "sfreq": [Interval(Real, 0, None, closed="neither")],
        "epoch_duration": [Interval(Real, 0, None, closed="neither"), None],
        "nperseg": [Interval(Integral, 1, None, closed="left")],
        "noverlap": [Interval(Integral, 0, None, closed="left")],
        "window": [str, tuple],
        "fmax": [Interval(Real, 0, None, closed="left"), None],
        "log": ["boolean"],
        "log_offset": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        sfreq=100.0,
        epoch_duration=30.0,
        nperseg=100,
        noverlap=50,
        window=("tukey", 0.25),
        fmax=None,
        log=False,
        log_offset=1e-6,
    ):
        self.sfreq = sfreq
        self.epoch_duration = epoch_duration
        self.nperseg = nperseg
        self.noverlap = noverlap
        self.window = window
        self.fmax = fmax
        self.log = log
        self.log_offset = log_offset

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the epochs and record the output layout.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_times)
            Raw EEG epochs, in microvolts.
        y : None
            Ignored.

        Returns
        -------
        self : EpochSpectrogram
            The transformer.

        Raises
        ------
        ValueError
            If the epochs have the wrong length for ``sfreq`` and
            ``epoch_duration``, are shorter than ``nperseg``, or contain NaN or
            infinite values.
        """
        _check_rank(X)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=True)
        plan = self._plan(X.shape[1])
        self.spectrogram_shape_ = plan.shape
        self.frequencies_ = plan.frequencies
        self.times_ = plan.times
        return self

    def expected_shape(self):
        """``(n_freqs, n_times)`` of the output, from the parameters alone.

        Returns
        -------
        shape : tuple of (int, int) or None
            ``None`` when ``epoch_duration`` is None (it depends on the data).

        Raises
        ------
        ValueError
            If ``noverlap`` is not below ``nperseg``, or an epoch of
            ``sfreq * epoch_duration`` samples is shorter than ``nperseg``.

        Examples
        --------
        >>> from skdreamy import EpochSpectrogram
        >>> EpochSpectrogram().expected_shape()
        (51, 59)
        >>> EpochSpectrogram(epoch_duration=90).expected_shape()
        (51, 179)
        >>> EpochSpectrogram(fmax=30).expected_shape()
        (31, 59)
        """
        if self.epoch_duration is None:
            return None
        return self._plan(round(self.sfreq * self.epoch_duration)).shape

    def _plan(self, n_times):
        """Check the epoch length against the parameters; derive the layout."""
        if self.noverlap >= self.nperseg:
            raise ValueError(
                f"noverlap={self.noverlap} must be smaller than nperseg={self.nperseg}."
            )
        if self.epoch_duration is not None:
            expected = round(self.sfreq * self.epoch_duration)
            if n_times != expected:
                raise ValueError(
                    f"Epochs have {n_times} samples, but sfreq={self.sfreq} Hz x "
                    f"epoch_duration={self.epoch_duration} s = {expected}. "
                    f"Resample the signal to {self.sfreq} Hz, or set sfreq and "
                    "epoch_duration to match the data."
                )
        if n_times < self.nperseg:
            raise ValueError(
                f"Epochs of {n_times} samples (n_features={n_times}) are shorter "
                f"than nperseg={self.nperseg}."
            )
        step = self.nperseg - self.noverlap
        n_segments = (n_times - self.noverlap) // step
        n_fft = self.nperseg // 2 + 1
        window = get_window(self.window, self.nperseg)
        # One-sided PSD: |FFT|^2 / (fs * sum(w^2)), doubled except at DC and
        # (for even nperseg) Nyquist, as scipy.signal.spectrogram does.
        scale = np.full(n_fft, 1.0 / (self.sfreq * np.sum(window**2)))
        scale[1 : n_fft - (self.nperseg % 2 == 0)] *= 2.0
        frequencies = np.fft.rfftfreq(self.nperseg, d=1.0 / self.sfreq)
        n_freqs = n_fft
        if self.fmax is not None:
            n_freqs = int(np.searchsorted(frequencies, self.fmax, side="right"))
            if n_freqs == 0:
                raise ValueError(
                    f"fmax={self.fmax} Hz keeps no frequency; the lowest is 0 Hz."
                )
        return _Plan(
            shape=(n_freqs, n_segments),
            step=step,
            frequencies=frequencies[:n_freqs],
            times=(np.arange(n_segments) * step + self.nperseg / 2) / self.sfreq,
            window=window.astype(np.float32),
            scale=scale[:n_freqs].astype(np.float32),
        )

    def transform(self, X):
        """Compute the spectrogram of every epoch.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_times)
            Raw EEG epochs, in microvolts.

        Returns
        -------
        S : ndarray of shape (n_epochs, n_freqs * n_times), dtype float32
            Power spectral density in uV^2/Hz (or its log10 with ``log=True``),
            frequency-major.

        Raises
        ------
        ValueError
            As in :meth:`fit`, or if the number of samples differs from fit.
        """
        if not hasattr(self, "n_features_in_"):
            # Stateless: an unfitted instance transforms as a fitted copy would
            # (fit checks the parameters and the epochs); self stays unfitted.
            return clone(self).fit(X).transform(X)
        _check_rank(X)
        if self.epoch_duration is not None and np.ndim(X) == 2:
            # Before scikit-learn's generic "X has N features" check: epochs of
            # another length are usually at another sampling rate; say so.
            self._plan(np.shape(X)[1])
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        plan = self._plan(X.shape[1])
        (n_freqs, n_segments), step = plan.shape, plan.step
        out = np.empty((X.shape[0], n_freqs, n_segments), dtype=np.float32)
        for start in range(0, X.shape[0], _CHUNK):
            chunk = X[start : start + _CHUNK].astype(np.float32, copy=False)
            frames = np.lib.stride_tricks.sliding_window_view(
                chunk, self.nperseg, axis=1
            )[:, : (n_segments - 1) * step + 1 : step]
            frames = frames - frames.mean(axis=-1, keepdims=True)
            frames *= plan.window
            spectrum = scipy.fft.rfft(frames, axis=-1)[..., :n_freqs]
            power = spectrum.real**2 + spectrum.imag**2
            power *= plan.scale
            out[start : start + _CHUNK] = power.transpose(0, 2, 1)
        out = out.reshape(X.shape[0], -1)
        if self.log:
            out = log_power(out, np.float32(self.log_offset))
        return out

    def get_feature_names_out(self, input_features=None):
        """Name each output value by its frequency and time bin.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the input seen in ``fit``; not used otherwise.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"psd_<freq>Hz_<time>s"`` for every (frequency, time) cell.
        """
        _check_feature_names_in(self, input_features, generate_names=False)
        freqs = np.repeat(self.frequencies_, len(self.times_))
        times = np.tile(self.times_, len(self.frequencies_))
        return np.asarray(
            [f"psd_{f:g}Hz_{t:g}s" for f, t in zip(freqs, times, strict=True)],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _check_rank(X):
    if isinstance(X, list | tuple):
        X = np.asarray(X)
    ndim = getattr(X, "ndim", 2)
    if ndim > 2:
        raise ValueError(
            "EpochSpectrogram expects raw epochs as a 2-D array (n_epochs, n_times); "
            f"got {ndim} dimensions with shape {X.shape}."
        )
