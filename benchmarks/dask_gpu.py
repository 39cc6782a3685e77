"""Grid search on Dask with one worker per GPU, or several sharing one (issue 9).

For each layout this starts :func:`skdreamy.cluster.gpu_cluster` on this
machine (loopback only), checks which GPUs each worker process sees, warms
every worker up (imports, CUDA context), then times
``GridSearchCV(make_pipeline(raw=True, ...))`` run through
``joblib.parallel_config(backend="dask")``:

- ``1 per GPU``: one single-threaded worker on each GPU (the layout
  ``docs/user_guide/scaling.rst`` recommends);
- ``2 per GPU``: two workers sharing each GPU (with memory growth enabled),
  to see whether one fit leaves a GPU idle enough for a second one;
- ``1 worker``: a single worker on the first GPU, the baseline.

GPU runs need a GPU-enabled Keras backend in the workers, e.g.
``KERAS_BACKEND=jax`` with ``jax[cuda12]`` installed (``--backend``).

``--cpu-smoke`` runs the same code with fake GPU ids and a tiny model on a
machine without GPUs: it checks the plumbing, its timings mean nothing.

Run ``python -m benchmarks.dask_gpu`` on a GPU machine.
"""

import argparse
import os
import time

import numpy as np

from . import _common as C

REQUIRES = "gpu"  # python -m benchmarks run --all skips it without --gpu


def worker_devices():
    """What a worker sees: CUDA_VISIBLE_DEVICES, backend, GPU devices."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "torch":
        import torch

        devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    else:
        devices = []
    return os.environ.get("CUDA_VISIBLE_DEVICES"), backend, devices


def warm_up():
    """Import skdreamy and Keras and run one tiny fit (CUDA context, tracing)."""
    from skdreamy import SleepStageCNNClassifier

    rng = np.random.default_rng(0)
    X = rng.random((32, 51 * 59), dtype=np.float32)
    y = np.repeat([0, 1], 16)
    SleepStageCNNClassifier(epochs=1, random_state=0).fit(X, y)
    return True


def run_layout(gpus, workers_per_gpu, args, X, y):
    import joblib
    from distributed import Client
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from skdreamy import SleepStageCNNClassifier, make_pipeline
    from skdreamy.cluster import gpu_cluster

    env = {"KERAS_BACKEND": args.backend} if args.backend else None
    t_start = time.perf_counter()
    with (
        gpu_cluster(gpus=gpus, workers_per_gpu=workers_per_gpu, env=env) as cluster,
        Client(cluster, timeout=120) as client,
    ):
        client.wait_for_workers(len(gpus) * workers_per_gpu, timeout=300)
        seen = client.run(worker_devices)
        if not args.cpu_smoke:
            wrong = {w: v for w, v in seen.items() if len(v[2]) != 1}
            if wrong:
                raise SystemExit(
                    "Each worker should see exactly one GPU, but these do not "
                    f"(CUDA_VISIBLE_DEVICES, backend, GPUs): {wrong}. Is the "
                    "Keras backend GPU-enabled (e.g. KERAS_BACKEND=jax with "
                    "jax[cuda12])?"
                )
        client.run(warm_up)
        t_ready = time.perf_counter() - t_start
        search = GridSearchCV(
            make_pipeline(
                raw=True,
                n_per_class=args.n_per_class,
                classifier=SleepStageCNNClassifier(
                    architecture=args.architecture,
                    epochs=args.epochs,
                    random_state=0,
                ),
                random_state=0,
            ),
            {
                "classify__dropout": [0.25, 0.5],
                "classify__learning_rate": [1e-3, 3e-4],
            },
            scoring="f1_micro",
            cv=StratifiedKFold(args.folds, shuffle=True, random_state=0),
            refit=False,
            n_jobs=-1,
        )
        t0 = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            search.fit(X, y)
        t_search = time.perf_counter() - t0
    n_fits = len(search.cv_results_["params"]) * args.folds
    return {
        "gpus": list(gpus),
        "workers_per_gpu": workers_per_gpu,
        "workers": {name: list(view) for name, view in seen.items()},
        "startup_s": t_ready,
        "search_s": t_search,
        "fits": n_fits,
        "fits_per_min": 60 * n_fits / t_search,
        "mean_test_score": search.cv_results_["mean_test_score"].tolist(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gpus", nargs="+", default=None, help="default: all")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n-per-class", type=int, default=300)
    parser.add_argument("--n-epochs-data", type=int, default=4000)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--architecture", default="reference")
    parser.add_argument("--json", default=None)
    parser.add_argument("--cpu-smoke", action="store_true")
    args = parser.parse_args(argv)

    from skdreamy.cluster import visible_gpus
    from skdreamy.datasets import make_sleep_epochs

    if args.cpu_smoke:
        gpus = args.gpus or ["0", "1"]
        args.architecture, args.epochs, args.n_per_class = "compact", 1, 20
        args.n_epochs_data = 400
    else:
        gpus = args.gpus or visible_gpus()
        if not gpus:
            raise SystemExit(
                "No NVIDIA GPU visible: nothing to measure (use --cpu-smoke to "
                "check the plumbing)."
            )
    X, y = make_sleep_epochs(args.n_epochs_data, random_state=0)
    layouts = [(gpus[:1], 1), (gpus[:1], 2)]
    if len(gpus) > 1:
        layouts += [(gpus, 1), (gpus, 2)]
    rows = []
    print(
        "| GPUs | workers per GPU | fits | grid search | fits/min | start-up |\n"
        "|---|---|---|---|---|---|"
    )
    for layout_gpus, per_gpu in layouts:
        row = run_layout(layout_gpus, per_gpu, args, X, y)
        rows.append(row)
        print(
            f"| {','.join(layout_gpus)} | {per_gpu} | {row['fits']} "
            f"| {row['search_s']:.1f} s | {row['fits_per_min']:.1f} "
            f"| {row['startup_s']:.1f} s |",
            flush=True,
        )
        for name, view in row["workers"].items():
            print(f"    {name}: CUDA_VISIBLE_DEVICES={view[0]} {view[1]} {view[2]}")
    C.save_json(args.json, C.provenance(), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
