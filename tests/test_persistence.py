"""Tests of skdreamy.save / skdreamy.load (skdreamy/persistence.py)."""

import hashlib
import json
import os
import pickle
import re
import struct
import warnings

import numpy as np
import pytest
from conftest import OTHER_BACKEND, tiny_classifier
from sklearn.linear_model import LogisticRegression

import skdreamy
from skdreamy import load, make_pipeline, save
from skdreamy.persistence import (
    FORMAT_VERSION,
    ModelVersionWarning,
    read_metadata,
)

MAGIC = b"\x89SKDREAMY\r\n\x1a\n"
END = b"\x00SKD-END"


@pytest.fixture(scope="module")
def fitted_pipeline(spectrograms):
    X, y, _ = spectrograms
    X, y = X[::4], y[::4]
    pipe = make_pipeline(n_per_class=20, classifier=tiny_classifier(), random_state=0)
    return pipe.fit(X, y), X


@pytest.fixture
def small_model():
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 4, 4])


def _split(path):
    """(header dict, payload + trailer) of a model file, per the documented layout."""
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    start = len(MAGIC) + 4
    (n,) = struct.unpack(">I", data[len(MAGIC) : start])
    return json.loads(data[start : start + n]), data[start + n :]


def _write(path, header, rest):
    raw = json.dumps(header).encode()
    path.write_bytes(MAGIC + struct.pack(">I", len(raw)) + raw + rest)


def _frame(payload):
    return (
        payload
        + struct.pack(">Q", len(payload))
        + hashlib.sha256(payload).digest()
        + END
    )


