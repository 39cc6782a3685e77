"""Issue 6, items 1 and 2: training throughput of the reference CNN.

Compares, side by side in one process and interleaved (A B C A B C ...):

- ``keras``: raw ``build_sleep_cnn`` + ``compile`` + ``model.fit`` on scaled
  spectrograms and one-hot labels, with the same settings the classifier uses
  (Adam 1e-3, batch 16, shuffle, ``steps_per_execution``, precision);
- ``keras+determinism``: the same inside ``tf.config.experimental.
  enable_op_determinism()`` with a seed, which scikeras turns on around
  ``fit`` whenever ``random_state`` is set (TensorFlow backend only);
- ``classifier``: ``SleepStageCNNClassifier(random_state=0).fit`` on the same
  scaled spectrograms and integer labels;
- ``classifier spe=1 (before)``: the same with one step per call of the
  compiled train function, as before ``steps_per_execution`` was set (only
  with ``--variants``);
- ``pipeline``: ``make_pipeline(n_per_class=n/5).fit`` on unscaled
  spectrograms, scaling and balancing included (balancing to n/5 per class
  keeps the number of training samples at n).

Each fit builds a fresh model. Reported: the whole ``fit`` (build, tracing,
all epochs) and the steady-state throughput (epochs after the first, timed by
a callback). The wrapper overhead is ``classifier / keras - 1`` on fit time.

Item 2: achieved GFLOP/s (FLOP per training sample from the layer shapes, see
``_flops.py``) over the best dense matmul measured on the same cores in the
same run, at the same precision.

Run ``python -m benchmarks.training --quick`` (2,000 samples, 2 epochs,
2 rounds) or ``--full`` (5,000 samples, 3 epochs, 3 rounds).
"""

import argparse
import gc
import os
import time

from . import _common as C


def _cpu():
    t = os.times()
    return t.user + t.system


class EpochTimer:
    """Keras callback: wall and process CPU time of every epoch."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times = []
                self.cpu_times = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t, self._c = time.perf_counter(), _cpu()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._t)
                self.cpu_times.append(_cpu() - self._c)

        return _Timer()


def _arguments(argv):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=None, help="training samples")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--precision",
        default="float32",
        help="float32 or mixed_bfloat16 (classifier's precision parameter)",
    )
    parser.add_argument(
        "--variants",
        default="keras,keras+determinism,classifier,pipeline",
        help="comma-separated subset",
    )
    args = parser.parse_args(argv)
    args.n = args.n or (5000 if args.full else 2000)
    args.epochs = args.epochs or (3 if args.full else 2)
    args.repeats = args.repeats or (3 if args.full else 2)
    return args


def _setup(args):
    """The data (spectrograms S, scaled Z, one-hot Y, labels y) and settings."""
    import numpy as np

    from skdreamy import (
        EpochSpectrogram,
        SleepStageCNNClassifier,
        SpectrogramScaler,
        build_sleep_cnn,
    )

    from ._flops import training_flops_per_sample

    X_raw, y, source = C.load_epochs(args.data, args.n)
    print(f"   data     {source}")
    S = EpochSpectrogram().fit_transform(X_raw)
    del X_raw
    Z = SpectrogramScaler().fit_transform(S)
    clf_params = dict(epochs=args.epochs, random_state=0)
    if args.precision != "float32":
        clf_params["precision"] = args.precision
    probe = SleepStageCNNClassifier(**clf_params)
    setup = argparse.Namespace(
        S=S,
        Z=Z,
        Y=np.eye(5, dtype=np.float32)[y],
        y=y,
        source=source,
        clf_params=clf_params,
        spe=getattr(probe, "_steps_per_execution", lambda: 1)(),
        batch=probe.batch_size,
        flops=training_flops_per_sample(build_sleep_cnn()),
    )
    print(
        f"   setup    {args.n} samples, {args.epochs} epochs per fit, batch "
        f"{setup.batch}, {args.repeats} rounds, precision {args.precision}, "
        f"steps_per_execution {setup.spe}"
    )
    return setup


def _done(t0, c0, timer):
    """One fit's wall time, per-epoch times and CPU cores used."""
    seconds = time.perf_counter() - t0
    c1 = os.times()
    used = (c1.user - c0.user) + (c1.system - c0.system)
    gc.collect()
    return {
        "seconds": seconds,
        "epochs": timer.times,
        "epoch_cpu": timer.cpu_times,
        "cpu": used / seconds,
    }


