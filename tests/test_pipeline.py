"""make_pipeline: scaling, balancing in fit only, classification; tuning."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)
from sklearn.utils._param_validation import InvalidParameterError

from skdreamy import EpochSpectrogram, SpectrogramScaler, make_pipeline
from skdreamy.metrics import cross_validate_stages
from skdreamy.outofcore import BalancedEpochBatches, fit_out_of_core
from skdreamy.plotting import plot_confusion_matrix, plot_probabilities
from skdreamy.preprocessing import epoch_quality
from skdreamy.sampling import ClassBalancer
from tests.conftest import (
    EMPTY_RAW,
    EMPTY_SPEC,
    FIXTURES,
    any_rows,
    fitted_scaler,
    lr_raw_pipeline,
    tiny_classifier,
)


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """Records what reaches the last step in fit and in predict."""

    def fit(self, X, y):
        self.fit_X_, self.fit_y_ = np.asarray(X), np.asarray(y)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        self.predict_X_ = np.asarray(X)
        return np.full(len(X), self.classes_[0])


def test_steps_and_parameters():
    pipe = make_pipeline(n_per_class=300, random_state=4)
    assert [name for name, _ in pipe.steps] == ["scale", "balance", "classify"]
    assert isinstance(pipe["scale"], SpectrogramScaler)
    assert isinstance(pipe["balance"], ClassBalancer)
    params = pipe.get_params()
    assert params["balance__n_per_class"] == 300
    assert params["balance__random_state"] == 4
    assert params["classify__random_state"] == 4
    assert params["classify__batch_size"] == 16 and params["classify__epochs"] == 25
    assert is_classifier(pipe)
    raw = make_pipeline(raw=True)
    assert isinstance(raw["spectrogram"], EpochSpectrogram)


def test_default_preset_is_the_reference_protocol():
    params = make_pipeline().get_params()
    assert params["balance__n_per_class"] == 1000
    assert params["scale__method"] == "minmax" and params["scale__log"] is False
    assert params["classify__architecture"] == "reference"
    assert make_pipeline(preset="reference").get_params().keys() == params.keys()


@pytest.mark.slow
def test_accurate_preset(spectrograms):
    pipe = make_pipeline(preset="accurate", random_state=3)
    params = pipe.get_params()
    assert params["balance__n_per_class"] == 100
    assert (params["scale__method"], params["scale__per"], params["scale__log"]) == (
        "standard",
        "frequency",
        True,
    )
    assert params["classify__architecture"] == "compact"
    assert params["classify__dense_units"] == 0
    assert (params["classify__dropout"], params["classify__epochs"]) == (0.2, 60)
    assert params["classify__random_state"] == 3
    # What you pass wins over the preset.
    assert (
        make_pipeline(preset="accurate", n_per_class=None)["balance"].n_per_class
        is None
    )
    mine = SpyClassifier()
    assert make_pipeline(preset="accurate", classifier=mine)["classify"] is mine
    # It trains and predicts on raw epochs and on spectrograms.
    X, y, _ = spectrograms
    pipe.set_params(classify__epochs=1).fit(X[:300], y[:300])
    assert pipe.predict(X[300:340]).shape == (40,)
    raw = make_pipeline(preset="accurate", raw=True)
    assert raw.get_params()["scale__log"] is True


def test_balancing_happens_in_fit_only(spectrograms):
    X, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=25, classifier=SpyClassifier(), random_state=0)
    pipe.fit(X[:400], y[:400])
    spy = pipe["classify"]
    assert np.bincount(spy.fit_y_).tolist() == [25] * 5
    pipe.predict(X[400:])
    np.testing.assert_array_equal(spy.predict_X_, pipe["scale"].transform(X[400:]))
    pipe.score(X[400:], y[400:])
    assert len(spy.predict_X_) == 200


def test_raw_pipeline_accepts_raw_epochs(raw_epochs):
    X, y, _ = raw_epochs
    pipe = make_pipeline(raw=True, n_per_class=10, classifier=SpyClassifier())
    pipe.fit(X[:100], y[:100])
    assert pipe["classify"].fit_X_.shape == (50, 3009)


@pytest.mark.slow
def test_cross_val_score_is_stratified_and_scores_f1_micro(spectrograms):
    X, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=30, classifier=tiny_classifier(), random_state=0)
    assert isinstance(check_cv(3, y, classifier=is_classifier(pipe)), StratifiedKFold)
    scores = cross_val_score(pipe, X, y, cv=3, scoring="f1_micro")
    assert scores.shape == (3,)
    assert np.all((scores >= 0) & (scores <= 1))


@pytest.mark.slow
def test_subject_wise_cross_validation_on_raw_epochs(raw_epochs):
    X, y, groups = raw_epochs
    pipe = make_pipeline(
        raw=True, n_per_class=30, classifier=tiny_classifier(), random_state=0
    )
    scores = cross_val_score(
        pipe, X, y, groups=groups, cv=GroupKFold(n_splits=3), scoring="f1_micro"
    )
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


@pytest.fixture(scope="module")
def grid_results(spectrograms):
    X, y, _ = spectrograms
    X, y = X[::2], y[::2]
    grid = {"balance__n_per_class": [15, 30], "classify__dropout": [0.2, 0.5]}
    results = {}
    for n_jobs in (1, 2):
        search = GridSearchCV(
            make_pipeline(classifier=tiny_classifier(epochs=1), random_state=0),
            grid,
            scoring="f1_micro",
            cv=2,
            n_jobs=n_jobs,
        )
        results[n_jobs] = search.fit(X, y)
    return results, X


@pytest.mark.slow
def test_grid_search_runs_with_one_and_two_jobs(grid_results):
    results, X = grid_results
    for search in results.values():
        assert len(search.cv_results_["params"]) == 4
        assert set(search.best_params_) == {"balance__n_per_class", "classify__dropout"}
        assert search.predict(X[:5]).shape == (5,)


@pytest.mark.slow
def test_grid_search_scores_do_not_depend_on_n_jobs(grid_results):
    results, _ = grid_results
    np.testing.assert_array_equal(
        results[1].cv_results_["mean_test_score"],
        results[2].cv_results_["mean_test_score"],
    )


@pytest.mark.slow
def test_fitted_pipeline_pickles_and_clones(spectrograms):
    X, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=20, classifier=tiny_classifier(), random_state=0)
    pipe.fit(X[:300], y[:300])
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(
        restored.predict_proba(X[300:]), pipe.predict_proba(X[300:])
    )
    again = clone(pipe).fit(X[:300], y[:300])
    np.testing.assert_array_equal(
        again.predict_proba(X[300:]), pipe.predict_proba(X[300:])
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_class": 0}, "n_per_class"),
        ({"scaler": "minmax"}, "scaler"),
        ({"classifier": 3}, "classifier"),
        ({"preset": "best"}, "preset"),
        ({"n_per_class": "all"}, "n_per_class"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pipeline(**kwargs)


def test_n_per_class_below_one_via_set_params(spectrograms):
    X, y, _ = spectrograms
    pipe = make_pipeline(classifier=SpyClassifier()).set_params(balance__n_per_class=0)
    with pytest.raises(ValueError, match="n_per_class"):
        pipe.fit(X, y)


def test_subject_wise_grid_search_and_cross_validate(raw_epochs):
    from sklearn.model_selection import LeaveOneGroupOut, cross_validate

    X, y, groups = raw_epochs
    X, y, groups = X[::2], y[::2], groups[::2]
    pipe = make_pipeline(
        raw=True, n_per_class=15, classifier=SpyClassifier(), random_state=0
    )
    search = GridSearchCV(
        pipe,
        {"scale__log": [False, True]},
        cv=LeaveOneGroupOut(),
        scoring="f1_micro",
    ).fit(X, y, groups=groups)
    assert len(search.cv_results_["split2_test_score"]) == 2  # 3 subjects, 3 folds
    result = cross_validate(
        pipe, X, y, groups=groups, cv=LeaveOneGroupOut(), return_indices=True
    )
    for train, test in zip(
        result["indices"]["train"], result["indices"]["test"], strict=True
    ):
        assert not set(groups[train]) & set(groups[test])


# -- bad input across the pipeline's steps (reliability) -----------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: EpochSpectrogram().fit(EMPTY_RAW), r"0 sample\(s\)"),
        (lambda: EpochSpectrogram().transform(EMPTY_RAW), r"0 sample\(s\)"),
        (lambda: SpectrogramScaler().fit(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: SpectrogramScaler().partial_fit(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: fitted_scaler().transform(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: fitted_scaler().inverse_transform(EMPTY_SPEC), r"0 sample\(s\)"),
        (
            lambda: ClassBalancer().fit_resample(np.zeros((0, 3)), np.zeros(0, int)),
            r"0 sample\(s\)",
        ),
        (
            lambda: lr_raw_pipeline().fit(EMPTY_RAW, np.zeros(0, int)),
            r"0 sample\(s\).*EpochSpectrogram",
        ),
        (
            lambda: cross_validate_stages(
                LogisticRegression(), np.zeros((0, 3)), np.zeros(0, int)
            ),
            r"0 sample\(s\)",
        ),
        (
            lambda: BalancedEpochBatches(EMPTY_SPEC, np.zeros(0, int)),
            r"X holds no epochs \(shape \(0, 3009\)\)",
        ),
        (
            lambda: fit_out_of_core(
                make_pipeline(classifier=tiny_classifier()),
                EMPTY_SPEC,
                np.zeros(0, int),
            ),
            "X holds no epochs",
        ),
        (
            lambda: plot_confusion_matrix([], []),
            "empty; there is nothing to score",
        ),
        (
            lambda: plot_probabilities(np.zeros((0, 5))),
            r"non-empty 2-D array .*got shape \(0, 5\)",
        ),
    ],
)
def test_empty_input_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(3000), "Expected 2D array, got 1D array"),
        (np.full((2, 3000), "a"), "could not convert string to float"),
        (np.zeros((2, 3000), dtype=complex), "Complex data not supported"),
        (np.full((2, 3000), -np.inf), "Input X contains infinity"),
        (np.full((2, 3000), np.nan), "Input X contains NaN"),
    ],
)
def test_bad_raw_epochs_at_prediction(raw_pipeline, X, match):
    pipe, _ = raw_pipeline
    with pytest.raises(ValueError, match=match):
        pipe.predict(X)


@pytest.mark.parametrize("log", [False, True])
def test_flat_and_clipped_epochs_get_finite_probabilities(raw_epochs, log):
    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True,
        n_per_class=10,
        scaler=SpectrogramScaler(log=log),
        classifier=LogisticRegression(max_iter=300),
    ).fit(X[:200], y[:200])
    bad = np.stack(
        [
            np.zeros(3000),  # detached electrode
            np.full(3000, 250.0),  # flat at an offset
            np.clip(X[300], -5, 5),  # amplifier in saturation
            np.sign(X[301]) * 1e4,  # railing between two extremes
        ]
    )
    proba = pipe.predict_proba(bad)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert epoch_quality(bad).reason.tolist() == ["flat", "flat", "clipped", "clipped"]


# -- wrong spectrogram_shape at the pipeline level (reliability) ---------------------


@pytest.mark.parametrize(
    ("kwargs", "data", "match"),
    [
        (
            {"spectrogram_shape": (51, 58)},
            "spectrograms",
            r"3009 features per epoch, but spectrogram_shape=\(51, 58\) needs "
            r"51 \* 58 = 2958",
        ),
        ({"spectrogram_shape": (51,)}, "spectrograms", "pair of positive integers"),
        ({"spectrogram_shape": (51, 0)}, "spectrograms", "pair of positive integers"),
        (
            {"spectrogram_shape": (51, 59)},
            "raw",
            r"3000 features per epoch, but spectrogram_shape=\(51, 59\) needs .*3009",
        ),
        (
            {"spectrogram_shape": (51, 59)},
            "transposed",
            r"spectrograms of shape \(59, 51\).*expects spectrogram_shape=\(51, 59\)",
        ),
        (
            {"raw": True, "spectrogram_shape": (51, 60)},
            "raw",
            r"3009 features per epoch, but spectrogram_shape=\(51, 60\) needs .*3060",
        ),
        (
            {"raw": True, "spectrogram": EpochSpectrogram(epoch_duration=90)},
            "raw",
            r"Epochs have 3000 samples, but .*epoch_duration=90 s = 9000",
        ),
    ],
)
def test_wrong_spectrogram_shape_in_a_pipeline(raw_epochs, kwargs, data, match):
    X, y, _ = raw_epochs
    X, y = X[:30], y[:30]
    S = EpochSpectrogram().fit_transform(X)
    inputs = {
        "raw": X,
        "spectrograms": S,
        "transposed": np.swapaxes(S.reshape(30, 51, 59), 1, 2),
    }
    pipe = make_pipeline(
        n_per_class=5, classifier=LogisticRegression(max_iter=50), **kwargs
    )
    with pytest.raises(ValueError, match=match):
        pipe.fit(inputs[data], y)


def test_spectrogram_shape_of_the_wrong_type_is_refused_at_construction():
    with pytest.raises(InvalidParameterError, match="'spectrogram_shape' parameter"):
        make_pipeline(spectrogram_shape="51x59")


def test_raw_epochs_into_a_fitted_spectrogram_pipeline(spectrograms, raw_epochs):
    S, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=5, classifier=LogisticRegression(max_iter=50))
    pipe.fit(S[:30], y[:30])
    with pytest.raises(ValueError, match="3000 features, but SpectrogramScaler is"):
        pipe.predict(raw_epochs[0][:2])


# -- mismatched lengths (reliability) ------------------------------------------------


class _Constant(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda X, y: lr_raw_pipeline().fit(X[:10], y[:9]),
            "X has 10 epochs but y has 9 labels",
        ),
        (
            lambda X, y: (
                make_pipeline(raw=True, classifier=_Constant())
                .fit(X[:10], y[:10])
                .score(X[:10], y[:9])
            ),
            r"inconsistent numbers of samples: \[9, 10\]",
        ),
        (
            lambda X, y: cross_validate_stages(LogisticRegression(), X[:10], y[:9]),
            r"inconsistent numbers of samples: \[10, 9\]",
        ),
        (
            lambda X, y: plot_confusion_matrix(y[:3], y[:2]),
            r"inconsistent numbers of samples: \[3, 2\]",
        ),
        (
            lambda X, y: plot_probabilities(np.full((3, 5), 0.2), onsets=[0, 30]),
            r"one start time per epoch, shape \(3,\), got shape \(2,\)",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::skdreamy.sampling.MissingStageWarning")
def test_mismatched_lengths(raw_epochs, call, match):
    X, y, _ = raw_epochs
    with pytest.raises(ValueError, match=match):
        call(X, y)


# -- fitted pipelines: one label per epoch, in order, for any batch (reliability) ----


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
    rows = data.draw(any_rows(len(X)), label="rows")
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
    rows = data.draw(any_rows(len(X)), label="rows")
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
