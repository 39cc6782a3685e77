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

Subcommands: ``demo``, ``train``, ``evaluate``, ``predict``, ``info``; see
``skdreamy <subcommand> --help``.
"""

import argparse
import contextlib
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


# --model NAME: pretrained stagers (skdreamy.pretrained) instead of a model file.
_PRETRAINED = ("yasa",)


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


def _model_source(text):
    """``--model``: a saved model file, or the name of a pretrained stager."""
    if text in _PRETRAINED:
        return text
    return _existing_path(text)


def _writable_file(text):
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: folder {str(path.parent)!r} does not exist"
        )
    return path


# The preset of train, evaluate and demo when --preset is left out: the best
# measured leave-one-subject-out (benchmarks/README.md, "Presets"), where
# make_pipeline() keeps the reference.
DEFAULT_PRESET = "features"


# -- shared steps ------------------------------------------------------------


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _cnn_prefixes(estimator):
    """The ``set_params`` prefixes of the CNN classifiers in a pipeline
    (``"classify__"``, or ``"vote__cnn__classify__"`` in the ensemble)."""
    from .classifier import SleepStageCNNClassifier

    return [
        f"{key}__"
        for key, value in estimator.get_params().items()
        if isinstance(value, SleepStageCNNClassifier)
    ]


def _cnn_settings(preset):
    """The classifier settings of the preset's CNN, or None without one."""
    from .pipeline import PRESETS

    settings = PRESETS[preset]
    for member in settings.get("members", (preset,)):
        if PRESETS[member]["model"] == "cnn":
            return PRESETS[member]["classifier"]
    return None


def _pipeline(args):
    from .callbacks import ProgressBar
    from .pipeline import make_pipeline

    pipe = make_pipeline(
        preset=args.preset,
        raw=True,
        n_per_class="auto" if args.n_per_class is None else args.n_per_class,
        random_state=args.random_state,
    )
    for prefix in _cnn_prefixes(pipe):
        pipe.set_params(
            **{
                f"{prefix}epochs": args.epochs,
                f"{prefix}batch_size": args.batch_size,
                f"{prefix}callbacks": [ProgressBar(disable=args.quiet)],
            }
        )
    return pipe


def _preset_defaults(args):
    """Fill --n-per-class and --epochs left out with the preset's values (left
    None where the preset has no single value: no CNN, or an ensemble)."""
    if getattr(args, "preset", None) is None:
        return  # before the import: `skdreamy info` must not load Keras
    from .pipeline import PRESETS

    n_per_class = PRESETS[args.preset]["n_per_class"]
    if args.n_per_class is None and isinstance(n_per_class, int):
        args.n_per_class = n_per_class
    cnn = _cnn_settings(args.preset)
    if args.epochs is None and cnn is not None:
        args.epochs = cnn["epochs"]


def _without_progress(estimator):
    """Drop the progress-bar callback before the model is saved."""
    for prefix in _cnn_prefixes(estimator):
        estimator.set_params(**{f"{prefix}callbacks": None})
    return estimator


def _training_summary(args):
    """How the pipeline trains, in words, for the progress messages."""
    balance = (
        "each stage balanced as the preset says"
        if args.n_per_class is None
        else f"balanced to {args.n_per_class} per stage"
    )
    if args.epochs is None:
        return balance
    return f"{balance}, {args.epochs} epochs"


def _plot_curves(args, pipe, path):
    """Training curves of the pipeline's (fitted) CNN; a note without one."""
    from .plotting import plot_training_curves

    vote = pipe.steps[-1][1]
    if hasattr(vote, "named_estimators_"):
        pipe = vote.named_estimators_.get("cnn")
    if pipe is None or not hasattr(pipe.steps[-1][1], "history_"):
        _say(args, f"No training curves: the {args.preset} preset has no CNN.")
        return
    plot_training_curves(pipe, path=path)


_MODEL_HELP = (
    "model file saved by 'skdreamy train' or skdreamy.save. Opening it runs no "
    "code from the file: only skdreamy, scikit-learn and imbalanced-learn "
    "classes, JSON parameters, arrays and a Keras network in safe mode are "
    "rebuilt; anything else is refused (see --trusted). Or 'yasa' for YASA's "
    "pretrained EEG stager (pip install 'skdreamy[yasa]'; each night staged "
    "whole)"
)
_TRUSTED_HELP = (
    "also open what a safe model file cannot hold: steps of your own, and "
    "version-1 model files (pickles). This RUNS CODE FROM THE FILE: use it "
    "only for a file whose origin you trust (that you or your team saved)"
)


