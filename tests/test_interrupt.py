"""Ctrl-C during training or evaluation leaves no half-written output.

Under every Keras backend installed (TensorFlow; JAX and torch where present):
JAX once crashed while the interpreter shut down after the interruption.
"""

import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skdreamy import save
from skdreamy.metrics import cross_validate_stages
from skdreamy.report import write_report
from tests.conftest import (
    backend_env,
    skip_unless_installed,
    tiny_classifier,
    write_nights,
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    return write_nights(tmp_path_factory.mktemp("nights"), ["s1", "s2"], 60)


@pytest.fixture(params=["tensorflow", "jax", "torch"])
def backend(request):
    """A Keras backend whose package is installed."""
    skip_unless_installed(request.param)
    return request.param


def interrupt_when_training(args, cwd, backend):
    """Start the CLI, send SIGINT once its training progress bar shows."""
    env = backend_env(backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "skdreamy", *map(str, args)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
    )
    seen, deadline = "", time.monotonic() + 300
    while "training:" not in seen and time.monotonic() < deadline:
        char = proc.stderr.read(1)
        if not char:
            break
        seen += char
    assert "training:" in seen, seen
    time.sleep(1.0)  # well inside the first of many epochs
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    return proc.returncode, seen + rest


@pytest.mark.slow
def test_interrupted_train_keeps_the_previous_model(nights, tmp_path, backend):
    model = tmp_path / "model.skdreamy"
    save(StandardScaler().fit([[0.0], [1.0]]), model)  # any earlier file
    before = model.read_bytes()
    code, stderr = interrupt_when_training(
        [
            "train",
            "--data",
            nights,
            "--out",
            model,
            "--preset",
            "accurate",
            "--epochs",
            "50",
            "--n-per-class",
            "50",
        ],
        tmp_path,
        backend,
    )
    assert code == 130, stderr
    assert "interrupted" in stderr
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skdreamy"]


@pytest.mark.slow
def test_interrupted_evaluate_writes_no_report(nights, tmp_path, backend):
    report = tmp_path / "report"
    code, stderr = interrupt_when_training(
        [
            "evaluate",
            "--data",
            nights,
            "--report",
            report,
            "--cv",
            "subject",
            "--folds",
            "2",
            "--preset",
            "accurate",
            "--epochs",
            "50",
            "--n-per-class",
            "50",
        ],
        tmp_path,
        backend,
    )
    assert code == 130, stderr
    assert not report.exists() or list(report.iterdir()) == []


def _interrupted_inside_native_code(args):
    """What TensorFlow does when Ctrl-C lands inside a training step: the
    KeyboardInterrupt comes out as another error."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        raise SystemError("bad argument to internal function") from None


def test_ctrl_c_reported_as_another_error_still_counts_as_interrupted(
    nights, tmp_path, monkeypatch, capsys
):
    from skdreamy import cli

    monkeypatch.setattr(cli, "_train", _interrupted_inside_native_code)
    args = ["train", "--data", str(nights), "--out", str(tmp_path / "m.skdreamy")]
    assert cli.main(args) == 130
    assert capsys.readouterr().err.strip() == "skdreamy train: interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_same_error_without_ctrl_c_is_not_an_interruption(
    nights, tmp_path, monkeypatch, capsys
):
    from skdreamy import cli

    def fails(args):
        raise SystemError("bad argument to internal function")

    monkeypatch.setattr(cli, "_train", fails)
    monkeypatch.delenv("SKDREAMY_DEBUG", raising=False)
    args = ["train", "--data", str(nights), "--out", str(tmp_path / "m.skdreamy")]
    assert cli.main(args) == 1  # a bug: traceback, status 1
    err = capsys.readouterr().err
    assert "SystemError: bad argument" in err and "interrupted" not in err


# -- in-process Ctrl-C (KeyboardInterrupt) leaves no half-written output (reliability)
# An interrupted fit leaves the process and the estimator usable, an interrupted
# cross-validation returns nothing, an interrupted report is complete or absent.


PNG = b"\x89PNG\r\n\x1a\n"


class InterruptAtBatch(keras.callbacks.Callback):
    """Ctrl-C in the middle of training (batch callbacks come every
    ``steps_per_execution`` batches, so at the first call at or after it)."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.batch:
            raise KeyboardInterrupt


def _no_temp_files(folder):
    return [p.name for p in folder.rglob("*.tmp")] == []


@pytest.mark.slow
def test_interrupted_fit_leaves_the_process_and_estimator_usable(spectrograms):
    X, y, _ = spectrograms
    X, y = X[:200], y[:200]
    config = pytest.importorskip("tensorflow.python.framework.config")
    # scikeras seeds the legacy global generators while fitting.
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002
    before = (random.getstate(), np.random.get_state()[1].copy())  # noqa: NPY002
    deterministic = config.is_op_determinism_enabled()
    stop = InterruptAtBatch(2)
    clf = tiny_classifier(epochs=3, callbacks=[stop])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    # Global random state and TensorFlow's settings are restored...
    assert random.getstate() == before[0]
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])  # noqa: NPY002
    assert config.is_op_determinism_enabled() == deterministic
    assert "TF_DETERMINISTIC_OPS" not in os.environ or deterministic
    # ...the parameters are untouched, and a new fit starts from scratch.
    assert clf.get_params()["callbacks"] == [stop]
    clf.set_params(callbacks=None).fit(X, y)
    fresh = tiny_classifier(epochs=3).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), fresh.predict_proba(X))
    assert len(clf.history_["loss"]) == 3


class InterruptedInFold(ClassifierMixin, BaseEstimator):
    """LogisticRegression that is interrupted on the training set of one fold."""

    def __init__(self, size=None):
        self.size = size

    def fit(self, X, y):
        if len(X) == self.size:
            raise KeyboardInterrupt
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_interrupted_cross_validation_returns_nothing():
    y = np.tile(np.arange(5), 12)
    X = np.c_[y, -y] + np.random.default_rng(0).normal(size=(60, 2))
    seen = []
    with pytest.raises(KeyboardInterrupt) as info:
        cross_validate_stages(
            InterruptedInFold(size=45),  # every training set of 4 folds: 45 rows
            X,
            y,
            cv=4,
            progress=lambda fold, n, scores: seen.append(fold),
        )
    assert seen == []  # interrupted in fold 0: no fold reported as done
    assert not getattr(info.value, "__notes__", None)  # Ctrl-C stays Ctrl-C


def test_interrupted_report_leaves_no_report_json(tmp_path, monkeypatch):
    """report.json is written last: when it exists, the whole report does."""
    import skdreamy.report

    def interrupt(scores):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdreamy.report, "scores_table", interrupt)
    out = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt):
        write_report(out, {"n_epochs": 3}, [0, 2, 2], [0, 2, 3])
    names = sorted(p.name for p in out.iterdir())
    assert names == ["confusion_matrix.png"]  # complete, written first
    assert (out / "confusion_matrix.png").read_bytes()[:8] == PNG
    assert _no_temp_files(tmp_path)
