"""The large-batch training recipe: LinearWarmup, learning-rate scaling and
warm-up in SleepStageCNNClassifier, the "gpu_fast" preset (issue 19)."""

import math
import pickle

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skdreamy import load, make_pipeline, save
from skdreamy.models import LinearWarmup
from skdreamy.pipeline import PRESETS
from tests.conftest import tiny_classifier

rates = st.floats(1e-6, 1.0, allow_nan=False, allow_infinity=False)


def _values(schedule, steps):
    return np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in steps])


# -- the schedule itself --


@settings(max_examples=30, deadline=None)
@given(
    target=rates,
    warmup_steps=st.integers(1, 500),
    initial_fraction=st.floats(0.0, 1.0),
)
def test_warmup_starts_at_initial_and_reaches_the_target_exactly(
    target, warmup_steps, initial_fraction
):
    initial = target * initial_fraction
    schedule = LinearWarmup(target, warmup_steps, initial_learning_rate=initial)
    first, at_end, later = _values(schedule, [0, warmup_steps, 10 * warmup_steps])
    # float32 subnormals (below ~1.2e-38) may be flushed to zero by the CPU's
    # kernels (Hypothesis found 5.9e-39 -> 0.0): equal up to that.
    tiny = float(np.finfo(np.float32).tiny)
    assert first == pytest.approx(np.float32(initial), rel=1e-6, abs=tiny)
    # Exactly the target (as float32, the optimizer's dtype) from the end on.
    assert at_end == np.float32(target) and later == np.float32(target)
    # Linear in between, never above the target.
    ramp = _values(schedule, range(warmup_steps + 1))
    expected = initial + (target - initial) * np.arange(warmup_steps + 1) / warmup_steps
    np.testing.assert_allclose(ramp, expected, rtol=1e-5, atol=1e-12)
    assert np.all(np.diff(ramp) >= 0) and ramp.max() <= np.float32(target)


def test_warmup_from_zero_and_without_warmup():
    schedule = LinearWarmup(0.004, warmup_steps=4)
    np.testing.assert_allclose(
        _values(schedule, range(6)), [0, 0.001, 0.002, 0.003, 0.004, 0.004], rtol=1e-6
    )
    constant = LinearWarmup(0.004, warmup_steps=0)
    assert set(_values(constant, [0, 1, 100]).tolist()) == {float(np.float32(0.004))}


def test_config_round_trip_gives_the_same_rates():
    schedule = LinearWarmup(0.0028284271247461905, 117, initial_learning_rate=1e-3)
    steps = [0, 1, 58, 116, 117, 1000]
    again = LinearWarmup.from_config(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    np.testing.assert_array_equal(_values(again, steps), _values(schedule, steps))
    # Keras' own (de)serialisation, as in a saved optimizer: the registered name.
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, LinearWarmup)
    np.testing.assert_array_equal(_values(restored, steps), _values(schedule, steps))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.0, 10), "learning_rate must be a number > 0"),
        ((-1e-3, 10), "learning_rate must be a number > 0"),
        ((float("nan"), 10), "learning_rate must be a number > 0"),
        (("0.001", 10), "learning_rate must be a number > 0"),
        ((1e-3, -1), "warmup_steps must be an integer >= 0"),
        ((1e-3, 2.5), "warmup_steps must be an integer >= 0"),
        ((1e-3, True), "warmup_steps must be an integer >= 0"),
        ((1e-3, 10, -0.1), "initial_learning_rate must be a number >= 0"),
    ],
)
def test_bad_schedule_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        LinearWarmup(*args)


def test_an_optimizer_follows_the_schedule_step_by_step():
    schedule = LinearWarmup(0.01, warmup_steps=3)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    weight = keras.Variable(np.ones(2, dtype="float32"))
    seen = []
    for _ in range(5):
        seen.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
        optimizer.apply_gradients([(keras.ops.ones(2), weight)])
    np.testing.assert_allclose(seen, [0.0, 0.01 / 3, 0.02 / 3, 0.01, 0.01], rtol=1e-6)


# -- the classifier's parameters --


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"learning_rate_scaling": "cube"}, "learning_rate_scaling"),
        ({"learning_rate_scaling": True}, "learning_rate_scaling"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"warmup_epochs": "3"}, "warmup_epochs"),
        ({"warmup_epochs": None}, "warmup_epochs"),
    ],
)
def test_bad_recipe_parameters_raise_at_fit(params, name):
    X = np.zeros((8, 51 * 59), dtype=np.float32)
    with pytest.raises(InvalidParameterError, match=name):
        tiny_classifier(**params).fit(X, np.arange(8) % 2)


def test_recipe_parameters_are_estimator_parameters():
    clf = tiny_classifier(learning_rate_scaling="sqrt", warmup_epochs=1.5)
    params = clone(clf).get_params()
    assert params["learning_rate_scaling"] == "sqrt"
    assert params["warmup_epochs"] == 1.5
    defaults = tiny_classifier().get_params()
    assert defaults["learning_rate_scaling"] is None
    assert defaults["warmup_epochs"] == 0


