"""Ctrl-C during training or evaluation leaves no half-written output.

Under every Keras backend installed (TensorFlow; JAX and torch where present):
JAX once crashed while the interpreter shut down after the interruption.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from skdreamy import save
from tests.conftest import backend_env, skip_unless_installed, write_nights


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
    save({"previous": "model"}, model)
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