def _no_temp_files(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


# -- round trips -----------------------------------------------------------------


@pytest.mark.slow
def test_pipeline_round_trip_gives_identical_probabilities(fitted_pipeline, tmp_path):
    pipe, X = fitted_pipeline
    path = save(pipe, tmp_path / "model.skdreamy")
    assert path == tmp_path / "model.skdreamy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning
        loaded = load(path)
    assert loaded is not pipe
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert loaded[-1].history_ == pipe[-1].history_
    assert _no_temp_files(tmp_path)


@pytest.mark.slow
def test_metadata_records_versions(fitted_pipeline, tmp_path):
    import keras
    import sklearn

    pipe, _ = fitted_pipeline
    info = read_metadata(save(pipe, tmp_path / "model.skdreamy"))
    assert info["format_version"] == FORMAT_VERSION == 1
    assert info["estimator"] == "imblearn.pipeline.Pipeline"
    assert info["classes"] == [0, 1, 2, 3, 4]
    assert info["keras_backend"] == keras.backend.backend()
    versions = info["versions"]
    assert versions["skdreamy"] == skdreamy.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["keras"] == keras.__version__
    for name in ("numpy", "imbalanced-learn", "scikeras", "python"):
        assert versions[name]
    assert info["created"].endswith("+00:00")


def test_save_replaces_an_existing_file_and_accepts_str(small_model, tmp_path):
    path = tmp_path / "model.skdreamy"
    path.write_text("an older file")
    save(small_model, str(path))
    assert load(str(path)).predict([[3.0]]).tolist() == [4]
    assert _no_temp_files(tmp_path)


def test_saved_file_honours_the_umask(small_model, tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o022)
    try:
        path = save(small_model, tmp_path / "model.skdreamy")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_into_a_missing_directory(small_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(small_model, tmp_path / "nowhere" / "model.skdreamy")


# -- interrupted saves -------------------------------------------------------------


def _previous(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    return path, path.read_bytes()


def test_unpicklable_estimator_leaves_previous_file(small_model, tmp_path):
    path, before = _previous(small_model, tmp_path)
    # A large array first, so part of the payload is on disk when it fails.
    broken = [np.zeros(300_000), lambda x: x]
    with pytest.raises((pickle.PicklingError, AttributeError)):
        save(broken, path)
    assert path.read_bytes() == before
    assert load(path).predict([[0.0]]).tolist() == [0]
    assert _no_temp_files(tmp_path)


def test_disk_full_midway_leaves_previous_file(small_model, tmp_path, monkeypatch):
    from skdreamy import persistence

    path, before = _previous(small_model, tmp_path)
    written = []
    real_write = persistence._HashingWriter.write

    def write_then_fail(self, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(len(data))
        return real_write(self, data)

    monkeypatch.setattr(persistence._HashingWriter, "write", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save([np.zeros(300_000), np.ones(300_000)], path)
    assert written  # it failed midway, after writing part of the payload
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_ctrl_c_before_commit_leaves_previous_file(small_model, tmp_path, monkeypatch):
    path, before = _previous(small_model, tmp_path)

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(LogisticRegression(C=0.5), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_failed_rename_removes_temp_file(small_model, tmp_path):
    target = tmp_path / "a_directory"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        save(small_model, target)
    assert _no_temp_files(tmp_path)


# -- refusing bad files ------------------------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.skdreamy"
    path.touch()
    with pytest.raises(ValueError, match=r"empty\.skdreamy' is empty \(0 bytes\)"):
        load(path)


@pytest.mark.parametrize("keep", [5, 14, 40, 0.5, -1, -20])
def test_truncated_file(small_model, tmp_path, keep):
    path = save(small_model, tmp_path / "cut.skdreamy")
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:n])
    with pytest.raises(ValueError, match=r"cut\.skdreamy' is truncated"):
        load(path)


def test_damaged_payload(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is corrupt: the checksum"):
        load(path)


def test_plain_pickle_is_foreign(small_model, tmp_path):
    import joblib

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(small_model))
    with pytest.raises(
        ValueError, match=r"model\.pkl' is not a skdreamy .*plain pickle"
    ):
        load(path)
    joblib.dump(small_model, path)
    with pytest.raises(ValueError, match="plain pickle"):
        load(path)


def test_text_file_is_foreign(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("W W N1 N2 N2 N3 REM\n")
    with pytest.raises(ValueError, match=r"notes\.txt' is not a .*text file"):
        load(path)
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="does not start with the skdreamy signature"):
        load(path)


@pytest.mark.slow
def test_keras_archive_is_foreign(fitted_pipeline, tmp_path):
    pipe, _ = fitted_pipeline
    path = tmp_path / "cnn.keras"
    pipe[-1].model_.save(path)
    with pytest.raises(ValueError, match=r"cnn\.keras' .*zip archive .*load_model"):
        load(path)
    with pytest.raises(ValueError, match="zip archive"):
        read_metadata(path)


def test_newer_format_version_is_an_error(small_model, tmp_path):
    path = save(small_model, tmp_path / "future.skdreamy")
    header, rest = _split(path)
    header["format_version"] = 99
    header["versions"]["skdreamy"] = "9.0"
    _write(path, header, rest)
    with pytest.raises(
        ValueError,
        match=re.escape("format version 99, written by skdreamy 9.0")
        + ".*reads format versions up to 1",
    ):
        load(path)


@pytest.mark.parametrize("bad", [None, "1", 0, True])
def test_invalid_format_version(small_model, tmp_path, bad):
    path = save(small_model, tmp_path / "odd.skdreamy")
    header, rest = _split(path)
    header["format_version"] = bad
    _write(path, header, rest)
    with pytest.raises(ValueError, match=r"format version|format_version"):
        load(path)


def test_header_that_is_not_json(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    data = path.read_bytes()
    start = len(MAGIC) + 4
    path.write_bytes(data[:start] + b"[" + data[start + 1 :])  # '{' -> '['
    with pytest.raises(ValueError, match="its header is not JSON"):
        load(path)


def test_other_versions_warn_and_still_load(small_model, tmp_path):
    path = save(small_model, tmp_path / "old.skdreamy")
    header, rest = _split(path)
    header["versions"].update({"skdreamy": "0.0.1", "keras": "2.15.0"})
    header["keras_backend"] = OTHER_BACKEND
    _write(path, header, rest)
    with pytest.warns(ModelVersionWarning) as record:
        model = load(path)
    message = str(record[0].message)
    assert f"skdreamy 0.0.1 -> {skdreamy.__version__}" in message
    assert "keras 2.15.0 ->" in message
    assert f"Keras backend {OTHER_BACKEND} ->" in message
    assert "old.skdreamy" in message
    assert model.predict([[3.0]]).tolist() == [4]


def test_patch_release_of_a_dependency_does_not_warn(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    header, rest = _split(path)
    major, minor = header["versions"]["numpy"].split(".")[:2]
    header["versions"]["numpy"] = f"{major}.{minor}.999"
    _write(path, header, rest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)


def test_payload_that_cannot_be_unpickled(small_model, tmp_path):
    path = save(small_model, tmp_path / "moved.skdreamy")
    header, _ = _split(path)
    payload = b"cskdreamy_no_such_module\nThing\n)R."  # a class that is gone
    _write(path, header, _frame(payload))
    with pytest.raises(
        ValueError,
        match=r"moved\.skdreamy' could not be unpickled .*ModuleNotFoundError"
        r".*saved with imbalanced-learn",
    ):
        load(path)
