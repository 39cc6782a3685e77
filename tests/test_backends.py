"""The library on Keras' other backends: JAX and PyTorch, on the CPU.

skdreamy's Keras code is backend-agnostic; these tests prove it for the
backends that are installed (``.ci/run`` installs both; elsewhere a missing
one is skipped). Keras picks its backend once per process, so each check runs
in a child process with ``KERAS_BACKEND`` set: a raw-epoch pipeline is fitted
twice with the same ``random_state`` (bitwise-identical probabilities), once
with another seed (different), saved and loaded (identical), and staged from
the raw epochs of a night (the same probabilities as predicting them).
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

from skdreamy import classifier as classifier_module

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path

    import keras
    import numpy as np

    from skdreamy import SpectrogramScaler, load, make_pipeline, save
    from skdreamy.datasets import make_sleep_epochs
    from skdreamy.staging import stage
    from tests.conftest import tiny_classifier

    X, y = make_sleep_epochs(300, random_state=0)

    def fit(seed):
        pipe = make_pipeline(
            raw=True,
            n_per_class=20,
            scaler=SpectrogramScaler(log=True),
            classifier=tiny_classifier(random_state=seed),
            random_state=seed,
        )
        return pipe.fit(X[:200], y[:200])

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


@pytest.mark.parametrize(
    ("backend", "package", "steps"),
    [
        ("jax", "jax", classifier_module._STEPS_PER_EXECUTION),
        ("torch", "torch", 1),  # Keras' torch trainer allows only 1
    ],
)
def test_pipeline_on_another_backend(backend, package, steps):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed")
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        JAX_PLATFORMS="cpu",
        CUDA_VISIBLE_DEVICES="",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.getenv("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
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
    clf = classifier_module.SleepStageCNNClassifier()
    assert clf._steps_per_execution() == (
        1
        if keras.backend.backend() == "torch"
        else classifier_module._STEPS_PER_EXECUTION
    )
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert clf._steps_per_execution() == 1