def _lr_of(clf):
    """The optimizer's learning rate (a schedule, or its value) after fit."""
    optimizer = clf.model_.optimizer
    rate = optimizer._learning_rate
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return rate
    return float(keras.ops.convert_to_numpy(rate))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scaling", "expected"),
    [(None, 1e-3), ("sqrt", 1e-3 * math.sqrt(4)), ("linear", 1e-3 * 4)],
)
def test_learning_rate_scales_with_the_batch_size(spectrograms, scaling, expected):
    X, y, _ = spectrograms
    clf = tiny_classifier(batch_size=64, epochs=1, learning_rate_scaling=scaling).fit(
        X[:128], y[:128]
    )
    assert _lr_of(clf) == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_warmup_counts_the_training_steps_and_ends_at_the_target(spectrograms):
    X, y, _ = spectrograms
    X = X / X.max()
    # 120 distinct epochs, 20 % held out for validation: 96 train, batch 32
    # -> 3 steps per epoch; 1.5 warm-up epochs -> round(4.5) = 4 steps.
    clf = tiny_classifier(
        batch_size=32,
        epochs=3,
        learning_rate_scaling="linear",
        warmup_epochs=1.5,
        validation_fraction=0.2,
    ).fit(X[:120], y[:120])
    schedule = _lr_of(clf)
    assert isinstance(schedule, LinearWarmup)
    assert schedule.warmup_steps == 4
    assert schedule.initial_learning_rate == 0.0
    assert schedule.learning_rate == pytest.approx(1e-3 * 32 / 16)
    optimizer = clf.model_.optimizer
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 9
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == np.float32(
        2e-3
    )
    # partial_fit trains on with the same warm-up (and step count).
    clf.partial_fit(X[:120], y[:120])
    assert _lr_of(clf).get_config() == schedule.get_config()
    assert int(keras.ops.convert_to_numpy(clf.model_.optimizer.iterations)) == 12


@pytest.mark.slow
def test_defaults_train_as_before(spectrograms):
    """The default parameters are today's training: a constant Adam rate of
    1e-3, no schedule; the scaling at batch 16 and a warm-up of 0 epochs are
    the same training bit for bit, and a warm-up does change it."""
    X, y, _ = spectrograms
    X = X / X.max()
    train, test = (X[:160], y[:160]), X[160:260]

    def proba(**params):
        clf = tiny_classifier(batch_size=16, epochs=2, **params).fit(*train)
        return clf, clf.predict_proba(test)

    clf, default = proba()
    assert _lr_of(clf) == pytest.approx(1e-3, rel=1e-7)
    assert not isinstance(
        clf.model_.optimizer._learning_rate,
        keras.optimizers.schedules.LearningRateSchedule,
    )
    explicit = proba(learning_rate=1e-3, learning_rate_scaling=None, warmup_epochs=0)
    np.testing.assert_array_equal(explicit[1], default)
    at_16 = proba(learning_rate_scaling="sqrt")  # sqrt(16 / 16) = 1
    np.testing.assert_array_equal(at_16[1], default)
    warmed = proba(warmup_epochs=1)
    assert isinstance(_lr_of(warmed[0]), LinearWarmup)
    assert not np.array_equal(warmed[1], default)


@pytest.mark.slow
def test_warmup_is_reproducible_and_survives_pickle_clone_and_save(
    spectrograms, tmp_path
):
    X, y, _ = spectrograms
    X = X / X.max()
    params = dict(batch_size=64, learning_rate_scaling="sqrt", warmup_epochs=1)
    clf = tiny_classifier(**params).fit(X[:200], y[:200])
    proba = clf.predict_proba(X[200:])
    again = tiny_classifier(**params).fit(X[:200], y[:200]).predict_proba(X[200:])
    np.testing.assert_array_equal(again, proba)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X[200:]), proba)
    assert _lr_of(restored).get_config() == _lr_of(clf).get_config()
    loaded = load(save(clf, tmp_path / "warm.skdreamy"))
    np.testing.assert_array_equal(loaded.predict_proba(X[200:]), proba)
    assert isinstance(_lr_of(loaded), LinearWarmup)
    assert clone(clf).get_params() == clf.get_params()


# -- the preset --


def test_gpu_fast_preset_is_the_reference_with_larger_batches():
    reference = make_pipeline().get_params()
    fast = make_pipeline(preset="gpu_fast").get_params()
    assert fast.keys() == reference.keys()
    changed = {key for key in fast if repr(fast[key]) != repr(reference[key])}
    changed -= {"classify", "scale", "balance", "steps"}
    assert changed == {
        "classify__batch_size",
        "classify__learning_rate_scaling",
        "classify__warmup_epochs",
    }
    assert (fast["classify__batch_size"], fast["classify__warmup_epochs"]) == (128, 3)
    assert PRESETS["gpu_fast"]["n_per_class"] == 1000


@pytest.mark.slow
def test_gpu_fast_preset_trains(spectrograms):
    X, y, _ = spectrograms
    pipe = make_pipeline(preset="gpu_fast", n_per_class=30, random_state=0)
    pipe.set_params(classify__epochs=1).fit(X[:400], y[:400])
    schedule = _lr_of(pipe["classify"])
    assert isinstance(schedule, LinearWarmup)
    # 150 balanced epochs, batch 128 -> 2 steps per epoch, 3 epochs -> 6 steps.
    assert schedule.warmup_steps == 6
    assert schedule.learning_rate == pytest.approx(1e-3 * math.sqrt(8))
    assert pipe.predict(X[400:450]).shape == (50,)
