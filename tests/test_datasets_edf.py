"""read_night on small EDF files written by the tests themselves."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from _edf_files import ramp, scoring, write_hypnogram, write_psg
from conftest import lr_raw_pipeline
from hypothesis import given, settings
from hypothesis import strategies as st

from skdreamy import EpochSpectrogram
from skdreamy.datasets import read_night, read_recording

SFREQ = 100.0
EEG = "EEG Fpz-Cz"


def night_files(folder, stages, *, sfreq=SFREQ, extra_seconds=0.0, **psg_kwargs):
    """A ramp PSG as long as the scoring (plus ``extra_seconds``), hypnogram apart."""
    annotations = scoring(*stages)
    duration = sum(n for _, n in stages) * 30.0 + extra_seconds
    n_samples = round(duration * sfreq)
    psg = write_psg(
        folder / "night-PSG.edf",
        {EEG: ramp(n_samples, sfreq), "EEG Pz-Oz": np.zeros(n_samples)},
        sfreq,
        **psg_kwargs,
    )
    return psg, write_hypnogram(folder / "night-Hypnogram.edf", annotations)


def test_rk_labels_epochs_and_counts(tmp_path):
    stages = [
        ("Sleep stage W", 2),
        ("Sleep stage 1", 1),
        ("Sleep stage 2", 3),
        ("Movement time", 1),
        ("Sleep stage 3", 1),
        ("Sleep stage 4", 2),
        ("Sleep stage ?", 2),
        ("Sleep stage R", 1),
    ]
    psg, hypnogram = night_files(tmp_path, stages)
    night = read_night(psg, hypnogram)

    assert night.y.tolist() == [0, 0, 1, 2, 2, 2, 3, 3, 3, 4]
    assert night.y.dtype == np.int64
    expected_onsets = [0, 30, 60, 90, 120, 150, 210, 240, 270, 360]
    np.testing.assert_allclose(night.onsets, expected_onsets)
    assert night.n_dropped == {
        "movement": 1,
        "unscored": 2,
        "trimmed_wake": 0,
        "beyond_signal": 0,
    }
    assert night.X.shape == (10, 3000)
    assert night.X.dtype == np.float32
    # The ramp's value is the time in seconds: each epoch starts at its onset
    # and runs for 30 s at 100 Hz.
    np.testing.assert_allclose(night.X[:, 0], expected_onsets, atol=0.05)
    np.testing.assert_allclose(
        night.X[:, -1], np.add(expected_onsets, 29.99), atol=0.05
    )
    assert night.channel == EEG
    assert night.sfreq == night.orig_sfreq == SFREQ
    assert night.psg_path == psg.resolve()
    assert night.hypnogram_path == hypnogram.resolve()
    assert night.subject is None and night.night is None


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("Sleep stage W", 0),
        ("W", 0),
        ("Wake", 0),
        ("Sleep stage N1", 1),
        ("N1", 1),
        ("Sleep stage N2", 2),
        ("n2", 2),
        ("Sleep stage N3", 3),
        ("N3", 3),
        ("Sleep stage R", 4),
        ("R", 4),
        ("REM", 4),
        ("Sleep stage REM", 4),
    ],
)
def test_aasm_labels(tmp_path, label, code):
    psg, hypnogram = night_files(tmp_path, [(label, 2), ("Sleep stage 2", 1)])
    assert read_night(psg, hypnogram).y.tolist() == [code, code, 2]


def test_scoring_inside_the_psg_gives_the_same_night(tmp_path):
    stages = [("Sleep stage W", 2), ("Sleep stage 2", 2), ("Movement time", 1)]
    psg, hypnogram = night_files(tmp_path, stages)
    (tmp_path / "inside").mkdir()
    combined = write_psg(
        tmp_path / "inside" / "night.edf",
        {EEG: ramp(5 * 3000, SFREQ)},
        SFREQ,
        annotations=scoring(*stages),
    )
    apart, inside = read_night(psg, hypnogram), read_night(combined)
    np.testing.assert_array_equal(inside.y, apart.y)
    np.testing.assert_array_equal(inside.onsets, apart.onsets)
    np.testing.assert_allclose(inside.X, apart.X, atol=0.05)
    assert inside.n_dropped == apart.n_dropped
    assert inside.hypnogram_path is None


def test_subject_and_night_from_sleep_edf_names(tmp_path):
    psg = write_psg(
        tmp_path / "SC4122E0-PSG.edf",
        {EEG: np.zeros(3000)},
        SFREQ,
        annotations=[(0, 30, "Sleep stage W")],
    )
    night = read_night(psg)
    assert (night.subject, night.night) == (12, 2)


def test_microvolts_from_other_units(tmp_path):
    """MNE stores volts; a channel written in mV comes back in µV."""
    t = np.arange(6000) / SFREQ
    psg = write_psg(
        tmp_path / "mv.edf",
        {EEG: 0.05 * np.sin(2 * np.pi * 2 * t)},  # 50 µV
        SFREQ,
        unit="mV",
        annotations=[(0, 60, "Sleep stage 2")],
    )
    X = read_night(psg).X
    np.testing.assert_allclose(X.ravel(), 50 * np.sin(2 * np.pi * 2 * t), atol=0.01)


def test_resampling_keeps_a_sine(tmp_path):
    orig = 200.0
    t = np.arange(round(120 * orig)) / orig
    psg = write_psg(
        tmp_path / "fast.edf",
        {EEG: 40 * np.sin(2 * np.pi * 10 * t + 0.3)},
        orig,
        annotations=[(0, 120, "Sleep stage 2")],
    )
    night = read_night(psg, sfreq=100.0)
    assert night.X.shape == (4, 3000)
    assert night.sfreq == 100.0 and night.orig_sfreq == orig
    spectrum = np.abs(np.fft.rfft(night.X[1:3], axis=1))
    freqs = np.fft.rfftfreq(3000, 1 / 100.0)
    assert np.all(freqs[spectrum.argmax(axis=1)] == 10.0)
    # Amplitude (away from the recording's edges) and phase survive.
    t_new = night.onsets[1:3, None] + np.arange(3000) / 100.0
    np.testing.assert_allclose(
        night.X[1:3], 40 * np.sin(2 * np.pi * 10 * t_new + 0.3), atol=0.5
    )

    slow = read_night(psg, sfreq=50.0)
    assert slow.X.shape == (4, 1500)


def test_trim_wake_keeps_minutes_around_sleep(tmp_path):
    stages = [
        ("Sleep stage W", 5),
        ("Sleep stage 2", 1),
        ("Sleep stage W", 2),
        ("Sleep stage R", 1),
        ("Sleep stage W", 5),
    ]
    psg, hypnogram = night_files(tmp_path, stages)
    whole = read_night(psg, hypnogram)
    assert len(whole.y) == 14 and whole.n_dropped["trimmed_wake"] == 0

    night = read_night(psg, hypnogram, trim_wake=1)  # 1 min = 2 epochs
    assert night.y.tolist() == [0, 0, 2, 0, 0, 4, 0, 0]
    np.testing.assert_allclose(night.onsets[[0, -1]], [90, 300])
    assert night.n_dropped["trimmed_wake"] == 6

    only_sleep = read_night(psg, hypnogram, trim_wake=0)
    assert only_sleep.y.tolist() == [2, 0, 0, 4]
    assert only_sleep.n_dropped["trimmed_wake"] == 10


def test_trim_wake_needs_sleep(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 3)])
    assert read_night(psg, hypnogram).y.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="no sleep epoch"):
        read_night(psg, hypnogram, trim_wake=30)


def test_stage_mapping_adds_and_ignores_labels(tmp_path):
    annotations = [
        *scoring(("Stage 2 sleep", 2), ("Sleep stage W", 1), ("Artefact", 1)),
        (15, 3, "Arousal"),  # an event, not a scoring
    ]
    psg = write_psg(
        tmp_path / "custom.edf",
        {EEG: ramp(4 * 3000, SFREQ)},
        SFREQ,
        annotations=annotations,
    )
    with pytest.raises(ValueError, match=r"Arousal.*Artefact.*Stage 2 sleep"):
        read_night(psg)
    night = read_night(
        psg,
        stage_mapping={
            "stage 2 SLEEP": "N2",
            "Arousal": None,
            "artefact": "movement",
            "Sleep stage W": 4,
        },
    )
    assert night.y.tolist() == [2, 2, 4]
    assert night.n_dropped["movement"] == 1


@pytest.mark.parametrize("value", [5, -1, "N4", 2.0, True])
def test_bad_stage_mapping_value(tmp_path, value):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    with pytest.raises(ValueError, match=r"stage_mapping\['x'\]"):
        read_night(psg, hypnogram, stage_mapping={"x": value})


def test_scoring_one_epoch_past_the_signal_is_dropped_and_counted(tmp_path):
    stages = [("Sleep stage W", 2), ("Sleep stage 2", 2)]
    psg, hypnogram = night_files(tmp_path, stages, extra_seconds=-30.0)
    night = read_night(psg, hypnogram)
    assert night.y.tolist() == [0, 0, 2]
    assert night.n_dropped["beyond_signal"] == 1


def test_unscored_tail_past_the_signal_is_fine(tmp_path):
    """Sleep-EDF hypnograms end with a long 'Sleep stage ?' past the signal."""
    stages = [("Sleep stage W", 2), ("Sleep stage 2", 2), ("Sleep stage ?", 100)]
    psg, hypnogram = night_files(tmp_path, stages, extra_seconds=-99 * 30.0)
    night = read_night(psg, hypnogram)
    assert night.y.tolist() == [0, 0, 2, 2]
    assert night.n_dropped["unscored"] == 1
    assert night.n_dropped["beyond_signal"] == 0


def test_hypnogram_much_longer_than_the_signal(tmp_path):
    stages = [("Sleep stage W", 2), ("Sleep stage 2", 8)]
    psg, hypnogram = night_files(tmp_path, stages, extra_seconds=-120.0)
    with pytest.raises(ValueError, match=r"from 0 s to 300 s.*lasts 180 s") as info:
        read_night(psg, hypnogram)
    assert "night-Hypnogram.edf" in str(info.value)
    assert "night-PSG.edf" in str(info.value)


def test_missing_files(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    with pytest.raises(FileNotFoundError, match=r"PSG file .*absent\.edf.* not exist"):
        read_night(tmp_path / "absent.edf", hypnogram)
    with pytest.raises(FileNotFoundError, match=r"hypnogram file .*absent\.edf"):
        read_night(psg, tmp_path / "absent.edf")
    with pytest.raises(FileNotFoundError, match="is a folder"):
        read_night(tmp_path)


def test_truncated_edf(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 4)])
    data = psg.read_bytes()
    psg.write_bytes(data[: len(data) - 5000])
    with pytest.raises(ValueError, match=r"night-PSG\.edf: the file is truncated"):
        read_night(psg, hypnogram)
    psg.write_bytes(data[:200])  # not even a whole header
    with pytest.raises(ValueError, match=r"night-PSG\.edf: cannot read this file"):
        read_night(psg, hypnogram)


def test_corrupt_header(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    data = bytearray(psg.read_bytes())
    data[236:244] = b"many    "  # the number of data records
    psg.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"night-PSG\.edf: cannot read this file"):
        read_night(psg, hypnogram)


def test_corrupt_hypnogram(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    hypnogram.write_bytes(b"not an EDF file at all")
    with pytest.raises(ValueError, match=r"Hypnogram\.edf: no annotations"):
        read_night(psg, hypnogram)


def test_psg_without_scoring_needs_a_hypnogram(tmp_path):
    psg, _ = night_files(tmp_path, [("Sleep stage W", 1)])
    with pytest.raises(ValueError, match=r"PSG\.edf: no annotations.*hypnogram_path"):
        read_night(psg)


def test_unknown_channel_lists_the_channels(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    with pytest.raises(
        ValueError, match=r"no channel 'EEG C3'.*\['EEG Fpz-Cz', 'EEG Pz-Oz'\]"
    ):
        read_night(psg, hypnogram, channel="EEG C3")
    assert read_night(psg, hypnogram, channel="EEG Pz-Oz").channel == "EEG Pz-Oz"


def test_unknown_label_is_named(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1), ("Sleep stage 5", 1)])
    with pytest.raises(ValueError, match=r"unknown annotation label.*'Sleep stage 5'"):
        read_night(psg, hypnogram)
    assert read_night(psg, hypnogram, stage_mapping={"Sleep stage 5": 4}).y[-1] == 4


def test_empty_night(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Movement time", 1), ("Sleep stage ?", 2)])
    with pytest.raises(ValueError, match="no scored epoch") as info:
        read_night(psg, hypnogram)
    assert "'movement': 1" in str(info.value) and "'unscored': 2" in str(info.value)


def test_onset_only_and_partial_annotations(tmp_path):
    """Duration 0 scores one epoch; an unscored stretch keeps its whole epochs."""
    psg = write_psg(
        tmp_path / "onsets.edf",
        {EEG: ramp(6 * 3000, SFREQ)},
        SFREQ,
        annotations=[
            (0, 0, "Sleep stage W"),
            (30, None, "Sleep stage 2"),
            (60, 75, "Sleep stage ?"),
            (135, 30, "Sleep stage 3"),
        ],
    )
    night = read_night(psg)
    assert night.y.tolist() == [0, 2, 3]
    np.testing.assert_allclose(night.onsets, [0, 30, 135])
    np.testing.assert_allclose(night.X[:, 0], [0, 30, 135], atol=0.05)
    assert night.n_dropped["unscored"] == 2


def test_epochs_of_another_length(tmp_path):
    psg = write_psg(
        tmp_path / "twenty.edf",
        {EEG: np.zeros(6000)},
        SFREQ,
        annotations=[(0, 20, "Sleep stage 2"), (20, 20, "Sleep stage 2")],
    )
    with pytest.raises(ValueError, match="lasts 20 s, which is not a whole number"):
        read_night(psg)
    night = read_night(psg, epoch_duration=20.0)
    assert night.X.shape == (2, 2000)


def test_overlapping_scoring(tmp_path):
    psg = write_psg(
        tmp_path / "overlap.edf",
        {EEG: np.zeros(9000)},
        SFREQ,
        annotations=[(0, 60, "Sleep stage 2"), (30, 30, "Sleep stage 3")],
    )
    with pytest.raises(ValueError, match="overlaps itself"):
        read_night(psg)


def test_epoch_length_must_be_whole_samples(tmp_path):
    psg, hypnogram = night_files(tmp_path, [("Sleep stage W", 1)])
    with pytest.raises(ValueError, match="whole number of samples"):
        read_night(psg, hypnogram, sfreq=100.0, epoch_duration=30.005)


_STAGES = ["Sleep stage W", "Sleep stage 1", "N2", "Sleep stage 3", "Sleep stage 4"]
_CODES = dict(zip(_STAGES, [0, 1, 2, 3, 3], strict=True)) | {"REM": 4}


@settings(max_examples=25, deadline=None)
@given(
    blocks=st.lists(
        st.tuples(
            st.sampled_from([*_CODES, "Movement time", "Sleep stage ?", None]),
            st.integers(1, 4),
        ),
        min_size=1,
        max_size=8,
    ).filter(lambda blocks: any(label in _CODES for label, _ in blocks))
)
def test_one_label_per_epoch_for_any_scoring(blocks):
    """Any sequence of annotations (None: a gap) gives one label per 30 s."""
    annotations, expected, onset = [], [], 0.0
    for label, n_epochs in blocks:
        if label is not None:
            annotations.append((onset, 30.0 * n_epochs, label))
            if label in _CODES:
                expected += [(onset + 30.0 * i, _CODES[label]) for i in range(n_epochs)]
        onset += 30.0 * n_epochs
    with tempfile.TemporaryDirectory() as folder:
        psg = write_psg(
            Path(folder) / "night.edf",
            {EEG: ramp(round(onset * SFREQ), SFREQ)},
            SFREQ,
            annotations=annotations,
        )
        night = read_night(psg)
    assert night.y.tolist() == [code for _, code in expected]
    np.testing.assert_allclose(night.onsets, [start for start, _ in expected])
    np.testing.assert_allclose(night.X[:, 0], night.onsets, atol=0.05)
    n_movement = sum(n for label, n in blocks if label == "Movement time")
    n_unscored = sum(n for label, n in blocks if label == "Sleep stage ?")
    assert night.n_dropped == {
        "movement": n_movement,
        "unscored": n_unscored,
        "trimmed_wake": 0,
        "beyond_signal": 0,
    }


# -- header and data disagree: record counts (reliability) ---------------------------


def _set_record_count(path, count):
    data = bytearray(path.read_bytes())
    announced = int(data[236:244])
    data[236:244] = f"{count:<8}".encode()
    path.write_bytes(bytes(data))
    return announced


@pytest.fixture
def edf_night(tmp_path):
    """150 s at 100 Hz in 1-s records, scored as 5 epochs of N2, inside the file."""
    return write_psg(
        tmp_path / "night.edf",
        {EEG: ramp(15000, 100.0)},
        100.0,
        annotations=[(0, 150, "Sleep stage 2")],
    )


@pytest.mark.parametrize("count", [-1, 10, 149])
def test_header_announcing_fewer_records_reads_them_all_with_a_warning(
    edf_night, count
):
    """-1 ("unknown") or too few: a recording that was not closed properly."""
    _set_record_count(edf_night, count)
    with pytest.warns(
        RuntimeWarning,
        match=rf"night\.edf: the header announces {count} data records but the "
        r"file holds 150; reading all 150",
    ):
        night = read_night(edf_night)
    assert night.X.shape == (5, 3000)
    np.testing.assert_allclose(night.X[:, 0], [0, 30, 60, 90, 120], atol=0.05)


def test_header_announcing_more_records_is_a_truncated_file(edf_night):
    _set_record_count(edf_night, 151)
    with pytest.raises(
        ValueError,
        match=r"night\.edf: the file is truncated: it holds 150 complete data "
        r"records, fewer than its header announces \(151\)",
    ):
        read_night(edf_night)


def test_half_written_recording_keeps_its_complete_records(edf_night):
    """Header still at -1 and the last record cut: what a crashed recorder leaves."""
    _set_record_count(edf_night, -1)
    data = edf_night.read_bytes()
    edf_night.write_bytes(data[:-1234])  # the signal + annotations records, cut
    with pytest.warns(RuntimeWarning, match="announces -1 data records"):
        recording = read_recording(edf_night)
    assert recording.X.shape == (4, 3000)
    np.testing.assert_allclose(recording.X[:, 0], [0, 30, 60, 90], atol=0.05)


# -- odd sampling rates (reliability) ------------------------------------------------


def _sine_recording(path, sfreq, seconds, *, record=None, annotations=()):
    t = np.arange(round(sfreq * seconds)) / sfreq
    from edfio import Edf, EdfAnnotation, EdfSignal

    Edf(
        [
            EdfSignal(
                40 * np.sin(2 * np.pi * 10 * t),
                sfreq,
                label=EEG,
                physical_dimension="uV",
            )
        ],
        annotations=[EdfAnnotation(*a) for a in annotations],
        data_record_duration=record,
    ).write(path)
    return path


@pytest.mark.parametrize(
    ("sfreq", "record"),
    [
        (128.0, None),
        (250.0, None),
        (256.0, None),
        (500.0, None),
        (200 / 3, 3.0),  # 66.67 Hz: 3-s records of 200 samples
        (500 / 7, 7.0),  # 71.43 Hz: 30 s is 2142.86 samples, not a whole number
    ],
)
def test_odd_sampling_rates_are_resampled_to_100_hz(tmp_path, sfreq, record):
    psg = _sine_recording(
        tmp_path / "odd.edf",
        sfreq,
        147.0,  # 21 records of 7 s, 49 of 3 s
        record=record,
        annotations=[(0, 120, "Sleep stage 2")],
    )
    night = read_night(psg)
    assert night.X.shape == (4, 3000) and night.X.dtype == np.float32
    assert night.orig_sfreq == pytest.approx(sfreq) and night.sfreq == 100.0
    np.testing.assert_array_equal(night.onsets, [0, 30, 60, 90])
    spectrum = np.abs(np.fft.rfft(night.X[1:3], axis=1))
    peaks = np.fft.rfftfreq(3000, 1 / 100)[spectrum.argmax(axis=1)]
    np.testing.assert_array_equal(peaks, [10.0, 10.0])
    # Amplitude kept away from the recording's edges (40 uV sine).
    assert 35 < np.abs(night.X[1:3]).max() < 45
    recording = read_recording(psg)
    assert recording.X.shape == (4, 3000)
    assert recording.n_dropped == {"incomplete_tail": 1}
    assert EpochSpectrogram().fit_transform(night.X).shape == (4, 51 * 59)


def test_target_rate_that_makes_an_epoch_a_fraction_of_samples(tmp_path):
    psg = write_psg(tmp_path / "n.edf", {EEG: np.zeros(6000)}, 100.0)
    with pytest.raises(ValueError, match=r"100\.01 \* 30\.0 = 3000\.3"):
        read_recording(psg, sfreq=100.01)
    assert read_recording(psg, sfreq=128.0).X.shape == (2, 3840)


def test_epochs_at_another_rate_into_the_100_hz_pipeline(tmp_path, raw_epochs):
    X, y, _ = raw_epochs
    pipe = lr_raw_pipeline().fit(X[:200], y[:200])
    psg = _sine_recording(tmp_path / "n.edf", 256.0, 60.0)
    fast = read_recording(psg, sfreq=256.0)
    with pytest.raises(ValueError, match=r"7680 samples.*Resample the signal to 100"):
        pipe.predict(fast.X)
    assert pipe.predict(read_recording(psg).X).shape == (2,)


def test_ordinary_edf_reads_without_warnings(tmp_path):
    psg = _sine_recording(
        tmp_path / "n.edf", 250.0, 60.0, annotations=[(0, 60, "Sleep stage W")]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_night(psg).y.tolist() == [0, 0]
