"""load_sleep_edf on a local folder laid out as PhysioNet's, built here."""

import mne.datasets.sleep_physionet.age
import numpy as np
import pytest
from _edf_files import ramp, scoring, write_hypnogram, write_psg

from skdreamy.datasets import load_sleep_edf

SFREQ = 100.0
STAGES = [
    ("Sleep stage W", 3),
    ("Sleep stage 1", 1),
    ("Sleep stage 2", 2),
    ("Movement time", 1),
    ("Sleep stage R", 1),
    ("Sleep stage ?", 2),
]
N_KEPT = 7  # epochs of STAGES that are a stage


def write_record(folder, subject, night, *, offset, hypnogram_letter="C"):
    """One night: Fpz-Cz is a ramp plus ``offset`` µV, Pz-Oz its negative."""
    name = f"SC4{subject:02d}{night}E"
    n_samples = round(sum(n for _, n in STAGES) * 30 * SFREQ)
    eeg = ramp(n_samples, SFREQ) + offset
    write_psg(
        folder / f"{name}0-PSG.edf",
        {"EEG Fpz-Cz": eeg, "EEG Pz-Oz": -eeg, "EMG submental": np.zeros(n_samples)},
        SFREQ,
    )
    write_hypnogram(
        folder / f"{name}{hypnogram_letter}-Hypnogram.edf", scoring(*STAGES)
    )


@pytest.fixture(scope="module")
def cassette(tmp_path_factory):
    """Subjects 0 (nights 1, 2), 1 (night 1, in a subfolder) and 12 (night 2)."""
    folder = tmp_path_factory.mktemp("sleep-cassette")
    (folder / "more").mkdir()
    write_record(folder, 0, 1, offset=1000)
    write_record(folder, 0, 2, offset=2000, hypnogram_letter="J")
    write_record(folder / "more", 1, 1, offset=3000, hypnogram_letter="H")
    write_record(folder, 12, 2, offset=4000)
    (folder / "SC4001E0-PSG.edf.md5").write_text("not an EDF")
    return folder


def test_nights_of_several_subjects(cassette):
    data = load_sleep_edf(
        subjects=[1, 0], recordings=[1, 2], path=cassette, on_missing="ignore"
    )
    assert [(r.subject, r.night) for r in data.records] == [(1, 1), (0, 1), (0, 2)]
    assert data.X.shape == (3 * N_KEPT, 3000) and data.X.dtype == np.float32
    expected_y = [0, 0, 0, 1, 2, 2, 4]
    assert data.y.tolist() == expected_y * 3
    assert data.subjects.tolist() == ["0", "1"]
    assert data.groups.tolist() == [1] * N_KEPT + [0] * 2 * N_KEPT
    assert data.nights.tolist() == np.repeat([0, 1, 2], N_KEPT).tolist()
    onsets = [0, 30, 60, 90, 120, 150, 210]
    np.testing.assert_allclose(data.onsets, onsets * 3)
    # Each epoch comes from its own file: the ramp's offset tells which.
    np.testing.assert_allclose(
        data.X[:, 0],
        np.add(onsets * 3, np.repeat([3000, 1000, 2000], N_KEPT)),
        atol=0.2,
    )
    for record in data.records:
        assert record.n_epochs == N_KEPT
        assert record.n_dropped == {
            "movement": 1,
            "unscored": 2,
            "trimmed_wake": 0,
            "beyond_signal": 0,
        }
        assert record.psg_path.name.endswith("-PSG.edf")
        assert record.hypnogram_path.name[:6] == record.psg_path.name[:6]
    assert data.channels.tolist() == ["EEG Fpz-Cz"] * len(data.records)
    assert data.sfreq == SFREQ


def test_other_channel_and_single_ids(cassette):
    data = load_sleep_edf(12, 2, path=cassette, channel="EEG Pz-Oz")
    assert data.groups.tolist() == [0] * N_KEPT and data.subjects.tolist() == ["12"]
    np.testing.assert_allclose(data.X[0, :3], [-4000, -4000.01, -4000.02], atol=0.2)


