"""Save and load fitted estimators, atomically and with their versions.

A saved model is a pickle of the estimator (a fitted
:class:`~skdreamy.SleepStageCNNClassifier` pickles its Keras model as bytes,
through scikeras) wrapped in a small frame that records the library versions
it was made with and guards against truncated and foreign files.

.. warning::
    :func:`load` unpickles the file, and unpickling can run arbitrary code.
    Load only files you trust (that you or your team saved). The checks
    below catch accidents (a cut download, the wrong file), not attacks: the
    checksum is not a signature. :func:`read_metadata` reads the header
    without unpickling and is safe on any file.

File format (version 1)
-----------------------
==========  =================================================================
bytes       content
==========  =================================================================
13          signature ``b"\\x89SKDREAMY\\r\\n\\x1a\\n"``
4           length ``H`` of the header (unsigned, big-endian)
H           header: UTF-8 JSON object with ``format_version``, ``versions``
            (skdreamy, python, numpy, scikit-learn, imbalanced-learn, keras,
            scikeras and the Keras backend's package), ``keras_backend``,
            ``estimator`` (class path), ``classes`` and ``created`` (UTC)
P           payload: the estimator, pickled with protocol 5
8           length ``P`` of the payload (unsigned, big-endian)
32          SHA-256 of the payload
8           end marker ``b"\\x00SKD-END"``
==========  =================================================================

The signature and the frame lengths are fixed for all format versions, so a
future skdreamy can always read the header and say what it found.
"""

import codecs
import datetime
import hashlib
import json
import os
import pickle
import platform
import struct
import sys
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from . import __version__
from ._io import atomic_open

FORMAT_VERSION = 1
"""The model file format version written by :func:`save`."""

_MAGIC = b"\x89SKDREAMY\r\n\x1a\n"
_END = b"\x00SKD-END"
_HEADER_LEN = struct.Struct(">I")
_PAYLOAD_LEN = struct.Struct(">Q")
_TRAILER_SIZE = _PAYLOAD_LEN.size + hashlib.sha256().digest_size + len(_END)
_PICKLE_PROTOCOL = 5

# Packages whose version is recorded; all but python are compared on load.
_DISTRIBUTIONS = ("numpy", "scikit-learn", "imbalanced-learn", "keras", "scikeras")


class ModelVersionWarning(UserWarning):
    """A model file was saved with other library versions than those installed.

    Emitted by :func:`load` when the skdreamy version differs, or the
    major.minor version of numpy, scikit-learn, imbalanced-learn, keras or
    scikeras, or the Keras backend. The model usually still works, but its
    predictions may differ. Turn it into an error with
    ``warnings.simplefilter("error", ModelVersionWarning)``.

    Examples
    --------
    Refuse, rather than warn about, a model saved with other versions:

    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.persistence import ModelVersionWarning, load, save
    >>> clf = DummyClassifier(strategy="constant", constant=2).fit([[0], [1]], [0, 2])
    >>> with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
    ...     warnings.simplefilter("error", ModelVersionWarning)
    ...     model = load(save(clf, Path(tmp) / "model.skdreamy"))  # same versions
    >>> model.predict([[0]]).tolist()
    [2]
    """


def _distribution_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _environment():
    """The library versions and Keras backend of the running interpreter."""
    import keras

    backend = keras.backend.backend()
    versions = {"skdreamy": __version__, "python": platform.python_version()}
    versions.update({name: _distribution_version(name) for name in _DISTRIBUTIONS})
    versions["keras"] = keras.__version__
    backend_module = sys.modules.get(backend)
    versions[backend] = getattr(backend_module, "__version__", None)
    return versions, backend


def _header(estimator):
    versions, backend = _environment()
    classes = getattr(estimator, "classes_", None)
    try:
        classes = None if classes is None else np.asarray(classes).tolist()
        json.dumps(classes)
    except (TypeError, ValueError):
        classes = None
    cls = type(estimator)
    return {
        "format": "skdreamy-model",
        "format_version": FORMAT_VERSION,
        "estimator": f"{cls.__module__}.{cls.__qualname__}",
        "classes": classes,
        "versions": versions,
        "keras_backend": backend,
        "pickle_protocol": _PICKLE_PROTOCOL,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


class _HashingWriter:
    """File wrapper that hashes and counts what the pickler writes."""

    def __init__(self, file):
        self.file = file
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data):
        # Protocol 5 hands large arrays over as PickleBuffer objects.
        self.sha256.update(data)
        self.size += memoryview(data).nbytes
        return self.file.write(data)