def _add_model(parser, *, required):
    parser.add_argument(
        "--model", type=_model_source, required=required, help=_MODEL_HELP
    )
    parser.add_argument("--trusted", action="store_true", help=_TRUSTED_HELP)


def _load_model(args):
    """The model of --model: a pretrained stager by name, or the fitted
    classifier or pipeline in a saved file (one line if it is not)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from .persistence import load

    if args.model == "yasa":
        from .pretrained import YasaStager, _import_yasa

        try:
            _import_yasa()  # fail before reading the nights, in one line
        except ImportError as exc:
            raise CLIError(str(exc)) from exc
        return YasaStager()

    model = load(args.model, trusted=args.trusted)
    what = type(model).__name__
    if not (hasattr(model, "predict") and hasattr(model, "predict_proba")):
        raise CLIError(
            f"{str(args.model)!r} holds a {what}, not a classifier or pipeline "
            "that predicts sleep stages (save the fitted pipeline instead)"
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CLIError(
            f"{str(args.model)!r} holds an unfitted {what}: fit it before saving"
        ) from None
    return model


def _training_nights(args, data):
    """Warn when --data holds nights the --model was trained on."""
    from .persistence import _night_fingerprints, read_metadata

    card = read_metadata(args.model).get("model_card") or {}
    trained = set((card.get("training_data") or {}).get("night_fingerprints") or [])
    seen = _night_fingerprints(data.X, data.get("nights"))
    overlap = [i for i, fingerprint in enumerate(seen) if fingerprint in trained]
    if overlap:
        files = data.get("files")
        names = (
            [Path(str(files[i])).name for i in overlap]
            if files is not None and len(files) == len(seen)
            else [f"night {i}" for i in overlap]
        )
        print(
            f"skdreamy {args.command}: warning: {len(overlap)} of {len(seen)} "
            f"night(s) in --data were used to train this model "
            f"({', '.join(names)}): their scores are not a blind test.",
            file=sys.stderr,
            flush=True,
        )
    return len(overlap)


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


def _predict_by_night(model, data):
    """Predict each night of ``data`` on its own, in order (models such as
    YASA's use a night's context, so nights must not be staged as one)."""
    import numpy as np

    y_pred = np.empty(len(data.y), dtype=np.asarray(data.y).dtype)
    for night in np.unique(data.nights):
        rows = data.nights == night
        y_pred[rows] = model.predict(data.X[rows])
    return y_pred


def _demo(args):
    from sklearn.model_selection import train_test_split

    from .datasets import make_sleep_epochs
    from .metrics import sleep_scores
    from .report import write_report

    X, y = make_sleep_epochs(args.n_epochs, random_state=args.random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    _say(
        args,
        f"Training the {args.preset} pipeline on {len(y_train)} synthetic epochs "
        f"({_training_summary(args)}); "
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
    _plot_curves(args, pipe, Path(args.report) / "training_curves.png")
    _print_scores(args, scores, f"Held-out synthetic epochs ({len(y_test)}):")
    _say(args, f"Report written to {paths['json'].parent}/")
    return 0


def _train(args):
    from .persistence import save

    data = _load_data(args)
    pipe = _pipeline(args)
    start = time.perf_counter()
    pipe.fit(data.X, data.y)
    elapsed = time.perf_counter() - start
    _say(args, f"Trained in {elapsed:.0f} s.")
    if (
        "channels" not in data
        and data.files
        and str(data.files[0]).endswith((".edf", ".EDF"))
    ):
        data.channel = args.channel
    save(
        _without_progress(pipe),
        args.out,
        training_data=data,
        card={"preset": args.preset, "training_time_s": round(elapsed, 1)},
    )
    _say(args, f"Model saved to {args.out}")
    if args.curves is not None:
        _plot_curves(args, pipe, args.curves)
    return 0


def _evaluate(args):
    import numpy as np
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedKFold

    from .hypnogram import statistics_agreement
    from .metrics import cross_validate_stages, sleep_scores
    from .report import agreement_table, write_report

    data = _load_data(args)
    if args.model is not None:
        model = _load_model(args)
        n_training_nights = 0 if args.model == "yasa" else _training_nights(args, data)
        y_pred = _predict_by_night(model, data)
        scores = sleep_scores(data.y, y_pred)
        agreement = statistics_agreement(
            data.y, y_pred, nights=data.nights, onsets=data.onsets
        )
        extra = {
            "mode": "saved model",
            "model": str(args.model),
            "training_nights_in_data": n_training_nights,
        }
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
            nights=data.nights,
            onsets=data.onsets,
        )
        y_pred, scores = result.y_pred, result.scores
        agreement = result.statistics_agreement
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
    extra = {
        "command": _command_line(args),
        **extra,
        "data": str(args.data),
        "nights": [Path(f).name for f in data.files],
        "subjects": [str(s) for s in data.subjects],
    }
    if args.model is None:
        extra["settings"] = {
            "preset": args.preset,
            "n_per_class": "auto" if args.n_per_class is None else args.n_per_class,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "random_state": args.random_state,
        }
    extra["versions"] = _versions()
    paths = write_report(
        args.report,
        scores,
        data.y,
        y_pred,
        title="skdreamy evaluate",
        extra=extra,
        agreement=agreement,
    )
    _print_scores(args, scores, heading)
    if not args.quiet:
        print(
            f"Sleep statistics, predicted against expert, over "
            f"{len(agreement.nights)} night(s):\n\n{agreement_table(agreement)}\n"
        )
    _say(args, f"Report written to {paths['json'].parent}/")
    return 0


def _command_line(args):
    """The command as typed (``skdreamy evaluate --data ...``), for reports."""
    import shlex

    argv = getattr(args, "argv", None)
    argv = sys.argv[1:] if argv is None else argv
    return shlex.join(["skdreamy", *map(str, argv)])


def _versions():
    """Library versions and the Keras backend, as saved in model files."""
    from .persistence import _environment

    versions, backend = _environment()
    return {**versions, "keras_backend": backend}


def _output_format(args):
    """--format, or the one --out's suffix names (CSV otherwise)."""
    if args.format is not None:
        return args.format
    return {".edf": "edf", ".tsv": "tsv"}.get(args.out.suffix.lower(), "csv")


