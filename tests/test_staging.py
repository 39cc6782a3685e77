"""Epoch quality checks and staging with bad epochs marked."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from skdreamy import make_pipeline
from skdreamy.preprocessing import epoch_quality, stack_context
from skdreamy.staging import QualityWarning, stage
from tests.conftest import EMPTY_RAW, FIXTURES


@pytest.fixture(scope="module")
def fitted(raw_epochs):
    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True, n_per_class=20, classifier=LogisticRegression(max_iter=300)
    )
    return pipe.fit(X[:300], y[:300]), X[300:].copy()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    bad=st.dictionaries(
        st.integers(0, 29), st.sampled_from(["nan", "inf", "flat", "clip"]), max_size=10
    ),
    seed=st.integers(0, 1000),
)
def test_quality_flags_exactly_the_damaged_epochs(n, bad, seed):
    X = np.random.default_rng(seed).normal(scale=20, size=(n, 500))
    expected = np.full(n, "", dtype=object)
    for i, kind in bad.items():
        if i >= n:
            continue
        if kind in ("nan", "inf"):
            X[i, i % 500] = np.nan if kind == "nan" else -np.inf
            expected[i] = "non-finite"
        elif kind == "flat":
            X[i] = 3.0
            expected[i] = "flat"
        else:
            X[i] = np.clip(X[i], -5, 5)
            expected[i] = "clipped"
    quality = epoch_quality(X)
    assert quality.reason.tolist() == expected.tolist()
    np.testing.assert_array_equal(quality.valid, expected == "")
    assert sum(quality.counts.values()) == np.sum(expected != "")


def test_stage_returns_one_row_per_epoch_in_order(fitted):
    pipe, X = fitted
    result = stage(pipe, X)
    assert len(result.y_pred) == len(X)
    np.testing.assert_array_equal(result.y_pred.astype(int), pipe.predict(X))
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=1e-5)


def test_nan_epochs_raise_by_default_naming_them(fitted):
    pipe, X = fitted
    X = X.copy()
    X[[4, 9], 10] = np.nan
    with pytest.raises(ValueError, match=r"2 of 300 epochs .*epochs 4, 9\)"):
        stage(pipe, X)


def test_mark_skips_bad_epochs_and_keeps_the_rest(fitted):
    pipe, X = fitted
    X = X.copy()
    X[4, 10] = np.inf
    X[5] = 0.0
    X[6] = np.clip(X[6], -3, 3)
    result = stage(pipe, X, invalid="mark")
    assert result.y_pred[4] is None and result.y_pred[5] is None
    assert result.y_pred[6] is None
    assert result.reason[4:7].tolist() == ["non-finite", "flat", "clipped"]
    assert np.isnan(result.proba[4:7]).all()
    good = np.setdiff1d(np.arange(len(X)), [4, 5, 6])
    np.testing.assert_array_equal(
        result.y_pred[good].astype(int), pipe.predict(X[good])
    )


def test_flat_epochs_warn_when_not_marked(fitted):
    pipe, X = fitted
    X = X.copy()
    X[2] = 0.0
    with pytest.warns(QualityWarning, match="1 of 300 epochs are flat or clipped"):
        result = stage(pipe, X)
    assert result.valid.all()


def test_nothing_valid(fitted):
    pipe, _ = fitted
    with pytest.raises(ValueError, match="none of the 3 epochs is valid"):
        stage(pipe, np.zeros((3, 3000)), invalid="mark")


def test_spectrogram_names_the_bad_epochs():
    from skdreamy import EpochSpectrogram

    X = np.zeros((5, 3000))
    X[3, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        EpochSpectrogram().fit_transform(X)


# -- empty nights, damaged epochs (reliability) --------------------------------------


@pytest.mark.parametrize("invalid", ["raise", "mark"])
def test_stage_refuses_an_empty_night(raw_pipeline, invalid):
    pipe, _ = raw_pipeline
    with pytest.raises(ValueError, match=r"X holds no epochs \(shape \(0, 3000\)\)"):
        stage(pipe, EMPTY_RAW, invalid=invalid)
    with pytest.raises(ValueError, match=r"raw epochs \(n_epochs, n_times\).*\(0,\)"):
        stage(pipe, [], invalid=invalid)


def test_empty_input_where_an_empty_result_is_the_answer():
    """Pure per-epoch functions map 0 epochs to 0 rows rather than fail."""
    quality = epoch_quality(EMPTY_RAW)
    assert quality.valid.shape == quality.reason.shape == (0,)
    assert quality.counts == {"non-finite": 0, "flat": 0, "clipped": 0}
    assert stack_context(EMPTY_RAW, [], n_context=2).shape == (0, 5 * 3000)


_damage = st.dictionaries(
    st.integers(0, 39), st.sampled_from(["nan", "inf", "flat", "clip"]), max_size=12
)


@settings(max_examples=25, deadline=None, **FIXTURES)
@given(n=st.integers(1, 40), damage=_damage)
def test_stage_marks_damaged_epochs_and_stages_the_rest_in_order(
    lr_pipeline, n, damage
):
    pipe, X = lr_pipeline
    X = X[:n].copy()
    for i, kind in damage.items():
        if i >= n:
            continue
        if kind == "nan":
            X[i, 100:200] = np.nan
        elif kind == "inf":
            X[i, 7] = np.inf
        elif kind == "flat":
            X[i] = 0.0
        else:
            X[i] = np.clip(X[i], -3, 3)
    valid = np.ones(n, dtype=bool)
    valid[[i for i in damage if i < n]] = False
    if not valid.any():
        with pytest.raises(ValueError, match=f"none of the {n} epochs is valid"):
            stage(pipe, X, invalid="mark")
        return
    result = stage(pipe, X, invalid="mark")
    assert len(result.y_pred) == len(result.reason) == len(result.proba) == n
    np.testing.assert_array_equal(result.valid, valid)
    assert all(label is None for label in result.y_pred[~valid])
    assert np.isnan(result.proba[~valid]).all()
    np.testing.assert_array_equal(
        result.y_pred[valid].astype(int), pipe.predict(X[valid])
    )
    np.testing.assert_allclose(result.proba[valid].sum(axis=1), 1.0, rtol=1e-6)