def save(estimator, path):
    """Save an estimator (fitted or not) to a file, atomically.

    The estimator is pickled into a temporary file next to ``path``, flushed
    to disk and then renamed over ``path`` in one step
    (:func:`os.replace`). An error or an interruption (Ctrl-C) while saving
    leaves an existing ``path`` untouched and removes the temporary file.

    The file records the versions of skdreamy, numpy, scikit-learn,
    imbalanced-learn, keras, scikeras and the Keras backend, which
    :func:`load` compares with the installed ones. The extension is free;
    ``.skdreamy`` is the convention.

    Parameters
    ----------
    estimator : object
        The estimator or pipeline to save; anything picklable.
    path : str or os.PathLike
        Destination file; its directory must exist. An existing file is
        replaced.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileNotFoundError
        If the directory of ``path`` does not exist.
    pickle.PicklingError, TypeError, AttributeError
        If the estimator cannot be pickled (e.g. it holds a lambda).
    OSError
        If writing fails (disk full, permissions).

    See Also
    --------
    load : Load a saved estimator.
    read_metadata : Read the versions recorded in a file, without loading.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdreamy import save, load
    >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 2, 2])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(clf, Path(tmp) / "model.skdreamy")
    ...     load(path).predict([[0.2], [2.8]]).tolist()
    [0, 2]
    """
    path = Path(os.fspath(path))
    header = json.dumps(_header(estimator), sort_keys=True).encode("utf-8")
    with atomic_open(path, "wb") as file:
        file.write(_MAGIC)
        file.write(_HEADER_LEN.pack(len(header)))
        file.write(header)
        writer = _HashingWriter(file)
        pickle.Pickler(writer, protocol=_PICKLE_PROTOCOL).dump(estimator)
        file.write(_PAYLOAD_LEN.pack(writer.size))
        file.write(writer.sha256.digest())
        file.write(_END)
    return path


def _describe_foreign(start):
    """A guess at what a file without the skdreamy signature is."""
    if start.startswith(b"PK\x03\x04"):
        return (
            "it is a zip archive (a Keras .keras model? load that with "
            "keras.saving.load_model)"
        )
    if start.startswith(b"\x89HDF\r\n\x1a\n"):
        return "it is an HDF5 file (a legacy Keras .h5 model?)"
    if start[:1] == b"\x80":
        return (
            "it is a plain pickle, not written by skdreamy.save; only if you "
            "trust its origin, open it with joblib.load or pickle.load"
        )
    try:
        # Incremental: a multi-byte character cut at the end is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        text = None
    if text and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text):
        return "it looks like a text file"
    return "it does not start with the skdreamy signature"


