"""Tests of skdreamy.plotting (no window is shown; headless runs use Agg)."""

import matplotlib
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skdreamy.plotting import (
    HYPNOGRAM_ORDER,
    STAGE_COLORS,
    plot_confusion_matrix,
    plot_hypnogram,
    plot_probabilities,
    plot_training_curves,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Y_TRUE = np.array([0, 0, 1, 2, 2, 2, 3, 3, 2, 4, 4, 4, 0])
Y_PRED = np.array([0, 1, 1, 2, 2, 3, 3, 3, 2, 4, 2, 4, 0])
# Hypnogram rows: W at the top (4), then REM, N1, N2, N3 at the bottom (0).
LEVEL = {0: 4, 4: 3, 1: 2, 2: 1, 3: 0}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _assert_png(path, min_pixels=200):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 2000
    image = mpimg.imread(path)
    assert image.ndim == 3
    assert image.shape[0] > min_pixels and image.shape[1] > min_pixels
    assert image.std() > 0.01  # something is drawn, not a blank canvas


def _ticklabels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


# -- hypnogram ---------------------------------------------------------------------


def test_hypnogram_levels_and_axes(tmp_path):
    fig = plot_hypnogram(Y_PRED, path=tmp_path / "hypnogram.png")
    (ax,) = fig.axes
    assert _ticklabels(ax.yaxis) == list(HYPNOGRAM_ORDER[::-1])
    assert list(ax.get_yticks()) == [0, 1, 2, 3, 4]
    stages, rem = ax.lines
    n = len(Y_PRED)
    np.testing.assert_array_equal(stages.get_ydata()[:n], [LEVEL[s] for s in Y_PRED])
    assert stages.get_drawstyle() == "steps-post"
    # Back-to-back 30-s epochs, in hours, with the end of the last one.
    np.testing.assert_allclose(stages.get_xdata(), np.arange(n + 1) * 30 / 3600)
    assert ax.get_xlim() == pytest.approx((0, n * 30 / 3600))
    assert ax.get_xlabel() == "Time (h)"
    # The REM line shows REM epochs only.
    rem_y = rem.get_ydata()[:n]
    assert np.all(np.isnan(rem_y[Y_PRED != 4]))
    assert np.all(rem_y[Y_PRED == 4] == LEVEL[4])
    assert matplotlib.colors.same_color(rem.get_color(), STAGE_COLORS["REM"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["stage", "REM"]
    _assert_png(tmp_path / "hypnogram.png")


def test_hypnogram_true_vs_predicted():
    fig = plot_hypnogram(Y_PRED, y_true=Y_TRUE)
    (ax,) = fig.axes
    expert, predicted, rem = ax.lines
    n = len(Y_TRUE)
    np.testing.assert_array_equal(expert.get_ydata()[:n], [LEVEL[s] for s in Y_TRUE])
    np.testing.assert_array_equal(predicted.get_ydata()[:n], [LEVEL[s] for s in Y_PRED])
    assert matplotlib.colors.same_color(rem.get_color(), STAGE_COLORS["REM"])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["expert", "predicted", "REM"]


def test_hypnogram_accepts_stage_names_and_draws_into_ax():
    names = np.array(["W", "N1", "N2", "N3", "REM"])
    fig, axes = plt.subplots(2)
    returned = plot_hypnogram(names[Y_PRED], y_true=names[Y_TRUE], ax=axes[1])
    assert returned is fig
    assert len(axes[0].lines) == 0 and len(axes[1].lines) == 3
    by_code = plot_hypnogram(Y_PRED).axes[0].lines[0].get_ydata()
    np.testing.assert_array_equal(axes[1].lines[1].get_ydata(), by_code)


def test_hypnogram_gaps_are_left_blank():
    onsets = np.array([0, 30, 60, 600, 630.0])  # 9 minutes missing
    fig = plot_hypnogram([2, 2, 3, 3, 4], onsets=onsets, epoch_duration=30)
    stages = fig.axes[0].lines[0]
    x, y = stages.get_xdata(), stages.get_ydata()
    # A NaN point at the end of epoch 3 breaks the line until epoch 4 starts.
    np.testing.assert_allclose(x * 3600, [0, 30, 60, 90, 600, 630, 660])
    assert np.isnan(y[3]) and not np.isnan(y[2]) and not np.isnan(y[4])
    assert fig.axes[0].get_xlim() == pytest.approx((0, 660 / 3600))


def test_hypnogram_refuses_bad_input():
    with pytest.raises(ValueError, match=r"not sleep stages: \[5, 9\]"):
        plot_hypnogram([0, 5, 9, 2])
    with pytest.raises(ValueError, match=r"not sleep stages: \['\?'\]"):
        plot_hypnogram(["W", "?"])
    with pytest.raises(ValueError, match="y_true has 3 epochs but y_pred has 2"):
        plot_hypnogram([0, 1], y_true=[0, 1, 2])
    with pytest.raises(ValueError, match="strictly increasing"):
        plot_hypnogram([0, 1, 2], onsets=[0, 60, 30])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        plot_hypnogram([0, 1, 2], onsets=[0, 30])
    with pytest.raises(ValueError, match=r"epoch_duration.* float in the range"):
        plot_hypnogram([0, 1, 2], epoch_duration=0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot_hypnogram([])


# -- confusion matrix --------------------------------------------------------------


def test_confusion_matrix_normalized_rows(tmp_path):
    fig = plot_confusion_matrix(Y_TRUE, Y_PRED, path=tmp_path / "cm.png")
    assert len(fig.axes) == 2  # the matrix and its colour bar
    ax = fig.axes[0]
    assert _ticklabels(ax.xaxis) == ["W", "N1", "N2", "N3", "REM"]
    assert _ticklabels(ax.yaxis) == ["W", "N1", "N2", "N3", "REM"]
    assert ax.get_xlabel() == "Predicted stage"
    assert ax.get_ylabel() == "True stage"
    matrix = ax.images[0].get_array()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    assert matrix[0, 0] == pytest.approx(2 / 3)  # W: 2 of 3 right
    assert len(ax.texts) == 25
    assert ax.texts[0].get_text() == "0.67\n(2)"  # fraction and epoch count
    _assert_png(tmp_path / "cm.png")


def test_confusion_matrix_counts_absent_stage_and_given_ax():
    fig, ax = plt.subplots()
    returned = plot_confusion_matrix([0, 0, 2, 2], [0, 2, 2, 2], normalize=None, ax=ax)
    assert returned is fig
    matrix = ax.images[0].get_array()
    assert matrix.shape == (5, 5)
    assert matrix.sum() == 4
    assert ax.texts[0].get_text() == "1"
    normalized = plot_confusion_matrix([0, 0, 2, 2], [0, 2, 2, 2])
    rows = normalized.axes[0].images[0].get_array().sum(axis=1)
    np.testing.assert_allclose(rows, [1, 0, 1, 0, 0])  # absent stages: 0 rows


def test_confusion_matrix_other_labels_and_errors():
    fig = plot_confusion_matrix(["a", "b", "b"], ["a", "b", "a"], normalize="all")
    assert _ticklabels(fig.axes[0].xaxis) == ["a", "b"]
    assert fig.axes[0].images[0].get_array().sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"normalize.* must be a str among"):
        plot_confusion_matrix(Y_TRUE, Y_PRED, normalize="rows")
    with pytest.raises(ValueError, match="not in labels"):
        plot_confusion_matrix(Y_TRUE, Y_PRED, labels=[0, 1])


# -- training curves ---------------------------------------------------------------


HISTORY = {
    "loss": [1.6, 1.2, 1.0],
    "accuracy": [0.3, 0.5, 0.6],
    "val_loss": [1.5, 1.3, 1.25],
    "val_accuracy": [0.35, 0.45, 0.5],
}


def test_training_curves_with_validation(tmp_path):
    fig = plot_training_curves(HISTORY, path=tmp_path / "curves.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), HISTORY["val_loss"])
    np.testing.assert_array_equal(acc_ax.lines[0].get_ydata(), HISTORY["accuracy"])
    _assert_png(tmp_path / "curves.png")


def test_training_curves_without_validation_and_extra_metric():
    fig = plot_training_curves(
        {"accuracy": [0.2, 0.4], "loss": [2.0, 1.0], "learning_rate": [1e-3, 1e-3]}
    )
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "learning_rate"]
    assert [len(ax.lines) for ax in fig.axes] == [1, 1, 1]


@pytest.mark.slow
def test_training_curves_from_fitted_classifier_and_pipeline(spectrograms):
    from conftest import tiny_classifier

    from skdreamy import make_pipeline

    X, y, _ = spectrograms
    X, y = X[::6], y[::6]
    clf = tiny_classifier(epochs=3, validation_fraction=0.3).fit(X, y)
    fig = plot_training_curves(clf)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), clf.history_["loss"])
    pipe = make_pipeline(n_per_class=None, scaler="passthrough", classifier=clf)
    with pytest.raises(NotFittedError, match="fit it first"):
        plot_training_curves(make_pipeline(classifier=tiny_classifier()))
    pipe.fit(X, y)
    assert len(plot_training_curves(pipe).axes[0].lines[0].get_ydata()) == 3


def test_training_curves_refuse_bad_history():
    with pytest.raises(TypeError, match=r"history.* must be an instance of .dict."):
        plot_training_curves([1.0, 0.5])
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_curves({"loss": []})
    with pytest.raises(ValueError, match="same length"):
        plot_training_curves({"loss": [1.0, 0.5], "val_loss": [1.0]})


# -- probabilities ------------------------------------------------------------------


def test_probabilities_stacked_bands(tmp_path):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(5), size=40)
    fig = plot_probabilities(proba, path=tmp_path / "hypnodensity.png")
    (ax,) = fig.axes
    assert len(ax.collections) == 5
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["REM", "N3", "N2", "N1", "W"]  # top band first
    for band, name in zip(ax.collections, ["W", "N1", "N2", "N3", "REM"], strict=True):
        assert matplotlib.colors.same_color(band.get_facecolor()[0], STAGE_COLORS[name])
    assert ax.get_ylim() == (0, 1)
    assert ax.get_xlim() == pytest.approx((0, 40 * 30 / 3600))
    # The top of the stack is at 1 everywhere.
    top = ax.collections[-1].get_paths()[0].vertices[:, 1]
    assert top.max() == pytest.approx(1.0)
    _assert_png(tmp_path / "hypnodensity.png")


