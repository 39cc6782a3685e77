"""load_nights: the real DREAMS excerpts and small night files written here."""

import io
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_classifier, write_night
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GroupKFold, cross_val_score

from skdreamy import make_pipeline
from skdreamy.datasets import load_nights, load_spectrograms

# The table of shared/data/README.md: file -> (channel, orig fs, W, N1, N2, N3, REM)
README_TABLE = {
    "dreams_spindles_excerpt1.npz": ("C3-A1", 100, 10, 1, 36, 13, 0),
    "dreams_spindles_excerpt2.npz": ("CZ-A1", 200, 0, 4, 32, 24, 0),
    "dreams_spindles_excerpt3.npz": ("C3-A1", 50, 6, 12, 39, 3, 0),
    "dreams_spindles_excerpt4.npz": ("CZ-A1", 200, 18, 14, 24, 4, 0),
    "dreams_spindles_excerpt6.npz": ("CZ-A1", 200, 2, 2, 40, 16, 0),
    "dreams_spindles_excerpt7.npz": ("CZ-A1", 200, 1, 6, 38, 10, 5),
}


@pytest.fixture(scope="module")
def real(shared_data_dir):
    return load_nights(shared_data_dir)


def test_real_nights_match_the_readme(real):
    assert [f.name for f in real.files] == sorted(README_TABLE)
    assert real.X.shape == (360, 3000) and real.X.dtype == np.float32
    assert real.y.shape == real.groups.shape == real.nights.shape == (360,)
    assert set(np.unique(real.y)) <= set(range(5))
    assert len(np.unique(real.groups)) == len(real.subjects) == 6
    for i, name in enumerate(sorted(README_TABLE)):
        channel, orig_fs, *counts = README_TABLE[name]
        in_night = real.nights == i
        assert np.bincount(real.y[in_night], minlength=5).tolist() == counts
        assert real.channels[i] == channel and real.orig_fs[i] == orig_fs
        # One subject per night, named after the file.
        assert real.subjects[np.unique(real.groups[in_night])].tolist() == [
            name.removesuffix(".npz")
        ]
        np.testing.assert_array_equal(real.onsets[in_night], 30 * np.arange(60))
    assert np.bincount(real.y).tolist() == [37, 39, 209, 70, 5]
    assert set(np.unique(real.label_agreement)) <= {1.0, np.float32(4 / 6)}
    assert np.all(np.isfinite(real.X))
    # Microvolts: per-epoch std of tens of µV (README: about 15-33).
    assert 5 < np.median(real.X.std(axis=1)) < 60


def test_real_nights_memory_mapped(shared_data_dir, real):
    before = sorted(p.name for p in shared_data_dir.iterdir())
    mapped = load_nights(shared_data_dir, mmap=True)
    assert isinstance(mapped.X, np.memmap)
    assert not mapped.X.flags.writeable
    np.testing.assert_array_equal(mapped.X, real.X)
    np.testing.assert_array_equal(mapped.y, real.y)
    assert sorted(p.name for p in shared_data_dir.iterdir()) == before


# All 5 REM epochs are in excerpt 7: the fold that tests on it trains without REM.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::skdreamy.sampling.MissingStageWarning")
def test_subject_wise_cross_validation_on_real_nights(real):
    pipe = make_pipeline(
        raw=True, n_per_class=20, classifier=tiny_classifier(epochs=1), random_state=0
    )
    scores = cross_val_score(
        pipe, real.X, real.y, groups=real.groups, cv=GroupKFold(3), scoring="f1_micro"
    )
    assert scores.shape == (3,)
    assert np.all((scores >= 0) & (scores <= 1))


def test_a_file_a_list_and_a_folder(tmp_path):
    a = write_night(tmp_path / "a.npz", 2, seed=1)
    b = write_night(tmp_path / "b.npz", 3, seed=2)
    assert load_nights(a).X.shape == (2, 3000)
    reverse = load_nights([b, str(a)])
    assert reverse.files == [b, a]
    assert reverse.nights.tolist() == [0, 0, 0, 1, 1]
    assert reverse.subjects.tolist() == ["subject1", "subject2"]
    assert reverse.groups.tolist() == [1, 1, 1, 0, 0]
    folder = load_nights(tmp_path)
    assert folder.files == [a, b]
    np.testing.assert_array_equal(
        folder.X, np.concatenate([reverse.X[3:], reverse.X[:3]])
    )


