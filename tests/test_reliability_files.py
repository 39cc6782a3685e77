"""Reliability (issue 10): damaged, half-written and foreign files.

Model files cut or damaged at any byte, ``.npz`` nights damaged at any byte,
EDF recordings whose header and data disagree, and models saved with other
library versions. ``tests/README.md`` lists these with the cases tried in
``test_persistence.py`` and ``test_datasets_*.py``.
"""

import functools
import io
import json
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from skdreamy import load, make_pipeline, save
from skdreamy.datasets import load_nights, load_spectrograms, read_night, read_recording
from skdreamy.persistence import ModelVersionWarning, read_metadata
from tests._edf_files import ramp, write_psg
from tests.conftest import OTHER_BACKEND, tiny_classifier

EEG = "EEG Fpz-Cz"
PROBE = [[0.5], [2.5]]
MAGIC = b"\x89SKDREAMY\r\n\x1a\n"  # then a 4-byte header length, the header


@functools.cache
def _model_file():
    """Bytes of a small saved model, and its probabilities on PROBE."""
    import tempfile
    from pathlib import Path

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 4, 4])
    with tempfile.TemporaryDirectory() as folder:
        data = save(model, Path(folder) / "m.skdreamy").read_bytes()
    return data, model.predict_proba(PROBE)


# -- model files ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_model_file_cut_at_any_byte_is_refused_as_truncated(tmp_path_factory, data):
    whole, _ = _model_file()
    n = data.draw(st.integers(0, len(whole) - 1), label="bytes kept")
    path = tmp_path_factory.mktemp("cut") / "m.skdreamy"
    path.write_bytes(whole[:n])
    for read in (load, read_metadata):
        with pytest.raises(ValueError, match=r"m\.skdreamy' is (truncated|empty)"):
            read(path)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_model_file_damaged_at_any_byte_is_refused(tmp_path_factory, data):
    """From format version 2 the checksum covers the manifest too: a damaged
    byte anywhere is an error (version 1 let header damage through)."""
    whole, _ = _model_file()
    offset = data.draw(st.integers(0, len(whole) - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(whole)
    damaged[offset] ^= mask
    path = tmp_path_factory.mktemp("flip") / "m.skdreamy"
    path.write_bytes(bytes(damaged))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelVersionWarning)
        with pytest.raises(ValueError, match=r"m\.skdreamy"):
            load(path)


def test_model_path_that_is_a_folder_or_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing"):
        load(tmp_path / "nothing.skdreamy")
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


@pytest.fixture(scope="module")
def cnn_pipeline(spectrograms, tmp_path_factory):
    X, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=15, classifier=tiny_classifier(), random_state=0)
    pipe.fit(X[::5], y[::5])
    path = save(pipe, tmp_path_factory.mktemp("cnn") / "cnn.skdreamy")
    return pipe, path, X[1::5][:40]


@pytest.mark.slow
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.999])
def test_cnn_model_file_cut_short(cnn_pipeline, tmp_path, keep):
    _, path, _ = cnn_pipeline
    whole = path.read_bytes()
    cut = tmp_path / "cnn.skdreamy"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ValueError, match=r"cnn\.skdreamy' is truncated"):
        load(cut)


def _with_header(path, out, **changes):
    """Copy a model file with manifest fields changed (the members untouched),
    resealed with a valid checksum."""
    from skdreamy.persistence import _frame

    data = path.read_bytes()
    start = len(MAGIC) + 4
    (n,) = struct.unpack(">I", data[len(MAGIC) : start])
    header = json.loads(data[start : start + n])
    for key, value in changes.items():
        if key == "versions":
            header["versions"].update(value)
        else:
            header[key] = value
    out.write_bytes(_frame(header, data[start + n : -48]))
    return out


@pytest.mark.slow
def test_cnn_model_saved_with_another_keras_warns_and_predicts(cnn_pipeline, tmp_path):
    pipe, path, X = cnn_pipeline
    other = _with_header(
        path,
        tmp_path / "other.skdreamy",
        versions={"keras": "2.15.0", "tensorflow": "2.15.1"},
        keras_backend=OTHER_BACKEND,
    )
    with pytest.warns(ModelVersionWarning) as record:
        model = load(other)
    message = str(record[0].message)
    assert "other.skdreamy" in message
    assert "keras 2.15.0 ->" in message
    assert f"Keras backend {OTHER_BACKEND} ->" in message
    assert "refit and save it" in message
    np.testing.assert_array_equal(model.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.slow
def test_model_saved_by_another_skdreamy_can_be_refused(cnn_pipeline, tmp_path):
    _, path, _ = cnn_pipeline
    other = _with_header(
        path, tmp_path / "old.skdreamy", versions={"skdreamy": "0.0.9"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        with pytest.raises(ModelVersionWarning, match=r"skdreamy 0\.0\.9 ->"):
            load(other)


# -- .npz nights -------------------------------------------------------------------


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


# -- EDF: header and data disagree ----------------------------------------------------


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
