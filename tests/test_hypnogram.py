"""Sleep statistics of a night, their agreement, exports and readers."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skdreamy.hypnogram import (
    UNSCORED,
    as_codes,
    confidence_summary,
    expected_statistics,
    fill_gaps,
    sleep_statistics,
    statistics_agreement,
    to_annotations,
    transition_matrix,
)
from skdreamy.report import write_report

W, N1, N2, N3, R, U = 0, 1, 2, 3, 4, UNSCORED


# -- hand-computed nights ----------------------------------------------------


def test_typical_night_by_hand():
    # 2 W, N1, N2, N2, W, W, N2, N3, N3, R, R, W  (13 epochs, 6.5 min)
    night = [W, W, N1, N2, N2, W, W, N2, N3, N3, R, R, W]
    s = sleep_statistics(night)
    assert s["TIB"] == 6.5
    assert s["SOL"] == 1.0  # 2 epochs of wake
    assert s["SPT"] == 5.0  # epochs 2..11
    assert s["TST"] == 4.0  # 8 sleep epochs
    assert s["WASO"] == 1.0  # epochs 5, 6
    assert s["SE"] == pytest.approx(4.0 / 6.5)
    assert s["SME"] == pytest.approx(0.8)
    assert (s["W"], s["N1"], s["N2"], s["N3"], s["REM"]) == (2.5, 0.5, 1.5, 1.0, 1.0)
    assert s["NREM"] == 3.0 and s["Unscored"] == 0.0
    assert (s["Lat_N1"], s["Lat_N2"], s["Lat_N3"], s["Lat_REM"]) == (1, 1.5, 4, 5)
    assert s["Lat_REM_SO"] == 4.0 and s["Lat_N2_SO"] == 0.5
    assert s["%N2"] == pytest.approx(37.5) and s["%REM"] == pytest.approx(25.0)
    assert s["N_awakenings"] == 1
    # W-W, W-N1, N1-N2, N2-N2, N2-W, W-W, W-N2, N2-N3, N3-N3, N3-R, R-R, R-W
    assert s["N_stage_shifts"] == 7
    assert s["Bout_mean_W"] == pytest.approx(2.5 / 3) and s["Bout_max_W"] == 1.0
    assert s["Bout_mean_N2"] == 0.75 and s["Bout_max_N2"] == 1.0


def test_all_wake_is_defined_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sleep_statistics([W] * 10)
    assert s["TST"] == 0 and s["SE"] == 0 and s["SPT"] == 0 and s["WASO"] == 0
    for key in ("SOL", "SME", "Lat_N1", "Lat_REM", "Lat_REM_SO", "%N2"):
        assert math.isnan(s[key]), key
    assert s["N_awakenings"] == 0 and s["N_stage_shifts"] == 0
    assert math.isnan(s["Bout_mean_N2"])


def test_night_without_rem():
    s = sleep_statistics([W, N1, N2, N3, N2, W])
    assert math.isnan(s["Lat_REM"]) and math.isnan(s["Bout_max_REM"])
    assert s["REM"] == 0 and s["%REM"] == 0
    assert s["TST"] == 2.0


def test_night_that_starts_asleep():
    s = sleep_statistics([N2, N2, W, N2, N3, W, W], epoch_duration=60)
    assert s["SOL"] == 0 and s["Lat_N2"] == 0 and s["Lat_N3_SO"] == 4
    assert s["SPT"] == 5 and s["TST"] == 4 and s["WASO"] == 1
    assert s["N_awakenings"] == 1  # the final wake is not inside the sleep period


def test_unscored_gap_is_neither_sleep_nor_wake():
    s = sleep_statistics([W, N2, U, U, N2, W, U])
    assert s["TIB"] == 3.5 and s["SPT"] == 2.0
    assert s["TST"] == 1.0 and s["WASO"] == 0 and s["W"] == 1.0
    assert s["Unscored"] == 1.5
    assert s["N_stage_shifts"] == 2  # W-N2 and N2-W; pairs with U skipped
    assert s["Bout_max_N2"] == 0.5  # the gap splits the N2 bout


def test_single_epoch():
    s = sleep_statistics(["N2"])
    assert s["TST"] == 0.5 and s["SE"] == 1 and s["SOL"] == 0


def test_names_codes_and_unscored_marks_agree():
    names = ["W", "n1", "N2", "N3", "R", "REM", "?", None, float("nan"), -2, "Wake"]
    assert as_codes(names).tolist() == [0, 1, 2, 3, 4, 4, -1, -1, -1, -1, 0]


def test_transition_matrix_counts_and_probabilities():
    hyp = [W, W, N1, N2, N2, U, N2, N3, R, W]
    counts = transition_matrix(hyp)
    assert counts.sum() == 7  # 9 pairs, 2 touch the unscored epoch
    assert counts[W, W] == 1 and counts[W, N1] == 1 and counts[N2, N3] == 1
    proba = transition_matrix(hyp, normalize=True)
    assert np.allclose(proba[[W, N1, N2, N3, R]].sum(axis=1), 1)
    assert np.isnan(transition_matrix([W, W], normalize=True)[N2]).all()


# -- bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hypnogram", "message"),
    [
        ([0, 1, 7], "unknown stage 7 at epoch 2"),
        (["W", "N4"], "unknown stage 'N4' at epoch 1"),
        ([0, 1.5], "unknown stage 1.5"),
        ([], "non-empty"),
        ([[0, 1]], "1-D"),
    ],
)
def test_bad_hypnograms_are_named(hypnogram, message):
    with pytest.raises(ValueError, match=message):
        sleep_statistics(hypnogram)


def test_wrong_types_raise_invalid_parameter_error():
    with pytest.raises(InvalidParameterError):
        sleep_statistics([0, 1], epoch_duration=-30)
    with pytest.raises(InvalidParameterError):
        statistics_agreement([0], [0], statistics="TST")
    from skdreamy.plotting import plot_statistics_agreement
    from skdreamy.report import write_report, write_statistics

    with pytest.raises(InvalidParameterError):
        write_report("out", [0.5], [0], [0])
    with pytest.raises(InvalidParameterError):
        write_statistics(3, {})
    with pytest.raises(InvalidParameterError):
        plot_statistics_agreement([1, 2])


@pytest.mark.parametrize(
    ("proba", "message"),
    [
        ([[0.5, 0.4, 0, 0, 0]], "row 0 sums to 0.9"),
        ([[0.5, np.nan, 0.5, 0, 0]], "partly NaN"),
        ([[1.5, -0.5, 0, 0, 0]], "non-negative"),
        ([[0.5, 0.5]], "pass classes"),
    ],
)
def test_bad_probabilities(proba, message):
    with pytest.raises(ValueError, match=message):
        expected_statistics(proba)


def test_agreement_needs_the_same_epochs():
    with pytest.raises(ValueError, match="y_true has 3 and y_pred 2"):
        statistics_agreement([0, 1, 2], [0, 1])


# -- properties -----------------------------------------------------------------

hypnograms = st.lists(st.sampled_from([U, W, N1, N2, N3, R]), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(hypnograms, st.sampled_from([20.0, 30.0, 60.0]))
def test_statistics_properties(hyp, epoch_duration):
    s = sleep_statistics(hyp, epoch_duration=epoch_duration)
    assert s["N1"] + s["N2"] + s["N3"] + s["REM"] == pytest.approx(s["TST"])
    assert s["TST"] <= s["SPT"] + 1e-9 <= s["TIB"] + 2e-9
    assert 0 <= s["SE"] <= 1
    assert np.isnan(s["SME"]) or 0 <= s["SME"] <= 1
    assert s["TST"] + s["W"] + s["Unscored"] == pytest.approx(s["TIB"])
    assert s["WASO"] <= s["W"]
    longer = sleep_statistics(hyp + [W] * 7, epoch_duration=epoch_duration)
    assert longer["TST"] == s["TST"] and longer["SPT"] == s["SPT"]
    assert longer["SE"] <= s["SE"]


@settings(max_examples=100, deadline=None)
@given(hypnograms)
def test_expected_statistics_of_one_hot_probabilities(hyp):
    codes = np.array(hyp)
    proba = np.full((len(codes), 5), np.nan)
    scored = codes != U
    proba[scored] = np.eye(5)[codes[scored]]
    expected = expected_statistics(proba)
    hard = sleep_statistics(hyp)
    for key, value in expected.items():
        assert value == pytest.approx(hard[key], nan_ok=True, abs=1e-9), key


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.integers(0, 2**32 - 1))
def test_expected_statistics_bounds(n, seed):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(5, 0.3), size=n)
    s = expected_statistics(proba)
    assert s["N1"] + s["N2"] + s["N3"] + s["REM"] == pytest.approx(s["TST"])
    assert s["TST"] <= s["SPT"] + 1e-9 and s["SPT"] <= s["TIB"] + 1e-9
    assert 0 <= s["SE"] <= 1 and 0 <= s["WASO"] <= s["W"] + 1e-9
    assert np.isnan(s["SOL"]) or 0 <= s["SOL"] <= s["TIB"]


def test_expected_statistics_by_hand():
    # epoch 0 wake, epoch 1 sleep with probability 0.5, epoch 2 asleep
    proba = [[1, 0, 0, 0, 0], [0.5, 0, 0.5, 0, 0], [0, 0, 0, 1, 0]]
    s = expected_statistics(proba, epoch_duration=60)
    assert s["TST"] == 1.5 and s["N2"] == 0.5 and s["N3"] == 1.0
    assert s["SOL"] == pytest.approx(1.5)  # 1 or 2 minutes, equally likely
    assert s["SPT"] == pytest.approx(1.5) and s["WASO"] == 0
    assert s["Lat_N3"] == 2.0
    # classes name the columns; missing stages have probability 0
    three = expected_statistics([[0.2, 0.8], [0.6, 0.4]], classes=["W", "REM"])
    assert three["REM"] == pytest.approx(0.6) and three["N2"] == 0


def test_confidence_summary_skips_unscored_rows():
    proba = [[0.9, 0.1, 0, 0, 0], [np.nan] * 5, [0.3, 0.3, 0.4, 0, 0]]
    s = confidence_summary(proba, threshold=0.5)
    assert s["n_epochs"] == 2 and s["n_unscored"] == 1
    assert s["mean_max_proba"] == pytest.approx(0.65)
    assert s["fraction_below"] == 0.5


def test_fill_gaps_puts_back_unscored_epochs():
    night = fill_gaps([0, 2, 4], [60.0, 90.0, 180.0], proba=np.eye(5)[[0, 2, 4]])
    assert night.hypnogram.tolist() == [0, 2, -1, -1, 4]
    assert night.onsets.tolist() == [60, 90, 120, 150, 180]
    assert np.isnan(night.proba[2]).all() and night.index.tolist() == [0, 1, 4]
    with pytest.raises(ValueError, match="grid"):
        fill_gaps([0, 2], [0.0, 45.0])


# -- agreement --------------------------------------------------------------------


def test_agreement_bland_altman_by_hand():
    y_true = [*[W, N2, N2, N2], *[W, W, N2, R], *[N2, N2, N2, N2]]
    y_pred = [*[W, W, N2, N2], *[W, N2, N2, R], *[N2, N2, N2, W]]
    nights = np.repeat(["a", "b", "c"], 4)
    agreement = statistics_agreement(y_true, y_pred, nights=nights)
    assert agreement.nights == ["a", "b", "c"]
    assert agreement.diff["TST"].tolist() == [-0.5, 0.5, -0.5]
    tst = agreement.summary["TST"]
    assert tst["bias"] == pytest.approx(-1 / 6)
    sd = np.std([-0.5, 0.5, -0.5], ddof=1)
    assert tst["sd"] == pytest.approx(sd)
    assert tst["loa_lower"] == pytest.approx(-1 / 6 - 1.96 * sd)
    assert tst["loa_upper"] == pytest.approx(-1 / 6 + 1.96 * sd)
    assert tst["n_nights"] == 3
    assert agreement.diff["SOL"].tolist() == [0.5, -0.5, 0.0]
    assert agreement.summary["SOL"]["bias"] == 0


def test_agreement_skips_undefined_nights_and_fills_gaps():
    y_true = [W, W, N2, W]
    y_pred = [W, W, W, W]  # no sleep: SOL undefined in the prediction
    agreement = statistics_agreement(
        y_true, y_pred, onsets=[0, 30, 90, 120], statistics=["SOL", "TIB"]
    )
    assert agreement.summary["SOL"]["n_nights"] == 0
    assert agreement.true["TIB"].tolist() == [2.5]  # gap filled with unscored


# -- YASA -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([U, W, N1, N2, N3, R]), min_size=2, max_size=60))
def test_same_numbers_as_yasa_where_definitions_coincide(hyp):
    yasa = pytest.importorskip("yasa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # yasa.sleep_statistics is deprecated
        theirs = yasa.sleep_statistics(np.array(hyp), sf_hyp=1 / 30)
    ours = sleep_statistics(hyp)
    same = ["TIB", "SPT", "TST", "N1", "N2", "N3", "REM", "NREM", "SOL"]
    same += ["Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM"]
    same += ["%N1", "%N2", "%N3", "%REM", "%NREM"]
    for key in same:
        assert ours[key] == pytest.approx(theirs[key], nan_ok=True), key
    # documented differences: efficiencies as fractions; WASO 0 without sleep
    assert ours["SE"] * 100 == pytest.approx(theirs["SE"])
    assert ours["SME"] * 100 == pytest.approx(theirs["SME"], nan_ok=True)
    if ours["TST"] > 0:
        assert ours["WASO"] == pytest.approx(theirs["WASO"])
    else:
        assert ours["WASO"] == 0 and np.isnan(theirs["WASO"])


def test_same_transitions_as_yasa():
    yasa = pytest.importorskip("yasa")
    hyp = np.array([W, W, N1, N2, N2, N3, N3, N2, R, R, W, N2, N2, R])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in yasa 0.8
        counts, _ = yasa.transition_matrix(hyp)
    assert np.array_equal(counts.to_numpy(), transition_matrix(hyp))


# -- MNE annotations ----------------------------------------------------------------


def test_annotations_per_bout_and_per_epoch():
    hyp = [W, W, N2, U, R]
    bouts = to_annotations(hyp, start=60)
    assert list(bouts.description) == [
        "Sleep stage W",
        "Sleep stage 2",
        "Sleep stage ?",
        "Sleep stage R",
    ]
    assert bouts.onset.tolist() == [60, 120, 150, 180]
    assert bouts.duration.tolist() == [60, 30, 30, 30]
    assert len(to_annotations(hyp, merge=False)) == 5


# -- exports and readers ------------------------------------------------------------

NIGHT = np.array([U, W, W, N1, N2, N2, N3, N3, N2, W, R, R, U, N2, W, W])


@pytest.mark.parametrize("merge", [True, False])
def test_edf_annotations_read_back_by_mne(tmp_path, merge):
    import mne

    from skdreamy.report import write_edf_annotations

    path = write_edf_annotations(tmp_path / "night.edf", NIGHT, start=90, merge=merge)
    annotations = mne.read_annotations(path)
    assert len(annotations) == (11 if merge else len(NIGHT))
    texts = {0: "W", 1: "1", 2: "2", 3: "3", 4: "R", U: "?"}
    expanded = [
        text
        for _onset, duration, text in zip(
            annotations.onset,
            annotations.duration,
            annotations.description,
            strict=True,
        )
        for _ in range(round(duration / 30))
    ]
    assert expanded == [f"Sleep stage {texts[c]}" for c in NIGHT.tolist()]
    assert annotations.onset[0] == 90


@pytest.mark.parametrize("suffix", [".edf", ".tsv", ".csv", ".txt"])
def test_exports_read_back_to_the_same_hypnogram(tmp_path, suffix):
    from skdreamy.datasets import read_hypnogram
    from skdreamy.report import (
        write_edf_annotations,
        write_events_tsv,
        write_hypnogram_csv,
    )

    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(5), size=len(NIGHT))
    proba[NIGHT == U] = np.nan
    path = tmp_path / f"night{suffix}"
    if suffix == ".edf":
        write_edf_annotations(path, NIGHT, start=30)
    elif suffix == ".tsv":
        write_events_tsv(path, NIGHT, proba=proba, start=30)
    elif suffix == ".csv":
        write_hypnogram_csv(path, NIGHT, proba=proba, onsets=30 + 30 * np.arange(16))
    else:
        np.savetxt(path, NIGHT)  # YASA's and numpy's way: "2.000000e+00" lines
    night = read_hypnogram(path)
    assert night.y.tolist() == NIGHT.tolist()
    if suffix != ".txt":
        np.testing.assert_allclose(night.onsets, 30 + 30 * np.arange(len(NIGHT)))
    if suffix in (".tsv", ".csv"):
        np.testing.assert_allclose(night.proba, proba, atol=1e-6)
        assert night.classes.tolist() == ["W", "N1", "N2", "N3", "REM"]


def test_bids_events_file_and_sidecar(tmp_path):
    import json

    from skdreamy.report import write_events_tsv

    paths = write_events_tsv(tmp_path / "sub-01_task-sleep_events.tsv", [0, 2, U])
    lines = paths["tsv"].read_text().splitlines()
    assert lines[0].split("\t") == ["onset", "duration", "trial_type"]
    assert lines[3].split("\t") == ["60", "30", "n/a"]
    sidecar = json.loads(paths["json"].read_text())
    assert sidecar["onset"]["Units"] == "s"
    assert "REM" in sidecar["trial_type"]["Levels"]


def test_text_hypnogram_names_codes_and_comments(tmp_path):
    from skdreamy.datasets import read_hypnogram

    path = tmp_path / "hypno.txt"
    path.write_text("# scored by A.B.\nW\nN1\n2\nR\n?\n-2\nrem\n\n")
    night = read_hypnogram(path, epoch_duration=20)
    assert night.y.tolist() == [0, 1, 2, 4, -1, -1, 4]
    assert night.onsets.tolist() == [0, 20, 40, 60, 80, 100, 120]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("W\nN1\nS4\n", r"hypno.txt, line 3: unknown stage 'S4'"),
        ("W\n\nN2\n", r"hypno.txt, line 2: empty line"),
        ("0\n7\n", r"line 2: unknown stage '7'"),
        ("\n", "no stage"),
    ],
)
def test_text_hypnogram_errors_name_the_line(tmp_path, text, message):
    from skdreamy.datasets import read_hypnogram

    path = tmp_path / "hypno.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_hypnogram(path)


def test_csv_and_tsv_errors_name_the_line(tmp_path):
    from skdreamy.datasets import read_hypnogram

    csv_path = tmp_path / "night.csv"
    csv_path.write_text("onset_s,stage,quality\n0,W,ok\n30,N7,ok\n")
    with pytest.raises(ValueError, match=r"night.csv, line 3: unknown stage 'N7'"):
        read_hypnogram(csv_path)
    csv_path.write_text("time,label\n0,W\n")
    with pytest.raises(
        ValueError, match=r"lacks the column\(s\) \['onset_s', 'stage'\]"
    ):
        read_hypnogram(csv_path)
    tsv_path = tmp_path / "events.tsv"
    tsv_path.write_text("onset\tduration\ttrial_type\n0\t30\tW\n30\t30\tdeep\n")
    with pytest.raises(ValueError, match=r"events.tsv, line 3: unknown stage 'deep'"):
        read_hypnogram(tsv_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_hypnogram(tmp_path / "missing.txt")


def test_writers_refuse_bad_input_and_write_nothing(tmp_path):
    from skdreamy.report import (
        write_edf_annotations,
        write_events_tsv,
        write_hypnogram_csv,
        write_statistics,
    )

    with pytest.raises(ValueError, match="unknown stage 9"):
        write_edf_annotations(tmp_path / "a.edf", [0, 9])
    with pytest.raises(ValueError, match="one row per epoch"):
        write_events_tsv(tmp_path / "a.tsv", [0, 2], proba=[[1, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="non-empty"):
        write_hypnogram_csv(tmp_path / "a.csv", [])
    with pytest.raises(TypeError):
        write_statistics(tmp_path / "a.json", {"predicted": {"TST": object()}})
    assert list(tmp_path.iterdir()) == []


def test_night_statistics_refuse_mismatched_lengths():
    from skdreamy.report import night_statistics

    with pytest.raises(ValueError, match="expert has 2 epochs but the hypnogram 3"):
        night_statistics([0, 2, 2], expert=[0, 2])
    with pytest.raises(ValueError, match="proba has 1 rows"):
        night_statistics([0, 2, 2], proba=[[1, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="sums to"):
        night_statistics([0, 2], proba=[[1, 0, 0, 0, 0], [0.5, 0, 0, 0, 0]])


def test_statistics_files(tmp_path):
    import json

    from skdreamy.report import night_statistics, write_statistics

    stats = night_statistics(
        NIGHT, proba=np.eye(5)[np.maximum(NIGHT, 0)], expert=np.roll(NIGHT, 1)
    )
    paths = write_statistics(tmp_path / "n.statistics.json", stats, title="night 7")
    data = json.loads(paths["json"].read_text())
    assert set(data) >= {"predicted", "expected", "expert", "difference", "confidence"}
    assert data["predicted"]["TST"] == sleep_statistics(NIGHT)["TST"]
    assert data["predicted"]["Lat_N3_SO"] == pytest.approx(1.5)
    assert np.sum(data["transitions"]["counts"]) == 12
    markdown = paths["markdown"].read_text()
    assert markdown.startswith("# night 7")
    assert "| TST (min) |" in markdown and "expert" in markdown


def test_report_with_statistics_agreement(tmp_path):
    import json

    from skdreamy.metrics import sleep_scores
    from skdreamy.report import write_report

    y_true = np.tile([0, 1, 2, 2, 3, 4, 0], 3)
    y_pred = np.tile([0, 2, 2, 2, 3, 4, 4], 3)
    nights = np.repeat([0, 1, 2], 7)
    agreement = statistics_agreement(y_true, y_pred, nights=nights)
    paths = write_report(
        tmp_path,
        sleep_scores(y_true, y_pred),
        y_true,
        y_pred,
        extra={"command": "skdreamy evaluate --data x", "subjects": ["a", "b"]},
        agreement=agreement,
    )
    report = json.loads(paths["json"].read_text())
    assert report["statistics_agreement"]["summary"]["TST"]["bias"] == 0.5
    assert report["statistics_agreement"]["summary"]["TST"]["sd"] == 0.0
    assert len(report["statistics_agreement"]["per_night"]) == 3
    markdown = paths["markdown"].read_text()
    assert "| WASO (min) | 3 |" in markdown
    assert "- **command**: skdreamy evaluate --data x" in markdown
    assert paths["statistics_agreement"].read_bytes()[:4] == b"\x89PNG"


def test_cross_validation_compares_statistics_per_fold():
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    from skdreamy.metrics import cross_validate_stages

    y = np.tile([0, 1, 2, 2, 3, 4, 2, 0], 4)
    X = np.zeros((len(y), 1))
    nights = np.repeat([0, 1, 2, 3], 8)
    result = cross_validate_stages(
        DummyClassifier(), X, y, groups=nights, cv=GroupKFold(2), nights=nights
    )
    agreement = result.statistics_agreement
    assert agreement.nights == [0, 1, 2, 3]
    # the prior's most frequent stage (N2) everywhere: TST is the whole night
    np.testing.assert_allclose(agreement.pred["TST"], 4.0)
    np.testing.assert_allclose(agreement.diff["TST"], 4.0 - 3.0)
    for fold in result.fold_scores:
        assert fold["statistics_agreement"]["TST"]["n_nights"] == 2
        assert fold["statistics_agreement"]["TST"]["bias"] == pytest.approx(1.0)
    stratified = cross_validate_stages(
        DummyClassifier(), X, y, cv=StratifiedKFold(2), nights=nights
    )
    for fold, test in zip(stratified.fold_scores, stratified.test_indices, strict=True):
        whole = [
            n for n in range(4) if np.isin(np.flatnonzero(nights == n), test).all()
        ]
        if whole:
            assert fold["statistics_agreement"]["TST"]["n_nights"] == len(whole)
        else:
            assert fold["statistics_agreement"] is None
    assert stratified.statistics_agreement.summary["TST"]["n_nights"] == 4


# -- report: mismatched labels (reliability) -----------------------------------------


def test_report_with_mismatched_labels_writes_nothing(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        write_report(out, {}, [0, 1, 2], [0, 1])
    assert list(out.iterdir()) == []
