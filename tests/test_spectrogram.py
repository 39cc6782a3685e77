"""EpochSpectrogram: equal to scipy.signal.spectrogram, shaped for the CNN."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import spectrogram

from skdreamy import EpochSpectrogram
from tests.conftest import any_rows, numeric_dtypes


def test_reference_layout(raw_epochs):
    X = raw_epochs[0][:20]
    spec = EpochSpectrogram().fit(X)
    S = spec.transform(X)
    assert spec.spectrogram_shape_ == (51, 59)
    assert S.shape == (20, 51 * 59)
    assert S.dtype == np.float32
    np.testing.assert_allclose(spec.frequencies_, np.arange(51.0))
    np.testing.assert_allclose(spec.times_, 0.5 * np.arange(1, 60))


def test_equals_scipy_spectrogram(raw_epochs):
    X = raw_epochs[0][:50].astype(np.float64)
    freqs, times, expected = spectrogram(X, fs=100, nperseg=100, noverlap=50, axis=-1)
    spec = EpochSpectrogram().fit(X)
    S = spec.transform(X).reshape(len(X), *spec.spectrogram_shape_)
    np.testing.assert_allclose(spec.frequencies_, freqs)
    np.testing.assert_allclose(spec.times_, times)
    np.testing.assert_allclose(S, expected, rtol=2e-4, atol=1e-4 * expected.max())


@settings(max_examples=25, deadline=None)
@given(
    n_times=st.integers(8, 400),
    nperseg=st.integers(2, 64),
    overlap_frac=st.floats(0, 0.9),
    sfreq=st.sampled_from([50.0, 100.0, 128.0, 256.0]),
    window=st.sampled_from(["hann", ("tukey", 0.25), "boxcar", "hamming"]),
    seed=st.integers(0, 2**16),
)
def test_matches_scipy_for_any_parameters(
    n_times, nperseg, overlap_frac, sfreq, window, seed
):
    nperseg = min(nperseg, n_times)
    noverlap = min(int(overlap_frac * nperseg), nperseg - 1)
    X = np.random.default_rng(seed).normal(scale=20, size=(3, n_times))
    spec = EpochSpectrogram(
        sfreq=sfreq,
        epoch_duration=None,
        nperseg=nperseg,
        noverlap=noverlap,
        window=window,
    )
    S = spec.fit_transform(X)
    _, _, expected = spectrogram(
        X, fs=sfreq, window=window, nperseg=nperseg, noverlap=noverlap, axis=-1
    )
    assert S.shape == (3, expected.shape[1] * expected.shape[2])
    assert spec.spectrogram_shape_ == expected.shape[1:]
    np.testing.assert_allclose(
        S.reshape(expected.shape), expected, rtol=1e-3, atol=1e-5 * expected.max()
    )


def test_log_power(raw_epochs):
    X = raw_epochs[0][:5]
    power = EpochSpectrogram().fit_transform(X)
    logp = EpochSpectrogram(log=True, log_offset=1e-3).fit_transform(X)
    np.testing.assert_allclose(logp, np.log10(power + 1e-3), rtol=1e-5, atol=1e-5)


def test_peak_at_sine_frequency():
    t = np.arange(3000) / 100
    X = np.stack([30 * np.sin(2 * np.pi * f * t) for f in (2.0, 10.0, 13.0)])
    spec = EpochSpectrogram().fit(X)
    S = spec.transform(X).reshape(3, *spec.spectrogram_shape_)
    peaks = spec.frequencies_[S.mean(axis=2).argmax(axis=1)]
    np.testing.assert_array_equal(peaks, [2.0, 10.0, 13.0])


def test_stateless_transform_without_fit(raw_epochs):
    X = raw_epochs[0][:3]
    np.testing.assert_array_equal(
        EpochSpectrogram().transform(X), EpochSpectrogram().fit(X).transform(X)
    )


def test_feature_names(raw_epochs):
    spec = EpochSpectrogram().fit(raw_epochs[0][:2])
    names = spec.get_feature_names_out()
    assert len(names) == 51 * 59
    assert names[0] == "psd_0Hz_0.5s"
    assert names[59] == "psd_1Hz_0.5s"  # frequency-major
    assert names[-1] == "psd_50Hz_29.5s"


@pytest.mark.parametrize(
    ("params", "n_times", "match"),
    [
        ({}, 2999, r"2999 samples.*sfreq=100.0 Hz x epoch_duration=30.0 s = 3000"),
        ({}, 7680, r"Resample the signal to 100.0 Hz"),
        ({"sfreq": 256.0}, 3000, r"= 7680"),
        ({"epoch_duration": None, "nperseg": 200}, 100, "shorter than nperseg=200"),
        ({"noverlap": 100}, 3000, "noverlap=100 must be smaller than nperseg=100"),
    ],
)
def test_wrong_epoch_length_or_parameters(params, n_times, match):
    X = np.zeros((2, n_times))
    with pytest.raises(ValueError, match=match):
        EpochSpectrogram(**params).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_epochs_rejected(bad):
    X = np.zeros((2, 3000))
    X[1, 10] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        EpochSpectrogram().fit_transform(X)


def test_wrong_rank_rejected():
    with pytest.raises(ValueError, match=r"2-D array \(n_epochs, n_times\); got 3 dim"):
        EpochSpectrogram().fit(np.zeros((2, 3, 3000)))


@pytest.mark.parametrize(("fmax", "n_freqs"), [(30, 31), (30.5, 31), (0, 1), (100, 51)])
def test_fmax_keeps_the_low_rows(raw_epochs, fmax, n_freqs):
    X = raw_epochs[0][:4]
    full = EpochSpectrogram().fit(X)
    cut = EpochSpectrogram(fmax=fmax).fit(X)
    assert cut.spectrogram_shape_ == (n_freqs, 59)
    np.testing.assert_array_equal(cut.frequencies_, full.frequencies_[:n_freqs])
    np.testing.assert_array_equal(
        cut.transform(X).reshape(4, n_freqs, 59),
        full.transform(X).reshape(4, 51, 59)[:, :n_freqs],
    )


# -- any numeric dtype, rows independent of the batch (reliability) ------------------


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.float64])
def test_spectrogram_gives_the_same_result_for_any_numeric_dtype(raw_epochs, dtype):
    X = np.round(raw_epochs[0][:20]).astype(np.int16)  # exact in every dtype
    reference = EpochSpectrogram().fit_transform(X.astype(np.float32))
    out = EpochSpectrogram().fit_transform(X.astype(dtype))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, reference)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),  # across the 128-epoch chunks of the transform
    n_times=st.integers(40, 160),
    nperseg=st.integers(4, 40),
    log=st.booleans(),
    dtype=numeric_dtypes,
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_spectrogram_contract_for_any_input(
    n, n_times, nperseg, log, dtype, seed, data
):
    rng = np.random.default_rng(seed)
    X = (rng.normal(scale=50, size=(n, n_times))).astype(dtype)
    spec = EpochSpectrogram(
        sfreq=100.0,
        epoch_duration=None,
        nperseg=nperseg,
        noverlap=nperseg // 2,
        log=log,
    )
    S = spec.fit_transform(X)
    n_freqs, n_segments = spec.spectrogram_shape_
    assert S.shape == (n, n_freqs * n_segments) and S.dtype == np.float32
    assert np.all(np.isfinite(S))
    if not log:
        assert np.all(S >= 0)  # power
    # Each row depends on its own epoch only: any subset, any order.
    rows = data.draw(any_rows(n), label="rows")
    np.testing.assert_array_equal(spec.transform(X[rows]), S[rows])
