"""The input stem and output head every sleep-staging CNN shares.

An architecture is a stack of layers between the two: the stem takes the
flattened spectrogram ``(n_freqs * n_times,)`` the pipeline passes, reshapes
it to an image ``(n_freqs, n_times, 1)`` and applies the optional
training-time augmentation; the head flattens the last feature maps, applies
dropout (around an optional hidden dense layer) and ends in the softmax over
the classes.
"""

import keras
from keras import layers

from ._augment import augmentation
from ._seeds import LayerSeeds, layer_dtypes


def input_stem(spectrogram_shape, *, offset_std, noise_std, seed, precision):
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
    inputs : keras.KerasTensor
        The model input, shape ``(n_freqs * n_times,)``, named "spectrogram".
    image : keras.KerasTensor
        Shape ``(n_freqs, n_times, 1)``, for the layers of the architecture.
    context : dict
        ``seeds`` (the :class:`LayerSeeds` to draw further seeds from) and
        ``dtype``/``out_dtype`` (the layer keyword arguments of the body and
        of the softmax), to pass to the body and :func:`output_head`.
    """
    n_freqs, n_times = spectrogram_shape
    dtype, out_dtype = layer_dtypes(precision)
    seeds = LayerSeeds(seed)
    inputs = keras.Input(shape=(n_freqs * n_times,), name="spectrogram")
    image = layers.Reshape((n_freqs, n_times, 1), name="image", **dtype)(inputs)
    image = augmentation(image, offset_std, noise_std, seeds)
    return inputs, image, {"seeds": seeds, "dtype": dtype, "out_dtype": out_dtype}


def output_head(x, n_classes, *, dense_units, dropout, context):
    """Flatten, [dropout, hidden dense,] dropout, softmax over ``n_classes``.

    Parameters
    ----------
    x : keras.KerasTensor
        The last feature maps of the architecture.
    n_classes : int
        Units of the softmax.
    dense_units : int
        Units of the hidden ReLU dense layer; 0 leaves it (and the dropout
        before it) out.
    dropout : float
        Rate of the dropout layers.
    context : dict
        As returned by :func:`input_stem`.

    Returns
    -------
    outputs : keras.KerasTensor
        Shape ``(n_classes,)``, float32 probabilities (named "stage").
    """
    seeds, dtype = context["seeds"], context["dtype"]
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
        **context["out_dtype"],
    )(x)
