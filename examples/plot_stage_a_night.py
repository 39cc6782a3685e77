"""
==========================================
Stage a night: from raw EEG to a hypnogram
==========================================

Train the pipeline on some subjects, save it, load it back and stage the
night of a subject it has never seen: raw 30-s epochs in, a hypnogram and
the per-epoch stage probabilities (a hypnodensity) out.

**Quick mode** (the default) balances to 100 epochs per stage and trains the
reference CNN for 5 epochs; ``SKDREAMY_EXAMPLES_FULL=1`` uses the reference
settings (1000 per stage, 25 epochs).
"""

# %%
# Settings and data
# -----------------
# With the DREAMS excerpts, the night to stage is excerpt 4 (chosen for its
# varied hypnogram: wake, N1, N2, N3 and wake again) and the model learns
# from the five other subjects. Without them, a synthetic night is made by
# arranging epochs of one simulated subject in the order of a typical
# hypnogram, and the model learns from five other simulated subjects.
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skdreamy import SleepStageCNNClassifier, load, make_pipeline, save
from skdreamy.datasets import find_nights, load_example_nights, make_sleep_epochs
from skdreamy.metrics import sleep_scores
from skdreamy.persistence import read_metadata
from skdreamy.plotting import plot_hypnogram, plot_probabilities

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = 1000 if FULL else 100
EPOCHS = 25 if FULL else 5
print(
    f"{'Full' if FULL else 'Quick'} mode: {N_PER_CLASS} epochs per stage, "
    f"{EPOCHS} training epochs."
)


def synthetic_night(random_state):
    """Epochs of one simulated subject, in the order of a typical hypnogram."""
    script = [  # (stage, number of 30-s epochs)
        (0, 10), (1, 5), (2, 30), (3, 25), (2, 10), (4, 15), (1, 3),
        (2, 20), (3, 10), (2, 10), (4, 20), (0, 4),
    ]  # fmt: skip
    pool_X, pool_y = make_sleep_epochs(600, random_state=random_state)
    order = np.concatenate([np.full(n, stage) for stage, n in script])
    used = [np.flatnonzero(pool_y == stage) for stage in range(5)]
    index = np.empty(len(order), dtype=int)
    for stage in range(5):
        where = np.flatnonzero(order == stage)
        index[where] = used[stage][: len(where)]
    return pool_X[index], order, 30.0 * np.arange(len(order))


# Real nights come from the folder in SKDREAMY_DATA or, in a development
# checkout (the gallery runs from examples/), from ../../shared/data.
data_dir = find_nights(os.environ.get("SKDREAMY_DATA", "../../shared/data"))
if data_dir is not None:
    data = load_example_nights(data_dir)
    subjects = data.subjects.tolist()
    name = "dreams_spindles_excerpt4"
    if name not in subjects:  # another data set in SKDREAMY_DATA
        name = subjects[-1]
    test = data.groups == subjects.index(name)
    X_train, y_train = data.X[~test], data.y[~test]
    X_night, y_night, onsets = data.X[test], data.y[test], data.onsets[test]
    if np.isnan(onsets).any():  # files without onset_s: back-to-back epochs
        onsets = None
    print(
        f"Real EEG from {data_dir}: training on {len(y_train)} epochs of "
        f"{len(subjects) - 1} subjects, staging the {len(y_night)} epochs "
        f"({len(y_night) / 120:.1f} h) of {name}."
    )
    print(data.description)
else:
    X_train, y_train = make_sleep_epochs(900, n_subjects=5, random_state=0)
    X_night, y_night, onsets = synthetic_night(random_state=1)
    print(
        f"No real data found: training on {len(y_train)} SYNTHETIC epochs "
        f"(make_sleep_epochs) and staging a synthetic night of {len(y_night)} "
        "epochs. The agreement below only shows that the code runs; it is no "
        "measure of accuracy."
    )

# %%
# Train and save
# --------------
# The input is raw EEG, ``(n_epochs, 3000)`` in microvolts at 100 Hz, so the
# pipeline starts with the spectrogram step (``raw=True``).
# :func:`skdreamy.save` writes the fitted pipeline atomically, with the
# versions of the libraries it was made with and a model card (here, what it
# was trained on); :func:`skdreamy.persistence.read_metadata` reads them back
# without loading the model, and :func:`skdreamy.load` warns if they differ
# from the installed ones. A model file holds data only: loading it runs no
# code from the file (see the user guide, "Saving models").
pipe = make_pipeline(
    raw=True,
    n_per_class=N_PER_CLASS,
    classifier=SleepStageCNNClassifier(epochs=EPOCHS, random_state=0),
    random_state=0,
)
pipe.fit(X_train, y_train)

with tempfile.TemporaryDirectory() as tmp:
    path = save(
        pipe, Path(tmp) / "stager.skdreamy", training_data={"X": X_train, "y": y_train}
    )
    info = read_metadata(path)
    print(f"saved {info['estimator']} with classes {info['classes']}")
    print("versions:", info["versions"])
    print("trained on:", info["model_card"]["training_data"]["epochs_per_stage"])
    stager = load(path)

# %%
# Stage the night
# ---------------
# One label and one row of probabilities per epoch. The columns of
# ``predict_proba`` follow ``stager.classes_``.
y_pred = stager.predict(X_night)
proba = stager.predict_proba(X_night)
print(
    "same predictions as before saving:", np.array_equal(y_pred, pipe.predict(X_night))
)
print("classes:", stager.classes_, "probabilities:", proba.shape)

scores = sleep_scores(y_night, y_pred)
print(
    f"agreement with the scored stages: accuracy {scores['accuracy']:.2f}, "
    f"Cohen's kappa {scores['cohen_kappa']:.2f}"
)

# %%
# Hypnogram and hypnodensity
# --------------------------
# Top: the predicted stages (black) over the expert's (grey), REM in red.
# Bottom: the probability of each stage, stacked; uncertain epochs, where no
# colour dominates, are where the hypnogram is least trustworthy.
fig, (ax_stages, ax_proba) = plt.subplots(
    2, 1, figsize=(10, 5.5), sharex=True, layout="constrained"
)
plot_hypnogram(y_pred, y_true=y_night, onsets=onsets, ax=ax_stages)
plot_probabilities(proba, classes=stager.classes_, onsets=onsets, ax=ax_proba)
ax_stages.set_xlabel("")
plt.show()

# %%
# Your own recordings
# -------------------
# :func:`skdreamy.datasets.read_night` reads a recording (EDF, BDF, anything
# MNE reads) and its hypnogram into the same arrays: epochs resampled to
# 100 Hz in microvolts, stage codes and onsets. For a Sleep-EDF night:
#
# .. code-block:: python
#
#     from skdreamy.datasets import read_night
#
#     night = read_night(
#         "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf", channel="EEG Fpz-Cz"
#     )
#     y_pred = stager.predict(night.X)
#     plot_hypnogram(y_pred, y_true=night.y, onsets=night.onsets)
#
# Without a hypnogram there is nothing to compare with; cut the signal into
# 30-s epochs of 3000 samples yourself and plot ``y_pred`` alone.
