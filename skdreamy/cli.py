"""The ``skdreamy`` command line.

It only parses arguments and calls the same public functions a Python user
would (:func:`skdreamy.make_pipeline`, :mod:`skdreamy.datasets`,
:mod:`skdreamy.metrics`, :mod:`skdreamy.plotting`, :func:`skdreamy.save`).
Bad paths, unknown channels and malformed options end with exit status 2 and
one line on stderr; set the environment variable ``SKDREAMY_DEBUG=1`` to see
the full traceback instead. Anything else is a bug: its traceback is printed
and the exit status is 1 (see :func:`main` for the rule).

Inputs (folders, recordings, channels, night files) are read before Keras and
TensorFlow are imported, so that a mistake in them is reported at once.

Subcommands: ``demo``, ``train``, ``evaluate``, ``predict``; see
``skdreamy <subcommand> --help``.
"""

import argparse
import contextlib
import csv
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

from ._tf_output import filtered_stderr

_EXIT_BUG = 1
_EXIT_USAGE = 2
_EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class CLIError(Exception):
    """A user error reported as one line with exit status 2."""


# Modules whose ValueError / TypeError is a verdict on the input: skdreamy's
# own checks, scikit-learn's validation of parameters, arrays and labels, and
# its splitters' (more folds than subjects or than epochs of a stage). The
# same exception types raised anywhere else (inside Keras, TensorFlow,
# NumPy ...) are bugs as far as the command line can tell.
_INPUT_CHECKERS = (
    "skdreamy.",
    "sklearn.utils._param_validation",
    "sklearn.utils.validation",
    "sklearn.utils.multiclass",
    "sklearn.model_selection._split",
    "imblearn.utils._validation",
)


def _raised_in(exc):
    """The module name of the frame that raised ``exc`` (its innermost)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "")


def _is_input_error(exc):
    """Whether ``exc`` reports bad input (exit 2) rather than a bug (exit 1).

    - :class:`CLIError`: always (the command line's own checks).
    - :class:`OSError` (``FileNotFoundError``, ``PermissionError``, a full
      disk ...): always; it is about files and the machine, not the code.
    - :class:`ValueError` and :class:`TypeError` (scikit-learn's
      ``InvalidParameterError`` is both): when raised by skdreamy's code or
      by scikit-learn's validation (:data:`_INPUT_CHECKERS`), which is where
      inputs are checked. The same types raised inside Keras, TensorFlow or
      NumPy mean skdreamy passed something wrong on: a bug.
    - Anything else (``KeyError``, ``AssertionError`` ...): a bug.
    """
    if isinstance(exc, (CLIError, OSError)):
        return True
    if isinstance(exc, (ValueError, TypeError)):
        module = _raised_in(exc)
        return module == "skdreamy" or module.startswith(_INPUT_CHECKERS)
    return False


def _show_warning(command):
    """A ``warnings.showwarning`` that prints one line naming the command."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"skdreamy {command}: warning: {text}", file=sys.stderr, flush=True)

    return show


# -- argument types --------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _existing_path(text):
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    return path


def _writable_file(text):
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: folder {str(path.parent)!r} does not exist"
        )
    return path


# -- shared steps ------------------------------------------------------------


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _classifier(args):
    from .callbacks import ProgressBar
    from .classifier import SleepStageCNNClassifier
    from .pipeline import PRESETS

    return SleepStageCNNClassifier(
        **{
            **PRESETS[args.preset]["classifier"],
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "random_state": args.random_state,
            "callbacks": [ProgressBar(disable=args.quiet)],
        }
    )


def _pipeline(args):
    from .pipeline import make_pipeline

    return make_pipeline(
        preset=args.preset,
        raw=True,
        n_per_class=args.n_per_class,
        classifier=_classifier(args),
        random_state=args.random_state,
    )


def _preset_defaults(args):
    """Fill --n-per-class and --epochs left out with the preset's values."""
    from .pipeline import PRESETS

    if getattr(args, "preset", None) is None:
        return
    settings = PRESETS[args.preset]
    if args.n_per_class is None:
        args.n_per_class = settings["n_per_class"]
    if args.epochs is None:
        args.epochs = settings["classifier"]["epochs"]


