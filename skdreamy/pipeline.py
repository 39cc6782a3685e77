"""The sleep-staging pipelines, assembled in one call, and their presets."""

from numbers import Integral

from imblearn.pipeline import Pipeline
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from .datasets._spectrograms import SPECTROGRAM_SHAPE
from .preprocessing import EpochSpectrogram, SpectralFeatures, SpectrogramScaler
from .sampling import ClassBalancer

# The settings of each preset. "model" says what it builds: "cnn" (scaler and
# SleepStageCNNClassifier parameters), "features" (SpectralFeatures and
# RandomForestClassifier parameters) or "ensemble" (soft voting over the
# presets in "members"); "n_per_class" is the number of epochs per class when
# ``n_per_class="auto"``. The figures that chose them are in
# benchmarks/README.md ("Presets").
PRESETS = {
    "reference": {
        "model": "cnn",
        "scaler": {},
        "classifier": {"epochs": 25},  # the classifier's defaults otherwise
        "n_per_class": 1000,
    },
    "accurate": {
        "model": "cnn",
        "scaler": {"method": "standard", "per": "frequency", "log": True},
        "classifier": {
            "architecture": "compact",
            "dense_units": 0,
            "dropout": 0.2,
            "epochs": 60,
        },
        "n_per_class": 100,
    },
    "features": {
        "model": "features",
        "features": {"fmin": 1.0, "fmax": 30.0, "relative": True, "bands": False},
        "classifier": {"n_estimators": 300, "min_samples_leaf": 2},
        "n_per_class": None,
    },
    "ensemble": {
        "model": "ensemble",
        "members": ("accurate", "features"),
        "n_per_class": "members",
    },
}

