"""The skdreamy command line, end to end in subprocesses with tiny settings."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from sklearn.linear_model import LogisticRegression

from skdreamy import make_pipeline, save
from skdreamy.cli import DEFAULT_PRESET, main
from skdreamy.datasets import make_sleep_epochs
from tests._edf_files import scoring, write_hypnogram, write_psg
from tests.conftest import write_night, write_nights

REPORT_KEYS = {
    "accuracy",
    "f1_micro",
    "f1_macro",
    "cohen_kappa",
    "per_class_f1",
    "confusion_matrix",
    "n_epochs",
}
# A CNN preset, trained for one epoch (the default preset has no CNN).
TINY = ["--preset", "accurate", "--epochs", "1", "--n-per-class", "10", "--quiet"]


def run_cli(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "skdreamy", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )


def assert_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Three synthetic nights of two subjects in the .npz night format."""
    return write_nights(tmp_path_factory.mktemp("nights"), ["s1", "s2", "s1"], 40)


@pytest.fixture(scope="module")
def model(nights, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.skdreamy"
    curves = out.with_name("curves.png")
    result = run_cli("train", "--data", nights, "--out", out, "--curves", curves, *TINY)
    assert result.returncode == 0, result.stderr
    assert_png(curves)
    return out


@pytest.mark.slow
def test_demo_writes_a_report(tmp_path):
    report = tmp_path / "demo"
    result = run_cli(
        "demo",
        "--preset",
        "accurate",
        "--n-epochs",
        "100",
        "--n-per-class",
        "10",
        "--epochs",
        "1",
        "--report",
        report,
    )
    assert result.returncode == 0, result.stderr
    scores = json.loads((report / "report.json").read_text())
    assert set(scores) >= REPORT_KEYS
    assert scores["n_epochs"] == 25
    assert "accuracy" in result.stdout and "| per stage |" in result.stdout
    assert_png(report / "confusion_matrix.png")
    assert_png(report / "training_curves.png")


@pytest.mark.slow
def test_train_saves_a_loadable_model(model, nights):
    from skdreamy import load
    from skdreamy.datasets import load_nights

    pipe = load(model)
    assert pipe.steps[0][0] == "spectrogram"
    assert pipe["classify"].callbacks is None  # no progress bar pickled
    data = load_nights(nights)
    assert pipe.predict(data.X[:7]).shape == (7,)


@pytest.mark.slow
def test_train_with_the_default_preset(nights, tmp_path):
    from skdreamy import load
    from skdreamy.datasets import load_nights

    out = tmp_path / "default.skdreamy"
    curves = tmp_path / "curves.png"
    result = run_cli("train", "--data", nights, "--out", out, "--curves", curves)
    assert result.returncode == 0, result.stderr
    assert "no CNN" in result.stderr and not curves.exists()
    pipe = load(out)
    assert [name for name, _ in pipe.steps] == [
        "spectrogram",
        "features",
        "balance",
        "classify",
    ]
    assert pipe.get_params()["classify__random_state"] == 0  # --random-state
    data = load_nights(nights)
    assert pipe.predict_proba(data.X[:5]).shape == (5, 5)


@pytest.mark.slow
def test_train_with_the_accurate_preset(nights, tmp_path):
    from skdreamy import load

    out = tmp_path / "accurate.skdreamy"
    result = run_cli(
        "train", "--data", nights, "--out", out, "--preset", "accurate", "--epochs", "1"
    )
    assert result.returncode == 0, result.stderr
    params = load(out).get_params()
    assert params["classify__architecture"] == "compact"
    assert params["classify__epochs"] == 1  # the option wins over the preset
    assert params["balance__n_per_class"] == 100  # the preset's
    assert params["scale__log"] is True


def test_preset_fills_the_options_left_out():
    from skdreamy.cli import _preset_defaults, build_parser

    parser = build_parser()
    for preset, n_per_class, epochs in (
        ("reference", 1000, 25),
        ("accurate", 100, 60),
        ("features", None, None),  # no CNN; no balancing (the preset's)
        ("ensemble", None, 60),  # each member balances as its preset says
    ):
        args = parser.parse_args(
            ["train", "--data", ".", "--out", "m", "--preset", preset]
        )
        _preset_defaults(args)
        assert (args.n_per_class, args.epochs) == (n_per_class, epochs)
    args = parser.parse_args(
        ["evaluate", "--data", ".", "--report", "r", "--epochs", "2"]
    )
    _preset_defaults(args)
    assert (args.preset, args.epochs) == (DEFAULT_PRESET, 2)


def test_preset_choices_are_the_presets():
    from skdreamy.cli import build_parser
    from skdreamy.pipeline import PRESETS

    parser = build_parser()
    for preset in PRESETS:
        args = parser.parse_args(
            ["train", "--data", ".", "--out", "m", "--preset", preset]
        )
        assert args.preset == preset
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--data", ".", "--out", "m", "--preset", "nope"])
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.slow
def test_evaluate_saved_model(model, nights, tmp_path):
    result = run_cli(
        "evaluate", "--data", nights, "--model", model, "--report", tmp_path, "--quiet"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report) >= REPORT_KEYS
    assert report["n_epochs"] == 120
    assert set(report["per_class_f1"]) == {"W", "N1", "N2", "N3", "REM"}
    assert np.sum(report["confusion_matrix"]) == 120
    assert report["mode"] == "saved model"
    assert_png(tmp_path / "confusion_matrix.png")
    assert "| epochs |" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_evaluate_subject_wise_cross_validation(nights, tmp_path):
    result = run_cli(
        "evaluate",
        "--data",
        nights,
        "--cv",
        "subject",
        "--folds",
        "2",
        "--report",
        tmp_path,
        *TINY,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["cv"] == "LeaveOneGroupOut" and report["n_folds"] == 2
    assert report["n_epochs"] == 120
    tested = sorted(g for fold in report["fold_scores"] for g in fold["test_groups"])
    assert tested == [0, 1]


@pytest.mark.slow
def test_predict_npz_night(model, nights, tmp_path):
    out = tmp_path / "hypnogram.csv"
    result = run_cli(
        "predict", "--model", model, "--npz", nights / "night1.npz", "--out", out
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 40
    assert list(rows[0]) == [
        "onset_s",
        "stage",
        "p_W",
        "p_N1",
        "p_N2",
        "p_N3",
        "p_REM",
        "quality",
    ]
    assert {r["quality"] for r in rows} == {"ok"}
    assert [float(r["onset_s"]) for r in rows] == [30.0 * i for i in range(40)]
    for row in rows:
        assert row["stage"] in {"W", "N1", "N2", "N3", "REM"}
        probs = [float(row[f"p_{s}"]) for s in ("W", "N1", "N2", "N3", "REM")]
        assert abs(sum(probs) - 1) < 1e-4
        assert row["stage"] == ("W", "N1", "N2", "N3", "REM")[int(np.argmax(probs))]
    assert_png(tmp_path / "hypnogram.png")
    assert "Against the hypnogram" in result.stdout


@pytest.fixture(scope="module")
def edf_night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edf")
    x, _ = make_sleep_epochs(6, random_state=0, sfreq=200.0)
    psg = write_psg(folder / "night.edf", {"EEG Fpz-Cz": x.ravel()}, 200.0)
    hyp = write_hypnogram(
        folder / "night-Hypnogram.edf",
        scoring(("Sleep stage W", 2), ("Sleep stage 2", 3), ("Sleep stage ?", 1)),
    )
    return psg, hyp


@pytest.mark.slow
def test_predict_edf_with_and_without_hypnogram(model, edf_night, tmp_path):
    psg, hyp = edf_night
    plain = run_cli(
        "predict",
        "--model",
        model,
        "--edf",
        psg,
        "--out",
        tmp_path / "a.csv",
        "--quiet",
    )
    assert plain.returncode == 0, plain.stderr
    assert len(list(csv.DictReader((tmp_path / "a.csv").open()))) == 6
    scored = run_cli(
        "predict",
        "--model",
        model,
        "--edf",
        psg,
        "--hypnogram",
        hyp,
        "--out",
        tmp_path / "b.csv",
        "--quiet",
    )
    assert scored.returncode == 0, scored.stderr
    assert len(list(csv.DictReader((tmp_path / "b.csv").open()))) == 5
    assert_png(tmp_path / "b.png")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda d, m, t: ["train", "--data", t / "missing", "--out", t / "m"],
            "does not exist",
        ),
        (
            lambda d, m, t: ["train", "--data", d, "--out", t / "no" / "m"],
            "folder .* does not exist",
        ),
        (
            lambda d, m, t: ["train", "--data", d, "--out", t / "m", "--epochs", "0"],
            "expected an integer >= 1",
        ),
        (
            lambda d, m, t: ["evaluate", "--data", d, "--report", t, "--cv", "random"],
            "invalid choice",
        ),
        (
            lambda d, m, t: [
                "predict",
                "--model",
                m,
                "--edf",
                d / "night0.npz",
                "--out",
                t / "x.csv",
            ],
            "cannot read this file",
        ),
        (
            lambda d, m, t: [
                "predict",
                "--model",
                d / "night0.npz",
                "--npz",
                d / "night0.npz",
                "--out",
                t / "x.csv",
            ],
            "not a skdreamy model file",
        ),
        (lambda d, m, t: ["train", "--data", t, "--out", t / "m"], "no nights found"),
        (lambda d, m, t: ["frobnicate"], "invalid choice"),
    ],
)
def test_errors_exit_2_with_one_line(nights, model, tmp_path, make_args, message):
    import re

    result = run_cli(*make_args(nights, model, tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    error_lines = [line for line in result.stderr.splitlines() if ": error:" in line]
    assert len(error_lines) == 1


@pytest.mark.slow
def test_unknown_channel(model, edf_night, tmp_path):
    psg, _ = edf_night
    result = run_cli(
        "predict",
        "--model",
        model,
        "--edf",
        psg,
        "--channel",
        "EEG C3",
        "--out",
        tmp_path / "x.csv",
    )
    assert result.returncode == 2
    assert "no channel 'EEG C3'" in result.stderr and "EEG Fpz-Cz" in result.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_predict_flags_flat_epochs_in_the_csv(model, tmp_path):
    x, _ = make_sleep_epochs(4, random_state=0)
    x[2] = 0.0  # a detached electrode
    psg = write_psg(tmp_path / "flat.edf", {"EEG Fpz-Cz": x.ravel()}, 100.0)
    staged = run_cli(
        "predict", "--model", model, "--edf", psg, "--out", tmp_path / "a.csv"
    )
    assert staged.returncode == 0, staged.stderr
    rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert [r["quality"] for r in rows] == ["ok", "ok", "flat", "ok"]
    assert rows[2]["stage"] != ""  # staged, with a warning
    assert "flat or clipped" in staged.stderr
    marked = run_cli(
        "predict",
        "--model",
        model,
        "--edf",
        psg,
        "--invalid",
        "mark",
        "--out",
        tmp_path / "b.csv",
        "--quiet",
    )
    assert marked.returncode == 0, marked.stderr
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    assert rows[2]["stage"] == "" and rows[2]["p_W"] == ""
    assert rows[2]["quality"] == "flat"


@pytest.mark.slow
def test_predict_refuses_nan_epochs_unless_marked(model, tmp_path):
    x, y = make_sleep_epochs(5, random_state=1)
    x[1, 100:200] = np.nan  # a gap in the recording
    night = tmp_path / "gap.npz"
    write_night(night, x=x, y=y, onset_s=None)
    refused = run_cli(
        "predict", "--model", model, "--npz", night, "--out", tmp_path / "a.csv"
    )
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert "NaN" in refused.stderr and "--invalid mark" in refused.stderr
    assert not (tmp_path / "a.csv").exists()
    marked = run_cli(
        "predict",
        "--model",
        model,
        "--npz",
        night,
        "--out",
        tmp_path / "b.csv",
        "--invalid",
        "mark",
        "--quiet",
    )
    assert marked.returncode == 0, marked.stderr
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    assert len(rows) == 5
    assert rows[1]["stage"] == "" and rows[1]["quality"] == "non-finite"
    assert all(rows[i]["stage"] for i in (0, 2, 3, 4))


@pytest.mark.slow
def test_hypnogram_without_edf_is_a_usage_error(model, nights, tmp_path):
    result = run_cli(
        "predict",
        "--model",
        model,
        "--npz",
        nights / "night0.npz",
        "--hypnogram",
        nights / "night0.npz",
        "--out",
        tmp_path / "x.csv",
    )
    assert result.returncode == 2
    assert "--hypnogram goes with --edf" in result.stderr


def test_console_entry_point_exits_with_the_status_of_main(monkeypatch):
    from skdreamy import cli

    monkeypatch.setattr(cli, "main", lambda: 2)
    with pytest.raises(SystemExit) as info:
        cli.run()
    assert info.value.code == 2
    # (status 130 ends the process with os._exit: tests/test_interrupt.py runs
    # `python -m skdreamy`, which goes through run(), and checks it.)


# -- the night: statistics, exports, agreement (issue 16) ------------------------


@pytest.mark.slow
def test_predict_writes_the_night_statistics(model, nights, tmp_path):
    out = tmp_path / "night1.csv"
    result = run_cli(
        "predict", "--model", model, "--npz", nights / "night1.npz", "--out", out
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "night1.statistics.json").read_text())
    assert set(stats) >= {"predicted", "expected", "confidence", "expert"}
    rows = list(csv.DictReader(out.open()))
    n_sleep = sum(r["stage"] != "W" for r in rows)
    assert stats["predicted"]["TST"] == pytest.approx(n_sleep * 0.5)
    assert stats["predicted"]["TIB"] == 20.0 and stats["expert"]["TIB"] == 20.0
    assert 0 <= stats["confidence"]["mean_max_proba"] <= 1
    markdown = (tmp_path / "night1.statistics.md").read_text()
    assert markdown.startswith("# night1.npz") and "| TST (min) |" in markdown
    summary = [line for line in result.stdout.splitlines() if "TST" in line]
    assert len(summary) == 1 and summary[0].startswith("night1.npz: TST")
    for key in ("SE", "WASO", "SOL"):
        assert key in summary[0]
    assert_png(tmp_path / "night1.png")


@pytest.mark.slow
def test_predict_edf_export_reads_back_with_mne(model, tmp_path):
    import mne

    x, y = make_sleep_epochs(6, random_state=1)
    x[2, 100:200] = np.nan  # not staged: "Sleep stage ?" in the export
    night = tmp_path / "gap.npz"
    np.savez(night, x=x, y=y, subject="s9", channel="C3-A1")
    common = ["predict", "--model", model, "--npz", night, "--invalid", "mark"]
    as_csv = run_cli(*common, "--out", tmp_path / "a.csv", "--quiet")
    assert as_csv.returncode == 0, as_csv.stderr
    as_edf = run_cli(*common, "--out", tmp_path / "b.edf", "--quiet")
    assert as_edf.returncode == 0, as_edf.stderr
    annotations = mne.read_annotations(tmp_path / "b.edf")
    from_edf = [
        text.removeprefix("Sleep stage ")
        for duration, text in zip(
            annotations.duration, annotations.description, strict=True
        )
        for _ in range(round(duration / 30))
    ]
    names = {"W": "W", "N1": "1", "N2": "2", "N3": "3", "REM": "R", "": "?"}
    from_csv = [names[r["stage"]] for r in csv.DictReader((tmp_path / "a.csv").open())]
    assert from_edf == from_csv and from_edf[2] == "?"
    assert (tmp_path / "b.statistics.json").exists()
    as_tsv = run_cli(*common, "--out", tmp_path / "c.txt", "--format", "tsv")
    assert as_tsv.returncode == 0, as_tsv.stderr
    lines = (tmp_path / "c.txt").read_text().splitlines()
    assert lines[0].startswith("onset\tduration\ttrial_type\tp_W")
    assert lines[3].split("\t")[2] == "n/a"


@pytest.mark.slow
def test_predict_error_writes_nothing(model, tmp_path):
    x, y = make_sleep_epochs(5, random_state=1)
    x[1, 100:200] = np.nan
    night = tmp_path / "in" / "gap.npz"
    night.parent.mkdir()
    np.savez(night, x=x, y=y, subject="s9", channel="C3-A1")
    out = tmp_path / "out"
    out.mkdir()
    refused = run_cli(
        "predict", "--model", model, "--npz", night, "--out", out / "a.edf"
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_evaluate_writes_the_statistics_agreement(model, nights, tmp_path):
    result = run_cli(
        "evaluate", "--data", nights, "--model", model, "--report", tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    agreement = report["statistics_agreement"]
    assert [n["night"] for n in agreement["per_night"]] == [0, 1, 2]
    tst = agreement["summary"]["TST"]
    diffs = [n["TST"]["diff"] for n in agreement["per_night"]]
    assert tst["bias"] == pytest.approx(np.mean(diffs))
    assert tst["n_nights"] == 3
    assert report["command"].startswith("skdreamy evaluate --data")
    assert report["nights"] == ["night0.npz", "night1.npz", "night2.npz"]
    assert "keras" in report["versions"]
    markdown = (tmp_path / "report.md").read_text()
    assert "## Sleep statistics: predicted against expert" in markdown
    assert "| TST (min) | 3 |" in markdown and "## What was evaluated" in markdown
    assert_png(tmp_path / "statistics_agreement.png")
    assert "95 % limits" in result.stdout


@pytest.mark.slow
def test_cross_validation_report_has_statistics_per_fold(nights, tmp_path):
    result = run_cli(
        "evaluate", "--data", nights, "--folds", "2", "--report", tmp_path, *TINY
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    per_fold = [f["statistics_agreement"] for f in report["fold_scores"]]
    # leave-one-subject-out: subject s1 has two nights, s2 one
    assert sorted(f["TST"]["n_nights"] for f in per_fold) == [1, 2]
    assert report["statistics_agreement"]["summary"]["TST"]["n_nights"] == 3
    assert "### Folds" in (tmp_path / "report.md").read_text()


# -- input errors and bugs (in-process) ---------------------------------------


def _raise_from(module_name, exc):
    """A function defined in module ``module_name`` that raises ``exc``."""
    namespace = {"__name__": module_name, "exc": exc}
    exec("def boom(*args, **kwargs):\n    raise exc", namespace)
    return namespace["boom"]


@pytest.mark.parametrize(
    ("module", "exc"),
    [
        ("skdreamy.cli", KeyError("fold")),
        ("skdreamy.datasets._folder", AssertionError("unreachable")),
        ("keras.src.trainers.trainer", ValueError("Input 0 is incompatible")),
        ("tensorflow.python.framework.ops", TypeError("bad dtype")),
    ],
)
def test_bug_shows_its_traceback_and_exits_1(
    monkeypatch, tmp_path, capsys, module, exc
):
    from skdreamy import cli

    monkeypatch.delenv("SKDREAMY_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_load_data", _raise_from(module, exc))
    status = cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback (most recent call last)" in err
    assert f"{type(exc).__name__}: {exc}" in err
    assert "internal error" in err and ": error:" not in err


def _invalid_parameter(*args, **kwargs):
    from skdreamy import make_pipeline

    make_pipeline(n_per_class=0)  # InvalidParameterError, from scikit-learn's check


def _too_many_folds(*args, **kwargs):
    from sklearn.model_selection import GroupKFold

    list(GroupKFold(n_splits=3).split(np.zeros((4, 1)), groups=[0, 0, 1, 1]))


@pytest.mark.parametrize(
    "boom",
    [
        _raise_from("skdreamy.cli", __import__("skdreamy.cli").cli.CLIError("bad")),
        _raise_from("skdreamy.datasets._nights", ValueError("night.npz: bad y")),
        _raise_from("skdreamy.preprocessing._scaler", TypeError("X must be numeric")),
        _raise_from("numpy.lib._npyio_impl", FileNotFoundError("x.npz: no file")),
        _raise_from("keras.src.saving", PermissionError("m.keras: read-only")),
        _invalid_parameter,
        _too_many_folds,
    ],
)
def test_input_error_is_one_line_and_exits_2(monkeypatch, tmp_path, capsys, boom):
    from skdreamy import cli

    monkeypatch.delenv("SKDREAMY_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_load_data", boom)
    status = cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("skdreamy train: error: ")


def test_debug_shows_the_traceback_of_input_errors(monkeypatch, tmp_path):
    from skdreamy import cli

    monkeypatch.setenv("SKDREAMY_DEBUG", "1")
    monkeypatch.setattr(cli, "_load_data", _raise_from("skdreamy.x", ValueError("v")))
    with pytest.raises(ValueError, match="v"):
        cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")])


def test_every_option_has_help_and_presets_come_from_the_library():
    import argparse

    from skdreamy.cli import build_parser
    from skdreamy.pipeline import PRESETS

    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"skdreamy {name} {action.option_strings}: no help"
            has_default = action.default not in (None, False, argparse.SUPPRESS)
            if has_default and not action.required:
                assert "default" in action.help, (name, action.option_strings)
            if "--preset" in action.option_strings:
                assert set(action.choices) == set(PRESETS)


def test_a_warning_is_one_line_naming_the_stage(capsys):
    import argparse
    import warnings

    from skdreamy.cli import _quiet_output
    from skdreamy.sampling import ClassBalancer

    X, y = np.zeros((8, 1)), np.array([0, 0, 1, 1, 2, 2, 3, 3])  # no REM
    with _quiet_output(argparse.Namespace(quiet=False, command="train")):
        warnings.simplefilter("always")
        ClassBalancer(n_per_class=2, random_state=0).fit_resample(X, y)
    err = capsys.readouterr().err
    assert err.startswith("skdreamy train: warning: Stage(s) REM absent")
    assert err.count("\n") == 1
    with _quiet_output(argparse.Namespace(quiet=True, command="train")):
        ClassBalancer(n_per_class=2, random_state=0).fit_resample(X, y)
    assert capsys.readouterr().err == ""


def test_dropped_epochs_are_counted(tmp_path, capsys):
    import argparse

    from skdreamy.cli import _load_data

    x, _ = make_sleep_epochs(6, random_state=0)
    write_psg(tmp_path / "n1.edf", {"EEG Fpz-Cz": x.ravel()}, 100.0)
    write_hypnogram(
        tmp_path / "n1-Hypnogram.edf",
        scoring(
            ("Sleep stage W", 2),
            ("Movement time", 1),
            ("Sleep stage 2", 2),
            ("Sleep stage ?", 1),
        ),
    )
    args = argparse.Namespace(
        data=tmp_path, channel="EEG Fpz-Cz", trim_wake=None, quiet=False
    )
    data = _load_data(args)
    assert len(data.y) == 4
    assert "left out: 1 movement, 1 unscored." in capsys.readouterr().err


# -- in subprocesses ------------------------------------------------------------

_CHECK_WITHOUT_KERAS = """
import sys
from skdreamy.cli import main
status = main(sys.argv[1:])
print(status, "keras" in sys.modules, "tensorflow" in sys.modules)
"""


@pytest.mark.slow
def test_bad_inputs_are_reported_before_keras_is_imported(tmp_path, edf_night):
    psg, _ = edf_night
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "night.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    (tmp_path / "empty").mkdir()
    cases = {
        "empty folder": ["train", "--data", tmp_path / "empty"],
        "corrupt night": ["train", "--data", corrupt],
        "wrong channel": ["train", "--data", psg.parent, "--channel", "EEG C3"],
    }
    for what, argv in cases.items():
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHECK_WITHOUT_KERAS,
                *map(str, argv),
                "--out",
                str(tmp_path / "m.skdreamy"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.stdout.split() == ["2", "False", "False"], (what, result)
        assert ": error:" in result.stderr, what


@pytest.mark.slow
def test_quiet_prints_nothing_not_even_tensorflow(nights, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "skdreamy",
            "train",
            "--data",
            str(nights),
            *TINY,
            "--out",
            str(tmp_path / "m.skdreamy"),
        ],
        capture_output=True,
        text=True,
        env=dict(env, MPLBACKEND="Agg"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


@pytest.mark.slow
def test_parser_and_presets_do_not_import_keras():
    code = (
        "import sys\n"
        "from skdreamy.cli import build_parser\n"
        "from skdreamy.pipeline import PRESETS\n"
        "build_parser().parse_args(['train', '--data', '.', '--out', 'm'])\n"
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.stdout.split() == ["False", "False"], result.stderr


# -- in-process Ctrl-C (KeyboardInterrupt) in predict and evaluate (reliability) -----


@pytest.fixture(scope="module")
def night_and_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    x, y = make_sleep_epochs(60, random_state=0)
    night = folder / "night.npz"
    np.savez(night, x=x, y=y, subject="s1", channel="C3-A1")
    pipe = make_pipeline(
        raw=True, n_per_class=10, classifier=LogisticRegression(max_iter=300)
    )
    model = save(pipe.fit(x, y), folder / "model.skdreamy")
    return night, model


def _predict(night, model, out):
    args = ["--model", str(model), "--npz", str(night), "--out", str(out)]
    return main(["predict", *args, "--quiet"])


def test_interrupted_prediction_writes_nothing(
    night_and_model, tmp_path, monkeypatch, capsys
):
    import skdreamy.staging

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdreamy.staging, "stage", interrupt)
    night, model = night_and_model
    assert _predict(night, model, tmp_path / "night.csv") == 130
    assert "skdreamy predict: interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_interrupted_figure_leaves_a_complete_csv_and_no_figure(
    night_and_model, tmp_path, monkeypatch
):
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupt)
    night, model = night_and_model
    assert _predict(night, model, tmp_path / "night.csv") == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.csv"]
    with (tmp_path / "night.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 60 and all(row["quality"] == "ok" for row in rows)
    # The night has no onset_s: consecutive 30-s epochs from 0.
    assert [float(row["onset_s"]) for row in rows] == [30.0 * i for i in range(60)]


def test_interrupted_evaluate_writes_no_report(night_and_model, tmp_path, monkeypatch):
    import skdreamy.report

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdreamy.report, "plot_confusion_matrix", interrupt)
    night, model = night_and_model
    report = tmp_path / "report"
    args = ["evaluate", "--data", str(night), "--model", str(model)]
    assert main([*args, "--report", str(report), "--quiet"]) == 130
    assert not report.exists() or list(report.iterdir()) == []


def test_demo_shows_the_reference_cnn_and_train_defaults_to_the_best_preset():
    from skdreamy.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["demo"]).preset == "reference"
    train = parser.parse_args(["train", "--data", ".", "--out", "m"])
    evaluate = parser.parse_args(["evaluate", "--data", ".", "--report", "r"])
    assert train.preset == evaluate.preset == DEFAULT_PRESET == "features"
