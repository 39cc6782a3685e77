"""Tests of skdreamy.metrics: sleep_scores and cross_validate_stages."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    LeaveOneGroupOut,
    ShuffleSplit,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
)
from sklearn.svm import LinearSVC

from skdreamy import make_pipeline
from skdreamy.metrics import cross_validate_stages, sleep_scores
from tests.conftest import thread_count_independent, tiny_classifier

NAMES = ["W", "N1", "N2", "N3", "REM"]

# A hand-built night: every stage present, a few typical confusions.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4])
Y_PRED = np.array([0, 0, 1, 2, 1, 2, 2, 3, 2, 3, 2, 4, 1, 4])


# -- sleep_scores --------------------------------------------------------------


def test_sleep_scores_match_sklearn():
    scores = sleep_scores(Y_TRUE, Y_PRED)
    assert scores["accuracy"] == pytest.approx(accuracy_score(Y_TRUE, Y_PRED))
    assert scores["accuracy"] == pytest.approx(9 / 14)
    assert scores["f1_micro"] == pytest.approx(scores["accuracy"])
    assert scores["f1_macro"] == pytest.approx(
        f1_score(Y_TRUE, Y_PRED, average="macro")
    )
    assert scores["cohen_kappa"] == pytest.approx(cohen_kappa_score(Y_TRUE, Y_PRED))
    assert list(scores["per_class_f1"]) == NAMES
    assert list(scores["per_class_f1"].values()) == pytest.approx(
        f1_score(Y_TRUE, Y_PRED, average=None).tolist()
    )
    assert scores["confusion_matrix"] == confusion_matrix(Y_TRUE, Y_PRED).tolist()
    assert scores["confusion_matrix"][0] == [2, 1, 0, 0, 0]  # rows are true W
    assert scores["labels"] == NAMES
    assert scores["n_epochs"] == 14


def test_sleep_scores_are_plain_json():
    scores = sleep_scores(Y_TRUE, Y_PRED)
    assert json.loads(json.dumps(scores, allow_nan=False)) == scores
    assert type(scores["accuracy"]) is float
    assert all(type(v) is int for row in scores["confusion_matrix"] for v in row)


def test_absent_stage_is_none_and_left_out_of_macro_f1():
    y_true = [0, 0, 2, 2, 4]  # no N1, no N3 anywhere
    y_pred = [0, 2, 2, 2, 4]
    scores = sleep_scores(y_true, y_pred)
    assert scores["per_class_f1"]["N1"] is None
    assert scores["per_class_f1"]["N3"] is None
    assert scores["per_class_f1"]["N2"] == pytest.approx(0.8)
    # Mean over the three stages present, as sklearn's default labels.
    assert scores["f1_macro"] == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    assert scores["f1_macro"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )
    assert scores["f1_macro"] > f1_score(
        y_true, y_pred, labels=range(5), average="macro", zero_division=0
    )
    # The matrix still covers all five stages.
    assert np.shape(scores["confusion_matrix"]) == (5, 5)
    assert scores["confusion_matrix"][1] == [0, 0, 0, 0, 0]


def test_stage_predicted_but_never_scored_counts_as_zero():
    scores = sleep_scores([0, 0, 2, 2], [0, 1, 2, 2])
    assert scores["per_class_f1"]["N1"] == 0.0
    assert scores["f1_macro"] == pytest.approx((2 / 3 + 0.0 + 1.0) / 3)


def test_stage_names_give_the_same_scores_as_codes():
    names = np.array(NAMES)
    by_code = sleep_scores(Y_TRUE, Y_PRED)
    by_name = sleep_scores(names[Y_TRUE], names[Y_PRED])
    assert by_name == by_code
    partial = sleep_scores(["REM", "W", "W"], ["REM", "W", "N2"])
    assert partial["labels"] == NAMES
    assert partial["per_class_f1"] == {
        "W": pytest.approx(2 / 3),
        "N1": None,
        "N2": 0.0,
        "N3": None,
        "REM": 1.0,
    }


def test_float_stage_codes_are_stages():
    scores = sleep_scores(Y_TRUE.astype(float), Y_PRED.astype(float))
    assert scores == sleep_scores(Y_TRUE, Y_PRED)


def test_other_labels_are_sorted_and_keyed_by_str():
    scores = sleep_scores(["b", "a", "c", "a"], ["b", "a", "a", "a"])
    assert scores["labels"] == ["a", "b", "c"]
    assert scores["per_class_f1"] == {"a": 0.8, "b": 1.0, "c": 0.0}
    codes = sleep_scores([0, 7, 7], [0, 7, 0])
    assert codes["labels"] == ["W", "7"]


def test_explicit_labels_set_the_order():
    scores = sleep_scores(Y_TRUE, Y_PRED, labels=[4, 3, 2, 1, 0])
    assert scores["labels"] == NAMES[::-1]
    assert scores["confusion_matrix"] == (
        confusion_matrix(Y_TRUE, Y_PRED, labels=[4, 3, 2, 1, 0]).tolist()
    )
    assert scores["accuracy"] == sleep_scores(Y_TRUE, Y_PRED)["accuracy"]


def test_explicit_labels_must_cover_every_label():
    with pytest.raises(ValueError, match=r"labels \[4\] that are not in labels"):
        sleep_scores(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="must not repeat"):
        sleep_scores([0, 1], [0, 1], labels=[0, 1, 1])
    with pytest.raises(ValueError, match="empty list"):
        sleep_scores([0, 1], [0, 1], labels=[])


def test_undefined_kappa_is_none_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = sleep_scores([2, 2, 2], [2, 2, 2])
    assert scores["cohen_kappa"] is None
    assert scores["accuracy"] == 1.0
    assert scores["f1_macro"] == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        sleep_scores([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        sleep_scores([], [])
    with pytest.raises(ValueError, match="Mix of label input types"):
        sleep_scores([0, 1], ["W", "N1"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60)
)
def test_sleep_scores_properties(pairs):
    y_true, y_pred = (np.array(v) for v in zip(*pairs, strict=True))
    scores = sleep_scores(y_true, y_pred)
    assert scores["accuracy"] == pytest.approx(scores["f1_micro"])
    assert 0.0 <= scores["f1_macro"] <= 1.0
    kappa = scores["cohen_kappa"]
    assert kappa is None or -1.0 - 1e-12 <= kappa <= 1.0 + 1e-12
    cm = np.array(scores["confusion_matrix"])
    assert cm.shape == (5, 5)
    assert cm.sum() == scores["n_epochs"] == len(y_true)
    assert np.trace(cm) / cm.sum() == pytest.approx(scores["accuracy"])
    present = set(y_true) | set(y_pred)
    for code, name in enumerate(NAMES):
        assert (scores["per_class_f1"][name] is None) == (code not in present)
    assert scores["f1_macro"] == pytest.approx(
        np.mean([v for v in scores["per_class_f1"].values() if v is not None])
    )


# -- cross_validate_stages -------------------------------------------------------


def _stage_features(n_per_stage=12, n_subjects=3, noise=0.6, seed=0):
    """Noisy 2-D features of the five stages, balanced over subjects."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(5), n_per_stage * n_subjects)
    groups = np.repeat(np.arange(n_subjects), 5 * n_per_stage)
    X = np.c_[y, -y] + rng.normal(scale=noise, size=(len(y), 2))
    return X, y, groups


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """LogisticRegression that counts its fits (class-level, survives clone)."""

    n_fits = 0

    def fit(self, X, y):
        type(self).n_fits += 1
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_cv_fits_once_per_fold_and_matches_cross_val_predict():
    X, y, groups = _stage_features()
    CountingClassifier.n_fits = 0
    res = cross_validate_stages(
        CountingClassifier(), X, y, groups=groups, cv=LeaveOneGroupOut()
    )
    assert CountingClassifier.n_fits == 3
    expected = cross_val_predict(
        LogisticRegression(), X, y, groups=groups, cv=LeaveOneGroupOut()
    )
    np.testing.assert_array_equal(res.y_pred, expected)
    assert res.scores == sleep_scores(y, expected)
    assert [s["test_groups"] for s in res.fold_scores] == [[0], [1], [2]]
    assert [s["n_test"] for s in res.fold_scores] == [60, 60, 60]
    assert [s["n_train"] for s in res.fold_scores] == [120, 120, 120]
    np.testing.assert_array_equal(res.fold, groups)
    assert res.fit_time.shape == res.predict_time.shape == (3,)
    assert np.all(res.fit_time > 0)


