"""Data loaders and generators. Every loader returns plain arrays or a Bunch."""

from ._edf import read_night, read_recording
from ._example_data import find_nights, load_example_nights
from ._folder import load_folder
from ._hypnogram import read_hypnogram
from ._nights import load_nights
from ._sleep_edf import load_sleep_edf
from ._spectrograms import load_spectrograms
from ._synthetic import make_sleep_epochs

__all__ = [
    "find_nights",
    "load_example_nights",
    "load_folder",
    "load_nights",
    "load_sleep_edf",
    "load_spectrograms",
    "make_sleep_epochs",
    "read_hypnogram",
    "read_night",
    "read_recording",
]
