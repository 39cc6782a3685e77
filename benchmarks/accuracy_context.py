"""Issue 7: does temporal context help on the shared excerpts? (feature baseline)

Usage::

    python -m benchmarks.accuracy_context --seeds 0 1 2

Sleep stages last minutes, so whole-night models gain from the epochs around
the one scored (feature smoothing in YASA, sequence models such as
TinySleepNet, HMM decoding). The CNN with +-1 neighbouring spectrogram
(``accuracy.py --configs compact_log_ctx1``) did worse here. This script asks
the same question cheaply, with the RandomForest baseline of ``accuracy.py``
(``rf_log_spectrum``, 1 s per fold), leave-one-subject-out:

1. how continuous the expert labels are: per excerpt, the fraction of
   consecutive epochs with the same stage and the mean length of a run;
2. ``features``: the 60 log-spectrum features of each epoch (the baseline);
3. ``+ context k``: the same features averaged over +-k epochs of the same
   night (:func:`skdreamy.preprocessing.stack_context`, then the mean over the
   longer window), appended to the epoch's own;
4. ``viterbi a=.. w=..``: the baseline's out-of-fold probabilities decoded per
   night by the Viterbi algorithm, with a stage-transition matrix counted
   (add-0.5) on the training subjects' hypnograms only, raised to the power
   ``w`` (the weight of the transitions against the evidence), and the
   probabilities divided by the training prior to the power ``a`` (0: as
   they are; 1: likelihoods, the textbook HMM).

Scores pooled over the 360 out-of-fold predictions, mean and spread over
seeds; results appended to ``benchmarks/results/accuracy.jsonl`` like
``accuracy.py``'s (config names prefixed ``context:``), or to the runner's
folder under ``python -m benchmarks run``.

The Viterbi decoding here is benchmark-only, on purpose: it measured no gain
on these excerpts (benchmarks/README.md), so skdreamy does not offer it. It is
kept to rerun the question on more data, not as an API; do not import it.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import _common as C
from .accuracy import (
    DEFAULT_DATA,
    HEADER,
    forest_classifier,
    load,
    log_spectrum_features,
    summary,
)


def viterbi(log_emission, log_transition, log_initial):
    """Most probable state path of an HMM (benchmark-only, see the module).

    ``log_emission`` (n_steps, n_states): log-evidence of each state at each
    step; ``log_transition`` (n_states, n_states): row = from, column = to;
    ``log_initial`` (n_states,). Returns the path as an int array."""
    log_emission = np.asarray(log_emission, dtype=float)
    n_steps, n_states = log_emission.shape
    score = log_initial + log_emission[0]
    back = np.zeros((n_steps, n_states), dtype=np.intp)
    for t in range(1, n_steps):
        candidates = score[:, None] + log_transition
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_emission[t]
    path = np.empty(n_steps, dtype=np.intp)
    path[-1] = score.argmax()
    for t in range(n_steps - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def transition_counts(y, nights, n_states=5, pseudo=0.5):
    """Row-normalised stage-transition matrix of the hypnograms in ``y``
    (epochs of each night in order), with ``pseudo`` added to every count."""
    counts = np.full((n_states, n_states), pseudo)
    for night in np.unique(nights):
        stages = y[nights == night]
        np.add.at(counts, (stages[:-1], stages[1:]), 1)
    return counts / counts.sum(axis=1, keepdims=True)


def continuity(y, nights):
    """Per night: fraction of consecutive epochs with the same stage, and
    the mean length of a run of one stage (epochs)."""
    out = {}
    for night in np.unique(nights):
        stages = y[nights == night]
        same = stages[1:] == stages[:-1]
        out[str(night)] = {
            "same_as_previous": float(same.mean()),
            "mean_run": float(len(stages) / (1 + np.count_nonzero(~same))),
        }
    return out


def context_features(S, nights, k):
    """The epoch's log-spectrum features and their mean over +-k epochs."""
    from skdreamy.preprocessing import stack_context

    own = log_spectrum_features(S, shape=S.shape[1:])
    if k == 0:
        return own
    wide = stack_context(S, nights, k)
    return np.hstack([own, log_spectrum_features(wide, shape=wide.shape[1:])])