def test_cv_per_fold_scores_and_summary():
    X, y, groups = _stage_features()
    res = cross_validate_stages(LogisticRegression(), X, y, groups=groups, cv=3)
    assert isinstance(res.fold_scores[0]["cohen_kappa"], float)
    for i, (fold_scores, test) in enumerate(
        zip(res.fold_scores, res.test_indices, strict=True)
    ):
        assert fold_scores["fold"] == i
        expected = sleep_scores(y[test], res.y_pred[test], labels=range(5))
        assert {k: fold_scores[k] for k in expected} == expected
    for name in ("accuracy", "f1_micro", "f1_macro", "cohen_kappa"):
        values = [s[name] for s in res.fold_scores]
        assert res.mean_scores[name] == pytest.approx(np.mean(values))
        assert res.std_scores[name] == pytest.approx(np.std(values))
    assert 0.5 < res.scores["accuracy"] < 1.0  # noisy: a real, imperfect score
    assert all(s["history"] is None for s in res.fold_scores)  # not a Keras model


def test_cv_with_groups_defaults_to_group_k_fold():
    X, y, groups = _stage_features(n_subjects=4)
    res = cross_validate_stages(LogisticRegression(), X, y, groups=groups, cv=2)
    assert len(res.fold_scores) == 2
    for test in res.test_indices:
        train = np.setdiff1d(np.arange(len(y)), test)
        assert not set(groups[test]) & set(groups[train])
    expected = cross_val_predict(
        LogisticRegression(), X, y, groups=groups, cv=GroupKFold(2)
    )
    np.testing.assert_array_equal(res.y_pred, expected)


