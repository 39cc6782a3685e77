"""A compact CNN for small training sets and arbitrary spectrogram sizes."""

import keras
from keras import layers
from sklearn.utils._param_validation import validate_params

from ..datasets._spectrograms import SPECTROGRAM_SHAPE
from ._blocks import BUILDER_CONSTRAINTS, input_stem, output_head


@validate_params(
    {**BUILDER_CONSTRAINTS, "filters": [tuple, list]},
    prefer_skip_nested_validation=True,
)
def build_compact_cnn(
    spectrogram_shape=SPECTROGRAM_SHAPE,
    n_classes=5,
    *,
    filters=(16, 32, 64),
    dense_units=0,
    dropout=0.5,
    offset_std=0.0,
    noise_std=0.0,
    seed=None,
    precision=None,
):
    """Build a small CNN that averages over time but keeps frequency.

    Each block is a 3x3 ReLU convolution followed by 2x2 max pooling (both
    with ``same`` padding, so even a 1 x 1 input works). The feature maps are
    then averaged over the time axis only: the stage of an epoch does not
    depend on *when* within the 30 s a spindle or a slow wave occurs, but it
    does depend on *which frequencies* carry the power, so the frequency axis
    is kept and flattened into the classifier. At the defaults and 51 x 59
    input that is about 26k parameters against 750k for the reference CNN,
    which suits training sets of a few hundred epochs.

    Parameters
    ----------
    spectrogram_shape : tuple of (int, int), default=(51, 59)
        ``(n_freqs, n_times)`` of the input, both at least 1; the model takes
        them flattened.
    n_classes : int, default=5
        Units of the softmax output.
    filters : tuple of int, default=(16, 32, 64)
        Filters of each convolution block.
    dense_units : int, default=0
        Units of an optional hidden dense layer after pooling (0: none).
    dropout : float, default=0.5
        Dropout rate before the output (and the hidden dense layer).
    offset_std, noise_std : float, default=0.0
        Training-time augmentation, as in :func:`build_sleep_cnn`.
    seed : int or None, default=None
        Seeds every initialiser and dropout layer.
    precision : {"float32", "mixed_bfloat16"} or None, default=None
        Keras dtype policy of the layers, as in :func:`build_sleep_cnn`.

    Returns
    -------
    model : keras.Model
        Functional model from ``(n_freqs * n_times,)`` to ``(n_classes,)``.

    Raises
    ------
    ValueError
        If ``spectrogram_shape`` is not a pair of integers, or Keras refuses a
        layer argument (e.g. ``dropout`` outside [0, 1)).

    Examples
    --------
    >>> from skdreamy.models import build_compact_cnn
    >>> build_compact_cnn().count_params()
    25541
    >>> build_compact_cnn((3, 1), 2).output_shape
    (None, 2)
    """
    n_freqs, n_times = spectrogram_shape
    if n_freqs < 1 or n_times < 1:
        raise ValueError(
            f"spectrogram_shape must be positive, got {tuple(spectrogram_shape)}."
        )
    stem = input_stem(spectrogram_shape, offset_std, noise_std, seed, precision)
    x, seeds, dtype = stem.image, stem.seeds, stem.dtype
    for i, n_filters in enumerate(filters):
        x = layers.Conv2D(
            n_filters,
            3,
            padding="same",
            activation="relu",
            kernel_initializer=seeds.glorot(),
            name=f"conv{i}",
            **dtype,
        )(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{i}", **dtype)(x)
    # Average over the remaining time bins, keep the frequency rows.
    x = layers.AveragePooling2D(
        pool_size=(1, x.shape[2]), name="time_average", **dtype
    )(x)
    outputs = output_head(stem, x, n_classes, dense_units, dropout)
    return keras.Model(stem.inputs, outputs, name="compact_cnn")
