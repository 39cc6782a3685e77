"""skdreamy: sleep staging from single-channel EEG, the scikit-learn way.

The public names are re-exported here; the modules behind them are private
(``skdreamy/preprocessing/_scaler.py`` ...), as in scikit-learn. They are
imported on first use, so that ``import skdreamy`` (and ``skdreamy --help``)
does not load Keras and TensorFlow until a model is needed.
"""

import importlib

from . import _tf_output

_tf_output.default_log_level()  # TF_CPP_MIN_LOG_LEVEL=2 unless set (see there)

__version__ = "0.1.0.dev0"

_LAZY = {
    "EpochSpectrogram": ".preprocessing",
    "SpectralFeatures": ".preprocessing",
    "SpectrogramScaler": ".preprocessing",
    "SleepStageCNNClassifier": ".classifier",
    "build_compact_cnn": ".models",
    "build_sleep_cnn": ".models",
    "make_pipeline": ".pipeline",
    "PRESETS": ".pipeline",
    "SPECTROGRAM_SHAPE": ".datasets._spectrograms",
    "STAGE_NAMES": "._stages",
    "load": ".persistence",
    "save": ".persistence",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