def _read_frame(path):
    """Check the frame of a model file; return (header, payload bytes)."""
    path = Path(os.fspath(path))
    name = str(path)
    with open(path, "rb") as file:
        # Identify the file from its first bytes before reading it all (it
        # may be a multi-gigabyte recording passed by mistake).
        start = file.read(64)
        if not start:
            raise ValueError(
                f"{name!r} is empty (0 bytes): it is not a skdreamy model."
            )
        if not start.startswith(_MAGIC):
            if _MAGIC.startswith(start):
                raise ValueError(
                    f"{name!r} is truncated: it holds only {len(start)} bytes of "
                    "a skdreamy model file."
                )
            raise ValueError(
                f"{name!r} is not a skdreamy model file: {_describe_foreign(start)}."
            )
        data = start + file.read()
    start = len(_MAGIC) + _HEADER_LEN.size
    if len(data) < start:
        raise ValueError(f"{name!r} is truncated: its header is incomplete.")
    (header_len,) = _HEADER_LEN.unpack_from(data, len(_MAGIC))
    if len(data) < start + header_len:
        raise ValueError(
            f"{name!r} is truncated: its header should be {header_len} bytes "
            f"long but the file ends after {len(data) - start}."
        )
    try:
        header = json.loads(data[start : start + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{name!r} is corrupt: its header is not JSON ({exc})."
        ) from exc
    version = header.get("format_version") if isinstance(header, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(
            f"{name!r} is corrupt: its header has no valid format_version "
            f"(got {version!r})."
        )
    if version > FORMAT_VERSION:
        saved_with = header.get("versions", {}).get("skdreamy", "?")
        raise ValueError(
            f"{name!r} has model format version {version}, written by skdreamy "
            f"{saved_with}; this skdreamy ({__version__}) reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade skdreamy to load it."
        )
    if version < 1:
        raise ValueError(f"{name!r} has an unknown model format version {version}.")
    body = start + header_len
    if len(data) < body + _TRAILER_SIZE or not data.endswith(_END):
        raise ValueError(
            f"{name!r} is truncated: its end marker is missing ({len(data)} "
            "bytes). The copy or download was probably cut short; copy it again."
        )
    trailer = len(data) - _TRAILER_SIZE
    (payload_len,) = _PAYLOAD_LEN.unpack_from(data, trailer)
    digest = data[trailer + _PAYLOAD_LEN.size : len(data) - len(_END)]
    payload = data[body:trailer]
    if payload_len != len(payload):
        raise ValueError(
            f"{name!r} is corrupt: it holds {len(payload)} bytes of model data "
            f"where its trailer records {payload_len}."
        )
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError(
            f"{name!r} is corrupt: the checksum of its model data does not "
            "match (the file was altered or damaged)."
        )
    return header, payload


def _major_minor(version):
    return tuple(str(version).split(".")[:2]) if version else None


def _version_differences(header):
    """Readable ``saved -> installed`` differences that warrant a warning."""
    saved = header.get("versions") or {}
    installed, backend = _environment()
    changes = []
    if saved.get("skdreamy") != installed["skdreamy"]:
        changes.append(f"skdreamy {saved.get('skdreamy')} -> {installed['skdreamy']}")
    for name in _DISTRIBUTIONS:
        if _major_minor(saved.get(name)) != _major_minor(installed[name]):
            changes.append(f"{name} {saved.get(name)} -> {installed[name]}")
    saved_backend = header.get("keras_backend")
    if saved_backend != backend:
        changes.append(f"Keras backend {saved_backend} -> {backend}")
    return changes


def read_metadata(path):
    """Read the header of a model file without unpickling it.

    Safe on untrusted files: it checks the frame (signature, lengths,
    checksum) and parses JSON only.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.

    Returns
    -------
    metadata : dict
        ``format_version``, ``estimator`` (class path), ``classes`` (or
        None), ``versions`` (package -> version at save time),
        ``keras_backend`` and ``created`` (ISO 8601, UTC), among others.

    Raises
    ------
    ValueError
        If the file is empty, truncated, corrupt, not a skdreamy model file,
        or has a newer format version.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.persistence import read_metadata, save
    >>> clf = DummyClassifier().fit([[0], [1]], ["W", "REM"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     info = read_metadata(save(clf, Path(tmp) / "dummy.skdreamy"))
    >>> info["estimator"], info["classes"], info["format_version"]
    ('sklearn.dummy.DummyClassifier', ['REM', 'W'], 1)
    >>> sorted(info["versions"])[:4]
    ['imbalanced-learn', 'keras', 'numpy', 'python']
    """
    header, _ = _read_frame(path)
    return header


def load(path):
    """Load an estimator saved by :func:`save`.

    The file's frame is checked before anything is unpickled; the library
    versions it records are then compared with the installed ones.

    .. warning::
        Loading unpickles the file, which can run arbitrary code: load only
        files from a source you trust.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.

    Returns
    -------
    estimator : object
        The estimator, as it was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, truncated or corrupt, is not a skdreamy model
        file (a plain pickle, a ``.keras`` archive, a text file), has a newer
        format version than this skdreamy reads, or cannot be unpickled here
        (e.g. a class it needs does not exist in the installed versions).

    Warns
    -----
    ModelVersionWarning
        If the skdreamy version, the major.minor version of numpy,
        scikit-learn, imbalanced-learn, keras or scikeras, or the Keras
        backend differ from those the file was saved with.

    See Also
    --------
    save : Save an estimator.
    read_metadata : Read a file's versions without unpickling it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdreamy import load, make_pipeline, save
    >>> pipe = make_pipeline(n_per_class=100)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(pipe, Path(tmp) / "unfitted.skdreamy")
    ...     [name for name, _ in load(path).steps]
    ['scale', 'balance', 'classify']
    """
    header, payload = _read_frame(path)
    name = str(Path(os.fspath(path)))
    changes = _version_differences(header)
    if changes:
        warnings.warn(
            f"{name!r} was saved with other library versions than those "
            f"installed: {'; '.join(changes)}. The model may load and predict "
            "differently; refit and save it with the installed versions if "
            "you can.",
            ModelVersionWarning,
            stacklevel=2,
        )
    try:
        return pickle.loads(payload)
    except Exception as exc:
        saved = header.get("versions", {})
        raise ValueError(
            f"{name!r} could not be unpickled with the installed libraries "
            f"({type(exc).__name__}: {exc}). It was saved with "
            + ", ".join(f"{k} {v}" for k, v in sorted(saved.items()))
            + "."
        ) from exc


__all__ = ["FORMAT_VERSION", "ModelVersionWarning", "load", "read_metadata", "save"]
