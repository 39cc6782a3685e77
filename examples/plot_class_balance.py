"""
===========================================================
Class balance: over-sampling, under-sampling, class weights
===========================================================

Sleep stages are far from balanced: N2 fills about half of a night, N1 a
few per cent. A classifier trained on the epochs as they come learns that
"N2" is a good guess. This example trains the same pipeline with five ways
of handling the imbalance and compares the F1 score of each stage, from the
same subject-wise cross-validation:

- **none**: the training epochs as they are (``balance__n_per_class=None``);
- **under-sampling**: every stage cut down to the size of the smallest one
  (imbalanced-learn's ``RandomUnderSampler`` as the ``balance`` step);
- **over-sampling**: every stage repeated up to the size of the largest one
  (``RandomOverSampler``);
- **both** (the reference): under- then over-sampling to exactly
  ``n_per_class`` epochs per stage (:class:`~skdreamy.sampling.ClassBalancer`);
- **class weights**: no resampling, but each epoch's loss weighted inversely
  to its stage's frequency (``classify__class_weight="balanced"``).

Resampling happens while fitting only: the test epochs keep their natural
proportions in every case.

**Quick mode** (the default) trains the reference CNN for 3 epochs, uses 100
epochs per stage for "both" and 2 subject-wise folds;
``SKDREAMY_EXAMPLES_FULL=1`` trains for 25 epochs, uses 1000 per stage and 3
folds: 15 fits, up to several minutes each on a CPU.
"""

# %%
# Settings and data
# -----------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone

from skdreamy import SleepStageCNNClassifier, make_pipeline
from skdreamy.datasets import load_example_nights
from skdreamy.metrics import cross_validate_stages
from skdreamy.sampling import MissingStageWarning

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = 1000 if FULL else 100
EPOCHS = 25 if FULL else 3
N_SPLITS = 3 if FULL else 2
print(
    f"{'Full' if FULL else 'Quick'} mode: {N_PER_CLASS} epochs per stage for "
    f"'both', {EPOCHS} training epochs, {N_SPLITS} folds."
)


# Real nights come from the folder in SKDREAMY_DATA or, in a development
# checkout (the gallery runs from examples/), from ../../shared/data; without
# either, synthetic epochs stand in and the description says so.
DATA = os.environ.get("SKDREAMY_DATA", "../../shared/data")
data = load_example_nights(DATA, fallback="synthetic", n_synthetic=900, n_subjects=6)
X, y, groups = data.X, data.y, data.groups
print(data.description)
print("Epochs per stage (W, N1, N2, N3, REM):", np.bincount(y, minlength=5))

# %%
# Five pipelines
# --------------
# All are copies of one :func:`~skdreamy.make_pipeline`, with one parameter
# changed or the whole ``balance`` step swapped for an imbalanced-learn
# sampler. ``set_params`` changes a pipeline in place, so each variant starts
# from a :func:`~sklearn.base.clone`.
base = make_pipeline(
    raw=True,
    n_per_class=N_PER_CLASS,
    classifier=SleepStageCNNClassifier(epochs=EPOCHS, random_state=0),
    random_state=0,
)


def variant(**params):
    """A fresh copy of the base pipeline with ``params`` set."""
    return clone(base).set_params(**params)


strategies = {
    "none": variant(balance__n_per_class=None),
    "under-sampling": variant(balance=RandomUnderSampler(random_state=0)),
    "over-sampling": variant(balance=RandomOverSampler(random_state=0)),
    "both": variant(),
    "class weights": variant(
        balance__n_per_class=None, classify__class_weight="balanced"
    ),
}
for name, pipe in strategies.items():
    print(f"{name:>15}: {pipe.named_steps['balance']}")

# %%
# Cross-validate
# --------------
# :func:`~skdreamy.metrics.cross_validate_stages` fits each pipeline once per
# subject-wise fold and scores the pooled out-of-fold predictions, so every
# epoch is predicted by a model that never saw its subject. Folds that lack
# a stage make :class:`~skdreamy.sampling.ClassBalancer` warn; expected here.
results = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", MissingStageWarning)
    for name, pipe in strategies.items():
        res = cross_validate_stages(pipe, X, y, groups=groups, cv=N_SPLITS)
        results[name] = res.scores
        print(
            f"{name:>15}: accuracy {res.scores['accuracy']:.3f}  "
            f"macro-F1 {res.scores['f1_macro']:.3f}  "
            f"fit {res.fit_time.mean():.0f} s per fold"
        )
if data.synthetic:
    print("(synthetic data: these figures are not an accuracy result)")

# %%
# Per-stage F1
# ------------
stages = ["W", "N1", "N2", "N3", "REM"]
fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
width = 0.8 / len(results)
for i, (name, scores) in enumerate(results.items()):
    f1 = [scores["per_class_f1"][s] or 0.0 for s in stages]
    ax.bar(np.arange(5) + (i - 2) * width, f1, width, label=name)
ax.set_xticks(range(5), stages)
ax.set_ylabel("F1 (pooled out-of-fold)")
ax.set_ylim(0, 1)
ax.legend(ncols=3, loc="upper left", frameon=False)
ax.set_title("Per-stage F1 by way of handling the class imbalance")
plt.show()

# %%
# What each one does
# ------------------
# - **None** leaves the majority stage dominant: the network can score well
#   on N2 and on accuracy while rarely predicting the small stages.
# - **Under-sampling** throws epochs away. With the smallest stage at a
#   handful of epochs (REM in DREAMS), the network trains on a few dozen
#   epochs in all and learns little about any stage.
# - **Over-sampling** keeps every epoch and repeats the small stages; the
#   repeated epochs can be learnt by heart, so their stage may look better in
#   training than on new subjects.
# - **Both** (the reference) caps the large stages and repeats the small ones
#   up to one fixed size, which also fixes the cost of an epoch of training.
# - **Class weights** keep the data as they are and make an error on a rare
#   stage cost more in the loss; no epoch is duplicated or dropped.
#
# Two caveats when reading the figure. Every strategy trains for the same
# number of epochs, so the larger resampled sets also get more gradient
# steps. And per-stage F1 of a stage with few test epochs (REM: five epochs
# in DREAMS, all from one subject) is noise. Macro-F1, the mean over stages,
# is the figure that rewards getting the small stages right; accuracy and
# micro-F1 reward the large ones.
