"""Shared helpers of the benchmark scripts: environment, data, timing, memory.

Nothing here is part of the library. Every script prints a header that says
where and when it ran (:func:`header`), and says whether its data was real or
synthetic.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
# Set by the runner (python -m benchmarks run): the folder for every result.
OUT_VARIABLE = "SKDREAMY_BENCHMARK_OUT"

# The environment variables a result records: those that change the figures
# (threads, back end, precision, devices, data). An allow-list: a prefix
# filter once let a Terraform variable (TF_CLI_CONFIG_FILE) into the results.
RECORDED_ENV = frozenset(
    {
        "KERAS_BACKEND",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_ENABLE_ONEDNN_OPTS",
        "TF_DETERMINISTIC_OPS",
        "TF_XLA_FLAGS",
        "TF_NUM_INTEROP_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_GPU_ALLOCATOR",
        "XLA_FLAGS",
        "XLA_PYTHON_CLIENT_PREALLOCATE",
        "XLA_PYTHON_CLIENT_MEM_FRACTION",
        "JAX_PLATFORMS",
        "JAX_ENABLE_X64",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "KMP_AFFINITY",
        "KMP_BLOCKTIME",
        "PYTHONHASHSEED",
        "SKDREAMY_DATA",
    }
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def add_common_args(parser):
    """``--data``, ``--quick``/``--full``, ``--repeats`` and ``--json``."""
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help="folder of night .npz files (default: ../shared/data); synthetic "
        "epochs are used, and said, when it does not exist",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small, a few minutes")
    mode.add_argument("--full", action="store_true", help="the reported figures")
    parser.add_argument("--repeats", type=int, default=None, help="override")
    parser.add_argument("--json", default=None, help="also write results here")
    return parser


def versions():
    """Versions of Python and the libraries that matter for the figures."""
    out = {"python": platform.python_version()}
    for name in (
        "numpy",
        "scipy",
        "scikit-learn",
        "imbalanced-learn",
        "keras",
        "scikeras",
        "tensorflow",
        "tensorflow-cpu",
        "jax",
        "jaxlib",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def machine():
    """CPU model, usable cores, memory, load, BLAS env and Keras backend."""
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    env = recorded_env()
    return {
        "cpu": model,
        "cores": cores,
        "memory_gib": mem,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "env": env,
    }


def recorded_env(environ=None):
    """The variables of ``environ`` (default: this process') named in
    :data:`RECORDED_ENV`, and no others."""
    environ = os.environ if environ is None else environ
    return {k: environ[k] for k in sorted(RECORDED_ENV) if k in environ}


def git_commit():
    """Short hash of the checked-out commit (``+dirty`` with uncommitted
    changes to tracked files), or None outside a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance():
    """What every result file records: date, command, skdreamy version and
    git commit, machine, library versions and Keras back end."""
    import skdreamy

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "skdreamy": skdreamy.__version__,
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
    }


def output_path(filename, default=None):
    """Where a result file goes: the runner's folder when run by
    ``python -m benchmarks run``, else ``default`` (None: no file unless
    asked for)."""
    folder = os.environ.get(OUT_VARIABLE)
    if folder:
        return Path(folder) / filename
    return default


def header(title, args=None):
    """Print and return where, when and with what this benchmark ran."""
    info = {"benchmark": title, **provenance()}
    print(f"== {title}")
    print(f"   date     {info['date']}")
    print(f"   skdreamy {info['skdreamy']} at commit {info['commit']}")
    print(f"   command  {info['command']}")
    m = info["machine"]
    print(
        f"   machine  {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"load {m['loadavg']}"
    )
    if m["env"]:
        print(f"   env      {m['env']}")
    print("   versions " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    return info


def load_epochs(data, n=None, *, random_state=0):
    """Raw EEG epochs ``(n, 3000)`` and labels: the real nights of ``data``
    tiled to ``n`` rows (in a shuffled order), or synthetic epochs when the
    folder does not exist. Returns ``X, y, source`` (a sentence to print)."""
    import numpy as np

    from skdreamy.datasets import load_nights, make_sleep_epochs

    folder = Path(data)
    if folder.is_dir() and any(folder.glob("*.npz")):
        nights = load_nights(folder)
        X, y = nights.X, nights.y
        source = f"real: {len(y)} epochs of {len(nights.files)} nights in {folder}"
        if n is not None and n != len(y):
            rng = np.random.default_rng(random_state)
            idx = np.resize(rng.permutation(len(y)), n)
            X, y = X[idx], y[idx]
            source += f", repeated to {n}"
        return np.ascontiguousarray(X), y, source
    n = 1000 if n is None else n
    X, y = make_sleep_epochs(n, random_state=random_state)
    return X.astype(np.float32), y, f"SYNTHETIC: {n} make_sleep_epochs epochs"


def summarise(values):
    """Median, min, max, relative spread ((max-min)/median) and the values."""
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / med if med else float("nan"),
        "n": len(values),
        "values": list(values),
    }


def fmt(stat, unit="", digits=1):
    """``median [min-max] unit (n=..)`` of a :func:`summarise` dict."""
    return (
        f"{stat['median']:.{digits}f} [{stat['min']:.{digits}f}-"
        f"{stat['max']:.{digits}f}] {unit} (n={stat['n']})"
    ).replace("  ", " ")


def interleave(variants, repeats, *, label="", on_round=None):
    """Run ``variants`` (name -> zero-argument callable returning seconds or a
    dict with "seconds") in turn A B C A B C ..., ``repeats`` rounds, so that
    load changes on a shared machine hit every variant alike."""
    results = {name: [] for name in variants}
    for r in range(repeats):
        for name, run in variants.items():
            out = run()
            seconds = out["seconds"] if isinstance(out, dict) else out
            results[name].append(seconds)
            print(
                f"   {label}round {r + 1}/{repeats} {name:<28} {seconds:8.3f} s  "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        if on_round:
            on_round(r)
    return results


def rss_mib():
    """Current resident set size of this process in MiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(code, *, env=None, timeout=3600, executable=None):
    """Run Python ``code`` in a fresh interpreter (this one, or ``executable``;
    the repo on the path); it must print one JSON object on its last line,
    which is returned. A fresh process gives honest import times and peak
    memory."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    full_env.update(env or {})
    proc = subprocess.run(
        [executable or sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def save_json(path, info, results):
    """Write the header and the results as JSON: to ``path`` (``--json``), or
    under the runner to ``<its folder>/<script name>.json``."""
    path = path or output_path(f"{Path(sys.argv[0]).stem}.json")
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**info, "results": results}, indent=2, default=str))
    print(f"   wrote {path}")
