"""Keras model builders, one architecture per module."""

from ._augment import RandomOffset
from ._compact_cnn import build_compact_cnn
from ._reference_cnn import build_sleep_cnn

__all__ = ["RandomOffset", "build_compact_cnn", "build_sleep_cnn"]
