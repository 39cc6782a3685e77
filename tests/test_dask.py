"""Grid searches and cross-validation on a real Dask cluster (loopback only).

The cluster has two worker *processes*, so every estimator crosses a process
boundary both ways (pickled by Dask/cloudpickle): unfitted pipelines go out,
fold scores and, with ``return_estimator=True``, fitted Keras models come
back. The results must equal the local ``n_jobs=1`` run bit for bit.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

import skdreamy
from skdreamy import make_pipeline
from skdreamy.cluster import SHARED_GPU_ENV, gpu_cluster, gpu_worker_env, visible_gpus
from tests.conftest import thread_count_independent, tiny_classifier

distributed = pytest.importorskip("distributed")

TIMEOUT = 60  # seconds, for every start, connection and shutdown
# Two grid points, each setting a parameter of two steps (4 fits with 2 folds).
GRID = [
    {"balance__n_per_class": [15], "classify__dropout": [0.2]},
    {"balance__n_per_class": [30], "classify__dropout": [0.5]},
]


@pytest.fixture(scope="module", autouse=True)
def _restore_environment():
    """Starting Dask workers sets OMP_NUM_THREADS=1 (and the like) in this
    process' environment; later tests' child processes would inherit it (torch
    then trains with one thread, which rounds differently). Put it back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _skdreamy_file():
    return skdreamy.__file__