def _variants(args, setup):
    """name -> zero-argument callable that fits once and returns :func:`_done`."""
    import keras

    from skdreamy import SleepStageCNNClassifier, build_sleep_cnn, make_pipeline

    def raw_keras(determinism):
        def run():
            timer = EpochTimer()
            t0, c0 = time.perf_counter(), os.times()
            model = build_sleep_cnn(seed=0, precision=args.precision)
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.CategoricalCrossentropy(),
                metrics=["accuracy"],
                steps_per_execution=setup.spe,
            )
            if determinism:
                import tensorflow as tf

                tf.random.set_seed(0)
                tf.config.experimental.enable_op_determinism()
            try:
                model.fit(
                    setup.Z,
                    setup.Y,
                    batch_size=setup.batch,
                    epochs=args.epochs,
                    shuffle=True,
                    verbose=0,
                    callbacks=[timer],
                )
            finally:
                if determinism:
                    from tensorflow.python.framework import config

                    config.disable_op_determinism()
            return _done(t0, c0, timer)

        return run

    def classifier():
        timer = EpochTimer()
        t0, c0 = time.perf_counter(), os.times()
        SleepStageCNNClassifier(callbacks=[timer], **setup.clf_params).fit(
            setup.Z, setup.y
        )
        return _done(t0, c0, timer)

    def classifier_before():
        # The classifier as it was before steps_per_execution (1 step per call).
        from skdreamy import classifier as module

        saved = getattr(module, "_STEPS_PER_EXECUTION", None)
        module._STEPS_PER_EXECUTION = 1
        try:
            return classifier()
        finally:
            if saved is not None:
                module._STEPS_PER_EXECUTION = saved

    def pipeline():
        timer = EpochTimer()
        t0, c0 = time.perf_counter(), os.times()
        clf = SleepStageCNNClassifier(callbacks=[timer], **setup.clf_params)
        make_pipeline(n_per_class=args.n // 5, classifier=clf, random_state=0).fit(
            setup.S, setup.y
        )
        return _done(t0, c0, timer)

    return {
        "keras": raw_keras(False),
        "keras+determinism": raw_keras(True),
        "classifier": classifier,
        "classifier spe=1 (before)": classifier_before,
        "pipeline": pipeline,
    }


def _measure(args, setup, chosen):
    """Fit every chosen variant ``repeats`` times, interleaved, with a matmul
    limit measured before and after each round."""
    from ._flops import matmul_limits

    all_variants = _variants(args, setup)
    steady, steady_cpu, cpu = {}, {}, {}
    variants = {}
    for name in chosen:

        def wrapped(name=name, run=all_variants[name]):
            out = run()
            n = args.n
            steady.setdefault(name, []).extend(n / t for t in out["epochs"][1:])
            steady_cpu.setdefault(name, []).extend(n / t for t in out["epoch_cpu"][1:])
            cpu.setdefault(name, []).append(out["cpu"])
            return out

        variants[name] = wrapped

    limits, limits_cpu = [], {}

    def measure_limit(_round):
        limits.append(matmul_limits(seconds=1.5, per_cpu=limits_cpu))
        done = ", ".join(f"{k} {v:.0f}" for k, v in limits[-1].items())
        print(f"   matmul GFLOP/s {done}")

    measure_limit(-1)
    times = C.interleave(variants, args.repeats, on_round=measure_limit)
    return argparse.Namespace(
        times=times,
        steady=steady,
        steady_cpu=steady_cpu,
        cpu=cpu,
        limits=limits,
        limits_cpu=limits_cpu,
    )


def _fit_times(args, setup, chosen, m):
    """Per-variant fit time, CPU time, steady throughput, overhead; printed."""
    print(
        "\n   per fit (build + trace + all epochs), median [min-max]: wall time, and"
        "\n   CPU time of the process (robust to other jobs on a shared machine):"
    )
    results = {
        "n": args.n,
        "epochs": args.epochs,
        "source": setup.source,
        "variants": {},
    }
    base = C.summarise(m.times[chosen[0]])["median"]
    cpu_s = {
        name: [t * c for t, c in zip(m.times[name], m.cpu[name], strict=True)]
        for name in chosen
    }
    base_cpu = C.summarise(cpu_s[chosen[0]])["median"]
    for name in chosen:
        t = C.summarise(m.times[name])
        c = C.summarise(cpu_s[name])
        s = C.summarise(m.steady[name]) if m.steady.get(name) else None
        gflops = s["median"] * setup.flops / 1e9 if s else float("nan")
        results["variants"][name] = {
            "fit_seconds": t,
            "fit_cpu_seconds": c,
            "steady_samples_per_s": s,
            "gflops": gflops,
            "cpu_cores_used": C.summarise(m.cpu[name]),
            "vs_first": t["median"] / base - 1,
            "cpu_vs_first": c["median"] / base_cpu - 1,
        }
        print(
            f"   {name:<26} wall {C.fmt(t, 's')} {t['median'] / base - 1:+6.1%}; "
            f"cpu {C.fmt(c, 's')} {c['median'] / base_cpu - 1:+6.1%}; steady "
            f"{C.fmt(s, 'samples/s', 0) if s else '-'}; {gflops:.0f} GFLOP/s; "
            f"cores used {C.summarise(m.cpu[name])['median']:.2f}"
        )
    if "keras" in m.times and "classifier" in m.times:
        over = results["variants"]["classifier"]["vs_first"]
        over_cpu = results["variants"]["classifier"]["cpu_vs_first"]
        results["wrapper_overhead"] = {"wall": over, "cpu": over_cpu}
        print(
            f"\n   wrapper overhead (classifier vs {chosen[0]}): wall {over:+.1%}, "
            f"CPU time {over_cpu:+.1%}"
        )
    return results