# "gpu_fast" (issue 19): the reference protocol with batches 8x larger, for a
# GPU, where batch 16 leaves it idle; the learning rate scaled by sqrt(8) (the
# square-root rule for Adam) and reached by a linear warm-up over the first 3
# of the 25 epochs. Its accuracy on a GPU is not measured yet
# (benchmarks/gpu_session.sh measures it; docs/user_guide/gpu.rst).
PRESETS["gpu_fast"] = {
    "model": "cnn",
    "scaler": {},
    "classifier": {
        "epochs": 25,
        "batch_size": 128,
        "learning_rate_scaling": "sqrt",
        "warmup_epochs": 3,
    },
    "n_per_class": 1000,
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
        "features": [HasMethods(["fit", "transform"]), None],
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
    features=None,
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
    ``"scale"``             :class:`SpectrogramScaler` (per-cell min-max);
                            ``"features"`` (:class:`SpectralFeatures`) for
                            ``preset="features"``
    ``"balance"``           :class:`~skdreamy.sampling.ClassBalancer`
                            (``n_per_class`` epochs per stage)
    ``"classify"``          :class:`SleepStageCNNClassifier`; a
                            :class:`~sklearn.ensemble.RandomForestClassifier`
                            for ``preset="features"``
    ======================  ==================================================

    ``preset="ensemble"`` gives ``"spectrogram"`` (with ``raw=True``) and
    ``"vote"``, a :class:`~sklearn.ensemble.VotingClassifier` with soft voting
    over two such pipelines, ``"cnn"`` (the ``"accurate"`` preset) and
    ``"features"`` (the ``"features"`` preset), each balancing its own
    training epochs: ``vote__cnn__classify__epochs``,
    ``vote__features__classify__n_estimators`` and ``vote__weights`` are
    grid-searchable.

    With the defaults this is the reference protocol: min-max scaling,
    balancing to 1000 epochs per stage, the reference CNN trained with Adam,
    batch 16, 25 epochs. The other presets scored better leave-one-subject-out
    on real EEG and train much faster (see :ref:`presets`).

    Parameters
    ----------
    preset : {"reference", "accurate", "features", "ensemble", "gpu_fast"}, \
            default="reference"
        Settings of the default steps and of ``n_per_class="auto"``. Steps
        you pass are used as they are.

        - ``"reference"``: per-cell min-max scaling,
          ``SleepStageCNNClassifier()`` (the reference CNN, 25 epochs), 1000
          epochs per class.
        - ``"gpu_fast"``: the reference protocol trained in batches of 128,
          for a GPU: the learning rate scaled by ``sqrt(128 / 16)`` (to
          0.0028) and warmed up linearly over the first 3 epochs
          (``batch_size=128, learning_rate_scaling="sqrt",
          warmup_epochs=3``); about 8x fewer training steps. Whether it
          keeps the reference's accuracy is not measured yet (see
          :ref:`gpu`).
        - ``"accurate"``: log power standardised per frequency row
          (``SpectrogramScaler(method="standard", per="frequency",
          log=True)``), the compact CNN without its dense layer
          (``architecture="compact", dense_units=0, dropout=0.2,
          epochs=60``), 100 epochs per class. 29x fewer parameters and 13x
          less training time than the reference.
        - ``"features"``: no CNN. :class:`SpectralFeatures` (log power of
          each 1-30 Hz row, absolute and relative to the epoch's mean) into a
          ``RandomForestClassifier(n_estimators=300, min_samples_leaf=2)``,
          no balancing. Trains in seconds on a CPU; the best single model on
          small data sets (a few scored nights).
        - ``"ensemble"``: soft voting (mean of the predicted probabilities)
          of ``"accurate"`` and ``"features"``.
    n_per_class : int, "auto" or None, default="auto"
        Epochs per class after balancing; ``None`` disables balancing;
        ``"auto"``: the preset's (1000 for ``"reference"`` and
        ``"gpu_fast"``, 100 for ``"accurate"``, ``None`` for ``"features"``,
        each member's own for ``"ensemble"``). An int or ``None`` applies to
        every balancing step.
    raw : bool, default=False
        Expect raw EEG epochs ``(n_epochs, 3000)`` at 100 Hz and compute the
        spectrograms first; otherwise expect spectrograms, 2-D
        ``(n_epochs, 51 * 59)`` or 3-D ``(n_epochs, 51, 59)``.
    spectrogram : EpochSpectrogram or None, default=None
        The spectrogram step for ``raw=True``; ``None`` uses the defaults.
    scaler : transformer, "passthrough" or None, default=None
        The scaling step of a CNN (also the ``"cnn"`` member of
        ``"ensemble"``); ``None`` uses ``SpectrogramScaler()`` with the
        preset's settings. Not used by ``preset="features"``.
    features : transformer or None, default=None
        The feature step of ``preset="features"`` (also the ``"features"``
        member of ``"ensemble"``); ``None`` uses ``SpectralFeatures()`` with
        the preset's settings. Not used by the CNN presets.
    classifier : classifier or None, default=None
        The final step; ``None`` uses the preset's. For ``"ensemble"``, pass
        ``None`` and change its members with ``set_params`` instead.
    spectrogram_shape : tuple of (int, int) or None, default=None
        ``(n_freqs, n_times)`` given to the default steps.
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
    ValueError
        If ``scaler`` is given with ``preset="features"``, ``features`` with
        a CNN preset, or ``classifier`` with ``preset="ensemble"``.

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
    >>> params = make_pipeline(preset="gpu_fast").get_params()
    >>> params["classify__batch_size"], params["classify__warmup_epochs"]
    (128, 3)
    >>> [name for name, _ in make_pipeline(preset="features", raw=True).steps]
    ['spectrogram', 'features', 'balance', 'classify']
    >>> ensemble = make_pipeline(preset="ensemble", raw=True)
    >>> [name for name, _ in ensemble.steps]
    ['spectrogram', 'vote']
    >>> ensemble.get_params()["vote__cnn__classify__epochs"]
    60
    """
    settings = PRESETS[preset]
    model = settings["model"]
    misplaced = {
        "scaler": scaler is not None and model == "features",
        "features": features is not None and model == "cnn",
        "classifier": classifier is not None and model == "ensemble",
    }
    for name, wrong in misplaced.items():
        if wrong:
            raise ValueError(
                f"make_pipeline(preset={preset!r}) has no step for the {name} "
                f"argument; pass {name}=None, or a preset that uses it."
            )
    steps = []
    if raw:
        spectrogram = EpochSpectrogram() if spectrogram is None else spectrogram
        steps.append(("spectrogram", spectrogram))
        if spectrogram_shape is None and isinstance(spectrogram, EpochSpectrogram):
            spectrogram_shape = spectrogram.expected_shape()
    if spectrogram_shape is None:
        spectrogram_shape = SPECTROGRAM_SHAPE
    resolution = 1.0
    if isinstance(spectrogram, EpochSpectrogram):
        resolution = spectrogram.sfreq / spectrogram.nperseg
    common = dict(spectrogram_shape=spectrogram_shape, random_state=random_state)
    if model == "ensemble":
        members = [
            (
                PRESETS[member]["model"],
                _branch(
                    member,
                    n_per_class,
                    scaler=scaler,
                    features=features,
                    resolution=resolution,
                    **common,
                ),
            )
            for member in settings["members"]
        ]
        steps.append(("vote", VotingClassifier(members, voting="soft")))
    else:
        steps.extend(
            _branch(
                preset,
                n_per_class,
                scaler=scaler,
                features=features,
                classifier=classifier,
                resolution=resolution,
                **common,
            ).steps
        )
    return Pipeline(steps)


def _branch(
    preset,
    n_per_class,
    *,
    scaler=None,
    features=None,
    classifier=None,
    resolution=1.0,
    spectrogram_shape,
    random_state,
):
    """The steps after the spectrogram of a CNN or feature preset, as a Pipeline."""
    settings = PRESETS[preset]
    if n_per_class == "auto":
        n_per_class = settings["n_per_class"]
    if settings["model"] == "features":
        first = (
            "features",
            SpectralFeatures(
                spectrogram_shape=spectrogram_shape,
                frequency_resolution=resolution,
                **settings["features"],
            )
            if features is None
            else features,
        )
        if classifier is None:
            classifier = RandomForestClassifier(
                random_state=random_state, **settings["classifier"]
            )
    else:
        if scaler is None:
            scaler = SpectrogramScaler(
                spectrogram_shape=spectrogram_shape, **settings["scaler"]
            )
        first = ("scale", scaler)
        if classifier is None:
            # Imported here: reading PRESETS (the CLI's parser) needs no Keras.
            from .classifier import SleepStageCNNClassifier

            classifier = SleepStageCNNClassifier(
                spectrogram_shape=spectrogram_shape,
                random_state=random_state,
                **settings["classifier"],
            )
    balance = ClassBalancer(n_per_class=n_per_class, random_state=random_state)
    return Pipeline([first, ("balance", balance), ("classify", classifier)])


__all__ = ["PRESETS", "make_pipeline"]
