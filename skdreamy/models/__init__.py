"""Keras model builders, one architecture per module, and their training schedules.

Every builder shares the input stem and output head of ``_blocks.py`` and
the signature ``builder(spectrogram_shape, n_classes, *, dense_units,
dropout, offset_std, noise_std, seed, precision)``; that is also the
contract of a callable passed as
:class:`~skdreamy.SleepStageCNNClassifier`'s ``architecture``.
"""

from types import MappingProxyType

from ._augment import RandomOffset
from ._compact_cnn import build_compact_cnn
from ._reference_cnn import build_sleep_cnn
from ._schedules import LinearWarmup

ARCHITECTURES = MappingProxyType(
    {"reference": build_sleep_cnn, "compact": build_compact_cnn}
)
"""The architectures :class:`~skdreamy.SleepStageCNNClassifier` knows by name.

A read-only mapping from name to builder: ``"reference"`` is
:func:`build_sleep_cnn`, ``"compact"`` is :func:`build_compact_cnn`. Other
architectures are passed as the builder itself (a callable).
"""

__all__ = [
    "ARCHITECTURES",
    "LinearWarmup",
    "RandomOffset",
    "build_compact_cnn",
    "build_sleep_cnn",
]
