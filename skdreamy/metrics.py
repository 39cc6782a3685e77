"""Scores of a sleep staging, and cross-validation that keeps the predictions.

:func:`sleep_scores` gathers the figures a sleep-staging report needs (accuracy,
macro-F1 over the stages present, Cohen's kappa, per-stage F1, confusion
matrix) in one JSON-friendly dict, all computed by :mod:`sklearn.metrics`.
:func:`cross_validate_stages` fits an estimator once per fold and returns the
out-of-fold predictions together with pooled and per-fold scores, for
subject-wise (``groups``) or stratified cross-validation.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import GroupKFold, check_cv
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._stages import STAGE_NAMES, stage_name

#: The scalar scores that :func:`cross_validate_stages` averages over folds.
SUMMARY_SCORES = ("accuracy", "f1_micro", "f1_macro", "cohen_kappa")


def _is_stage_set(values):
    """Whether every label is a stage code (0-4) or every label a stage name."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return bool(np.all((values >= 0) & (values < len(STAGE_NAMES))))
    if values.dtype.kind == "f":
        return bool(
            np.all(np.isin(values, np.arange(len(STAGE_NAMES), dtype=values.dtype)))
        )
    if values.dtype.kind in "UO":
        return all(isinstance(v, str) and v in STAGE_NAMES for v in values.tolist())
    return False


def _label_order(y_true, y_pred, labels=None):
    """The label order of the scores: ``labels``, the five stages, or sorted.

    Without ``labels``, labels that are all stage codes give ``0..4``, labels
    that are all stage names give ``W, N1, N2, N3, REM`` (absent stages
    included), and anything else gives the sorted labels present.
    """
    present = unique_labels(y_true, y_pred)
    if labels is None:
        if _is_stage_set(present):
            if present.dtype.kind in "UO":
                return np.asarray(STAGE_NAMES, dtype=object)
            return np.arange(len(STAGE_NAMES), dtype=present.dtype)
        return present
    labels = column_or_1d(np.asarray(labels))
    if len(labels) == 0:
        raise ValueError("labels must hold at least one label, got an empty list.")
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"labels must not repeat a label, got {labels.tolist()}.")
    missing = np.setdiff1d(present, labels)
    if len(missing):
        raise ValueError(
            f"y_true and y_pred hold labels {missing.tolist()} that are not in "
            f"labels={labels.tolist()}; labels sets the order of the scores and "
            "must list every label that occurs."
        )
    return labels


