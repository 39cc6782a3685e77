"""Reliability (issue 10): properties of the public API for any valid input.

Extends the property tests of test_spectrogram.py, test_scaler.py,
test_balancer.py, test_context.py, test_metrics.py and test_classifier.py
(which check agreement with SciPy and scikit-learn, value ranges, exact
counts and the classifier's batch independence) with the contracts those do
not cover: any input dtype, rows that do not depend on the rest of the batch,
fitted pipelines (raw epochs in, one label per epoch out, in order) and the
per-epoch results of stage() and cross_validate_stages().
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from skdreamy import EpochSpectrogram, SpectrogramScaler, make_pipeline
from skdreamy.metrics import cross_validate_stages, sleep_scores
from skdreamy.preprocessing import stack_context
from skdreamy.sampling import ClassBalancer, MissingStageWarning
from skdreamy.staging import stage
from tests.conftest import tiny_classifier

NAMES = np.array(["W", "N1", "N2", "N3", "REM"])
FIXTURES = dict(suppress_health_check=[HealthCheck.function_scoped_fixture])

_numeric_dtypes = st.sampled_from(
    [np.int16, np.int32, np.int64, np.float32, np.float64]
)


def _rows(n):
    """Any non-empty selection of ``n`` rows, in any order, repeats allowed."""
    return st.lists(st.integers(0, n - 1), min_size=1, max_size=2 * n)


# -- transformers ------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),  # across the 128-epoch chunks of the transform
    n_times=st.integers(40, 160),
    nperseg=st.integers(4, 40),
    log=st.booleans(),
    dtype=_numeric_dtypes,
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
    rows = data.draw(_rows(n), label="rows")
    np.testing.assert_array_equal(spec.transform(X[rows]), S[rows])


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
    dtype=_numeric_dtypes,
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
    rows = data.draw(_rows(7), label="rows")
    np.testing.assert_array_equal(scaler.transform(unseen[rows]), Z[rows])
    assert scaler.inverse_transform(Z).shape == (7, f * t)


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


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    k=st.integers(0, 3),
    shape=st.sampled_from([(4,), (2, 3)]),
    dtype=st.sampled_from([np.int8, np.uint16, np.float16, np.float32, np.float64]),
)
def test_stack_context_keeps_dtype_and_centre_for_raw_and_spectrograms(
    sizes, k, shape, dtype
):
    nights = np.repeat(np.arange(len(sizes)), sizes)
    X = np.arange(len(nights) * int(np.prod(shape))).reshape(len(nights), *shape)
    X = X.astype(dtype)
    out = stack_context(X, nights, k)
    width = shape[-1]
    assert out.dtype == X.dtype
    assert out.shape == (*X.shape[:-1], width * (2 * k + 1))
    np.testing.assert_array_equal(out[..., k * width : (k + 1) * width], X)
    if k == 0:
        assert out is X


# -- scores ---------------------------------------------------------------------------


def _assert_same_scores(a, b):
    """Equal scores; averages equal up to the rounding of their summation order."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float):
            assert a[key] == pytest.approx(b[key], abs=1e-12), key
        else:
            assert a[key] == b[key], key


@settings(max_examples=50, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40
    ),
    seed=st.integers(0, 1000),
)
def test_sleep_scores_ignore_epoch_order_and_label_spelling(pairs, seed):
    y_true, y_pred = (np.array(v) for v in zip(*pairs, strict=True))
    scores = sleep_scores(y_true, y_pred)
    order = np.random.default_rng(seed).permutation(len(y_true))
    _assert_same_scores(sleep_scores(y_true[order], y_pred[order]), scores)
    _assert_same_scores(sleep_scores(NAMES[y_true], NAMES[y_pred]), scores)
    # An explicit label order permutes the matrix and nothing else.
    labels = np.random.default_rng(seed).permutation(5)
    reordered = sleep_scores(y_true, y_pred, labels=labels)
    cm = np.array(scores["confusion_matrix"])
    np.testing.assert_array_equal(
        reordered["confusion_matrix"], cm[np.ix_(labels, labels)]
    )
    names = NAMES[labels].tolist()
    assert reordered["labels"] == names
    assert list(reordered["per_class_f1"]) == names
    del reordered["labels"], reordered["confusion_matrix"]
    reordered["per_class_f1"] = {n: reordered["per_class_f1"][n] for n in NAMES}
    _assert_same_scores(
        reordered,
        {k: v for k, v in scores.items() if k not in ("labels", "confusion_matrix")},
    )


