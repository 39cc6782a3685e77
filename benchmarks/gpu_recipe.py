"""Issue 19: the reference protocol at batch 16 vs the large-batch GPU recipe.

Three subcommands; ``benchmarks/gpu_session.sh`` (step ``recipe``) runs them
in the order that fits one GPU session::

    python -m benchmarks.gpu_recipe cv --recipe gpu_fast --seeds 0 --out W/a.jsonl
    python -m benchmarks.gpu_recipe cv --recipe reference --seeds 0 1 2 \\
        --shard 0/6 --concurrent 8 --out W/b0.jsonl      # and 1/6 ... 5/6
    python -m benchmarks.gpu_recipe time --recipe reference --fits 2 --out W/t.jsonl
    python -m benchmarks.gpu_recipe summarise W/*.jsonl --json OUT/gpu_recipe.json

``cv`` fits a recipe on the real DREAMS excerpts (``--data``) fold by fold:
the reference's stratified 5-fold split (``StratifiedKFold(5, shuffle=True,
random_state=seed)``, as ``benchmarks/accuracy.py --split stratified``) and
leave-one-subject-out (6 folds), for each seed; each fold is a fresh
``make_pipeline(preset=..., random_state=seed)`` (scaling, balancing to 1000
per stage, 25 training epochs), its ``fit`` timed, and one JSON line written
per fold (its predictions, so that the scores are pooled later).
``--shard i/n`` runs every n-th (seed, split, fold) task, so that n
processes share the work. ``time`` fits a recipe ``--fits`` times on one
training fold, for its time per fit alone on the device. ``--concurrent N``
records that N processes shared the device, so ``summarise`` keeps those
times apart from the ones measured alone.

``summarise`` pools the folds of each complete (recipe, split, seed) into
accuracy, macro-F1 and kappa (:func:`skdreamy.metrics.sleep_scores`), then
gives per recipe and split the mean, standard deviation and range over
seeds, the median time per fit measured alone (the first fit of each
process, which includes XLA's compilation, reported apart), the device,
versions and commit; and the issue's verdict: time per fit <= 8 s, and
every score of the fast recipe at least the lowest of the baseline's seeds
(within the seed-to-seed spread, or better).

``--quick`` (CPU check of the plumbing: 10 epochs per stage, 1 training
epoch) scores nothing.
"""

import argparse
import json
import platform
import subprocess
import time
import warnings
from pathlib import Path

from . import _common as C

GOAL_SECONDS = 8.0
METRICS = ("accuracy", "f1_macro", "cohen_kappa")

# name -> (description, make_pipeline keyword arguments, classifier overrides)
RECIPES = {
    "reference": (
        "the reference protocol: min-max, 1000/stage, reference CNN, Adam 1e-3, "
        "batch 16, 25 epochs, float32",
        {"preset": "reference"},
        {},
    ),
    "gpu_fast": (
        "make_pipeline(preset='gpu_fast'): the reference with batch 128, Adam "
        "rate 1e-3 * sqrt(128/16), linear warm-up over 3 epochs, float32",
        {"preset": "gpu_fast"},
        {},
    ),
    "gpu_fast_bf16": (
        "gpu_fast in mixed_bfloat16",
        {"preset": "gpu_fast"},
        {"precision": "mixed_bfloat16"},
    ),
    "gpu_fast_b256": (
        "gpu_fast with batch 256 (rate 1e-3 * sqrt(16)), warm-up 3 epochs",
        {"preset": "gpu_fast"},
        {"batch_size": 256},
    ),
}


def make_recipe(name, seed, *, quick=False):
    """The unfitted pipeline of recipe ``name`` seeded with ``seed``."""
    from skdreamy import make_pipeline

    _, kwargs, overrides = RECIPES[name]
    pipe = make_pipeline(**kwargs, random_state=seed)
    params = {f"classify__{key}": value for key, value in overrides.items()}
    if quick:
        params.update(balance__n_per_class=10, classify__epochs=1)
    return pipe.set_params(**params)


def recipe_params(name, *, quick=False):
    """The classifier parameters of a recipe that differ from the defaults."""
    from skdreamy import SleepStageCNNClassifier

    default = SleepStageCNNClassifier().get_params()
    params = make_recipe(name, 0, quick=quick)["classify"].get_params()
    return {
        key: value
        for key, value in params.items()
        if key != "random_state" and repr(value) != repr(default[key])
    }


def _load(data):
    from .accuracy import load

    S, y, groups, _ = load(Path(data))
    return S.reshape(len(S), -1), y, groups


def _splitter(split, seed):
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    if split == "stratified":
        return StratifiedKFold(5, shuffle=True, random_state=seed)
    return LeaveOneGroupOut()


def _device():
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        return [f"{backend} backend (devices not listed)"]
    import jax

    return [str(d) for d in jax.devices()]


def _append(path, record):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        file.write(json.dumps(record, default=str) + "\n")


