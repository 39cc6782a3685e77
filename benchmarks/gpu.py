"""Issue 6, item 6: the same model and data on a GPU, Keras 3 on JAX.

Run on the GPU machine (which has JAX, no TensorFlow) with::

    KERAS_BACKEND=jax python -m benchmarks.gpu --full

It works on any JAX device, CPU included (that is how it is tested here:
``KERAS_BACKEND=jax python -m benchmarks.gpu --quick`` in a virtual
environment with ``jax`` and without TensorFlow).

Measured, interleaved per batch size (16, 256, 1024):

- ``keras``: raw ``build_sleep_cnn`` + ``model.fit``, ``steps_per_execution``
  1 and 32 (several steps per dispatch);
- ``classifier``: ``SleepStageCNNClassifier(batch_size=b).fit`` (scikeras on
  JAX). If scikeras cannot run on JAX the exception is printed and the raw
  Keras figures are still reported;
- for batches >= 256, both again with ``precision="mixed_bfloat16"``
  (``--no-bf16`` skips them);

each on 5,000 spectrograms (real epochs repeated, or synthetic), a fresh
model per fit, steady-state samples/s from the epochs after the first, and
the device's dense-matmul GFLOP/s (float32 at "highest" precision, float32 at
JAX's default precision, which may use TF32 on NVIDIA GPUs, and bfloat16).
"""

import argparse
import os
import time
import traceback

os.environ.setdefault("KERAS_BACKEND", "jax")

from . import _common as C
from .training import EpochTimer

REQUIRES = "gpu"  # python -m benchmarks run --all skips it without --gpu


def jax_matmul_gflops(n=8192, dtype="float32", precision=None, seconds=2.0):
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    a = jax.random.uniform(key, (n, n), dtype=jnp.float32).astype(dtype)
    b = jax.random.uniform(jax.random.PRNGKey(1), (n, n), dtype=jnp.float32).astype(
        dtype
    )
    f = jax.jit(lambda a, b: jnp.matmul(a, b, precision=precision))
    f(a, b).block_until_ready()
    best, stop = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t = time.perf_counter()
        f(a, b).block_until_ready()
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batches", default="16,256,1024")
    parser.add_argument(
        "--no-bf16",
        dest="bf16",
        action="store_false",
        help="skip the mixed_bfloat16 variants (batches >= 256)",
    )
    args = parser.parse_args(argv)
    n = args.n or (5000 if args.full else 1000)
    n_epochs = args.epochs or (4 if args.full else 2)
    repeats = args.repeats or (3 if args.full else 1)
    batches = [int(b) for b in args.batches.split(",")]
    info = C.header("GPU training throughput, Keras on JAX (item 6)", args)

    import jax
    import keras
    import numpy as np

    from skdreamy import (
        EpochSpectrogram,
        SleepStageCNNClassifier,
        SpectrogramScaler,
        build_sleep_cnn,
    )

    from ._flops import training_flops_per_sample

    print(f"   backend  {keras.backend.backend()}; devices {jax.devices()}")
    on_cpu = jax.devices()[0].platform == "cpu"
    X_raw, y, source = C.load_epochs(args.data, n)
    Z = SpectrogramScaler().fit_transform(EpochSpectrogram().fit_transform(X_raw))
    Y = np.eye(5, dtype=np.float32)[y]
    print(f"   data     {source}; {n_epochs} epochs per fit, {repeats} rounds")
    flops = training_flops_per_sample(build_sleep_cnn())
    size = 1024 if on_cpu else 8192
    limits = {
        "fp32 highest": jax_matmul_gflops(size, "float32", "highest"),
        "fp32 default": jax_matmul_gflops(size, "float32", None),
        "bf16": jax_matmul_gflops(size, "bfloat16", None),
    }
    print(
        "   matmul   "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in limits.items())
        + f" ({size}^2)"
    )

    steady = {}
    errors = {}

    def keras_fit(batch, spe, precision="float32"):
        def run():
            timer = EpochTimer()
            t = time.perf_counter()
            model = build_sleep_cnn(seed=0, precision=precision)
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.CategoricalCrossentropy(),
                metrics=["accuracy"],
                steps_per_execution=spe,
            )
            model.fit(
                Z, Y, batch_size=batch, epochs=n_epochs, verbose=0, callbacks=[timer]
            )
            return time.perf_counter() - t, timer.times

        return run

    def classifier_fit(batch, precision="float32"):
        def run():
            timer = EpochTimer()
            t = time.perf_counter()
            SleepStageCNNClassifier(
                batch_size=batch,
                epochs=n_epochs,
                precision=precision,
                random_state=0,
                callbacks=[timer],
            ).fit(Z, y)
            return time.perf_counter() - t, timer.times

        return run

    variants = {}
    for b in batches:
        variants[f"keras b={b} spe=1"] = keras_fit(b, 1)
        variants[f"keras b={b} spe=32"] = keras_fit(b, 32)
        variants[f"classifier b={b}"] = classifier_fit(b)
        if b >= 256 and args.bf16:
            bf16 = "mixed_bfloat16"
            variants[f"keras b={b} spe=32 bf16"] = keras_fit(b, 32, bf16)
            variants[f"classifier b={b} bf16"] = classifier_fit(b, bf16)

    def wrap(name, run):
        def go():
            if name in errors:
                return float("nan")
            try:
                seconds, epochs = run()
            except Exception as exc:  # report exactly why, keep the raw figures
                errors[name] = "".join(traceback.format_exception(exc))
                print(f"   {name} FAILED: {type(exc).__name__}: {exc}")
                return float("nan")
            steady.setdefault(name, []).extend(n / t for t in epochs[1:])
            return seconds

        return go

    times = C.interleave({k: wrap(k, v) for k, v in variants.items()}, repeats)
    results = {"n": n, "source": source, "matmul_gflops": limits, "variants": {}}
    print("\n   steady samples/s median [min-max]; GFLOP/s; fit wall time")
    for name in variants:
        if name in errors:
            print(f"   {name:<30} FAILED (see traceback below)")
            results["variants"][name] = {"error": errors[name]}
            continue
        s = C.summarise(steady[name])
        t = C.summarise(times[name])
        g = s["median"] * flops / 1e9
        results["variants"][name] = {"samples_per_s": s, "fit_seconds": t, "gflops": g}
        print(
            f"   {name:<30} {C.fmt(s, 'samples/s', 0)}; {g:.0f} GFLOP/s "
            f"({g / limits['fp32 highest']:.0%} of fp32 matmul); fit {C.fmt(t, 's')}"
        )
    for name, tb in errors.items():
        print(f"\n   --- {name} ---\n{tb}")
    out = os.environ.get("OUT")
    C.save_json(args.json or (out and os.path.join(out, "gpu.json")), info, results)
    return results


if __name__ == "__main__":
    main()
