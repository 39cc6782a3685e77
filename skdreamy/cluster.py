"""Dask clusters for grid searches over CNNs: one worker process per GPU.

``GridSearchCV`` and ``cross_val_score`` run on Dask through joblib's dask
backend; nothing here is needed for that (see "Scaling out: Dask clusters
and data on disk" in the user guide). What Dask does not do by itself is
keep folds apart on GPUs: every worker process sees every GPU, and Keras
puts its model on the first one, so all folds pile onto GPU 0. The fix is
one worker process per GPU, each started with its own
``CUDA_VISIBLE_DEVICES``, and one thread per worker (one fit at a time).
:func:`gpu_cluster` starts such a cluster on this machine;
``scripts/dask_gpu_workers.sh`` starts the workers of a multi-machine one.

The module imports without Dask; :func:`gpu_cluster` needs
``dask[distributed]`` (``pip install "skdreamy[dask]"``) and says so when it
is missing.
"""

import logging
import os
import shutil
import subprocess
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions, validate_params

#: Variables that let several processes share one GPU: TensorFlow and JAX
#: otherwise reserve (almost) all of its memory in the first process.
SHARED_GPU_ENV = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


def visible_gpus():
    """The NVIDIA GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` ids.

    ``CUDA_VISIBLE_DEVICES`` when it is set (an empty value or ``-1`` means
    none), otherwise the indices ``nvidia-smi`` lists; an empty list when
    there is no GPU or no driver.

    Returns
    -------
    gpus : list of str
        GPU indices (or UUIDs), in order.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> from skdreamy.cluster import visible_gpus
    >>> with mock.patch.dict(os.environ, {"CUDA_VISIBLE_DEVICES": "2,3"}):
    ...     visible_gpus()
    ['2', '3']
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        gpus = [gpu.strip() for gpu in listed.split(",") if gpu.strip()]
        return [] if gpus[:1] == ["-1"] else gpus
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


@validate_params(
    {
        "gpus": [list, tuple],
        "workers_per_gpu": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def gpu_worker_env(gpus, *, workers_per_gpu=1):
    """The environment of each worker: its name and its one GPU.

    Parameters
    ----------
    gpus : list of str or int
        GPU ids as ``CUDA_VISIBLE_DEVICES`` takes them.
    workers_per_gpu : int, default=1
        Workers sharing each GPU. Above 1 the workers also get
        :data:`SHARED_GPU_ENV`, so that TensorFlow and JAX allocate GPU memory
        as needed instead of reserving it all in the first worker.

    Returns
    -------
    env : dict
        Worker name -> dict of environment variables.

    Raises
    ------
    ValueError
        If ``gpus`` is empty or has repeats, or ``workers_per_gpu`` < 1.

    Examples
    --------
    >>> from skdreamy.cluster import gpu_worker_env
    >>> gpu_worker_env([0, 1])
    {'gpu0': {'CUDA_VISIBLE_DEVICES': '0'}, 'gpu1': {'CUDA_VISIBLE_DEVICES': '1'}}
    >>> sorted(gpu_worker_env(["0"], workers_per_gpu=2))
    ['gpu0-0', 'gpu0-1']
    """
    gpus = [str(gpu) for gpu in gpus]
    if not gpus:
        raise ValueError(
            "No GPU to start workers on: gpus is empty. On a machine without "
            "GPUs use dask.distributed.LocalCluster instead."
        )
    if len(set(gpus)) != len(gpus):
        raise ValueError(
            f"gpus lists a GPU twice: {gpus}; use workers_per_gpu to share one."
        )
    env = {}
    for gpu in gpus:
        for slot in range(workers_per_gpu):
            name = f"gpu{gpu}" if workers_per_gpu == 1 else f"gpu{gpu}-{slot}"
            env[name] = {"CUDA_VISIBLE_DEVICES": gpu}
            if workers_per_gpu > 1:
                env[name].update(SHARED_GPU_ENV)
    return env


@validate_params(
    {
        "gpus": [list, tuple, None],
        "workers_per_gpu": [Interval(Integral, 1, None, closed="left")],
        "threads_per_worker": [Interval(Integral, 1, None, closed="left")],
        "host": [str],
        "memory_limit": [
            StrOptions({"auto"}),
            str,
            Interval(Real, 0, None, closed="neither"),
        ],
        "dashboard_address": [str, None],
        "env": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def gpu_cluster(
    gpus=None,
    *,
    workers_per_gpu=1,
    threads_per_worker=1,
    host="127.0.0.1",
    memory_limit="auto",
    dashboard_address=None,
    env=None,
):
    """Start a local Dask cluster with one worker process per GPU.

    A :class:`distributed.SpecCluster` of :class:`distributed.Nanny`
    workers, the same building blocks as :class:`distributed.LocalCluster`,
    except that each worker process starts with its own
    ``CUDA_VISIBLE_DEVICES`` (see :func:`gpu_worker_env`), so that its Keras
    model lands on its own GPU. With one thread per worker each GPU trains one
    model at a time. Use it like a ``LocalCluster``::

        with gpu_cluster() as cluster, Client(cluster):
            with joblib.parallel_config(backend="dask"):
                search.fit(X, y)

    Parameters
    ----------
    gpus : list of str or int or None, default=None
        GPUs to use; ``None`` takes :func:`visible_gpus`.
    workers_per_gpu : int, default=1
        Worker processes per GPU (more than one only pays when a single fit
        leaves the GPU idle, e.g. small models; see ``benchmarks/scale.md``).
    threads_per_worker : int, default=1
        Tasks (fits) each worker runs at once.
    host : str, default="127.0.0.1"
        Address the scheduler and workers listen on; the loopback default
        keeps the cluster private to this machine.
    memory_limit : str, float or int, default="auto"
        Memory limit per worker, as for ``LocalCluster``; ``"auto"`` shares
        the machine's memory equally between the workers.
    dashboard_address : str or None, default=None
        Address of the scheduler's dashboard (e.g. ``":8787"``; needs bokeh);
        ``None`` starts none.
    env : dict or None, default=None
        More environment variables for every worker (e.g.
        ``{"KERAS_BACKEND": "jax"}``); the GPU variables take precedence.

    Returns
    -------
    cluster : distributed.SpecCluster
        The running cluster; close it (or use it as a context manager).

    Raises
    ------
    ImportError
        If ``dask[distributed]`` is not installed.
    ValueError
        If no GPU is visible and ``gpus`` is not given, or as
        :func:`gpu_worker_env`.

    See Also
    --------
    gpu_worker_env : The environment each worker process starts with.

    Examples
    --------
    The layout is checked before anything starts; a cluster with two workers
    on GPUs 0 and 1 is ``gpu_cluster(gpus=[0, 1])`` (``tests/test_dask.py``
    starts one):

    >>> from skdreamy.cluster import gpu_cluster
    >>> gpu_cluster(gpus=[0, 0])
    Traceback (most recent call last):
    ...
    ValueError: gpus lists a GPU twice: ['0', '0']; use workers_per_gpu to share one.
    """
    try:
        from distributed import Nanny, Scheduler, SpecCluster, system
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "gpu_cluster needs dask.distributed: pip install 'skdreamy[dask]'."
        ) from exc
    if gpus is None:
        gpus = visible_gpus()
        if not gpus:
            raise ValueError(
                "No NVIDIA GPU is visible (CUDA_VISIBLE_DEVICES and nvidia-smi "
                "list none). Pass gpus=[...] explicitly, or use "
                "dask.distributed.LocalCluster on a machine without GPUs."
            )
    worker_env = gpu_worker_env(gpus, workers_per_gpu=workers_per_gpu)
    protocol = "tcp://"
    if isinstance(memory_limit, str) and memory_limit == "auto":
        # As LocalCluster: the machine's memory shared equally (a Nanny's own
        # "auto" would give each worker a share proportional to its threads).
        memory_limit = int(system.MEMORY_LIMIT / len(worker_env))
    workers = {
        name: {
            "cls": Nanny,
            "options": {
                "host": host,
                "protocol": protocol,
                "nthreads": threads_per_worker,
                "memory_limit": memory_limit,
                "env": {**(env or {}), **variables},
                "dashboard": False,
                "silence_logs": logging.WARNING,
            },
        }
        for name, variables in worker_env.items()
    }
    scheduler = {
        "cls": Scheduler,
        "options": {
            "host": host,
            "protocol": protocol,
            "dashboard": dashboard_address is not None,
            # Without a dashboard the scheduler still serves /health and
            # /metrics over HTTP: on any free port, not on 8787.
            "dashboard_address": ":0"
            if dashboard_address is None
            else dashboard_address,
        },
    }
    return SpecCluster(
        workers=workers,
        scheduler=scheduler,
        silence_logs=logging.WARNING,
        name="skdreamy-gpu",
    )


__all__ = ["SHARED_GPU_ENV", "gpu_cluster", "gpu_worker_env", "visible_gpus"]
