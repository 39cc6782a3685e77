"""Run skdreamy's benchmarks: one runner for every script in benchmarks/.

Usage (from the repository root)::

    python -m benchmarks list                      # every benchmark, one line each
    python -m benchmarks run spectrogram night     # these, with their defaults
    python -m benchmarks run --all --quick         # all of them (GPU ones: --gpu)
    python -m benchmarks run accuracy -- --configs reference_n200 --seeds 0

The contract (nothing to register): a benchmark is a module
``benchmarks/<name>.py`` (``name`` not starting with ``_``) with a module
docstring whose first line says what it measures, and a top-level
``main(argv=None)`` returning its exit status. A module that needs a GPU says
so with ``REQUIRES = "gpu"``; ``--all`` skips it unless ``--gpu`` is given.
Modules are found by reading their source, not importing it.

Each benchmark runs in its own process (``python -m benchmarks.<name>``), so
that none inherits another's TensorFlow state or memory; ``--quick`` or
``--full`` is passed on to the benchmarks that take it, and the arguments
after ``--`` to every one. Results go to one folder the runner names,
``benchmarks/results/<date>-<commit>-<suite>/`` (``--suite``, default: the
benchmark's name, or ``all``): each script writes its JSON there
(:func:`benchmarks._common.output_path`), and the runner adds ``run.json``
with what ran, where, on which commit, and how each benchmark ended.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import _common as C

HERE = Path(__file__).resolve().parent


def discover(folder=HERE):
    """The benchmarks of ``folder``: name -> {"description", "requires", "modes"}.

    Read from the source (the module is not imported): the first line of the
    module docstring, the string constant ``REQUIRES`` if any, and whether the
    script takes ``--quick``/``--full`` (through
    :func:`benchmarks._common.add_common_args` or its own options).
    """
    found = {}
    for path in sorted(Path(folder).glob("*.py")):
        if path.name.startswith("_"):
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        has_main = any(
            isinstance(node, ast.FunctionDef) and node.name == "main"
            for node in tree.body
        )
        doc = ast.get_docstring(tree)
        if not has_main or not doc:
            continue
        requires = None
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "REQUIRES" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                requires = node.value.value
        found[path.stem] = {
            "description": doc.strip().splitlines()[0],
            "requires": requires,
            "modes": "add_common_args" in source or '"--quick"' in source,
        }
    return found


def results_folder(suite, *, root=C.RESULTS, when=None):
    """``<root>/<YYYYMMDD>-<commit>-<suite>``; the commit is ``nogit`` outside
    a checkout and ends in ``+dirty`` with uncommitted changes."""
    when = time.localtime() if when is None else when
    commit = C.git_commit() or "nogit"
    return Path(root) / f"{time.strftime('%Y%m%d', when)}-{commit}-{suite}"


def _parser(benchmarks):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the benchmarks")
    run = sub.add_parser("run", help="run benchmarks, each in its own process")
    run.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
    run.add_argument("--all", action="store_true", help="every benchmark")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small: minutes")
    mode.add_argument("--full", action="store_true", help="the reported figures")
    run.add_argument("--gpu", action="store_true", help="with --all: GPU ones too")
    run.add_argument("--suite", default=None, help="the results folder's last part")
    run.add_argument("--out", type=Path, default=None, help="results folder")
    return parser


def main(argv=None):
    """``list`` or ``run`` (see the module docstring); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    passed_on = []
    if "--" in argv:
        at = argv.index("--")
        argv, passed_on = argv[:at], argv[at + 1 :]
    benchmarks = discover()
    parser = _parser(benchmarks)
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, spec in benchmarks.items():
            needs = f" [needs {spec['requires']}]" if spec["requires"] else ""
            print(f"{name:<18} {spec['description']}{needs}")
        return 0
    if args.all == bool(args.names):
        parser.error("name the benchmarks to run, or give --all")
    unknown = sorted(set(args.names) - set(benchmarks))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; see: python -m benchmarks list")
    names = args.names or [
        n for n, spec in benchmarks.items() if spec["requires"] is None or args.gpu
    ]
    skipped = sorted(set(benchmarks) - set(names)) if args.all else []
    suite = args.suite or ("all" if args.all else "-".join(names)[:40])
    out = args.out or results_folder(suite)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{C.OUT_VARIABLE: str(out)})
    env["PYTHONPATH"] = os.pathsep.join(
        [str(C.REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    mode = ["--full"] if args.full else ["--quick"] if args.quick else []
    record = {
        **C.provenance(),
        "suite": suite,
        "skipped": {n: f"needs {benchmarks[n]['requires']}" for n in skipped},
        "runs": {},
    }
    for name in names:
        cmd = [sys.executable, "-m", f"benchmarks.{name}"]
        cmd += (mode if benchmarks[name]["modes"] else []) + passed_on
        start = time.perf_counter()
        code = subprocess.call(cmd, env=env, cwd=C.REPO)
        seconds = round(time.perf_counter() - start, 1)
        record["runs"][name] = {"command": cmd[1:], "exit": code, "seconds": seconds}
        print(f"   [{name}: {seconds:.0f} s, exit {code}]\n", flush=True)
        (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    failed = [n for n, r in record["runs"].items() if r["exit"]]
    print(
        f"== {len(names) - len(failed)}/{len(names)} benchmarks done; results in "
        f"{out}"
        + (f"; FAILED: {failed}" if failed else "")
        + (f"; skipped (needs a GPU; --gpu): {skipped}" if skipped else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
