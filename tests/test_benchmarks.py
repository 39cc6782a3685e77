"""The accuracy benchmarks run end to end (tiny settings; they score nothing),
and their helpers compute what they say."""

import itertools
import json
import sys

import keras
import numpy as np
import pytest
from _edf_files import scoring, write_hypnogram, write_psg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks import accuracy, accuracy_context, backends, sleep_edf
from skdreamy.datasets import make_sleep_epochs

STAGE_TEXT = [
    "Sleep stage W",
    "Sleep stage 1",
    "Sleep stage 2",
    "Sleep stage 3",
    "Sleep stage R",
]


def write_cassette(folder, subjects):
    """Sleep-EDF-like nights whose epochs are synthetic EEG of known stages."""
    for subject in subjects:
        X, y = make_sleep_epochs(20, random_state=subject, sfreq=100.0)
        write_psg(
            folder / f"SC4{subject:02d}1E0-PSG.edf", {"EEG Fpz-Cz": X.ravel()}, 100.0
        )
        write_hypnogram(
            folder / f"SC4{subject:02d}1EC-Hypnogram.edf",
            scoring(*[(STAGE_TEXT[stage], 1) for stage in y]),
        )


@pytest.mark.slow
def test_sleep_edf_benchmark_on_a_local_folder(tmp_path, capsys):
    write_cassette(tmp_path, [0, 1, 2])
    out = tmp_path / "results.jsonl"
    status = sleep_edf.main(
        ["--path", str(tmp_path), "--subjects", "0-2", "--recordings", "1",
         "--configs", "tiny", "--seeds", "0", "--folds", "3", "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    record = json.loads(out.read_text())
    assert record["config"] == "tiny" and record["split"] == "GroupKFold"
    run = record["runs"][0]
    assert run["scores"]["n_epochs"] == 60 and len(run["fold_accuracy"]) == 3
    assert "| tiny | GroupKFold | 1 |" in capsys.readouterr().out


@pytest.mark.slow
def test_accuracy_benchmark_on_the_real_excerpts(shared_data_dir, tmp_path):
    out = tmp_path / "results.jsonl"
    status = accuracy.main(
        ["--data", str(shared_data_dir), "--configs", "tiny", "--seeds", "0",
         "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    run = json.loads(out.read_text())["runs"][0]
    assert run["scores"]["n_epochs"] == 360
    assert len(run["fold_accuracy"]) == 6  # leave-one-subject-out
    assert np.isclose(np.sum(run["scores"]["confusion_matrix"]), 360)


def test_every_accuracy_config_builds_a_classifier_with_its_parameters():
    from sklearn.base import clone, is_classifier

    configs = accuracy._configs()
    assert {"reference", "accurate", "rf_log_spectrum"} <= set(configs)
    for name, config in configs.items():
        shape = (config.fmax + 1, 59 * (2 * config.context + 1))
        estimator = config.make(0, shape)
        assert is_classifier(estimator), name
        clone(estimator)  # every parameter is a constructor argument
    # The benchmark's "accurate" is the library's preset.
    preset = configs["accurate"].make(0, (51, 59)).get_params()
    legacy = configs["compact_log"].make(0, (51, 59)).get_params()
    for key in ("scale__log", "scale__per", "classify__dropout", "classify__epochs"):
        assert preset[key] == legacy[key]


def test_log_spectrum_features():
    X = np.ones((3, 51 * 59))
    X[1] *= 100.0  # 20 dB more power everywhere
    F = accuracy.log_spectrum_features(X)
    assert F.shape == (3, 60)
    np.testing.assert_allclose(F[1, :30] - F[0, :30], 2.0, rtol=1e-5)  # log10(100)
    np.testing.assert_allclose(F[1, 30:], F[0, 30:], atol=1e-5)  # gain removed


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, 3), elements=st.floats(-5, 0)),
            arrays(np.float64, (3, 3), elements=st.floats(-5, 0)),
            arrays(np.float64, (3,), elements=st.floats(-5, 0)),
        )
    )
)
def test_viterbi_finds_the_best_path(hmm):
    emission, transition, initial = hmm

    def log_probability(path):
        steps = itertools.pairwise(path)
        return (
            initial[path[0]]
            + sum(emission[t, s] for t, s in enumerate(path))
            + sum(transition[a, b] for a, b in steps)
        )

    path = accuracy_context.viterbi(emission, transition, initial)
    best = max(
        log_probability(p) for p in itertools.product(range(3), repeat=len(emission))
    )
    assert path.shape == (len(emission),)
    assert np.isclose(log_probability(path), best)


