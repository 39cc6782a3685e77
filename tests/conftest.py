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
from hypothesis import HealthCheck
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

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


def write_night(path, n=None, *, seed=0, compressed=True, **override):
    """Write one night in the ``.npz`` night format (see ``load_nights``).

    Random EEG ``x`` (``n`` epochs, default 3) and stages ``y`` with every
    optional array; ``override`` replaces arrays (``x=...``, ``y=...``,
    ``subject=...``) or, with ``None``, leaves them out. The one writer of
    night files for the tests."""
    rng = np.random.default_rng(seed)
    if n is None:
        n = len(override["x"]) if override.get("x") is not None else 3
    arrays = {
        "x": rng.normal(scale=20, size=(n, 3000)).astype(np.float32),
        "y": rng.integers(0, 5, n).astype(np.int8),
        "subject": np.array(f"subject{seed}"),
        "channel": np.array("C3-A1"),
        "orig_fs": np.array(200),
        "onset_s": (30 * np.arange(n)).astype(np.int32),
        "label_agreement": np.ones(n, dtype=np.float32),
        "dataset": np.array("test"),
    }
    arrays.update(override)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def write_nights(folder, subjects, n_epochs):
    """One night of learnable synthetic EEG (``make_sleep_epochs``) per entry
    of ``subjects`` (repeat a name for a second night): ``night<i>.npz``."""
    from skdreamy.datasets import make_sleep_epochs

    for i, subject in enumerate(subjects):
        x, y = make_sleep_epochs(n_epochs, random_state=i)
        write_night(
            Path(folder) / f"night{i}.npz",
            x=x.astype(np.float32),
            y=y.astype(np.int8),
            subject=np.array(subject),
            seed=i,
        )
    return Path(folder)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- helpers of the reliability tests used by several test files -------------------
# Bad input, and properties for any valid input (issue 10).

EMPTY_RAW = np.zeros((0, 3000))
EMPTY_SPEC = np.zeros((0, 3009))

# Hypothesis settings for tests that use function-scoped fixtures.
FIXTURES = dict(suppress_health_check=[HealthCheck.function_scoped_fixture])

numeric_dtypes = st.sampled_from([np.int16, np.int32, np.int64, np.float32, np.float64])


def any_rows(n):
    """Any non-empty selection of ``n`` rows, in any order, repeats allowed."""
    return st.lists(st.integers(0, n - 1), min_size=1, max_size=2 * n)


def lr_raw_pipeline(**params):
    """A raw-epoch pipeline with a cheap final step."""
    from skdreamy import make_pipeline

    return make_pipeline(
        raw=True,
        n_per_class=10,
        classifier=LogisticRegression(max_iter=300),
        random_state=0,
        **params,
    )


def fitted_scaler():
    """A SpectrogramScaler fitted on 5 random (51*59) spectrograms."""
    from skdreamy import SpectrogramScaler

    return SpectrogramScaler().fit(np.random.default_rng(0).random((5, 3009)))


@pytest.fixture(scope="module")
def raw_pipeline(raw_epochs):
    """:func:`lr_raw_pipeline` fitted on 200 raw epochs, and 60 more epochs."""
    X, y, _ = raw_epochs
    return lr_raw_pipeline().fit(X[:200], y[:200]), X[200:260]


@pytest.fixture(scope="module")
def lr_pipeline(raw_epochs):
    """A raw-epoch LogisticRegression pipeline fitted on 300 raw epochs, and
    the 300 others."""
    from skdreamy import make_pipeline

    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True,
        n_per_class=30,
        classifier=LogisticRegression(max_iter=500),
        random_state=0,
    ).fit(X[:300], y[:300])
    return pipe, X[300:]


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


_SHELLS = {"bash", "sh", "dash", "zsh"}


@contextlib.contextmanager
def _quick_tier_guard():
    popen_init = subprocess.Popen.__init__

    def popen(self, args, *rest, **kwargs):
        program = args[0] if isinstance(args, (list, tuple)) else args
        name = os.path.basename(str(program))
        if name.startswith("python") or name in _SHELLS:
            _refuse(f"starts a process ({name})")()
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
    """Slow without a marker of their own: docstring examples (``skdreamy/``)
    that train a CNN, and tests parametrized with a ``SleepStageCNNClassifier``
    (scikit-learn's estimator checks fit it)."""
    from skdreamy import SleepStageCNNClassifier

    for item in items:
        test = getattr(item, "dtest", None)
        if test is not None:
            source = "".join(example.source for example in test.examples)
            if "SleepStageCNNClassifier(" in source and "fit" in source:
                item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(
            isinstance(value, SleepStageCNNClassifier)
            for value in callspec.params.values()
        ):
            item.add_marker(pytest.mark.slow)
