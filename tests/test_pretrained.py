"""YasaStager: YASA's pretrained EEG stager as a scikit-learn classifier.

Shape, classes, probabilities and the estimator contract on synthetic nights;
accuracy is measured in benchmarks/peers.py, not here. Tests that run YASA
are skipped when it (or lightgbm) is not installed.
"""

import csv
import json
import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.utils._param_validation import InvalidParameterError

from skdreamy.datasets import make_sleep_epochs
from skdreamy.pretrained import YasaStager
from tests.conftest import write_night


@pytest.fixture(scope="module")
def yasa():
    pytest.importorskip("lightgbm")
    return pytest.importorskip("yasa")


@pytest.fixture(scope="module")
def night():
    """Twenty synthetic 30-s epochs at 100 Hz (10 min), in µV."""
    X, y = make_sleep_epochs(20, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def proba(yasa, night):
    return YasaStager().predict_proba(night[0])


def test_predict_proba_shape_and_sums(proba, night):
    assert proba.shape == (len(night[0]), 5)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def test_predict_is_the_most_probable_class(yasa, proba, night):
    stager = YasaStager()
    y_pred = stager.predict(night[0])
    assert y_pred.shape == (len(night[0]),)
    assert set(y_pred) <= {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(y_pred, stager.classes_[np.argmax(proba, axis=1)])


def test_classes_need_no_fit():
    stager = YasaStager()
    np.testing.assert_array_equal(stager.classes_, [0, 1, 2, 3, 4])
    assert is_classifier(stager)
    assert stager.__sklearn_tags__().requires_fit is False


def test_fit_refuses_with_the_reason(night):
    X, y = night
    with pytest.raises(NotImplementedError, match="pretrained"):
        YasaStager().fit(X, y)


def test_clone_get_params_and_pickle():
    stager = YasaStager(sfreq=200.0)
    assert stager.get_params() == {"sfreq": 200.0}
    twin = clone(stager)
    assert twin is not stager and twin.get_params() == {"sfreq": 200.0}
    again = pickle.loads(pickle.dumps(stager))
    assert again.get_params() == {"sfreq": 200.0}
    np.testing.assert_array_equal(again.classes_, stager.classes_)


def test_other_sampling_rate(yasa):
    X = make_sleep_epochs(12, sfreq=200.0, random_state=1)[0]
    assert X.shape == (12, 6000)
    proba = YasaStager(sfreq=200.0).predict_proba(X)
    assert proba.shape == (12, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("width", [2999, 6000])
def test_rows_of_the_wrong_length_are_refused(width):
    X = np.zeros((4, width))
    with pytest.raises(ValueError, match="3000 samples per row"):
        YasaStager().predict(X)


def test_non_finite_epochs_are_refused():
    X = np.zeros((4, 3000))
    X[2, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        YasaStager().predict_proba(X)


@pytest.mark.parametrize("sfreq", [50.0, "100"])
def test_bad_sfreq_is_refused(sfreq):
    with pytest.raises(InvalidParameterError, match="sfreq"):
        YasaStager(sfreq=sfreq).predict(np.zeros((2, 3000)))


def test_missing_yasa_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "yasa", None)  # import yasa -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'skdreamy\[yasa\]'"):
        YasaStager().predict_proba(np.zeros((2, 3000)))


def test_stage_marks_and_stages_a_night(yasa, night):
    from skdreamy.staging import stage

    X = night[0].copy()
    X[3] = np.nan
    result = stage(YasaStager(), X, invalid="mark")
    assert not result.valid[3] and result.valid.sum() == len(X) - 1
    assert result.proba.shape == (len(X), 5)
    np.testing.assert_allclose(result.proba[result.valid].sum(axis=1), 1.0)
    assert set(result.y_pred[result.valid]) <= {0, 1, 2, 3, 4}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Two synthetic nights of two subjects in the .npz night format."""
    folder = tmp_path_factory.mktemp("nights")
    for i in range(2):
        x, y = make_sleep_epochs(12, random_state=i)
        write_night(folder / f"night{i}.npz", x=x, y=y.astype(np.int8), subject=f"s{i}")
    return folder


def test_cli_predict_and_evaluate_with_model_yasa(yasa, nights, tmp_path):
    from skdreamy.cli import main

    out = tmp_path / "night0.csv"
    args = ["predict", "--model", "yasa", "--npz", nights / "night0.npz"]
    assert main([*map(str, args), "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 and {r["quality"] for r in rows} == {"ok"}
    for row in rows:
        probs = [float(row[f"p_{s}"]) for s in ("W", "N1", "N2", "N3", "REM")]
        assert abs(sum(probs) - 1) < 1e-4
    assert (tmp_path / "night0.png").exists()

    report = tmp_path / "report"
    args = ["evaluate", "--model", "yasa", "--data", str(nights), "--report"]
    assert main([*args, str(report), "--quiet"]) == 0
    written = json.loads((report / "report.json").read_text())
    assert written["model"] == "yasa"
    # Each night is staged on its own, as if staged alone.
    y_true, y_pred = [], []
    for i in (0, 1):
        with np.load(nights / f"night{i}.npz") as npz:
            y_true.append(npz["y"])
            y_pred.append(YasaStager().predict(npz["x"]))
    expected = np.mean(np.concatenate(y_true) == np.concatenate(y_pred))
    assert written["accuracy"] == pytest.approx(expected)


def test_cli_model_yasa_without_yasa_is_one_line(monkeypatch, nights, tmp_path, capsys):
    from skdreamy.cli import main

    monkeypatch.setitem(sys.modules, "yasa", None)
    args = ["predict", "--model", "yasa", "--npz", str(nights / "night0.npz")]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skdreamy[yasa]" in err[0]


def test_model_option_takes_yasa_or_an_existing_file(nights, tmp_path, capsys):
    from skdreamy.cli import build_parser

    parser = build_parser()
    common = ["--npz", str(nights / "night0.npz"), "--out", str(tmp_path / "a.csv")]
    assert parser.parse_args(["predict", "--model", "yasa", *common]).model == "yasa"
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["predict", "--model", str(tmp_path / "missing"), *common])
    assert exc.value.code == 2
    assert "does not exist" in capsys.readouterr().err
