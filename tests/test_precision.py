"""precision="mixed_bfloat16" and steps_per_execution: same contract, faster."""

import keras
import numpy as np
import pytest

import skdreamy.classifier as classifier_module
from skdreamy import build_sleep_cnn
from skdreamy.models import build_compact_cnn
from tests.conftest import tiny_classifier


@pytest.mark.parametrize("build", [build_sleep_cnn, build_compact_cnn])
def test_builders_mixed_bfloat16_compute_in_bf16_with_a_float32_softmax(build):
    model = build(seed=0, precision="mixed_bfloat16")
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(layer.variable_dtype == "float32" for layer in convs)
    assert model.layers[-1].compute_dtype == "float32"
    assert model.count_params() == build(seed=0).count_params()
    x = np.zeros((2, 51 * 59), dtype=np.float32)
    assert model.predict(x, verbose=0).dtype == np.float32


def test_builders_reject_unknown_precision():
    with pytest.raises(ValueError, match=r"precision.* must be a str among"):
        build_sleep_cnn(precision="float16")


def test_classifier_rejects_unknown_precision(spectrograms):
    X, y, _ = spectrograms
    with pytest.raises(ValueError, match="precision"):
        tiny_classifier(precision="int8").fit(X[:50], y[:50])


def test_same_weights_give_close_outputs_in_both_precisions():
    rng = np.random.default_rng(0)
    x = rng.random((8, 51 * 59), dtype=np.float32)
    fp32 = build_sleep_cnn(seed=0).predict(x, verbose=0)
    bf16 = build_sleep_cnn(seed=0, precision="mixed_bfloat16").predict(x, verbose=0)
    np.testing.assert_allclose(bf16, fp32, atol=0.02)  # bfloat16 rounding only


@pytest.mark.slow
def test_mixed_bfloat16_fits_reproducibly(spectrograms):
    X, y, _ = spectrograms
    fit = dict(X=X[:200], y=y[:200])
    a = tiny_classifier(precision="mixed_bfloat16", random_state=3).fit(**fit)
    b = tiny_classifier(precision="mixed_bfloat16", random_state=3).fit(**fit)
    pa, pb = a.predict_proba(X[200:]), b.predict_proba(X[200:])
    assert pa.dtype == np.float32
    assert np.array_equal(pa, pb)  # bitwise reproducible with random_state
    np.testing.assert_allclose(pa.sum(axis=1), 1, rtol=1e-5)
    assert a.model_.get_layer("conv0").compute_dtype == "bfloat16"


@pytest.mark.slow
def test_steps_per_execution_does_not_change_results(spectrograms, monkeypatch):
    X, y, _ = spectrograms
    probas = []
    for steps in (1, classifier_module._STEPS_PER_EXECUTION):
        monkeypatch.setattr(classifier_module, "_STEPS_PER_EXECUTION", steps)
        clf = tiny_classifier(random_state=1, validation_fraction=0.2)
        clf.fit(X[:200], y[:200])
        # Keras' torch backend allows one step per call only.
        torch = keras.backend.backend() == "torch"
        assert clf.model_.steps_per_execution == (1 if torch else steps)
        probas.append((clf.predict_proba(X[200:]), clf.history_))
    (p1, h1), (p2, h2) = probas
    assert np.array_equal(p1, p2)
    assert h1 == h2


def test_builder_default_follows_the_global_dtype_policy():
    import keras

    old = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_sleep_cnn(seed=0)
        pinned = build_sleep_cnn(seed=0, precision="float32")
    finally:
        keras.config.set_dtype_policy(old)
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"
    assert pinned.get_layer("conv1").compute_dtype == "float32"
    assert build_sleep_cnn(seed=0).get_layer("conv1").compute_dtype == "float32"