def _write_night(args, result, onsets, y_true, *, night_name):
    """Every output of ``predict``: computed first, then written (atomically).

    Returns the paths written.
    """
    import matplotlib.pyplot as plt

    from .hypnogram import fill_gaps
    from .plotting import (
        key_figures_text,
        plot_hypnogram,
        plot_probabilities,
        save_figure,
    )
    from .report import (
        night_statistics,
        write_edf_annotations,
        write_events_tsv,
        write_hypnogram_csv,
        write_statistics,
    )

    classes, proba, valid = result.classes, result.proba, result.valid
    night = fill_gaps(result.y_pred, onsets, proba=proba)
    expert = None if y_true is None else fill_gaps(y_true, onsets).hypnogram
    statistics = night_statistics(
        night.hypnogram, proba=night.proba, classes=classes, expert=expert
    )
    predicted = statistics["predicted"]
    fmt = _output_format(args)
    figure_path = args.out.with_name(args.out.stem + ".png")
    statistics_path = args.out.with_name(args.out.stem + ".statistics.json")

    y_pred = result.y_pred[valid].astype(classes.dtype)
    fig, axes = plt.subplots(
        2, 1, figsize=(12, 6.5), sharex=True, height_ratios=(1, 1), layout="constrained"
    )
    plot_hypnogram(
        y_pred,
        y_true=None if y_true is None else y_true[valid],
        onsets=onsets[valid],
        title=night_name,
        key_figures=predicted,
        ax=axes[0],
    )
    axes[0].tick_params(labelbottom=True)  # time ticks on every panel
    plot_probabilities(proba[valid], classes=classes, onsets=onsets[valid], ax=axes[1])

    if fmt == "csv":
        write_hypnogram_csv(
            args.out,
            result.y_pred,
            proba=proba,
            classes=classes,
            onsets=onsets,
            quality=result.reason,
        )
        written = [args.out]
    elif fmt == "edf":
        written = [write_edf_annotations(args.out, night.hypnogram, start=night.start)]
    else:
        paths = write_events_tsv(
            args.out,
            night.hypnogram,
            proba=night.proba,
            classes=classes,
            start=night.start,
        )
        written = [paths["tsv"], paths["json"]]
    save_figure(fig, figure_path)
    plt.close(fig)
    paths = write_statistics(statistics_path, statistics, title=night_name)
    written += [figure_path, paths["json"], paths["markdown"]]
    if not args.quiet:
        line = f"{night_name}: {key_figures_text(predicted)}"
        rem = predicted["%REM"]
        line += f" · REM {rem:.0f} % of TST" if rem == rem else ""
        confidence = statistics["confidence"]["mean_max_proba"]
        line += f" · mean confidence {confidence:.2f}"
        if expert is not None:
            line += f" (expert: {key_figures_text(statistics['expert'])})"
        print(line)
    return written


