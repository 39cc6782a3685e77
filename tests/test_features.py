"""SpectralFeatures, and the "features" and "ensemble" presets built on it."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold

from skdreamy import SpectralFeatures, load, make_pipeline, save
from skdreamy.preprocessing import EpochSpectrogram
from skdreamy.sampling import ClassBalancer


def power(n_epochs, n_freqs, n_times, seed=0):
    return np.random.default_rng(seed).gamma(
        2.0, 10.0, size=(n_epochs, n_freqs, n_times)
    )


def batches(min_freqs=2):
    """Power spectrograms (n_epochs, n_freqs, n_times), 1 Hz per row."""
    return st.tuples(
        st.integers(1, 6), st.integers(min_freqs, 40), st.integers(1, 8)
    ).flatmap(
        lambda shape: arrays(
            np.float64,
            shape,
            elements=st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False),
        )
    )


spectrogram_batches = batches()


@settings(max_examples=40, deadline=None)
@given(S=spectrogram_batches, relative=st.booleans(), bands=st.booleans())
def test_shape_names_and_finiteness(S, relative, bands):
    n_freqs = S.shape[1]
    features = SpectralFeatures(
        spectrogram_shape=None, fmin=1.0, fmax=None, relative=relative, bands=bands
    )
    F = features.fit_transform(S)
    n_rows = n_freqs - 1  # rows 1 .. n_freqs - 1 Hz
    expected = n_rows * (2 if relative else 1) + (15 if bands else 0)
    assert F.shape == (len(S), expected)
    assert len(features.get_feature_names_out()) == expected
    assert len(set(features.get_feature_names_out())) == expected
    assert np.isfinite(F).all()  # zero power included
    np.testing.assert_array_equal(features.frequencies_, np.arange(1, n_freqs))


@settings(max_examples=30, deadline=None)
@given(
    S=batches(min_freqs=31),  # every band has rows up to fmax=30 Hz
    gain=st.floats(1e-2, 1e2),
)
def test_a_gain_shifts_the_log_power_and_leaves_the_shape_of_the_spectrum(S, gain):
    # Power far above log_offset, so the offset is negligible.
    S = S + 10.0
    features = SpectralFeatures(spectrogram_shape=None, bands=True)
    F = features.fit_transform(S)
    G = features.transform(S * gain)
    names = features.get_feature_names_out()
    absolute = np.char.startswith(names.astype(str), "logpow_")
    np.testing.assert_allclose(
        G[:, absolute] - F[:, absolute], np.log10(gain), atol=1e-5
    )
    variability = np.char.startswith(names.astype(str), "std_")
    invariant = ~absolute & ~variability
    np.testing.assert_allclose(G[:, invariant], F[:, invariant], atol=1e-5)
    np.testing.assert_allclose(G[:, variability], F[:, variability], atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(S=spectrogram_batches.filter(lambda S: len(S) >= 2))
def test_each_epoch_is_transformed_on_its_own(S):
    features = SpectralFeatures(spectrogram_shape=None, fmax=None, bands=True).fit(S)
    F = features.transform(S)
    np.testing.assert_allclose(features.transform(S[1:]), F[1:], atol=1e-9)
    np.testing.assert_allclose(features.transform(S[::-1]), F[::-1], atol=1e-9)


def test_matches_the_mean_log_power_per_row():
    S = power(5, 51, 59)
    F = SpectralFeatures().fit_transform(S.reshape(5, -1))
    rows = np.log10(S + 1e-6).mean(axis=2)[:, 1:31]
    np.testing.assert_allclose(F[:, :30], rows)
    # Relative to the mean log power over 1-25 Hz (relative_band).
    level = np.log10(S + 1e-6)[:, 1:26].mean(axis=(1, 2))[:, None]
    np.testing.assert_allclose(F[:, 30:], rows - level)
    names = SpectralFeatures().fit(S).get_feature_names_out()
    assert names[0] == "logpow_1Hz" and names[30] == "relpow_1Hz"


def test_bands_follow_the_frequency_resolution():
    # 0.5 Hz rows: delta holds 0.5-3.5 Hz, a 2 Hz sine's power.
    S = np.full((1, 61, 4), 1e-3)
    S[0, 4] = 100.0  # row 4 = 2 Hz
    features = SpectralFeatures(
        spectrogram_shape=(61, 4), frequency_resolution=0.5, bands=True
    ).fit(S)
    F = dict(
        zip(features.get_feature_names_out(), features.transform(S)[0], strict=True)
    )
    assert features.frequencies_[0] == 1.0 and features.frequencies_[-1] == 30.0
    assert F["band_delta"] > -0.01  # almost all the power
    assert F["band_alpha"] < -4
    assert F["ratio_delta_theta"] > 4


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="relative_band"):
        SpectralFeatures(spectrogram_shape=None, relative_band=(40, 45), fmax=None).fit(
            power(3, 31, 2)
        )
    with pytest.raises(ValueError, match="low <= high"):
        SpectralFeatures(relative_band=(25, 1)).fit(power(3, 51, 59))
    with pytest.raises(ValueError, match="none is left"):
        SpectralFeatures(spectrogram_shape=None, fmin=40).fit(power(3, 10, 1)[..., 0])
    features = SpectralFeatures().fit(power(3, 51, 59))
    with pytest.raises(ValueError, match="negative"):
        features.transform(-power(3, 51, 59))
    with pytest.raises(ValueError, match="3009 features"):
        features.transform(power(3, 51, 58).reshape(3, -1))
    with pytest.raises(ValueError, match="spectrogram_shape"):
        features.transform(power(3, 51, 58))


def test_features_preset(spectrograms, raw_epochs):
    pipe = make_pipeline(preset="features", random_state=2)
    assert [name for name, _ in pipe.steps] == ["features", "balance", "classify"]
    params = pipe.get_params()
    assert isinstance(pipe["classify"], RandomForestClassifier)
    assert params["classify__random_state"] == 2
    assert params["balance__n_per_class"] is None
    assert make_pipeline(preset="features", n_per_class=50)["balance"].n_per_class == 50
    X, y, _ = spectrograms
    pipe.fit(X[:400], y[:400])
    proba = pipe.predict_proba(X[400:])
    assert proba.shape == (200, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert pipe.score(X[400:], y[400:]) > 0.5  # synthetic stages are separable
    # Raw epochs: the spectrogram step's frequency rows reach the features.
    raw = make_pipeline(
        preset="features", raw=True, spectrogram=EpochSpectrogram(nperseg=200)
    )
    assert raw["features"].frequency_resolution == 0.5
    assert raw["features"].spectrogram_shape == raw["spectrogram"].expected_shape()
    Xr, yr, _ = raw_epochs
    assert raw.fit(Xr[:200], yr[:200]).predict(Xr[200:230]).shape == (30,)


def test_features_preset_clones_pickles_and_round_trips(spectrograms, tmp_path):
    X, y, _ = spectrograms
    pipe = make_pipeline(preset="features", random_state=0)
    assert clone(pipe).get_params().keys() == pipe.get_params().keys()
    pipe.fit(X[:300], y[:300])
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(
        again.predict_proba(X[300:]), pipe.predict_proba(X[300:])
    )
    save(pipe, tmp_path / "features.skdreamy")
    loaded = load(tmp_path / "features.skdreamy")
    np.testing.assert_array_equal(loaded.predict(X[300:]), pipe.predict(X[300:]))


def test_features_preset_grid_search(spectrograms):
    X, y, groups = spectrograms
    grid = GridSearchCV(
        make_pipeline(preset="features", random_state=0),
        {"features__bands": [False, True], "classify__n_estimators": [20]},
        cv=GroupKFold(n_splits=3),
    )
    grid.fit(X, y, groups=groups)
    assert set(grid.best_params_) == {"features__bands", "classify__n_estimators"}


def test_wrong_steps_for_the_preset_are_refused():
    with pytest.raises(ValueError, match="scaler"):
        make_pipeline(preset="features", scaler="passthrough")
    with pytest.raises(ValueError, match="features"):
        make_pipeline(preset="accurate", features=SpectralFeatures())
    with pytest.raises(ValueError, match="classifier"):
        make_pipeline(preset="ensemble", classifier=RandomForestClassifier())


def test_ensemble_preset_structure():
    pipe = make_pipeline(preset="ensemble", raw=True, n_per_class=40, random_state=5)
    assert [name for name, _ in pipe.steps] == ["spectrogram", "vote"]
    vote = pipe["vote"]
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert [name for name, _ in vote.estimators] == ["cnn", "features"]
    params = pipe.get_params()
    # Each branch balances its own training epochs, inside its own pipeline.
    assert params["vote__cnn__balance__n_per_class"] == 40
    assert params["vote__features__balance__n_per_class"] == 40
    assert isinstance(params["vote__cnn__balance"], ClassBalancer)
    assert params["vote__cnn__classify__random_state"] == 5
    assert params["vote__features__classify__random_state"] == 5
    assert params["vote__cnn__scale__log"] is True  # the accurate preset's
    auto = make_pipeline(preset="ensemble").get_params()
    assert auto["vote__cnn__balance__n_per_class"] == 100
    assert auto["vote__features__balance__n_per_class"] is None
    assert clone(pipe).get_params().keys() == params.keys()


@pytest.mark.slow
def test_ensemble_preset_fits_votes_and_round_trips(raw_epochs, tmp_path):
    X, y, _ = raw_epochs
    pipe = make_pipeline(preset="ensemble", raw=True, random_state=0)
    pipe.set_params(
        vote__cnn__classify__epochs=1,
        vote__cnn__classify__batch_size=64,
        vote__features__classify__n_estimators=20,
    )
    pipe.fit(X[:400], y[:400])
    proba = pipe.predict_proba(X[400:])
    members = pipe["vote"].named_estimators_
    S = pipe["spectrogram"].transform(X[400:])
    mean = (members["cnn"].predict_proba(S) + members["features"].predict_proba(S)) / 2
    np.testing.assert_allclose(proba, mean, rtol=1e-5, atol=1e-6)
    assert pickle.loads(pickle.dumps(pipe)).predict(X[400:420]).shape == (20,)
    save(pipe, tmp_path / "ensemble.skdreamy")
    loaded = load(tmp_path / "ensemble.skdreamy")
    np.testing.assert_allclose(loaded.predict_proba(X[400:]), proba, atol=1e-5)
