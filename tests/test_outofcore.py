"""Out-of-core training: memory-mapped epochs, balanced rows, lazy batches."""

import mmap
import os

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.dummy import DummyClassifier
from sklearn.preprocessing import FunctionTransformer

from skdreamy import SpectrogramScaler, make_pipeline
from skdreamy.datasets import load_nights
from skdreamy.outofcore import (
    BalancedEpochBatches,
    fit_out_of_core,
    predict_out_of_core,
    release_pages,
)
from skdreamy.sampling import ClassBalancer
from tests.conftest import tiny_classifier, write_nights


@pytest.fixture(scope="module")
def night_files(tmp_path_factory):
    """Three synthetic nights as .npz files, the format load_nights reads."""
    return write_nights(tmp_path_factory.mktemp("nights"), ["anna", "ben", "carl"], 150)


def _pipeline(**classifier_params):
    return make_pipeline(
        raw=True,
        n_per_class=30,
        classifier=tiny_classifier(epochs=3, **classifier_params),
        random_state=0,
    )


@pytest.fixture(scope="module")
def in_memory_and_out_of_core(night_files):
    """The reference pipeline fitted in memory and out of core, same order."""
    ram = load_nights(night_files)
    disk = load_nights(night_files, mmap=True)
    assert isinstance(disk.X, np.memmap) and not isinstance(ram.X, np.memmap)
    in_memory = _pipeline().fit(ram.X, ram.y, classify__shuffle=False)
    out_of_core = fit_out_of_core(
        _pipeline(), disk.X, disk.y, chunk_size=64, shuffle=False
    )
    return in_memory, out_of_core, ram.X


@pytest.mark.slow
def test_out_of_core_equals_in_memory_bit_for_bit(in_memory_and_out_of_core):
    in_memory, out_of_core, X = in_memory_and_out_of_core
    np.testing.assert_array_equal(
        out_of_core["balance"].sample_indices_, in_memory["balance"].sample_indices_
    )
    for name in ("center_", "scale_", "data_min_", "data_max_"):
        np.testing.assert_array_equal(
            getattr(out_of_core["scale"], name), getattr(in_memory["scale"], name)
        )
    assert out_of_core["classify"].history_ == in_memory["classify"].history_
    np.testing.assert_array_equal(
        out_of_core.predict_proba(X), in_memory.predict_proba(X)
    )


@pytest.mark.slow
def test_predict_out_of_core_equals_predict(in_memory_and_out_of_core):
    _, pipe, X = in_memory_and_out_of_core
    proba = predict_out_of_core(pipe, X, method="predict_proba", chunk_size=100)
    # Keras predicts in batches of 256 either way; the chunks start new batches,
    # which the CPU kernels may sum in another order: equal up to rounding.
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-5, atol=1e-7)
    labels = predict_out_of_core(pipe, X, chunk_size=100)
    np.testing.assert_array_equal(labels, pipe.classes_[proba.argmax(axis=1)])


@pytest.mark.slow
def test_spectrogram_input_with_class_weight_equals_in_memory(spectrograms):
    X, y, _ = spectrograms
    weights = {0: 1.0, 1: 3.0, 2: 0.5, 3: 1.0, 4: 2.0}

    def pipe():
        return make_pipeline(
            n_per_class=20,
            classifier=tiny_classifier(class_weight=weights),
            random_state=1,
        )

    in_memory = pipe().fit(X, y, classify__shuffle=False)
    out_of_core = fit_out_of_core(pipe(), X, y, chunk_size=100, shuffle=False)
    np.testing.assert_array_equal(
        out_of_core.predict_proba(X[:50]), in_memory.predict_proba(X[:50])
    )


class RowCountingArray:
    """An array that records how many rows each read returns."""

    def __init__(self, data):
        self.data = data
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim
        self.reads = []

    def __getitem__(self, key):
        rows = self.data[key]
        self.reads.append(len(rows))
        return rows


