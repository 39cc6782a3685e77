"""Spectrograms from raw epochs, their scaling or spectral features, and
temporal context."""

from ._context import stack_context
from ._features import SpectralFeatures
from ._quality import epoch_quality
from ._scaler import SpectrogramScaler
from ._spectrogram import EpochSpectrogram

__all__ = [
    "EpochSpectrogram",
    "SpectralFeatures",
    "SpectrogramScaler",
    "epoch_quality",
    "stack_context",
]