def test_transition_counts_stay_within_each_night():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    nights = np.array([0, 0, 0, 0, 1, 1, 1])  # 1 -> 2 crosses nights: not counted
    T = accuracy_context.transition_counts(y, nights, n_states=3, pseudo=0.0)
    np.testing.assert_allclose(T, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0, 0, 1.0]])


def test_transition_counts_are_a_stochastic_matrix():
    y = np.array([0, 1, 1, 4])
    T = accuracy_context.transition_counts(y, np.zeros(4))
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    assert T[1, 1] > T[1, 0] and T[1, 4] > T[1, 3]


def test_label_continuity():
    flow = accuracy_context.continuity(np.array([0, 0, 2, 2, 2, 3]), np.zeros(6))
    assert flow["0.0"] == {"same_as_previous": 0.6, "mean_run": 2.0}


def test_context_features_average_the_neighbours_of_the_same_night():
    S = np.ones((4, 51, 59))
    S[1] *= 1000.0  # epoch 1 is 30 dB louder
    F = accuracy_context.context_features(S, np.array([0, 0, 0, 1]), 1)
    assert F.shape == (4, 120)
    np.testing.assert_allclose(F[:, :60], accuracy.log_spectrum_features(S))
    # absolute log power of the 90-s window: mean of the three epochs (log10)
    np.testing.assert_allclose(F[[0, 1, 2, 3], 60], [1.0, 1.0, 1.0, 0.0], atol=1e-5)


