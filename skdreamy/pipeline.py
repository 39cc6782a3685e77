"""The reference sleep-staging pipeline, assembled in one call."""

from numbers import Integral

from imblearn.pipeline import Pipeline
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from .preprocessing import EpochSpectrogram, SpectrogramScaler
from .sampling import ClassBalancer

# The settings of each preset: scaler and classifier parameters, and the number
# of epochs per class when ``n_per_class="auto"``. "accurate" is the best
# configuration measured leave-one-subject-out on real EEG
# (benchmarks/README.md, "Accuracy").
PRESETS = {
    "reference": {
        "scaler": {},
        "classifier": {"epochs": 25},  # the classifier's defaults otherwise
        "n_per_class": 1000,
    },
    "accurate": {
        "scaler": {"method": "standard", "per": "frequency", "log": True},
        "classifier": {
            "architecture": "compact",
            "dense_units": 0,
            "dropout": 0.2,
            "epochs": 60,
        },
        "n_per_class": 100,
    },
}


@validate_params(
    {
        "preset": [StrOptions(set(PRESETS))],
        "n_per_class": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "raw": ["boolean"],
        "spectrogram": [HasMethods(["fit", "transform"]), None],
        "scaler": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "classifier": [HasMethods(["fit", "predict"]), None],
        "spectrogram_shape": [tuple, list, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_pipeline(
    *,
    preset="reference",
    n_per_class="auto",
    raw=False,
    spectrogram=None,
    scaler=None,
    classifier=None,
    spectrogram_shape=None,
    random_state=None,
):
    """Build the sleep-staging pipeline: scale, balance (fit only), classify.

    Returns an imbalanced-learn :class:`~imblearn.pipeline.Pipeline` with the
    steps below, so that the class balancing happens only while fitting and
    every step's parameters are reachable by
    :class:`~sklearn.model_selection.GridSearchCV` as ``<step>__<param>``:

    ======================  ==================================================
    step                    estimator
    ======================  ==================================================
    ``"spectrogram"``       :class:`EpochSpectrogram` (only with ``raw=True``)
    ``"scale"``             :class:`SpectrogramScaler` (per-cell min-max)
    ``"balance"``           :class:`~skdreamy.sampling.ClassBalancer`
                            (``n_per_class`` epochs per stage)
    ``"classify"``          :class:`SleepStageCNNClassifier`
    ======================  ==================================================

    With the defaults this is the reference protocol: min-max scaling,
    balancing to 1000 epochs per stage, the reference CNN trained with Adam,
    batch 16, 25 epochs. ``preset="accurate"`` gives the settings that scored
    best leave-one-subject-out on real EEG (see :ref:`presets`).

    Parameters
    ----------
    preset : {"reference", "accurate"}, default="reference"
        Settings of the default scaler and classifier and of
        ``n_per_class="auto"``. Steps you pass are used as they are.

        - ``"reference"``: per-cell min-max scaling,
          ``SleepStageCNNClassifier()`` (the reference CNN, 25 epochs), 1000
          epochs per class.
        - ``"accurate"``: log power standardised per frequency row
          (``SpectrogramScaler(method="standard", per="frequency",
          log=True)``), the compact CNN without its dense layer
          (``architecture="compact", dense_units=0, dropout=0.2,
          epochs=60``), 100 epochs per class. 29x fewer parameters; on the
          360 DREAMS epochs, leave-one-subject-out, accuracy 0.64 (reference
          0.56) and 13x less training time (benchmarks/README.md).
    n_per_class : int, "auto" or None, default="auto"
        Epochs per class after balancing; ``None`` disables balancing;
        ``"auto"``: the preset's (1000 for ``"reference"``, 100 for
        ``"accurate"``).
    raw : bool, default=False
        Expect raw EEG epochs ``(n_epochs, 3000)`` at 100 Hz and compute the
        spectrograms first; otherwise expect spectrograms, 2-D
        ``(n_epochs, 51 * 59)`` or 3-D ``(n_epochs, 51, 59)``.
    spectrogram : EpochSpectrogram or None, default=None
        The spectrogram step for ``raw=True``; ``None`` uses the defaults.
    scaler : transformer, "passthrough" or None, default=None
        The scaling step; ``None`` uses ``SpectrogramScaler()``.
    classifier : classifier or None, default=None
        The final step; ``None`` uses ``SleepStageCNNClassifier()``.
    spectrogram_shape : tuple of (int, int) or None, default=None
        ``(n_freqs, n_times)`` given to the default scaler and classifier.
        ``None``: what the ``spectrogram`` step produces with ``raw=True``
        (51 x 59 for 30-s epochs at 100 Hz, longer with
        :func:`~skdreamy.preprocessing.stack_context`), else (51, 59).
    random_state : int, RandomState instance or None, default=None
        Seeds the balancing and the default classifier (a classifier you pass
        keeps its own ``random_state``).

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Unfitted pipeline.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A :class:`ValueError` (and :class:`TypeError`) naming the argument, if
        one has the wrong type or value (e.g. ``n_per_class=0``, or a
        ``scaler`` without ``fit`` and ``transform``).

    Examples
    --------
    >>> from skdreamy import make_pipeline
    >>> pipe = make_pipeline(n_per_class=500, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['scale', 'balance', 'classify']
    >>> pipe.get_params()["balance__n_per_class"]
    500
    >>> [name for name, _ in make_pipeline(raw=True).steps]
    ['spectrogram', 'scale', 'balance', 'classify']
    >>> accurate = make_pipeline(preset="accurate")
    >>> params = accurate.get_params()
    >>> params["classify__architecture"], params["balance__n_per_class"]
    ('compact', 100)
    """
    settings = PRESETS[preset]
    if n_per_class == "auto":
        n_per_class = settings["n_per_class"]
    steps = []
    if raw:
        spectrogram = EpochSpectrogram() if spectrogram is None else spectrogram
        steps.append(("spectrogram", spectrogram))
        if spectrogram_shape is None and isinstance(spectrogram, EpochSpectrogram):
            spectrogram_shape = spectrogram.expected_shape()
    if spectrogram_shape is None:
        spectrogram_shape = (51, 59)
    if scaler is None:
        scaler = SpectrogramScaler(
            spectrogram_shape=spectrogram_shape, **settings["scaler"]
        )
    steps.append(("scale", scaler))
    steps.append(
        ("balance", ClassBalancer(n_per_class=n_per_class, random_state=random_state))
    )
    if classifier is None:
        # Imported here: PRESETS (and the command line's option checks) must
        # not load Keras and TensorFlow.
        from .classifier import SleepStageCNNClassifier

        classifier = SleepStageCNNClassifier(
            spectrogram_shape=spectrogram_shape,
            random_state=random_state,
            **settings["classifier"],
        )
    steps.append(("classify", classifier))
    return Pipeline(steps)


__all__ = ["make_pipeline"]
