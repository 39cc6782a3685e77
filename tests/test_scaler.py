"""SpectrogramScaler: the reference min-max scaling and its grid-search options."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skdreamy import SpectrogramScaler
from tests.conftest import any_rows, numeric_dtypes


@pytest.fixture
def power(rng):
    return rng.gamma(2.0, 10.0, size=(30, 51, 59))


@pytest.mark.parametrize(
    ("method", "sk_scaler"),
    [
        ("minmax", MinMaxScaler()),
        ("standard", StandardScaler()),
        ("robust", RobustScaler()),
    ],
)
def test_per_cell_equals_sklearn_scaler_on_flattened_images(power, method, sk_scaler):
    flat = power.reshape(len(power), -1)
    ours = SpectrogramScaler(method=method).fit_transform(power)
    np.testing.assert_allclose(
        ours, sk_scaler.fit_transform(flat), rtol=1e-5, atol=1e-5
    )


def test_default_is_reference_minmax(power, rng):
    scaler = SpectrogramScaler().fit(power)
    Z = scaler.transform(power)
    assert Z.shape == (30, 3009) and Z.dtype == np.float32
    assert Z.min() == 0.0 and Z.max() == 1.0
    # Each cell spans [0, 1] over the training epochs.
    np.testing.assert_allclose(Z.min(axis=0), 0.0)
    np.testing.assert_allclose(Z.max(axis=0), 1.0, rtol=1e-6)


def test_2d_and_3d_input_agree(power):
    a = SpectrogramScaler().fit(power).transform(power)
    flat = power.reshape(len(power), -1)
    b = SpectrogramScaler().fit(flat).transform(flat)
    c = SpectrogramScaler().fit(flat).transform(power)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_per_frequency_shares_statistics_along_time(power):
    scaler = SpectrogramScaler(method="standard", per="frequency").fit(power)
    assert scaler.center_.shape == (51, 1)
    Z = scaler.transform(power).reshape(power.shape)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1.0, rtol=1e-4)


def test_global_statistics(power):
    scaler = SpectrogramScaler(per="global").fit(power)
    assert scaler.center_.shape == (1, 1)
    Z = scaler.transform(power)
    assert Z.min() == 0.0 and np.isclose(Z.max(), 1.0)


def test_log_power(power):
    Z = SpectrogramScaler(method="standard", per="global", log=True, log_offset=1.0)
    out = Z.fit_transform(power)
    expected = np.log10(power + 1.0)
    expected = (expected - expected.mean()) / expected.std()
    np.testing.assert_allclose(out, expected.reshape(30, -1), rtol=1e-4, atol=1e-5)


def test_clip_keeps_unseen_data_in_unit_range(power, rng):
    scaler = SpectrogramScaler(clip=True).fit(power)
    test = rng.gamma(2.0, 30.0, size=(10, 51, 59))  # wider range than training
    Z = scaler.transform(test)
    assert Z.min() >= 0.0 and Z.max() <= 1.0
    unclipped = SpectrogramScaler().fit(power).transform(test)
    assert unclipped.max() > 1.0


def test_constant_cells_do_not_divide_by_zero(power):
    power = power.copy()
    power[:, 3, :] = 7.0  # a constant frequency row
    for method in ("minmax", "standard", "robust"):
        Z = SpectrogramScaler(method=method).fit_transform(power)
        assert np.all(np.isfinite(Z))
        np.testing.assert_array_equal(Z.reshape(power.shape)[:, 3, :], 0.0)


def test_tiny_values_are_not_mistaken_for_constant(power):
    volts = power * 1e-12  # power in V^2/Hz instead of uV^2/Hz
    np.testing.assert_allclose(
        SpectrogramScaler().fit_transform(volts),
        SpectrogramScaler().fit_transform(power),
        atol=1e-5,
    )


def test_output_saturates_instead_of_overflowing_float32():
    # A training spread of 1e-300 (not constant in float64) and test values of
    # 1e4: the ratio overflows; found by Hypothesis.
    train = np.array([[[1e-300]], [[0.0]]])
    scaler = SpectrogramScaler(spectrogram_shape=(1, 1)).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        Z = scaler.transform(np.array([[[1e4]], [[-0.0]], [[5e-301]]]))
    largest = np.finfo(np.float32).max
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z.ravel(), [largest, 0.0, 0.5])


@pytest.mark.parametrize("method", ["minmax", "standard", "robust"])
@pytest.mark.parametrize("log", [False, True])
def test_inverse_transform_round_trip(power, method, log):
    scaler = SpectrogramScaler(method=method, log=log, per="frequency").fit(power)
    back = scaler.inverse_transform(scaler.transform(power))
    np.testing.assert_allclose(back, power.reshape(30, -1), rtol=1e-3, atol=1e-3)


def test_feature_names_pass_through(power):
    scaler = SpectrogramScaler().fit(power)
    names = scaler.get_feature_names_out()
    assert len(names) == 3009 and names[0] == "x0"


@settings(max_examples=30, deadline=None)
@given(
    images=arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 6), st.integers(1, 7)),
        elements=st.floats(0, 1e4, allow_subnormal=False),
    ),
    method=st.sampled_from(["minmax", "standard", "robust"]),
    per=st.sampled_from(["cell", "frequency", "global"]),
    log=st.booleans(),
)
def test_properties_shape_dtype_range(images, method, per, log):
    n, f, t = images.shape
    scaler = SpectrogramScaler(
        method=method, per=per, log=log, spectrogram_shape=(f, t)
    )
    Z = scaler.fit_transform(images)
    assert Z.shape == (n, f * t)
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    if method == "minmax":
        assert Z.min() >= -1e-6 and Z.max() <= 1 + 1e-6


@pytest.mark.parametrize(
    ("X", "params", "match"),
    [
        (np.zeros((4, 51, 58)), {}, r"spectrograms of shape \(51, 58\).*\(51, 59\)"),
        (np.zeros((4, 100)), {}, r"100 features per epoch.*51 \* 59 = 3009"),
        (np.zeros((4, 2, 51, 59)), {}, "got an array of 4 dimensions"),
        (np.full((4, 3009), np.nan), {}, "NaN"),
        (np.full((4, 3009), -1.0), {"log": True}, "negative"),
        (np.zeros((4, 3009)), {"spectrogram_shape": (51,)}, "pair of positive"),
    ],
)
def test_bad_input(X, params, match):
    with pytest.raises(ValueError, match=match):
        SpectrogramScaler(**params).fit(X)


def test_transform_rejects_other_layout(power):
    scaler = SpectrogramScaler(spectrogram_shape=None).fit(power)
    with pytest.raises(ValueError, match=r"fitted on \(51, 59\)"):
        scaler.transform(np.zeros((2, 59, 51)))


# -- partial_fit: statistics learnt chunk by chunk (out-of-core training) --


def _fit_in_chunks(scaler, images, n_chunks):
    for chunk in np.array_split(images, n_chunks):
        scaler.partial_fit(chunk)
    return scaler


@pytest.mark.parametrize("per", ["cell", "frequency", "global"])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("clip", [False, True])
def test_partial_fit_minmax_equals_fit_bit_for_bit(power, rng, per, log, clip):
    params = dict(per=per, log=log, clip=clip)
    streamed = _fit_in_chunks(SpectrogramScaler(**params), power, 7)
    whole = SpectrogramScaler(**params).fit(power)
    for name in ("center_", "scale_", "data_min_", "data_max_"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(whole, name))
    test = rng.gamma(2.0, 30.0, size=(5, 51, 59))
    np.testing.assert_array_equal(streamed.transform(test), whole.transform(test))
    assert streamed.n_samples_seen_ == whole.n_samples_seen_ == 30


@pytest.mark.parametrize("per", ["cell", "frequency", "global"])
def test_partial_fit_standard_equals_fit_up_to_rounding(power, per):
    streamed = _fit_in_chunks(SpectrogramScaler(method="standard", per=per), power, 4)
    whole = SpectrogramScaler(method="standard", per=per).fit(power)
    np.testing.assert_allclose(streamed.center_, whole.center_, rtol=1e-12)
    np.testing.assert_allclose(streamed.scale_, whole.scale_, rtol=1e-12)
    np.testing.assert_allclose(
        streamed.transform(power), whole.transform(power), rtol=1e-6, atol=1e-6
    )


def test_partial_fit_continues_after_fit(power):
    scaler = SpectrogramScaler(method="standard").fit(power[:10])
    scaler.partial_fit(power[10:])
    whole = SpectrogramScaler(method="standard").fit(power)
    np.testing.assert_allclose(scaler.center_, whole.center_, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, whole.scale_, rtol=1e-12)
    assert scaler.n_samples_seen_ == 30
    # fit starts over.
    assert scaler.fit(power[:3]).n_samples_seen_ == 3


def test_partial_fit_rejects_a_different_layout(power):
    scaler = SpectrogramScaler(spectrogram_shape=None).partial_fit(power[:5])
    with pytest.raises(ValueError, match=r"fitted on \(51, 59\)"):
        scaler.partial_fit(np.zeros((2, 59, 51)))


def test_robust_scaler_has_no_partial_fit(power):
    scaler = SpectrogramScaler(method="robust")
    assert not hasattr(scaler, "partial_fit")
    with pytest.raises(AttributeError, match="no attribute 'partial_fit'") as info:
        scaler.partial_fit(power)
    # The traceback says why (scikit-learn's available_if chains the reason).
    assert "percentiles need all values" in str(info.value.__cause__)


def test_standard_partial_fit_cannot_continue_minmax_statistics(power):
    scaler = SpectrogramScaler().fit(power).set_params(method="standard")
    with pytest.raises(ValueError, match="another method"):
        scaler.partial_fit(power)


# -- any numeric dtype, flat input, unseen epochs (reliability) ----------------------


@pytest.mark.parametrize("method", ["minmax", "standard", "robust"])
def test_scaler_gives_the_same_result_for_any_numeric_dtype(method):
    S = np.random.default_rng(0).integers(0, 1000, size=(25, 51 * 59))
    results = {
        np.dtype(dtype).name: SpectrogramScaler(method=method).fit_transform(
            S.astype(dtype)
        )
        for dtype in (np.int64, np.float32, np.float64)
    }
    for out in results.values():
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, results["float64"])


def test_scaler_log_depends_on_the_input_dtype_only_by_float32_rounding():
    """log10 runs in the input's precision: float32 and float64 differ by ~1 ulp."""
    S = np.random.default_rng(0).gamma(2.0, 10.0, size=(25, 51 * 59))
    scaler = SpectrogramScaler(log=True)
    a = scaler.fit_transform(S.astype(np.float32))
    b = scaler.fit_transform(S.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-6)