def _check_label_vectors(y_true, y_pred):
    y_true = column_or_1d(y_true, warn=True)
    y_pred = column_or_1d(y_pred, warn=True)
    check_consistent_length(y_true, y_pred)
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty; there is nothing to score.")
    return y_true, y_pred


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def sleep_scores(y_true, y_pred, *, labels=None):
    """Accuracy, macro-F1, Cohen's kappa, per-stage F1 and confusion matrix.

    Every figure is computed by :mod:`sklearn.metrics`; the result holds only
    Python ``int``, ``float``, ``str``, ``list``, ``dict`` and ``None``, so it
    can be written with :func:`json.dump` as is.

    Labels may be stage codes (0=W, 1=N1, 2=N2, 3=N3, 4=REM), stage names
    ("W", "N1", "N2", "N3", "REM") or any other class labels. With stage codes
    or names the per-stage F1 and the confusion matrix always cover all five
    stages in the order W, N1, N2, N3, REM, so results of different nights
    line up.

    Parameters
    ----------
    y_true : array-like of shape (n_epochs,)
        Reference (expert) labels.
    y_pred : array-like of shape (n_epochs,)
        Predicted labels.
    labels : array-like of shape (n_labels,), default=None
        Order of the labels in ``per_class_f1`` and ``confusion_matrix``; it
        must list every label occurring in ``y_true`` or ``y_pred`` and may
        list absent ones. ``None`` uses the five stages when all labels are
        stage codes or all are stage names, otherwise the sorted labels that
        occur.

    Returns
    -------
    scores : dict
        - ``"accuracy"`` (float): fraction of epochs labelled correctly.
        - ``"f1_micro"`` (float): micro-averaged F1; equal to the accuracy,
          since every epoch has exactly one label.
        - ``"f1_macro"`` (float): unweighted mean of the per-class F1 over the
          classes *present*, i.e. occurring in ``y_true`` or ``y_pred``
          (``f1_score(y_true, y_pred, average="macro")`` with scikit-learn's
          default labels). A stage absent from both is left out rather than
          counted as 0; a stage predicted but never scored by the expert
          counts with F1 = 0.
        - ``"cohen_kappa"`` (float or None): Cohen's kappa, in [-1, 1];
          ``None`` where it is undefined (both label vectors hold one and the
          same single label).
        - ``"per_class_f1"`` (dict): F1 of each label, keyed by stage name
          ("W", ..., "REM") or ``str(label)``, in label order; ``None`` for a
          label absent from both ``y_true`` and ``y_pred``.
        - ``"confusion_matrix"`` (list of list of int): epochs with true label
          ``labels[i]`` (row) predicted as ``labels[j]`` (column).
        - ``"labels"`` (list of str): names of the rows and columns of the
          confusion matrix (the keys of ``per_class_f1``).
        - ``"n_epochs"`` (int): number of epochs scored.

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_pred`` differ in length or are empty, mix
        strings and numbers, or hold a label missing from ``labels``.

    See Also
    --------
    cross_validate_stages : Out-of-fold predictions and their scores.

    Examples
    --------
    >>> from skdreamy.metrics import sleep_scores
    >>> y_true = [0, 0, 2, 2, 2, 3, 4, 4]
    >>> y_pred = [0, 2, 2, 2, 3, 3, 4, 1]
    >>> scores = sleep_scores(y_true, y_pred)
    >>> scores["accuracy"], scores["n_epochs"]
    (0.625, 8)
    >>> round(scores["f1_macro"], 3)  # mean over W, N1, N2, N3, REM: all present
    0.533
    >>> scores["per_class_f1"]
    {'W': 0.666..., 'N1': 0.0, 'N2': 0.666..., 'N3': 0.666..., 'REM': 0.666...}
    >>> scores["confusion_matrix"][0]  # the two W epochs: one W, one N2
    [1, 0, 1, 0, 0]
    >>> sleep_scores(["W", "N2"], ["W", "N2"])["per_class_f1"]
    {'W': 1.0, 'N1': None, 'N2': 1.0, 'N3': None, 'REM': None}
    """
    y_true, y_pred = _check_label_vectors(y_true, y_pred)
    labels = _label_order(y_true, y_pred, labels)
    present = unique_labels(y_true, y_pred)
    is_present = np.isin(labels, present)

    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Undefined when both raters use one single label; reported as None.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = float(cohen_kappa_score(y_true, y_pred, labels=labels))
    names = [stage_name(label) for label in labels.tolist()]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_micro": float(
            f1_score(y_true, y_pred, labels=present, average="micro", zero_division=0)
        ),
        "f1_macro": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "cohen_kappa": None if np.isnan(kappa) else kappa,
        "per_class_f1": {
            name: float(f1) if keep else None
            for name, f1, keep in zip(names, per_class, is_present, strict=True)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "labels": names,
        "n_epochs": len(y_true),
    }


def _default_cv(cv, y, groups, estimator):
    """GroupKFold when ``groups`` are given and ``cv`` is a count, else sklearn's."""
    if groups is not None and (cv is None or isinstance(cv, Integral)):
        return GroupKFold(n_splits=5 if cv is None else int(cv))
    return check_cv(cv, y, classifier=is_classifier(estimator))


def _fit_predict_fold(estimator, X, y, train, test, return_proba):
    """Fit a clone on ``train``; predict ``test``. Runs in a joblib worker."""
    start = time.perf_counter()
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
    fit_time = time.perf_counter() - start
    X_test = _safe_indexing(X, test)
    start = time.perf_counter()
    y_pred = np.asarray(estimator.predict(X_test))
    proba = np.asarray(estimator.predict_proba(X_test)) if return_proba else None
    predict_time = time.perf_counter() - start
    classes = getattr(estimator, "classes_", None)
    return y_pred, proba, classes, fit_time, predict_time, _training_history(estimator)


