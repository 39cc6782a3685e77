"""load_spectrograms: the accepted layouts, exactly, and the errors."""

import numpy as np
import pytest

from skdreamy.datasets import load_spectrograms


@pytest.fixture
def images(rng):
    return rng.random((6, 51, 59)), rng.integers(0, 5, 6)


@pytest.mark.parametrize("x_key", ["X", "x"])
@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz(tmp_path, images, x_key, save):
    X, y = images
    save(tmp_path / "spec.npz", **{x_key: X, "y": y})
    data = load_spectrograms(tmp_path / "spec.npz")
    assert data.X.dtype == np.float32 and data.y.dtype == np.int64
    np.testing.assert_array_equal(data.X, X.astype(np.float32))
    np.testing.assert_array_equal(data.y, y)
    assert data.files == [(tmp_path / "spec.npz").resolve()]


@pytest.mark.parametrize(
    ("x_name", "y_name"), [("X.npy", "y.npy"), ("spectrograms.npy", "labels.npy")]
)
def test_folder(tmp_path, images, x_name, y_name):
    X, y = images
    np.save(tmp_path / x_name, X)
    np.save(tmp_path / y_name, y)
    data = load_spectrograms(tmp_path)
    np.testing.assert_array_equal(data.X, X.astype(np.float32))
    np.testing.assert_array_equal(data.y, y)
    assert [f.name for f in data.files] == [x_name, y_name]


def test_labels_one_hot_and_whole_floats(tmp_path, images):
    X, y = images
    np.savez(tmp_path / "hot.npz", X=X, y=np.eye(5)[y])
    np.testing.assert_array_equal(load_spectrograms(tmp_path / "hot.npz").y, y)
    np.savez(tmp_path / "float.npz", X=X, y=y.astype(float))
    np.testing.assert_array_equal(load_spectrograms(tmp_path / "float.npz").y, y)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"X": np.zeros((2, 51, 59)), "x": np.zeros((2, 51, 59)), "y": [0, 1]},
            "not both",
        ),
        ({"spectrograms": np.zeros((2, 51, 59)), "y": [0, 1]}, r"the file has \["),
        (
            {"X": np.zeros((2, 51 * 59)), "y": [0, 1]},
            r"\(n_epochs, 51, 59\), got \(2, 3009\)",
        ),
        ({"X": np.zeros((2, 59, 51)), "y": [0, 1]}, r"got \(2, 59, 51\)"),
        ({"X": np.zeros((0, 51, 59)), "y": np.zeros(0, int)}, "holds no epochs"),
        ({"X": np.full((2, 51, 59), np.nan), "y": [0, 1]}, "NaN or infinite"),
        ({"X": np.zeros((2, 51, 59)), "y": [0, 1, 2]}, r"'y' must have shape \(2,\)"),
        ({"X": np.zeros((2, 51, 59)), "y": [0, 7]}, r"outside 0\.\.4: \[7\]"),
        ({"X": np.zeros((2, 51, 59)), "y": [0.0, 1.5]}, "integer stage codes"),
        ({"X": np.zeros((2, 51, 59)), "y": [[1, 1, 0, 0, 0]] * 2}, "one-hot"),
    ],
)
def test_bad_npz(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_spectrograms(path)
    assert "bad.npz" in str(info.value)


def test_folder_with_neither_or_both_pairs(tmp_path, images):
    X, y = images
    with pytest.raises(FileNotFoundError, match=r"X\.npy \+ y\.npy or .*holds neither"):
        load_spectrograms(tmp_path)
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(
        FileNotFoundError, match=r"labels file .*y\.npy' does not exist"
    ):
        load_spectrograms(tmp_path)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "spectrograms.npy", X)
    with pytest.raises(FileNotFoundError, match="holds both"):
        load_spectrograms(tmp_path)


def test_corrupt_files(tmp_path, images):
    X, y = images
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    data = (tmp_path / "X.npy").read_bytes()
    (tmp_path / "X.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"X\.npy: cannot read .*truncated"):
        load_spectrograms(tmp_path)
    (tmp_path / "spec.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"spec\.npz: cannot read"):
        load_spectrograms(tmp_path / "spec.npz")
    np.save(tmp_path / "X.npy", np.array([X[0]], dtype=object))
    with pytest.raises(ValueError, match=r"X\.npy: cannot read"):
        load_spectrograms(tmp_path)


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"spectrogram file .*nope\.npz"):
        load_spectrograms(tmp_path / "nope.npz")
