"""The library on Keras' other backends: JAX and PyTorch, on the CPU.

skdreamy's Keras code is backend-agnostic; these tests prove it for the
backends that are installed (``.ci/run`` installs both; elsewhere a missing
one is skipped). Keras picks its backend once per process, so each check runs
in a child process with ``KERAS_BACKEND`` set: a raw-epoch pipeline is fitted
twice with the same ``random_state`` (bitwise-identical probabilities), once
with another seed (different), saved and loaded (identical), and staged from
the raw epochs of a night (the same probabilities as predicting them). A
model saved by this process (TensorFlow in CI) also loads and predicts under
each other backend.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from skdreamy import classifier as classifier_module
from tests.conftest import backend_env, skip_unless_installed

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path

    import keras
    import numpy as np

    from skdreamy import load, save
    from skdreamy.datasets import make_sleep_epochs
    from skdreamy.staging import stage
    from tests.conftest import tiny_raw_pipeline

    X, y = make_sleep_epochs(300, random_state=0)

    def fit(seed):
        return tiny_raw_pipeline(seed).fit(X[:200], y[:200])

    pipe = fit(0)
    proba = pipe.predict_proba(X[200:])
    with tempfile.TemporaryDirectory() as folder:
        path = save(pipe, Path(folder) / "model.skdreamy")
        loaded = load(path).predict_proba(X[200:])
    night = stage(pipe, X[200:])
    print(json.dumps({
        "backend": keras.backend.backend(),
        "steps_per_execution": pipe["classify"].model_.steps_per_execution,
        "same_seed": bool(np.array_equal(proba, fit(0).predict_proba(X[200:]))),
        "other_seed": bool(np.array_equal(proba, fit(1).predict_proba(X[200:]))),
        "loaded": bool(np.array_equal(proba, loaded)),
        "sums_to_one": bool(np.allclose(proba.sum(axis=1), 1, atol=1e-5)),
        "staged": bool(np.array_equal(night.proba, proba)),
    }))
    """
)


LOAD_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from skdreamy import load
    from skdreamy.datasets import make_sleep_epochs

    X, _ = make_sleep_epochs(300, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(sys.argv[1])  # the safe default: no trusted=True
    np.save(sys.argv[2], model.predict_proba(X[200:]))
    np.save(sys.argv[2].replace(".npy", "_labels.npy"), model.predict(X[200:]))
    print(json.dumps(sorted({type(w.message).__name__ for w in caught})))
    """
)


def _run_child(code, backend, *args):
    path = os.pathsep.join(filter(None, [str(ROOT), os.getenv("PYTHONPATH")]))
    env = backend_env(backend, PYTHONPATH=path)
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "package", "steps"),
    [
        ("jax", "jax", classifier_module._STEPS_PER_EXECUTION),
        ("torch", "torch", 1),  # Keras' torch trainer allows only 1
    ],
)
def test_pipeline_on_another_backend(backend, package, steps):
    skip_unless_installed(package)
    result = json.loads(_run_child(CHILD, backend).strip().splitlines()[-1])
    assert result == {
        "backend": backend,
        "steps_per_execution": steps,
        "same_seed": True,
        "other_seed": False,
        "loaded": True,
        "sums_to_one": True,
        "staged": True,
    }


def test_steps_per_execution_is_one_under_torch(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert classifier_module.SleepStageCNNClassifier()._steps_per_execution() == 1


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["compact", "reference"])
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_model_saved_under_this_backend_predicts_under_another(
    backend, architecture, tmp_path
):
    """A model compiled here (``steps_per_execution=32`` under TensorFlow)
    and saved in the safe format (a ``.keras`` network, arrays) loads without
    ``trusted=True`` and predicts under another backend, torch included
    (which allows only 1): the same labels, and the same probabilities up to
    float rounding."""
    skip_unless_installed(backend)
    if keras.backend.backend() == backend:
        pytest.skip(f"this process already runs {backend}")
    from skdreamy import save
    from skdreamy.datasets import make_sleep_epochs
    from tests.conftest import tiny_raw_pipeline

    X, y = make_sleep_epochs(300, random_state=0)
    pipe = tiny_raw_pipeline()
    if architecture == "reference":  # the reference CNN, with a small dense layer
        pipe.set_params(classify__architecture="reference", classify__dense_units=32)
    pipe.fit(X[:200], y[:200])
    path = save(pipe, tmp_path / "model.skdreamy")
    out = tmp_path / "proba.npy"
    warned = json.loads(_run_child(LOAD_CHILD, backend, path, out).splitlines()[-1])
    assert "ModelVersionWarning" in warned  # it says the backend differs
    np.testing.assert_allclose(
        np.load(out), pipe.predict_proba(X[200:]), rtol=1e-4, atol=1e-6
    )
    labels = np.load(out.with_name("proba_labels.npy"))
    np.testing.assert_array_equal(labels, pipe.predict(X[200:]))