# -- fitted pipelines: one label per epoch, in order, for any batch ----------------


@pytest.fixture(scope="module")
def lr_pipeline(raw_epochs):
    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True,
        n_per_class=30,
        classifier=LogisticRegression(max_iter=500),
        random_state=0,
    ).fit(X[:300], y[:300])
    return pipe, X[300:]


@pytest.fixture(scope="module")
def cnn_pipeline(raw_epochs):
    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True,
        n_per_class=30,
        scaler=SpectrogramScaler(log=True),
        classifier=tiny_classifier(),
        random_state=0,
    ).fit(X[:300], y[:300])
    return pipe, X[300:]


@settings(max_examples=30, deadline=None, **FIXTURES)
@given(data=st.data())
def test_raw_pipeline_one_label_per_epoch_in_order(lr_pipeline, data):
    pipe, X = lr_pipeline
    full, proba = pipe.predict(X), pipe.predict_proba(X)
    rows = data.draw(_rows(len(X)), label="rows")
    np.testing.assert_array_equal(pipe.predict(X[rows]), full[rows])
    part = pipe.predict_proba(X[rows])
    # float32 matrix products round differently for one row and for many.
    np.testing.assert_allclose(part, proba[rows], rtol=1e-5, atol=1e-7)
    assert part.shape == (len(rows), len(pipe.classes_))
    assert np.all(part >= 0)
    np.testing.assert_allclose(part.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, **FIXTURES)
@given(data=st.data())
def test_cnn_pipeline_one_label_per_epoch_in_order(cnn_pipeline, data):
    pipe, X = cnn_pipeline
    proba = pipe.predict_proba(X)
    rows = data.draw(_rows(len(X)), label="rows")
    part = pipe.predict_proba(X[rows])
    labels = pipe.predict(X[rows])
    assert part.shape == (len(rows), 5) and labels.shape == (len(rows),)
    np.testing.assert_allclose(part, proba[rows], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(part.sum(axis=1), 1.0, rtol=1e-5)
    # Labels are the argmax, whatever the batch; a near-tie could flip on
    # float rounding, so compare where the top two differ clearly.
    top2 = np.sort(proba[rows], axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    np.testing.assert_array_equal(
        labels[clear], pipe.classes_[proba[rows].argmax(axis=1)][clear]
    )


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


@settings(max_examples=15, deadline=None)
@given(
    counts=st.lists(st.integers(4, 9), min_size=2, max_size=5),
    n_folds=st.integers(2, 4),
    stratified=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_cross_validate_stages_predicts_every_epoch_once(
    counts, n_folds, stratified, seed
):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    X = np.c_[y, -y] + rng.normal(scale=0.8, size=(len(y), 2))
    cv = (StratifiedKFold if stratified else KFold)(n_folds)
    try:
        res = cross_validate_stages(
            LogisticRegression(), X, y, cv=cv, return_proba=True
        )
    except ValueError as exc:  # an unstratified fold may train on one class
        assert "in fold" in "".join(exc.__notes__)
        assert "1 class" in str(exc) or "one class" in str(exc)
        return
    assert res.y_pred.shape == y.shape and set(res.y_pred) <= set(y)
    assert sorted(np.concatenate(res.test_indices).tolist()) == list(range(len(y)))
    for i, test in enumerate(res.test_indices):
        assert np.all(res.fold[test] == i)
    assert res.proba.shape == (len(y), 5)  # stage codes: columns W..REM
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(res.proba[:, len(counts) :], 0.0)
    assert res.scores["n_epochs"] == len(y)
