"""Subject-wise accuracy on Sleep-EDF Expanded (sleep cassette), for users who have it.

The same configurations and protocol as ``benchmarks/accuracy.py`` (pooled
accuracy, macro-F1, Cohen's kappa, N1 F1 over several seeds), on the Fpz-Cz
channel of Sleep-EDF nights read with :func:`skdreamy.datasets.load_sleep_edf`
(wake trimmed to 30 minutes around sleep, the convention of the published
results: AttnSleep 0.844 accuracy, TinySleepNet 0.854). Subjects are kept
apart with ``GroupKFold`` (``--folds``; 20-fold for the usual 20 subjects is
leave-one-subject-out).

Usage, with the PhysioNet files in a local folder (or ``--download`` to let
MNE fetch them when online)::

    python -m benchmarks.sleep_edf --path ~/sleep-cassette --subjects 0-19 \\
        --configs reference compact_log --seeds 0 1 2 --folds 20
"""

import argparse
from pathlib import Path

from benchmarks.accuracy import common_arguments, run_all


def _subjects(text):
    """``0-19`` or ``0,3,5`` to a list of subject numbers."""
    ids = []
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-")
            ids.extend(range(int(first), int(last) + 1))
        else:
            ids.append(int(part))
    return ids


def main(argv=None):
    from skdreamy.datasets import load_sleep_edf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--path", type=Path, help="folder of the PhysioNet files")
    where.add_argument(
        "--download", action="store_true", help="fetch with MNE (needs internet)"
    )
    parser.add_argument("--subjects", type=_subjects, default=list(range(20)))
    parser.add_argument("--recordings", type=_subjects, default=[1, 2])
    parser.add_argument("--channel", default="EEG Fpz-Cz")
    parser.add_argument("--folds", type=int, default=5)
    common_arguments(
        parser, default_out=Path(__file__).parent / "results" / "sleep_edf.jsonl"
    )
    args = parser.parse_args(argv)
    if not args.list and args.path is None and not args.download:
        parser.error("pass --path FOLDER (the PhysioNet files) or --download")

    def data():
        return load_sleep_edf(
            args.subjects,
            args.recordings,
            path=None if args.download else args.path,
            channel=args.channel,
            trim_wake=30,
            on_missing="warn",
        )

    return run_all(
        args,
        parser,
        data,
        n_folds=args.folds,
        source=f"Sleep-EDF SC subjects {args.subjects}",
    )


if __name__ == "__main__":
    raise SystemExit(main())
