"""Reliability (issue 10): bad input that the other test files do not try.

Each case asserts the exception type and a message that names the problem
(or, where the input is acceptable, the behaviour). ``tests/README.md`` lists
these cases together with those tried elsewhere.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from skdreamy import EpochSpectrogram, SpectrogramScaler, make_pipeline
from skdreamy.datasets import read_night, read_recording
from skdreamy.metrics import cross_validate_stages
from skdreamy.outofcore import (
    BalancedEpochBatches,
    fit_out_of_core,
    predict_out_of_core,
)
from skdreamy.plotting import plot_confusion_matrix, plot_probabilities
from skdreamy.preprocessing import epoch_quality, stack_context
from skdreamy.report import write_report
from skdreamy.sampling import ClassBalancer
from skdreamy.staging import stage
from tests._edf_files import write_psg
from tests.conftest import tiny_classifier

EEG = "EEG Fpz-Cz"


def _lr_pipeline(**params):
    """A raw-epoch pipeline with a cheap final step."""
    return make_pipeline(
        raw=True,
        n_per_class=10,
        classifier=LogisticRegression(max_iter=300),
        random_state=0,
        **params,
    )


@pytest.fixture(scope="module")
def raw_pipeline(raw_epochs):
    X, y, _ = raw_epochs
    return _lr_pipeline().fit(X[:200], y[:200]), X[200:260]


@pytest.fixture(scope="module")
def fitted_cnn(spectrograms):
    """A tiny CNN on log spectrograms, and held-out spectrograms."""
    X, y, _ = spectrograms
    X = np.log10(X + 1e-6).astype(np.float32)
    return tiny_classifier(random_state=0).fit(X[:200], y[:200]), X, y


# -- dtype: int, float32 and float64 input give the same results -----------------


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.float64])
def test_spectrogram_gives_the_same_result_for_any_numeric_dtype(raw_epochs, dtype):
    X = np.round(raw_epochs[0][:20]).astype(np.int16)  # exact in every dtype
    reference = EpochSpectrogram().fit_transform(X.astype(np.float32))
    out = EpochSpectrogram().fit_transform(X.astype(dtype))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, reference)


@pytest.mark.parametrize("method", ["minmax", "standard", "robust"])
def test_scaler_gives_the_same_result_for_any_numeric_dtype(method):
    S = np.random.default_rng(0).integers(0, 1000, size=(25, 51 * 59))
    results = {
        np.dtype(dtype).name: SpectrogramScaler(method=method).fit_transform(
            S.astype(dtype)
        )
        for dtype in (np.int64, np.float32, np.float64)
    }
    for out in results.values():
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, results["float64"])


def test_scaler_log_depends_on_the_input_dtype_only_by_float32_rounding():
    """log10 runs in the input's precision: float32 and float64 differ by ~1 ulp."""
    S = np.random.default_rng(0).gamma(2.0, 10.0, size=(25, 51 * 59))
    scaler = SpectrogramScaler(log=True)
    a = scaler.fit_transform(S.astype(np.float32))
    b = scaler.fit_transform(S.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
def test_balancer_keeps_the_input_dtype_and_values(dtype):
    X = np.arange(40, dtype=dtype).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    Xr, _ = ClassBalancer(n_per_class=7, random_state=0).fit_resample(X, y)
    assert Xr.dtype == dtype
    assert set(map(tuple, Xr.tolist())) <= set(map(tuple, X.tolist()))


@pytest.mark.slow
def test_classifier_casts_any_numeric_dtype_to_float32(fitted_cnn):
    clf, X, y = fitted_cnn
    test = X[200:260]
    reference = clf.predict_proba(test)
    np.testing.assert_array_equal(clf.predict_proba(test.astype(np.float64)), reference)
    whole = np.round(test).astype(np.int32)
    np.testing.assert_array_equal(
        clf.predict_proba(whole), clf.predict_proba(whole.astype(np.float32))
    )
    # Training on float64 trains on the same float32 values: the same model.
    again = tiny_classifier(random_state=0).fit(X[:200].astype(np.float64), y[:200])
    np.testing.assert_array_equal(again.predict_proba(test), reference)


# -- empty input: 0 epochs ---------------------------------------------------------


def _fitted_scaler():
    return SpectrogramScaler().fit(np.random.default_rng(0).random((5, 3009)))


EMPTY_RAW = np.zeros((0, 3000))
EMPTY_SPEC = np.zeros((0, 3009))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: EpochSpectrogram().fit(EMPTY_RAW), r"0 sample\(s\)"),
        (lambda: EpochSpectrogram().transform(EMPTY_RAW), r"0 sample\(s\)"),
        (lambda: SpectrogramScaler().fit(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: SpectrogramScaler().partial_fit(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: _fitted_scaler().transform(EMPTY_SPEC), r"0 sample\(s\)"),
        (lambda: _fitted_scaler().inverse_transform(EMPTY_SPEC), r"0 sample\(s\)"),
        (
            lambda: ClassBalancer().fit_resample(np.zeros((0, 3)), np.zeros(0, int)),
            r"0 sample\(s\)",
        ),
        (
            lambda: _lr_pipeline().fit(EMPTY_RAW, np.zeros(0, int)),
            r"0 sample\(s\).*EpochSpectrogram",
        ),
        (
            lambda: cross_validate_stages(
                LogisticRegression(), np.zeros((0, 3)), np.zeros(0, int)
            ),
            r"0 sample\(s\)",
        ),
        (
            lambda: BalancedEpochBatches(EMPTY_SPEC, np.zeros(0, int)),
            r"X holds no epochs \(shape \(0, 3009\)\)",
        ),
        (
            lambda: fit_out_of_core(
                make_pipeline(classifier=tiny_classifier()),
                EMPTY_SPEC,
                np.zeros(0, int),
            ),
            "X holds no epochs",
        ),
        (
            lambda: plot_confusion_matrix([], []),
            "empty; there is nothing to score",
        ),
        (
            lambda: plot_probabilities(np.zeros((0, 5))),
            r"non-empty 2-D array .*got shape \(0, 5\)",
        ),
    ],
)
def test_empty_input_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_empty_input_at_prediction(raw_pipeline, fitted_cnn, method):
    pipe, _ = raw_pipeline
    clf, _, _ = fitted_cnn
    with pytest.raises(ValueError, match=r"0 sample\(s\).*EpochSpectrogram"):
        getattr(pipe, method)(EMPTY_RAW)
    with pytest.raises(ValueError, match=r"0 sample\(s\).*SleepStageCNNClassifier"):
        getattr(clf, method)(EMPTY_SPEC)
    with pytest.raises(ValueError, match=r"X holds no epochs \(shape \(0, 3000\)\)"):
        predict_out_of_core(pipe, EMPTY_RAW, method=method)