def _tasks(X, y, groups, seeds, splits):
    """Every (seed, split, fold) in a fixed order, with its indices."""
    for seed in seeds:
        for split in splits:
            cv = _splitter(split, seed)
            folds = list(cv.split(X, y, groups if split == "subject" else None))
            for fold, (train, test) in enumerate(folds):
                yield seed, split, fold, len(folds), train, test


def cmd_cv(args):
    shard, n_shards = (int(v) for v in args.shard.split("/"))
    X, y, groups = _load(args.data)
    tasks = list(_tasks(X, y, groups, args.seeds, args.splits))[shard::n_shards]
    for i, (seed, split, fold, n_folds, train, test) in enumerate(tasks):
        pipe = make_recipe(args.recipe, seed, quick=args.quick)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            pipe.fit(X[train], y[train])
            fit_time = time.perf_counter() - start
            y_pred = pipe.predict(X[test])
        record = {
            "kind": "fold",
            "recipe": args.recipe,
            "split": split,
            "seed": seed,
            "fold": fold,
            "n_folds": n_folds,
            "quick": args.quick,
            "concurrent": args.concurrent,
            "first_fit_compiles": i == 0,
            "fit_time": [fit_time],
            "test": test.tolist(),
            "y_true": y[test].tolist(),
            "y_pred": y_pred.tolist(),
            "device": _device(),
            "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        _append(args.out, record)
        accuracy = float((y_pred == y[test]).mean())
        print(
            f"   {args.recipe} {split} seed {seed} fold {fold + 1}/{n_folds}: "
            f"fit {fit_time:.2f} s, accuracy {accuracy:.3f}",
            flush=True,
        )
    return 0


def cmd_time(args):
    X, y, _ = _load(args.data)
    train, _ = next(_splitter("stratified", 0).split(X, y))
    times = []
    for _ in range(args.fits):
        pipe = make_recipe(args.recipe, 0, quick=args.quick)
        start = time.perf_counter()
        pipe.fit(X[train], y[train])
        times.append(time.perf_counter() - start)
        print(f"   {args.recipe}: fit {times[-1]:.2f} s", flush=True)
    _append(
        args.out,
        {
            "kind": "time",
            "recipe": args.recipe,
            "quick": args.quick,
            "concurrent": args.concurrent,
            "first_fit_compiles": True,
            "fit_time": times,
            "device": _device(),
        },
    )
    return 0


def _stats(values):
    import numpy as np

    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
        "n": len(values),
        "values": values.tolist(),
    }


def _pooled(records):
    """Pooled scores of each complete (recipe, split, seed); the incomplete."""
    import numpy as np

    from skdreamy.metrics import sleep_scores

    runs = {}
    for record in records:
        if record["kind"] == "fold":
            key = (record["recipe"], record["split"], record["seed"])
            runs.setdefault(key, {})[record["fold"]] = record
    pooled, incomplete = {}, {}
    for key, folds in sorted(runs.items()):
        n_folds = next(iter(folds.values()))["n_folds"]
        if sorted(folds) != list(range(n_folds)):
            incomplete[" ".join(map(str, key))] = f"{len(folds)} of {n_folds} folds"
            continue
        y_true = np.concatenate([folds[k]["y_true"] for k in range(n_folds)])
        y_pred = np.concatenate([folds[k]["y_pred"] for k in range(n_folds)])
        scores = sleep_scores(y_true, y_pred)
        pooled[key] = {
            **{name: scores[name] for name in METRICS},
            "per_class_f1": scores["per_class_f1"],
            "n_epochs": scores["n_epochs"],
            "fold_accuracy": [
                float(np.mean(np.equal(folds[k]["y_true"], folds[k]["y_pred"])))
                for k in range(n_folds)
            ],
        }
    return pooled, incomplete


