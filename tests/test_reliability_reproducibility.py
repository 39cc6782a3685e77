"""Reliability (issue 10): the same random_state gives the same predictions.

Bit for bit, for the raw-epoch pipeline with the CNN: after pickling, after
skdreamy.save/load, after clone, in a fresh process (fitted there, or loaded
there), and for any n_jobs in cross-validation. On the CPU only; what holds on
a GPU is in tests/README.md. test_classifier.py, test_pipeline.py and
test_persistence.py check the classifier and the spectrogram pipeline the
same way.
"""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_predict

from skdreamy import SpectrogramScaler, load, make_pipeline, save
from skdreamy.metrics import cross_validate_stages
from tests.conftest import thread_count_independent, tiny_classifier

ROOT = Path(__file__).resolve().parents[1]


def _cnn_pipeline():
    return make_pipeline(
        raw=True,
        n_per_class=30,
        scaler=SpectrogramScaler(log=True),
        classifier=tiny_classifier(),
        random_state=0,
    )


@pytest.fixture(scope="module")
def trained(raw_epochs, tmp_path_factory):
    X, y, _ = raw_epochs
    pipe = _cnn_pipeline().fit(X[:300], y[:300])
    path = save(pipe, tmp_path_factory.mktemp("model") / "model.skdreamy")
    return pipe, path, X[300:], pipe.predict_proba(X[300:])


@pytest.mark.slow
def test_pickle_save_load_and_clone_give_identical_predictions(raw_epochs, trained):
    X, y, _ = raw_epochs
    pipe, path, test, expected = trained
    assert np.array_equal(
        pickle.loads(pickle.dumps(pipe)).predict_proba(test), expected
    )
    assert np.array_equal(load(path).predict_proba(test), expected)
    refit = clone(pipe).fit(X[:300], y[:300])
    assert np.array_equal(refit.predict_proba(test), expected)
    # A pickled unfitted pipeline is a clone too.
    copy = pickle.loads(pickle.dumps(_cnn_pipeline())).fit(X[:300], y[:300])
    assert np.array_equal(copy.predict_proba(test), expected)


@pytest.mark.slow
def test_fresh_process_fits_and_loads_identically(trained, tmp_path):
    _, path, _, expected = trained
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from skdreamy import load
        from skdreamy.datasets import make_sleep_epochs
        from tests.test_reliability_reproducibility import _cnn_pipeline
        X, y, _ = make_sleep_epochs(
            600, n_subjects=3, return_groups=True, random_state=0
        )
        np.save(sys.argv[2], load(sys.argv[1]).predict_proba(X[300:]))
        fitted = _cnn_pipeline().fit(X[:300], y[:300])
        np.save(sys.argv[3], fitted.predict_proba(X[300:]))
        """
    )
    loaded, fitted = tmp_path / "loaded.npy", tmp_path / "fitted.npy"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="12345")
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(loaded), str(fitted)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    assert np.array_equal(np.load(loaded), expected)
    assert np.array_equal(np.load(fitted), expected)


@pytest.mark.slow
@thread_count_independent
def test_cross_validation_does_not_depend_on_n_jobs(raw_epochs):
    """Folds fitted in worker processes (joblib's loky) give the same result.

    With the CNN: TensorFlow's results do not depend on the BLAS thread count
    that loky lowers in its workers. (scikit-learn's lbfgs LogisticRegression
    on float32 does: its coefficients differ in the 3rd digit between 1 and 2
    BLAS threads, so it is not used here.)
    """
    X, y, groups = raw_epochs
    X, y, groups = X[::2], y[::2], groups[::2]
    pipe = make_pipeline(
        raw=True,
        n_per_class=20,
        classifier=tiny_classifier(epochs=1),
        random_state=0,
    )
    results = {
        n_jobs: cross_validate_stages(
            pipe, X, y, groups=groups, cv=3, return_proba=True, n_jobs=n_jobs
        )
        for n_jobs in (1, 2)
    }
    np.testing.assert_array_equal(results[1].y_pred, results[2].y_pred)
    np.testing.assert_array_equal(results[1].proba, results[2].proba)
    assert results[1].scores == results[2].scores
    cv = GroupKFold(3)
    serial, parallel = (
        cross_val_predict(pipe, X, y, groups=groups, cv=cv, n_jobs=n_jobs)
        for n_jobs in (1, 2)
    )
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial, results[1].y_pred)


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
