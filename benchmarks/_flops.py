"""FLOP counts of the CNNs, and this machine's dense-matmul limit.

Convention: one multiply-add is 2 FLOP. A training step costs about three
forward passes (forward; gradient with respect to the activations; gradient
with respect to the weights), so FLOP per training sample = 3 x forward. The
first convolution needs no activation gradient; that 1 % is ignored (it makes
the count, and the efficiency, slightly high, never low).
"""

import os
import time

import numpy as np


def forward_macs(model):
    """Multiply-adds per sample of the Conv2D and Dense layers of ``model``."""
    macs = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            macs += h * w * c_out * kh * kw * c_in
        elif kind == "Dense":
            n_in, n_out = layer.kernel.shape
            macs += n_in * n_out
    return int(macs)


def training_flops_per_sample(model):
    """FLOP per training sample: 2 FLOP/MAC x 3 passes."""
    return 6 * forward_macs(model)


def _cpu():
    t = os.times()
    return t.user + t.system


def numpy_matmul_gflops(n=2048, dtype=np.float32, seconds=2.0, cpu=None):
    """Best GFLOP/s of ``n x n`` numpy matmuls over about ``seconds``; with a
    ``cpu`` list, also appends GFLOP per CPU-second of the process."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)
    best, count, c0 = 0.0, 0, _cpu()
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
        count += 1
    if cpu is not None:
        cpu.append(count * 2 * n**3 / (_cpu() - c0) / 1e9)
    return best


def tf_matmul_gflops(n=2048, dtype="float32", seconds=2.0, inner=4, cpu=None):
    """Best GFLOP/s of ``n x n`` TensorFlow (oneDNN) matmuls, ``inner`` per
    call of a compiled function, over about ``seconds``."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.cast(tf.constant(rng.random((n, n), dtype=np.float32)), dtype)
    b = tf.cast(tf.constant(rng.random((n, n), dtype=np.float32)), dtype)

    @tf.function
    def step(a, b):
        acc = tf.zeros((), dtype)
        for _ in range(inner):
            c = tf.linalg.matmul(a, b)
            acc += c[0, 0]  # keep every product alive
            a = a + c[:1, :1] * 0  # and make each depend on the last
        return acc

    step(a, b).numpy()
    best, count, c0 = 0.0, 0, _cpu()
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t = time.perf_counter()
        step(a, b).numpy()
        best = max(best, inner * 2 * n**3 / (time.perf_counter() - t) / 1e9)
        count += 1
    if cpu is not None:
        cpu.append(count * inner * 2 * n**3 / (_cpu() - c0) / 1e9)
    return best


def matmul_limits(seconds=2.0, *, bf16=True, per_cpu=None):
    """GFLOP/s of the dense-matmul candidates: numpy fp32, TF fp32 (oneDNN)
    and TF bf16 (oneDNN, AMX where the CPU has it). With a ``per_cpu`` dict,
    also records GFLOP per CPU-second of this process under the same keys."""
    per_cpu = {} if per_cpu is None else per_cpu
    out = {
        "numpy_fp32": numpy_matmul_gflops(
            seconds=seconds, cpu=per_cpu.setdefault("numpy_fp32", [])
        )
    }
    try:
        out["tf_fp32"] = tf_matmul_gflops(
            dtype="float32", seconds=seconds, cpu=per_cpu.setdefault("tf_fp32", [])
        )
        if bf16:
            out["tf_bf16"] = tf_matmul_gflops(
                dtype="bfloat16",
                seconds=seconds,
                cpu=per_cpu.setdefault("tf_bf16", []),
            )
    except ImportError:
        pass
    return out
