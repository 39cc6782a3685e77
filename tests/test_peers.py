"""benchmarks/peers.py: its features and folds compute what they say, and it
runs end to end on synthetic nights (tiny; it scores nothing)."""

import json

import numpy as np
import pytest
from sklearn.utils import Bunch

from benchmarks import peers
from skdreamy.datasets import make_sleep_epochs
from tests.conftest import write_night


@pytest.mark.parametrize(("hz", "band"), [(2.0, 0), (6.0, 1), (10.0, 2), (13.0, 3)])
def test_mne_band_features_find_the_band_of_a_sine(hz, band):
    t = np.arange(3000) / peers.SFREQ
    noise = np.random.default_rng(0).normal(0, 0.1, (3, 3000))
    X = 20 * np.sin(2 * np.pi * hz * t) + noise
    F = peers.mne_band_features(X)
    assert F.shape == (3, 5)
    assert np.all(F >= 0)
    np.testing.assert_array_equal(F.argmax(axis=1), band)


def test_runs_of_epochs_split_at_gaps_and_between_nights():
    data = Bunch(
        nights=np.array([0, 0, 0, 1, 1, 1]),
        onsets=np.array([0.0, 30.0, 90.0, 0.0, 30.0, 60.0]),
    )
    runs = peers.runs_of_epochs(data)
    assert [r.tolist() for r in runs] == [[0, 1], [2], [3, 4, 5]]


def test_scores_on_unambiguous_epochs():
    y = np.array([0, 2, 2, 3, 2, 1, 2, 3])
    agree = np.array([1, 1, 1, 1, 0.67, 0.67, 0.67, 0.67])
    y_pred = y.copy()
    y_pred[agree < 1] = 0  # wrong wherever the label is ambiguous
    (scores,) = peers.score(Bunch(y=y, label_agreement=agree), [{"y_pred": y_pred}])
    assert scores["agreement_1"]["accuracy"] == 1.0
    assert scores["all"]["accuracy"] == 0.5


def test_peers_run_end_to_end_and_skip_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("SKDREAMY_PEERS_PYTHON", raising=False)
    folder = tmp_path / "nights"
    folder.mkdir()
    for i in range(3):
        x, y = make_sleep_epochs(30, random_state=i)
        write_night(
            folder / f"night{i}.npz",
            x=x,
            y=y.astype(np.int8),
            subject=f"s{i}",
            label_agreement=np.where(np.arange(30) % 3, 1.0, 0.67),
        )
    y = peers.load(folder).y
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"config": "oracle", "seed": 0, "y_pred": y.tolist()}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "all.json").write_text(json.dumps({"results": []}))  # a --json file
    status = peers.main(
        ["--data", str(folder), "--peers", "mne_rf", "gssc", "chambon",
         "--seeds", "0", "1", "--out", str(out),
         "--peers-python", str(tmp_path / "no-python"),
         "--oof", str(saved), "--oof-prefix", "saved "]
    )  # fmt: skip
    assert status == 0
    oracle = json.loads((out / "saved-oracle.json").read_text())["result"]
    assert oracle["scores"][0]["all"]["accuracy"] == 1.0
    record = json.loads((out / "mne_rf.json").read_text())["result"]
    assert [run["seed"] for run in record["runs"]] == [0, 1]
    assert all(len(run["y_pred"]) == 90 for run in record["runs"])
    assert set(record["scores"][0]) >= {"all", "agreement_1"}
    for name in ("gssc", "chambon"):
        skipped = json.loads((out / f"{name}.json").read_text())["result"]
        assert skipped["scores"] is None and "skipped" in skipped["note"]
    table = (out / "table.md").read_text()
    assert "| mne_rf | LOSO | 2 |" in table and "| gssc | pretrained | 0 |" in table
    rows = [line.split(" | ")[0] for line in table.splitlines()[2:]]
    assert rows == ["| gssc", "| saved oracle", "| mne_rf", "| chambon"]


def test_unknown_skdreamy_preset_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        peers.main(["--skdreamy", "no-such-preset", "--peers"])
    assert exc.value.code == 2
    assert "no-such-preset" in capsys.readouterr().err


def test_saved_predictions_of_other_epochs_are_refused(tmp_path):
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"config": "x", "seed": 0, "y_pred": [0, 1]}))
    with pytest.raises(ValueError, match="not those of the nights"):
        peers.saved_rows([saved], Bunch(y=np.zeros(3, dtype=int)))
