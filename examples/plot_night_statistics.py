"""
==========================================================
The night, not just the epochs: statistics and agreement
==========================================================

Stage every night with a model that never saw its subject (subject-wise
cross-validation), then read the nights as a sleep lab does: total sleep
time, sleep efficiency, latencies, wake after sleep onset, minutes of each
stage. The statistics of one night are printed next to the expert's, and
their agreement over all nights is summarised Bland-Altman style (bias and
95 % limits of agreement). Finally the hypnogram is exported as EDF+
annotations that MNE reads back.

**Quick mode** (the default) balances to 100 epochs per stage and trains the
reference CNN for 5 epochs per fold; ``SKDREAMY_EXAMPLES_FULL=1`` uses the
reference settings (1000 per stage, 25 epochs).
"""

# %%
# Data
# ----
# :func:`~skdreamy.datasets.load_example_nights` reads the DREAMS excerpts
# when they are found (``SKDREAMY_DATA``, or ``../shared/data``) and falls
# back to synthetic epochs otherwise; ``data.description`` says which. The
# synthetic nights only show that the code runs: their statistics measure
# nothing.
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GroupKFold

from skdreamy import SleepStageCNNClassifier, make_pipeline
from skdreamy.datasets import load_example_nights, read_hypnogram
from skdreamy.hypnogram import expected_statistics, fill_gaps, sleep_statistics
from skdreamy.metrics import cross_validate_stages
from skdreamy.plotting import plot_hypnogram, plot_statistics_agreement
from skdreamy.report import agreement_table, statistics_table, write_edf_annotations

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = 1000 if FULL else 100
EPOCHS = 25 if FULL else 5

# The shared DREAMS excerpts (the folder in SKDREAMY_DATA, or beside the
# checkout when the gallery is built), else synthetic nights, said below.
DATA = os.environ.get("SKDREAMY_DATA", "../../shared/data")
data = load_example_nights(DATA, fallback="synthetic", n_synthetic=900, n_subjects=6)
print(data.description)
if data.synthetic:
    print(
        "NOTE: no real data found (set SKDREAMY_DATA to a folder of .npz "
        "nights); the statistics below come from synthetic epochs in random "
        "stage order and say nothing about real sleep."
    )

# %%
# Stage every night, out of fold
# ------------------------------
# Three subject-wise folds: each night is staged by a model trained on the
# other subjects. With ``nights=`` :func:`~skdreamy.metrics.cross_validate_stages`
# also compares each night's sleep statistics with the expert's.
pipe = make_pipeline(
    raw=True,
    n_per_class=N_PER_CLASS,
    classifier=SleepStageCNNClassifier(epochs=EPOCHS, random_state=0),
    random_state=0,
)
result = cross_validate_stages(
    pipe,
    data.X,
    data.y,
    groups=data.groups,
    cv=GroupKFold(n_splits=3),
    return_proba=True,
    nights=data.nights,
    onsets=data.onsets,
)
print(f"epoch-wise: accuracy {result.scores['accuracy']:.2f}, "
      f"kappa {result.scores['cohen_kappa']:.2f}")  # fmt: skip

# %%
# One night, as a sleep lab reads it
# ----------------------------------
# The statistics of the expert's hypnogram, of the predicted one and the
# expected values from the predicted probabilities (which count an epoch
# that is 60 % N2 as 0.6 epochs of N2). Durations in minutes; definitions in
# :func:`~skdreamy.hypnogram.sleep_statistics`.
subjects = data.subjects.tolist()
name = "dreams_spindles_excerpt4"
if name in subjects:  # the first night of that subject
    night_id = int(data.nights[data.groups == subjects.index(name)][0])
else:
    night_id = int(data.nights[-1])
in_night = data.nights == night_id
label = subjects[int(data.groups[in_night][0])]
onsets = data.onsets[in_night]
if np.isnan(onsets).any():
    onsets = 30.0 * np.arange(in_night.sum())
expert = fill_gaps(data.y[in_night], onsets).hypnogram
staged = fill_gaps(result.y_pred[in_night], onsets, proba=result.proba[in_night])
columns = {
    "expert": sleep_statistics(expert),
    "predicted": sleep_statistics(staged.hypnogram),
    "expected": expected_statistics(staged.proba, classes=result.labels),
}
print(f"Night {label}:\n")
print(statistics_table(columns), end="\n\n")

fig = plot_hypnogram(
    staged.hypnogram[staged.hypnogram >= 0],
    y_true=expert[staged.hypnogram >= 0],
    onsets=staged.onsets[staged.hypnogram >= 0],
    title=label,
    key_figures=columns["predicted"],
)
plt.show()

# %%
# Agreement over all nights
# -------------------------
# For each statistic, predicted - expert per night; the bias is their mean
# and the 95 % limits of agreement are bias +/- 1.96 SD. Six short excerpts
# give wide limits: read them as a demonstration, not as a measure.
agreement = result.statistics_agreement
print(agreement_table(agreement), end="\n\n")
fig = plot_statistics_agreement(agreement)
plt.show()

# %%
# Hypnograms other tools read
# ---------------------------
# EDF+ annotations as Sleep-EDF writes them ("Sleep stage W" ... "Sleep
# stage R"), read back here with MNE through
# :func:`~skdreamy.datasets.read_hypnogram`. ``skdreamy predict --format
# edf`` (or ``tsv`` for a BIDS events file) writes the same.
with tempfile.TemporaryDirectory() as tmp:
    path = write_edf_annotations(Path(tmp) / "night.edf", staged.hypnogram)
    back = read_hypnogram(path)
print("EDF+ round trip identical:", np.array_equal(back.y, staged.hypnogram))
