"""load_folder (what the CLI reads) and read_recording (unscored nights)."""

import numpy as np
import pytest

from skdreamy.datasets import (
    load_folder,
    load_nights,
    make_sleep_epochs,
    read_night,
    read_recording,
)
from skdreamy.datasets._folder import edf_pairs
from tests._edf_files import ramp, scoring, write_hypnogram, write_psg
from tests.conftest import write_night


def test_npz_folder_same_as_load_nights(shared_data_dir):
    a, b = load_folder(shared_data_dir), load_nights(shared_data_dir)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.groups, b.groups)
    assert len(a.files) == 6


def _edf_night(folder, name, stages, sfreq=100.0):
    n_epochs = sum(n for _, n in stages)
    psg = write_psg(
        folder / f"{name}.edf",
        {"EEG Fpz-Cz": ramp(int(n_epochs * 30 * sfreq), sfreq)},
        sfreq,
    )
    hyp = write_hypnogram(folder / f"{name}-Hypnogram.edf", scoring(*stages))
    return psg, hyp


def test_edf_folder_pairs_recordings_with_hypnograms(tmp_path):
    _edf_night(tmp_path, "alice", [("Sleep stage W", 2), ("Sleep stage 2", 2)])
    _edf_night(tmp_path, "bob", [("Sleep stage R", 3)], sfreq=200.0)
    data = load_folder(tmp_path)
    assert data.X.shape == (7, 3000)
    assert data.y.tolist() == [0, 0, 2, 2, 4, 4, 4]
    assert data.subjects.tolist() == ["alice", "bob"]
    assert data.groups.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert data.nights.tolist() == [0, 0, 0, 0, 1, 1, 1]
    # The ramp signal shows each epoch was cut at its scored onset.
    np.testing.assert_allclose(data.X[:4, 0], [0, 30, 60, 90], atol=0.05)


def test_sleep_edf_names_pair_by_subject_and_night(tmp_path):
    for name in (
        "SC4001E0-PSG.edf",
        "SC4001EC-Hypnogram.edf",
        "SC4012E0-PSG.edf",
        "SC4012EH-Hypnogram.edf",
    ):
        (tmp_path / name).touch()
    pairs = [(p.name, h.name) for p, h in edf_pairs(tmp_path)]
    assert pairs == [
        ("SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"),
        ("SC4012E0-PSG.edf", "SC4012EH-Hypnogram.edf"),
    ]


def test_unpaired_files_are_named(tmp_path):
    (tmp_path / "a.edf").touch()
    (tmp_path / "b-hypnogram.edf").touch()
    with pytest.raises(
        ValueError, match=r"a.edf: 0 hypnogram.*b-hypnogram.edf: no rec"
    ):
        load_folder(tmp_path)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no nights found"):
        load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_folder(tmp_path / "nope")


def test_read_recording_cuts_epochs_from_the_start(tmp_path):
    sfreq = 200.0
    psg = write_psg(
        tmp_path / "n.edf", {"EEG Fpz-Cz": ramp(int(95 * sfreq), sfreq)}, sfreq
    )
    rec = read_recording(psg)
    assert rec.X.shape == (3, 3000)
    assert rec.onsets.tolist() == [0.0, 30.0, 60.0]
    assert rec.n_dropped == {"incomplete_tail": 1}
    assert rec.orig_sfreq == 200.0 and rec.sfreq == 100.0
    # Resampled to 100 Hz: sample j of epoch i is at time 30 i + j / 100.
    np.testing.assert_allclose(
        rec.X[1, 1000:1010], 30 + np.arange(1000, 1010) / 100, atol=0.05
    )


def test_read_recording_matches_read_night_epochs(tmp_path):
    psg, hyp = _edf_night(tmp_path, "n", [("Sleep stage 2", 4)])
    np.testing.assert_array_equal(read_recording(psg).X, read_night(psg, hyp).X)


def test_read_recording_errors(tmp_path):
    short = write_psg(tmp_path / "s.edf", {"EEG Fpz-Cz": np.zeros(1000)}, 100.0)
    with pytest.raises(ValueError, match="shorter than one epoch"):
        read_recording(short)
    with pytest.raises(ValueError, match="no channel 'EEG C3'"):
        read_recording(short, channel="EEG C3")
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path / "missing.edf")


def test_synthetic_folder_round_trip(tmp_path):
    x, y = make_sleep_epochs(5, random_state=0)
    write_night(tmp_path / "n.npz", x=x, y=y)
    data = load_folder(tmp_path / "n.npz")
    np.testing.assert_array_equal(data.y, y)


def test_example_nights_path_env_or_error(tmp_path, monkeypatch):
    from skdreamy.datasets import find_nights, load_example_nights

    # The library never searches the checkout: not even ../shared/data from a
    # working directory where it exists.
    (tmp_path / "shared" / "data").mkdir(parents=True)
    x, y = make_sleep_epochs(5, random_state=0)
    write_night(tmp_path / "shared" / "data" / "n.npz", x=x, y=y, subject="s")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.delenv("SKDREAMY_DATA", raising=False)
    assert find_nights() is None
    with pytest.raises(FileNotFoundError, match="Set the environment variable"):
        load_example_nights()
    with pytest.raises(FileNotFoundError, match="path='nowhere'"):
        load_example_nights("nowhere")
    data = load_example_nights(fallback="synthetic", n_synthetic=30, n_subjects=3)
    assert data.synthetic and data.X.shape == (30, 3000)
    assert "SYNTHETIC" in data.description
    np.testing.assert_array_equal(data.nights, data.groups)
    data = load_example_nights("../shared/data")  # an explicit path is read
    assert not data.synthetic and data.subjects.tolist() == ["s"]
    write_night(tmp_path / "dreams_a.npz", x=x, y=y, subject="dreams_a")
    monkeypatch.setenv("SKDREAMY_DATA", str(tmp_path))
    data = load_example_nights()
    assert not data.synthetic and data.path == tmp_path
    assert "DREAMS Spindles Database" in data.description