def test_cv_without_groups_is_stratified():
    X, y, _ = _stage_features()
    res = cross_validate_stages(LogisticRegression(), X, y)
    assert len(res.fold_scores) == 5
    for test in res.test_indices:
        counts = np.bincount(y[test], minlength=5)  # 36 per stage in 5 folds
        assert set(counts.tolist()) <= {7, 8}
    assert res.fold_scores[0]["test_groups"] is None


def test_cv_fold_without_a_stage_in_training_still_runs():
    X, y, groups = _stage_features()
    keep = (y != 4) | (groups == 2)  # REM only in subject 2
    X, y, groups = X[keep], y[keep], groups[keep]
    res = cross_validate_stages(
        LogisticRegression(),
        X,
        y,
        groups=groups,
        cv=LeaveOneGroupOut(),
        return_proba=True,
    )
    last = res.fold_scores[2]
    assert last["train_labels"] == ["W", "N1", "N2", "N3"]
    assert last["per_class_f1"]["REM"] == 0.0  # tested, never predictable
    assert res.fold_scores[0]["per_class_f1"]["REM"] is None  # absent from fold
    test = res.test_indices[2]
    assert not np.any(res.y_pred[test] == 4)
    np.testing.assert_array_equal(res.proba[test, 4], 0.0)
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(res.labels, np.arange(5))


def test_cv_string_labels_keep_their_full_names():
    X, y, groups = _stage_features()
    names = np.array(NAMES)[y]
    res = cross_validate_stages(
        LogisticRegression(), X, names, groups=groups, cv=LeaveOneGroupOut()
    )
    assert set(res.y_pred) <= set(NAMES)
    assert "REM" in set(res.y_pred)  # not cut to 'RE' by a fold's dtype
    assert res.scores["labels"] == NAMES


def test_cv_return_proba_matches_the_estimator():
    X, y, groups = _stage_features()
    res = cross_validate_stages(
        LogisticRegression(), X, y, groups=groups, cv=3, return_proba=True
    )
    expected = cross_val_predict(
        LogisticRegression(),
        X,
        y,
        groups=groups,
        cv=GroupKFold(3),
        method="predict_proba",
    )
    np.testing.assert_allclose(res.proba, expected)
    assert cross_validate_stages(LogisticRegression(), X, y, cv=2).proba is None


