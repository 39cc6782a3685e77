"""Nights already cut into epochs, one ``.npz`` file per night.

This is the format of the DREAMS excerpts the project is tested on: each
file holds ``x`` (n_epochs, 3000) float32 EEG in microvolts at 100 Hz, ``y``
stage codes, the ``subject`` and ``channel`` names and per-epoch metadata.
"""

import os
import tempfile
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._checks import check_epochs, check_file, check_per_epoch, check_stage_labels
from ._schema import nights_bunch

N_TIMES = 3000
"""Samples per epoch in the format: 30 s at 100 Hz."""

_REQUIRED = ("x", "y", "subject", "channel")
_OPTIONAL = ("onset_s", "label_agreement", "orig_fs")


def _night_files(path):
    """The ``.npz`` files named by ``path``: a folder, a file or a list."""
    if isinstance(path, str | os.PathLike):
        folder = Path(path).expanduser()
        if folder.is_dir():
            files = sorted(folder.glob("*.npz"))
            if not files:
                raise FileNotFoundError(f"no .npz file in the folder {str(folder)!r}.")
            return [f.resolve() for f in files]
        return [check_file(folder, what="night file")]
    files = [check_file(f, what="night file") for f in path]
    if not files:
        raise ValueError("path is an empty list; give a folder or .npz files.")
    return files