@pytest.fixture(scope="module")
def dask_client(request, tmp_path_factory):
    """A LocalCluster of 2 single-threaded worker processes on 127.0.0.1."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP server: any port
        local_directory=str(tmp_path_factory.mktemp("dask")),
        death_timeout=TIMEOUT,
    )
    client = distributed.Client(cluster, timeout=TIMEOUT)

    def shut_down():
        client.close(timeout=TIMEOUT)
        cluster.close(timeout=TIMEOUT)

    request.addfinalizer(shut_down)
    client.wait_for_workers(2, timeout=TIMEOUT)
    # The workers must run this checkout's skdreamy, or comparing is moot.
    assert set(client.run(_skdreamy_file).values()) == {skdreamy.__file__}
    return client


@pytest.fixture(scope="module")
def data(spectrograms):
    X, y, _ = spectrograms
    return X[::2], y[::2]


def _search():
    return GridSearchCV(
        make_pipeline(classifier=tiny_classifier(epochs=1), random_state=0),
        GRID,
        scoring="f1_micro",
        cv=2,
        refit=False,  # the refit runs in this process either way
        n_jobs=-1,
    )


@pytest.mark.slow
def test_grid_search_on_dask_equals_local_run(dask_client, data):
    X, y = data
    local = _search().set_params(n_jobs=1).fit(X, y)
    with (
        distributed.get_task_stream(dask_client) as tasks,
        joblib.parallel_config(backend="dask", wait_for_workers_timeout=TIMEOUT),
    ):
        remote = _search().fit(X, y)
    # The fits ran on both worker processes, not in this one.
    workers = {task["worker"] for task in tasks.data}
    assert workers == set(dask_client.scheduler_info()["workers"])
    for key in (
        "split0_test_score",
        "split1_test_score",
        "mean_test_score",
        "rank_test_score",
    ):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    assert len(set(local.cv_results_["mean_test_score"])) > 1  # the grid matters


@pytest.mark.slow
@thread_count_independent
def test_cross_validate_on_dask_returns_the_local_fitted_models(dask_client, data):
    X, y = data
    pipe = make_pipeline(
        n_per_class=30, classifier=tiny_classifier(epochs=2), random_state=0
    )
    kwargs = dict(cv=2, scoring="f1_micro", return_estimator=True)
    local = cross_validate(pipe, X, y, n_jobs=1, **kwargs)
    with joblib.parallel_config(backend="dask", wait_for_workers_timeout=TIMEOUT):
        remote = cross_validate(pipe, X, y, n_jobs=-1, **kwargs)
    np.testing.assert_array_equal(remote["test_score"], local["test_score"])
    # Fitted Keras models came back from the worker processes intact.
    for theirs, ours in zip(remote["estimator"], local["estimator"], strict=True):
        np.testing.assert_array_equal(
            theirs.predict_proba(X[:50]), ours.predict_proba(X[:50])
        )
        assert theirs["classify"].history_ == ours["classify"].history_


@pytest.fixture
def no_growth_flag(monkeypatch):
    """Keras sets TF_FORCE_GPU_ALLOW_GROWTH=true in os.environ on import under
    any backend but TensorFlow; start from an environment without it."""
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)


@pytest.mark.slow
def test_gpu_cluster_gives_each_worker_its_own_gpu(no_growth_flag):
    # No GPU needed: the test checks the environment each worker process has.
    with (
        gpu_cluster(gpus=["0", "1"], env={"KERAS_BACKEND": "tensorflow"}) as cluster,
        distributed.Client(cluster, timeout=TIMEOUT) as client,
    ):
        client.wait_for_workers(2, timeout=TIMEOUT)
        info = client.scheduler_info()["workers"]
        gpus = client.run(os.getenv, "CUDA_VISIBLE_DEVICES")
        growth = client.run(os.getenv, "TF_FORCE_GPU_ALLOW_GROWTH")
        keras_backend = client.run(os.getenv, "KERAS_BACKEND")
    assert {info[address]["name"]: gpu for address, gpu in gpus.items()} == {
        "gpu0": "0",
        "gpu1": "1",
    }
    assert {w["nthreads"] for w in info.values()} == {1}
    assert set(growth.values()) == {None}  # one worker per GPU: no sharing
    assert set(keras_backend.values()) == {"tensorflow"}


def test_gpu_worker_env_shares_a_gpu_only_with_growth_enabled():
    assert gpu_worker_env(["1", "0"]) == {
        "gpu1": {"CUDA_VISIBLE_DEVICES": "1"},
        "gpu0": {"CUDA_VISIBLE_DEVICES": "0"},
    }
    shared = gpu_worker_env([3], workers_per_gpu=2)
    assert shared == {
        "gpu3-0": {"CUDA_VISIBLE_DEVICES": "3", **SHARED_GPU_ENV},
        "gpu3-1": {"CUDA_VISIBLE_DEVICES": "3", **SHARED_GPU_ENV},
    }


@pytest.mark.parametrize(
    ("gpus", "per_gpu", "match"),
    [
        ([], 1, "gpus is empty"),
        (["0", "0"], 1, "twice"),
        (["0"], 0, r"workers_per_gpu.* range \[1, inf\)"),
    ],
)
def test_gpu_worker_env_errors(gpus, per_gpu, match):
    with pytest.raises(ValueError, match=match):
        gpu_worker_env(gpus, workers_per_gpu=per_gpu)


def test_visible_gpus(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1, 3")
    assert visible_gpus() == ["1", "3"]
    for none in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", none)
        assert visible_gpus() == []
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert visible_gpus() == []
    with pytest.raises(ValueError, match="No NVIDIA GPU is visible"):
        gpu_cluster()


SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dask_gpu_workers.sh"


@pytest.mark.slow
@pytest.mark.skipif(
    sys.platform == "win32" or shutil.which("bash") is None, reason="needs bash"
)
@pytest.mark.parametrize(
    ("visible", "per_gpu", "expected"),
    [
        (None, "1", [("0", "", "gpu0"), ("1", "", "gpu1")]),
        ("5", "2", [("5", "true", "gpu5-0"), ("5", "true", "gpu5-1")]),
    ],
)
def test_worker_script_starts_one_worker_per_gpu(
    tmp_path, no_growth_flag, visible, per_gpu, expected
):
    # Stand-ins for nvidia-smi (two GPUs) and `dask worker` (logs its setup).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "workers.log"
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    (bin_dir / "dask").write_text(
        "#!/bin/sh\n"
        'echo "$CUDA_VISIBLE_DEVICES|${TF_FORCE_GPU_ALLOW_GROWTH:-}|$*" >> "$LOG"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", LOG=str(log))
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    subprocess.run(
        ["bash", str(SCRIPT), "tcp://127.0.0.1:8786", per_gpu],
        env=env,
        check=True,
        timeout=TIMEOUT,
    )
    started = []
    for line in sorted(log.read_text().splitlines()):
        gpu, growth, args = line.split("|")
        args = args.split()
        assert args[:6] == [
            "worker",
            "tcp://127.0.0.1:8786",
            "--nworkers",
            "1",
            "--nthreads",
            "1",
        ]
        name = args[args.index("--name") + 1]  # <hostname>-gpu<id>[-<slot>]
        started.append((gpu, growth, "gpu" + name.rsplit("-gpu", 1)[1]))
    assert started == expected
