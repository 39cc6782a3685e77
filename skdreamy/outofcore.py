"""Training on epochs that do not fit in memory, batch by batch.

Nights stored as a :class:`numpy.memmap` (``load_nights(..., mmap=True)``,
``np.load(..., mmap_mode="r")``) can be far larger than the memory a job may
use. :func:`fit_out_of_core` fits the usual :func:`~skdreamy.make_pipeline`
without ever holding the data set in memory:

1. the transformers before the balancer are fitted chunk by chunk
   (``partial_fit``, e.g. :meth:`SpectrogramScaler.partial_fit
   <skdreamy.SpectrogramScaler.partial_fit>`; stateless steps such as
   :class:`~skdreamy.EpochSpectrogram` need no pass at all);
2. :class:`~skdreamy.sampling.ClassBalancer` draws the balanced rows on the
   row indices only, so the same ``random_state`` selects the same rows as
   in memory;
3. :class:`BalancedEpochBatches`, a :class:`keras.utils.PyDataset`, reads
   those rows batch by batch (sorted reads, each row once per batch),
   transforms them and feeds the classifier's Keras model.

Peak memory is set by ``chunk_size`` and the batch size, not by the data set;
see ``benchmarks/scale.md`` for measured figures.
"""

import mmap
from numbers import Integral

import keras
import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.class_weight import compute_sample_weight

from ._validation import check_one_label_per_epoch
from .classifier import SleepStageCNNClassifier
from .sampling import ClassBalancer


