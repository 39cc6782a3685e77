"""Keras model builders, one architecture per module, and their training schedules."""

from ._augment import RandomOffset
from ._compact_cnn import build_compact_cnn
from ._reference_cnn import build_sleep_cnn
from ._schedules import LinearWarmup

__all__ = ["LinearWarmup", "RandomOffset", "build_compact_cnn", "build_sleep_cnn"]