def test_probabilities_with_classes_onsets_and_ax():
    proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9]])
    fig, ax = plt.subplots()
    returned = plot_probabilities(
        proba, classes=np.array([2, 4]), onsets=[0, 30, 300], ax=ax
    )
    assert returned is fig
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["REM", "N2"]
    assert ax.get_xlim() == pytest.approx((0, 330 / 3600))
    other = plot_probabilities(proba, classes=["left", "right"])
    texts = [t.get_text() for t in other.axes[0].get_legend().get_texts()]
    assert texts == ["right", "left"]


def test_probabilities_refuse_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        plot_probabilities(np.ones(5) / 5)
    with pytest.raises(ValueError, match="pass classes"):
        plot_probabilities(np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="name the 2 columns"):
        plot_probabilities(np.full((3, 2), 0.5), classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_probabilities(np.full((3, 5), 2.0))
    with pytest.raises(ValueError, match="without NaN"):
        plot_probabilities(np.full((3, 5), np.nan))


def test_hypnogram_title_and_key_figures():
    from skdreamy.hypnogram import sleep_statistics

    stats = sleep_statistics(Y_PRED)
    fig = plot_hypnogram(Y_PRED, title="night 3", key_figures=stats)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "night 3"
    right = ax.get_title(loc="right")
    for key in ("TST", "SE", "WASO", "SOL"):
        assert key in right
    assert f"TST {stats['TST']:.1f} min" in right
    plt.close(fig)


def test_statistics_agreement_panels(tmp_path):
    from skdreamy.hypnogram import statistics_agreement
    from skdreamy.plotting import plot_statistics_agreement

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 60)
    y_pred = np.where(rng.random(60) < 0.8, y_true, 0)
    nights = np.repeat([0, 1, 2], 20)
    agreement = statistics_agreement(y_true, y_pred, nights=nights)
    fig = plot_statistics_agreement(agreement, path=tmp_path / "ba.png")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(agreement.statistics) == 8
    tst = visible[0]
    assert tst.get_title() == "TST (min)"
    points = tst.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 1], agreement.diff["TST"])
    np.testing.assert_allclose(
        points[:, 0], (agreement.true["TST"] + agreement.pred["TST"]) / 2
    )
    levels = sorted(line.get_ydata()[0] for line in tst.lines)
    summary = agreement.summary["TST"]
    expected = sorted([0, summary["bias"], summary["loa_lower"], summary["loa_upper"]])
    np.testing.assert_allclose(levels, expected)
    _assert_png(tmp_path / "ba.png")
    plt.close(fig)
    with pytest.raises(ValueError, match="statistics must be some of"):
        plot_statistics_agreement(agreement, statistics=["XYZ"])