def test_missing_night(cassette):
    with pytest.raises(
        FileNotFoundError, match=r"subject 1 night 2 \(no PSG and hypnogram"
    ):
        load_sleep_edf([0, 1], [1, 2], path=cassette)
    with pytest.warns(UserWarning, match="subject 1 night 2"):
        data = load_sleep_edf([0, 1], [1, 2], path=cassette, on_missing="warn")
    assert len(data.records) == 3
    with pytest.raises(FileNotFoundError, match="no Sleep-EDF night found"):
        load_sleep_edf([5], path=cassette, on_missing="ignore")


def test_missing_hypnogram(tmp_path):
    write_record(tmp_path, 3, 1, offset=0)
    next(tmp_path.glob("*Hypnogram.edf")).unlink()
    with pytest.raises(
        FileNotFoundError, match=r"subject 3 night 1 \(no hypnogram file\)"
    ):
        load_sleep_edf([3], path=tmp_path)


def test_duplicate_files(tmp_path):
    write_record(tmp_path, 3, 1, offset=0)
    (tmp_path / "copy").mkdir()
    write_record(tmp_path / "copy", 3, 1, offset=0)
    with pytest.raises(ValueError, match="several files for subject 3, night 1"):
        load_sleep_edf([3], path=tmp_path)


def test_trim_wake_by_default(tmp_path):
    """Sleep-EDF nights start and end with hours of wake; 30 min are kept."""
    stages = [("Sleep stage W", 70), ("Sleep stage 2", 2), ("Sleep stage W", 65)]
    n_samples = round(137 * 30 * SFREQ)
    write_psg(tmp_path / "SC4071E0-PSG.edf", {"EEG Fpz-Cz": np.zeros(n_samples)}, SFREQ)
    write_hypnogram(tmp_path / "SC4071EC-Hypnogram.edf", scoring(*stages))
    data = load_sleep_edf(7, path=tmp_path)
    assert np.bincount(data.y).tolist() == [120, 0, 2]
    assert data.records[0].n_dropped["trimmed_wake"] == 15
    assert len(load_sleep_edf(7, path=tmp_path, trim_wake=None).y) == 137


@pytest.mark.parametrize(
    ("subjects", "recordings"),
    [([83], [1]), ([-1], [1]), ([0.5], [1]), ([], [1]), ([0], [3])],
)
def test_bad_ids(tmp_path, subjects, recordings):
    with pytest.raises(ValueError, match="must be integers in"):
        load_sleep_edf(subjects, recordings, path=tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Sleep-EDF folder .*nowhere"):
        load_sleep_edf(path=tmp_path / "nowhere")


def test_fetcher_files_are_read(cassette, monkeypatch):
    """path=None goes through MNE's fetcher (faked here: no download)."""
    calls = []

    def fake_fetch(subjects, recording, **kwargs):
        calls.append((subjects, recording, kwargs["on_missing"]))
        return [
            [
                str(cassette / "SC4122E0-PSG.edf"),
                str(cassette / "SC4122EC-Hypnogram.edf"),
            ]
        ]

    monkeypatch.setattr(mne.datasets.sleep_physionet.age, "fetch_data", fake_fetch)
    data = load_sleep_edf(12, 2)
    assert calls == [([12], [2], "raise")]
    assert data.groups.tolist() == [0] * N_KEPT and data.subjects.tolist() == ["12"]


def test_offline_error_says_to_pass_path(monkeypatch):
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='physionet.org', port=443): Max retries exceeded"
        )

    monkeypatch.setattr(mne.datasets.sleep_physionet.age, "fetch_data", offline)
    with pytest.raises(
        OSError, match=r"could not get Sleep-EDF .*PhysioNet.*path="
    ) as info:
        load_sleep_edf([0, 1], [1])
    assert "ConnectionError" in str(info.value)
    assert "subjects [0, 1]" in str(info.value)