def test_cv_refuses_what_it_cannot_do():
    X, y, groups = _stage_features()
    with pytest.raises(ValueError, match="partition the epochs"):
        cross_validate_stages(
            LogisticRegression(), X, y, cv=ShuffleSplit(3, random_state=0)
        )
    with pytest.raises(ValueError, match="LinearSVC has none"):
        cross_validate_stages(LinearSVC(), X, y, return_proba=True)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cross_validate_stages(LogisticRegression(), X, y, groups=groups[:-1])
    with pytest.raises(
        TypeError, match=r"progress.* instance of .bool.* or a callable"
    ):
        cross_validate_stages(LogisticRegression(), X, y, progress="yes")


def test_cv_names_the_fold_that_failed():
    X, y, _ = _stage_features()
    X = X.copy()
    X[-1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN") as info:
        cross_validate_stages(LogisticRegression(), X, y, cv=KFold(3))
    assert "in fold 0 of 3" in "\n".join(info.value.__notes__)


def test_cv_progress_callback_and_bar(capsys):
    X, y, groups = _stage_features()
    calls = []
    cross_validate_stages(
        LogisticRegression(),
        X,
        y,
        groups=groups,
        cv=LeaveOneGroupOut(),
        progress=lambda i, n, scores: calls.append((i, n, scores["test_groups"])),
    )
    assert calls == [(0, 3, [0]), (1, 3, [1]), (2, 3, [2])]
    cross_validate_stages(LogisticRegression(), X, y, cv=2, progress=True)
    err = capsys.readouterr().err
    assert "cross-validation" in err
    assert "2/2" in err


def test_cv_parallel_gives_the_same_result():
    from joblib import parallel_config

    X, y, groups = _stage_features()
    serial = cross_validate_stages(LogisticRegression(), X, y, groups=groups, cv=3)
    with parallel_config(backend="threading"):
        parallel = cross_validate_stages(
            LogisticRegression(), X, y, groups=groups, cv=3, n_jobs=2
        )
    np.testing.assert_array_equal(parallel.y_pred, serial.y_pred)
    assert parallel.scores == serial.scores


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::skdreamy.sampling.MissingStageWarning")
def test_cv_runs_the_cnn_pipeline_subject_wise(spectrograms):
    from conftest import tiny_classifier

    from skdreamy import make_pipeline
    from skdreamy.sampling import MissingStageWarning

    X, y, groups = spectrograms
    keep = (y != 4) | (groups == 1)  # REM only in subject 1
    X, y, groups = X[keep][::3], y[keep][::3], groups[keep][::3]
    pipe = make_pipeline(n_per_class=20, classifier=tiny_classifier(), random_state=0)
    with pytest.warns(MissingStageWarning):
        res = cross_validate_stages(
            pipe, X, y, groups=groups, cv=LeaveOneGroupOut(), return_proba=True
        )
    assert len(res.fold_scores) == 3
    assert res.fold_scores[1]["train_labels"] == ["W", "N1", "N2", "N3"]
    assert res.proba.shape == (len(y), 5)
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(res.proba[res.test_indices[1], 4], 0.0)
    assert set(np.unique(res.y_pred)) <= set(range(5))
    assert res.scores["n_epochs"] == len(y)
    # The training curves of each fold's own model (2 epochs each).
    histories = [s["history"] for s in res.fold_scores]
    assert all(set(h) == {"loss", "accuracy"} for h in histories)
    assert all(len(h["loss"]) == 2 for h in histories)
    assert histories[0]["loss"] != histories[1]["loss"]
    json.dumps(histories)  # plain floats, for report.json


# -- folds: rare classes, few subjects, single-class folds (reliability) -------------


def _features(y, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[y, -y] + rng.normal(scale=0.5, size=(len(y), 2))


def test_class_with_fewer_rows_than_folds_warns_and_still_covers_every_epoch():
    y = np.repeat([0, 2, 3], 20)
    y[0] = 1  # N1: a single epoch, for 5 stratified folds
    X = _features(y)
    with pytest.warns(
        UserWarning, match=r"least populated class in y has only 1 members.*n_splits=5"
    ):
        res = cross_validate_stages(LogisticRegression(), X, y, cv=5)
    assert np.all(res.fold >= 0) and res.y_pred.shape == y.shape
    # The fold that tests the lone N1 epoch trained without N1.
    lone = res.fold[0]
    assert "N1" not in res.fold_scores[lone]["train_labels"]
    with pytest.warns(UserWarning, match="least populated class"):
        scores = cross_val_score(LogisticRegression(), X, y, cv=5)
    assert np.all(np.isfinite(scores))


def test_fewer_subjects_than_folds_is_refused():
    y = np.tile([0, 2], 15)
    with pytest.raises(
        ValueError, match="n_splits=5 greater than the number of groups: 3"
    ):
        cross_validate_stages(
            LogisticRegression(), _features(y), y, groups=np.arange(30) % 3
        )
    with pytest.raises(ValueError, match="greater than the number of groups"):
        cross_val_score(
            LogisticRegression(),
            _features(y),
            y,
            groups=np.arange(30) % 3,
            cv=GroupKFold(5),
        )


def test_fold_left_with_a_single_class_names_the_fold():
    y = np.zeros(40, dtype=int)
    y[:4] = 2  # all in the first of 4 unshuffled folds
    with pytest.raises(ValueError, match=r"needs at least 2 classes.*\[0\]") as info:
        cross_validate_stages(tiny_classifier(), np.zeros((40, 3009)), y, cv=KFold(4))
    assert "(in fold 0 of 4 of cross_validate_stages)" in info.value.__notes__


# -- properties for any valid input (reliability) ------------------------------------


NAME_ARRAY = np.array(NAMES)


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
    _assert_same_scores(sleep_scores(NAME_ARRAY[y_true], NAME_ARRAY[y_pred]), scores)
    # An explicit label order permutes the matrix and nothing else.
    labels = np.random.default_rng(seed).permutation(5)
    reordered = sleep_scores(y_true, y_pred, labels=labels)
    cm = np.array(scores["confusion_matrix"])
    np.testing.assert_array_equal(
        reordered["confusion_matrix"], cm[np.ix_(labels, labels)]
    )
    names = NAME_ARRAY[labels].tolist()
    assert reordered["labels"] == names
    assert list(reordered["per_class_f1"]) == names
    del reordered["labels"], reordered["confusion_matrix"]
    reordered["per_class_f1"] = {n: reordered["per_class_f1"][n] for n in NAME_ARRAY}
    _assert_same_scores(
        reordered,
        {k: v for k, v in scores.items() if k not in ("labels", "confusion_matrix")},
    )


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


# -- same result for any n_jobs (reliability) ----------------------------------------


@pytest.mark.slow
@thread_count_independent
def test_cross_validation_does_not_depend_on_n_jobs(raw_epochs):
    """Folds fitted in worker processes (joblib's loky) give the same result.

    With the CNN: TensorFlow's results do not depend on the BLAS thread count
    that loky lowers in its workers. (scikit-learn's lbfgs LogisticRegression
    on float32 does: its coefficients differ in the 3rd digit between 1 and 2
    BLAS threads, so it is not used here.)
    """
    X, y, groups = raw_epochs
    X, y, groups = X[::2], y[::2], groups[::2]
    pipe = make_pipeline(
        raw=True,
        n_per_class=20,
        classifier=tiny_classifier(epochs=1),
        random_state=0,
    )
    results = {
        n_jobs: cross_validate_stages(
            pipe, X, y, groups=groups, cv=3, return_proba=True, n_jobs=n_jobs
        )
        for n_jobs in (1, 2)
    }
    np.testing.assert_array_equal(results[1].y_pred, results[2].y_pred)
    np.testing.assert_array_equal(results[1].proba, results[2].proba)
    assert results[1].scores == results[2].scores
    cv = GroupKFold(3)
    serial, parallel = (
        cross_val_predict(pipe, X, y, groups=groups, cv=cv, n_jobs=n_jobs)
        for n_jobs in (1, 2)
    )
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial, results[1].y_pred)
