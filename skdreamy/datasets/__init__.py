"""Data loaders and generators. Every loader returns plain arrays or a Bunch."""

from ._edf import read_night
from ._synthetic import make_sleep_epochs

__all__ = ["make_sleep_epochs", "read_night"]
