"""Issue 6, item 2 (the "last stretch"): which training settings pay on CPU.

Raw Keras ``model.fit`` of the reference CNN, batch 16, one epoch of ``n``
samples per measurement after a warm-up fit (so tracing is excluded), every
variant on its own model, interleaved A B C A B C ... in one process:

- ``fp32``: the plain default (``steps_per_execution=1``, no XLA);
- ``fp32 spe=K``: ``compile(steps_per_execution=K)``: K steps per call of the
  compiled function, less Python and dispatch work per step;
- ``fp32 determinism``: inside ``enable_op_determinism()`` (what scikeras does
  around ``fit`` when ``random_state`` is set);
- ``fp32 jit``: ``compile(jit_compile=True)`` (XLA on CPU);
- ``bf16 ...``: ``mixed_bfloat16`` policy (bfloat16 compute, float32
  weights), which uses AMX/AVX512-BF16 through oneDNN where the CPU has them.

``--threads`` also runs fp32 ``steps_per_execution=32`` (the classifier's
setting) in child processes with TensorFlow's inter-/intra-op thread pools
set explicitly (they can only be set before TensorFlow starts), interleaved
too; each child reports its fit's wall and CPU time.

Synthetic uniform inputs are enough here (throughput does not depend on the
values); say ``--data`` to use real spectrograms anyway.
"""

import argparse
import os
import time

from . import _common as C

_VARIANTS = {
    "fp32": {},
    "fp32 spe=8": {"spe": 8},
    "fp32 spe=32": {"spe": 32},
    "fp32 spe=128": {"spe": 128},
    "fp32 determinism": {"det": True},
    "fp32 determinism spe=32": {"det": True, "spe": 32},
    "fp32 jit": {"jit": True},
    "bf16": {"policy": "mixed_bfloat16"},
    "bf16 spe=32": {"policy": "mixed_bfloat16", "spe": 32},
    "bf16 determinism spe=32": {"policy": "mixed_bfloat16", "spe": 32, "det": True},
}
_QUICK = ["fp32", "fp32 spe=32", "fp32 determinism", "bf16", "bf16 spe=32"]

_CHILD = """
import os, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
inter, intra = {inter}, {intra}
if inter is not None: tf.config.threading.set_inter_op_parallelism_threads(inter)
if intra is not None: tf.config.threading.set_intra_op_parallelism_threads(intra)
from benchmarks._flops import _cpu
from skdreamy import build_sleep_cnn
rng = np.random.default_rng(0)
X = rng.random(({n}, 3009), dtype=np.float32)
Y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, {n})]
m = build_sleep_cnn(seed=0)
m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
          steps_per_execution=32)
m.fit(X[:256], Y[:256], batch_size=16, epochs=1, verbose=0)
c = _cpu()
t = time.perf_counter()
m.fit(X, Y, batch_size=16, epochs=1, verbose=0)
print(json.dumps({{"seconds": time.perf_counter() - t, "cpu": _cpu() - c}}))
"""


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=None, help="samples per epoch")
    parser.add_argument(
        "--variants", default=None, help=f"comma-separated from {list(_VARIANTS)}"
    )
    parser.add_argument("--threads", action="store_true", help="thread pools too")
    args = parser.parse_args(argv)
    n = args.n or (3000 if args.full else 1500)
    repeats = args.repeats or (5 if args.full else 2)
    chosen = (
        [v.strip() for v in args.variants.split(",")]
        if args.variants
        else (list(_VARIANTS) if args.full else _QUICK)
    )
    info = C.header("training settings on CPU (item 2)", args)

    import keras
    import numpy as np

    from skdreamy import build_sleep_cnn

    from ._flops import _cpu, training_flops_per_sample

    if args.data and os.environ.get("BENCH_REAL_INPUT"):
        from skdreamy import EpochSpectrogram, SpectrogramScaler

        X_raw, y, source = C.load_epochs(args.data, n)
        X = SpectrogramScaler().fit_transform(EpochSpectrogram().fit_transform(X_raw))
    else:
        rng = np.random.default_rng(0)
        X = rng.random((n, 3009), dtype=np.float32)
        y = rng.integers(0, 5, n)
        source = f"synthetic uniform inputs, {n} samples (values do not matter)"
    Y = np.eye(5, dtype=np.float32)[y]
    print(f"   data     {source}; batch 16, 1 epoch per measurement, {repeats} rounds")
    flops = training_flops_per_sample(build_sleep_cnn())

    def make(policy="float32", spe=1, det=False, jit=False):
        model = build_sleep_cnn(seed=0, precision=policy)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.CategoricalCrossentropy(),
            metrics=["accuracy"],
            steps_per_execution=spe,
            jit_compile=jit,
        )

        def fit(x, y):
            if det:
                import tensorflow as tf

                tf.random.set_seed(0)
                tf.config.experimental.enable_op_determinism()
            try:
                model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=True)
            finally:
                if det:
                    from tensorflow.python.framework import config

                    config.disable_op_determinism()

        fit(X[:256], Y[:256])  # trace
        return fit

    fits = {name: make(**_VARIANTS[name]) for name in chosen}

    cpu = {}

    def timed(name, fit):
        def run():
            t, c = time.perf_counter(), _cpu()
            fit(X, Y)
            cpu.setdefault(name, []).append(_cpu() - c)
            return time.perf_counter() - t

        return run

    def child(name, code):
        def run():
            out = C.run_child(code)  # the child times its own fit
            cpu.setdefault(name, []).append(out["cpu"])
            return out["seconds"]

        return run

    variants = {name: timed(name, fit) for name, fit in fits.items()}
    if args.threads:
        for inter, intra in [(None, None), (1, 2), (2, 2), (1, 1)]:
            name = f"fp32 child inter={inter} intra={intra}"
            code = _CHILD.format(inter=inter, intra=intra, n=n)
            variants[name] = child(name, code)
    times = C.interleave(variants, repeats)
    results = {"n": n, "source": source, "variants": {}}
    base = C.summarise(times[chosen[0]])["median"]
    base_cpu = C.summarise(cpu[chosen[0]])["median"]
    print(
        "\n   samples/s, median [min-max], and speed-up vs the first variant by "
        "wall time\n   and by process CPU time (robust to other jobs):"
    )
    for name, values in times.items():
        rate = C.summarise([n / t for t in values])
        entry = {
            "samples_per_s": rate,
            "speedup": base / C.summarise(values)["median"],
            "gflops": rate["median"] * flops / 1e9,
        }
        line = (
            f"   {name:<34} {C.fmt(rate, 'samples/s', 0)}  wall x{entry['speedup']:.2f}"
        )
        if name in cpu:
            c = C.summarise(cpu[name])
            entry["cpu_seconds"] = c
            entry["cpu_speedup"] = base_cpu / c["median"]
            entry["gflops_per_cpu_second"] = n * flops / c["median"] / 1e9
            line += (
                f"  cpu x{entry['cpu_speedup']:.2f}  "
                f"{entry['gflops_per_cpu_second']:.0f} GFLOP per CPU-s"
            )
        results["variants"][name] = entry
        print(line)
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