def _training_history(estimator):
    """The Keras training history (metric -> list per epoch) of ``estimator``
    or of the last step of a pipeline; None for other estimators."""
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    history = getattr(estimator, "history_", None)
    if not isinstance(history, dict):
        return None
    return {key: [float(v) for v in values] for key, values in history.items()}


def _summary(values):
    """Mean and (population) standard deviation over folds, ignoring None."""
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    if np.all(np.isnan(values)):
        return None, None
    return float(np.nanmean(values)), float(np.nanstd(values))


def _fold_agreements(y, y_pred, nights, onsets, epoch_duration, splits, fold_scores):
    """Statistics agreement of all nights, and of each fold's whole nights."""
    from .hypnogram import statistics_agreement

    nights = column_or_1d(nights)
    onsets = None if onsets is None else np.asarray(onsets, dtype=float)

    def agree(mask):
        return statistics_agreement(
            y[mask],
            y_pred[mask],
            nights=nights[mask],
            onsets=None if onsets is None else onsets[mask],
            epoch_duration=epoch_duration,
        )

    for scores, (_, test) in zip(fold_scores, splits, strict=True):
        tested = np.zeros(len(y), dtype=bool)
        tested[test] = True
        whole = [n for n in np.unique(nights[test]) if tested[nights == n].all()]
        mask = np.isin(nights, whole)
        scores["statistics_agreement"] = (
            {
                name: {
                    key: None if isinstance(v, float) and not np.isfinite(v) else v
                    for key, v in summary.items()
                }
                for name, summary in agree(mask).summary.items()
            }
            if mask.any()
            else None
        )
    return agree(np.ones(len(y), dtype=bool))


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "groups": ["array-like", None],
        "cv": ["cv_object"],
        "labels": ["array-like", None],
        "return_proba": ["boolean"],
        "n_jobs": [Integral, None],
        "progress": ["boolean", callable],
        "nights": ["array-like", None],
        "onsets": ["array-like", None],
        "epoch_duration": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def cross_validate_stages(
    estimator,
    X,
    y,
    *,
    groups=None,
    cv=None,
    labels=None,
    return_proba=False,
    n_jobs=None,
    progress=False,
    nights=None,
    onsets=None,
    epoch_duration=30.0,
):
    """Cross-validate a sleep stager: out-of-fold predictions and their scores.

    Each fold fits a :func:`~sklearn.base.clone` of ``estimator`` once on its
    training epochs and predicts its test epochs, as
    :func:`~sklearn.model_selection.cross_val_predict` does, but the per-fold
    results are kept too. The folds come from a scikit-learn splitter and run
    in parallel with joblib, as in
    :func:`~sklearn.model_selection.cross_validate`.

    The scores are reported twice: *pooled*, by :func:`sleep_scores` over all
    out-of-fold predictions together (the usual figure for subject-wise
    cross-validation, where folds differ in size and stage mix), and *per
    fold*, with their mean and standard deviation.

    A fold whose training epochs lack a stage (a subject without REM) still
    runs: the estimator learns the stages it sees, never predicts the missing
    one, and its probability column for that stage is 0.

    Parameters
    ----------
    estimator : estimator
        A classifier or pipeline with ``fit`` and ``predict`` (and
        ``predict_proba`` for ``return_proba=True``), e.g.
        :func:`~skdreamy.make_pipeline`. It is cloned, never fitted itself.
    X : array-like of shape (n_epochs, ...)
        Epochs (raw EEG or spectrograms, whatever ``estimator`` expects).
    y : array-like of shape (n_epochs,)
        Stage labels.
    groups : array-like of shape (n_epochs,), default=None
        Subject (or night) of each epoch, for subject-wise splits: test epochs
        then never share a subject with training epochs.
    cv : int, cross-validation generator or iterable, default=None
        The splitter. ``None`` or an int ``k`` (default 5): with ``groups``,
        :class:`~sklearn.model_selection.GroupKFold` with ``k`` folds (use
        ``cv=LeaveOneGroupOut()`` for leave-one-subject-out); without,
        :class:`~sklearn.model_selection.StratifiedKFold` for classifiers, as
        in scikit-learn. A splitter or an iterable of ``(train, test)`` index
        pairs is used as is; its test sets must partition the epochs (each
        epoch tested exactly once).
    labels : array-like of shape (n_labels,), default=None
        Label order of the scores and of the ``proba`` columns; see
        :func:`sleep_scores`. ``None``: the five stages for stage labels,
        otherwise the sorted labels of ``y``.
    return_proba : bool, default=False
        Also return out-of-fold ``predict_proba`` (for a hypnodensity plot).
        Costs a second pass over each test fold.
    n_jobs : int, default=None
        Folds fitted in parallel; ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all processors.
    progress : bool or callable, default=False
        ``True`` shows a :mod:`tqdm` progress bar over the folds (on stderr).
        A callable is called after each fold as
        ``progress(fold, n_folds, fold_scores)`` with the 0-based fold index
        and that fold's entry of ``fold_scores``.
    nights : array-like of shape (n_epochs,), default=None
        Night of each epoch (epochs of a night in time order). With it the
        sleep statistics of each night are compared between ``y`` and the
        out-of-fold predictions
        (:func:`skdreamy.hypnogram.statistics_agreement`): pooled over all
        nights, and per fold over the nights that fold tests whole.
    onsets : array-like of shape (n_epochs,), default=None
        Start of each epoch in seconds, so that gaps in a night count as
        unscored epochs in its statistics; ``None``: back to back.
    epoch_duration : float, default=30.0
        Epoch length in seconds, for the sleep statistics.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``y_pred`` : ndarray of shape (n_epochs,), the out-of-fold
          predictions, in the order of ``X``.
        - ``proba`` : ndarray of shape (n_epochs, n_labels) or None, the
          out-of-fold probabilities, columns in the order of ``labels``.
        - ``labels`` : ndarray of shape (n_labels,), the label order.
        - ``fold`` : ndarray of shape (n_epochs,), the fold that tested each
          epoch.
        - ``scores`` : dict, :func:`sleep_scores` of all out-of-fold
          predictions pooled.
        - ``fold_scores`` : list of dict, per fold: :func:`sleep_scores` of
          its test epochs plus ``"fold"``, ``"n_train"``, ``"n_test"``,
          ``"fit_time"`` and ``"predict_time"`` (seconds),
          ``"train_labels"`` (stage names seen in training),
          ``"test_groups"`` (list, or None without ``groups``) and
          ``"history"`` (the training curves of a Keras classifier, alone or
          last in a pipeline: metric name -> list of per-epoch values, e.g.
          ``"loss"``, ``"accuracy"``, ``"val_loss"``; None for other
          estimators).
        - ``mean_scores``, ``std_scores`` : dict, mean and standard deviation
          (``ddof=0``) over folds of ``accuracy``, ``f1_micro``, ``f1_macro``
          and ``cohen_kappa`` (folds where kappa is undefined are skipped).
        - ``fit_time``, ``predict_time`` : ndarray of shape (n_folds,).
        - ``test_indices`` : list of ndarray, the test epochs of each fold.
        - ``statistics_agreement`` : with ``nights``, the
          :func:`~skdreamy.hypnogram.statistics_agreement` of all nights
          (out-of-fold predictions against ``y``); each entry of
          ``fold_scores`` then also holds ``"statistics_agreement"``: the
          ``summary`` of the nights the fold tests whole (NaN as None; None
          when it tests no whole night, as with stratified folds).

    Raises
    ------
    ValueError
        If ``X``, ``y`` and ``groups`` differ in length, the test sets of
        ``cv`` do not partition the epochs, or ``return_proba=True`` and the
        estimator has no ``predict_proba``.

    See Also
    --------
    sleep_scores : The scores reported per fold and pooled.
    sklearn.model_selection.cross_val_predict : Out-of-fold predictions only.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import LeaveOneGroupOut
    >>> from skdreamy.metrics import cross_validate_stages
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1, 2, 3, 4], 12)
    >>> X = rng.normal(scale=0.2, size=(60, 3)) + y[:, None]  # separable stages
    >>> subjects = np.repeat([0, 1, 2], 20)
    >>> res = cross_validate_stages(
    ...     LogisticRegression(), X, y, groups=subjects, cv=LeaveOneGroupOut()
    ... )
    >>> res.y_pred.shape, len(res.fold_scores)
    ((60,), 3)
    >>> res.scores["labels"]
    ['W', 'N1', 'N2', 'N3', 'REM']
    >>> res.fold_scores[0]["test_groups"], res.fold_scores[0]["n_test"]
    ([0], 20)
    >>> bool(res.scores["accuracy"] > 0.9)
    True
    """
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y, groups, nights, onsets)
    if groups is not None:
        groups = column_or_1d(groups)
    if return_proba and not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"return_proba=True needs an estimator with predict_proba, but "
            f"{type(estimator).__name__} has none."
        )
    labels = _label_order(y, y, labels)
    n_epochs = len(y)
    splitter = _default_cv(cv, y, groups, estimator)
    splits = [
        (np.asarray(train), np.asarray(test))
        for train, test in splitter.split(X, y, groups)
    ]
    fold = np.full(n_epochs, -1)
    for i, (_, test) in enumerate(splits):
        if np.any(fold[test] >= 0) or len(np.unique(test)) != len(test):
            break
        fold[test] = i
    if np.any(fold < 0):
        raise ValueError(
            f"cross_validate_stages needs test sets that partition the epochs "
            f"(each epoch tested exactly once), but {type(splitter).__name__} "
            "tests some epochs twice or never. Use KFold, StratifiedKFold, "
            "GroupKFold or LeaveOneGroupOut."
        )

    n_folds = len(splits)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_folds, desc="cross-validation", unit="fold")
    jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_predict_fold)(clone(estimator), X, y, train, test, return_proba)
        for train, test in splits
    )

    proba = np.zeros((n_epochs, len(labels))) if return_proba else None
    column = {label: j for j, label in enumerate(labels.tolist())}
    fold_preds, fold_scores = [], []
    jobs = iter(jobs)
    try:
        for i, (train, test) in enumerate(splits):
            try:
                fold_result = next(jobs)
            except Exception as exc:
                exc.add_note(f"(in fold {i} of {n_folds} of cross_validate_stages)")
                raise
            pred, fold_proba, classes, fit_time, predict_time, history = fold_result
            fold_preds.append(pred)
            if return_proba:
                for j, label in enumerate(np.asarray(classes).tolist()):
                    proba[test, column[label]] = fold_proba[:, j]
            scores = sleep_scores(y[test], pred, labels=labels)
            scores.update(
                fold=i,
                n_train=len(train),
                n_test=len(test),
                fit_time=fit_time,
                predict_time=predict_time,
                train_labels=[stage_name(v) for v in np.unique(y[train]).tolist()],
                test_groups=None
                if groups is None
                else np.unique(groups[test]).tolist(),
                history=history,
            )
            fold_scores.append(scores)
            if bar is not None:
                bar.set_postfix(
                    accuracy=f"{scores['accuracy']:.3f}",
                    f1_macro=f"{scores['f1_macro']:.3f}",
                )
                bar.update()
            elif callable(progress):
                progress(i, n_folds, scores)
    finally:
        if bar is not None:
            bar.close()

    # Concatenating promotes dtypes (e.g. '<U2' and '<U3' labels) safely.
    pooled = np.concatenate(fold_preds)
    y_pred = np.empty_like(pooled)
    y_pred[np.concatenate([test for _, test in splits])] = pooled
    summary = {
        name: _summary([s[name] for s in fold_scores]) for name in SUMMARY_SCORES
    }
    agreement = None
    if nights is not None:
        agreement = _fold_agreements(
            y, y_pred, nights, onsets, epoch_duration, splits, fold_scores
        )
    return Bunch(
        statistics_agreement=agreement,
        y_pred=y_pred,
        proba=proba,
        labels=labels,
        fold=fold,
        scores=sleep_scores(y, y_pred, labels=labels),
        fold_scores=fold_scores,
        mean_scores={name: mean for name, (mean, _) in summary.items()},
        std_scores={name: std for name, (_, std) in summary.items()},
        fit_time=np.array([s["fit_time"] for s in fold_scores]),
        predict_time=np.array([s["predict_time"] for s in fold_scores]),
        test_indices=[test for _, test in splits],
    )


__all__ = ["cross_validate_stages", "sleep_scores"]