@pytest.mark.parametrize("invalid", ["raise", "mark"])
def test_stage_refuses_an_empty_night(raw_pipeline, invalid):
    pipe, _ = raw_pipeline
    with pytest.raises(ValueError, match=r"X holds no epochs \(shape \(0, 3000\)\)"):
        stage(pipe, EMPTY_RAW, invalid=invalid)
    with pytest.raises(ValueError, match=r"raw epochs \(n_epochs, n_times\).*\(0,\)"):
        stage(pipe, [], invalid=invalid)


def test_empty_input_where_an_empty_result_is_the_answer():
    """Pure per-epoch functions map 0 epochs to 0 rows rather than fail."""
    quality = epoch_quality(EMPTY_RAW)
    assert quality.valid.shape == quality.reason.shape == (0,)
    assert quality.counts == {"non-finite": 0, "flat": 0, "clipped": 0}
    assert stack_context(EMPTY_RAW, [], n_context=2).shape == (0, 5 * 3000)


# -- wrong rank and non-numeric dtypes -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(3009), "Expected 2D array, got 1D array"),
        (np.full((2, 3009), "a"), "could not convert string to float"),
        (np.zeros((2, 3009), dtype=complex), "Complex data not supported"),
        (np.full((2, 3009), np.inf), "Input X contains infinity"),
        (np.full((2, 3009), np.nan), "Input X contains NaN"),
    ],
)
def test_bad_spectrograms_at_prediction(fitted_cnn, X, match):
    clf, _, _ = fitted_cnn
    with pytest.raises(ValueError, match=match):
        clf.predict(X)
    with pytest.raises(ValueError, match=match):
        _fitted_scaler().transform(X)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(3000), "Expected 2D array, got 1D array"),
        (np.full((2, 3000), "a"), "could not convert string to float"),
        (np.zeros((2, 3000), dtype=complex), "Complex data not supported"),
        (np.full((2, 3000), -np.inf), "Input X contains infinity"),
        (np.full((2, 3000), np.nan), "Input X contains NaN"),
    ],
)
def test_bad_raw_epochs_at_prediction(raw_pipeline, X, match):
    pipe, _ = raw_pipeline
    with pytest.raises(ValueError, match=match):
        pipe.predict(X)


