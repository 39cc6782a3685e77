"""Epoch quality: the epochs no model should be trusted on."""

from numbers import Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

REASONS = ("non-finite", "flat", "clipped")


@validate_params(
    {
        "X": ["array-like"],
        "flat_std": [Interval(Real, 0, None, closed="left")],
        "clip_fraction": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def epoch_quality(X, *, flat_std=0.5, clip_fraction=0.05):
    """Flag raw epochs that hold NaN/inf, a flat signal or a clipped amplifier.

    - **non-finite**: any NaN or infinite sample (a gap in the recording).
    - **flat**: standard deviation below ``flat_std`` microvolts (a detached
      electrode; real EEG has 10-50 uV).
    - **clipped**: more than ``clip_fraction`` of the samples sit exactly at
      the epoch's minimum or maximum (an amplifier in saturation).

    Parameters
    ----------
    X : array-like of shape (n_epochs, n_times)
        Raw epochs in microvolts.
    flat_std : float, default=0.5
        Standard deviation (uV) under which an epoch counts as flat.
    clip_fraction : float, default=0.05
        Fraction of samples at the extremes above which an epoch counts as
        clipped.

    Returns
    -------
    quality : :class:`~sklearn.utils.Bunch`
        ``valid`` (bool array, one per epoch), ``reason`` (str array: ``""``
        for valid epochs, else the first of "non-finite", "flat", "clipped")
        and ``counts`` (dict reason -> number of epochs).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.preprocessing import epoch_quality
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(scale=20, size=(4, 3000))
    >>> X[1, 5] = np.nan
    >>> X[2] = 0.0
    >>> X[3] = np.clip(X[3], -10, 10)
    >>> epoch_quality(X).reason.tolist()
    ['', 'non-finite', 'flat', 'clipped']
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"epoch_quality expects raw epochs (n_epochs, n_times); got shape "
            f"{X.shape}."
        )
    finite = np.isfinite(X).all(axis=1)
    safe = np.where(np.isfinite(X), X, 0.0)
    flat = finite & (safe.std(axis=1) < flat_std)
    at_extreme = (safe == safe.max(axis=1, keepdims=True)) | (
        safe == safe.min(axis=1, keepdims=True)
    )
    clipped = finite & ~flat & (at_extreme.mean(axis=1) > clip_fraction)
    reason = np.full(len(X), "", dtype=object)
    for mask, name in ((clipped, "clipped"), (flat, "flat"), (~finite, "non-finite")):
        reason[mask] = name
    return Bunch(
        valid=reason == "",
        reason=reason.astype(str),
        counts={name: int(np.sum(reason == name)) for name in REASONS},
    )
