"""The scikit-learn classifier over the sleep-staging CNNs."""

from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._compat import classifier_tags, torch_random_state
from ._tf_output import quiet_retracing
from ._validation import check_spectrogram_shape, validate_spectrograms
from .datasets._spectrograms import SPECTROGRAM_SHAPE
from .models import ARCHITECTURES, LinearWarmup
from .models._seeds import PRECISIONS

# Prediction does not depend on the batch size; a larger one is much faster.
_PREDICT_BATCH_SIZE = 256

# Training steps per call of Keras' compiled train function. Larger values only
# save Python and dispatch work between steps (the steps, their order and so
# the results are the same; batch-level callbacks are called every this many
# steps). See benchmarks/README.md for the measurements.
_STEPS_PER_EXECUTION = 32

# The batch size ``learning_rate`` refers to when ``learning_rate_scaling`` is
# set: the reference protocol's, for which the default rate of 1e-3 is known
# to train well.
_REFERENCE_BATCH_SIZE = 16


class SleepStageCNNClassifier(KerasClassifier):
    """Sleep-stage classifier: a CNN on spectrograms, as a scikit-learn estimator.

    A :class:`scikeras.wrappers.KerasClassifier` over the reference CNN
    (:func:`~skdreamy.build_sleep_cnn`, 750,245 parameters for five stages) or
    a compact variant, trained with Adam on categorical cross-entropy. Labels
    may be integers (0=W, 1=N1, 2=N2, 3=N3, 4=REM) or strings; they are encoded
    with :class:`~sklearn.preprocessing.LabelEncoder`, and ``classes_`` lists
    them in sorted order.

    Spectrograms may be given 2-D ``(n_epochs, n_freqs * n_times)``
    (frequency-major, the form used inside pipelines) or 3-D
    ``(n_epochs, n_freqs, n_times)``; the model reshapes them itself.

    Hyper-parameters are ordinary estimator parameters, so
    :class:`~sklearn.model_selection.GridSearchCV` reaches them as
    ``classify__dropout`` etc. inside :func:`~skdreamy.make_pipeline`.

    Besides :meth:`fit`, the methods are those of every scikit-learn
    classifier, inherited from scikeras: ``predict(X)`` returns labels from
    ``classes_``; ``predict_proba(X)`` returns an ``(n_epochs, n_classes)``
    array of probabilities, columns in the order of ``classes_``;
    ``score(X, y)`` returns the accuracy (and refuses labels never seen in
    ``fit``; use ``scoring="f1_micro"`` or :mod:`sklearn.metrics` for such
    data); ``partial_fit(X, y)`` trains the current model for one more epoch.

    Parameters
    ----------
    spectrogram_shape : tuple of (int, int) or None, default=(51, 59)
        ``(n_freqs, n_times)`` of each spectrogram
        (:data:`~skdreamy.SPECTROGRAM_SHAPE` by default). ``None`` infers it
        from 3-D input, or treats 2-D input as ``(n_features, 1)`` (generic
        features; needs ``architecture="compact"``).
    architecture : {"reference", "compact"} or callable, default="reference"
        A name from :data:`skdreamy.models.ARCHITECTURES`: ``"reference"``,
        the published CNN (:func:`~skdreamy.build_sleep_cnn`), or
        ``"compact"`` (:func:`~skdreamy.build_compact_cnn`), averaging over
        time but keeping frequency, for small training sets and any input
        size; about 26k parameters with ``dense_units=0``, about 256k with the
        default 512. Or a callable that builds another architecture, called
        at each fit as ``architecture(spectrogram_shape, n_classes, *,
        dense_units, dropout, offset_std, noise_std, seed, precision)`` (the
        built-in builders' signature; accept ``**kwargs`` to ignore some) and
        returning an uncompiled :class:`keras.Model` whose input has shape
        ``(n_freqs * n_times,)`` (flattened, frequency-major spectrograms)
        and whose output has shape ``(n_classes,)``: softmax probabilities,
        one per class in the order of ``classes_``. The classifier compiles
        it (Adam, categorical cross-entropy). Use a module-level function, so
        that the classifier can still be pickled, cloned and saved.
    dense_units : int, default=512
        Units of the hidden dense layer (0 removes it in the compact model).
    dropout : float, default=0.5
        Dropout rate.
    offset_std : float, default=0.0
        Training-time augmentation: standard deviation of a random constant
        added to each (scaled) spectrogram; on log power this simulates the
        gain differences between recordings. Off by default (the reference).
    noise_std : float, default=0.0
        Training-time augmentation: standard deviation of Gaussian noise added
        to every input value. Off by default.
    learning_rate : float, default=1e-3
        Adam learning rate; with ``learning_rate_scaling``, the rate for a
        batch of 16 (the reference protocol's), scaled to ``batch_size``.
    learning_rate_scaling : {"sqrt", "linear"} or None, default=None
        Scale ``learning_rate`` with the batch size ``b``: by ``sqrt(b / 16)``
        (``"sqrt"``, the rule derived for Adam by Malladi et al., 2022) or by
        ``b / 16`` (``"linear"``, Goyal et al.'s rule for SGD, 2017).
        ``None`` uses ``learning_rate`` as it is, whatever the batch size.
        See :ref:`gpu-fast` for the large-batch recipe this is for.
    warmup_epochs : float, default=0.0
        Length of a linear learning-rate warm-up, in training epochs: the
        rate rises from 0 at the first step to the (scaled) learning rate,
        reached after ``round(warmup_epochs * ceil(n_train / batch_size))``
        steps and kept from then on (:class:`~skdreamy.models.LinearWarmup`;
        ``n_train``: training epochs after the validation split). 0 (the
        default) trains at a constant rate from the first step.
    batch_size : int, default=16
        Training batch size.
    epochs : int, default=25
        Training epochs (upper bound with ``early_stopping``).
    class_weight : dict, "balanced" or None, default=None
        Per-class loss weights, as in scikit-learn.
    validation_fraction : float, default=0.0
        Fraction of the distinct training epochs held out, stratified by class
        and shuffled, to compute ``val_loss``/``val_accuracy`` each epoch (in
        ``history_``). Never the tail of the data: samplers return rows sorted
        by class, so Keras' ``validation_split`` would validate on the last
        classes only. Copies made by over-sampling stay on the side of their
        original, so validation never sees a copy of a training epoch.
    early_stopping : bool, default=False
        Stop when ``val_loss`` has not improved for ``patience`` epochs and
        restore the best weights. Needs ``validation_fraction > 0``.
    patience : int, default=5
        Epochs without improvement before early stopping.
    precision : {"float32", "mixed_bfloat16"}, default="float32"
        Numerical precision of training and prediction. ``"mixed_bfloat16"``
        computes in bfloat16 with float32 weights and a float32 softmax
        (Keras mixed precision): on CPUs with AMX or AVX512-BF16 (Intel
        Sapphire Rapids and later) training is about 1.5-2x faster, on
        others it may be slower. Results differ from float32 by rounding;
        see benchmarks/README.md for the measured speed and accuracy.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra callbacks for training (progress bars, logging).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. The same integer gives bitwise-identical predictions across
        runs and processes (on CPU). A ``RandomState`` instance gives the
        seed its current state draws first, without advancing it, so every
        fit with it is the same too.
    verbose : int, default=0
        Keras verbosity during training (0 silent, 1 progress bar, 2 one line
        per epoch).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        ``n_freqs * n_times``.
    spectrogram_shape_ : tuple of int
        ``(n_freqs, n_times)`` seen in ``fit``.
    model_ : keras.Model
        The trained Keras model.
    history_ : dict of list
        Per-epoch ``loss`` and ``accuracy`` (and ``val_loss``,
        ``val_accuracy`` with a validation split).

    See Also
    --------
    make_pipeline : Scaling, class balancing and this classifier in one
        pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy import SleepStageCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 51, 59), dtype=np.float32)
    >>> y = np.repeat(["W", "N2"], 20)
    >>> X[y == "W", :20] += 1.0  # wake: more power in the low rows
    >>> clf = SleepStageCNNClassifier(epochs=3, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['N2', 'W'], dtype='<U2')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    # Attributes scikeras reads; fixed for this estimator, not parameters.
    model = None
    build_fn = None
    warm_start = False

    _parameter_constraints = {
        "spectrogram_shape": [tuple, list, None],
        "architecture": [StrOptions(set(ARCHITECTURES)), callable],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "offset_std": [Interval(Real, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_scaling": [StrOptions({"sqrt", "linear"}), None],
        "warmup_epochs": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "precision": [StrOptions(set(PRECISIONS))],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        spectrogram_shape=SPECTROGRAM_SHAPE,
        architecture="reference",
        dense_units=512,
        dropout=0.5,
        offset_std=0.0,
        noise_std=0.0,
        learning_rate=1e-3,
        learning_rate_scaling=None,
        warmup_epochs=0.0,
        batch_size=16,
        epochs=25,
        class_weight=None,
        validation_fraction=0.0,
        early_stopping=False,
        patience=5,
        precision="float32",
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.spectrogram_shape = spectrogram_shape
        self.architecture = architecture
        self.dense_units = dense_units
        self.dropout = dropout
        self.offset_std = offset_std
        self.noise_std = noise_std
        self.learning_rate = learning_rate
        self.learning_rate_scaling = learning_rate_scaling
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.precision = precision
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # -- scikit-learn plumbing that scikeras 0.13 gets wrong or does its way --

    @classmethod
    def _get_param_names(cls):
        # scikeras lists every public attribute; scikit-learn's contract is the
        # __init__ signature (needed by clone and the estimator checks).
        return BaseEstimator._get_param_names.__func__(cls)

    def set_params(self, **params):
        """Set parameters, as any scikit-learn estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : SleepStageCNNClassifier
            The estimator.
        """
        return BaseEstimator.set_params(self, **params)

    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = classifier_tags(self, poor_score=True)
        tags.input_tags.three_d_array = True
        return tags

    # -- fitting --

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build a fresh CNN and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_freqs * n_times) or \
                (n_epochs, n_freqs, n_times)
            Training spectrograms (scaled).
        y : array-like of shape (n_epochs,)
            Stage labels, integers or strings; at least two classes.
        sample_weight : array-like of shape (n_epochs,), default=None
            Per-epoch loss weights (multiplied with ``class_weight``).
        **kwargs : dict
            Passed on to ``keras.Model.fit``.

        Returns
        -------
        self : SleepStageCNNClassifier
            The trained classifier.

        Raises
        ------
        ValueError
            If ``X`` has the wrong rank or shape or holds NaN or infinite
            values, ``X`` and ``y`` differ in length, ``y`` has fewer than two
            classes, or the validation split cannot be stratified.
        """
        check_spectrogram_shape(self.spectrogram_shape)
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True needs a validation set: set "
                "validation_fraction > 0 (e.g. 0.1)."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train for one more epoch (building the CNN on the first call).

        Parameters
        ----------
        X, y : array-like
            Spectrograms and labels, as in :meth:`fit`.
        classes : array-like of shape (n_classes,), default=None
            Every label of the whole training set; needed on the first call
            when ``y`` does not hold them all.
        sample_weight : array-like of shape (n_epochs,), default=None
            Per-epoch loss weights.
        **kwargs : dict
            Passed on to ``keras.Model.fit``.

        Returns
        -------
        self : SleepStageCNNClassifier
            The classifier.
        """
        return super().partial_fit(
            X, y, classes=classes, sample_weight=sample_weight, **kwargs
        )

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        # Replaces scikeras' checks: 2-D or 3-D spectrograms, clear messages.
        if X is not None:
            X, shape = validate_spectrograms(
                self,
                X,
                spectrogram_shape=self.spectrogram_shape,
                reset=reset,
                dtype=np.float32,
            )
            if reset:
                self.spectrogram_shape_ = shape
        if y is not None:
            y = column_or_1d(y, warn=True)
            if reset:
                check_classification_targets(y)
                classes = np.unique(y)
                if len(classes) < 2:
                    raise ValueError(
                        "SleepStageCNNClassifier needs at least 2 classes to "
                        f"learn from, but y holds 1 class: {classes.tolist()}."
                    )
            else:
                unseen = np.setdiff1d(np.unique(y), self.classes_)
                if len(unseen):
                    raise ValueError(
                        f"y contains labels never seen in fit: {unseen.tolist()}; "
                        f"the classifier knows {self.classes_.tolist()}. To score "
                        "such data, count those epochs as errors with "
                        "sklearn.metrics (e.g. scoring='accuracy' or 'f1_micro')."
                    )
        return X, y

    @property
    def target_encoder(self):
        """One-hot encoder of the labels (via ``LabelEncoder``)."""
        return _OneHotLabelEncoder(classes=getattr(self, "classes_", None))

    def _keras_build_fn(self, meta):
        shape = self.spectrogram_shape_
        n_classes = meta["n_classes_"]
        seed = self._random_state
        builder = (
            ARCHITECTURES[self.architecture]
            if isinstance(self.architecture, str)
            else self.architecture
        )
        model = builder(
            shape,
            n_classes,
            dense_units=self.dense_units,
            dropout=self.dropout,
            offset_std=self.offset_std,
            noise_std=self.noise_std,
            seed=seed,
            precision=self.precision,
        )
        _check_built_model(model, builder, shape, n_classes)
        # A warm-up needs the number of training steps per epoch, known only
        # once the data are split: _fit_keras_model compiles again then.
        self._compile(model, self._peak_learning_rate())
        return model

    def _compile(self, model, learning_rate):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=keras.losses.CategoricalCrossentropy(),
            metrics=["accuracy"],
            steps_per_execution=self._steps_per_execution(),
        )

    def _peak_learning_rate(self):
        """``learning_rate`` scaled to ``batch_size`` as ``learning_rate_scaling``
        says (the very same value when it is None)."""
        ratio = self.batch_size / _REFERENCE_BATCH_SIZE
        if self.learning_rate_scaling == "linear":
            return float(self.learning_rate * ratio)
        if self.learning_rate_scaling == "sqrt":
            return float(self.learning_rate * np.sqrt(ratio))
        return self.learning_rate

    def _warmup_schedule(self, n_train):
        """The warm-up for ``n_train`` training rows, or None without one."""
        if not self.warmup_epochs:
            return None
        steps_per_epoch = -(-n_train // self.batch_size)
        steps = max(1, round(self.warmup_epochs * steps_per_epoch))
        return LinearWarmup(self._peak_learning_rate(), warmup_steps=steps)

    def _steps_per_execution(self):
        # Keras' torch backend runs one step per call and rejects any other value.
        if keras.backend.backend() == "torch":
            return 1
        return _STEPS_PER_EXECUTION

    def __setstate__(self, state):
        # Unpickling (skdreamy.load, copies): a model compiled under another
        # backend keeps its steps_per_execution, which torch refuses.
        super().__setstate__(state)
        model = getattr(self, "model_", None)
        steps = self._steps_per_execution()
        if model is not None and getattr(model, "steps_per_execution", steps) > steps:
            model.steps_per_execution = steps

    def _initialize(self, X, y=None):
        # scikeras 0.13 turns a RandomState into ``randint(low=1)``, which is
        # always 0: every instance would train like random_state=0. Derive the
        # seed from (a copy of) the instance's state instead, during the one
        # call that sets ``_random_state`` and builds the model.
        if not isinstance(self.random_state, np.random.RandomState):
            return super()._initialize(X, y)
        copy = np.random.RandomState()
        copy.set_state(self.random_state.get_state())
        given, self.random_state = self.random_state, int(copy.randint(2**31 - 1))
        try:
            return super()._initialize(X, y)
        finally:
            self.random_state = given

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        callbacks = list(self._fit_callbacks)
        if self.validation_fraction > 0:
            train, val = _stratified_split(
                X, y.argmax(axis=1), self.validation_fraction, self._random_state
            )
            validation = (X[val], y[val])
            if sample_weight is not None:
                validation += (sample_weight[val],)
                sample_weight = sample_weight[train]
            kwargs["validation_data"] = validation
            X, y = X[train], y[train]
            if self.early_stopping:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss",
                        patience=self.patience,
                        restore_best_weights=True,
                    )
                )
        kwargs.setdefault("shuffle", True)
        schedule = self._warmup_schedule(len(X))
        if schedule is not None and _untrained(self.model_):
            # A fresh model (fit, or a first partial_fit): its warm-up counts
            # the steps of this training set. Later partial_fit calls keep it.
            self._compile(self.model_, schedule)
        user_callbacks, self._fit_callbacks = self._fit_callbacks, callbacks
        try:
            with torch_random_state(self._random_state), quiet_retracing():
                super()._fit_keras_model(
                    X,
                    y,
                    sample_weight=sample_weight,
                    warm_start=warm_start,
                    epochs=epochs,
                    initial_epoch=initial_epoch,
                    **kwargs,
                )
        finally:
            self._fit_callbacks = user_callbacks
        self.history_ = dict(self.history_)

    def _predict_raw(self, X, **kwargs):
        kwargs.setdefault("batch_size", _PREDICT_BATCH_SIZE)
        kwargs.setdefault("verbose", 0)
        with quiet_retracing():  # a new model per fit: see skdreamy._tf_output
            return super()._predict_raw(X, **kwargs)


class _OneHotLabelEncoder(TransformerMixin, BaseEstimator):
    """Labels -> one-hot rows, and probabilities -> labels or probabilities.

    The target transformer scikeras asks a classifier for (its own one-hot
    encoding turns two classes into a single sigmoid column, which does not fit
    a softmax model). ``classes`` fixes the label set (``partial_fit``).
    """

    def __init__(self, classes=None):
        self.classes = classes

    def fit(self, y):
        self.label_encoder_ = LabelEncoder().fit(
            y if self.classes is None else self.classes
        )
        self.classes_ = self.label_encoder_.classes_
        return self

    def transform(self, y):
        codes = self.label_encoder_.transform(y)
        return np.eye(len(self.classes_), dtype=keras.backend.floatx())[codes]

    def inverse_transform(self, y, return_proba=False):
        if return_proba:
            return y
        return self.classes_[np.argmax(y, axis=1)]

    def get_metadata(self):
        return {
            "classes_": self.classes_,
            "n_classes_": len(self.classes_),
            "n_outputs_": 1,
            "n_outputs_expected_": 1,
        }


def _untrained(model):
    """Whether ``model``'s optimizer has not taken a step yet."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def _check_built_model(model, builder, shape, n_classes):
    """The contract of an architecture: flattened spectrograms in, classes out."""
    name = getattr(builder, "__name__", repr(builder))
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"architecture {name} must return a keras.Model, got "
            f"{type(model).__name__}."
        )
    n_features = shape[0] * shape[1]
    if tuple(model.input_shape) != (None, n_features):
        raise ValueError(
            f"architecture {name} built a model with input shape "
            f"{model.input_shape}; expected (None, {n_features}): spectrograms "
            f"of shape {tuple(shape)}, flattened."
        )
    if tuple(model.output_shape) != (None, n_classes):
        raise ValueError(
            f"architecture {name} built a model with output shape "
            f"{model.output_shape}; expected (None, {n_classes}): one softmax "
            "probability per class."
        )


def _stratified_split(X, labels, fraction, seed):
    """Indices of a shuffled, class-stratified train/validation split.

    Identical rows (copies made by over-sampling) always land on the same
    side, so the validation set never holds a copy of a training epoch.
    """
    rows = np.ascontiguousarray(X).reshape(len(X), -1)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
    _, first, copy_of = np.unique(keys.ravel(), return_index=True, return_inverse=True)
    unique_labels = labels[first]
    counts = np.bincount(unique_labels)
    present = counts[counts > 0]
    n_val = int(np.ceil(fraction * len(first)))
    if present.min() < 2 or n_val < len(present) or n_val >= len(first):
        raise ValueError(
            f"validation_fraction={fraction} cannot hold out a stratified "
            f"validation set from {len(first)} distinct epochs with class counts "
            f"{present.tolist()}: every class needs at least 2 distinct epochs "
            "and the validation set at least one epoch per class."
        )
    _, val_groups = train_test_split(
        np.arange(len(first)),
        test_size=n_val,
        stratify=unique_labels,
        shuffle=True,
        random_state=seed,
    )
    is_val = np.isin(copy_of.ravel(), val_groups)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


__all__ = ["SleepStageCNNClassifier"]
