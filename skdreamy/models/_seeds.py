"""Explicit per-layer seeds.

Keras 3 draws the seed of a layer created without one from Python's global
``random`` module, so two models built in one process differ unless every
initialiser and dropout layer gets its own seed. Builders take one integer
and derive the rest here.
"""

import numpy as np


class LayerSeeds:
    """Hand out reproducible seeds, one per call; ``None`` in, ``None`` out.

    Examples
    --------
    >>> from skdreamy.models._seeds import LayerSeeds
    >>> a, b = LayerSeeds(0), LayerSeeds(0)
    >>> [a() for _ in range(3)] == [b() for _ in range(3)]
    True
    >>> LayerSeeds(None)() is None
    True
    """

    def __init__(self, seed):
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self):
        if self._rng is None:
            return None
        return int(self._rng.integers(0, 2**31 - 1))

    def glorot(self):
        """A seeded Glorot-uniform initialiser (Keras' default for kernels)."""
        import keras

        return keras.initializers.GlorotUniform(seed=self())


PRECISIONS = ("float32", "mixed_bfloat16")


def layer_dtypes(precision):
    """Keyword arguments ``(hidden, output)`` that give the layers of a model
    the dtype policy ``precision`` (None: Keras' global policy). The output
    (softmax) layer computes in float32 under a mixed policy, as Keras'
    mixed-precision guide advises."""
    import keras

    if precision is None:
        mixed = keras.config.dtype_policy().name.startswith("mixed")
        return {}, ({"dtype": "float32"} if mixed else {})
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {list(PRECISIONS)} or None; got {precision!r}."
        )
    return {"dtype": precision}, {"dtype": "float32"}
