"""Tests of skdreamy.save / skdreamy.load (skdreamy/persistence.py).

Model file format 2: data members only. The security tests craft files as an
attacker would (with a valid checksum: it is not a signature) and check that
``load`` refuses them before any code from the file runs.
"""

import contextlib
import functools
import hashlib
import io
import json
import operator
import os
import pickle
import re
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

import skdreamy
from skdreamy import SpectrogramScaler, load, make_pipeline, save
from skdreamy.cli import main
from skdreamy.persistence import (
    FORMAT_VERSION,
    SAFE_CLASSES,
    ModelVersionWarning,
    _frame,
    _night_fingerprints,
    _save_version1,
    _zip,
    read_metadata,
)
from skdreamy.pipeline import PRESETS
from tests.conftest import (
    OTHER_BACKEND,
    tiny_classifier,
    tiny_raw_pipeline,
    write_nights,
)

ROOT = Path(__file__).resolve().parents[1]
MAGIC = b"\x89SKDREAMY\r\n\x1a\n"
END = b"\x00SKD-END"


@pytest.fixture(scope="module")
def fitted_pipeline(spectrograms):
    X, y, _ = spectrograms
    X, y = X[::4], y[::4]
    pipe = make_pipeline(n_per_class=20, classifier=tiny_classifier(), random_state=0)
    return pipe.fit(X, y), X


@pytest.fixture(scope="module")
def tiny_file(raw_epochs, tmp_path_factory):
    """One saved tiny raw pipeline (CNN included), its bytes and test epochs."""
    X, y, _ = raw_epochs
    pipe = tiny_raw_pipeline().fit(X[:200], y[:200])
    path = save(pipe, tmp_path_factory.mktemp("tiny") / "tiny.skdreamy")
    return pipe, path.read_bytes(), X[200:240]


@pytest.fixture
def small_model():
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 4, 4])


def _parts(data):
    """(manifest dict, payload bytes) of a version-2 file's bytes."""
    assert data.startswith(MAGIC)
    start = len(MAGIC) + 4
    (n,) = struct.unpack(">I", data[len(MAGIC) : start])
    return json.loads(data[start : start + n]), data[start + n : -48]


def _members(payload):
    archive = zipfile.ZipFile(io.BytesIO(payload))
    return {name: archive.read(name) for name in archive.namelist()}


def _reseal(path, manifest, members):
    """Write a version-2 file with a valid checksum, as an attacker can."""
    manifest = dict(manifest, members={k: len(v) for k, v in members.items()})
    path.write_bytes(_frame(manifest, _zip(members)))
    return path


def _rewrite_header(path, **changes):
    manifest, payload = _parts(path.read_bytes())
    for key, value in changes.items():
        if key == "versions":
            manifest["versions"].update(value)
        else:
            manifest[key] = value
    return _reseal(path, manifest, _members(payload))


def _no_temp_files(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


def _nodes(node, tag):
    """Every node of the manifest's model tree that carries ``tag``."""
    if isinstance(node, dict):
        if tag in node:
            yield node
        for value in node.values():
            yield from _nodes(value, tag)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value, tag)


# -- round trips -----------------------------------------------------------------


