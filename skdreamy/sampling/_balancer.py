"""Balance the sleep stages of a training set to exactly N epochs each."""

import warnings
from collections import Counter
from numbers import Integral

import numpy as np
from imblearn.base import SamplerMixin
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data

from .._stages import STAGE_NAMES, stage_name


class MissingStageWarning(UserWarning):
    """A training set lacks one of the five sleep stages.

    Raised by :class:`ClassBalancer` when it balances a fold in which a stage
    does not occur at all (common in subject-wise cross-validation: a subject
    with no REM). The classes present are still balanced.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skdreamy.sampling import ClassBalancer, MissingStageWarning
    >>> X = np.zeros((8, 1))
    >>> y = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # no REM (code 4)
    >>> balancer = ClassBalancer(n_per_class=2, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = balancer.fit_resample(X, y)
    >>> caught[0].category.__name__
    'MissingStageWarning'

    Silence it where absent stages are expected:

    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", MissingStageWarning)
    ...     Xr, yr = balancer.fit_resample(X, y)
    >>> np.bincount(yr).tolist()
    [2, 2, 2, 2]
    """


class ClassBalancer(SamplerMixin, BaseEstimator):
    """Resample every class to exactly ``n_per_class`` epochs (fit only).

    Classes with more epochs are randomly under-sampled without replacement by
    :class:`imblearn.under_sampling.RandomUnderSampler`; classes with fewer are
    then randomly over-sampled with replacement by
    :class:`imblearn.over_sampling.RandomOverSampler`. This is the reference
    protocol's "balance to 1000 per class" as one step with one parameter, so
    that a grid search can tune ``n_per_class``.

    Like every imbalanced-learn sampler it acts only when an imblearn
    :class:`~imblearn.pipeline.Pipeline` is fitted; ``predict`` and ``score``
    see the epochs untouched.

    The samplers run on row indices, so ``X`` is copied once (as ``X[idx]``),
    may have any number of dimensions (2-D spectrograms, 3-D images) and may be
    a memory map. The output rows are shuffled: samplers otherwise return rows
    sorted by class, which would make any tail-of-data validation split
    meaningless.

    Parameters
    ----------
    n_per_class : int or None, default=1000
        Target epochs per class. ``None`` switches balancing off (the data
        passes through unchanged).
    random_state : int, RandomState instance or None, default=None
        Seeds the samplers and the final shuffle.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_resampled,)
        Row of the input behind each output row; use it to resample other
        per-epoch arrays (such as subject ids) the same way.
    class_counts_ : dict
        Epochs per class in the input.
    under_sampler_, over_sampler_ : imblearn samplers
        The fitted imbalanced-learn samplers (``None`` when balancing is off).
    n_features_in_ : int
        ``X.shape[1]`` of the input.

    Warns
    -----
    MissingStageWarning
        When the labels are sleep stages (at least three of the codes 0-4 or
        of the names W, N1, N2, N3, REM) and some stage is absent.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.sampling import ClassBalancer
    >>> X = np.arange(28.0).reshape(14, 2)
    >>> y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 4])
    >>> Xr, yr = ClassBalancer(n_per_class=3, random_state=0).fit_resample(X, y)
    >>> np.bincount(yr).tolist()
    [3, 3, 3, 3, 3]
    """

    _parameter_constraints = {
        "n_per_class": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_per_class=1000, random_state=None):
        self.n_per_class = n_per_class
        self.random_state = random_state

    def fit(self, X, y):
        """Check the data and compute the resampling; see :meth:`fit_resample`.

        Parameters
        ----------
        X : array-like of shape (n_epochs, ...)
            Training data.
        y : array-like of shape (n_epochs,)
            Labels.

        Returns
        -------
        self : ClassBalancer
            The fitted sampler.

        Raises
        ------
        ValueError
            As :meth:`fit_resample`.
        """
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X, y):
        """Return the data resampled to ``n_per_class`` epochs per class.

        Parameters
        ----------
        X : array-like of shape (n_epochs, ...)
            Training data, 2-D or higher.
        y : array-like of shape (n_epochs,)
            Labels (integers or strings).

        Returns
        -------
        X_resampled : ndarray of shape (n_classes * n_per_class, ...)
            Resampled rows, shuffled.
        y_resampled : ndarray of shape (n_classes * n_per_class,)
            Their labels.

        Raises
        ------
        ValueError
            If ``X`` and ``y`` differ in length, ``X`` is empty or holds NaN or
            infinite values, ``y`` is not a vector of class labels, or
            ``n_per_class`` is below 1.
        """
        self._validate_params()
        n_x = _num_rows(X)
        y = column_or_1d(y, warn=True)
        if n_x != len(y):
            raise ValueError(
                f"X has {n_x} epochs but y has {len(y)} labels; they must match "
                "one to one."
            )
        X = validate_data(
            self,
            X,
            reset=True,
            allow_nd=True,
            dtype=None,
            ensure_all_finite=True,
        )
        check_classification_targets(y)
        self.class_counts_ = dict(Counter(y.tolist()))
        if self.n_per_class is None:
            self.under_sampler_ = self.over_sampler_ = None
            self.sample_indices_ = np.arange(len(y))
            return X, y
        _warn_missing_stages(y)
        idx = self._fit_resample(np.arange(len(y)).reshape(-1, 1), y)[0].ravel()
        self.sample_indices_ = idx
        return X[idx], y[idx]

    def _fit_resample(self, X, y):
        # Runs imblearn's samplers on a column of row indices.
        rng = check_random_state(self.random_state)
        n = self.n_per_class
        self.under_sampler_ = RandomUnderSampler(
            sampling_strategy={c: min(k, n) for c, k in self.class_counts_.items()},
            random_state=rng,
        )
        X_u, y_u = self.under_sampler_.fit_resample(X, y)
        self.over_sampler_ = RandomOverSampler(
            sampling_strategy={c: n for c in self.class_counts_}, random_state=rng
        )
        X_o, y_o = self.over_sampler_.fit_resample(X_u, y_u)
        order = rng.permutation(len(y_o))
        return X_o[order], y_o[order]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def _num_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return shape[0]
    return len(X)


def _warn_missing_stages(y):
    """Warn when y holds sleep stages and one of the five is absent.

    Labels count as sleep stages when they are codes 0-4 or stage names and at
    least three different stages occur (two classes are a binary problem).
    """
    present = set(y.tolist())
    if len(present) < 3:
        return
    for universe in (set(range(len(STAGE_NAMES))), set(STAGE_NAMES)):
        if present <= universe and present != universe:
            missing = sorted(universe - present, key=str)
            names = ", ".join(stage_name(stage) for stage in missing)
            warnings.warn(
                f"Stage(s) {names} absent from this training set; balancing the "
                f"{len(present)} classes present. The model cannot predict an "
                "absent stage.",
                MissingStageWarning,
                stacklevel=3,
            )
            return
