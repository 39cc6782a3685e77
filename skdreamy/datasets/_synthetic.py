"""A synthetic generator of EEG-like 30-s epochs, one recipe per sleep stage.

For tests, documentation and the demo only: it is built to exercise the code
path from raw epochs to hypnogram without a download, never to claim accuracy.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._stages import STAGE_NAMES

# Stage proportions of a typical adult night (AASM): W, N1, N2, N3, REM.
_NIGHT_PROPORTIONS = (0.15, 0.07, 0.45, 0.13, 0.20)


@validate_params(
    {
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "weights": ["array-like", None],
        "n_subjects": [Interval(Integral, 1, None, closed="left")],
        "sfreq": [Interval(Real, 0, None, closed="neither")],
        "return_groups": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_sleep_epochs(
    n_epochs=500,
    *,
    weights=None,
    n_subjects=1,
    sfreq=100.0,
    return_groups=False,
    random_state=None,
):
    """Generate synthetic single-channel EEG epochs with sleep-stage labels.

    Each 30-s epoch is 1/f background noise plus the textbook hallmark of its
    stage, with random amplitudes and timing:

    - **W** (0): alpha bursts (8-12 Hz) and beta activity (15-30 Hz), fast
      muscle noise.
    - **N1** (1): theta (4-7 Hz), weak alpha, occasional vertex sharp waves.
    - **N2** (2): theta background with sleep spindles (11-15 Hz, 0.5-2 s)
      and K-complexes (large biphasic waves).
    - **N3** (3): high-amplitude delta (0.5-2 Hz).
    - **REM** (4): low-amplitude mixed theta, sawtooth waves (2-6 Hz) and
      eye-movement deflections.

    Subjects differ in overall amplitude and in their alpha, spindle and delta
    frequencies, so subject-wise cross-validation is harder than epoch-wise.

    Parameters
    ----------
    n_epochs : int, default=500
        Number of epochs.
    weights : array-like of shape (5,) or None, default=None
        Stage proportions (W, N1, N2, N3, REM), normalised to sum to 1.
        ``None`` uses those of a typical adult night: 15 % W, 7 % N1, 45 % N2,
        13 % N3, 20 % REM.
    n_subjects : int, default=1
        Number of simulated subjects; epochs are split among them evenly.
    sfreq : float, default=100.0
        Sampling frequency; each epoch has ``round(30 * sfreq)`` samples.
    return_groups : bool, default=False
        Also return the subject of each epoch.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_epochs, round(30 * sfreq)), dtype float32
        EEG in microvolts.
    y : ndarray of shape (n_epochs,), dtype int64
        Stage codes, 0=W, 1=N1, 2=N2, 3=N3, 4=REM.
    groups : ndarray of shape (n_epochs,), dtype int64
        Subject index of each epoch; only with ``return_groups=True``.

    Raises
    ------
    ValueError
        If ``weights`` does not hold five non-negative proportions with a
        positive sum, or (as
        ``sklearn.utils._param_validation.InvalidParameterError``) if another
        argument has the wrong type or value, e.g. ``n_epochs=0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.datasets import make_sleep_epochs
    >>> X, y = make_sleep_epochs(200, random_state=0)
    >>> X.shape, X.dtype
    ((200, 3000), dtype('float32'))
    >>> np.bincount(y, minlength=5).tolist()
    [30, 14, 90, 26, 40]
    >>> X, y, groups = make_sleep_epochs(60, n_subjects=3, return_groups=True,
    ...                                  random_state=0)
    >>> np.bincount(groups).tolist()
    [20, 20, 20]
    """
    rng = check_random_state(random_state)
    if weights is None:
        weights = _NIGHT_PROPORTIONS
    weights = np.asarray(weights, dtype=float)
    if (
        weights.shape != (len(STAGE_NAMES),)
        or np.any(weights < 0)
        or not (weights.sum() > 0)
    ):
        raise ValueError(
            "weights must hold 5 non-negative stage proportions (W, N1, N2, N3, "
            f"REM) with a positive sum; got {weights.tolist()}."
        )
    weights = weights / weights.sum()
    # Exact counts per stage (largest remainders), in random order.
    raw = weights * n_epochs
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw)[: n_epochs - counts.sum()]] += 1
    y = rng.permutation(np.repeat(np.arange(len(STAGE_NAMES)), counts))
    groups = np.arange(n_epochs) * n_subjects // n_epochs
    subjects = [_Subject(rng) for _ in range(n_subjects)]
    n_times = round(30 * sfreq)
    t = np.arange(n_times) / sfreq
    X = np.empty((n_epochs, n_times), dtype=np.float32)
    for i, (stage, group) in enumerate(zip(y, groups, strict=True)):
        X[i] = _STAGES[stage](rng, t, sfreq, subjects[group])
    y = y.astype(np.int64)
    if return_groups:
        return X, y, groups.astype(np.int64)
    return X, y


class _Subject:
    """Per-subject traits: amplitude and characteristic frequencies."""

    def __init__(self, rng):
        self.gain = rng.uniform(0.7, 1.4)
        self.alpha = rng.uniform(8.5, 11.5)
        self.spindle = rng.uniform(12.0, 14.0)
        self.delta = rng.uniform(0.8, 1.6)


def _pink(rng, n, sfreq, amplitude):
    """1/f noise with the given standard deviation (uV)."""
    spectrum = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return amplitude * noise / noise.std()


def _oscillation(rng, t, freq, amplitude, n_bursts=None, duration=(0.5, 2.0)):
    """A sinusoid, continuous or in Gaussian-windowed bursts."""
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * freq * t + phase)
    if n_bursts is None:
        return amplitude * wave
    envelope = np.zeros_like(t)
    for _ in range(n_bursts):
        centre = rng.uniform(t[0], t[-1])
        width = rng.uniform(*duration) / 4
        envelope += np.exp(-0.5 * ((t - centre) / width) ** 2)
    return amplitude * wave * np.minimum(envelope, 1.0)


def _wake(rng, t, sfreq, s):
    x = _pink(rng, t.size, sfreq, 8 * s.gain)
    x += _oscillation(
        rng, t, s.alpha, rng.uniform(10, 25) * s.gain, rng.randint(3, 8), (2, 5)
    )
    x += _oscillation(rng, t, rng.uniform(16, 28), rng.uniform(3, 7) * s.gain)
    x += rng.normal(scale=rng.uniform(2, 6), size=t.size)  # muscle
    return x


def _n1(rng, t, sfreq, s):
    x = _pink(rng, t.size, sfreq, 10 * s.gain)
    x += _oscillation(rng, t, rng.uniform(4, 7), rng.uniform(10, 20) * s.gain)
    x += _oscillation(
        rng, t, s.alpha, rng.uniform(3, 8) * s.gain, rng.randint(0, 3), (1, 3)
    )
    for _ in range(rng.randint(0, 3)):  # vertex sharp waves
        x -= (
            rng.uniform(30, 60)
            * s.gain
            * np.exp(-0.5 * ((t - rng.uniform(1, 29)) / 0.08) ** 2)
        )
    return x


def _n2(rng, t, sfreq, s):
    x = _pink(rng, t.size, sfreq, 14 * s.gain)
    x += _oscillation(rng, t, rng.uniform(4, 7), rng.uniform(5, 12) * s.gain)
    x += _oscillation(
        rng,
        t,
        s.spindle + rng.uniform(-1, 1),
        rng.uniform(15, 35) * s.gain,
        rng.randint(1, 5),
        (0.5, 2.0),
    )
    for _ in range(rng.randint(0, 3)):  # K-complexes
        c = rng.uniform(2, 28)
        amp = rng.uniform(60, 120) * s.gain
        x += amp * (
            -np.exp(-0.5 * ((t - c) / 0.15) ** 2)
            + 0.6 * np.exp(-0.5 * ((t - c - 0.45) / 0.25) ** 2)
        )
    return x


def _n3(rng, t, sfreq, s):
    x = _pink(rng, t.size, sfreq, 15 * s.gain)
    x += _oscillation(
        rng, t, s.delta * rng.uniform(0.7, 1.3), rng.uniform(40, 90) * s.gain
    )
    x += _oscillation(rng, t, rng.uniform(0.5, 1.0), rng.uniform(20, 50) * s.gain)
    return x


def _rem(rng, t, sfreq, s):
    x = _pink(rng, t.size, sfreq, 8 * s.gain)
    x += _oscillation(rng, t, rng.uniform(4, 7), rng.uniform(6, 14) * s.gain)
    saw = 2 * ((t * rng.uniform(2, 4)) % 1.0) - 1  # sawtooth waves
    x += rng.uniform(5, 15) * s.gain * saw * (rng.random() < 0.6)
    for _ in range(rng.randint(0, 4)):  # rapid eye movements
        c = rng.uniform(1, 29)
        x += (
            rng.choice([-1, 1])
            * rng.uniform(20, 60)
            * np.tanh((t - c) / 0.1)
            * np.exp(-0.5 * ((t - c) / 0.6) ** 2)
        )
    return x


_STAGES = (_wake, _n1, _n2, _n3, _rem)
