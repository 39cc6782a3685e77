"""Does ``precision="mixed_bfloat16"`` change accuracy? (issue 6, item 2)

Leave-one-subject-out scores of configurations of ``benchmarks.accuracy``,
each run twice per seed: with the classifier in float32 and in
mixed_bfloat16, everything else (data, folds, seeds) equal. Prints the pooled
accuracy / macro-F1 / kappa per seed for both, and the paired differences.

Usage::

    python -m benchmarks.precision --configs reference_n200 --seeds 0 1 2
"""

import argparse
import time
from pathlib import Path

import numpy as np

from . import _common as C
from .accuracy import _configs, load, run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=C.DEFAULT_DATA)
    parser.add_argument("--configs", nargs="+", default=["reference_n200"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    info = C.header("accuracy of float32 vs mixed_bfloat16 (LOSO, real data)")
    S, y, groups, nights = load(args.data)
    print(f"   data     real: {len(y)} epochs, {len(np.unique(groups))} subjects")
    configs = _configs()
    results = {}
    for name in args.configs:
        config = configs[name]
        per = {}
        for precision in ("float32", "mixed_bfloat16"):

            def make(seed, shape, make=config.make, precision=precision):
                est = make(seed, shape)
                est.set_params(classify__precision=precision)
                return est

            t = time.perf_counter()
            per[precision] = run(
                name,
                type(config)(config.description, make, config.context),
                S,
                y,
                groups,
                nights,
                args.seeds,
                "subject",
            )
            print(f"   {name} {precision}: {time.perf_counter() - t:.0f} s", flush=True)
        rows = {}
        for precision, record in per.items():
            rows[precision] = {
                key: [r["scores"][key] for r in record["runs"]]
                for key in ("accuracy", "f1_macro", "cohen_kappa")
            }
            rows[precision]["seconds"] = [r["seconds"] for r in record["runs"]]
        results[name] = rows
        print(f"\n   {name}: pooled LOSO scores per seed {args.seeds}")
        for key in ("accuracy", "f1_macro", "cohen_kappa", "seconds"):
            a = np.array(rows["float32"][key])
            b = np.array(rows["mixed_bfloat16"][key])
            print(
                f"   {key:<12} float32 {np.round(a, 3).tolist()} mean {a.mean():.3f}"
                f" | bf16 {np.round(b, 3).tolist()} mean {b.mean():.3f} | "
                f"bf16 - fp32 {np.mean(b - a):+.3f} (sd {np.std(b - a):.3f})"
            )
    if args.json:
        pass
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
