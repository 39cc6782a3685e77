"""Temporal context: each epoch with its neighbours from the same night."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "X": ["array-like"],
        "nights": ["array-like"],
        "n_context": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def stack_context(X, nights, n_context=1):
    """Join each epoch with its ``n_context`` neighbours on each side, in time.

    Sleep staging depends on context: scorers look at the epochs around the
    one they score. This returns, for every epoch, the concatenation along the
    last (time) axis of epochs ``i - n_context ... i + n_context`` of the
    *same night*; at the start and end of a night the first or last epoch is
    repeated, so no epoch ever sees another night or subject. Apply it before
    splitting into training and test sets (it uses no labels) and before
    :func:`~skdreamy.make_pipeline`, which then sees longer epochs:

    - raw epochs ``(n, 3000)`` become ``(n, 3000 * (2 * n_context + 1))``:
      use ``EpochSpectrogram(epoch_duration=30 * (2 * n_context + 1))``;
    - spectrograms ``(n, F, T)`` become ``(n, F, T * (2 * n_context + 1))``.

    Parameters
    ----------
    X : ndarray of shape (n_epochs, n_times) or (n_epochs, n_freqs, n_times)
        Epochs of one or several nights; within a night, in temporal order
        and without gaps.
    nights : array-like of shape (n_epochs,)
        Night (recording) of each epoch, e.g. ``load_nights(...).nights``.
        The epochs of a night need not be adjacent rows, only in order.
    n_context : int, default=1
        Neighbours on each side; 0 returns ``X`` unchanged.

    Returns
    -------
    X_context : ndarray
        ``X`` with the time axis ``2 * n_context + 1`` times longer, same dtype.

    Raises
    ------
    ValueError
        If ``nights`` does not have one entry per epoch, ``X`` is not 2-D or
        3-D, or ``n_context`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.preprocessing import stack_context
    >>> X = np.array([[1, 1], [2, 2], [3, 3], [7, 7]])
    >>> stack_context(X, nights=[0, 0, 0, 1], n_context=1)
    array([[1, 1, 1, 1, 2, 2],
           [1, 1, 2, 2, 3, 3],
           [2, 2, 3, 3, 3, 3],
           [7, 7, 7, 7, 7, 7]])
    """
    X = np.asarray(X)
    nights = np.asarray(nights)
    if X.ndim not in (2, 3):
        raise ValueError(
            "X must be raw epochs (n_epochs, n_times) or spectrograms (n_epochs, "
            f"n_freqs, n_times); got shape {X.shape}."
        )
    if nights.shape != (X.shape[0],):
        raise ValueError(
            f"nights must hold one night id per epoch: X has {X.shape[0]} epochs, "
            f"nights has shape {nights.shape}."
        )
    n_context = int(n_context)
    if n_context == 0:
        return X
    neighbour = np.empty((2 * n_context + 1, X.shape[0]), dtype=np.intp)
    for night in np.unique(nights):
        rows = np.flatnonzero(nights == night)
        position = np.arange(len(rows))
        for k, offset in enumerate(range(-n_context, n_context + 1)):
            neighbour[k, rows] = rows[np.clip(position + offset, 0, len(rows) - 1)]
    return np.concatenate([X[index] for index in neighbour], axis=-1)
