"""Shared fixtures: small data, the real DREAMS excerpts when present."""

import importlib.util
import os
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
