"""skdreamy: sleep staging from single-channel EEG, the scikit-learn way.

The public names are re-exported here; the modules behind them are private
(``skdreamy/preprocessing/_scaler.py`` ...), as in scikit-learn.
"""

__version__ = "0.1.0.dev0"

from .classifier import SleepStageCNNClassifier
from .models import build_sleep_cnn
from .persistence import load, save
from .pipeline import make_pipeline
from .preprocessing import EpochSpectrogram, SpectrogramScaler

__all__ = [
    "EpochSpectrogram",
    "SleepStageCNNClassifier",
    "SpectrogramScaler",
    "__version__",
    "build_sleep_cnn",
    "load",
    "make_pipeline",
    "save",
]