def summarise(records):
    """Scores and times per recipe and split, and the issue's verdict."""
    alone, alone_first, shared = {}, {}, {}
    for record in records:
        recipe = record["recipe"]
        times = list(record["fit_time"])
        if record.get("first_fit_compiles") and times:
            if record["concurrent"] == 1:
                alone_first.setdefault(recipe, []).append(times[0])
            times = times[1:]
        bucket = alone if record["concurrent"] == 1 else shared
        bucket.setdefault(recipe, []).extend(times)
    pooled, incomplete = _pooled(records)
    scores = {}
    for (recipe, split, seed), result in pooled.items():
        per_split = scores.setdefault(recipe, {}).setdefault(split, {})
        for key in METRICS:
            per_split.setdefault(key, []).append(result[key])
        per_split.setdefault("seeds", []).append(seed)
    table = {}
    for recipe in sorted({r["recipe"] for r in records}):
        entry = {"description": RECIPES[recipe][0], "splits": {}}
        for split, values in scores.get(recipe, {}).items():
            entry["splits"][split] = {
                "seeds": values["seeds"],
                **{key: _stats(values[key]) for key in METRICS},
            }
        if alone.get(recipe):
            entry["fit_seconds_alone"] = C.summarise(alone[recipe])
        if alone_first.get(recipe):
            entry["first_fit_seconds_alone"] = alone_first[recipe]
        if shared.get(recipe):
            entry["fit_seconds_shared"] = C.summarise(shared[recipe])
        table[recipe] = entry
    verdict = {}
    base = table.get("reference", {})
    for recipe, entry in table.items():
        if recipe == "reference":
            continue
        checks = {}
        seconds = entry.get("fit_seconds_alone", {}).get("median")
        checks["fit_seconds_alone_median"] = seconds
        checks["time_met"] = None if seconds is None else seconds <= GOAL_SECONDS
        for split, stats in entry["splits"].items():
            reference = base.get("splits", {}).get(split)
            if not reference:
                continue
            for key in METRICS:
                checks[f"{split} {key}"] = {
                    "fast_mean": stats[key]["mean"],
                    "baseline_min": reference[key]["min"],
                    "baseline_mean": reference[key]["mean"],
                    "baseline_sd": reference[key]["sd"],
                    "kept": stats[key]["mean"] >= reference[key]["min"],
                }
        kept = [v["kept"] for v in checks.values() if isinstance(v, dict)]
        checks["accuracy_met"] = all(kept) if kept else None
        checks["rule"] = (
            f"fit <= {GOAL_SECONDS} s alone (median, each process' first fit "
            "left out) and, on each split, every mean score >= the lowest "
            "baseline seed"
        )
        verdict[recipe] = checks
    runs = {" ".join(map(str, key)): value for key, value in pooled.items()}
    return {
        "recipes": table,
        "verdict": verdict,
        "runs": runs,
        "incomplete": incomplete,
    }


def markdown(summary):
    """The README table: one row per recipe and split."""
    lines = [
        "| recipe | split | seeds | accuracy | macro-F1 | kappa | fit s (alone) |",
        "|---|---|---:|---|---|---|---|",
    ]
    for recipe, entry in summary["recipes"].items():
        t = entry.get("fit_seconds_alone")
        fit = f"{t['median']:.1f} [{t['min']:.1f}-{t['max']:.1f}]" if t else "-"
        for split, stats in entry["splits"].items():
            cells = [
                f"{stats[k]['mean']:.3f} ± {stats[k]['sd']:.3f} "
                f"[{stats[k]['min']:.3f}-{stats[k]['max']:.3f}]"
                for k in METRICS
            ]
            lines.append(
                f"| {recipe} | {split} | {len(stats['seeds'])} | "
                + " | ".join(cells)
                + f" | {fit} |"
            )
    return "\n".join(lines)


def _nvidia_smi():
    try:
        out = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi unavailable: {exc}"
    return out.stdout.strip() or out.stderr.strip()


def _commit(path):
    if path and Path(path).is_file():
        return Path(path).read_text().strip()
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=C.REPO,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def cmd_summarise(args):
    info = C.header("GPU recipe vs reference protocol (issue 19)", args)
    records = []
    for path in args.inputs:
        with open(path) as file:
            records.extend(json.loads(line) for line in file if line.strip())
    if not records:
        print("   no records")
        return 1
    summary = summarise(records)
    table = markdown(summary)
    print(table)
    print(json.dumps(summary["verdict"], indent=1))
    if summary["incomplete"]:
        print(f"   incomplete (not scored): {summary['incomplete']}")
    info.update(
        device=sorted({d for r in records for d in r.get("device", [])}),
        nvidia_smi=_nvidia_smi(),
        commit=_commit(args.commit_file),
        host=platform.node(),
        quick=any(r.get("quick") for r in records),
    )
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    C.save_json(args.json, info, {**summary, "records": records})
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("cv", "time"):
        p = sub.add_parser(name)
        p.add_argument("--recipe", choices=sorted(RECIPES), required=True)
        p.add_argument("--data", default=str(C.DEFAULT_DATA))
        p.add_argument("--out", required=True)
        p.add_argument("--quick", action="store_true")
        p.add_argument(
            "--concurrent",
            type=int,
            default=1,
            help="processes sharing the device during this run (for the record)",
        )
        if name == "cv":
            p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
            p.add_argument(
                "--shard",
                default="0/1",
                help="i/n: run only the (seed, split, fold) tasks i, i+n, ...",
            )
            p.add_argument(
                "--splits",
                nargs="+",
                choices=("stratified", "subject"),
                default=["stratified", "subject"],
            )
        else:
            p.add_argument("--fits", type=int, default=2)
    p = sub.add_parser("summarise")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    p.add_argument("--commit-file", default=None)
    args = parser.parse_args(argv)
    if args.command != "summarise" and not any(Path(args.data).glob("*.npz")):
        parser.error(f"no .npz nights in {args.data}; pass --data")
    return {"cv": cmd_cv, "time": cmd_time, "summarise": cmd_summarise}[args.command](
        args
    )


if __name__ == "__main__":
    raise SystemExit(main())
