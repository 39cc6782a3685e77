"""SleepStageCNNClassifier: the reference CNN as a scikit-learn classifier."""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scikeras.wrappers import BaseWrapper
from sklearn.base import clone, is_classifier
from sklearn.model_selection import cross_validate
from sklearn.utils import get_tags
from sklearn.utils.class_weight import compute_sample_weight

from skdreamy import SleepStageCNNClassifier, build_sleep_cnn, make_pipeline
from skdreamy.outofcore import predict_out_of_core
from skdreamy.sampling import ClassBalancer
from tests.conftest import EMPTY_RAW, EMPTY_SPEC, fitted_scaler, tiny_classifier


def _conv(c_in, c_out):
    return 9 * c_in * c_out + c_out


def test_reference_cnn_layer_table():
    model = build_sleep_cnn()
    table = [
        (layer.name, layer.output.shape[1:], layer.count_params())
        for layer in model.layers[1:]
    ]
    expected = [
        ("image", (51, 59, 1), 0),
        ("conv0", (49, 57, 32), _conv(1, 32)),
        ("conv1", (49, 57, 32), _conv(32, 32)),
        ("pool2", (24, 28, 32), 0),
        ("conv3", (24, 28, 32), _conv(32, 32)),
        ("conv4", (24, 28, 32), _conv(32, 32)),
        ("pool5", (12, 14, 32), 0),
        ("conv6", (12, 14, 64), _conv(32, 64)),
        ("conv7", (12, 14, 64), _conv(64, 64)),
        ("pool8", (6, 7, 64), 0),
        ("conv9", (6, 7, 128), _conv(64, 128)),
        ("pool10", (3, 3, 128), 0),
        ("flatten", (1152,), 0),
        ("dropout1", (1152,), 0),
        ("dense", (512,), 1152 * 512 + 512),
        ("dropout2", (512,), 0),
        ("stage", (5,), 512 * 5 + 5),
    ]
    assert [(n, tuple(s), p) for n, s, p in table] == expected
    assert sum(p for _, _, p in expected) == 750_245
    assert model.count_params() == 750_245
    assert model.input_shape == (None, 51 * 59)


def test_reference_cnn_rejects_too_small_spectrograms():
    with pytest.raises(ValueError, match=r"at least 18 x 18.*got 10 x 59"):
        build_sleep_cnn((10, 59))


def test_same_seed_same_initial_weights():
    a = build_sleep_cnn(seed=1).get_weights()
    b = build_sleep_cnn(seed=1).get_weights()
    c = build_sleep_cnn(seed=2).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_is_a_classifier_with_classifier_tags():
    clf = SleepStageCNNClassifier()
    assert is_classifier(clf)
    tags = get_tags(clf)
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.required
    assert tags.classifier_tags is not None


def test_params_are_the_init_signature():
    params = SleepStageCNNClassifier().get_params()
    assert params["batch_size"] == 16 and params["epochs"] == 25
    assert params["architecture"] == "reference"
    assert "model" not in params and "optimizer" not in params
    with pytest.raises(ValueError, match="Invalid parameter"):
        SleepStageCNNClassifier().set_params(fit__epochs=3)


@pytest.fixture(scope="module")
def fitted(spectrograms):
    X, y, _ = spectrograms
    X = X / X.max()
    clf = tiny_classifier(epochs=3).fit(X[:300], y[:300])
    return clf, X, y


@pytest.mark.slow
def test_predict_and_proba(fitted):
    clf, X, _ = fitted
    proba = clf.predict_proba(X[300:])
    assert proba.shape == (300, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_, np.arange(5))
    np.testing.assert_array_equal(clf.predict(X[300:]), proba.argmax(axis=1))
    assert clf.spectrogram_shape_ == (51, 59) and clf.n_features_in_ == 3009
    assert set(clf.history_) == {"loss", "accuracy"}
    assert len(clf.history_["loss"]) == 3


