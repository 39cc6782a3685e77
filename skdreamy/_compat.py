"""Version shims in one place.

scikeras 0.13 predates scikit-learn's ``__sklearn_tags__`` protocol and
declares its mixins on the right (``class KerasClassifier(BaseWrapper,
ClassifierMixin)``), so on scikit-learn >= 1.7 ``ClassifierMixin`` never
contributes its tags: ``is_classifier`` is False, ``cross_val_score`` silently
uses ``KFold`` instead of ``StratifiedKFold`` and ``check_estimator`` skips
every classifier check. (On 1.6 it fails outright with "'super' object has no
attribute '__sklearn_tags__'".) :func:`classifier_tags` rebuilds the tags a
scikit-learn classifier would have.
"""

from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags


def classifier_tags(estimator, *, poor_score=False):
    """Tags of a multi-class classifier that requires ``y`` in ``fit``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose base tags are extended.
    poor_score : bool, default=False
        Whether scikit-learn's checks should skip their accuracy thresholds.

    Returns
    -------
    tags : sklearn.utils.Tags
    """
    tags = BaseEstimator.__sklearn_tags__(estimator)
    tags.estimator_type = "classifier"
    tags.classifier_tags = ClassifierTags(poor_score=poor_score)
    tags.target_tags.required = True
    return tags