def _without_progress(estimator):
    """Drop the progress-bar callback before the model is saved."""
    estimator.set_params(classify__callbacks=None)
    return estimator


def _load_data(args):
    from .datasets import load_folder

    data = load_folder(args.data, channel=args.channel, trim_wake=args.trim_wake)
    _say(
        args,
        f"Read {len(data.y)} epochs of {len(data.subjects)} subject(s) from "
        f"{len(data.files)} night(s) in {args.data}{_dropped_note(data)}.",
    )
    return data


def _dropped_note(data):
    """``"; left out: 3 movement, 1 unscored"`` from the loader's counts."""
    per_night = data.get("n_dropped") or []
    if isinstance(per_night, dict):
        per_night = [per_night]
    totals = {}
    for counts in per_night:
        for reason, n in counts.items():
            totals[reason] = totals.get(reason, 0) + int(n)
    parts = [f"{n} {reason.replace('_', ' ')}" for reason, n in totals.items() if n]
    return f"; left out: {', '.join(parts)}" if parts else ""


def _print_scores(args, scores, heading):
    from .report import scores_table

    if not args.quiet:
        print(f"{heading}\n\n{scores_table(scores)}\n")


# -- subcommands -------------------------------------------------------------


def _demo(args):
    from sklearn.model_selection import train_test_split

    from .datasets import make_sleep_epochs
    from .metrics import sleep_scores
    from .plotting import plot_training_curves
    from .report import write_report

    X, y = make_sleep_epochs(args.n_epochs, random_state=args.random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    _say(
        args,
        f"Training the {args.preset} pipeline on {len(y_train)} synthetic epochs "
        f"(balanced to {args.n_per_class} per stage, {args.epochs} epochs); "
        "synthetic data: these scores say nothing about real EEG.",
    )
    pipe = _pipeline(args).fit(X_train, y_train)
    y_pred = pipe.predict(X_test)
    scores = sleep_scores(y_test, y_pred)
    paths = write_report(
        args.report,
        scores,
        y_test,
        y_pred,
        title="skdreamy demo (synthetic EEG)",
        extra={"data": "synthetic (skdreamy.datasets.make_sleep_epochs)"},
    )
    plot_training_curves(pipe, path=Path(args.report) / "training_curves.png")
    _print_scores(args, scores, f"Held-out synthetic epochs ({len(y_test)}):")
    _say(args, f"Report written to {paths['json'].parent}/")
    return 0


def _train(args):
    from .persistence import save
    from .plotting import plot_training_curves

    data = _load_data(args)
    pipe = _pipeline(args)
    start = time.perf_counter()
    pipe.fit(data.X, data.y)
    _say(args, f"Trained in {time.perf_counter() - start:.0f} s.")
    save(_without_progress(pipe), args.out)
    _say(args, f"Model saved to {args.out}")
    if args.curves is not None:
        plot_training_curves(pipe, path=args.curves)
    return 0


def _evaluate(args):
    import numpy as np
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedKFold

    from .metrics import cross_validate_stages, sleep_scores
    from .report import write_report

    data = _load_data(args)
    if args.model is not None:
        from .persistence import load

        model = load(args.model)
        y_pred = model.predict(data.X)
        scores = sleep_scores(data.y, y_pred)
        extra = {"mode": "saved model", "model": str(args.model)}
        heading = f"Model {args.model} on {len(data.y)} epochs:"
    else:
        n_subjects = len(np.unique(data.groups))
        if args.cv == "subject":
            if n_subjects < 2:
                raise CLIError("--cv subject needs nights of at least 2 subjects")
            cv = (
                LeaveOneGroupOut()
                if args.folds >= n_subjects
                else GroupKFold(n_splits=args.folds)
            )
        else:
            cv = StratifiedKFold(
                n_splits=args.folds, shuffle=True, random_state=args.random_state
            )
        result = cross_validate_stages(
            _pipeline(args),
            data.X,
            data.y,
            groups=data.groups if args.cv == "subject" else None,
            cv=cv,
            progress=not args.quiet,
        )
        y_pred, scores = result.y_pred, result.scores
        extra = {
            "mode": f"{args.cv}-wise cross-validation",
            "cv": type(cv).__name__,
            "n_folds": len(result.fold_scores),
            "mean_fold_scores": result.mean_scores,
            "std_fold_scores": result.std_scores,
            "fold_scores": result.fold_scores,
        }
        heading = (
            f"{extra['mode']} ({extra['cv']}, {extra['n_folds']} folds), "
            "pooled over all epochs:"
        )
    extra.update(data=str(args.data), subjects=[str(s) for s in data.subjects])
    if args.model is None:
        extra["settings"] = {
            "preset": args.preset,
            "n_per_class": args.n_per_class,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "random_state": args.random_state,
        }
    paths = write_report(
        args.report, scores, data.y, y_pred, title="skdreamy evaluate", extra=extra
    )
    _print_scores(args, scores, heading)
    _say(args, f"Report written to {paths['json'].parent}/")
    return 0


def _predict(args):
    import matplotlib.pyplot as plt
    import numpy as np

    from ._stages import STAGE_NAMES, stage_name
    from .persistence import load
    from .plotting import plot_hypnogram, plot_probabilities, save_figure

    y_true = None
    if args.npz is not None:
        from .datasets import load_nights

        # NaN epochs reach stage(), which refuses or marks them (--invalid).
        night = load_nights(args.npz, allow_nonfinite=True)
        X, onsets, y_true = night.X, night.onsets, night.y
        if np.isnan(onsets).any():  # no onset_s in the file: consecutive epochs
            onsets = 30.0 * np.arange(len(X))  # the night format: 30-s epochs
    elif args.hypnogram is not None:
        from .datasets import read_night

        night = read_night(args.edf, args.hypnogram, channel=args.channel)
        X, onsets, y_true = night.X, night.onsets, night.y
    else:
        from .datasets import read_recording

        night = read_recording(args.edf, channel=args.channel)
        X, onsets = night.X, night.onsets
    from .staging import stage

    model = load(args.model)
    try:
        result = stage(model, X, invalid=args.invalid)
    except ValueError as exc:  # say it with the option's name
        if not _is_input_error(exc):
            raise
        raise CLIError(str(exc).replace("invalid='mark'", "--invalid mark")) from exc
    classes, proba = result.classes, result.proba
    names = [stage_name(c) for c in classes]
    columns = {name: None for name in STAGE_NAMES}  # W..REM first, in order
    columns.update({name: None for name in names})

    from ._io import atomic_open

    with atomic_open(args.out, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["onset_s", "stage", *(f"p_{n}" for n in columns), "quality"])
        for onset, label, row, reason in zip(
            onsets, result.y_pred, proba, result.reason, strict=True
        ):
            if label is None:
                writer.writerow([f"{onset:g}", "", *([""] * len(columns)), reason])
                continue
            by_name = dict(zip(names, row, strict=True))
            writer.writerow(
                [f"{onset:g}", stage_name(label)]
                + [f"{by_name.get(n, 0.0):.6f}" for n in columns]
                + [reason or "ok"]
            )
    valid = result.valid
    y_pred = result.y_pred[valid].astype(classes.dtype)
    figure_path = args.out.with_name(args.out.stem + ".png")
    fig, axes = plt.subplots(
        2, 1, figsize=(12, 6), sharex=True, height_ratios=(1, 1), layout="constrained"
    )
    plot_hypnogram(
        y_pred,
        y_true=None if y_true is None else y_true[valid],
        onsets=onsets[valid],
        ax=axes[0],
    )
    plot_probabilities(proba[valid], classes=classes, onsets=onsets[valid], ax=axes[1])
    save_figure(fig, figure_path)
    plt.close(fig)
    _say(
        args,
        f"Staged {len(y_pred)} of {len(valid)} epochs: {args.out} and {figure_path}",
    )
    if y_true is not None:
        from .metrics import sleep_scores

        _print_scores(
            args, sleep_scores(y_true[valid], y_pred), "Against the hypnogram:"
        )
    return 0


# -- parser ------------------------------------------------------------------


def _add_common(parser):
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print errors only: no progress, messages, warnings or scores",
    )
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")