def _predict(args):
    import numpy as np

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

    model = _load_model(args)
    try:
        result = stage(model, X, invalid=args.invalid)
    except ValueError as exc:  # say it with the option's name
        if not _is_input_error(exc):
            raise
        raise CLIError(str(exc).replace("invalid='mark'", "--invalid mark")) from exc
    outputs = _write_night(
        args, result, onsets, y_true, night_name=(args.npz or args.edf).name
    )
    _say(
        args,
        f"Staged {int(result.valid.sum())} of {len(result.valid)} epochs: "
        + ", ".join(str(p) for p in outputs),
    )
    if y_true is not None:
        from .metrics import sleep_scores

        valid = result.valid
        y_pred = result.y_pred[valid].astype(result.classes.dtype)
        _print_scores(
            args, sleep_scores(y_true[valid], y_pred), "Against the hypnogram:"
        )
    return 0


def _info(args):
    import json

    from .persistence import read_metadata

    meta = read_metadata(args.model)
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        print(_describe_model(args.model, meta))
    return 0


def _describe_value(node):
    """A parameter of the manifest's model tree, for people."""
    if isinstance(node, list):
        return "[" + ", ".join(_describe_value(v) for v in node) + "]"
    if not isinstance(node, dict):
        return repr(node)
    if "__tuple__" in node:
        return "(" + ", ".join(_describe_value(v) for v in node["__tuple__"]) + ")"
    if "__estimator__" in node:
        return f"{node['__estimator__']}(...)"
    if "__numpy__" in node:
        return repr(node.get("value"))
    tags = [k for k in node if str(k).startswith("__")]
    if tags:
        return f"<{tags[0].strip('_')}>"
    return (
        "{" + ", ".join(f"{k!r}: {_describe_value(v)}" for k, v in node.items()) + "}"
    )


def _describe_estimator(node, indent="  "):
    if not isinstance(node, dict) or "__estimator__" not in node:
        return [f"{indent}{_describe_value(node)}"]
    params = node.get("params") if isinstance(node.get("params"), dict) else {}
    lines = [f"{indent}{node['__estimator__']}"]
    for key, value in params.items():
        if key == "steps" and isinstance(value, list):
            for step in value:
                pair = step.get("__tuple__") if isinstance(step, dict) else None
                if isinstance(pair, list) and len(pair) == 2:
                    lines.append(f"{indent}  step {pair[0]!r}:")
                    lines.extend(_describe_estimator(pair[1], indent + "    "))
        elif isinstance(value, dict) and "__estimator__" in value:
            lines.append(f"{indent}  {key}:")
            lines.extend(_describe_estimator(value, indent + "    "))
        else:
            lines.append(f"{indent}  {key} = {_describe_value(value)}")
    return lines


def _describe_model(path, meta):
    """The text of ``skdreamy info``."""
    version = meta.get("format_version")
    lines = [f"{path}: skdreamy model file, format version {version}"]
    if version == 1:
        lines.append(
            "  A version-1 file is a pickle: opening it runs code from the file. "
            "Open it only if you trust its origin (--trusted, or "
            "skdreamy.load(path, trusted=True)), then save it again."
        )
    lines.append(f"created: {meta.get('created')}")
    lines.append(f"estimator: {meta.get('estimator')}")
    lines.append(f"classes: {meta.get('classes')}")
    versions = meta.get("versions") or {}
    lines.append(f"Keras backend: {meta.get('keras_backend')}")
    lines.append(
        "versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    )
    if "model" in meta:
        lines.append("structure:")
        lines.extend(_describe_estimator(meta["model"]))
    card = meta.get("model_card")
    if isinstance(card, dict):
        lines.append("model card:")
        for key, value in card.items():
            if key == "training_data" and isinstance(value, dict):
                lines.append("  training data:")
                for k, v in value.items():
                    if k == "night_fingerprints" and isinstance(v, list):
                        v = f"{len(v)} night(s), SHA-256 " + ", ".join(
                            str(f)[:12] for f in v
                        )
                    lines.append(f"    {k}: {v}")
            else:
                lines.append(f"  {key}: {value}")
    return "\n".join(lines)


# -- parser ------------------------------------------------------------------


def _add_common(parser):
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print errors only: no progress, messages, warnings or scores",
    )
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")


