"""Atomic file output: a file is either complete or not there (or unchanged)."""

import contextlib
import os
import secrets
from pathlib import Path


def _fsync_directory(directory):
    """Make a rename durable (POSIX); a no-op where directories can't open."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """Open a temporary file next to ``path``; rename it over ``path`` on success.

    The temporary file is flushed and fsynced before :func:`os.replace`, so
    ``path`` never holds a partial file. An exception (or Ctrl-C) inside the
    block removes the temporary file and leaves an existing ``path``
    untouched.

    Parameters
    ----------
    path : str or path-like
        Destination; its directory must exist.
    mode : {"wb", "w"}, default="wb"
        Binary or text mode.
    **kwargs : dict
        Passed to :func:`os.fdopen` (e.g. ``encoding``, ``newline``).

    Yields
    ------
    file : file object
        Write here.

    Raises
    ------
    FileNotFoundError
        If the directory of ``path`` does not exist.
    """
    path = Path(os.fspath(path))
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Cannot write {str(path)!r}: the directory {str(directory)!r} does "
            "not exist."
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # os.open with mode 0o666 so that the umask applies, as for open().
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, mode, **kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
