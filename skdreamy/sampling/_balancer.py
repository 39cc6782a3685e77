"""Balance the sleep stages of a training set to exactly N epochs each."""

import warnings
from collections import Counter
from numbers import Integral

import numpy as np
from imblearn.base import BaseSampler
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from imblearn.utils import check_target_type
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from .._stages import STAGE_NAMES, stage_name
from .._validation import check_one_label_per_epoch


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


class ClassBalancer(BaseSampler):
    """Resample every class to exactly ``n_per_class`` epochs (fit only).

    Classes with more epochs are randomly under-sampled without replacement by
    :class:`imblearn.under_sampling.RandomUnderSampler`; classes with fewer are
    then randomly over-sampled with replacement by
    :class:`imblearn.over_sampling.RandomOverSampler`. This is the reference
    protocol's "balance to 1000 per class" as one step with one parameter, so
    that a grid search can tune ``n_per_class``.

    Like every imbalanced-learn sampler (it follows their template: a
    :class:`imblearn.base.BaseSampler` whose ``fit_resample`` checks the input
    and calls ``_fit_resample``) it acts only when an imblearn
    :class:`~imblearn.pipeline.Pipeline` is fitted; ``predict`` and ``score``
    see the epochs untouched. ``fit`` only checks the input, as imblearn's.

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
    sampling_strategy_ : str
        Set by imblearn's ``fit_resample``; always ``"auto"`` (the targets
        come from ``n_per_class``).

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

    # imblearn's fit_resample reads these; the targets come from n_per_class.
    _sampling_type = "bypass"
    sampling_strategy = "auto"

    # imblearn's BaseSampler declares no constraints (its one parameter,
    # sampling_strategy, is replaced by n_per_class), so there is none to extend.
    _parameter_constraints = {
        "n_per_class": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_per_class=1000, random_state=None):
        self.n_per_class = n_per_class
        self.random_state = random_state

    def _check_X_y(self, X, y, accept_sparse=None):
        # As imblearn's, but any number of dimensions and any dtype: the
        # samplers run on row indices, so X is only indexed, once.
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        y = check_one_label_per_epoch(_num_rows(X), y)
        X = validate_data(
            self,
            X,
            reset=True,
            accept_sparse=["csr", "csc"] if accept_sparse is None else accept_sparse,
            allow_nd=True,
            dtype=None,
            ensure_all_finite=True,
        )
        return X, y, binarize_y

    def _fit_resample(self, X, y):
        self.class_counts_ = dict(Counter(y.tolist()))
        if self.n_per_class is None:
            self.under_sampler_ = self.over_sampler_ = None
            self.sample_indices_ = np.arange(len(y))
            return X, y
        _warn_missing_stages(y)
        rng = check_random_state(self.random_state)
        n = self.n_per_class
        rows = np.arange(len(y)).reshape(-1, 1)
        self.under_sampler_ = RandomUnderSampler(
            sampling_strategy={c: min(k, n) for c, k in self.class_counts_.items()},
            random_state=rng,
        )
        rows, y_u = self.under_sampler_.fit_resample(rows, y)
        self.over_sampler_ = RandomOverSampler(
            sampling_strategy={c: n for c in self.class_counts_}, random_state=rng
        )
        rows, y_o = self.over_sampler_.fit_resample(rows, y_u)
        order = rng.permutation(len(y_o))
        self.sample_indices_ = rows.ravel()[order]
        return X[self.sample_indices_], y_o[order]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.sampler_tags.sample_indices = True
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
                stacklevel=6,  # the caller of fit_resample (through imblearn)
            )
            return