def forest_probabilities(F, y, groups, seed):
    """Leave-one-subject-out probabilities (n, 5) of the RandomForest baseline."""
    from sklearn.model_selection import LeaveOneGroupOut

    P = np.zeros((len(y), 5))
    for train, test in LeaveOneGroupOut().split(F, y, groups):
        forest = forest_classifier(seed).fit(F[train], y[train])
        P[np.ix_(test, forest.classes_)] = forest.predict_proba(F[test])
    return P


def decode(P, y, groups, nights, *, prior_power, transition_weight):
    """Viterbi paths per night, each from the statistics of the other subjects."""
    pred = np.empty(len(y), dtype=np.intp)
    for subject in np.unique(groups):
        train = groups != subject
        transition = transition_counts(y[train], nights[train])
        prior = (np.bincount(y[train], minlength=5) + 0.5) / (train.sum() + 2.5)
        for night in np.unique(nights[~train]):
            rows = np.flatnonzero(nights == night)
            evidence = np.log(P[rows] + 1e-3) - prior_power * np.log(prior)
            pred[rows] = viterbi(
                evidence, transition_weight * np.log(transition), np.log(prior)
            )
    return pred


def scored_run(y, pred, groups, seed, seconds):
    """One seed's entry in the format of ``accuracy.py``'s records."""
    from skdreamy.metrics import sleep_scores

    return {
        "seed": seed,
        "scores": sleep_scores(y, pred),
        "fold_accuracy": [
            float(np.mean(pred[groups == g] == y[groups == g]))
            for g in np.unique(groups)
        ],
        "seconds": seconds,
    }


VITERBI = [(0.0, 0.25), (0.0, 0.5), (0.0, 1.0), (0.5, 0.5), (1.0, 1.0)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--context", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--out",
        type=Path,
        default=C.output_path(
            "accuracy.jsonl", Path(__file__).parent / "results" / "accuracy.jsonl"
        ),
    )
    args = parser.parse_args(argv)
    if not any(args.data.glob("*.npz")):
        parser.error(f"no .npz nights in {args.data}; pass --data")
    S, y, groups, nights = load(args.data)
    y = np.asarray(y)
    flow = continuity(y, nights)
    print("label continuity per excerpt (same stage as the previous epoch; mean run):")
    for night, c in flow.items():
        print(f"   {night}: {c['same_as_previous']:.2f}; {c['mean_run']:.1f} epochs")

    runs = {}
    for k in [0, *args.context]:
        F = context_features(S, nights, k)
        name = "context: features" if k == 0 else f"context: features + context {k}"
        for seed in args.seeds:
            start = time.perf_counter()
            P = forest_probabilities(F, y, groups, seed)
            seconds = time.perf_counter() - start
            runs.setdefault(name, []).append(
                scored_run(y, P.argmax(axis=1), groups, seed, seconds)
            )
            if k:
                continue
            for prior_power, weight in VITERBI:
                start = time.perf_counter()
                pred = decode(
                    P,
                    y,
                    groups,
                    nights,
                    prior_power=prior_power,
                    transition_weight=weight,
                )
                # time: the forest's, plus the decoding
                total = seconds + time.perf_counter() - start
                runs.setdefault(
                    f"context: viterbi a={prior_power} w={weight}", []
                ).append(scored_run(y, pred, groups, seed, total))

    print(HEADER)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    provenance = C.provenance()
    for name, seed_runs in runs.items():
        record = {
            "config": name,
            "description": __doc__.splitlines()[0],
            "split": "LeaveOneGroupOut",
            "seeds": list(args.seeds),
            "runs": seed_runs,
            "continuity": flow,
            "data": str(args.data),
            "date": time.strftime("%Y-%m-%d"),
            "provenance": provenance,
        }
        with args.out.open("a") as file:
            file.write(json.dumps(record) + "\n")
        print(summary(record), flush=True)
    return 0


if __name__ == "__main__":
    main()
