"""
===================================
Tune the pipeline with GridSearchCV
===================================

The pipeline returned by :func:`skdreamy.make_pipeline` is an ordinary
scikit-learn estimator, so :class:`~sklearn.model_selection.GridSearchCV`
tunes any step's parameter as ``<step>__<parameter>``: here the number of
epochs per stage after balancing (``balance__n_per_class``) and log power
before scaling (``scale__log``), with ``scoring="f1_micro"`` and subject-wise
folds.

**Quick mode** (the default) trains the reference CNN for 3 epochs, grids
``balance__n_per_class`` over 50 and 100 and uses 2 subject-wise folds.
``SKDREAMY_EXAMPLES_FULL=1`` uses the reference training (25 epochs), 300 or
1000 epochs per stage and 3 folds: 13 fits of several minutes each on a CPU.
"""

# %%
# Settings and data
# -----------------
import os
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV, GroupKFold

from skdreamy import SleepStageCNNClassifier, make_pipeline
from skdreamy.datasets import load_example_nights
from skdreamy.sampling import MissingStageWarning

FULL = os.environ.get("SKDREAMY_EXAMPLES_FULL") == "1"
N_PER_CLASS = [300, 1000] if FULL else [50, 100]
EPOCHS = 25 if FULL else 3
N_SPLITS = 3 if FULL else 2
print(
    f"{'Full' if FULL else 'Quick'} mode: n_per_class in {N_PER_CLASS}, "
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
# The search
# ----------
# Every candidate is fitted on some subjects and scored on the others
# (:class:`~sklearn.model_selection.GroupKFold` with ``groups``), so a test
# subject is never seen in training, as with a new patient.
#
# Why ``scoring="f1_micro"``? For single-label data it equals the accuracy,
# but it is computed by :mod:`sklearn.metrics` from the predictions. The
# classifier's own ``score`` refuses test labels it never saw in ``fit``,
# which happens in subject-wise folds (DREAMS has REM in one subject only);
# the scorer simply counts those epochs as errors.
#
# The same folds also leave stages out of training, for which
# :class:`~skdreamy.sampling.ClassBalancer` warns with
# :class:`~skdreamy.sampling.MissingStageWarning`. Expected here, so silenced.
#
# ``n_jobs=1`` runs one fit at a time. On one CPU, TensorFlow already spreads
# a fit over every core; parallel fits pay off with several GPUs or machines
# (:ref:`dask`).
pipe = make_pipeline(
    raw=True,
    classifier=SleepStageCNNClassifier(epochs=EPOCHS, random_state=0),
    random_state=0,
)
param_grid = {"balance__n_per_class": N_PER_CLASS, "scale__log": [False, True]}
search = GridSearchCV(
    pipe, param_grid, scoring="f1_micro", cv=GroupKFold(N_SPLITS), n_jobs=1
)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", MissingStageWarning)
    search.fit(X, y, groups=groups)
print(
    f"{len(search.cv_results_['params'])} candidates x {N_SPLITS} folds + 1 refit "
    f"in {time.perf_counter() - start:.0f} s"
)

# %%
# Results
# -------
# Mean and standard deviation of the test F1 over the folds, per candidate.
# The folds differ in subjects and stage mix, so expect a large spread; with
# six subjects, differences smaller than it are noise.
results = search.cv_results_
for params, mean, std, rank in zip(
    results["params"],
    results["mean_test_score"],
    results["std_test_score"],
    results["rank_test_score"],
    strict=True,
):
    print(f"rank {rank}  f1_micro {mean:.3f} +/- {std:.3f}  {params}")
print("best:", search.best_params_)
if data.synthetic:
    print("(synthetic data: these figures are not an accuracy result)")

labels = [
    f"n={p['balance__n_per_class']}\nlog={p['scale__log']}" for p in results["params"]
]
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.bar(labels, results["mean_test_score"], yerr=results["std_test_score"], capsize=4)
ax.set_ylabel("f1_micro (subject-wise CV)")
ax.set_ylim(0, 1)
ax.set_title("Grid search over balance__n_per_class and scale__log")

# %%
# The refitted pipeline
# ---------------------
# ``refit=True`` (the default) trains the best candidate once more on all the
# epochs: ``search.best_estimator_`` (or ``search`` itself) is the pipeline to
# use or save with :func:`skdreamy.save`. Its cross-validated score above was
# the best of four and is therefore optimistic; nest the search in an outer
# subject-wise cross-validation (:func:`~sklearn.model_selection.cross_val_score`
# over ``search``) for an unbiased estimate.
best = search.best_estimator_
print(best.named_steps["balance"], best.named_steps["scale"])
print("predicts", best.predict(X[:5]), "for the first five epochs")

# %%
# Where to start a real search
# ----------------------------
# On real EEG, the settings that scored best leave-one-subject-out
# (``benchmarks/README.md``, *Accuracy*) are the ``"accurate"`` preset: log
# power standardised per frequency row, the compact CNN and 100 epochs per
# stage. Grid around it with the same parameter names, e.g.
# ``{"balance__n_per_class": [None, 100, 300], "classify__dropout": [0.2,
# 0.5], "classify__epochs": [30, 60]}``, and
# :class:`~sklearn.model_selection.LeaveOneGroupOut` as ``cv`` when there are
# only a few subjects.
accurate = make_pipeline(preset="accurate", raw=True, random_state=0)
params = accurate.get_params()
print({k: params[k] for k in ("scale__log", "scale__per", "balance__n_per_class")})
print({k: params[k] for k in ("classify__architecture", "classify__epochs")})
plt.show()
