"""Reliability (issue 10): Ctrl-C (KeyboardInterrupt) leaves no half-written output.

In-process counterparts of test_interrupt.py (which sends SIGINT to the CLI
while it trains): an interrupted fit leaves the process and the estimator
usable, an interrupted cross-validation returns nothing, and interrupted
reports and predictions leave complete files or none.
"""

import csv
import os
import random

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from skdreamy import make_pipeline, save
from skdreamy.cli import main
from skdreamy.datasets import make_sleep_epochs
from skdreamy.metrics import cross_validate_stages
from skdreamy.report import write_report
from tests.conftest import tiny_classifier

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


@pytest.fixture(scope="module")
def night_and_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    x, y = make_sleep_epochs(60, random_state=0)
    night = folder / "night.npz"
    np.savez(night, x=x, y=y, subject="s1", channel="C3-A1")
    pipe = make_pipeline(
        raw=True, n_per_class=10, classifier=LogisticRegression(max_iter=300)
    )
    model = save(pipe.fit(x, y), folder / "model.skdreamy")
    return night, model


def _predict(night, model, out):
    args = ["--model", str(model), "--npz", str(night), "--out", str(out)]
    return main(["predict", *args, "--quiet"])


def test_interrupted_prediction_writes_nothing(
    night_and_model, tmp_path, monkeypatch, capsys
):
    import skdreamy.staging

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdreamy.staging, "stage", interrupt)
    night, model = night_and_model
    assert _predict(night, model, tmp_path / "night.csv") == 130
    assert "skdreamy predict: interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_interrupted_figure_leaves_a_complete_csv_and_no_figure(
    night_and_model, tmp_path, monkeypatch
):
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupt)
    night, model = night_and_model
    assert _predict(night, model, tmp_path / "night.csv") == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.csv"]
    with (tmp_path / "night.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 60 and all(row["quality"] == "ok" for row in rows)
    # The night has no onset_s: consecutive 30-s epochs from 0.
    assert [float(row["onset_s"]) for row in rows] == [30.0 * i for i in range(60)]


def test_interrupted_evaluate_writes_no_report(night_and_model, tmp_path, monkeypatch):
    import skdreamy.report

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdreamy.report, "plot_confusion_matrix", interrupt)
    night, model = night_and_model
    report = tmp_path / "report"
    args = ["evaluate", "--data", str(night), "--model", str(model)]
    assert main([*args, "--report", str(report), "--quiet"]) == 130
    assert not report.exists() or list(report.iterdir()) == []
