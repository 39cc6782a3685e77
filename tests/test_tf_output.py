"""TensorFlow's harmless output is silenced, and nothing else (skdreamy._tf_output)."""

import logging
import os
import warnings

import pytest

from skdreamy._tf_output import filtered_stderr, is_harmless, quiet_retracing

# Lines as TensorFlow 2.21 prints them (issue 15).
HARMLESS = [
    "WARNING: All log messages before absl::InitializeLog() is called are written "
    "to STDERR",
    "I0000 00:00:1796217462.268171    5822 port.cc:153] oneDNN custom operations are "
    "on. You may see slightly different numerical results due to floating-point "
    "round-off errors from different computation orders. To turn them off, set the "
    "environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796217629.592336    8868 cpu_feature_guard.cc:227] This TensorFlow "
    "binary is optimized to use available CPU instructions in performance-critical "
    "operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, "
    "in other operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796217498.017513    5822 node_def_util.cc:682] NodeDef mentions "
    "attribute use_unbounded_threadpool which is not in the op definition: "
    "Op<name=MapDataset; signature=input_dataset:variant>",
]
KEPT = [
    "E0000 00:00:1796217498.017513    5822 bfc_allocator.cc:1] Out of memory",
    "I0000 00:00:17.5 12 port.cc:153] something else",
    "Epoch 1/3: 100%|##########| 4/4",
    "skdreamy train: error: no nights found",
]


@pytest.mark.parametrize("line", HARMLESS)
def test_known_harmless_lines(line):
    assert is_harmless(line)


@pytest.mark.parametrize("line", KEPT)
def test_everything_else_is_kept(line):
    assert not is_harmless(line)


def test_filtered_stderr_drops_exactly_the_harmless_lines(capfd):
    with filtered_stderr():
        for line in [*HARMLESS, *KEPT]:
            os.write(2, (line + "\n").encode())
        os.write(2, b"\rprogress 50%")  # no newline: passed on at once
    assert capfd.readouterr().err == "\n".join(KEPT) + "\n\rprogress 50%"


def test_default_log_level_only_when_unset_and_before_tensorflow(monkeypatch):
    import sys

    from skdreamy._tf_output import default_log_level

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    default_log_level()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's choice stays
    default_log_level()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.setitem(sys.modules, "tensorflow", object())
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    default_log_level()  # too late to matter: left alone
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


def _retracing_record(function):
    return logging.LogRecord(
        "tensorflow",
        logging.WARNING,
        __file__,
        1,
        "5 out of the last 5 calls to <function %s at 0x7f> triggered tf.function "
        "retracing. Tracing is expensive ...",
        (function,),
        None,
    )


def test_quiet_retracing_drops_only_keras_trainer_functions():
    logger = logging.getLogger("tensorflow")
    ours = _retracing_record("TensorFlowTrainer.make_predict_function.<locals>.f")
    users = _retracing_record("my_model_step")
    with quiet_retracing():
        with quiet_retracing():  # nested (threads): still on after the inner one
            pass
        assert not logger.filter(ours)
        assert logger.filter(users)
    assert logger.filter(ours)  # off again


def _two_predictions(estimator, X, y):
    """A scorer that predicts twice, on inputs of two sizes: each fold's model
    traces its predict function twice."""
    from sklearn.metrics import accuracy_score

    estimator.predict_proba(X[:-1])
    return accuracy_score(y, estimator.predict(X))


@pytest.mark.slow
def test_no_retracing_warning_in_a_3_fold_cross_val_score():
    """Three folds, two traced input shapes each: TensorFlow counts six traces
    of one function (all Keras models share its code) and warned "6 out of the
    last 6 calls ... triggered tf.function retracing" before
    skdreamy._tf_output (checked by hand with quiet_retracing disabled)."""
    from sklearn.model_selection import cross_val_score

    from skdreamy.datasets import make_sleep_epochs
    from tests.conftest import tiny_raw_pipeline

    X, y = make_sleep_epochs(300, random_state=0)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cross_val_score(tiny_raw_pipeline(), X, y, cv=3, scoring=_two_predictions)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records] + [str(w.message) for w in caught]
    assert not [m for m in messages if "retracing" in m], messages