def test_optional_keys_become_nan(tmp_path):
    path = write_night(
        tmp_path / "bare.npz", onset_s=None, label_agreement=None, orig_fs=None
    )
    night = load_nights(path)
    assert np.isnan(night.onsets).all() and "label_agreement" not in night
    assert np.isnan(night.orig_fs).all()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"y": None}, r"missing key\(s\) \['y'\]"),
        ({"subject": None, "channel": None}, r"\['subject', 'channel'\]"),
        ({"x": np.zeros((3, 2999))}, r"'x' must have shape \(n_epochs, 3000\)"),
        ({"x": np.zeros(3000)}, r"'x' must have shape .*got \(3000,\)"),
        ({"x": np.zeros((0, 3000)), "y": np.zeros(0, int)}, "holds no epochs"),
        ({"y": np.zeros(2, np.int8)}, r"'y' must have shape \(3,\)"),
        ({"y": np.array([0, 5, 2])}, r"labels outside 0\.\.4: \[5\]"),
        ({"y": np.array([0, -1, 2])}, r"labels outside 0\.\.4: \[-1\]"),
        ({"y": np.array([0.5, 1, 2])}, "integer stage codes"),
        ({"y": np.array(["W", "N1", "N2"])}, "integer stage codes"),
        ({"x": np.full((3, 3000), np.nan)}, "NaN or infinite values in 3"),
        ({"x": np.array([["a"] * 3000] * 3)}, "must hold numbers"),
        ({"subject": np.array(["a", "b"])}, "'subject' must be a single string"),
        ({"channel": np.array(3)}, "'channel' must be a single string"),
        ({"onset_s": np.zeros(4)}, r"'onset_s' must have shape \(3,\)"),
        ({"label_agreement": np.full(3, 1.5)}, r"must lie in \[0, 1\]"),
        ({"label_agreement": np.full(3, np.nan)}, "must hold finite numbers"),
        ({"orig_fs": np.array(-1)}, "one positive number"),
    ],
)
def test_bad_night_files_are_named(tmp_path, override, message):
    good = write_night(tmp_path / "good.npz", seed=1)
    bad = write_night(tmp_path / "bad.npz", seed=2, **override)
    with pytest.raises(ValueError, match=message) as info:
        load_nights(tmp_path)
    assert str(bad) in str(info.value)
    assert load_nights(good).X.shape == (3, 3000)


def test_nan_in_one_epoch_names_it(tmp_path):
    x = np.zeros((4, 3000), np.float32)
    x[2, 17] = np.inf
    path = write_night(tmp_path / "inf.npz", 4, x=x)
    with pytest.raises(ValueError, match=r"in 1 epoch.*index 2"):
        load_nights(path)
    # Kept on request, for stage(invalid="mark"); in memory and mapped alike.
    for mmap in (False, True):
        kept = load_nights(path, allow_nonfinite=True, mmap=mmap).X
        assert kept.shape == (4, 3000) and np.isinf(kept[2, 17])
        assert np.isfinite(np.delete(np.asarray(kept), 2, axis=0)).all()


@pytest.mark.parametrize("keep", [0.0001, 0.5, 0.999])
def test_truncated_file(tmp_path, keep):
    path = write_night(tmp_path / "night.npz", 20)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"night\.npz: cannot read .*truncated"):
        load_nights(path)


def test_corrupt_member(tmp_path):
    path = write_night(tmp_path / "night.npz", 20)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the compressed 'x'
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"night\.npz: cannot read the arrays"):
        load_nights(path)