def _add_training(parser, *, n_per_class=None, epochs=None):
    from .pipeline import PRESETS  # without Keras: checked by the tests

    group = parser.add_argument_group("training")
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="reference",
        help="pipeline settings (skdreamy.make_pipeline's preset): 'reference' "
        "(min-max scaling, reference CNN, 1000 per stage, 25 epochs) or "
        "'accurate' (log power standardised per frequency, compact CNN, 100 "
        "per stage, 60 epochs) (default: reference)",
    )
    group.add_argument(
        "--n-per-class",
        type=_positive_int,
        default=n_per_class,
        help="epochs per stage after balancing (default: "
        + (f"{n_per_class})" if n_per_class else "the preset's)"),
    )
    group.add_argument(
        "--epochs",
        type=_positive_int,
        default=epochs,
        help="training epochs (default: "
        + (f"{epochs})" if epochs else "the preset's)"),
    )
    group.add_argument(
        "--batch-size",
        type=_positive_int,
        default=16,
        help="training batch size (default: 16)",
    )


def _add_data(parser):
    parser.add_argument(
        "--data",
        type=_existing_path,
        required=True,
        help="folder of nights: .npz night files, or EDF recordings with "
        "hypnograms (NAME.edf + NAME-Hypnogram.edf, or Sleep-EDF names)",
    )
    parser.add_argument(
        "--channel",
        default="EEG Fpz-Cz",
        help="EEG channel of EDF recordings (default: 'EEG Fpz-Cz')",
    )
    parser.add_argument(
        "--trim-wake",
        type=float,
        default=None,
        metavar="MINUTES",
        help="keep only this much wake before the first and after the last "
        "sleep epoch of EDF nights (Sleep-EDF convention: 30) (default: keep "
        "all wake)",
    )


