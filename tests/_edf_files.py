"""Small EDF files for the loader tests, written with edfio (no download)."""

import numpy as np
from edfio import Edf, EdfAnnotation, EdfSignal


def ramp(n_samples, sfreq):
    """A signal whose value in µV is the time in seconds: shows where it was cut."""
    return np.arange(n_samples) / sfreq


def write_psg(
    path,
    signals,
    sfreq,
    *,
    annotations=(),
    unit="uV",
    physical_range=None,
):
    """Write ``signals`` (label -> 1-D array in ``unit``) as an EDF(+) file.

    With ``annotations`` (``(onset, duration, text)`` triples) the file is
    EDF+ and carries them as its scoring.
    """
    edf = Edf(
        [
            EdfSignal(
                np.asarray(data, dtype=float),
                sfreq,
                label=label,
                physical_dimension=unit,
                physical_range=physical_range,
            )
            for label, data in signals.items()
        ],
        annotations=[EdfAnnotation(*annotation) for annotation in annotations],
    )
    edf.write(path)
    return path


def write_hypnogram(path, annotations):
    """Write a scoring-only EDF+ file, as Sleep-EDF's ``*-Hypnogram.edf``."""
    Edf([], annotations=[EdfAnnotation(*a) for a in annotations]).write(path)
    return path


def scoring(*stages, start=0.0, epoch=30.0):
    """``(text, n_epochs)`` pairs to back-to-back annotations."""
    annotations, onset = [], start
    for text, n_epochs in stages:
        annotations.append((onset, n_epochs * epoch, text))
        onset += n_epochs * epoch
    return annotations
