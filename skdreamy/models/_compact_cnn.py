"""A compact CNN for small training sets and arbitrary spectrogram sizes."""

from numbers import Integral, Real

import keras
from keras import layers
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..datasets._spectrograms import SPECTROGRAM_SHAPE
from ._blocks import input_stem, output_head
from ._seeds import PRECISIONS


@validate_params(
    {
        "spectrogram_shape": [tuple, list],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "filters": [tuple, list],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "offset_std": [Interval(Real, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "seed": [Interval(Integral, 0, None, closed="left"), None],
        "precision": [StrOptions(set(PRECISIONS)), None],
    },
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
    offset_std : float, default=0.0
        Training-time augmentation: standard deviation of a random constant
        added to each input spectrogram (:class:`RandomOffset`; on log power,
        a random gain).
    noise_std : float, default=0.0
        Training-time augmentation: standard deviation of Gaussian noise added
        to every input value (:class:`keras.layers.GaussianNoise`).
    seed : int or None, default=None
        Seeds every initialiser and dropout layer.
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
    inputs, x, context = input_stem(
        (n_freqs, n_times),
        offset_std=offset_std,
        noise_std=noise_std,
        seed=seed,
        precision=precision,
    )
    seeds, dtype = context["seeds"], context["dtype"]
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
    outputs = output_head(
        x, n_classes, dense_units=dense_units, dropout=dropout, context=context
    )
    return keras.Model(inputs, outputs, name="compact_cnn")
