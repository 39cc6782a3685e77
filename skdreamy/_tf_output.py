"""TensorFlow's harmless chatter, silenced exactly where skdreamy causes it.

Three kinds of output reach a user of Keras' TensorFlow backend although
nothing is wrong (TensorFlow 2.21, measured for issue 15):

1. On import, TensorFlow's C++ side logs "All log messages before
   absl::InitializeLog() ...", "oneDNN custom operations are on" (twice, from
   two shared libraries) and "This TensorFlow binary is optimized to use
   available CPU instructions" (``cpu_feature_guard``).
2. Each seeded fit (scikeras switches TensorFlow's op determinism on while it
   trains) logs ``E0000 ... NodeDef mentions attribute
   use_unbounded_threadpool which is not in the op definition``: the tf.data
   rewrite that makes Keras' parallel map sequential keeps an attribute the
   sequential op does not declare, and drops it. The level is ERROR, so
   ``TF_CPP_MIN_LOG_LEVEL=2`` still shows it.
3. "N out of the last N calls to <function TensorFlowTrainer....> triggered
   tf.function retracing" when many models are fitted in one process
   (GridSearchCV, cross_val_score). Its cause is scikit-learn's contract:
   ``fit`` builds a fresh Keras model, whose train and predict functions are
   new ``tf.function`` objects traced once each. TensorFlow counts traces per
   *code object*, which all Keras models share, so N models look like one
   function retraced N times. Each model's functions are traced only for
   its own shapes (Keras passes ``reduce_retracing=True``); nothing is
   retraced needlessly.

What is done about each, and nothing more:

- :func:`default_log_level` (run when skdreamy is imported, before Keras is)
  sets ``TF_CPP_MIN_LOG_LEVEL=2`` *only if the variable is unset and
  TensorFlow not yet imported*: C++ INFO and WARNING messages (the
  ``cpu_feature_guard`` lines) are hidden, errors are not. Set the variable
  yourself (``TF_CPP_MIN_LOG_LEVEL=0``) to see everything.
- :func:`quiet_retracing` drops the retracing warning of Keras' own
  ``TensorFlowTrainer`` functions (the message names them), only while a
  skdreamy classifier fits or predicts. Retracing warnings about any other
  function still show.
- The command line (an application, not a library) additionally runs its
  command under :func:`filtered_stderr`, which drops exactly the lines that
  :func:`is_harmless` recognises (the import lines of 1. and the line of 2.)
  from the process' standard error and passes everything else on as it
  comes (progress bars included).
"""

import contextlib
import logging
import os
import re
import sys
import threading

# Whole lines of TensorFlow's C++ logging that say nothing is wrong.
_HARMLESS = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are "
    r"written to STDERR"
    r"|I\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on\."
    r"|I\d{4} [\d:. ]+\d+ cpu_feature_guard\.cc:\d+\] This TensorFlow binary is "
    r"optimized"
    r"|To enable the following instructions: .* rebuild TensorFlow with the "
    r"appropriate compiler flags\."
    r"|E\d{4} [\d:. ]+\d+ node_def_util\.cc:\d+\] NodeDef mentions attribute "
    r"use_unbounded_threadpool which is not in the op definition"
)
# What a harmless line starts with: a line that does not is passed on at once.
_PREFIXES = ("WARNING: All log", "I0", "E0", "To enable the following")


def is_harmless(line):
    """Whether ``line`` is one of TensorFlow's known harmless log lines.

    Examples
    --------
    >>> from skdreamy._tf_output import is_harmless
    >>> is_harmless("I0000 00:00:1796217462.268171    5822 port.cc:153] "
    ...             "oneDNN custom operations are on. You may see ...")
    True
    >>> is_harmless("E0000 00:00:17.5 12 some_kernel.cc:1] Out of memory")
    False
    """
    return _HARMLESS.match(line) is not None


def default_log_level():
    """``TF_CPP_MIN_LOG_LEVEL=2`` unless set, and only before TensorFlow loads."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _KerasRetracingFilter(logging.Filter):
    """Drops TensorFlow's retracing warning about Keras' trainer functions."""

    def filter(self, record):
        message = record.getMessage()
        return not (
            "triggered tf.function retracing" in message
            and "TensorFlowTrainer." in message
        )


_FILTER = _KerasRetracingFilter()
_filter_lock = threading.Lock()
_filter_users = 0


@contextlib.contextmanager
def quiet_retracing():
    """Hide the retracing warning of Keras' per-model functions in the block.

    Safe across threads (n_jobs with the threading backend): the filter stays
    on the ``tensorflow`` logger while any block is running.
    """
    global _filter_users
    logger = logging.getLogger("tensorflow")
    with _filter_lock:
        if _filter_users == 0:
            logger.addFilter(_FILTER)
        _filter_users += 1
    try:
        yield
    finally:
        with _filter_lock:
            _filter_users -= 1
            if _filter_users == 0:
                logger.removeFilter(_FILTER)


class _Forwarder(threading.Thread):
    """Copies a pipe to a file descriptor, dropping harmless whole lines."""

    def __init__(self, read_fd, write_fd):
        super().__init__(name="skdreamy-stderr-filter", daemon=True)
        self.read_fd, self.write_fd = read_fd, write_fd

    def _write(self, data):
        while data:
            data = data[os.write(self.write_fd, data) :]

    def run(self):
        pending = b""
        while True:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                break
            pending = self._drain(pending + chunk)
        if pending:
            self._write(pending)

    def _drain(self, data):
        """Write out what can be decided now; return what must wait."""
        out = []
        while data:
            end = data.find(b"\n")
            if end < 0:
                head = data.decode("utf-8", "replace")
                if any(p.startswith(head[: len(p)]) for p in _PREFIXES):
                    break  # may be the start of a harmless line: wait for its end
                out.append(data)  # progress bars (\r, no newline) go on at once
                data = b""
                break
            line, data = data[: end + 1], data[end + 1 :]
            if not is_harmless(line.decode("utf-8", "replace").rstrip("\r\n")):
                out.append(line)
        if out:
            self._write(b"".join(out))
        return data


@contextlib.contextmanager
def filtered_stderr():
    """Run the block with file descriptor 2 filtered through :func:`is_harmless`.

    Everything written to standard error (by Python or by native code) is
    passed on as it comes, except TensorFlow's known harmless lines. A no-op
    where standard error has no file descriptor.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    read_fd, write_fd = os.pipe()
    forwarder = _Forwarder(read_fd, saved)
    forwarder.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the thread ends
        forwarder.join(timeout=2)  # a child process may hold the pipe open
        if not forwarder.is_alive():
            os.close(read_fd)
            os.close(saved)