def _flop_rates(args, setup, chosen, m, results):
    """Achieved GFLOP/s against the dense matmul limit (wall and CPU time)."""
    flops = setup.flops
    keys = m.limits[0].keys()
    limit = {k: C.summarise([lim[k] for lim in m.limits]) for k in keys}
    results["matmul_gflops"] = limit
    results["flops_per_training_sample"] = flops
    ref = "tf_bf16" if "bfloat16" in args.precision else None
    fp32_best = max(limit[k]["max"] for k in keys if "fp32" in k)
    fp32_med = max(limit[k]["median"] for k in keys if "fp32" in k)
    print(
        f"   FLOP per training sample {flops / 1e9:.3f} GFLOP "
        f"(3 x {flops / 6e6:.1f} M multiply-adds)"
    )
    print(
        "   dense matmul limit: "
        + "; ".join(f"{k} {C.fmt(v, 'GFLOP/s', 0)}" for k, v in limit.items())
    )
    for name in chosen:
        g = results["variants"][name]["gflops"]
        line = (
            f"   {name:<26} {g:.0f} GFLOP/s = {g / fp32_med:.0%} of the median fp32 "
            f"matmul ({fp32_med:.0f}), {g / fp32_best:.0%} of the best "
            f"({fp32_best:.0f})"
        )
        if ref and ref in limit:
            line += f"; {g / limit[ref]['median']:.0%} of the bf16 matmul"
        print(line)
        results["variants"][name]["fraction_of_fp32_matmul"] = g / fp32_med
    lim_cpu = {k: C.summarise(v) for k, v in m.limits_cpu.items() if v}
    results["matmul_gflops_per_cpu_second"] = lim_cpu
    print(
        "   per CPU-second (FLOP / process CPU time; robust to time-slicing by"
        " other jobs):\n   matmul "
        + "; ".join(f"{k} {C.fmt(v, '', 0)}" for k, v in lim_cpu.items())
    )
    fp32_cpu = max(v["median"] for k, v in lim_cpu.items() if "fp32" in k)
    for name in chosen:
        if not m.steady_cpu.get(name):
            continue
        sc = C.summarise(m.steady_cpu[name])
        per_core_s = sc["median"] * flops / 1e9
        results["variants"][name]["gflops_per_cpu_second"] = per_core_s
        results["variants"][name]["fraction_of_fp32_matmul_cpu"] = per_core_s / fp32_cpu
        line = (
            f"   {name:<26} {per_core_s:.0f} GFLOP per CPU-second = "
            f"{per_core_s / fp32_cpu:.0%} of the fp32 matmul ({fp32_cpu:.0f})"
        )
        if ref and ref in lim_cpu:
            line += f"; {per_core_s / lim_cpu[ref]['median']:.0%} of the bf16 matmul"
        print(line)
    epoch_s = args.epochs and 5000 / C.summarise(m.steady[chosen[0]])["median"]
    print(
        f"   => {epoch_s:.1f} s per epoch of 5,000; reference protocol (25 epochs"
        f" of 5,000) ~ {25 * epoch_s / 60:.1f} min + build/trace"
    )


def main(argv=None):
    args = _arguments(argv)
    info = C.header("training throughput, reference CNN (items 1 and 2)", args)
    import keras

    setup = _setup(args)
    chosen = [v.strip() for v in args.variants.split(",")]
    if keras.backend.backend() != "tensorflow" and "keras+determinism" in chosen:
        chosen.remove("keras+determinism")
    measured = _measure(args, setup, chosen)
    results = _fit_times(args, setup, chosen, measured)
    _flop_rates(args, setup, chosen, measured, results)
    C.save_json(args.json, info, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