@pytest.mark.slow
def test_pipeline_round_trip_gives_identical_probabilities(fitted_pipeline, tmp_path):
    pipe, X = fitted_pipeline
    path = save(pipe, tmp_path / "model.skdreamy")
    assert path == tmp_path / "model.skdreamy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning
        loaded = load(path)
    assert loaded is not pipe
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert loaded[-1].history_ == pipe[-1].history_
    assert loaded.get_params(deep=False).keys() == pipe.get_params(deep=False).keys()
    for (name, step), (_, original) in zip(loaded.steps, pipe.steps, strict=True):
        assert type(step) is type(original), name
        assert repr(step.get_params()) == repr(original.get_params()), name
    assert _no_temp_files(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("raw", [True, False], ids=["raw", "spectrogram"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_round_trips_bitwise(
    raw_epochs, spectrograms, preset, raw, tmp_path
):
    X, y, _ = raw_epochs if raw else spectrograms
    pipe = make_pipeline(preset=preset, raw=raw, n_per_class=15, random_state=0)
    # Few training epochs, at whatever depth the preset keeps them.
    pipe.set_params(**{k: 1 for k in pipe.get_params() if k.endswith("__epochs")})
    pipe.fit(X[:150], y[:150])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        loaded = load(save(pipe, tmp_path / f"{preset}.skdreamy"))
    np.testing.assert_array_equal(
        loaded.predict_proba(X[150:200]), pipe.predict_proba(X[150:200])
    )
    np.testing.assert_array_equal(loaded.predict(X[150:200]), pipe.predict(X[150:200]))


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        ExtraTreesClassifier(n_estimators=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=5, random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_tree_ensembles_are_saved_safely(model, spectrograms, tmp_path):
    X, y, _ = spectrograms
    X = X[:, ::50]
    model.fit(X[:300], y[:300])
    path = save(model, tmp_path / "trees.skdreamy")
    loaded = load(path)  # no trusted=True: trees are on the list
    np.testing.assert_array_equal(
        loaded.predict_proba(X[300:]), model.predict_proba(X[300:])
    )
    assert (
        read_metadata(path)["estimator"] == f"sklearn.ensemble.{type(model).__name__}"
    )


@pytest.mark.slow
def test_pipeline_trained_with_a_progress_bar_opens_safely(raw_epochs, tmp_path):
    from skdreamy.callbacks import ProgressBar

    X, y, _ = raw_epochs
    pipe = tiny_raw_pipeline()
    pipe.set_params(classify__callbacks=[ProgressBar(disable=True, desc="fit")])
    pipe.fit(X[:200], y[:200])
    loaded = load(save(pipe, tmp_path / "m.skdreamy"))
    (bar,) = loaded["classify"].callbacks
    assert isinstance(bar, ProgressBar) and bar.desc == "fit"
    np.testing.assert_array_equal(
        loaded.predict_proba(X[200:240]), pipe.predict_proba(X[200:240])
    )


def test_soft_voting_ensemble_round_trips_safely(spectrograms, tmp_path):
    """An ensemble's fitted members, their Bunch and label encoder (the shape
    of an ensemble preset) need no trusted=True."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.utils import Bunch

    X, y, _ = spectrograms
    X = X[:, ::50]
    vote = VotingClassifier(
        [
            ("linear", LogisticRegression(max_iter=500)),
            ("forest", RandomForestClassifier(n_estimators=5, random_state=0)),
        ],
        voting="soft",
    ).fit(X[:300], y[:300])
    path = save(vote, tmp_path / "vote.skdreamy")
    loaded = load(path)
    assert type(loaded.named_estimators_) is Bunch
    assert list(loaded.named_estimators_) == ["linear", "forest"]
    # The fitted members are stored once and shared, as in the original.
    assert loaded.named_estimators_["forest"] is loaded.estimators_[1]
    manifest = read_metadata(path)
    assert len(list(_nodes(manifest["model"], "__sklearn_trees__"))) == 1
    np.testing.assert_array_equal(
        loaded.predict_proba(X[300:]), vote.predict_proba(X[300:])
    )


def _pooled_array(members, node):
    """The pool (all arrays' bytes, a .npy of uint8) and a writable view of
    the array that ``node`` (an ``__array__`` node of the manifest) holds."""
    pool = np.load(io.BytesIO(members[node["__array__"]]))
    dtype = np.lib.format.descr_to_dtype(
        [tuple(f) for f in node["dtype"]]
        if isinstance(node["dtype"], list)
        else node["dtype"]
    )
    size = int(np.prod(node["shape"])) * dtype.itemsize
    view = pool[node["offset"] : node["offset"] + size].view(dtype)
    return pool, view.reshape(node["shape"])


def _store_pool(members, node, pool):
    buffer = io.BytesIO()
    np.save(buffer, pool)
    members[node["__array__"]] = buffer.getvalue()


def _saved_forest(spectrograms, tmp_path, n_estimators=3):
    X, y, _ = spectrograms
    forest = RandomForestClassifier(n_estimators=n_estimators, random_state=0)
    path = save(forest.fit(X[:100, ::50], y[:100]), tmp_path / "forest.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    (trees,) = _nodes(manifest["model"], "__sklearn_trees__")
    return path, manifest, _members(payload), trees["trees"]


def test_forest_stores_all_its_trees_in_a_few_arrays(spectrograms, tmp_path):
    """A forest's nodes and values are one array each, whatever its number of
    trees (one .npy header per tree made loading slow), in one member."""
    path, manifest, members, trees = _saved_forest(spectrograms, tmp_path, 7)
    assert list(members) == ["arrays/0000.npy"]
    counts = _pooled_array(members, trees["node_count"])[1]
    assert counts.shape == (7,)
    nodes = _pooled_array(members, trees["nodes"])[1]
    assert len(nodes) == counts.sum()
    assert not list(_nodes(manifest["model"], "__sklearn_tree__"))
    forest = load(path)
    assert [t.tree_.node_count for t in forest.estimators_] == counts.tolist()
    assert len({id(t.classes_) for t in forest.estimators_}) == 7  # not shared


@pytest.mark.parametrize("link", [10**6, 0], ids=["outside", "cycle"])
@pytest.mark.parametrize("model", ["forest", "single tree"])
def test_tree_whose_nodes_link_outside_or_back_is_refused(
    spectrograms, tmp_path, link, model
):
    """sklearn's C code follows a tree's links unchecked: a crafted link would
    read outside memory or loop forever."""
    from sklearn.tree import DecisionTreeClassifier

    if model == "forest":
        path, manifest, members, spec = _saved_forest(spectrograms, tmp_path)
    else:
        X, y, _ = spectrograms
        tree = DecisionTreeClassifier(random_state=0).fit(X[:100, ::50], y[:100])
        path = save(tree, tmp_path / "tree.skdreamy")
        manifest, payload = _parts(path.read_bytes())
        members = _members(payload)
        (node,) = _nodes(manifest["model"], "__sklearn_tree__")
        spec = node["__sklearn_tree__"]["state"]
    pool, nodes = _pooled_array(members, spec["nodes"])
    assert nodes["left_child"][0] != -1  # the root splits
    nodes["left_child"][0] = link
    _store_pool(members, spec["nodes"], pool)
    _reseal(path, manifest, members)
    with pytest.raises(
        ValueError, match=r"is not a valid (tree|list of trees) .*links"
    ):
        load(path)


def test_array_member_with_an_unparsable_header_is_a_clear_error(
    spectrograms, tmp_path
):
    """numpy parses a damaged .npy header a second way and then fails with
    tokenize.TokenError, not ValueError (found by the fuzzing below)."""
    X, y, _ = spectrograms
    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    path = save(forest.fit(X[:100, ::50], y[:100]), tmp_path / "forest.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    name = next(
        m for m in members if m.endswith(".npy") and b"'shape': (" in members[m]
    )
    header_end = members[name].index(b"\n") + 1
    header = members[name][:header_end]
    start = header.index(b"'shape': (") + len(b"'shape': (")
    damaged = header[:start] + b"((, " + header[start + 4 :]
    members[name] = damaged + members[name][header_end:]
    _reseal(path, manifest, members)
    with pytest.raises(ValueError, match="that is not a plain array"):
        load(path)


def test_forest_link_into_the_next_tree_is_refused(spectrograms, tmp_path):
    """Links are checked against their own tree, not the concatenated nodes
    (the C code of a tree follows them inside its own node array)."""
    path, manifest, members, spec = _saved_forest(spectrograms, tmp_path)
    pool, nodes = _pooled_array(members, spec["nodes"])
    count = _pooled_array(members, spec["node_count"])[1][0]
    nodes["right_child"][0] = count + 1  # a node of the second tree
    _store_pool(members, spec["nodes"], pool)
    _reseal(path, manifest, members)
    with pytest.raises(ValueError, match=r"not a valid list of trees .*outside its"):
        load(path)


@pytest.mark.parametrize(
    "damage",
    [
        "counts sum",
        "negative count",
        "depth",
        "feature",
        "offset past the pool",
        "negative offset",
        "shape",
        "object dtype",
        "dtype",
        "order",
    ],
)
def test_forest_with_bad_sizes_or_offsets_is_refused(spectrograms, tmp_path, damage):
    path, manifest, members, spec = _saved_forest(spectrograms, tmp_path)
    counts = _pooled_array(members, spec["node_count"])[1].copy()

    def damage_array(key, change):
        pool, array = _pooled_array(members, spec[key])
        change(array)
        _store_pool(members, spec[key], pool)

    if damage == "counts sum":
        damage_array("node_count", lambda a: operator.iadd(a[0:1], 1))
    elif damage == "negative count":
        # The sum stays right: only the per-tree check can catch it.
        new = [-counts[1], counts[0] + 2 * counts[1], *counts[2:]]
        damage_array("node_count", lambda a: a.__setitem__(slice(None), new))
    elif damage == "depth":
        damage_array("max_depth", lambda a: a.__setitem__(0, counts[0]))
    elif damage == "feature":
        damage_array("nodes", lambda a: a["feature"].__setitem__(0, spec["n_features"]))
    elif damage == "offset past the pool":
        spec["nodes"]["offset"] = len(members["arrays/0000.npy"])
    elif damage == "negative offset":
        spec["values"]["offset"] = -8
    elif damage == "shape":
        spec["nodes"]["shape"] = [10**12]
    elif damage == "object dtype":
        spec["values"]["dtype"] = "|O"
    elif damage == "dtype":
        spec["values"]["dtype"] = [["a", 5]]
    else:
        spec["values"]["order"] = "Z"
    _reseal(path, manifest, members)
    with pytest.raises(ValueError, match=r"forest\.skdreamy' is corrupt: .*trees"):
        load(path)


@pytest.mark.parametrize("damage", ["link", "cycle", "feature", "categorical"])
def test_gradient_boosting_trees_with_bad_links_are_refused(
    spectrograms, tmp_path, damage
):
    """HistGradientBoosting's trees are plain arrays too (no skops), their
    links and features checked like a forest's."""
    X, y, _ = spectrograms
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0)
    path = save(model.fit(X[:200, ::50], y[:200]), tmp_path / "hgb.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    (grid,) = _nodes(manifest["model"], "__tree_predictors__")
    assert grid["__tree_predictors__"] == [3, 5]
    pool, nodes = _pooled_array(members, grid["nodes"])
    assert nodes["is_leaf"][0] == 0  # the root splits
    if damage == "link":
        nodes["left"][0] = 10**6
    elif damage == "cycle":
        nodes["right"][0] = 0
    elif damage == "feature":
        nodes["feature_idx"][0] = X[:, ::50].shape[1]
    else:
        nodes["is_categorical"][0] = 1
    _store_pool(members, grid["nodes"], pool)
    _reseal(path, manifest, members)
    with pytest.raises(
        ValueError, match=r"hgb\.skdreamy' is corrupt: .*(trees|feature)"
    ):
        load(path)


@pytest.mark.parametrize("number", [99, "0", None])
def test_reference_to_an_estimator_not_met_before_is_refused(
    spectrograms, tmp_path, number
):
    from sklearn.ensemble import VotingClassifier

    X, y, _ = spectrograms
    vote = VotingClassifier([("linear", LogisticRegression(max_iter=50))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged: irrelevant here
        vote.fit(X[:100, ::50], y[:100])
    path = save(vote, tmp_path / "vote.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    (shared,) = _nodes(manifest["model"], "__shared__")
    shared["__shared__"] = number
    _reseal(path, manifest, _members(payload))
    with pytest.raises(ValueError, match=r"refers to estimator .*nowhere before"):
        load(path)


def test_pool_that_is_not_bytes_is_refused(small_model, tmp_path):
    path = save(small_model, tmp_path / "m.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(100, np.float64))
    members["arrays/0000.npy"] = buffer.getvalue()
    _reseal(path, manifest, members)
    with pytest.raises(ValueError, match=r"holds a float64 array .*not bytes"):
        load(path)


def test_fortran_ordered_arrays_stay_fortran_ordered(tmp_path):
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit([[0.0, 1.0], [2.0, 3.0]])
    scaler.extra_ = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    scaler.structured_ = np.zeros(3, [("a", "<i4"), ("b", "<f8", (2,))])
    loaded = load(save(scaler, tmp_path / "s.skdreamy"))
    assert loaded.extra_.flags.f_contiguous and not loaded.extra_.flags.c_contiguous
    np.testing.assert_array_equal(loaded.extra_, scaler.extra_)
    assert loaded.structured_.dtype == scaler.structured_.dtype


@pytest.mark.slow
def test_safe_classes_resolve_and_cover_the_shipped_estimators(
    fitted_pipeline, tmp_path
):
    from skdreamy.persistence import _resolve_class

    for name in SAFE_CLASSES:
        assert isinstance(_resolve_class(name), type), name
    pipe, _ = fitted_pipeline
    manifest = read_metadata(save(pipe, tmp_path / "m.skdreamy"))
    names = {
        node["__estimator__"] for node in _nodes(manifest["model"], "__estimator__")
    }
    assert names >= {
        "imblearn.pipeline.Pipeline",
        "skdreamy.SpectrogramScaler",
        "skdreamy.sampling.ClassBalancer",
        "skdreamy.SleepStageCNNClassifier",
    }
    skdreamy_names = {n for n in names if n.startswith("skdreamy")}
    assert skdreamy_names <= SAFE_CLASSES
    # Every network is a .keras member, every array a .npy member; no pickle.
    assert list(_nodes(manifest["model"], "__keras__"))
    assert all(
        name.endswith((".keras", ".npy", ".skops")) for name in manifest["members"]
    )


@pytest.mark.slow
def test_metadata_records_versions_structure_and_card(fitted_pipeline, tmp_path):
    import keras
    import sklearn

    pipe, _ = fitted_pipeline
    info = read_metadata(save(pipe, tmp_path / "model.skdreamy"))
    assert info["format_version"] == FORMAT_VERSION == 2
    assert info["estimator"] == "imblearn.pipeline.Pipeline"
    assert info["classes"] == [0, 1, 2, 3, 4]
    assert info["keras_backend"] == keras.backend.backend()
    versions = info["versions"]
    assert versions["skdreamy"] == skdreamy.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["keras"] == keras.__version__
    for name in ("numpy", "imbalanced-learn", "scikeras", "python"):
        assert versions[name]
    assert info["created"].endswith("+00:00")
    steps = info["model"]["params"]["steps"]
    assert [s["__tuple__"][0] for s in steps] == ["scale", "balance", "classify"]
    classify = steps[-1]["__tuple__"][1]
    assert classify["__estimator__"] == "skdreamy.SleepStageCNNClassifier"
    assert classify["params"]["architecture"] == "compact"
    assert classify["params"]["epochs"] == pipe["classify"].epochs
    card = info["model_card"]
    assert card["random_state"] == 0
    assert card["training_data"] is None and card["scores"] is None


def test_model_card_summarises_the_training_data(small_model, tmp_path):
    rng = np.random.default_rng(0)
    data = {
        "X": rng.normal(size=(7, 3000)).astype(np.float32),
        "y": np.array([0, 2, 2, 4, 0, 3, 1]),
        "nights": np.array([0, 0, 0, 1, 1, 2, 2]),
        "groups": np.array([0, 0, 0, 0, 0, 1, 1]),
        "channels": np.array(["C3-A1", "C3-A1", "Fpz-Cz"]),
        "orig_fs": np.array([200, 200, 100]),
        "sfreq": 100.0,
    }
    path = save(
        small_model,
        tmp_path / "m.skdreamy",
        training_data=data,
        scores={"accuracy": np.float64(0.5), "per_class": np.array([0.1, 0.2])},
        card={"preset": "accurate", "training_time_s": 12.5},
    )
    card = read_metadata(path)["model_card"]
    summary = card["training_data"]
    assert summary["n_epochs"] == 7 and summary["n_nights"] == 3
    assert summary["n_subjects"] == 2
    assert summary["epochs_per_stage"] == {"W": 2, "N1": 1, "N2": 2, "N3": 1, "REM": 1}
    assert summary["epoch_length_s"] == 30.0 and summary["sampling_rate_hz"] == 100.0
    assert summary["channels"] == ["C3-A1", "Fpz-Cz"]
    assert summary["original_sampling_rates_hz"] == [100.0, 200.0]
    night1 = data["X"][3:5]
    assert summary["night_fingerprints"][1] == _night_fingerprints(night1)[0]
    assert len(set(summary["night_fingerprints"])) == 3
    assert card["scores"] == {"accuracy": 0.5, "per_class": [0.1, 0.2]}
    assert card["preset"] == "accurate" and card["training_time_s"] == 12.5
    with pytest.raises(
        ValueError, match=r"training_data must hold .* 'X' and labels 'y'"
    ):
        save(small_model, tmp_path / "m.skdreamy", training_data={"X": data["X"]})
    with pytest.raises(TypeError, match=r"card\['f'\] must hold numbers"):
        save(small_model, tmp_path / "m.skdreamy", card={"f": object()})


def test_night_fingerprint_depends_on_the_epochs_not_the_dtype():
    x = np.random.default_rng(0).normal(size=(3, 3000))
    assert _night_fingerprints(x) == _night_fingerprints(x.astype(np.float32))
    assert _night_fingerprints(x) != _night_fingerprints(x[:2])
    y = x.copy()
    y[1, 7] += 1
    assert _night_fingerprints(x) != _night_fingerprints(y)


def test_save_replaces_an_existing_file_and_accepts_str(small_model, tmp_path):
    path = tmp_path / "model.skdreamy"
    path.write_text("an older file")
    save(small_model, str(path))
    assert load(str(path)).predict([[3.0]]).tolist() == [4]
    assert _no_temp_files(tmp_path)


def test_same_model_gives_the_same_payload(small_model, tmp_path):
    first = _parts(save(small_model, tmp_path / "a.skdreamy").read_bytes())
    second = _parts(save(small_model, tmp_path / "b.skdreamy").read_bytes())
    assert first[1] == second[1]


def test_saved_file_honours_the_umask(small_model, tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o022)
    try:
        path = save(small_model, tmp_path / "model.skdreamy")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_into_a_missing_directory(small_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(small_model, tmp_path / "nowhere" / "model.skdreamy")


def test_arguments_are_validated(small_model, tmp_path):
    with pytest.raises(InvalidParameterError, match="'estimator' parameter of save"):
        save([1, 2], tmp_path / "m.skdreamy")
    with pytest.raises(InvalidParameterError, match="'scores' parameter"):
        save(small_model, tmp_path / "m.skdreamy", scores=[0.5])
    path = save(small_model, tmp_path / "m.skdreamy")
    with pytest.raises(InvalidParameterError, match="'trusted' parameter of load"):
        load(path, trusted="yes")
    with pytest.raises(InvalidParameterError, match="'path' parameter of load"):
        load(3)
    with pytest.raises(
        InvalidParameterError, match="'path' parameter of read_metadata"
    ):
        read_metadata(None)


# -- interrupted or impossible saves ------------------------------------------------


def _previous(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    return path, path.read_bytes()


def test_estimator_holding_code_is_refused_and_leaves_previous_file(
    small_model, tmp_path
):
    path, before = _previous(small_model, tmp_path)
    holds_a_lambda = FunctionTransformer(func=lambda x: x).fit([[0.0]])
    with pytest.raises(TypeError, match=r"Cannot save estimator\.func .*lambda"):
        save(holds_a_lambda, path)
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_disk_full_midway_leaves_previous_file(small_model, tmp_path, monkeypatch):
    from skdreamy import persistence

    path, before = _previous(small_model, tmp_path)
    real_atomic_open = persistence.atomic_open

    @contextlib.contextmanager
    def half_then_full(target, mode):
        with real_atomic_open(target, mode) as file:

            def write(data):
                file.write(data[: len(data) // 2])
                raise OSError(28, "No space left on device")

            yield type("Full", (), {"write": staticmethod(write)})()

    monkeypatch.setattr(persistence, "atomic_open", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        save(LogisticRegression(C=0.5).fit([[0.0], [1.0]], [0, 1]), path)
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_ctrl_c_before_commit_leaves_previous_file(small_model, tmp_path, monkeypatch):
    path, before = _previous(small_model, tmp_path)

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(LogisticRegression(C=0.5), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_failed_rename_removes_temp_file(small_model, tmp_path):
    target = tmp_path / "a_directory"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        save(small_model, target)
    assert _no_temp_files(tmp_path)


# -- refusing bad files ------------------------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.skdreamy"
    path.touch()
    with pytest.raises(ValueError, match=r"empty\.skdreamy' is empty \(0 bytes\)"):
        load(path)


@pytest.mark.parametrize("keep", [5, 14, 40, 0.5, -1, -20])
def test_truncated_file(small_model, tmp_path, keep):
    path = save(small_model, tmp_path / "cut.skdreamy")
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:n])
    with pytest.raises(ValueError, match=r"cut\.skdreamy' is truncated"):
        load(path)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_damaged_manifest_or_payload(small_model, tmp_path, where):
    """From version 2 the checksum covers the manifest too."""
    path = save(small_model, tmp_path / "model.skdreamy")
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is corrupt"):
        load(path)


def test_plain_pickle_is_foreign(small_model, tmp_path):
    import joblib

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(small_model))
    with pytest.raises(
        ValueError, match=r"model\.pkl' is not a skdreamy .*plain pickle"
    ):
        load(path)
    joblib.dump(small_model, path)
    with pytest.raises(ValueError, match="plain pickle"):
        load(path)


def test_text_file_is_foreign(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("W W N1 N2 N2 N3 REM\n")
    with pytest.raises(ValueError, match=r"notes\.txt' is not a .*text file"):
        load(path)
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="does not start with the skdreamy signature"):
        load(path)


@pytest.mark.slow
def test_keras_archive_is_foreign(fitted_pipeline, tmp_path):
    pipe, _ = fitted_pipeline
    path = tmp_path / "cnn.keras"
    pipe[-1].model_.save(path)
    with pytest.raises(ValueError, match=r"cnn\.keras' .*zip archive .*load_model"):
        load(path)
    with pytest.raises(ValueError, match="zip archive"):
        read_metadata(path)


def test_newer_format_version_is_an_error(small_model, tmp_path):
    path = save(small_model, tmp_path / "future.skdreamy")
    _rewrite_header(path, format_version=99, versions={"skdreamy": "9.0"})
    with pytest.raises(
        ValueError,
        match=re.escape("format version 99, written by skdreamy 9.0")
        + ".*reads format versions up to 2",
    ):
        load(path)


@pytest.mark.parametrize("bad", [None, "1", 0, True])
def test_invalid_format_version(small_model, tmp_path, bad):
    path = save(small_model, tmp_path / "odd.skdreamy")
    _rewrite_header(path, format_version=bad)
    with pytest.raises(ValueError, match=r"format version|format_version"):
        load(path)


def test_header_that_is_not_json(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    data = path.read_bytes()
    start = len(MAGIC) + 4
    path.write_bytes(data[:start] + b"[" + data[start + 1 :])  # '{' -> '['
    with pytest.raises(ValueError, match="its header is not JSON"):
        load(path)


def test_other_versions_warn_and_still_load(small_model, tmp_path):
    path = save(small_model, tmp_path / "old.skdreamy")
    _rewrite_header(
        path,
        versions={"skdreamy": "0.0.1", "keras": "2.15.0"},
        keras_backend=OTHER_BACKEND,
    )
    with pytest.warns(ModelVersionWarning) as record:
        model = load(path)
    message = str(record[0].message)
    assert f"skdreamy 0.0.1 -> {skdreamy.__version__}" in message
    assert "keras 2.15.0 ->" in message
    assert f"Keras backend {OTHER_BACKEND} ->" in message
    assert "old.skdreamy" in message
    assert model.predict([[3.0]]).tolist() == [4]


def test_patch_release_of_a_dependency_does_not_warn(small_model, tmp_path):
    path = save(small_model, tmp_path / "model.skdreamy")
    major, minor = read_metadata(path)["versions"]["numpy"].split(".")[:2]
    _rewrite_header(path, versions={"numpy": f"{major}.{minor}.999"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)


# -- version 1 (pickle) files --------------------------------------------------------


def test_version1_file_needs_trusted(small_model, tmp_path):
    path = _save_version1(small_model, tmp_path / "old.skdreamy")
    assert read_metadata(path)["format_version"] == 1  # read without unpickling
    with pytest.raises(
        ValueError,
        match=r"old\.skdreamy' is a version-1 model file: a pickle, .*"
        r"load\(path, trusted=True\) \(command line: --trusted\), then save it "
        "again",
    ):
        load(path)
    model = load(path, trusted=True)
    assert model.predict([[3.0]]).tolist() == [4]
    # Saved again, it is a safe version-2 file.
    assert read_metadata(save(model, path))["format_version"] == 2
    assert load(path).predict([[3.0]]).tolist() == [4]


def test_version1_payload_that_cannot_be_unpickled(small_model, tmp_path):
    path = _save_version1(small_model, tmp_path / "moved.skdreamy")
    data = path.read_bytes()
    start = len(MAGIC) + 4
    (n,) = struct.unpack(">I", data[len(MAGIC) : start])
    payload = b"cskdreamy_no_such_module\nThing\n)R."  # a class that is gone
    path.write_bytes(
        data[: start + n]
        + payload
        + struct.pack(">Q", len(payload))
        + hashlib.sha256(payload).digest()
        + END
    )
    with pytest.raises(
        ValueError,
        match=r"moved\.skdreamy' could not be unpickled .*ModuleNotFoundError"
        r".*saved with imbalanced-learn",
    ):
        load(path, trusted=True)


# -- crafted files: no code from the file runs ----------------------------------


class _WritesAMarker:
    """Unpickling this writes a file: what a malicious pickle does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).write_text, ("code from the file ran",))


def test_pickle_in_place_of_an_array_is_refused_and_never_runs(small_model, tmp_path):
    marker = tmp_path / "marker.txt"
    path = save(small_model, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    member = next(name for name in members if name.endswith(".npy"))
    members[member] = pickle.dumps(_WritesAMarker(marker))
    _reseal(path, manifest, members)
    with pytest.raises(
        ValueError, match=rf"{re.escape(member)}' that is not a plain array"
    ):
        load(path)
    assert not marker.exists()
    # The same payload in today's version-1 format (a pickle): opening it runs it.
    old = tmp_path / "old.skdreamy"
    _save_version1(_WritesAMarker(marker), old)
    with pytest.raises(ValueError, match="version-1"):
        load(old)
    assert not marker.exists()
    load(old, trusted=True)
    assert marker.read_text() == "code from the file ran"


def _lambda_network(marker):
    import keras

    inputs = keras.Input((3,))
    # The lambda writes the marker (named by an environment variable: Keras
    # keeps a lambda's code, not its defaults or closure) when Keras rebuilds
    # the model.
    outputs = keras.layers.Lambda(
        lambda x: (
            open(__import__("os").environ["SKDREAMY_MARKER"], "w").write("ran"),  # noqa: SIM115
            x,
        )[1]
    )(inputs)
    marker.unlink()  # building the model here ran it once; start clean
    return keras.Model(inputs, outputs)


@pytest.mark.slow
def test_keras_network_with_a_lambda_layer_is_refused(
    fitted_pipeline, tmp_path, monkeypatch
):
    from skdreamy._compat import keras_model_to_bytes

    pipe, _ = fitted_pipeline
    marker = tmp_path / "marker.txt"
    monkeypatch.setenv("SKDREAMY_MARKER", str(marker))
    path = save(pipe, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    (network,) = [name for name in members if name.endswith(".keras")]
    members[network] = keras_model_to_bytes(_lambda_network(marker))
    _reseal(path, manifest, members)
    with pytest.raises(
        ValueError, match=rf"network '{re.escape(network)}' that Keras refused .*Lambda"
    ):
        load(path)
    assert not marker.exists()
    # trusted=True reopens it: Keras rebuilds the lambda, which runs.
    load(path, trusted=True)
    assert marker.exists()


def test_class_not_on_the_list_is_refused_by_name(small_model, tmp_path):
    path = save(small_model, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    manifest["model"]["__estimator__"] = "subprocess.Popen"
    manifest["model"]["params"] = {"args": ["touch", str(tmp_path / "marker")]}
    _reseal(path, manifest, _members(payload))
    with pytest.raises(
        ValueError,
        match=r"needs the class subprocess\.Popen \(model\), which is not on "
        r"skdreamy's list .*trusted=True",
    ):
        load(path)
    assert not (tmp_path / "marker").exists()


def test_fitted_attribute_may_not_replace_a_method(small_model, tmp_path):
    path = save(small_model, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    manifest["model"]["state"]["predict"] = manifest["model"]["state"]["classes_"]
    _reseal(path, manifest, _members(payload))
    with pytest.raises(ValueError, match=r"model has invalid attribute names"):
        load(path)


class AddOne(TransformerMixin, BaseEstimator):
    """A user's own pipeline step."""

    def fit(self, X, y=None):
        self.n_seen_ = len(X)
        return self

    def transform(self, X):
        return np.asarray(X) + 1


def test_users_own_steps_need_trusted(small_model, tmp_path):
    from sklearn.pipeline import make_pipeline as sk_pipeline

    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 4, 4]
    pipe = sk_pipeline(AddOne(), LogisticRegression()).fit(X, y)
    path = save(pipe, tmp_path / "own.skdreamy")
    with pytest.raises(ValueError, match=r"needs the class test_persistence\.AddOne"):
        load(path)
    loaded = load(path, trusted=True)
    assert loaded[0].n_seen_ == 4
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # A function in a parameter: skops names its type; trusted=True opens it.
    negate = FunctionTransformer(func=operator.neg).fit([[1.0]])
    path = save(negate, tmp_path / "function.skdreamy")
    with pytest.raises(ValueError, match=r"needs the type\(s\) _operator\.neg"):
        load(path)
    assert load(path, trusted=True).transform(np.array([[2.0]])).tolist() == [[-2.0]]


def _zip_with(names_and_data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names_and_data:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_member_path_that_climbs_out_is_refused(small_model, tmp_path):
    path = save(small_model, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    members = _members(payload)
    members["../escape.npy"] = members.pop(next(iter(members)))
    _reseal(path, manifest, members)
    with pytest.raises(ValueError, match=r"member '\.\./escape\.npy' that no skdreamy"):
        load(path)


@pytest.mark.slow
def test_network_archive_with_a_path_that_climbs_out_is_refused(tiny_file, tmp_path):
    _, data, _ = tiny_file
    manifest, payload = _parts(data)
    members = _members(payload)
    (network,) = [name for name in members if name.endswith(".keras")]
    members[network] = _zip_with([("../../evil.txt", b"x"), ("config.json", b"{}")])
    path = _reseal(tmp_path / "crafted.skdreamy", manifest, members)
    with pytest.raises(ValueError, match=r"climbs out: '\.\./\.\./evil\.txt'"):
        load(path)


def _set_declared_size(archive, member, size):
    """Patch a member's uncompressed size in the zip's central directory."""
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(member)
    data = bytearray(archive)
    start = 0
    while True:  # the central directory entry of ``member``
        entry = data.index(b"PK\x01\x02", start)
        (name_len,) = struct.unpack("<H", data[entry + 28 : entry + 30])
        if data[entry + 46 : entry + 46 + name_len].decode() == info.filename:
            break
        start = entry + 4
    data[entry + 24 : entry + 28] = struct.pack("<I", size)
    return bytes(data)


def test_member_with_an_absurd_declared_size_is_refused(small_model, tmp_path):
    path = save(small_model, tmp_path / "crafted.skdreamy")
    manifest, payload = _parts(path.read_bytes())
    member = next(iter(_members(payload)))
    patched = _set_declared_size(payload, member, 3_000_000_000)
    manifest["members"][member] = 3_000_000_000
    path.write_bytes(_frame(manifest, patched))
    with pytest.raises(ValueError, match=rf"'{member}' declares 3000000000 bytes"):
        load(path)


@pytest.mark.slow
def test_inner_zip_bomb_is_refused(tiny_file, tmp_path):
    _, data, _ = tiny_file
    manifest, payload = _parts(data)
    members = _members(payload)
    (network,) = [name for name in members if name.endswith(".keras")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.weights.h5", b"\0" * (80 << 20))
    members[network] = buffer.getvalue()
    path = _reseal(tmp_path / "bomb.skdreamy", manifest, members)
    with pytest.raises(ValueError, match=r"declares 83886080 bytes .*zip bomb"):
        load(path)


# -- fuzzing the loader ---------------------------------------------------------------

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _load_bytes(data, folder):
    path = folder / "fuzz.skdreamy"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelVersionWarning)
        return load(path)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_truncated_file_is_one_clear_error(tiny_file, tmp_path, data):
    _, whole, _ = tiny_file
    n = data.draw(st.integers(0, len(whole) - 1), label="bytes kept")
    with pytest.raises(ValueError, match=r"fuzz\.skdreamy' is (truncated|empty)"):
        _load_bytes(whole[:n], tmp_path)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_flipped_bytes_are_one_clear_error(tiny_file, tmp_path, data):
    _, whole, _ = tiny_file
    damaged = bytearray(whole)
    offsets = st.integers(0, len(whole) - 1)
    for offset in data.draw(st.sets(offsets, min_size=1, max_size=3), label="at"):
        damaged[offset] ^= data.draw(st.integers(1, 255), label="xor mask")
    with pytest.raises(ValueError, match=r"fuzz\.skdreamy'"):
        _load_bytes(bytes(damaged), tmp_path)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_deleted_members_are_one_clear_error(tiny_file, tmp_path, data):
    """Members deleted and the file resealed (a valid checksum), with the
    manifest still listing them or not."""
    _, whole, _ = tiny_file
    manifest, payload = _parts(whole)
    members = _members(payload)
    gone = data.draw(
        st.sets(st.sampled_from(sorted(members)), min_size=1), label="deleted"
    )
    kept = {k: v for k, v in members.items() if k not in gone}
    if data.draw(st.booleans(), label="manifest updated"):
        path = _reseal(tmp_path / "fuzz.skdreamy", manifest, kept)
    else:
        path = tmp_path / "fuzz.skdreamy"
        path.write_bytes(_frame(manifest, _zip(kept)))
    with pytest.raises(ValueError, match=r"fuzz\.skdreamy' is corrupt: its member"):
        load(path)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_damaged_members_resealed_never_raise_another_type(
    tiny_file, tmp_path, data
):
    """An attacker's damage inside members (checksum recomputed): a ValueError
    or a model; never another exception, never a hang."""
    pipe, whole, X = tiny_file
    manifest, payload = _parts(whole)
    members = _members(payload)
    name = data.draw(st.sampled_from(sorted(members)), label="member")
    member = bytearray(members[name])
    if data.draw(st.booleans(), label="truncate"):
        member = member[: data.draw(st.integers(0, len(member) - 1), label="kept")]
    else:
        offset = data.draw(st.integers(0, len(member) - 1), label="offset")
        member[offset] ^= data.draw(st.integers(1, 255), label="xor mask")
    members[name] = bytes(member)
    path = _reseal(tmp_path / "fuzz.skdreamy", manifest, members)
    try:
        model = load(path)
    except ValueError as exc:
        assert "fuzz.skdreamy" in str(exc)
        return
    with contextlib.suppress(ValueError):  # damaged values may be refused
        assert model.predict_proba(X).shape == pipe.predict_proba(X).shape


# -- the command line: info, and models that are not classifiers -----------------


def _cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_info_prints_structure_and_model_card(small_model, tmp_path, capsys):
    path = save(
        small_model,
        tmp_path / "m.skdreamy",
        training_data={"X": [[0.0], [1.0]], "y": [0, 4]},
        card={"preset": "accurate"},
    )
    status, out, _ = _cli(capsys, "info", path)
    assert status == 0
    assert "format version 2" in out
    assert "sklearn.linear_model.LogisticRegression" in out
    assert "C = 1.0" in out
    assert "preset: accurate" in out
    assert "epochs_per_stage: {'W': 1, 'REM': 1}" in out
    assert "night_fingerprints: 1 night(s), SHA-256" in out
    status, out, _ = _cli(capsys, "info", path, "--json")
    assert json.loads(out) == read_metadata(path)


def test_info_on_a_version1_file_and_a_text_file(small_model, tmp_path, capsys):
    old = _save_version1(small_model, tmp_path / "old.skdreamy")
    status, out, _ = _cli(capsys, "info", old)
    assert status == 0
    assert "format version 1" in out and "runs code from the file" in out
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    status, out, err = _cli(capsys, "info", text)
    assert status == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert "skdreamy info: error: " in err and "text file" in err


@pytest.mark.slow
def test_info_and_read_metadata_import_neither_keras_nor_tensorflow(
    fitted_pipeline, tmp_path
):
    pipe, _ = fitted_pipeline
    path = save(pipe, tmp_path / "m.skdreamy")
    code = (
        "import contextlib, io, json, sys\n"
        "from skdreamy.cli import main\n"
        "from skdreamy.persistence import read_metadata\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    status = main(['info', sys.argv[1]])\n"
        "meta = read_metadata(sys.argv[1])\n"
        "print(json.dumps([status, 'SleepStageCNNClassifier' in out.getvalue(),\n"
        "    meta['format_version'], sorted(m for m in ('keras', 'tensorflow', 'jax',\n"
        "    'torch', 'skops') if m in sys.modules)]))\n"
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.getenv("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == [0, True, 2, []]


def test_cli_refuses_a_file_that_is_not_a_fitted_classifier(tmp_path, capsys):
    (tmp_path / "nights").mkdir()
    data = write_nights(tmp_path / "nights", ["s0"], 40)
    scaler = save(SpectrogramScaler(), tmp_path / "scaler.skdreamy")
    status, _, err = _cli(
        capsys,
        "evaluate",
        "--data",
        data,
        "--model",
        scaler,
        "--report",
        tmp_path / "r",
        "--quiet",
    )
    assert status == 2
    assert "holds a SpectrogramScaler, not a classifier or pipeline" in err
    unfitted = save(make_pipeline(), tmp_path / "unfitted.skdreamy")
    status, _, err = _cli(
        capsys,
        "predict",
        "--model",
        unfitted,
        "--npz",
        data / "night0.npz",
        "--out",
        tmp_path / "out.csv",
        "--quiet",
    )
    assert status == 2 and "holds an unfitted Pipeline" in err
    old = _save_version1(SpectrogramScaler(), tmp_path / "old.skdreamy")
    status, _, err = _cli(
        capsys,
        "predict",
        "--model",
        old,
        "--npz",
        data / "night0.npz",
        "--out",
        tmp_path / "out.csv",
        "--quiet",
    )
    assert status == 2 and "version-1 model file" in err and "--trusted" in err
    status, _, err = _cli(
        capsys,
        "predict",
        "--model",
        old,
        "--trusted",
        "--npz",
        data / "night0.npz",
        "--out",
        tmp_path / "out.csv",
        "--quiet",
    )
    assert status == 2 and "holds a SpectrogramScaler" in err


@pytest.mark.slow
def test_evaluate_says_when_it_scores_training_nights(tmp_path, capsys):
    from skdreamy.datasets import load_folder

    (tmp_path / "nights").mkdir()
    folder = write_nights(tmp_path / "nights", ["s0", "s1"], 40)
    data = load_folder(folder)
    train = data.nights == 0
    pipe = tiny_raw_pipeline().fit(data.X[train], data.y[train])
    model = save(
        pipe,
        tmp_path / "m.skdreamy",
        training_data={"X": data.X[train], "y": data.y[train]},
    )
    status, _, err = _cli(
        capsys,
        "evaluate",
        "--data",
        folder,
        "--model",
        model,
        "--report",
        tmp_path / "r",
        "--quiet",
    )
    assert status == 0
    assert "1 of 2 night(s) in --data were used to train this model (night0.npz)" in err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["training_nights_in_data"] == 1
    blind = tmp_path / "blind"
    blind.mkdir()
    (blind / "night1.npz").write_bytes((folder / "night1.npz").read_bytes())
    status, _, err = _cli(
        capsys,
        "evaluate",
        "--data",
        blind,
        "--model",
        model,
        "--report",
        tmp_path / "r2",
        "--quiet",
    )
    assert status == 0 and "used to train" not in err


# -- damaged, cut and foreign model files (reliability) -----------------------------


PROBE = [[0.5], [2.5]]


@functools.cache
def _model_file():
    """Bytes of a small saved model, and its probabilities on PROBE."""
    import tempfile
    from pathlib import Path

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 4, 4])
    with tempfile.TemporaryDirectory() as folder:
        data = save(model, Path(folder) / "m.skdreamy").read_bytes()
    return data, model.predict_proba(PROBE)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_model_file_cut_at_any_byte_is_refused_as_truncated(tmp_path_factory, data):
    whole, _ = _model_file()
    n = data.draw(st.integers(0, len(whole) - 1), label="bytes kept")
    path = tmp_path_factory.mktemp("cut") / "m.skdreamy"
    path.write_bytes(whole[:n])
    for read in (load, read_metadata):
        with pytest.raises(ValueError, match=r"m\.skdreamy' is (truncated|empty)"):
            read(path)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_model_file_damaged_at_any_byte_is_refused(tmp_path_factory, data):
    """From format version 2 the checksum covers the manifest too: a damaged
    byte anywhere is an error (version 1 let header damage through)."""
    whole, _ = _model_file()
    offset = data.draw(st.integers(0, len(whole) - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(whole)
    damaged[offset] ^= mask
    path = tmp_path_factory.mktemp("flip") / "m.skdreamy"
    path.write_bytes(bytes(damaged))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelVersionWarning)
        with pytest.raises(ValueError, match=r"m\.skdreamy"):
            load(path)


def test_model_path_that_is_a_folder_or_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing"):
        load(tmp_path / "nothing.skdreamy")
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


@pytest.fixture(scope="module")
def cnn_pipeline(spectrograms, tmp_path_factory):
    X, y, _ = spectrograms
    pipe = make_pipeline(n_per_class=15, classifier=tiny_classifier(), random_state=0)
    pipe.fit(X[::5], y[::5])
    path = save(pipe, tmp_path_factory.mktemp("cnn") / "cnn.skdreamy")
    return pipe, path, X[1::5][:40]


@pytest.mark.slow
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.999])
def test_cnn_model_file_cut_short(cnn_pipeline, tmp_path, keep):
    _, path, _ = cnn_pipeline
    whole = path.read_bytes()
    cut = tmp_path / "cnn.skdreamy"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ValueError, match=r"cnn\.skdreamy' is truncated"):
        load(cut)


def _with_header(path, out, **changes):
    """Copy a model file with manifest fields changed (the members untouched),
    resealed with a valid checksum."""
    from skdreamy.persistence import _frame

    data = path.read_bytes()
    start = len(MAGIC) + 4
    (n,) = struct.unpack(">I", data[len(MAGIC) : start])
    header = json.loads(data[start : start + n])
    for key, value in changes.items():
        if key == "versions":
            header["versions"].update(value)
        else:
            header[key] = value
    out.write_bytes(_frame(header, data[start + n : -48]))
    return out


@pytest.mark.slow
def test_cnn_model_saved_with_another_keras_warns_and_predicts(cnn_pipeline, tmp_path):
    pipe, path, X = cnn_pipeline
    other = _with_header(
        path,
        tmp_path / "other.skdreamy",
        versions={"keras": "2.15.0", "tensorflow": "2.15.1"},
        keras_backend=OTHER_BACKEND,
    )
    with pytest.warns(ModelVersionWarning) as record:
        model = load(other)
    message = str(record[0].message)
    assert "other.skdreamy" in message
    assert "keras 2.15.0 ->" in message
    assert f"Keras backend {OTHER_BACKEND} ->" in message
    assert "refit and save it" in message
    np.testing.assert_array_equal(model.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.slow
def test_model_saved_by_another_skdreamy_can_be_refused(cnn_pipeline, tmp_path):
    _, path, _ = cnn_pipeline
    other = _with_header(
        path, tmp_path / "old.skdreamy", versions={"skdreamy": "0.0.9"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        with pytest.raises(ModelVersionWarning, match=r"skdreamy 0\.0\.9 ->"):
            load(other)


# -- same random_state, same predictions, bit for bit (reliability) -----------------
# For the raw-epoch CNN pipeline: after pickling, save/load, clone and in a fresh
# process (fitted there, or loaded there). On the CPU only; what holds on a GPU is
# in tests/README.md.


def _cnn_pipeline():
    return make_pipeline(
        raw=True,
        n_per_class=30,
        scaler=SpectrogramScaler(log=True),
        classifier=tiny_classifier(),
        random_state=0,
    )


@pytest.fixture(scope="module")
def trained(raw_epochs, tmp_path_factory):
    X, y, _ = raw_epochs
    pipe = _cnn_pipeline().fit(X[:300], y[:300])
    path = save(pipe, tmp_path_factory.mktemp("model") / "model.skdreamy")
    return pipe, path, X[300:], pipe.predict_proba(X[300:])


@pytest.mark.slow
def test_pickle_save_load_and_clone_give_identical_predictions(raw_epochs, trained):
    X, y, _ = raw_epochs
    pipe, path, test, expected = trained
    assert np.array_equal(
        pickle.loads(pickle.dumps(pipe)).predict_proba(test), expected
    )
    assert np.array_equal(load(path).predict_proba(test), expected)
    refit = clone(pipe).fit(X[:300], y[:300])
    assert np.array_equal(refit.predict_proba(test), expected)
    # A pickled unfitted pipeline is a clone too.
    copy = pickle.loads(pickle.dumps(_cnn_pipeline())).fit(X[:300], y[:300])
    assert np.array_equal(copy.predict_proba(test), expected)


@pytest.mark.slow
def test_fresh_process_fits_and_loads_identically(trained, tmp_path):
    _, path, _, expected = trained
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from skdreamy import load
        from skdreamy.datasets import make_sleep_epochs
        from tests.test_persistence import _cnn_pipeline
        X, y, _ = make_sleep_epochs(
            600, n_subjects=3, return_groups=True, random_state=0
        )
        np.save(sys.argv[2], load(sys.argv[1]).predict_proba(X[300:]))
        fitted = _cnn_pipeline().fit(X[:300], y[:300])
        np.save(sys.argv[3], fitted.predict_proba(X[300:]))
        """
    )
    loaded, fitted = tmp_path / "loaded.npy", tmp_path / "fitted.npy"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="12345")
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(loaded), str(fitted)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    assert np.array_equal(np.load(loaded), expected)
    assert np.array_equal(np.load(fitted), expected)
