"""Spectrograms from raw epochs, their scaling, and temporal context."""

from ._context import stack_context
from ._quality import epoch_quality
from ._scaler import SpectrogramScaler
from ._spectrogram import EpochSpectrogram

__all__ = [
    "EpochSpectrogram",
    "SpectrogramScaler",
    "epoch_quality",
    "stack_context",
]
