"""
================================
Reproduce the reference protocol
================================

The reference protocol end to end: raw 30-s EEG epochs at 100 Hz become
51 x 59 power spectrograms, each (frequency, time) cell is min-max scaled to
[0, 1] with statistics of the training epochs, the training epochs are
balanced to 1000 per stage (random under-sampling, then over-sampling), and
the reference CNN (750,245 parameters) is trained with Adam (learning rate
1e-3), batch size 16, for 25 epochs. :func:`skdreamy.make_pipeline` with its
defaults *is* this protocol; here it starts from raw epochs (``raw=True``).

**Quick mode** (the default) balances to 100 epochs per stage instead of 1000
and trains for 5 epochs instead of 25, with the same CNN. Set
``SKDREAMY_EXAMPLES_FULL=1`` for the full protocol (several minutes on a CPU).
"""

# %%
# Settings and data
# -----------------
# The example uses the real DREAMS excerpts when it finds them (the folder in
# ``SKDREAMY_DATA``, or the development checkout's data folder) and the
# synthetic generator otherwise.
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

from skdreamy import SleepStageCNNClassifier, make_pipeline
from skdreamy.datasets import load_example_nights
from skdreamy.metrics import sleep_scores
from skdreamy.plotting import plot_confusion_matrix, plot_training_curves

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = 1000 if FULL else 100
EPOCHS = 25 if FULL else 5
print(
    f"{'Full' if FULL else 'Quick'} mode: {N_PER_CLASS} epochs per stage, "
    f"{EPOCHS} training epochs."
)


# Real nights come from the folder in SKDREAMY_DATA or, in a development
# checkout (the gallery runs from examples/), from ../../shared/data; without
# either, synthetic epochs stand in and the description says so.
DATA = os.environ.get("SKDREAMY_DATA", "../../shared/data")
data = load_example_nights(DATA, fallback="synthetic", n_synthetic=1000, n_subjects=1)
X, y, REAL = data.X, data.y, not data.synthetic
print(data.description)
print("Epochs per stage (W, N1, N2, N3, REM):", np.bincount(y, minlength=5))

# %%
# A held-out test set
# -------------------
# A random quarter of the epochs, stratified by stage, is kept for testing.
# This split is *epoch-wise*: epochs of the same subject land on both sides,
# which flatters the score. :ref:`sphx_glr_auto_examples_plot_cross_val_score.py`
# shows the subject-wise alternative and why it scores lower.
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(f"{len(y_train)} training epochs, {len(y_test)} test epochs")

# %%
# The pipeline
# ------------
# Four steps, named ``spectrogram``, ``scale``, ``balance`` and ``classify``.
# Balancing happens in ``fit`` only: the test epochs are never resampled.
# ``validation_fraction=0.1`` holds out a stratified, shuffled 10 % of the
# (balanced) training epochs to draw validation curves; ``random_state`` makes
# the run repeatable.
pipe = make_pipeline(
    raw=True,
    n_per_class=N_PER_CLASS,
    classifier=SleepStageCNNClassifier(
        epochs=EPOCHS, validation_fraction=0.1, random_state=0
    ),
    random_state=0,
)
print([name for name, _ in pipe.steps])

start = time.perf_counter()
pipe.fit(X_train, y_train)
print(f"Trained in {time.perf_counter() - start:.0f} s")

# %%
# Training curves
# ---------------
# Loss and accuracy per epoch on the training and validation epochs. The
# validation epochs come from the *balanced* set (copies made by
# over-sampling stay on one side of the split), so they have the balanced
# stage mix, not a night's: read the validation curve as a check of
# convergence and overfitting, not as a test score.
fig = plot_training_curves(pipe)

# %%
# Scores on the test epochs
# -------------------------
# :func:`skdreamy.metrics.sleep_scores` collects accuracy, macro-F1, Cohen's
# kappa and the per-stage F1. In quick mode the network is far from trained:
# only the full mode gives the protocol's figures.
y_pred = pipe.predict(X_test)
scores = sleep_scores(y_test, y_pred)
print(
    f"accuracy {scores['accuracy']:.3f}  macro-F1 {scores['f1_macro']:.3f}  "
    f"kappa {scores['cohen_kappa']:.3f}"
)
print(
    classification_report(
        y_test,
        y_pred,
        labels=range(5),
        target_names=scores["labels"],
        zero_division=0,
    )
)
counts = np.bincount(y_test, minlength=5)
few = [name for name, n in zip(scores["labels"], counts, strict=True) if n < 10]
if few:
    print(f"Fewer than 10 test epochs of {', '.join(few)}: their rows mean little.")
if not REAL:
    print("(synthetic data: these figures are not an accuracy result)")

# %%
# The confusion matrix, each row normalised to the number of test epochs of
# its stage (so the diagonal is the recall of each stage).
fig = plot_confusion_matrix(y_test, y_pred)
plt.show()
