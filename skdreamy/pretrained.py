"""Pretrained sleep stagers: staging without any scored night of your own.

:class:`YasaStager` wraps the pretrained EEG-only classifier of YASA
(Vallat & Walker, 2021) as a scikit-learn classifier that takes the same raw
30-s epochs as :func:`skdreamy.make_pipeline`, so it can be passed to
:func:`skdreamy.staging.stage`, scored with :mod:`skdreamy.metrics` and used
as the model of ``skdreamy predict --model yasa`` and
``skdreamy evaluate --model yasa``.

YASA is an optional dependency: ``pip install skdreamy[yasa]``. It is
imported when the stager predicts, not when this module is imported.
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array

from ._stages import STAGE_NAMES

# YASA's hypnogram names (yasa.Hypnogram, n_stages=5), in skdreamy's code order.
_YASA_STAGES = tuple("WAKE" if name == "W" else name for name in STAGE_NAMES)
_EPOCH_SECONDS = 30


def _import_yasa():
    try:
        import yasa
    except ImportError as exc:
        raise ImportError(
            "YasaStager needs the optional dependency yasa (and lightgbm), which "
            "is not installed; install it with: pip install 'skdreamy[yasa]'"
        ) from exc
    return yasa


class YasaStager(ClassifierMixin, BaseEstimator):
    """YASA's pretrained EEG-only sleep stager, as a scikit-learn classifier.

    Zero-shot staging for users without scored nights: YASA's LightGBM
    classifier, trained by its authors on about 3,000 nights of the National
    Sleep Research Resource, applied as shipped (no training here). It
    computes YASA's features of every 30-s epoch (spectral band powers and
    ratios, Hjorth parameters, entropy, fractal dimensions ...) **and of the
    epochs around it**: a 7.5-min centred and a 2-min past rolling average,
    robust-scaled over the whole recording, plus the epoch's time since the
    start of the recording. Hence its contract differs from skdreamy's
    epoch-wise models:

    - ``X`` must be **one recording's consecutive epochs, in order, without
      gaps**, ideally a whole night from lights off: the prediction for an
      epoch depends on the other rows of ``X``, so staging a night in pieces,
      shuffled, or several nights at once gives other (worse) stages.
      ``skdreamy evaluate --model yasa`` stages each night of a folder on its
      own. Excerpts (such as the 30-min DREAMS excerpts skdreamy measures on)
      feed the classifier a wrong time of night and a shorter context.
    - The channel should be a central EEG derivation referenced to the
      opposite mastoid, e.g. C4-M1 or C3-M2 (what YASA was trained on);
      other derivations (Fpz-Cz of Sleep-EDF ...) work less well.
    - Samples in microvolts, unfiltered and not z-scored (YASA band-pass
      filters them at 0.4-30 Hz itself). Each row holds 30 s at ``sfreq`` Hz;
      YASA resamples to 100 Hz when ``sfreq`` differs.

    Measured on the six shared DREAMS excerpts (30-min excerpts of C3-A1/Cz-A1
    at 100 Hz, 360 epochs; ``benchmarks/peers.py``), and published figures,
    are in the user guide (:ref:`pretrained`).

    Parameters
    ----------
    sfreq : float, default=100.0
        Sampling rate of ``X`` in Hz; each row holds ``30 * sfreq`` samples.
        At least 80 Hz (YASA's minimum).

    Attributes
    ----------
    classes_ : ndarray of shape (5,)
        ``[0, 1, 2, 3, 4]`` (W, N1, N2, N3, REM); available without fitting.

    See Also
    --------
    skdreamy.staging.stage : Stage a night with quality marking.
    skdreamy.make_pipeline : A model trained on your own scored nights.

    Notes
    -----
    ``fit`` raises :class:`NotImplementedError`: the classifier is pretrained
    and YASA ships no way to adapt it to new nights. To learn from scored
    nights, train :func:`skdreamy.make_pipeline` instead. Everything that only
    predicts works: ``predict``, ``predict_proba``, ``score``,
    :func:`~skdreamy.staging.stage`, :func:`sklearn.base.clone`, pickling.

    With :func:`~skdreamy.staging.stage` and ``invalid="mark"``, marked
    epochs are left out of ``X`` before YASA sees it, so the epochs around a
    marked one lose their neighbour in YASA's rolling context.

    References
    ----------
    .. [1] R. Vallat and M. P. Walker, "An open-source, high-performance tool
       for automated sleep staging", eLife 10:e70092, 2021.
       https://doi.org/10.7554/eLife.70092

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.pretrained import YasaStager
    >>> stager = YasaStager()
    >>> stager.classes_
    array([0, 1, 2, 3, 4])
    >>> night = np.random.default_rng(0).normal(0, 20, (20, 3000))  # µV
    >>> proba = stager.predict_proba(night)  # doctest: +SKIP
    >>> proba.shape  # doctest: +SKIP
    (20, 5)
    """

    _parameter_constraints = {
        "sfreq": [Interval(Real, 80, None, closed="left")],
    }

    def __init__(self, *, sfreq=100.0):
        self.sfreq = sfreq

    @property
    def classes_(self):
        """The five stage codes, ``[0, 1, 2, 3, 4]`` (W, N1, N2, N3, REM)."""
        return np.arange(len(STAGE_NAMES))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None, **fit_params):
        """Refuse to train: YASA's classifier is pretrained.

        Parameters
        ----------
        X : array-like, default=None
            Ignored.
        y : array-like, default=None
            Ignored.
        **fit_params : dict
            Ignored.

        Raises
        ------
        NotImplementedError
            Always; call :meth:`predict` or :meth:`predict_proba` directly.
        """
        raise NotImplementedError(
            "YasaStager cannot be fitted: it applies YASA's classifier as "
            "pretrained by its authors (about 3,000 NSRR nights) and needs no "
            "training; call predict or predict_proba directly, or train "
            "skdreamy.make_pipeline() to learn from your own scored nights."
        )

    def _validate_X(self, X):
        # A pretrained estimator is never fitted, so predict is the first call
        # that sees the parameters: validate them here (fit is not run).
        self._validate_params()
        X = check_array(X, dtype=np.float64, ensure_min_samples=1)
        n_samples = round(_EPOCH_SECONDS * self.sfreq)
        if X.shape[1] != n_samples:
            raise ValueError(
                f"X must hold one 30-s epoch per row at sfreq={self.sfreq:g} Hz, "
                f"i.e. {n_samples} samples per row; got shape {X.shape}."
            )
        return X

    def predict_proba(self, X):
        """Probability of each stage for every epoch of one night.

        Parameters
        ----------
        X : array-like of shape (n_epochs, 30 * sfreq)
            One recording's consecutive 30-s epochs, in order, in µV.

        Returns
        -------
        proba : ndarray of shape (n_epochs, 5)
            Columns in the order of :attr:`classes_` (W, N1, N2, N3, REM);
            rows sum to 1.
        """
        X = self._validate_X(X)
        yasa = _import_yasa()
        import mne
        from sklearn.exceptions import InconsistentVersionWarning

        info = mne.create_info(["EEG"], sfreq=float(self.sfreq), ch_types="eeg")
        # MNE holds volts; YASA reads them back in µV.
        raw = mne.io.RawArray(X.reshape(1, -1) * 1e-6, info, verbose=False)
        staging = yasa.SleepStaging(raw, eeg_name="EEG")
        with warnings.catch_warnings():
            # YASA's shipped classifier pickles a LabelEncoder of
            # scikit-learn 0.24; only its string classes are used.
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            hypnogram = staging.predict()
        table = hypnogram.proba
        proba = table.reindex(columns=list(_YASA_STAGES), fill_value=0.0).to_numpy(
            np.float64
        )
        if len(proba) != len(X):  # YASA's epoching must keep every row
            raise RuntimeError(
                f"YASA staged {len(proba)} epochs for {len(X)} rows of X."
            )
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Stage (0=W 1=N1 2=N2 3=N3 4=REM) of every epoch of one night.

        Parameters
        ----------
        X : array-like of shape (n_epochs, 30 * sfreq)
            One recording's consecutive 30-s epochs, in order, in µV.

        Returns
        -------
        y_pred : ndarray of shape (n_epochs,)
            The most probable stage of each epoch.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


__all__ = ["YasaStager"]