def _add_training(parser, *, n_per_class=None, epochs=None, preset=DEFAULT_PRESET):
    from .pipeline import PRESETS  # no Keras: make_pipeline imports it when called

    group = parser.add_argument_group("training")

    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default=preset,
        help="pipeline settings (skdreamy.make_pipeline's preset; the user "
        "guide's 'Presets' says which to use when): 'features' (spectral "
        "features into a random forest; the best measured, seconds to "
        "train), 'ensemble' (soft voting of 'accurate' and 'features'), "
        "'accurate' (log power standardised per frequency, compact CNN, 100 "
        "per stage, 60 epochs) or 'reference' (min-max scaling, reference "
        "CNN, 1000 per stage, 25 epochs; the slowest) or 'gpu_fast' (the "
        "reference in batches of 128 with a warmed-up learning rate, for a GPU) "
        f"(default: {preset})",
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

    One subparser per subcommand (``demo``, ``train``, ``evaluate``, ``info``,
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
    # The demo shows the reference CNN (quick settings) and its training curves.
    _add_training(demo, n_per_class=200, epochs=3, preset="reference")
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
        help="train a pipeline (--preset) on scored nights and save it",
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
        "--data (a blind test). Without, cross-validate the --preset pipeline "
        "on them: subject-wise (default) or stratified by stage.",
    )
    _add_data(evaluate)
    _add_model(evaluate, required=False)
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
        description="Stage one night: write the hypnogram (--format: a CSV "
        "with onset, stage, five probabilities and a quality flag per epoch; "
        "EDF+ annotations; or a BIDS events TSV), and next to it a PNG "
        "(hypnogram and probabilities) and the night's sleep statistics "
        "(NAME.statistics.json and NAME.statistics.md). Prints one summary "
        "line (TST, SE, WASO, SOL).",
    )
    _add_model(predict, required=True)
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
    predict.add_argument(
        "--out",
        type=_writable_file,
        required=True,
        help="hypnogram file (the PNG and statistics go next to it)",
    )
    predict.add_argument(
        "--format",
        choices=("csv", "edf", "tsv"),
        default=None,
        help="hypnogram format: csv (skdreamy's per-epoch table), edf (EDF+ "
        "annotations, 'Sleep stage W' ... as Sleep-EDF writes them) or tsv "
        "(BIDS events: onset, duration, trial_type, probabilities) "
        "(default: from the suffix of --out, else csv)",
    )
    predict.add_argument(
        "--quiet",
        action="store_true",
        help="print errors only: no progress, messages, warnings or scores",
    )
    predict.set_defaults(func=_predict)

    info = sub.add_parser(
        "info",
        help="print a model file's versions, structure and model card",
        description="Print what a model file says about itself (format "
        "version, library versions, pipeline steps and their parameters, what "
        "it was trained on, scores) without loading it: no Keras import, and "
        "nothing in the file runs.",
    )
    info.add_argument(
        "model", type=_existing_path, metavar="MODEL", help="the model file to describe"
    )
    info.add_argument("--json", action="store_true", help="print the raw manifest")
    info.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    info.set_defaults(func=_info)
    return parser


def main(argv=None):
    """Entry point of the ``skdreamy`` console script.

    Parses ``argv`` with :func:`build_parser` and runs the subcommand. Errors
    in the input (a folder without nights, an unknown channel, a file that is
    not a model, NaN epochs with ``--invalid raise`` ...) are reported as one
    line, ``skdreamy <subcommand>: error: <message>``, on stderr; Ctrl-C
    prints ``skdreamy <subcommand>: interrupted``. Outputs are written
    atomically, so an error or an interruption leaves no partial file.

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

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (default: ``sys.argv[1:]``).

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
    args.argv = list(sys.argv[1:] if argv is None else argv)
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
