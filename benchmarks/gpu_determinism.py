"""Issue 10: is training deterministic on this device (a GPU, Keras on JAX)?

Run on the GPU machine with::

    KERAS_BACKEND=jax python -m benchmarks.gpu_determinism

For each XLA setting, a fresh process fits ``SleepStageCNNClassifier(
random_state=0)`` twice on the same spectrograms and predicts twice with
each model; the parent then compares, bit for bit:

- the two predictions of one model (inference);
- the two models of one process (training, same seed);
- the two processes (same seed, a fresh XLA compilation each);

and the probabilities of the default setting against
``XLA_FLAGS=--xla_gpu_deterministic_ops=true`` (XLA's switch for
deterministic GPU kernels), with the fit time of each. On a CPU every
comparison is expected to be bitwise equal.
"""

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

from . import _common as C

CHILD = """
import json, sys, time
import numpy as np
from benchmarks import _common as C
from skdreamy import EpochSpectrogram, SleepStageCNNClassifier, SpectrogramScaler
X_raw, y, source = C.load_epochs({data!r}, {n})
Z = SpectrogramScaler().fit_transform(EpochSpectrogram().fit_transform(X_raw))
out, times = {{}}, []
for fit in (0, 1):
    t = time.perf_counter()
    clf = SleepStageCNNClassifier(
        random_state=0, epochs={epochs}, batch_size={batch}
    ).fit(Z, y)
    times.append(time.perf_counter() - t)
    for rep in (0, 1):
        out[f"fit{{fit}}_predict{{rep}}"] = clf.predict_proba(Z)
np.savez({path!r}, **out)
import jax
print(json.dumps({{"fit_seconds": times, "source": source,
                  "devices": [str(d) for d in jax.devices()]}}))
"""

SETTINGS = {
    "default": {},
    "deterministic ops": {"XLA_FLAGS": "--xla_gpu_deterministic_ops=true"},
}

REQUIRES = "gpu"  # python -m benchmarks run --all skips it without --gpu


def compare(a, b):
    """'bitwise equal' or the largest absolute difference."""
    if np.array_equal(a, b):
        return "bitwise equal"
    return f"differ: max |diff| {np.max(np.abs(a - b)):.2e}"


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    info = C.header("Determinism of training on this device (issue 10)", args)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        probas = {}
        for name, env in SETTINGS.items():
            runs = []
            for process in (0, 1):
                path = os.path.join(tmp, f"{len(probas)}_{process}.npz")
                code = CHILD.format(
                    data=args.data,
                    n=args.n,
                    epochs=args.epochs,
                    batch=args.batch_size,
                    path=path,
                )
                t = time.perf_counter()
                child = C.run_child(code, env=env, timeout=600)
                child["process_seconds"] = time.perf_counter() - t
                with np.load(path) as arrays:
                    runs.append({k: arrays[k] for k in arrays.files})
                print(f"   {name}, process {process}: {child}")
                results.setdefault(name, {"children": []})["children"].append(child)
            first, second = runs
            checks = {
                "inference (same model, twice)": compare(
                    first["fit0_predict0"], first["fit0_predict1"]
                ),
                "training (same seed, same process)": compare(
                    first["fit0_predict0"], first["fit1_predict0"]
                ),
                "training (same seed, two processes)": compare(
                    first["fit0_predict0"], second["fit0_predict0"]
                ),
            }
            results[name]["checks"] = checks
            probas[name] = first["fit0_predict0"]
            for check, verdict in checks.items():
                print(f"   {name:<18} {check:<38} {verdict}")
        names = list(probas)
        verdict = compare(probas[names[0]], probas[names[1]])
        results["default vs deterministic ops"] = verdict
        print(f"   {names[0]} vs {names[1]}: {verdict}")
        agree = np.mean(
            probas[names[0]].argmax(axis=1) == probas[names[1]].argmax(axis=1)
        )
        results["label agreement default vs deterministic"] = float(agree)
        print(f"   predicted labels agree on {agree:.1%} of the epochs")
    out = os.environ.get("OUT")
    C.save_json(
        args.json or (out and os.path.join(out, "gpu_determinism.json")),
        info,
        results,
    )
    return results


if __name__ == "__main__":
    main()