def build_parser():
    """The argument parser of the ``skdreamy`` command.

    One subparser per subcommand (``demo``, ``train``, ``evaluate``,
    ``predict``); ``skdreamy <subcommand> --help`` prints its help. Option
    types are checked while parsing: a missing input path, an output folder
    that does not exist or a count below 1 ends with argparse's usage message
    and exit status 2.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; ``parse_args`` returns a namespace whose ``command`` is the
        subcommand and whose ``func`` runs it.

    Examples
    --------
    >>> from skdreamy.cli import build_parser
    >>> args = build_parser().parse_args(["demo", "--epochs", "1", "--quiet"])
    >>> args.command, args.epochs, args.n_per_class, args.n_epochs, str(args.report)
    ('demo', 1, 200, 1200, 'skdreamy-demo')
    """
    parser = argparse.ArgumentParser(
        prog="skdreamy",
        description="Sleep staging (W, N1, N2, N3, REM) from single-channel EEG.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="train the reference pipeline on built-in synthetic EEG and report",
        description="Train the reference pipeline on synthetic EEG (no download) "
        "and write a report: report.json, report.md, confusion_matrix.png, "
        "training_curves.png.",
    )
    demo.add_argument(
        "--n-epochs",
        type=_positive_int,
        default=1200,
        help="synthetic epochs to generate (default: 1200)",
    )
    _add_training(demo, n_per_class=200, epochs=3)
    demo.add_argument(
        "--report",
        type=Path,
        default=Path("skdreamy-demo"),
        help="report folder, created if needed (default: skdreamy-demo)",
    )
    _add_common(demo)
    demo.set_defaults(func=_demo)

    train = sub.add_parser(
        "train",
        help="train the reference pipeline on scored nights and save it",
        description="Train on every scored night in --data and save the fitted "
        "pipeline (raw 30-s epochs in) to --out.",
    )
    _add_data(train)
    train.add_argument("--out", type=_writable_file, required=True, help="model file")
    train.add_argument(
        "--curves", type=_writable_file, default=None, help="training-curves PNG"
    )
    _add_training(train)
    _add_common(train)
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate",
        help="score a saved model on nights, or cross-validate",
        description="With --model, score that saved model on the nights in "
        "--data (a blind test). Without, cross-validate the reference pipeline "
        "on them: subject-wise (default) or stratified by stage.",
    )
    _add_data(evaluate)
    evaluate.add_argument(
        "--model",
        type=_existing_path,
        default=None,
        help="a saved model (skdreamy train) to score on --data; without it, "
        "cross-validate a new pipeline (default: cross-validate)",
    )
    evaluate.add_argument(
        "--cv",
        choices=("subject", "stratified"),
        default="subject",
        help="cross-validation without --model: 'subject' keeps each "
        "subject's nights in one fold (GroupKFold), 'stratified' splits "
        "epochs by stage (StratifiedKFold) (default: subject)",
    )
    evaluate.add_argument(
        "--folds",
        type=_positive_int,
        default=5,
        help="folds; subject-wise with at least as many as subjects means "
        "leave-one-subject-out (default: 5)",
    )
    evaluate.add_argument(
        "--report", type=Path, required=True, help="report folder (created)"
    )
    _add_training(evaluate)
    _add_common(evaluate)
    evaluate.set_defaults(func=_evaluate)

    predict = sub.add_parser(
        "predict",
        help="stage one night with a saved model",
        description="Stage one night: write a CSV (onset, stage, five "
        "probabilities and a quality flag per epoch) and a PNG (hypnogram and "
        "probabilities) next to it.",
    )
    predict.add_argument(
        "--model",
        type=_existing_path,
        required=True,
        help="a saved model (skdreamy train)",
    )
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--edf", type=_existing_path, help="recording to stage")
    source.add_argument("--npz", type=_existing_path, help="a night in .npz format")
    predict.add_argument(
        "--hypnogram",
        type=_existing_path,
        default=None,
        help="expert scoring of the --edf night: stage its scored epochs and compare",
    )
    predict.add_argument(
        "--channel",
        default="EEG Fpz-Cz",
        help="EEG channel of the --edf recording (default: 'EEG Fpz-Cz')",
    )
    predict.add_argument(
        "--invalid",
        choices=("raise", "mark"),
        default="raise",
        help="epochs with NaN/inf: stop with an error (default), or mark them "
        "(and flat or clipped ones) in the CSV and stage the rest",
    )
    predict.add_argument("--out", type=_writable_file, required=True, help="CSV file")
    predict.add_argument(
        "--quiet",
        action="store_true",
        help="print errors only: no progress, messages, warnings or scores",
    )
    predict.set_defaults(func=_predict)
    return parser