# -- flat and clipped epochs: staged (and flagged by stage), never a crash ----------


@pytest.mark.parametrize("log", [False, True])
def test_flat_and_clipped_epochs_get_finite_probabilities(raw_epochs, log):
    X, y, _ = raw_epochs
    pipe = make_pipeline(
        raw=True,
        n_per_class=10,
        scaler=SpectrogramScaler(log=log),
        classifier=LogisticRegression(max_iter=300),
    ).fit(X[:200], y[:200])
    bad = np.stack(
        [
            np.zeros(3000),  # detached electrode
            np.full(3000, 250.0),  # flat at an offset
            np.clip(X[300], -5, 5),  # amplifier in saturation
            np.sign(X[301]) * 1e4,  # railing between two extremes
        ]
    )
    proba = pipe.predict_proba(bad)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert epoch_quality(bad).reason.tolist() == ["flat", "flat", "clipped", "clipped"]


def test_scaler_fitted_on_flat_spectrograms_does_not_divide_by_zero():
    flat = np.zeros((6, 3009))
    for method in ("minmax", "standard", "robust"):
        for log in (False, True):
            Z = SpectrogramScaler(method=method, log=log).fit_transform(flat)
            assert np.all(Z == 0.0), (method, log)


# -- a class with fewer rows than folds ------------------------------------------


