"""Stage a night with a fitted model, epoch by epoch, bad epochs included."""

import warnings

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from .preprocessing import epoch_quality


class QualityWarning(UserWarning):
    """Some epochs are flat or clipped: their predicted stages are unreliable.

    Issued by :func:`stage` with ``invalid="raise"`` (the default) when
    :func:`~skdreamy.preprocessing.epoch_quality` finds flat or clipped
    epochs; they are staged anyway. Pass ``invalid="mark"`` to leave them
    out instead, or turn the warning into an error with
    ``warnings.simplefilter("error", QualityWarning)``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.staging import QualityWarning, stage
    >>> X = np.random.default_rng(0).normal(scale=20, size=(3, 3000))
    >>> X[1] = 0.0  # a detached electrode
    >>> clf = DummyClassifier().fit(X, [0, 2, 2])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     result = stage(clf, X)
    >>> caught[0].category is QualityWarning, result.y_pred.tolist()
    (True, [2, 2, 2])
    """


def _describe(indices, limit=8):
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


@validate_params(
    {"X": ["array-like"], "invalid": [StrOptions({"raise", "mark"})]},
    prefer_skip_nested_validation=False,
)
def stage(estimator, X, *, invalid="raise", **quality):
    """Predict the stage and probabilities of every raw epoch of a night.

    Epochs are first checked with
    :func:`~skdreamy.preprocessing.epoch_quality`. With ``invalid="raise"``
    (default) an epoch holding NaN or infinite values is an error, as
    everywhere in skdreamy; flat and clipped epochs are staged with a
    :class:`QualityWarning`. With ``invalid="mark"`` non-finite, flat and
    clipped epochs are left out of the prediction and marked, and every other
    epoch is staged: the result still has one row per input epoch, in order.

    Parameters
    ----------
    estimator : fitted classifier or pipeline
        Takes raw epochs, e.g. ``make_pipeline(raw=True)`` after ``fit``, or a
        model from :func:`skdreamy.load`.
    X : array-like of shape (n_epochs, n_times)
        Raw epochs in microvolts.
    invalid : {"raise", "mark"}, default="raise"
        What to do with non-finite epochs (and flat or clipped ones).
    **quality : dict
        ``flat_std`` and ``clip_fraction`` for
        :func:`~skdreamy.preprocessing.epoch_quality`.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``y_pred``: ndarray of shape (n_epochs,), dtype object; the predicted
          label, or None for a marked epoch.
        - ``proba``: ndarray of shape (n_epochs, n_classes); NaN rows for marked
          epochs.
        - ``classes``: the estimator's ``classes_`` (columns of ``proba``).
        - ``valid``: bool ndarray, False for marked (not staged) epochs.
        - ``reason``: str ndarray, the quality problem of each epoch
          (``""``, "non-finite", "flat" or "clipped"), also for flat or
          clipped epochs staged with ``invalid="raise"``.

    Raises
    ------
    ValueError
        With ``invalid="raise"``, if an epoch holds NaN or infinite values (the
        message gives their indices); with ``invalid="mark"``, if no epoch is
        valid.

    Warns
    -----
    QualityWarning
        With ``invalid="raise"``, if some epochs are flat or clipped.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy import make_pipeline
    >>> from skdreamy.datasets import make_sleep_epochs
    >>> from skdreamy.staging import stage
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_sleep_epochs(60, random_state=0)
    >>> pipe = make_pipeline(raw=True, n_per_class=10, random_state=0,
    ...                      classifier=LogisticRegression(max_iter=200)).fit(X, y)
    >>> X[3, 100:200] = np.nan  # a gap in the recording
    >>> result = stage(pipe, X[:5], invalid="mark")
    >>> result.y_pred[3] is None, str(result.reason[3]), len(result.y_pred)
    (True, 'non-finite', 5)
    """
    X = np.asarray(X)
    check = epoch_quality(X, **quality)
    n_epochs = len(X)
    if n_epochs == 0:
        raise ValueError(f"X holds no epochs (shape {X.shape}); nothing to stage.")
    if invalid == "raise":
        bad = np.flatnonzero(check.reason == "non-finite")
        if len(bad):
            raise ValueError(
                f"{len(bad)} of {n_epochs} epochs hold NaN or infinite values "
                f"(epochs {_describe(bad)}); remove them, or pass "
                "invalid='mark' to stage the others and mark these."
            )
        doubtful = np.flatnonzero(~check.valid)
        if len(doubtful):
            warnings.warn(
                f"{len(doubtful)} of {n_epochs} epochs are flat or clipped "
                f"(epochs {_describe(doubtful)}); their stages are unreliable.",
                QualityWarning,
                stacklevel=2,
            )
        keep = np.ones(n_epochs, dtype=bool)
    else:
        keep = check.valid
        if not keep.any():
            raise ValueError(
                f"none of the {n_epochs} epochs is valid ({check.counts}); "
                "nothing to stage."
            )
    classes = np.asarray(estimator.classes_)
    proba = np.full((n_epochs, len(classes)), np.nan)
    proba[keep] = estimator.predict_proba(X[keep])
    y_pred = np.full(n_epochs, None, dtype=object)
    y_pred[keep] = classes[np.argmax(proba[keep], axis=1)]
    return Bunch(
        y_pred=y_pred,
        proba=proba,
        classes=classes,
        valid=keep,
        reason=check.reason,
    )


__all__ = ["QualityWarning", "stage"]
