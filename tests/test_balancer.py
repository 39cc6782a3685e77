"""ClassBalancer: exactly N epochs per class, with imblearn's samplers."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from imblearn.utils.estimator_checks import estimator_checks_generator

from skdreamy.sampling import ClassBalancer, MissingStageWarning


def _data(counts, n_features=3):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y) * n_features, dtype=float).reshape(len(y), n_features)
    return X, y


def test_exact_counts_and_rows_come_from_input():
    X, y = _data([50, 7, 120, 30, 1])
    balancer = ClassBalancer(n_per_class=40, random_state=0)
    Xr, yr = balancer.fit_resample(X, y)
    assert np.bincount(yr).tolist() == [40] * 5
    np.testing.assert_array_equal(Xr, X[balancer.sample_indices_])
    np.testing.assert_array_equal(yr, y[balancer.sample_indices_])
    assert isinstance(balancer.under_sampler_, RandomUnderSampler)
    assert isinstance(balancer.over_sampler_, RandomOverSampler)
    assert balancer.class_counts_ == {0: 50, 1: 7, 2: 120, 3: 30, 4: 1}


def test_under_sampling_draws_without_replacement():
    X, y = _data([100, 100])
    balancer = ClassBalancer(n_per_class=60, random_state=0)
    balancer.fit_resample(X, y)
    assert len(np.unique(balancer.sample_indices_)) == 120


@pytest.mark.filterwarnings("ignore::skdreamy.sampling.MissingStageWarning")
def test_output_is_shuffled_not_sorted_by_class():
    X, y = _data([200, 200, 200])
    _, yr = ClassBalancer(n_per_class=100, random_state=0).fit_resample(X, y)
    assert not np.all(np.diff(yr) >= 0)
    # Every class appears in the last tenth, unlike sorted sampler output.
    assert set(yr[-30:]) == {0, 1, 2}


def test_none_passes_through():
    X, y = _data([5, 2])
    Xr, yr = ClassBalancer(n_per_class=None).fit_resample(X, y)
    np.testing.assert_array_equal(Xr, X)
    np.testing.assert_array_equal(yr, y)


def test_string_labels_and_3d_input():
    y = np.array(["W"] * 6 + ["N2"] * 2 + ["REM"] * 3 + ["N1", "N3"])
    X = np.random.default_rng(0).random((len(y), 4, 5))
    Xr, yr = ClassBalancer(n_per_class=4, random_state=0).fit_resample(X, y)
    assert Xr.shape == (20, 4, 5)
    assert sorted(np.unique(yr, return_counts=True)[1].tolist()) == [4] * 5


def test_same_seed_same_result_and_pickles():
    X, y = _data([30, 10, 5, 8, 12])
    a = ClassBalancer(n_per_class=9, random_state=3)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.fit_resample(X, y)[0], b.fit_resample(X, y)[0])
    fitted = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(fitted.sample_indices_, a.sample_indices_)


def test_missing_stage_warns_and_balances_present_classes():
    X, y = _data([10, 10, 10, 10])  # no REM (code 4)
    with pytest.warns(MissingStageWarning, match=r"Stage\(s\) REM absent"):
        _, yr = ClassBalancer(n_per_class=5, random_state=0).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [5, 5, 5, 5]


def test_no_warning_for_all_stages_or_generic_labels():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassBalancer(n_per_class=3).fit_resample(*_data([4, 4, 4, 4, 4]))
        ClassBalancer(n_per_class=3).fit_resample(
            np.zeros((6, 2)), np.array(["cat", "dog"] * 3)
        )


@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one_rejected(n):
    with pytest.raises(ValueError, match="n_per_class"):
        ClassBalancer(n_per_class=n).fit_resample(*_data([3, 3]))


def test_length_mismatch_rejected_before_sampling():
    X, _ = _data([60, 57])
    with pytest.raises(ValueError, match="X has 117 epochs but y has 114 labels"):
        ClassBalancer(n_per_class=10).fit_resample(X, np.zeros(114, dtype=int))


def test_nan_rejected():
    X, y = _data([3, 3])
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ClassBalancer(n_per_class=2).fit_resample(X, y)


def test_continuous_target_rejected():
    with pytest.raises(ValueError, match="Unknown label type"):
        ClassBalancer(n_per_class=2).fit_resample(
            np.zeros((4, 2)), [0.1, 0.2, 0.3, 0.4]
        )


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=2, max_size=5),
    n=st.integers(1, 60),
    seed=st.integers(0, 1000),
)
def test_property_exact_counts(counts, n, seed):
    X, y = _data(counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingStageWarning)
        balancer = ClassBalancer(n_per_class=n, random_state=seed)
        Xr, yr = balancer.fit_resample(X, y)
    assert np.bincount(yr).tolist() == [n] * len(counts)
    np.testing.assert_array_equal(Xr, X[balancer.sample_indices_])
    # Classes with at least n epochs are under-sampled without duplicates.
    for c, k in enumerate(counts):
        rows = balancer.sample_indices_[yr == c]
        if k >= n:
            assert len(np.unique(rows)) == n
        else:
            assert set(rows) == set(np.flatnonzero(y == c))


# imbalanced-learn's parametrize_with_checks hands pytest a generator, which
# pytest deprecates; its generator, listed, runs the same checks.
IMBLEARN_CHECKS = list(
    estimator_checks_generator(
        ClassBalancer(n_per_class=20, random_state=0), mark="xfail"
    )
)


@pytest.mark.parametrize(
    ("estimator", "check"),
    IMBLEARN_CHECKS,
    ids=[getattr(c, "func", c).__name__ for _, c in IMBLEARN_CHECKS],
)
def test_imblearn_estimator_checks(estimator, check):
    """imbalanced-learn's own checks for samplers (and scikit-learn's); none fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingStageWarning)
        check(estimator)


# -- input dtype and shape kept (reliability) ----------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_balancer_keeps_the_input_dtype_and_values(dtype):
    X = np.arange(40, dtype=dtype).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    Xr, _ = ClassBalancer(n_per_class=7, random_state=0).fit_resample(X, y)
    assert Xr.dtype == dtype
    assert set(map(tuple, Xr.tolist())) <= set(map(tuple, X.tolist()))


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 12), min_size=2, max_size=5),
    n=st.integers(1, 15),
    inner=st.sampled_from([(), (3,), (2, 3)]),
    dtype=st.sampled_from([np.int8, np.float16, np.float32, np.float64]),
    seed=st.integers(0, 1000),
)
def test_balancer_rows_are_input_rows_of_any_shape_and_dtype(
    counts, n, inner, dtype, seed
):
    y = np.repeat(np.arange(len(counts)), counts)
    rng = np.random.default_rng(seed)
    X = rng.integers(-100, 100, size=(len(y), 2, *inner)).astype(dtype)
    balancer = ClassBalancer(n_per_class=n, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingStageWarning)
        Xr, yr = balancer.fit_resample(X, y)
    assert Xr.dtype == dtype and Xr.shape == (n * len(counts), 2, *inner)
    np.testing.assert_array_equal(Xr, X[balancer.sample_indices_])
    np.testing.assert_array_equal(yr, y[balancer.sample_indices_])