def test_scaler_fitted_on_flat_spectrograms_does_not_divide_by_zero():
    flat = np.zeros((6, 3009))
    for method in ("minmax", "standard", "robust"):
        for log in (False, True):
            Z = SpectrogramScaler(method=method, log=log).fit_transform(flat)
            assert np.all(Z == 0.0), (method, log)


@settings(max_examples=30, deadline=None)
@given(
    train=arrays(
        np.float64,
        st.tuples(st.integers(2, 10), st.integers(1, 5), st.integers(1, 6)),
        elements=st.floats(0, 1e4, allow_subnormal=False),
    ),
    method=st.sampled_from(["minmax", "standard", "robust"]),
    per=st.sampled_from(["cell", "frequency", "global"]),
    log=st.booleans(),
    clip=st.booleans(),
    dtype=numeric_dtypes,
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_scaler_contract_on_unseen_epochs(
    train, method, per, log, clip, dtype, seed, data
):
    _, f, t = train.shape
    scaler = SpectrogramScaler(
        method=method, per=per, log=log, clip=clip, spectrogram_shape=(f, t)
    ).fit(train)
    unseen = np.random.default_rng(seed).uniform(0, 2e4, size=(7, f, t)).astype(dtype)
    Z = scaler.transform(unseen)
    assert Z.shape == (7, f * t) and Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    if clip and method == "minmax":
        assert Z.min() >= -1e-6 and Z.max() <= 1 + 1e-6
    np.testing.assert_array_equal(scaler.transform(unseen.reshape(7, -1)), Z)
    rows = data.draw(any_rows(7), label="rows")
    np.testing.assert_array_equal(scaler.transform(unseen[rows]), Z[rows])
    assert scaler.inverse_transform(Z).shape == (7, f * t)