def main(argv=None):
    """Entry point of the ``skdreamy`` console script.

    Parses ``argv`` with :func:`build_parser` and runs the subcommand. Errors
    in the input (a folder without nights, an unknown channel, a file that is
    not a model, NaN epochs with ``--invalid raise`` ...) are reported as one
    line, ``skdreamy <subcommand>: error: <message>``, on stderr; Ctrl-C
    prints ``skdreamy <subcommand>: interrupted``. Outputs are written
    atomically, so an error or an interruption leaves no partial file.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (default: ``sys.argv[1:]``).

    Which errors are input errors (exit 2, one line) and which are bugs
    (exit 1, traceback): an input error is a :class:`CLIError`, an
    :class:`OSError`, or a :class:`ValueError` / :class:`TypeError` (such as
    scikit-learn's ``InvalidParameterError``) raised by skdreamy's or
    scikit-learn's input checks. The same types raised inside Keras,
    TensorFlow or NumPy, and every other exception (``KeyError``,
    ``AssertionError`` ...), are bugs. ``SKDREAMY_DEBUG=1`` shows the
    traceback of input errors too.

    Warnings are printed as one line, ``skdreamy <subcommand>: warning:
    <message>``; ``--quiet`` prints errors only. TensorFlow's known harmless
    log lines are dropped from stderr (``skdreamy/_tf_output.py``).

    Returns
    -------
    status : int
        0 on success, 1 on a bug (traceback on stderr), 2 on an input error
        (one line on stderr), 130 when interrupted (Ctrl-C).

    Raises
    ------
    SystemExit
        From argparse, with status 0 after ``--help`` and status 2 (usage
        and error message on stderr) for unknown or malformed options.

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> from skdreamy.cli import main
    >>> empty = tempfile.mkdtemp()  # a folder without nights
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = main(["train", "--data", empty, "--out", f"{empty}/m.skdreamy"])
    >>> status
    2
    >>> print(err.getvalue().strip())
    skdreamy train: error: ...: no nights found (neither .npz files nor EDF ...
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _preset_defaults(args)
    if getattr(args, "hypnogram", None) is not None and args.edf is None:
        parser.error("--hypnogram goes with --edf")
    with _sigint_noted() as interrupted:
        try:
            with _quiet_output(args), filtered_stderr():
                return args.func(args)
        except KeyboardInterrupt:
            pass
        except Exception as exc:
            if interrupted:
                pass  # Ctrl-C, which native code reported as another error
            elif os.environ.get("SKDREAMY_DEBUG"):
                raise
            elif _is_input_error(exc):
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                print(f"skdreamy {args.command}: error: {message}", file=sys.stderr)
                return _EXIT_USAGE
            else:
                traceback.print_exception(exc, file=sys.stderr)
                print(
                    f"skdreamy {args.command}: internal error ({type(exc).__name__}), "
                    "a bug in skdreamy or a library it uses: please report it with "
                    "the traceback above.",
                    file=sys.stderr,
                )
                return _EXIT_BUG
    print(f"skdreamy {args.command}: interrupted", file=sys.stderr)
    return _EXIT_INTERRUPTED


@contextlib.contextmanager
def _quiet_output(args):
    """Warnings as one line each; with ``--quiet``, none, and TensorFlow's
    Python logging only from ERROR up."""
    import logging

    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
            tf_logger.setLevel(logging.ERROR)
        else:
            warnings.showwarning = _show_warning(args.command)
        try:
            yield
        finally:
            tf_logger.setLevel(level)


@contextlib.contextmanager
def _sigint_noted():
    """Note each SIGINT (Ctrl-C) during the block; it still raises
    KeyboardInterrupt. Native code interrupted by it may turn that into
    another error (TensorFlow inside a training step: a SystemError, or
    "None values not supported"); the note tells :func:`main` the user
    pressed Ctrl-C. Only where Python's default handler is in place (the main
    thread; not where SIGINT is ignored)."""
    noted = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield noted
        return

    def handler(signum, frame):
        noted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run():
    """Console-script entry point: :func:`main`, then exit with its status.

    After Ctrl-C the process ends at once (``os._exit``, streams flushed)
    instead of finalising the interpreter: a Keras backend interrupted in the
    middle of a computation may crash while its native threads are torn down
    (JAX on the CPU did, with a segmentation fault instead of status 130).
    :func:`main` has already removed every partial output by then.

    Raises
    ------
    SystemExit
        Always, with :func:`main`'s status (except after Ctrl-C, see above).

    Examples
    --------
    ``run`` reads ``sys.argv`` like the installed ``skdreamy`` command:

    >>> import contextlib, io, sys, tempfile
    >>> from unittest import mock
    >>> from skdreamy.cli import run
    >>> empty = tempfile.mkdtemp()  # a folder without nights
    >>> argv = ["skdreamy", "train", "--data", empty, "--out", f"{empty}/m.skdreamy"]
    >>> with mock.patch.object(sys, "argv", argv):
    ...     with contextlib.redirect_stderr(io.StringIO()):
    ...         try:
    ...             run()
    ...         except SystemExit as exit:
    ...             print("exit status", exit.code)
    exit status 2
    """
    status = main()
    if status == _EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe
                stream.flush()
        os._exit(status)
    sys.exit(status)


__all__ = ["CLIError", "build_parser", "main", "run"]


if __name__ == "__main__":
    run()
