"""The input stem and output head every sleep-staging CNN shares.

An architecture is a stack of layers between the two: the stem takes the
flattened spectrogram ``(n_freqs * n_times,)`` the pipeline passes, reshapes
it to an image ``(n_freqs, n_times, 1)`` and applies the optional
training-time augmentation; the head flattens the last feature maps, applies
dropout (around an optional hidden dense layer) and ends in the softmax over
the classes.
"""

from numbers import Integral, Real
from typing import NamedTuple

import keras
from keras import layers
from sklearn.utils._param_validation import Interval, StrOptions

from ._augment import augmentation
from ._seeds import PRECISIONS, LayerSeeds, layer_dtypes

BUILDER_CONSTRAINTS = {
    "spectrogram_shape": [tuple, list],
    "n_classes": [Interval(Integral, 1, None, closed="left")],
    "dense_units": [Interval(Integral, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "offset_std": [Interval(Real, 0, None, closed="left")],
    "noise_std": [Interval(Real, 0, None, closed="left")],
    "seed": [Interval(Integral, 0, None, closed="left"), None],
    "precision": [StrOptions(set(PRECISIONS)), None],
}
"""The ``validate_params`` constraints of the parameters every builder takes."""


class Stem(NamedTuple):
    """What :func:`input_stem` makes, for the body and :func:`output_head`."""

    inputs: object  # the model input, (n_freqs * n_times,), named "spectrogram"
    image: object  # (n_freqs, n_times, 1), augmented: where the body starts
    seeds: LayerSeeds  # draws the seeds of the body's and the head's layers
    dtype: dict  # dtype-policy keyword arguments of the body's layers
    out_dtype: dict  # those of the softmax (float32 under mixed precision)


def input_stem(spectrogram_shape, offset_std, noise_std, seed, precision):
    """The model input and its image, with the augmentation layers applied.

    Parameters
    ----------
    spectrogram_shape : tuple of (int, int)
        ``(n_freqs, n_times)``.
    offset_std, noise_std : float
        Standard deviations of :class:`RandomOffset` and Gaussian noise (0:
        layer left out).
    seed : int or None
        Seeds every random layer of the model, in the order they are made.
    precision : str or None
        Keras dtype policy of the layers (see :func:`layer_dtypes`).

    Returns
    -------
    stem : Stem
    """
    n_freqs, n_times = spectrogram_shape
    dtype, out_dtype = layer_dtypes(precision)
    seeds = LayerSeeds(seed)
    inputs = keras.Input(shape=(n_freqs * n_times,), name="spectrogram")
    image = layers.Reshape((n_freqs, n_times, 1), name="image", **dtype)(inputs)
    image = augmentation(image, offset_std, noise_std, seeds)
    return Stem(inputs, image, seeds, dtype, out_dtype)


def output_head(stem, x, n_classes, dense_units, dropout):
    """Flatten, [dropout, hidden dense,] dropout, softmax over ``n_classes``.

    Parameters
    ----------
    stem : Stem
        As returned by :func:`input_stem`.
    x : keras.KerasTensor
        The last feature maps of the architecture.
    n_classes : int
        Units of the softmax.
    dense_units : int
        Units of the hidden ReLU dense layer; 0 leaves it (and the dropout
        before it) out.
    dropout : float
        Rate of the dropout layers.

    Returns
    -------
    outputs : keras.KerasTensor
        Shape ``(n_classes,)``, float32 probabilities (named "stage").
    """
    seeds, dtype = stem.seeds, stem.dtype
    x = layers.Flatten(name="flatten", **dtype)(x)
    if dense_units:
        x = layers.Dropout(dropout, seed=seeds(), name="dropout1", **dtype)(x)
        x = layers.Dense(
            dense_units,
            activation="relu",
            kernel_initializer=seeds.glorot(),
            name="dense",
            **dtype,
        )(x)
    x = layers.Dropout(dropout, seed=seeds(), name="dropout2", **dtype)(x)
    return layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=seeds.glorot(),
        name="stage",
        **stem.out_dtype,
    )(x)
