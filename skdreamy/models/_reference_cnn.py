"""The reference CNN of the sleep-staging project skdreamy reproduces.

Input: one spectrogram of 51 frequencies x 59 time bins (a 30-s epoch at
100 Hz through ``scipy.signal.spectrogram(fs=100, nperseg=100, noverlap=50)``),
given flattened as 3009 values and reshaped inside the model.

Layers (3x3 kernels, ReLU)::

    Conv32 valid -> Conv32 -> MaxPool2 -> Conv32 -> Conv32 -> MaxPool2
    -> Conv64 -> Conv64 -> MaxPool2 -> Conv128 -> MaxPool2 -> Flatten (1152)
    -> Dropout -> Dense512 -> Dropout -> Dense(n_classes) softmax

All convolutions after the first use ``same`` padding; with 5 classes the
layer table sums to 750,245 trainable parameters.
"""

import keras
from keras import layers
from sklearn.utils._param_validation import validate_params

from ..datasets._spectrograms import SPECTROGRAM_SHAPE
from ._blocks import BUILDER_CONSTRAINTS, input_stem, output_head

_CONV_FILTERS = (32, 32, None, 32, 32, None, 64, 64, None, 128, None)  # None: pool


def reference_min_shape():
    """Smallest ``(n_freqs, n_times)`` the reference CNN accepts: the valid
    3x3 convolution removes 2, and the four 2x2 poolings need 16 left."""
    return (18, 18)


@validate_params(
    {**BUILDER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def build_sleep_cnn(
    spectrogram_shape=SPECTROGRAM_SHAPE,
    n_classes=5,
    *,
    dense_units=512,
    dropout=0.5,
    offset_std=0.0,
    noise_std=0.0,
    seed=None,
    precision=None,
):
    """Build the (uncompiled) reference sleep-staging CNN.

    Parameters
    ----------
    spectrogram_shape : tuple of (int, int), default=(51, 59)
        ``(n_freqs, n_times)`` of the input spectrograms; both must be at least
        18. The model takes them flattened, shape ``(n_freqs * n_times,)``.
    n_classes : int, default=5
        Units of the softmax output.
    dense_units : int, default=512
        Units of the hidden dense layer (0: none).
    dropout : float, default=0.5
        Rate of both dropout layers.
    offset_std : float, default=0.0
        Training-time augmentation: standard deviation of a random constant
        added to each input spectrogram (:class:`RandomOffset`; on log power,
        a random gain).
    noise_std : float, default=0.0
        Training-time augmentation: standard deviation of Gaussian noise added
        to every input value (:class:`keras.layers.GaussianNoise`).
    seed : int or None, default=None
        Seeds every initialiser and dropout layer; the same seed gives the same
        initial weights and dropout masks.
    precision : {"float32", "mixed_bfloat16"} or None, default=None
        Keras dtype policy of the layers: ``"mixed_bfloat16"`` computes in
        bfloat16 with float32 weights. ``None`` follows Keras' global policy
        (``keras.config.set_dtype_policy``). Under a mixed policy the softmax
        output stays float32.

    Returns
    -------
    model : keras.Model
        Functional model from ``(n_freqs * n_times,)`` to ``(n_classes,)``.

    Raises
    ------
    ValueError
        If the spectrograms are too small for the four poolings.

    Examples
    --------
    >>> from skdreamy import build_sleep_cnn
    >>> model = build_sleep_cnn()
    >>> model.count_params()
    750245
    >>> model.input_shape, model.output_shape
    ((None, 3009), (None, 5))
    """
    n_freqs, n_times = spectrogram_shape
    min_f, min_t = reference_min_shape()
    if n_freqs < min_f or n_times < min_t:
        raise ValueError(
            f"The reference CNN needs spectrograms of at least {min_f} x {min_t} "
            f"(n_freqs x n_times); got {n_freqs} x {n_times}. Use "
            'architecture="compact" for smaller inputs.'
        )
    stem = input_stem(spectrogram_shape, offset_std, noise_std, seed, precision)
    x, seeds, dtype = stem.image, stem.seeds, stem.dtype
    first = True
    for i, filters in enumerate(_CONV_FILTERS):
        if filters is None:
            x = layers.MaxPooling2D(2, name=f"pool{i}", **dtype)(x)
            continue
        x = layers.Conv2D(
            filters,
            3,
            padding="valid" if first else "same",
            activation="relu",
            kernel_initializer=seeds.glorot(),
            name=f"conv{i}",
            **dtype,
        )(x)
        first = False
    outputs = output_head(stem, x, n_classes, dense_units, dropout)
    return keras.Model(stem.inputs, outputs, name="sleep_cnn")