def read_npz(path):
    """All arrays of one ``.npz`` file, with read errors naming the file."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot read this file with numpy.load; it may be "
            f"truncated or corrupt ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path}: holds a single array, not an .npz archive of named arrays."
        )
    with data:
        try:
            arrays = {key: data[key] for key in data.files}
            # zipfile checks a member's CRC-32 only when it is read to its end,
            # and numpy stops where the member's .npy header says the array
            # ends: a damaged header could shift the data unnoticed.
            damaged = data.zip.testzip()
        except Exception as exc:
            raise ValueError(
                f"{path}: cannot read the arrays of this .npz file; it may be "
                f"truncated or corrupt ({type(exc).__name__}: {exc})."
            ) from exc
    if damaged is not None:
        raise ValueError(
            f"{path}: the member {damaged!r} of this .npz file fails its CRC-32 "
            "check; the file is corrupt (copy it again)."
        )
    return arrays


def _scalar_string(value, *, source, name):
    value = np.asarray(value)
    if value.dtype.kind != "U" or value.size != 1:
        raise ValueError(
            f"{source}: {name!r} must be a single string, got an array of dtype "
            f"{value.dtype} and shape {value.shape}."
        )
    return str(value.reshape(()))


def _read_night(path, allow_nonfinite=False):
    """Read and validate one night file; return its fields."""
    arrays = read_npz(path)
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise ValueError(
            f"{path}: missing key(s) {missing}; the file has {sorted(arrays)}. "
            f"A night file needs {list(_REQUIRED)}."
        )
    x = check_epochs(
        arrays["x"],
        source=path,
        shape=(N_TIMES,),
        name="x",
        allow_nonfinite=allow_nonfinite,
    )
    n = x.shape[0]
    night = {
        "x": x,
        "y": check_stage_labels(arrays["y"], source=path, n_epochs=n, name="y"),
        "subject": _scalar_string(arrays["subject"], source=path, name="subject"),
        "channel": _scalar_string(arrays["channel"], source=path, name="channel"),
        "onsets": np.full(n, np.nan),
        "label_agreement": None,
        "orig_fs": np.nan,
    }
    if "onset_s" in arrays:
        night["onsets"] = check_per_epoch(
            arrays["onset_s"], source=path, n_epochs=n, name="onset_s"
        ).astype(float)
    if "label_agreement" in arrays:
        agreement = check_per_epoch(
            arrays["label_agreement"], source=path, n_epochs=n, name="label_agreement"
        )
        if np.any((agreement < 0) | (agreement > 1)):
            raise ValueError(f"{path}: 'label_agreement' must lie in [0, 1].")
        night["label_agreement"] = agreement.astype(np.float32)
    if "orig_fs" in arrays:
        orig_fs = np.asarray(arrays["orig_fs"])
        if orig_fs.size != 1 or orig_fs.dtype.kind not in "iuf" or not orig_fs > 0:
            raise ValueError(
                f"{path}: 'orig_fs' must be one positive number, got {orig_fs!r}."
            )
        night["orig_fs"] = float(orig_fs.reshape(()))
    return night


@validate_params(
    {
        "path": [str, os.PathLike, list, tuple],
        "mmap": ["boolean"],
        "allow_nonfinite": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_nights(path, *, mmap=False, allow_nonfinite=False):
    """Load nights stored as epochs, one ``.npz`` file per night.

    Each file must hold:

    - ``x``: (n_epochs, 3000) EEG epochs, 30 s at 100 Hz, in microvolts;
    - ``y``: (n_epochs,) integer stage codes 0=W 1=N1 2=N2 3=N3 4=REM;
    - ``subject`` and ``channel``: one string each;

    and may hold (NaN in the output for files without them; the output has
    ``label_agreement`` only when some file holds it):

    - ``onset_s``: (n_epochs,) start of each epoch in seconds;
    - ``label_agreement``: (n_epochs,) in [0, 1], how much of the epoch its
      label covers;
    - ``orig_fs``: the sampling rate of the source recording.

    Other keys (``dataset``, ``source``...) are ignored. Every file is checked
    before anything is returned.

    Parameters
    ----------
    path : str, path-like or list of them
        A folder (every ``*.npz`` in it, sorted by name, not recursive), one
        ``.npz`` file, or a list of files (kept in the given order).
    mmap : bool, default=False
        Return ``X`` as a read-only :class:`numpy.memmap` instead of an
        in-memory array, for data sets larger than memory. The members of an
        ``.npz`` file cannot be mapped in place (they are usually compressed),
        so the nights are decompressed one at a time into an anonymous
        temporary file in :func:`tempfile.gettempdir` (set ``TMPDIR`` to
        choose the disk); it is deleted when ``X`` is garbage-collected.
    allow_nonfinite : bool, default=False
        Keep epochs holding NaN or infinite samples (gaps in a recording)
        instead of refusing the file, e.g. to stage the others with
        :func:`skdreamy.staging.stage` ``(invalid="mark")``, which returns a
        row per epoch and marks these.
        Nothing is written next to the data.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The keys every loader returns (see :ref:`loader-schema`):
        ``X`` (n_epochs, 3000) float32 µV, ``y``, ``groups`` (index into
        ``subjects``), ``nights`` (index into ``files``), ``onsets``
        (``onset_s``, NaN without), ``subjects``, ``files``, ``channels``,
        ``orig_fs`` and, when a file holds it, ``label_agreement``.

    Raises
    ------
    FileNotFoundError
        If a file or the folder does not exist, or the folder has no ``.npz``.
    ValueError
        If a file is truncated or corrupt, misses a key, has ``x`` not of
        shape (n, 3000), no epochs, NaN or infinite values (unless
        ``allow_nonfinite=True``), ``y`` not of one
        label per epoch or labels outside 0..4, or malformed metadata. The
        message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from skdreamy.datasets import load_nights, make_sleep_epochs
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for i, name in enumerate(["anna", "ben", "anna"]):
    ...     x, y = make_sleep_epochs(4, random_state=i)
    ...     np.savez_compressed(folder / f"night{i}.npz", x=x, y=y.astype(np.int8),
    ...                         subject=name, channel="C3-A1")
    >>> data = load_nights(folder)
    >>> data.X.shape, data.y.dtype
    ((12, 3000), dtype('int64'))
    >>> data.subjects.tolist(), data.groups.tolist()
    (['anna', 'ben'], [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0])
    >>> data.nights.tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> load_nights(folder, mmap=True).X.flags.writeable
    False
    """
    files = _night_files(path)
    nights = []
    with tempfile.TemporaryFile() if mmap else nullcontext() as buffer:
        for file in files:
            night = _read_night(file, allow_nonfinite)
            if mmap:
                buffer.write(night.pop("x").tobytes())
            nights.append(night)
        n_epochs = [len(night["y"]) for night in nights]
        if mmap:
            buffer.flush()
            X = np.memmap(
                buffer, dtype=np.float32, mode="r", shape=(sum(n_epochs), N_TIMES)
            )
    return nights_bunch(
        X if mmap else [night.pop("x") for night in nights],
        y=[night["y"] for night in nights],
        subjects=[night["subject"] for night in nights],
        onsets=[night["onsets"] for night in nights],
        files=files,
        channels=[night["channel"] for night in nights],
        orig_fs=[night["orig_fs"] for night in nights],
        label_agreement=[night["label_agreement"] for night in nights],
    )
