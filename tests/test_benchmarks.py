"""The accuracy benchmarks run end to end (tiny settings; they score nothing)."""

import json

import numpy as np
from _edf_files import scoring, write_hypnogram, write_psg

from benchmarks import accuracy, sleep_edf
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