def test_not_an_archive(tmp_path):
    path = tmp_path / "single.npz"
    with path.open("wb") as f:
        np.save(f, np.zeros((2, 3000)))
    with pytest.raises(ValueError, match=r"single array, not an \.npz archive"):
        load_nights(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "objects.npz"
    write_night(path, subject=np.array([{"evil": 1}], dtype=object), compressed=False)
    with pytest.raises(ValueError, match=r"objects\.npz: cannot read the arrays"):
        load_nights(path)


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no \.npz file in the folder"):
        load_nights(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nope\.npz' does not exist"):
        load_nights(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_nights([write_night(tmp_path / "a.npz"), tmp_path / "b.npz"])
    with pytest.raises(ValueError, match="empty list"):
        load_nights([])


_night = st.fixed_dictionaries(
    {
        "n": st.integers(1, 4),
        "subject": st.sampled_from(["ann", "bob", "cy"]),
        "channel": st.sampled_from(["C3-A1", "CZ-A1", "EEG Fpz-Cz"]),
        "seed": st.integers(0, 2**32 - 1),
        "y_dtype": st.sampled_from([np.int8, np.int64, np.uint8]),
        "optional": st.booleans(),
        "compressed": st.booleans(),
    }
)


@settings(max_examples=30, deadline=None)
@given(nights=st.lists(_night, min_size=1, max_size=4), mmap=st.booleans())
def test_round_trip(nights, mmap):
    """Whatever valid nights are written come back, in file order."""
    with tempfile.TemporaryDirectory() as folder:
        xs, ys, agreements, onsets = [], [], [], []
        for i, night in enumerate(nights):
            rng = np.random.default_rng(night["seed"])
            x = rng.normal(scale=30, size=(night["n"], 3000)).astype(np.float32)
            y = rng.integers(0, 5, night["n"]).astype(night["y_dtype"])
            extra = {"onset_s": None, "label_agreement": None, "orig_fs": None}
            if night["optional"]:
                extra = {
                    "onset_s": rng.uniform(0, 1e5, night["n"]),
                    "label_agreement": rng.uniform(0, 1, night["n"]),
                    "orig_fs": np.array(128.0),
                }
            write_night(
                Path(folder) / f"night{i:02d}.npz",
                x=x,
                y=y,
                subject=night["subject"],
                channel=night["channel"],
                dataset=None,
                compressed=night["compressed"],
                **extra,
            )
            xs.append(x)
            ys.append(y)
            nan = np.full(night["n"], np.nan)
            onsets.append(nan if extra["onset_s"] is None else extra["onset_s"])
            agreements.append(
                nan if extra["label_agreement"] is None else extra["label_agreement"]
            )
        data = load_nights(folder, mmap=mmap)
        np.testing.assert_array_equal(data.X, np.concatenate(xs))
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.y, np.concatenate(ys))
    np.testing.assert_array_equal(data.onsets, np.concatenate(onsets))
    if any(night["optional"] for night in nights):
        np.testing.assert_allclose(
            data.label_agreement, np.concatenate(agreements).astype(np.float32)
        )
    else:  # the optional key is left out when no file holds it
        assert "label_agreement" not in data
    sizes = [night["n"] for night in nights]
    expected_subjects = np.repeat([night["subject"] for night in nights], sizes)
    np.testing.assert_array_equal(data.subjects[data.groups], expected_subjects)
    assert data.subjects.tolist() == sorted({night["subject"] for night in nights})
    np.testing.assert_array_equal(data.nights, np.repeat(np.arange(len(nights)), sizes))
    assert data.channels.tolist() == [night["channel"] for night in nights]


# -- .npz nights damaged at any byte, any sample dtype (reliability) -----------------


def _night_bytes(compressed):
    buffer = io.BytesIO()
    x = np.random.default_rng(0).normal(scale=20, size=(2, 3000)).astype(np.float32)
    (np.savez_compressed if compressed else np.savez)(
        buffer, x=x, y=np.array([0, 3]), subject="s1", channel="C3-A1"
    )
    return buffer.getvalue(), x


@settings(max_examples=60, deadline=None)
@given(compressed=st.booleans(), data=st.data())
def test_night_file_damaged_at_any_byte_is_refused_or_unchanged(
    tmp_path_factory, compressed, data
):
    whole, x = _night_bytes(compressed)
    offset = data.draw(st.integers(0, len(whole) - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(whole)
    damaged[offset] ^= mask
    path = tmp_path_factory.mktemp("npz") / "night.npz"
    path.write_bytes(bytes(damaged))
    try:
        night = load_nights(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    # Zip fields that hold no data (dates, attributes, comments).
    np.testing.assert_array_equal(night.X, x)
    assert night.y.tolist() == [0, 3] and night.subjects.tolist() == ["s1"]


def _member_start(data, member):
    """Offset of an uncompressed zip member's bytes in the archive ``data``."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    assert info.compress_type == zipfile.ZIP_STORED
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    return local + 30 + name_len + extra_len


def _shorten_npy_header(data, member="x.npy"):
    """Shrink the header length of an uncompressed member's .npy header.

    The header still parses, so numpy reads the array from too early and
    stops before the end of the member, where zipfile would check its CRC-32.
    """
    start = _member_start(data, member)
    (header_len,) = struct.unpack("<H", data[start + 8 : start + 10])
    header = data[start + 10 : start + 10 + header_len]
    shorter = header.index(b"}") + 1
    assert shorter < header_len
    return (
        data[: start + 8] + struct.pack("<H", shorter) + data[start + 10 :],
        header_len - shorter,
    )


def test_npz_member_whose_header_was_damaged_is_refused(tmp_path):
    data, _ = _night_bytes(compressed=False)
    damaged, shift = _shorten_npy_header(data)
    assert shift > 0
    path = tmp_path / "night.npz"
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match=r"night\.npz: the member 'x\.npy' .*CRC-32"):
        load_nights(path)
    spectrograms = tmp_path / "spec.npz"
    images = np.random.default_rng(0).random((2, 51, 59)).astype(np.float32)
    np.savez(spectrograms, X=images, y=[0, 1])
    damaged, _ = _shorten_npy_header(spectrograms.read_bytes(), "X.npy")
    spectrograms.write_bytes(damaged)
    with pytest.raises(ValueError, match=r"spec\.npz: the member 'X\.npy' .*CRC"):
        load_spectrograms(spectrograms)


def test_npz_with_a_bad_crc_in_an_uncompressed_member(tmp_path):
    data, _ = _night_bytes(compressed=False)
    damaged = bytearray(data)
    damaged[_member_start(data, "x.npy") + 5000] ^= 0x10  # inside the samples
    path = tmp_path / "night.npz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"night\.npz: .*CRC-32.*'x\.npy'"):
        load_nights(path)


def test_npz_of_any_integer_or_float_dtype_loads_as_float32(tmp_path):
    x = np.random.default_rng(0).integers(-100, 100, size=(3, 3000))
    for dtype in (np.int16, np.int32, np.float16, np.float64):
        path = tmp_path / f"{np.dtype(dtype).name}.npz"
        np.savez(path, x=x.astype(dtype), y=[0, 1, 2], subject="s", channel="C3")
        night = load_nights(path)
        assert night.X.dtype == np.float32
        np.testing.assert_array_equal(night.X, x.astype(np.float32))