def _features(y, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[y, -y] + rng.normal(scale=0.5, size=(len(y), 2))


def test_class_with_fewer_rows_than_folds_warns_and_still_covers_every_epoch():
    y = np.repeat([0, 2, 3], 20)
    y[0] = 1  # N1: a single epoch, for 5 stratified folds
    X = _features(y)
    with pytest.warns(
        UserWarning, match=r"least populated class in y has only 1 members.*n_splits=5"
    ):
        res = cross_validate_stages(LogisticRegression(), X, y, cv=5)
    assert np.all(res.fold >= 0) and res.y_pred.shape == y.shape
    # The fold that tests the lone N1 epoch trained without N1.
    lone = res.fold[0]
    assert "N1" not in res.fold_scores[lone]["train_labels"]
    with pytest.warns(UserWarning, match="least populated class"):
        scores = cross_val_score(LogisticRegression(), X, y, cv=5)
    assert np.all(np.isfinite(scores))


def test_fewer_subjects_than_folds_is_refused():
    y = np.tile([0, 2], 15)
    with pytest.raises(
        ValueError, match="n_splits=5 greater than the number of groups: 3"
    ):
        cross_validate_stages(
            LogisticRegression(), _features(y), y, groups=np.arange(30) % 3
        )
    with pytest.raises(ValueError, match="greater than the number of groups"):
        cross_val_score(
            LogisticRegression(),
            _features(y),
            y,
            groups=np.arange(30) % 3,
            cv=GroupKFold(5),
        )


def test_fold_left_with_a_single_class_names_the_fold():
    y = np.zeros(40, dtype=int)
    y[:4] = 2  # all in the first of 4 unshuffled folds
    with pytest.raises(ValueError, match=r"needs at least 2 classes.*\[0\]") as info:
        cross_validate_stages(tiny_classifier(), np.zeros((40, 3009)), y, cv=KFold(4))
    assert "(in fold 0 of 4 of cross_validate_stages)" in info.value.__notes__


# -- single class, unseen labels -----------------------------------------------------


def test_single_class_training_set(spectrograms):
    X, _, _ = spectrograms
    one_class = np.full(20, 2)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        ClassBalancer(n_per_class=4).fit_resample(X[:20], one_class)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        make_pipeline(n_per_class=5, classifier=tiny_classifier()).fit(
            X[:20], one_class
        )
    # Balancing off still runs imbalanced-learn's target checks.
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        make_pipeline(n_per_class=None, classifier=tiny_classifier()).fit(
            X[:20], one_class
        )
    with pytest.raises(ValueError, match=r"at least 2 classes .*1 class: \[2\]"):
        tiny_classifier().fit(X[:20], one_class)


@pytest.mark.slow
def test_unseen_labels_at_pipeline_score(fitted_cnn):
    clf, X, y = fitted_cnn
    pipe = make_pipeline(n_per_class=None, scaler="passthrough", classifier=clone(clf))
    pipe.fit(X[:100], y[:100])
    with pytest.raises(ValueError, match=r"labels never seen in fit: \[7\]"):
        pipe.score(X[:3], np.array([0, 2, 7]))


# -- wrong spectrogram_shape at the pipeline level -----------------------------------


@pytest.mark.parametrize(
    ("kwargs", "data", "match"),
    [
        (
            {"spectrogram_shape": (51, 58)},
            "spectrograms",
            r"3009 features per epoch, but spectrogram_shape=\(51, 58\) needs "
            r"51 \* 58 = 2958",
        ),
        ({"spectrogram_shape": (51,)}, "spectrograms", "pair of positive integers"),
        ({"spectrogram_shape": (51, 0)}, "spectrograms", "pair of positive integers"),
        (
            {"spectrogram_shape": (51, 59)},
            "raw",
            r"3000 features per epoch, but spectrogram_shape=\(51, 59\) needs .*3009",
        ),
        (
            {"spectrogram_shape": (51, 59)},
            "transposed",
            r"spectrograms of shape \(59, 51\).*expects spectrogram_shape=\(51, 59\)",
        ),
        (
            {"raw": True, "spectrogram_shape": (51, 60)},
            "raw",
            r"3009 features per epoch, but spectrogram_shape=\(51, 60\) needs .*3060",
        ),
        (
            {"raw": True, "spectrogram": EpochSpectrogram(epoch_duration=90)},
            "raw",
            r"Epochs have 3000 samples, but .*epoch_duration=90 s = 9000",
        ),
    ],
)
def test_wrong_spectrogram_shape_in_a_pipeline(raw_epochs, kwargs, data, match):
    X, y, _ = raw_epochs
    X, y = X[:30], y[:30]
    S = EpochSpectrogram().fit_transform(X)
    inputs = {
        "raw": X,
        "spectrograms": S,
        "transposed": np.swapaxes(S.reshape(30, 51, 59), 1, 2),
    }
    pipe = make_pipeline(
        n_per_class=5, classifier=LogisticRegression(max_iter=50), **kwargs
    )
    with pytest.raises(ValueError, match=match):
        pipe.fit(inputs[data], y)


def test_spectrogram_shape_of_the_wrong_type_is_refused_at_construction():
    with pytest.raises(InvalidParameterError, match="'spectrogram_shape' parameter"):
        make_pipeline(spectrogram_shape="51x59")


def test_raw_epochs_into_a_fitted_spectrogram_pipeline(spectrograms, raw_epochs):
    S, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=5, classifier=LogisticRegression(max_iter=50))
    pipe.fit(S[:30], y[:30])
    with pytest.raises(ValueError, match="3000 features, but SpectrogramScaler is"):
        pipe.predict(raw_epochs[0][:2])


# -- mismatched lengths ---------------------------------------------------------------


