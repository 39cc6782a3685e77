"""Shared fixtures: small data, the real DREAMS excerpts when present; the
rule of the test tiers."""

import contextlib
import importlib.util
import multiprocessing.process
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # after TF_CPP_MIN_LOG_LEVEL, so that TensorFlow starts quiet

# A Keras backend other than this process' one, for "saved elsewhere" headers.
OTHER_BACKEND = "tensorflow" if keras.backend.backend() == "jax" else "jax"

# Bitwise equality between processes with different thread counts (n_jobs
# workers, Dask workers and loky run one thread) holds on TensorFlow and JAX
# (CPU); torch's CPU kernels round differently with another thread count
# (within ~1e-7; measured, see docs/user_guide/reproducibility.rst).
thread_count_independent = pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="torch's CPU training depends on its thread count (last bit)",
)

SHARED_DATA = Path(
    os.environ.get(
        "SKDREAMY_DATA",
        Path(__file__).resolve().parents[1] / ".." / "shared" / "data",
    )
).resolve()


@pytest.fixture(scope="session")
def shared_data_dir():
    """The folder of real DREAMS excerpts; skips the test when absent."""
    if not any(SHARED_DATA.glob("*.npz")):
        pytest.skip(f"real EEG excerpts not found in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def raw_epochs():
    """600 synthetic raw epochs (n, 3000) with labels, from 3 subjects."""
    from skdreamy.datasets import make_sleep_epochs

    return make_sleep_epochs(600, n_subjects=3, return_groups=True, random_state=0)


@pytest.fixture(scope="session")
def spectrograms(raw_epochs):
    """Spectrograms (n, 51*59) of ``raw_epochs`` and their labels and groups."""
    from skdreamy import EpochSpectrogram

    X, y, groups = raw_epochs
    return EpochSpectrogram().fit_transform(X), y, groups


def tiny_classifier(**params):
    """A compact CNN that trains in about a second, for pipeline tests."""
    from skdreamy import SleepStageCNNClassifier

    defaults = dict(
        architecture="compact", dense_units=0, epochs=2, batch_size=32, random_state=0
    )
    defaults.update(params)
    return SleepStageCNNClassifier(**defaults)


def skip_unless_installed(package):
    """Skip the calling test when ``package`` is not installed (not imported)."""
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed")


def backend_env(backend, **extra):
    """This process' environment for a child running Keras on ``backend``
    (CPU only), plus ``extra`` variables."""
    return dict(
        os.environ,
        KERAS_BACKEND=backend,
        JAX_PLATFORMS="cpu",
        CUDA_VISIBLE_DEVICES="",
        **extra,
    )


def tiny_raw_pipeline(random_state=0, n_per_class=20):
    """Raw epochs -> log spectrogram -> balancing -> :func:`tiny_classifier`."""
    from skdreamy import SpectrogramScaler, make_pipeline

    return make_pipeline(
        raw=True,
        n_per_class=n_per_class,
        scaler=SpectrogramScaler(log=True),
        classifier=tiny_classifier(random_state=random_state),
        random_state=random_state,
    )


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- test tiers ------------------------------------------------------------------
# ``python -m pytest -m "not slow"`` is the quick check; CI runs everything. A
# test that trains a CNN or starts a process belongs to the slow tier, and
# this is enforced: outside tests marked ``slow`` (their setup included),
# ``keras.Model.fit``, starting a Python subprocess and starting a
# multiprocessing process (loky, Dask) fail with SlowTestNotMarked.


class SlowTestNotMarked(AssertionError):
    """A test of the quick tier trained a CNN or started a process."""


def _refuse(what):
    def refuse(*args, **kwargs):
        raise SlowTestNotMarked(
            f"this test {what}: mark it @pytest.mark.slow (see tests/conftest.py)"
        )

    return refuse


@contextlib.contextmanager
def _quick_tier_guard():
    popen_init = subprocess.Popen.__init__

    def popen(self, args, *rest, **kwargs):
        program = args[0] if isinstance(args, (list, tuple)) else args
        if os.path.basename(str(program)).startswith("python"):
            _refuse("starts a Python process")()
        popen_init(self, args, *rest, **kwargs)

    saved = [
        (keras.Model, "fit", keras.Model.fit),
        (subprocess.Popen, "__init__", popen_init),
        (
            multiprocessing.process.BaseProcess,
            "start",
            multiprocessing.process.BaseProcess.start,
        ),
    ]
    keras.Model.fit = _refuse("trains a Keras model")
    subprocess.Popen.__init__ = popen
    multiprocessing.process.BaseProcess.start = _refuse("starts a process")
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def _is_slow(item):
    return item.get_closest_marker("slow") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if _is_slow(item):
        return (yield)
    with _quick_tier_guard():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if _is_slow(item):
        return (yield)
    with _quick_tier_guard():
        return (yield)


def pytest_collection_modifyitems(config, items):
    """Docstring examples that train a CNN (in ``skdreamy/``) are slow too."""
    for item in items:
        test = getattr(item, "dtest", None)
        if test is None:
            continue
        source = "".join(example.source for example in test.examples)
        if "SleepStageCNNClassifier(" in source and "fit" in source:
            item.add_marker(pytest.mark.slow)