@pytest.mark.slow
def test_3d_input_gives_the_same_predictions(fitted):
    clf, X, _ = fitted
    np.testing.assert_array_equal(
        clf.predict_proba(X[:20]), clf.predict_proba(X[:20].reshape(20, 51, 59))
    )


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(start=st.integers(0, 299), size=st.integers(1, 300))
def test_one_prediction_per_epoch_in_order_for_any_batch(fitted, start, size):
    clf, X, _ = fitted
    full = clf.predict_proba(X)
    part = clf.predict_proba(X[start : start + size])
    np.testing.assert_allclose(part, full[start : start + size], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_string_labels(spectrograms):
    X, y, _ = spectrograms
    names = np.array(["W", "N1", "N2", "N3", "REM"])[y[:200]]
    clf = tiny_classifier().fit(X[:200], names)
    np.testing.assert_array_equal(clf.classes_, ["N1", "N2", "N3", "REM", "W"])
    assert set(clf.predict(X[:50])) <= set(names)


@pytest.mark.slow
def test_binary_problem_uses_two_softmax_units(spectrograms):
    X, y, _ = spectrograms
    mask = np.isin(y, [0, 3])
    clf = tiny_classifier().fit(X[mask], y[mask])
    assert clf.model_.output_shape == (None, 2)
    assert clf.predict_proba(X[mask][:5]).shape == (5, 2)


@pytest.mark.slow
def test_same_random_state_bitwise_identical(spectrograms):
    X, y, _ = spectrograms
    a = tiny_classifier(random_state=7).fit(X[:200], y[:200]).predict_proba(X[200:])
    b = tiny_classifier(random_state=7).fit(X[:200], y[:200]).predict_proba(X[200:])
    c = tiny_classifier(random_state=8).fit(X[:200], y[:200]).predict_proba(X[200:])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.slow
def test_random_state_instance_seeds_by_its_state(spectrograms):
    # scikeras 0.13 alone turns every RandomState into the seed 0.
    X, y, _ = spectrograms

    def proba(random_state):
        clf = tiny_classifier(random_state=random_state).fit(X[:200], y[:200])
        return clf.predict_proba(X[200:])

    state = np.random.RandomState(1)
    before = state.get_state()[1].copy()
    a = proba(state)
    assert np.array_equal(state.get_state()[1], before)  # the user's is not drawn
    assert np.array_equal(a, proba(np.random.RandomState(1)))
    assert not np.array_equal(a, proba(np.random.RandomState(2)))
    assert not np.array_equal(a, proba(0))


@pytest.mark.slow
def test_bitwise_identical_across_processes(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from skdreamy import EpochSpectrogram
        from skdreamy.datasets import make_sleep_epochs
        from tests.conftest import tiny_classifier
        X, y = make_sleep_epochs(150, random_state=1)
        S = EpochSpectrogram(log=True).fit_transform(X)
        proba = tiny_classifier(random_state=5).fit(S, y).predict_proba(S)
        np.save(sys.argv[1], proba)
        """
    )
    paths = [tmp_path / f"p{i}.npy" for i in range(2)]
    for path in paths:
        subprocess.run(
            [sys.executable, "-c", script, str(path)],
            check=True,
            capture_output=True,
            cwd=str(Path(__file__).parents[1]),
        )
    assert np.array_equal(np.load(paths[0]), np.load(paths[1]))


@pytest.mark.slow
def test_pickle_and_clone(fitted):
    clf, X, _ = fitted
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    unfitted = clone(clf)
    assert unfitted.get_params() == clf.get_params()
    assert not hasattr(unfitted, "model_")


@pytest.mark.slow
def test_cross_validation_folds_are_stratified(spectrograms):
    X, y, _ = spectrograms
    order = np.argsort(y, kind="stable")  # sorted by class, as sampler output
    X, y = X[order][::3], y[order][::3]
    result = cross_validate(
        tiny_classifier(epochs=1), X, y, cv=3, scoring="f1_micro", return_indices=True
    )
    for test in result["indices"]["test"]:
        assert set(y[test]) == set(range(5))  # KFold would give 1-2 classes


@pytest.fixture
def keras_fit_spy(monkeypatch):
    calls = []
    original = BaseWrapper._fit_keras_model

    def spy(self, X, y, **kwargs):
        calls.append({"X": X, "y": y, **kwargs})
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(BaseWrapper, "_fit_keras_model", spy)
    return calls


@pytest.mark.slow
def test_validation_split_is_stratified_and_shuffled(spectrograms, keras_fit_spy):
    X, y, _ = spectrograms
    order = np.argsort(y, kind="stable")
    clf = tiny_classifier(epochs=1, validation_fraction=0.2, random_state=0)
    clf.fit(X[order], y[order])
    call = keras_fit_spy[0]
    X_val, y_val = call["validation_data"]
    counts = y_val.sum(axis=0)
    assert len(X_val) == len(y_val) == pytest.approx(0.2 * len(y), abs=1)
    expected = 0.2 * np.bincount(y)
    assert np.all(np.abs(counts - expected) <= 1)
    assert len(call["y"]) + len(y_val) == len(y)
    assert {"val_loss", "val_accuracy"} <= set(clf.history_)


@pytest.mark.slow
def test_class_weight_balanced_is_a_parameter(spectrograms, keras_fit_spy):
    X, y, _ = spectrograms
    tiny_classifier(epochs=1, class_weight="balanced").fit(X[:200], y[:200])
    np.testing.assert_allclose(
        keras_fit_spy[0]["sample_weight"],
        compute_sample_weight("balanced", y[:200]),
        rtol=1e-6,
    )


@pytest.mark.slow
def test_early_stopping_stops_on_noise(spectrograms):
    X, _, _ = spectrograms
    y_noise = np.random.default_rng(0).integers(0, 2, len(X))
    clf = tiny_classifier(
        epochs=40, validation_fraction=0.3, early_stopping=True, patience=1
    ).fit(X, y_noise)
    assert len(clf.history_["val_loss"]) < 40


def test_early_stopping_needs_validation(spectrograms):
    X, y, _ = spectrograms
    with pytest.raises(ValueError, match="validation_fraction > 0"):
        tiny_classifier(early_stopping=True).fit(X, y)


def test_validation_split_needs_two_epochs_per_class(spectrograms):
    X, y, _ = spectrograms
    y = y.copy()
    y[0] = 9  # a class with a single epoch
    with pytest.raises(ValueError, match="at least 2 distinct epochs"):
        tiny_classifier(validation_fraction=0.2).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.full((10, 3009), np.nan), np.arange(10) % 2, "NaN"),
        (np.zeros((10, 3008)), np.arange(10) % 2, r"3008 features.*51 \* 59 = 3009"),
        (np.zeros((10, 59, 51)), np.arange(10) % 2, r"shape \(59, 51\).*\(51, 59\)"),
        (np.zeros((10, 1, 51, 59)), np.arange(10) % 2, "4 dimensions"),
        (np.zeros((10, 3009)), np.zeros(10), r"1 class: \[0.0\]"),
        (np.zeros((10, 3009)), np.arange(9) % 2, r"\[10, 9\]"),
        (np.zeros((0, 3009)), np.zeros(0), "0 sample"),
    ],
)
def test_bad_training_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        tiny_classifier().fit(X, y)


@pytest.mark.slow
def test_unseen_labels_at_score(fitted):
    clf, X, y = fitted
    y_bad = y[:10].copy()
    y_bad[0] = 7
    with pytest.raises(ValueError, match=r"labels never seen in fit: \[7\]"):
        clf.score(X[:10], y_bad)


@pytest.mark.slow
def test_predict_rejects_other_shape(fitted):
    clf, _, _ = fitted
    with pytest.raises(ValueError, match="3009 features"):
        clf.predict(np.zeros((2, 100)))


@pytest.mark.slow
def test_augmentation_trains_reproducibly_and_pickles(spectrograms):
    X, y, _ = spectrograms
    X = np.log10(X[:200] + 1e-6)
    params = dict(offset_std=0.3, noise_std=0.1, epochs=2)
    clf = tiny_classifier(**params).fit(X, y[:200])
    names = [layer.name for layer in clf.model_.layers]
    assert "random_offset" in names and "noise" in names
    proba = clf.predict_proba(X)
    # Identity at inference: predicting twice gives the same probabilities.
    np.testing.assert_array_equal(proba, clf.predict_proba(X))
    again = tiny_classifier(**params).fit(X, y[:200]).predict_proba(X)
    np.testing.assert_array_equal(proba, again)
    plain = tiny_classifier(epochs=2).fit(X, y[:200]).predict_proba(X)
    assert not np.array_equal(proba, plain)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)


@pytest.mark.slow
def test_validation_never_holds_a_copy_of_a_training_epoch(spectrograms, keras_fit_spy):
    from skdreamy.sampling import ClassBalancer

    X, y, _ = spectrograms
    Xb, yb = ClassBalancer(n_per_class=120, random_state=0).fit_resample(X, y)
    assert len(np.unique(Xb, axis=0)) < len(Xb)  # over-sampling made copies
    tiny_classifier(epochs=1, validation_fraction=0.2).fit(Xb, yb)
    call = keras_fit_spy[0]
    X_val = call["validation_data"][0]
    train_rows = {row.tobytes() for row in call["X"]}
    assert not any(row.tobytes() in train_rows for row in X_val)
    assert 0.15 < len(X_val) / len(Xb) < 0.25


def softmax_regression(spectrogram_shape, n_classes, *, seed=None, **kwargs):
    """A user architecture: the documented contract, nothing else."""
    import keras

    n_features = spectrogram_shape[0] * spectrogram_shape[1]
    inputs = keras.Input(shape=(n_features,))
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )(inputs)
    return keras.Model(inputs, outputs)


def wrong_output(spectrogram_shape, n_classes, **kwargs):
    import keras

    inputs = keras.Input(shape=(spectrogram_shape[0] * spectrogram_shape[1],))
    return keras.Model(inputs, keras.layers.Dense(n_classes + 1)(inputs))


@pytest.mark.slow
def test_architecture_callable_trains_clones_and_pickles(spectrograms):
    X, y, _ = spectrograms
    clf = SleepStageCNNClassifier(
        architecture=softmax_regression, epochs=2, batch_size=64, random_state=0
    )
    clf.fit(X[:200], y[:200])
    assert clf.model_.count_params() == (51 * 59 + 1) * len(clf.classes_)
    proba = clf.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clone(clf).get_params()["architecture"] is softmax_regression
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X[:20]), proba)
    again = clone(clf).fit(X[:200], y[:200])  # seeded: the same model
    np.testing.assert_array_equal(again.predict_proba(X[:20]), proba)


def test_architecture_must_keep_the_contract(spectrograms):
    X, y, _ = spectrograms
    with pytest.raises(ValueError, match=r"output shape \(None, 6\); expected"):
        SleepStageCNNClassifier(architecture=wrong_output, epochs=1).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="architecture"):
        SleepStageCNNClassifier(architecture="resnet").fit(X[:50], y[:50])


# -- bad input: dtypes, empty, non-numeric, one class, unseen labels (reliability) --


@pytest.fixture(scope="module")
def fitted_cnn(spectrograms):
    """A tiny CNN on log spectrograms, and held-out spectrograms."""
    X, y, _ = spectrograms
    X = np.log10(X + 1e-6).astype(np.float32)
    return tiny_classifier(random_state=0).fit(X[:200], y[:200]), X, y


@pytest.mark.slow
def test_classifier_casts_any_numeric_dtype_to_float32(fitted_cnn):
    clf, X, y = fitted_cnn
    test = X[200:260]
    reference = clf.predict_proba(test)
    np.testing.assert_array_equal(clf.predict_proba(test.astype(np.float64)), reference)
    whole = np.round(test).astype(np.int32)
    np.testing.assert_array_equal(
        clf.predict_proba(whole), clf.predict_proba(whole.astype(np.float32))
    )
    # Training on float64 trains on the same float32 values: the same model.
    again = tiny_classifier(random_state=0).fit(X[:200].astype(np.float64), y[:200])
    np.testing.assert_array_equal(again.predict_proba(test), reference)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_empty_input_at_prediction(raw_pipeline, fitted_cnn, method):
    pipe, _ = raw_pipeline
    clf, _, _ = fitted_cnn
    with pytest.raises(ValueError, match=r"0 sample\(s\).*EpochSpectrogram"):
        getattr(pipe, method)(EMPTY_RAW)
    with pytest.raises(ValueError, match=r"0 sample\(s\).*SleepStageCNNClassifier"):
        getattr(clf, method)(EMPTY_SPEC)
    with pytest.raises(ValueError, match=r"X holds no epochs \(shape \(0, 3000\)\)"):
        predict_out_of_core(pipe, EMPTY_RAW, method=method)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(3009), "Expected 2D array, got 1D array"),
        (np.full((2, 3009), "a"), "could not convert string to float"),
        (np.zeros((2, 3009), dtype=complex), "Complex data not supported"),
        (np.full((2, 3009), np.inf), "Input X contains infinity"),
        (np.full((2, 3009), np.nan), "Input X contains NaN"),
    ],
)
def test_bad_spectrograms_at_prediction(fitted_cnn, X, match):
    clf, _, _ = fitted_cnn
    with pytest.raises(ValueError, match=match):
        clf.predict(X)
    with pytest.raises(ValueError, match=match):
        fitted_scaler().transform(X)


def test_single_class_training_set(spectrograms):
    X, _, _ = spectrograms
    one_class = np.full(20, 2)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        ClassBalancer(n_per_class=4).fit_resample(X[:20], one_class)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        make_pipeline(n_per_class=5, classifier=tiny_classifier()).fit(
            X[:20], one_class
        )
    # Balancing off still runs imbalanced-learn's target checks.
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        make_pipeline(n_per_class=None, classifier=tiny_classifier()).fit(
            X[:20], one_class
        )
    with pytest.raises(ValueError, match=r"at least 2 classes .*1 class: \[2\]"):
        tiny_classifier().fit(X[:20], one_class)


@pytest.mark.slow
def test_unseen_labels_at_pipeline_score(fitted_cnn):
    clf, X, y = fitted_cnn
    pipe = make_pipeline(n_per_class=None, scaler="passthrough", classifier=clone(clf))
    pipe.fit(X[:100], y[:100])
    with pytest.raises(ValueError, match=r"labels never seen in fit: \[7\]"):
        pipe.score(X[:3], np.array([0, 2, 7]))


# -- TensorFlow op determinism (reliability) -----------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    "TF_DETERMINISTIC_OPS" in os.environ, reason="determinism asked for globally"
)
def test_seeded_fit_leaves_tensorflow_op_determinism_off(spectrograms):
    """scikeras switched it on for good after the first seeded fit of a process,
    and any later fit with random_state=None then failed ("Random ops require a
    seed to be set when determinism is enabled")."""
    config = pytest.importorskip("tensorflow.python.framework.config")
    X, y, _ = spectrograms
    tiny_classifier(random_state=0, epochs=1).fit(X[:60], y[:60])
    assert not config.is_op_determinism_enabled()
    assert "TF_DETERMINISTIC_OPS" not in os.environ
    unseeded = tiny_classifier(random_state=None, epochs=1).fit(X[:60], y[:60])
    assert unseeded.predict(X[:5]).shape == (5,)
