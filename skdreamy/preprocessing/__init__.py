"""Spectrograms from raw epochs, and their scaling."""

from ._scaler import SpectrogramScaler
from ._spectrogram import EpochSpectrogram

__all__ = ["EpochSpectrogram", "SpectrogramScaler"]