class BalancedEpochBatches(keras.utils.PyDataset):
    """Class-balanced training batches, read lazily from (memory-mapped) epochs.

    A :class:`keras.utils.PyDataset` for ``keras.Model.fit``. The rows are
    drawn once by :class:`~skdreamy.sampling.ClassBalancer` on the row
    indices (``n_per_class`` per class, the same rows as the balancer draws
    in a pipeline with the same ``random_state``). Each batch reads only its
    own rows from ``X`` (sorted, each distinct row once), applies
    ``transform`` and returns ``(features, one-hot targets)`` (and sample
    weights with ``class_weight``). ``X`` itself is never copied.

    Parameters
    ----------
    X : array-like of shape (n_epochs, ...)
        Epochs (raw EEG or spectrograms): a :class:`numpy.memmap`, an
        ndarray, or any array that supports ``X.shape`` and ``X[rows]`` with a
        sorted integer array.
    y : array-like of shape (n_epochs,)
        Labels of every epoch (held in memory: 8 bytes per epoch).
    n_per_class : int or None, default=1000
        Epochs per class after balancing; ``None`` uses every row once.
    transform : object with a ``transform`` method or None, default=None
        Fitted transformer (or pipeline) applied to each batch, such as the
        spectrogram and scaling steps of a fitted pipeline.
    batch_size : int, default=16
        Epochs per batch.
    shuffle : bool, default=True
        ``True``: the rows are reshuffled every epoch (a permutation seeded by
        ``random_state`` and the epoch number). ``False``: every epoch uses
        the balancer's (already shuffled) order, which is what
        :class:`~skdreamy.SleepStageCNNClassifier` trains on when fitted with
        ``shuffle=False``.
    classes : array-like or None, default=None
        Label set (column order of the one-hot targets); default: the sorted
        labels of ``y``.
    class_weight : dict, "balanced" or None, default=None
        Per-class loss weights, as sample weights in every batch (rows with
        weight 0 are dropped, as the classifier does in memory).
    random_state : int, RandomState instance or None, default=None
        Seeds the balancing and the shuffles.
    release_memory : bool, default=True
        When ``X`` is a :class:`numpy.memmap`, tell the operating system after
        each batch that this process no longer needs the pages it read
        (``madvise(MADV_DONTNEED)``). The pages stay in the page cache, so the
        data is not read from disk again, but they stop counting in the
        process's resident memory. Without it the resident set grows towards
        the size of the file as training touches more of it.
    **kwargs : dict
        ``workers``, ``use_multiprocessing``, ``max_queue_size`` of
        :class:`keras.utils.PyDataset`.

    Attributes
    ----------
    balancer_ : ClassBalancer
        The balancer, fitted on the row indices.
    sample_indices_ : ndarray of shape (n_rows,)
        Rows of ``X`` trained on, in the balancer's order.
    classes_ : ndarray of shape (n_classes,)
        Label of each target column.
    epoch_ : int
        Epochs completed (``on_epoch_end`` calls).

    Raises
    ------
    ValueError
        If ``X`` is not an array of epochs, ``X`` and ``y`` differ in length,
        ``batch_size`` is not a positive integer, ``y`` holds labels missing
        from ``classes``, or ``class_weight`` gives every row weight 0.
    TypeError
        If ``transform`` has no ``transform`` method.

    See Also
    --------
    fit_out_of_core : Fits a whole pipeline with this dataset.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.outofcore import BalancedEpochBatches
    >>> X = np.arange(40.0).reshape(20, 2)
    >>> y = np.array([0] * 14 + [1] * 6)
    >>> batches = BalancedEpochBatches(X, y, n_per_class=5, batch_size=4,
    ...                                random_state=0)
    >>> len(batches), np.bincount(y[batches.sample_indices_]).tolist()
    (3, [5, 5])
    >>> features, targets = batches[0]
    >>> features.shape, targets.shape, features.dtype
    ((4, 2), (4, 2), dtype('float32'))
    """

    @validate_params(
        {
            "n_per_class": [Interval(Integral, 1, None, closed="left"), None],
            "transform": [HasMethods(["transform"]), None],
            "batch_size": [Interval(Integral, 1, None, closed="left")],
            "shuffle": ["boolean"],
            "classes": ["array-like", None],
            "class_weight": [dict, StrOptions({"balanced"}), None],
            "random_state": ["random_state"],
            "release_memory": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self,
        X,
        y,
        *,
        n_per_class=1000,
        transform=None,
        batch_size=16,
        shuffle=True,
        classes=None,
        class_weight=None,
        random_state=None,
        release_memory=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n_epochs = _check_epochs_array(X)
        y = check_one_label_per_epoch(n_epochs, y)
        self.X = X
        self.transform = transform
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.release_memory = release_memory

        self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes "
                f"{self.classes_.tolist()}."
            )
        # Balancing needs only the labels: run the sampler on row indices.
        self.balancer_ = ClassBalancer(
            n_per_class=n_per_class, random_state=random_state
        )
        self.balancer_.fit_resample(np.arange(n_epochs).reshape(-1, 1), y)
        rows = self.balancer_.sample_indices_
        labels = y[rows]
        codes = np.searchsorted(self.classes_, labels)
        targets = np.eye(len(self.classes_), dtype=keras.backend.floatx())[codes]
        weights = None
        if class_weight is not None:
            weights = compute_sample_weight(class_weight, labels).astype(
                keras.backend.floatx()
            )
            keep = weights != 0
            if not keep.any():
                raise ValueError("class_weight gives every training epoch weight 0.")
            rows, targets, weights = rows[keep], targets[keep], weights[keep]
        self.sample_indices_ = rows
        self._targets, self._weights = targets, weights
        self._shuffle_seed = check_random_state(random_state).randint(2**31 - 1)
        self.epoch_ = 0
        self._positions = self._epoch_positions()

    def _epoch_positions(self):
        n = len(self.sample_indices_)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self._shuffle_seed, self.epoch_]).permutation(n)

    def __len__(self):
        return -(-len(self.sample_indices_) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches.")
        positions = self._positions[
            index * self.batch_size : (index + 1) * self.batch_size
        ]
        batch = (
            self.features(self.sample_indices_[positions]),
            self._targets[positions],
        )
        if self._weights is not None:
            batch += (self._weights[positions],)
        return batch

    def features(self, rows):
        """Read, transform and flatten the given rows of ``X``.

        Parameters
        ----------
        rows : array-like of int
            Rows of ``X``, in the order wanted; repeats allowed.

        Returns
        -------
        features : ndarray of shape (len(rows), n_features), dtype float32
            Transformed rows, flattened as the classifier takes them.
        """
        unique, inverse = np.unique(np.asarray(rows), return_inverse=True)
        chunk = np.asarray(self.X[unique])
        if self.transform is not None:
            chunk = np.asarray(self.transform.transform(chunk))
        if self.release_memory:
            release_pages(self.X)
        chunk = chunk.reshape(len(unique), -1)[inverse]
        return chunk.astype(np.float32, copy=False)

    def on_epoch_end(self):
        """Count the epoch and, with ``shuffle=True``, reshuffle the rows."""
        self.epoch_ += 1
        self._positions = self._epoch_positions()


@validate_params(
    {
        "pipeline": [HasMethods(["fit", "predict"])],
        "X": "no_validation",
        "y": ["array-like"],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "release_memory": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fit_out_of_core(
    pipeline, X, y, *, chunk_size=2048, shuffle=True, release_memory=True
):
    """Fit a skdreamy pipeline on epochs too large for memory, chunk by chunk.

    Fits ``pipeline`` (as returned by :func:`~skdreamy.make_pipeline`) in
    place, reading ``X`` (typically a :class:`numpy.memmap`) in chunks of
    ``chunk_size`` epochs to fit the transformers and in batches to train the
    CNN; no copy of ``X``, and no array of its size, is ever made:

    - transformers before the balancer: stateless ones (``requires_fit``
      tag false, e.g. :class:`~skdreamy.EpochSpectrogram`) are fitted on one
      chunk; the others need ``partial_fit`` and get one pass over ``X`` each
      (a fresh clone replaces the step in the pipeline). With
      :class:`~skdreamy.SpectrogramScaler` ``method="minmax"`` (the default)
      this is exactly the scaler :meth:`fit` gives; ``"standard"`` matches
      up to rounding; ``"robust"`` cannot stream (an error says so);
    - the :class:`~skdreamy.sampling.ClassBalancer` step is fitted on the
      row indices and selects the same rows as in memory for the same
      ``random_state`` (its ``n_features_in_`` is therefore 1);
    - the :class:`~skdreamy.SleepStageCNNClassifier` trains on
      :class:`BalancedEpochBatches` with its own settings (architecture,
      epochs, batch size, ``class_weight``, callbacks, ``random_state``).

    With ``shuffle=False`` the result equals, bit for bit on CPU, the
    in-memory ``pipeline.fit(X, y, classify__shuffle=False)``. With
    ``shuffle=True`` (the default) the rows are reshuffled every epoch by a
    generator seeded from the balancer's ``random_state``, which is
    reproducible but not Keras' own in-memory shuffle: same data and
    protocol, other mini-batch order, hence not the same weights.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        Transformers, optionally one :class:`~skdreamy.sampling.ClassBalancer`,
        and a :class:`~skdreamy.SleepStageCNNClassifier` as the last step.
    X : array-like of shape (n_epochs, ...)
        Training epochs, e.g. ``load_nights(path, mmap=True).X``; any array
        supporting ``X.shape``, slices and ``X[sorted_int_array]``.
    y : array-like of shape (n_epochs,)
        Stage labels.
    chunk_size : int, default=2048
        Epochs per chunk when fitting the transformers (memory: a few times
        ``chunk_size`` x the size of one epoch).
    shuffle : bool, default=True
        Reshuffle the training rows every epoch; see above.
    release_memory : bool, default=True
        Drop the pages of a memory-mapped ``X`` from the process after each
        chunk and batch (they stay in the page cache); see
        :class:`BalancedEpochBatches`.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        The same pipeline, fitted.

    Raises
    ------
    TypeError
        If the last step is not a ``SleepStageCNNClassifier``, a sampler other
        than ``ClassBalancer`` is used, a step other than the classifier
        follows the balancer, or a stateful transformer has no
        ``partial_fit``.
    ValueError
        If ``X`` is not an array of epochs, ``X`` and ``y`` differ in length,
        or the classifier asks for a validation split (``validation_fraction``
        or ``early_stopping``), which this function does not hold out.

    See Also
    --------
    predict_out_of_core : Predicts chunk by chunk.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skdreamy import SleepStageCNNClassifier, make_pipeline
    >>> from skdreamy.datasets import make_sleep_epochs
    >>> from skdreamy.outofcore import fit_out_of_core, predict_out_of_core
    >>> X, y = make_sleep_epochs(100, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "epochs.f32")
    >>> X.astype(np.float32).tofile(path)
    >>> X_disk = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    >>> clf = SleepStageCNNClassifier(architecture="compact", dense_units=0,
    ...                               epochs=1, batch_size=32, random_state=0)
    >>> pipe = make_pipeline(raw=True, n_per_class=10, classifier=clf,
    ...                      random_state=0)
    >>> pipe = fit_out_of_core(pipe, X_disk, y, chunk_size=32)
    >>> pipe["scale"].n_samples_seen_, len(pipe["balance"].sample_indices_)
    (100, 50)
    >>> predict_out_of_core(pipe, X_disk, chunk_size=32).shape
    (100,)
    """
    n_epochs = _check_epochs_array(X)
    y = check_one_label_per_epoch(n_epochs, y)
    transformers, balancer, clf = _split_pipeline(pipeline)
    # The classifier is trained through its Keras model, not its fit (which
    # validates): check its parameters before the long pass over the data.
    clf._validate_params()
    if clf.validation_fraction > 0 or clf.early_stopping:
        raise ValueError(
            "fit_out_of_core does not hold out a validation split; set "
            "classify__validation_fraction=0 and classify__early_stopping=False, "
            "and score held-out nights instead."
        )

    # 1. Transformers, in order, each from the output of the ones before it.
    fitted = []
    for position, name, step in transformers:
        if not get_tags(step).requires_fit:
            first = slice(0, min(chunk_size, n_epochs))
            step.fit(_apply(fitted, _read(X, first, release_memory)), y[first])
        elif hasattr(step, "partial_fit"):
            step = clone(step)
            pipeline.steps[position] = (name, step)
            for start in range(0, n_epochs, chunk_size):
                chunk = slice(start, start + chunk_size)
                step.partial_fit(
                    _apply(fitted, _read(X, chunk, release_memory)), y[chunk]
                )
        else:
            raise TypeError(
                f"Step {name!r} ({type(step).__name__}) cannot be fitted out of "
                "core: it learns from the data but has no partial_fit. Use a "
                "transformer with partial_fit (SpectrogramScaler with method="
                "'minmax' or 'standard') or fit it on a sample yourself."
            )
        fitted.append(step)

    # 2. Balanced rows, drawn on the row indices.
    if balancer is None:
        n_per_class, random_state = None, clf.random_state
    else:
        n_per_class, random_state = balancer[2].n_per_class, balancer[2].random_state
    batches = BalancedEpochBatches(
        X,
        y,
        n_per_class=n_per_class,
        transform=_Chain(fitted) if fitted else None,
        batch_size=clf.batch_size,
        shuffle=shuffle,
        class_weight=clf.class_weight,
        random_state=random_state,
        release_memory=release_memory,
    )
    if balancer is not None:
        position, name, _ = balancer
        pipeline.steps[position] = (name, batches.balancer_)

    # 3. The classifier: built on one epoch per class, trained on the batches.
    order = batches.sample_indices_
    first_of_class = np.unique(y[order], return_index=True)[1]
    clf.initialize(batches.features(order[first_of_class]), y[order[first_of_class]])
    clf._ensure_compiled_model()
    clf._fit_keras_model(
        batches,
        None,
        sample_weight=None,
        warm_start=False,
        epochs=getattr(clf, "fit__epochs", clf.epochs),
        initial_epoch=0,
        batch_size=None,  # the batches are the dataset's
        shuffle=False,  # the dataset shuffles rows itself
    )
    return pipeline


@validate_params(
    {
        "pipeline": [HasMethods(["predict"])],
        "X": "no_validation",
        "method": [StrOptions({"predict", "predict_proba"})],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "release_memory": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def predict_out_of_core(
    pipeline, X, *, method="predict", chunk_size=2048, release_memory=True
):
    """Predict epochs too large for memory, ``chunk_size`` epochs at a time.

    ``pipeline.predict(X)`` on a memory map would hold the spectrograms of
    every epoch at once (and more in float64 while scaling); this reads and
    predicts one chunk at a time and concatenates the small outputs.

    Parameters
    ----------
    pipeline : fitted estimator
        A fitted pipeline or classifier.
    X : array-like of shape (n_epochs, ...)
        Epochs, e.g. a :class:`numpy.memmap`.
    method : {"predict", "predict_proba"}, default="predict"
        Which method of ``pipeline`` to call.
    chunk_size : int, default=2048
        Epochs per call.
    release_memory : bool, default=True
        Drop the pages of a memory-mapped ``X`` from the process after each
        chunk (they stay in the page cache).

    Returns
    -------
    out : ndarray of shape (n_epochs,) or (n_epochs, n_classes)
        Predicted labels or probabilities, as ``method`` returns them.

    Raises
    ------
    ValueError
        If ``X`` is not an array of epochs (2 or more dimensions), or an
        argument has the wrong type or value (e.g. ``chunk_size=0``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.outofcore import predict_out_of_core
    >>> X, y = np.zeros((10, 3)), np.array([0] * 7 + [1] * 3)
    >>> clf = DummyClassifier().fit(X, y)
    >>> predict_out_of_core(clf, X, method="predict_proba", chunk_size=4)[:2]
    array([[0.7, 0.3],
           [0.7, 0.3]])
    """
    n_epochs = _check_epochs_array(X)
    predict = getattr(pipeline, method)
    parts = [
        np.asarray(predict(_read(X, slice(start, start + chunk_size), release_memory)))
        for start in range(0, n_epochs, chunk_size)
    ]
    return np.concatenate(parts)


@validate_params({"X": ["array-like"]}, prefer_skip_nested_validation=True)
def release_pages(X):
    """Drop the pages of a memory map from this process (kept in the page cache).

    Calls ``madvise(MADV_DONTNEED)`` on the whole mapping behind ``X`` (a
    :class:`numpy.memmap` or a view of one) so that the pages read so far stop
    counting in the process's resident memory; reading them again is served
    from the operating system's page cache. Data is never lost: read-only and
    shared mappings re-read the file, and copy-on-write maps (``mode="c"``),
    whose changes would be lost, are left alone. Does nothing for other
    arrays or where ``madvise`` is unavailable (Windows).

    Parameters
    ----------
    X : array-like
        Typically a :class:`numpy.memmap`.

    Returns
    -------
    released : bool
        Whether pages were released.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skdreamy.outofcore import release_pages
    >>> path = os.path.join(tempfile.mkdtemp(), "x.f32")
    >>> np.ones(1000, dtype=np.float32).tofile(path)
    >>> X = np.memmap(path, dtype=np.float32, mode="r")
    >>> float(X.sum()), release_pages(X), float(X.sum())
    (1000.0, True, 1000.0)
    >>> release_pages(np.ones(3))
    False
    """
    while isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        X = X.base
    advice = getattr(mmap, "MADV_DONTNEED", None)
    mapping = getattr(X, "_mmap", None) if isinstance(X, np.memmap) else None
    if mapping is None or advice is None or X.mode == "c":
        return False
    try:
        mapping.madvise(advice)
    except (AttributeError, OSError, ValueError):  # closed, or not supported
        return False
    return True


class _Chain:
    """Fitted transformers applied one after the other (picklable)."""

    def __init__(self, steps):
        self.steps = list(steps)

    def transform(self, X):
        return _apply(self.steps, X)


def _apply(steps, X):
    for step in steps:
        X = step.transform(X)
    return X


def _read(X, rows, release_memory):
    """``X[rows]`` as an in-memory array; the mapping's pages released."""
    chunk = np.array(X[rows])
    if release_memory:
        release_pages(X)
    return chunk


def _check_epochs_array(X):
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) < 2 or not hasattr(X, "__getitem__"):
        raise ValueError(
            "X must be an array of epochs with one row per epoch (a numpy array "
            f"or numpy.memmap of 2 or more dimensions); got {type(X).__name__}"
            + (f" of shape {shape}." if shape is not None else ".")
        )
    if shape[0] == 0:
        raise ValueError(f"X holds no epochs (shape {tuple(shape)}).")
    return int(shape[0])


def _split_pipeline(pipeline):
    """The transformers before the balancer, the balancer, the classifier."""
    steps = getattr(pipeline, "steps", None)
    if not isinstance(steps, list) or not steps:
        raise TypeError(
            "fit_out_of_core needs a Pipeline (as make_pipeline returns), got "
            f"{type(pipeline).__name__}."
        )
    *head, (_, clf) = steps
    if not isinstance(clf, SleepStageCNNClassifier):
        raise TypeError(
            "fit_out_of_core trains a SleepStageCNNClassifier batch by batch; the "
            f"last step of this pipeline is {type(clf).__name__}."
        )
    transformers, balancer = [], None
    for position, (name, step) in enumerate(head):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if hasattr(step, "fit_resample"):
            if not isinstance(step, ClassBalancer):
                raise TypeError(
                    f"Step {name!r} ({type(step).__name__}) resamples the data; "
                    "out of core only ClassBalancer can be used, because it only "
                    "selects rows (it runs on the row indices)."
                )
            if balancer is not None:
                raise TypeError("fit_out_of_core supports one ClassBalancer step.")
            balancer = (position, name, step)
        elif balancer is not None:
            raise TypeError(
                f"Step {name!r} comes after the balancer; out of core only the "
                "classifier may follow it. Move the transformer before the "
                "balancer."
            )
        else:
            transformers.append((position, name, step))
    return transformers, balancer, clf


__all__ = [
    "BalancedEpochBatches",
    "fit_out_of_core",
    "predict_out_of_core",
    "release_pages",
]