@pytest.mark.slow
def test_training_reads_chunks_and_batches_never_the_whole_array(raw_epochs):
    X, y, _ = raw_epochs
    counting = RowCountingArray(X)
    pipe = make_pipeline(
        raw=True, n_per_class=20, classifier=tiny_classifier(epochs=2), random_state=0
    )
    fit_out_of_core(pipe, counting, y, chunk_size=128)
    assert max(counting.reads) <= 128 < len(X)
    batch_size = pipe["classify"].batch_size
    # After the scaler's single pass, only batches of the 100 balanced rows.
    scaler_pass = -(-len(X) // 128) + 1  # + the spectrogram's layout check
    assert counting.reads[scaler_pass:] and max(counting.reads[scaler_pass:]) <= (
        batch_size
    )
    assert sum(counting.reads[:scaler_pass]) == len(X) + 128


def test_shuffle_is_seeded_and_changes_every_epoch():
    X = np.arange(60.0).reshape(30, 2)
    y = np.repeat(["a", "b", "c"], 10)

    def epoch_orders(batches, n_epochs):
        orders = []
        for _ in range(n_epochs):
            orders.append(
                np.concatenate([batches[i][0][:, 0] for i in range(len(batches))])
            )
            batches.on_epoch_end()
        return orders

    a = epoch_orders(BalancedEpochBatches(X, y, n_per_class=8, random_state=3), 3)
    b = epoch_orders(BalancedEpochBatches(X, y, n_per_class=8, random_state=3), 3)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    # Every epoch trains on the same balanced rows, in a new order.
    for order in a[1:]:
        np.testing.assert_array_equal(np.sort(order), np.sort(a[0]))
    fixed = BalancedEpochBatches(X, y, n_per_class=8, shuffle=False, random_state=3)
    f = epoch_orders(fixed, 2)
    np.testing.assert_array_equal(f[0], f[1])
    np.testing.assert_array_equal(f[0], X[fixed.sample_indices_, 0])


def test_batches_match_the_balancer_and_the_transform():
    X = np.arange(60.0).reshape(30, 2)
    y = np.array(["W"] * 20 + ["N2"] * 10)
    balancer = ClassBalancer(n_per_class=7, random_state=5)
    X_bal, y_bal = balancer.fit_resample(X, y)
    batches = BalancedEpochBatches(
        X,
        y,
        n_per_class=7,
        transform=FunctionTransformer(lambda Z: 2 * Z),
        batch_size=4,
        shuffle=False,
        random_state=5,
    )
    np.testing.assert_array_equal(batches.sample_indices_, balancer.sample_indices_)
    features = np.concatenate([batches[i][0] for i in range(len(batches))])
    targets = np.concatenate([batches[i][1] for i in range(len(batches))])
    np.testing.assert_array_equal(features, 2 * X_bal)
    np.testing.assert_array_equal(batches.classes_[targets.argmax(axis=1)], y_bal)
    assert len(batches) == 4 and len(batches[3][0]) == 2
    with pytest.raises(IndexError):
        batches[4]


def _rss_file_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")  # kernels before 4.5


@pytest.mark.skipif(
    not hasattr(mmap, "MADV_DONTNEED") or not os.path.exists("/proc/self/status"),
    reason="needs madvise and Linux's /proc",
)
def test_release_pages_drops_the_mapping_from_resident_memory(tmp_path):
    path = tmp_path / "epochs.f32"
    n_rows = 64 * 1024 * 1024 // (3000 * 4)  # 64 MiB
    np.ones((n_rows, 3000), dtype=np.float32).tofile(path)
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, 3000))
    before = _rss_file_kb()
    assert X[::100].sum() > 0 and float(X.sum(dtype=np.float64)) == X.size
    touched = _rss_file_kb()
    assert touched - before > 48 * 1024  # most of the 64 MiB are resident
    assert release_pages(X[10:20])  # a view releases its whole mapping
    assert _rss_file_kb() - before < 8 * 1024
    assert float(X.sum(dtype=np.float64)) == X.size  # data intact


def test_copy_on_write_maps_are_left_alone(tmp_path):
    path = tmp_path / "x.f32"
    np.zeros(10, dtype=np.float32).tofile(path)
    X = np.memmap(path, dtype=np.float32, mode="c")
    X[0] = 5.0
    assert not release_pages(X)
    assert X[0] == 5.0


@pytest.mark.parametrize(
    ("pipeline", "error", "match"),
    [
        (
            make_pipeline(scaler=SpectrogramScaler(method="robust")),
            TypeError,
            "'scale'.*no partial_fit",
        ),
        (
            Pipeline([("over", RandomOverSampler()), ("clf", tiny_classifier())]),
            TypeError,
            "only ClassBalancer",
        ),
        (
            Pipeline(
                [
                    ("balance", ClassBalancer()),
                    ("scale", SpectrogramScaler()),
                    ("clf", tiny_classifier()),
                ]
            ),
            TypeError,
            "'scale' comes after the balancer",
        ),
        (
            Pipeline([("scale", SpectrogramScaler()), ("clf", DummyClassifier())]),
            TypeError,
            "last step of this pipeline is DummyClassifier",
        ),
        (
            make_pipeline(classifier=tiny_classifier(validation_fraction=0.2)),
            ValueError,
            "validation split",
        ),
    ],
)
def test_unsupported_pipelines_are_refused(spectrograms, pipeline, error, match):
    X, y, _ = spectrograms
    with pytest.raises(error, match=match):
        fit_out_of_core(pipeline, X, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([[0.0] * 3] * 4, [0, 1, 0, 1], "array of epochs"),
        (np.zeros(5), [0, 1, 0, 1, 0], "array of epochs"),
        (np.zeros((5, 3009)), [0, 1, 0, 1], "5 epochs but y has 4 labels"),
    ],
)
def test_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        fit_out_of_core(make_pipeline(classifier=tiny_classifier()), X, y)
    with pytest.raises(ValueError, match=match):
        BalancedEpochBatches(X, y)


def test_labels_outside_classes_are_refused():
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes"):
        BalancedEpochBatches(np.zeros((3, 2)), [0, 1, 2], classes=[0, 1])


@pytest.mark.slow
def test_stateless_and_partial_fit_steps_are_fitted(spectrograms):
    X, y, _ = spectrograms
    pipe = Pipeline(
        [
            ("scale", SpectrogramScaler(method="standard")),
            ("balance", ClassBalancer(n_per_class=10, random_state=0)),
            ("classify", tiny_classifier(epochs=1)),
        ]
    )
    original_scaler = pipe["scale"]
    fit_out_of_core(pipe, X, y, chunk_size=50)
    assert pipe["scale"] is not original_scaler  # a fitted clone replaced it
    assert pipe["scale"].n_samples_seen_ == len(X)
    np.testing.assert_allclose(
        pipe["scale"].center_,
        SpectrogramScaler(method="standard").fit(X).center_,
        rtol=1e-12,
    )
    assert pipe.predict(X[:3]).shape == (3,)
