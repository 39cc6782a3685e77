"""make_pipeline: scaling, balancing in fit only, classification; tuning."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)

from skdreamy import EpochSpectrogram, SpectrogramScaler, make_pipeline
from skdreamy.sampling import ClassBalancer
from tests.conftest import tiny_classifier


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
