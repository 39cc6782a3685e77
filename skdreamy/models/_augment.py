"""Training-time augmentation layers (identity at inference)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="skdreamy")
class RandomOffset(keras.layers.Layer):
    """Add one random constant per epoch during training.

    On log-power input a constant is a change of amplifier gain (or of
    electrode impedance) from one recording to the next: training with random
    offsets makes the model rely less on the absolute level, which differs
    between subjects. At inference the layer passes its input through.

    Parameters
    ----------
    stddev : float
        Standard deviation of the offset (in input units).
    seed : int or None, default=None
        Seed of the offsets.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer`.

    Examples
    --------
    >>> import numpy as np
    >>> from skdreamy.models import RandomOffset
    >>> layer = RandomOffset(0.5, seed=0)
    >>> x = np.zeros((2, 3, 4, 1), dtype="float32")
    >>> bool(np.all(layer(x, training=False) == 0))
    True
    >>> y = np.asarray(layer(x, training=True))
    >>> bool(np.all(y[0] == y[0, 0, 0, 0])), bool(y[0, 0, 0, 0] != y[1, 0, 0, 0])
    (True, True)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        offset = keras.random.normal(
            shape, stddev=self.stddev, dtype=inputs.dtype, seed=self.seed_generator
        )
        return inputs + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def augmentation(x, offset_std, noise_std, seeds):
    """Apply the optional augmentation layers of the model builders."""
    if offset_std:
        x = RandomOffset(offset_std, seed=seeds(), name="random_offset")(x)
    if noise_std:
        x = keras.layers.GaussianNoise(noise_std, seed=seeds(), name="noise")(x)
    return x
