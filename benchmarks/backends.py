"""Issue 6, item 2: the reference CNN's training on other CPU back ends.

The library's Keras code is backend-agnostic, so the same model trains under
TensorFlow, JAX or PyTorch. This measures, on the CPU, whether another back
end or memory layout gets closer to the matmul limit than the TensorFlow
default:

- ``tensorflow NHWC``: the library's default (oneDNN kernels, channels last);
- ``tensorflow NCHW``: the same model with ``data_format="channels_first"``;
- ``tensorflow NHWC, oneDNN off``: ``TF_ENABLE_ONEDNN_OPTS=0`` (Eigen kernels);
- ``jax NHWC``: ``KERAS_BACKEND=jax`` (XLA's CPU compiler), with the Python
  of ``--jax-python`` (a venv with JAX; TensorFlow is not needed there);
- ``torch NHWC``: ``KERAS_BACKEND=torch``, with ``--torch-python``.

Every measurement is a fresh child process: import, build
:func:`skdreamy.build_sleep_cnn` (seed 0), compile like the classifier
(Adam, ``steps_per_execution=32``; 1 under torch, which allows no other),
one warm-up fit of 256 samples (tracing or compiling excluded), then one
timed epoch of ``n`` synthetic samples at batch 16 (throughput does not
depend on the values). Variants are interleaved A B C A B C ..., and the CPU
seconds of the child (user + system, all threads) give GFLOP per
CPU-second, which is compared with TensorFlow's fp32 matmul per CPU-second
measured in this process between the rounds.
A variant whose interpreter lacks its back end is skipped, and said.
"""

import argparse
import functools
import sys
import textwrap

from . import _common as C

_CHILD = textwrap.dedent(
    """
    import json, time
    import keras
    import numpy as np
    from benchmarks._flops import _cpu
    from skdreamy import build_sleep_cnn

    def channels_first(model):
        def clone(layer):
            config = layer.get_config()
            if isinstance(layer, keras.layers.Reshape):
                config["target_shape"] = (1, *config["target_shape"][:2])
            if "data_format" in config:
                config["data_format"] = "channels_first"
            return type(layer).from_config(config)

        return keras.models.clone_model(model, clone_function=clone)

    n = {n}
    rng = np.random.default_rng(0)
    X = rng.random((n, 3009), dtype=np.float32)
    Y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, n)]
    model = build_sleep_cnn(seed=0)
    if {nchw}:
        model = channels_first(model)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy",
        steps_per_execution={spe},
    )
    model.fit(X[:256], Y[:256], batch_size=16, epochs=1, verbose=0)
    wall, cpu = time.perf_counter(), _cpu()
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    cpu = _cpu() - cpu
    backend = keras.backend.backend()
    print(json.dumps({{
        "seconds": time.perf_counter() - wall,
        "cpu": cpu,
        "backend": backend,
        "versions": {{"keras": keras.__version__,
                      backend: __import__(backend).__version__}},
        "image_shape": list(model.get_layer("conv1").output.shape[1:]),
    }}))
    """
)


def _variants(args):
    """name -> (interpreter, environment, channels first)."""
    tf = {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"}
    return {
        "tensorflow NHWC (default)": (sys.executable, tf, False),
        "tensorflow NCHW": (sys.executable, tf, True),
        "tensorflow NHWC, oneDNN off": (
            sys.executable,
            {**tf, "TF_ENABLE_ONEDNN_OPTS": "0"},
            False,
        ),
        "jax NHWC (XLA CPU)": (
            args.jax_python or sys.executable,
            {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
            False,
        ),
        "torch NHWC": (
            args.torch_python or sys.executable,
            {"KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""},
            False,
        ),
    }


@functools.cache
def _available(python, backend):
    """Whether ``python`` can import the package of a Keras back end."""
    try:
        C.run_child(
            f"import json, {backend}; print(json.dumps({{}}))",
            executable=python,
            timeout=300,
        )
    except (RuntimeError, OSError):
        return False
    return True


def main(argv=None):
    # --data is accepted (the runner passes it) but unused: synthetic inputs.
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=None, help="samples per epoch")
    parser.add_argument("--jax-python", default=None, help="a Python with JAX")
    parser.add_argument("--torch-python", default=None, help="a Python with torch")
    args = parser.parse_args(argv)
    n = args.n or (2000 if args.full else 500)
    repeats = args.repeats or (3 if args.full else 1)
    info = C.header("training on other CPU back ends (item 2)", args)

    from skdreamy import build_sleep_cnn

    from ._flops import tf_matmul_gflops, training_flops_per_sample

    flops = training_flops_per_sample(build_sleep_cnn())
    print(f"   data     synthetic uniform inputs, {n} samples, batch 16")
    variants, skipped = {}, {}
    for name, (python, env, nchw) in _variants(args).items():
        if not _available(python, env["KERAS_BACKEND"]):
            skipped[name] = f"{python} cannot import {env['KERAS_BACKEND']}"
            print(f"   skipped  {name}: {skipped[name]}")
            continue
        spe = 1 if env["KERAS_BACKEND"] == "torch" else 32
        code = _CHILD.format(n=n, nchw=nchw, spe=spe)
        variants[name] = lambda code=code, env=env, python=python: C.run_child(
            code, env=env, executable=python
        )
    outputs = {name: [] for name in variants}

    def record(name, run):
        def timed():
            out = run()
            outputs[name].append(out)
            return out

        return timed

    matmul = []
    C.interleave(
        {name: record(name, run) for name, run in variants.items()},
        repeats,
        on_round=lambda r: tf_matmul_gflops(seconds=1.0, cpu=matmul),
    )
    limit = C.summarise(matmul)["median"]
    print(
        f"\n   TF fp32 matmul: {C.fmt(C.summarise(matmul), 'GFLOP per CPU-s', 0)}"
        "\n   samples/s (wall), GFLOP per CPU-second and its share of the matmul,"
        "\n   CPU time per epoch relative to the TensorFlow default:"
    )
    results = {"n": n, "matmul_gflops_per_cpu_s": matmul, "skipped": skipped}
    results["variants"] = {}
    # CPU time relative to the default (to the first variant if it was skipped)
    default = outputs.get("tensorflow NHWC (default)") or next(iter(outputs.values()))
    base = C.summarise([o["cpu"] for o in default])["median"]
    for name, outs in outputs.items():
        rate = C.summarise([n / o["seconds"] for o in outs])
        cpu = C.summarise([o["cpu"] for o in outs])
        per_cpu = n * flops / cpu["median"] / 1e9
        entry = {
            "samples_per_s": rate,
            "cpu_seconds": cpu,
            "gflops_per_cpu_second": per_cpu,
            "fraction_of_matmul": per_cpu / limit,
            "cpu_vs_default": cpu["median"] / base,
            "backend": outs[0]["backend"],
            "conv1_output": outs[0]["image_shape"],
            "versions": outs[0]["versions"],
        }
        results["variants"][name] = entry
        print(
            f"   {name:<28} {C.fmt(rate, 'samples/s', 0)}  {per_cpu:5.0f} GFLOP "
            f"per CPU-s ({entry['fraction_of_matmul']:.0%})  CPU "
            f"x{entry['cpu_vs_default']:.2f}"
        )
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