class _Constant(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda X, y: _lr_pipeline().fit(X[:10], y[:9]),
            "X has 10 epochs but y has 9 labels",
        ),
        (
            lambda X, y: (
                make_pipeline(raw=True, classifier=_Constant())
                .fit(X[:10], y[:10])
                .score(X[:10], y[:9])
            ),
            r"inconsistent numbers of samples: \[9, 10\]",
        ),
        (
            lambda X, y: cross_validate_stages(LogisticRegression(), X[:10], y[:9]),
            r"inconsistent numbers of samples: \[10, 9\]",
        ),
        (
            lambda X, y: plot_confusion_matrix(y[:3], y[:2]),
            r"inconsistent numbers of samples: \[3, 2\]",
        ),
        (
            lambda X, y: plot_probabilities(np.full((3, 5), 0.2), onsets=[0, 30]),
            r"one start time per epoch, shape \(3,\), got shape \(2,\)",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::skdreamy.sampling.MissingStageWarning")
def test_mismatched_lengths(raw_epochs, call, match):
    X, y, _ = raw_epochs
    with pytest.raises(ValueError, match=match):
        call(X, y)


def test_report_with_mismatched_labels_writes_nothing(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        write_report(out, {}, [0, 1, 2], [0, 1])
    assert list(out.iterdir()) == []


# -- odd sampling rates in EDF recordings --------------------------------------------


def _sine_recording(path, sfreq, seconds, *, record=None, annotations=()):
    t = np.arange(round(sfreq * seconds)) / sfreq
    from edfio import Edf, EdfAnnotation, EdfSignal

    Edf(
        [
            EdfSignal(
                40 * np.sin(2 * np.pi * 10 * t),
                sfreq,
                label=EEG,
                physical_dimension="uV",
            )
        ],
        annotations=[EdfAnnotation(*a) for a in annotations],
        data_record_duration=record,
    ).write(path)
    return path


@pytest.mark.parametrize(
    ("sfreq", "record"),
    [
        (128.0, None),
        (250.0, None),
        (256.0, None),
        (500.0, None),
        (200 / 3, 3.0),  # 66.67 Hz: 3-s records of 200 samples
        (500 / 7, 7.0),  # 71.43 Hz: 30 s is 2142.86 samples, not a whole number
    ],
)
def test_odd_sampling_rates_are_resampled_to_100_hz(tmp_path, sfreq, record):
    psg = _sine_recording(
        tmp_path / "odd.edf",
        sfreq,
        147.0,  # 21 records of 7 s, 49 of 3 s
        record=record,
        annotations=[(0, 120, "Sleep stage 2")],
    )
    night = read_night(psg)
    assert night.X.shape == (4, 3000) and night.X.dtype == np.float32
    assert night.orig_sfreq == pytest.approx(sfreq) and night.sfreq == 100.0
    np.testing.assert_array_equal(night.onsets, [0, 30, 60, 90])
    spectrum = np.abs(np.fft.rfft(night.X[1:3], axis=1))
    peaks = np.fft.rfftfreq(3000, 1 / 100)[spectrum.argmax(axis=1)]
    np.testing.assert_array_equal(peaks, [10.0, 10.0])
    # Amplitude kept away from the recording's edges (40 uV sine).
    assert 35 < np.abs(night.X[1:3]).max() < 45
    recording = read_recording(psg)
    assert recording.X.shape == (4, 3000)
    assert recording.n_dropped == {"incomplete_tail": 1}
    assert EpochSpectrogram().fit_transform(night.X).shape == (4, 51 * 59)


def test_target_rate_that_makes_an_epoch_a_fraction_of_samples(tmp_path):
    psg = write_psg(tmp_path / "n.edf", {EEG: np.zeros(6000)}, 100.0)
    with pytest.raises(ValueError, match=r"100\.01 \* 30\.0 = 3000\.3"):
        read_recording(psg, sfreq=100.01)
    assert read_recording(psg, sfreq=128.0).X.shape == (2, 3840)


def test_epochs_at_another_rate_into_the_100_hz_pipeline(tmp_path, raw_epochs):
    X, y, _ = raw_epochs
    pipe = _lr_pipeline().fit(X[:200], y[:200])
    psg = _sine_recording(tmp_path / "n.edf", 256.0, 60.0)
    fast = read_recording(psg, sfreq=256.0)
    with pytest.raises(ValueError, match=r"7680 samples.*Resample the signal to 100"):
        pipe.predict(fast.X)
    assert pipe.predict(read_recording(psg).X).shape == (2,)


def test_ordinary_edf_reads_without_warnings(tmp_path):
    psg = _sine_recording(
        tmp_path / "n.edf", 250.0, 60.0, annotations=[(0, 60, "Sleep stage W")]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_night(psg).y.tolist() == [0, 0]
