"""
============================================
Stratified vs subject-wise cross-validation
============================================

:func:`~sklearn.model_selection.cross_val_score` works on the pipeline as on
any scikit-learn classifier. *How* the epochs are split into folds matters
more than usual in sleep staging: this example scores the same pipeline with
stratified folds, which mix every subject's epochs into training and test,
and with subject-wise folds, which keep each subject on one side, and
explains why the two estimates differ.

**Quick mode** (the default) balances to 100 epochs per stage, trains the
reference CNN for 3 epochs and uses 3 folds of each kind.
``SKDREAMY_EXAMPLES_FULL=1`` balances to 1000, trains for 25 epochs and uses 6
folds of each kind (on six subjects, leave-one-subject-out): 12 fits of
several minutes each on a CPU.
"""

# %%
# Settings and data
# -----------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import is_classifier
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import (
    GroupKFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)

from skdreamy import SleepStageCNNClassifier, make_pipeline
from skdreamy.datasets import load_example_nights
from skdreamy.sampling import MissingStageWarning

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = 1000 if FULL else 100
EPOCHS = 25 if FULL else 3
N_SPLITS = 6 if FULL else 3
print(
    f"{'Full' if FULL else 'Quick'} mode: {N_PER_CLASS} epochs per stage, "
    f"{EPOCHS} training epochs, {N_SPLITS} folds."
)


# Real nights come from the folder in SKDREAMY_DATA or, in a development
# checkout (the gallery runs from examples/), from ../../shared/data; without
# either, synthetic epochs stand in and the description says so.
DATA = os.environ.get("SKDREAMY_DATA", "../../shared/data")
data = load_example_nights(DATA, fallback="synthetic", n_synthetic=900, n_subjects=6)
X, y, groups = data.X, data.y, data.groups
print(data.description)

# %%
# Stratified folds, as scikit-learn chooses for classifiers
# ---------------------------------------------------------
# For a classifier, ``cross_val_score(pipe, X, y, cv=k)`` splits with
# :class:`~sklearn.model_selection.StratifiedKFold`: every fold gets the same
# stage proportions. It does so only because the pipeline *is* a classifier
# for scikit-learn. scikeras 0.13 loses that on scikit-learn 1.7 and later (a
# plain scikeras model would get unstratified ``KFold``);
# :class:`~skdreamy.SleepStageCNNClassifier` restores it:
pipe = make_pipeline(
    raw=True,
    n_per_class=N_PER_CLASS,
    classifier=SleepStageCNNClassifier(epochs=EPOCHS, random_state=0),
    random_state=0,
)
print("is_classifier:", is_classifier(pipe))
print("cv=3 means", check_cv(3, y, classifier=is_classifier(pipe)))

# %%
# We shuffle the stratified folds: epochs are stored in time order, and
# neighbouring epochs resemble each other.
stratified = StratifiedKFold(N_SPLITS, shuffle=True, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", MissingStageWarning)
    scores_stratified = cross_val_score(pipe, X, y, cv=stratified, scoring="f1_micro")
print("stratified  :", scores_stratified.round(3))

# %%
# Subject-wise folds
# ------------------
# :class:`~sklearn.model_selection.GroupKFold` with the subject of each epoch
# as its group: the test subjects are never seen in training. A training
# fold can then lack a stage altogether (in DREAMS only one subject has REM),
# for which the balancing step warns with
# :class:`~skdreamy.sampling.MissingStageWarning`; expected here, so silenced.
# ``scoring="f1_micro"`` (the accuracy, computed from the predictions) counts
# epochs of such a stage as errors, where the classifier's own ``score``
# would refuse labels it never saw.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", MissingStageWarning)
    scores_subject = cross_val_score(
        pipe, X, y, groups=groups, cv=GroupKFold(N_SPLITS), scoring="f1_micro"
    )
print("subject-wise:", scores_subject.round(3))

# %%
# A baseline that always answers the most frequent stage of its training
# fold, scored on the same subject-wise folds, tells what a score is worth.
baseline = cross_val_score(
    DummyClassifier(strategy="most_frequent"),
    X,
    y,
    groups=groups,
    cv=GroupKFold(N_SPLITS),
    scoring="f1_micro",
)
print("baseline    :", baseline.round(3))

# %%
# Compare
# -------
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
rows = [
    ("stratified", scores_stratified),
    ("subject-wise", scores_subject),
    ("most frequent\n(subject-wise)", baseline),
]
for i, (_name, scores) in enumerate(rows):
    ax.plot(np.full(len(scores), i), scores, "o", alpha=0.6)
    ax.errorbar(i + 0.15, scores.mean(), yerr=scores.std(), fmt="ks", capsize=4)
ax.set_xticks(range(len(rows)), [name for name, _ in rows])
ax.set_xlim(-0.5, len(rows) - 0.5)
ax.set_ylim(0, 1)
ax.set_ylabel("f1_micro per fold")
ax.set_title("Fold scores (dots), mean and standard deviation (squares)")
for name, scores in rows:
    print(f"{name.splitlines()[0]:>13}: {scores.mean():.3f} +/- {scores.std():.3f}")
if data.synthetic:
    print("(synthetic data: these figures are not an accuracy result)")

# %%
# Why they differ
# ---------------
# Epochs of one subject share much that is not sleep stage: the amplitude of
# the EEG, the frequencies of alpha rhythm and spindles, the electrode, the
# amplifier and, in DREAMS, even the original sampling rate (50, 100 or 200
# Hz). Neighbouring epochs of one night are also alike. Stratified folds put
# epochs of every subject, often next-door epochs, on both sides, so the
# model can partly recognise the subject and the moment instead of the stage:
# its test set is not independent of its training set, and the estimate is
# usually optimistic. Subject-wise folds measure what matters in use, the
# staging of a *new* person's night, and are the honest estimate to report.
#
# Subject-wise folds also vary more: each fold tests different people with a
# different mix of stages (a fold may hold almost no N3 or no REM), so the
# spread over folds is large and a handful of subjects gives a rough
# estimate. With few subjects, prefer leave-one-subject-out
# (:class:`~sklearn.model_selection.LeaveOneGroupOut`) and report the spread.
#
# On small data and a short training (quick mode) the network may not even
# beat the most-frequent-stage baseline; do not read more into these numbers
# than the comparison of splitting schemes. Micro-F1 (the accuracy) rewards
# the majority stage, N2; ``scoring="f1_macro"`` weighs every stage equally
# and puts such a baseline near the bottom.
# :func:`skdreamy.metrics.cross_validate_stages` returns the out-of-fold
# predictions and pooled per-stage scores of the same subject-wise
# cross-validation.
plt.show()