def test_context_benchmark_on_the_real_excerpts(shared_data_dir, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    status = accuracy_context.main(
        ["--data", str(shared_data_dir), "--seeds", "0", "--context", "1",
         "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2 + len(accuracy_context.VITERBI)
    assert all("commit" in record["provenance"] for record in records)
    for record in records:
        assert record["runs"][0]["scores"]["n_epochs"] == 360
        assert len(record["runs"][0]["fold_accuracy"]) == 6
    assert "label continuity" in capsys.readouterr().out


@pytest.mark.slow
def test_backends_benchmark_skips_a_back_end_its_python_lacks(tmp_path):
    assert not backends._available(str(tmp_path / "no-python"), "jax")
    assert backends._available(sys.executable, keras.backend.backend())


# -- the runner: python -m benchmarks ---------------------------------------------


def test_every_benchmark_script_follows_the_runner_contract():
    from pathlib import Path

    from benchmarks.__main__ import HERE, discover

    scripts = {p.stem for p in Path(HERE).glob("*.py") if not p.stem.startswith("_")}
    found = discover()
    assert set(found) == scripts  # each has a docstring and main(argv=None)
    assert {"accuracy", "accuracy_context", "outofcore", "dask_gpu", "gpu"} <= scripts
    assert found["gpu"]["requires"] == "gpu" and found["accuracy"]["requires"] is None
    assert all(spec["description"] for spec in found.values())


def test_a_new_benchmark_needs_no_registration(tmp_path):
    from benchmarks.__main__ import discover

    (tmp_path / "peers.py").write_text(
        '"""Accuracy of other sleep stagers.\n\nMore text."""\n\n'
        'REQUIRES = "gpu"\n\n\ndef main(argv=None):\n    return 0\n'
    )
    (tmp_path / "_helpers.py").write_text('"""Not a benchmark."""\n\ndef main(): 0\n')
    (tmp_path / "notes.py").write_text('"""No main: not a benchmark."""\n')
    assert discover(tmp_path) == {
        "peers": {
            "description": "Accuracy of other sleep stagers.",
            "requires": "gpu",
            "modes": False,
        }
    }


def test_recorded_environment_is_an_allow_list(monkeypatch):
    from benchmarks import _common

    for name, value in {
        "TF_CLI_CONFIG_FILE": "/root/.terraformrc",
        "TF_VAR_token": "secret",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "OMP_NUM_THREADS": "1",
        "KERAS_BACKEND": "tensorflow",
    }.items():
        monkeypatch.setenv(name, value)
    env = _common.machine()["env"]
    assert set(env) <= _common.RECORDED_ENV
    assert env["OMP_NUM_THREADS"] == "1" and env["KERAS_BACKEND"] == "tensorflow"
    assert "secret" not in json.dumps(_common.provenance())


def test_committed_results_record_only_allowed_variables():
    from pathlib import Path

    from benchmarks import _common

    def envs(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "env" and isinstance(item, dict):
                    yield item
                else:
                    yield from envs(item)
        elif isinstance(value, list):
            for item in value:
                yield from envs(item)

    files = sorted(Path(_common.RESULTS).rglob("*.json*"))
    assert files
    for path in files:
        lines = path.read_text().splitlines()
        records = (
            [json.loads(x) for x in lines if x]
            if path.suffix == ".jsonl"
            else [json.loads("\n".join(lines))]
        )
        for env in envs(records):
            assert set(env) <= _common.RECORDED_ENV, path


def test_runner_names_its_folder_and_records_provenance(tmp_path, monkeypatch):
    import re
    import time

    import benchmarks.__main__ as runner
    from benchmarks import _common

    name = runner.results_folder("all", root=tmp_path, when=time.gmtime(0)).name
    assert re.fullmatch(r"19700101-([0-9a-f]{10}(\+dirty)?|nogit)-all", name)

    calls = []

    def call(cmd, env, cwd):
        calls.append(cmd)
        out = env[_common.OUT_VARIABLE]
        (tmp_path / "seen").write_text(out)
        return 0 if cmd[2] == "benchmarks.spectrogram" else 3

    monkeypatch.setattr(runner.subprocess, "call", call)
    out = str(tmp_path / "r")
    status = runner.main(
        [
            "run",
            "spectrogram",
            "accuracy",
            "--quick",
            "--out",
            out,
            "--",
            "--repeats",
            "1",
        ]
    )
    assert status == 1  # accuracy "failed"
    assert calls[0][1:] == ["-m", "benchmarks.spectrogram", "--quick", "--repeats", "1"]
    assert calls[1][1:] == ["-m", "benchmarks.accuracy", "--repeats", "1"]  # no modes
    assert (tmp_path / "seen").read_text() == str(tmp_path / "r")
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert {"date", "command", "skdreamy", "commit", "machine", "versions"} <= set(
        record
    )
    assert record["runs"]["accuracy"]["exit"] == 3


def test_results_go_to_the_runners_folder(tmp_path, monkeypatch):
    from benchmarks import _common

    monkeypatch.setattr(sys, "argv", ["/x/benchmarks/night.py", "--quick"])
    monkeypatch.delenv(_common.OUT_VARIABLE, raising=False)
    assert _common.output_path("a.jsonl", "default") == "default"
    monkeypatch.setenv(_common.OUT_VARIABLE, str(tmp_path))
    assert _common.output_path("a.jsonl") == tmp_path / "a.jsonl"
    _common.save_json(None, {"benchmark": "night"}, {"x": 1})
    saved = json.loads((tmp_path / "night.json").read_text())
    assert saved == {"benchmark": "night", "results": {"x": 1}}
