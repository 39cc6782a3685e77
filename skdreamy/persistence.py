"""Save and load fitted estimators: atomic, self-describing, safe to open.

A model file holds data, never code that runs when it is opened. :func:`load`
rebuilds an estimator only from classes on an allow-list (skdreamy's
estimators, public scikit-learn and imbalanced-learn estimators) with
parameters stored as JSON, the Keras network from a ``.keras`` archive loaded
with ``safe_mode=True``, arrays as plain bytes whose dtype, shape and place
the manifest gives (no pickle), the trees of scikit-learn's forests and
gradient boosting as plain node arrays whose every link is checked, and the
few other objects (private helpers such as gradient boosting's binner) with
:mod:`skops.io` and an explicit list of trusted types.
Anything else in a file (a step of your own, a Keras ``Lambda`` layer, a
function, a pickle) is refused with an error that names it, unless the file
is opened with ``load(path, trusted=True)``, which can run code from the file:
do that only for files whose origin you trust.

:func:`read_metadata` (and ``skdreamy info MODEL``) reads the manifest and
the model card without importing Keras or unpacking anything.

File format (version 2)
-----------------------
==========  =================================================================
bytes       content
==========  =================================================================
13          signature ``b"\\x89SKDREAMY\\r\\n\\x1a\\n"``
4           length ``H`` of the manifest (unsigned, big-endian)
H           manifest: UTF-8 JSON object, see below
P           payload: an uncompressed zip archive of data members
            (``arrays/0000.npy``, ``networks/NNNN.keras``,
            ``objects/NNNN.skops``)
8           length ``P`` of the payload (unsigned, big-endian)
32          SHA-256 of the manifest and the payload together
8           end marker ``b"\\x00SKD-END"``
==========  =================================================================

The manifest holds ``format_version``, ``versions`` (skdreamy, python,
numpy, scikit-learn, imbalanced-learn, keras, scikeras and the Keras
backend's package), ``keras_backend``, ``estimator`` (class), ``classes``,
``created`` (UTC), ``model_card`` (what the model was trained on, preset,
random_state, training time, scores, fingerprints of the training nights),
``members`` (name -> size of each payload member) and ``model``: the
estimator as a tree of JSON nodes, in which every estimator is its class,
its ``get_params(deep=False)`` and its fitted attributes, and every value
that JSON cannot hold refers to a payload member.

Every plain array is a slice of one member, ``arrays/0000.npy`` (a ``.npy``
of bytes, read with ``allow_pickle=False``): its node in the manifest gives
the ``offset``, ``shape``, ``dtype`` (numpy's ``descr``, as in a ``.npy``
header) and ``order``, as safetensors does, so loading parses one header
however many arrays a model has. The trees of a forest (``estimators_``) are
one node: the parameters and attributes the trees share once, the others per
tree, and every tree's nodes and values concatenated (``node_count`` says
where each tree starts); HistGradientBoosting's trees likewise. An estimator
met twice (a ``VotingClassifier``'s ``estimators_`` and
``named_estimators_``) is stored once and referred to by its ``number``.

The signature and the frame lengths are those of version 1 (whose payload was
a pickle and whose checksum covered the payload only), so every skdreamy can
read the manifest of every version and say what it found. The checksum
catches accidents (a cut download, a damaged disk), not attacks: it is not a
signature; safety comes from what :func:`load` agrees to rebuild.
"""

import codecs
import collections
import datetime
import hashlib
import importlib
import io
import json
import os
import pickle
import platform
import re
import struct
import sys
import tokenize
import warnings
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, validate_params

from . import __version__
from ._io import atomic_open

FORMAT_VERSION = 2
"""The model file format version written by :func:`save`."""

SAFE_CLASSES = frozenset(
    {
        # skdreamy's estimators, by the public name save() records; one line
        # per class (a new estimator of the library is added here).
        "skdreamy.EpochSpectrogram",
        "skdreamy.SpectrogramScaler",
        "skdreamy.SpectralFeatures",
        "skdreamy.SleepStageCNNClassifier",
        "skdreamy.sampling.ClassBalancer",
        # Private helpers held in the fitted state of the classes above.
        "skdreamy.classifier._OneHotLabelEncoder",
    }
)
"""Classes outside scikit-learn and imbalanced-learn that :func:`load` rebuilds.

Besides these, every public estimator class of scikit-learn and
imbalanced-learn (a subclass of :class:`~sklearn.base.BaseEstimator` reached
by a public module path, such as ``sklearn.ensemble.RandomForestClassifier``
or ``imblearn.pipeline.Pipeline``) is rebuilt: their ``__init__`` only stores
its arguments, and those arguments are checked the same way.
"""

SKOPS_TYPES = frozenset(
    {
        # Types skops may rebuild beyond its own defaults (builtins, numpy,
        # scikit-learn estimators): gradient boosting's trees when they have
        # categorical splits (the others are stored as plain arrays).
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        # skdreamy's progress bar (a training callback: settings only, it
        # drops its bar when saved), so that a pipeline trained with it opens.
        "skdreamy.callbacks.ProgressBar",
    }
)
"""Object types that :func:`load` lets :func:`skops.io.loads` rebuild."""

_SAFE_PACKAGES = ("sklearn", "imblearn")
_VERSION1 = 1
_MAGIC = b"\x89SKDREAMY\r\n\x1a\n"
_END = b"\x00SKD-END"
_HEADER_LEN = struct.Struct(">I")
_PAYLOAD_LEN = struct.Struct(">Q")
_TRAILER_SIZE = _PAYLOAD_LEN.size + hashlib.sha256().digest_size + len(_END)
_PICKLE_PROTOCOL = 5
_MEMBER_NAME = re.compile(
    r"(networks/\d{4,}\.keras|arrays/\d{4,}\.npy|objects/\d{4,}\.skops)"
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same model gives the same bytes
# A zip inside a member (.keras, .skops) may declare at most this many times
# its own size, plus a margin, as decompressed (a zip bomb declares more).
_INNER_RATIO, _INNER_MARGIN = 100, 64 << 20

# Every plain array is stored as bytes in one member (a .npy of uint8), each
# at an offset aligned to _POOL_ALIGN bytes, its shape and dtype (numpy's
# ``descr``, as in a .npy header) in the manifest, like safetensors does: one
# header to parse, not one per array (a forest has thousands of arrays).
_POOL_MEMBER = "arrays/0000.npy"
_POOL_ALIGN = 16

# Dict types kept as such (named_estimators_ of an ensemble is a Bunch).
_DICT_KINDS = {collections.OrderedDict: "OrderedDict", Bunch: "Bunch"}

# Packages whose version is recorded; all but python are compared on load.
_DISTRIBUTIONS = ("numpy", "scikit-learn", "imbalanced-learn", "keras", "scikeras")


class ModelVersionWarning(UserWarning):
    """A model file was saved with other library versions than those installed.

    Emitted by :func:`load` when the skdreamy version differs, or the
    major.minor version of numpy, scikit-learn, imbalanced-learn, keras or
    scikeras, or the Keras backend. The model usually still works, but its
    predictions may differ. Turn it into an error with
    ``warnings.simplefilter("error", ModelVersionWarning)``.

    Examples
    --------
    Refuse, rather than warn about, a model saved with other versions:

    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.persistence import ModelVersionWarning, load, save
    >>> clf = DummyClassifier(strategy="constant", constant=2).fit([[0], [1]], [0, 2])
    >>> with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
    ...     warnings.simplefilter("error", ModelVersionWarning)
    ...     model = load(save(clf, Path(tmp) / "model.skdreamy"))  # same versions
    >>> model.predict([[0]]).tolist()
    [2]
    """


def _distribution_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _environment():
    """The library versions and Keras backend of the running interpreter."""
    import keras

    backend = keras.backend.backend()
    versions = {"skdreamy": __version__, "python": platform.python_version()}
    versions.update({name: _distribution_version(name) for name in _DISTRIBUTIONS})
    versions["keras"] = keras.__version__
    backend_module = sys.modules.get(backend)
    versions[backend] = getattr(backend_module, "__version__", None)
    return versions, backend


def _header_base(estimator):
    versions, backend = _environment()
    classes = getattr(estimator, "classes_", None)
    try:
        classes = None if classes is None else np.asarray(classes).tolist()
        json.dumps(classes)
    except (TypeError, ValueError):
        classes = None
    return {
        "format": "skdreamy-model",
        "format_version": FORMAT_VERSION,
        "estimator": _class_name(type(estimator)),
        "classes": classes,
        "versions": versions,
        "keras_backend": backend,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


# -- class names -----------------------------------------------------------------


def _public_name(cls):
    """The shortest public import path of a class: ``skdreamy.SpectrogramScaler``,
    ``sklearn.linear_model.LogisticRegression``; ``module.qualname`` if none."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module_name = ".".join(parts[:end])
        module = sys.modules.get(module_name)
        if module is None:
            continue
        try:
            found = getattr(module, cls.__qualname__, None)
        except ImportError:  # a lazy attribute that cannot be imported
            found = None
        if found is cls:
            return f"{module_name}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_name(cls):
    return _public_name(cls)


def _is_safe_name(name):
    """Whether :func:`load` rebuilds this class without ``trusted=True``."""
    if name in SAFE_CLASSES:
        return True
    parts = name.split(".")
    return (
        parts[0] in _SAFE_PACKAGES
        and len(parts) >= 2
        and all(part.isidentifier() and not part.startswith("_") for part in parts)
    )


def _resolve_class(name):
    """Import the class ``module.Class`` (only called for names allowed)."""
    from sklearn.base import BaseEstimator

    module_name, _, attr = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise LookupError(f"the class {name!r} does not exist here ({exc})") from exc
    if not isinstance(cls, type):
        raise LookupError(f"{name!r} is not a class")
    if name not in SAFE_CLASSES and not issubclass(cls, BaseEstimator):
        raise LookupError(f"{name!r} is not a scikit-learn estimator class")
    return cls


# -- the model as JSON nodes and data members ------------------------------------------

_TAGS = (
    "__tuple__",
    "__dict__",
    "__numpy__",
    "__array__",
    "__keras__",
    "__skops__",
    "__estimator__",
    "__random_state__",
    "__sklearn_tree__",
    "__sklearn_trees__",
    "__tree_predictors__",
    "__shared__",
)


def _keras_model_type():
    keras = sys.modules.get("keras")  # a model exists only if Keras is imported
    return None if keras is None else keras.Model


def _is_opaque(value, keras_model):
    """Whether a value is none of the kinds the JSON tree holds itself."""
    from sklearn.base import BaseEstimator

    return not (
        _is_sklearn_tree(value)
        or value is None
        or isinstance(value, bool | int | float | str | np.generic | np.ndarray)
        or (keras_model is not None and isinstance(value, keras_model))
        or isinstance(value, BaseEstimator)
        or type(value) in (list, tuple, dict)
        or type(value) in _DICT_KINDS
    )


def _is_sklearn_tree(value):
    tree = sys.modules.get("sklearn.tree._tree")
    return tree is not None and type(value) is tree.Tree


def _descr_to_json(descr):
    """numpy's ``descr`` of a dtype (a str, or a list of field tuples) as JSON."""
    if isinstance(descr, str):
        return descr
    return [
        [field[0], _descr_to_json(field[1]), *[list(f) for f in field[2:]]]
        for field in descr
    ]


def _json_to_descr(value):
    if type(value) is str:
        return value
    if type(value) is not list:
        raise TypeError(f"a dtype description {value!r}")
    fields = []
    for field in value:
        if type(field) is not list or not 2 <= len(field) <= 3:
            raise TypeError(f"a dtype field {field!r}")
        name = field[0] if type(field[0]) is str else None
        if name is None:
            raise TypeError(f"a dtype field name {field[0]!r}")
        extra = []
        if len(field) == 3:
            if type(field[2]) is not list or not all(
                type(n) is int and 0 <= n < 2**31 for n in field[2]
            ):
                raise TypeError(f"a dtype field shape {field[2]!r}")
            extra = [tuple(field[2])]
        fields.append((name, _json_to_descr(field[1]), *extra))
    return fields


def _dtype_from_json(value):
    """The dtype a manifest describes (refused: anything but plain data)."""
    dtype = np.lib.format.descr_to_dtype(_json_to_descr(value))
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"a dtype description {value!r}")
    return dtype


def _same(a, b):
    """Whether two attribute values are equal (and stored alike)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and bool(a == b)
    if a is None or type(a) in (bool, int, str):
        return a == b
    if type(a) is float:  # nan == nan here: it is the same value stored
        return a == b or (a != a and b != b)
    return False


def _predictor_types():
    module = sys.modules.get("sklearn.ensemble._hist_gradient_boosting.predictor")
    if module is None:
        return None, None
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
    )

    return module.TreePredictor, PREDICTOR_RECORD_DTYPE


def _is_plain_predictor_grid(value):
    """Whether a value is the ``_predictors`` of a HistGradientBoosting model
    without categorical splits (those are left to skops)."""
    predictor, dtype = _predictor_types()
    if predictor is None or type(value) is not list or not value:
        return False
    width = len(value[0]) if type(value[0]) is list else 0
    return width > 0 and all(
        type(row) is list
        and len(row) == width
        and all(
            type(p) is predictor
            and set(vars(p))
            == {"nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"}
            and p.nodes.dtype == dtype
            and p.nodes.ndim == 1
            and len(p.nodes) > 0
            and not p.nodes["is_categorical"].any()
            and p.binned_left_cat_bitsets.size == 0
            and p.raw_left_cat_bitsets.size == 0
            for p in row
        )
        for row in value
    )


def _tree_list(value):
    """The parameter names and the reduced trees (``Tree.__reduce__``) of a
    list of a forest's fitted trees (same class, same number of features,
    outputs and classes), stored together; None for any other value."""
    from sklearn.base import BaseEstimator

    if not value:
        return None
    cls = type(value[0])
    if not (issubclass(cls, BaseEstimator) and _is_safe_name(_class_name(cls))):
        return None
    try:
        names = cls._get_param_names()
        if "tree_" in names:
            return None
        reduced, shapes = [], set()
        for tree in value:
            if type(tree) is not cls or not _is_sklearn_tree(vars(tree).get("tree_")):
                return None
            _, args, state = tree.tree_.__reduce__()
            reduced.append((args, state))
            shapes.add(
                (
                    int(args[0]),
                    int(args[2]),
                    tuple(np.asarray(args[1]).tolist()),
                    state["values"].shape[1:],
                    state["values"].dtype,
                    state["nodes"].dtype,
                )
            )
    except (AttributeError, TypeError, KeyError):
        return None
    return (names, reduced) if len(shapes) == 1 else None


class _Encoder:
    """Turns an estimator into JSON nodes and data members (name -> bytes)."""

    def __init__(self):
        from sklearn.base import BaseEstimator

        self.members = {}
        self.pool, self.pool_size = [], 0
        self.seen = {}
        self.keras_model = _keras_model_type()
        self.base_estimator = BaseEstimator

    def _member(self, folder, suffix, data):
        name = f"{folder}/{len(self.members) + 1:04d}.{suffix}"
        self.members[name] = data
        return name

    def _pooled(self, array):
        """An array as bytes of the pool member (see :meth:`finish`); a
        Fortran-ordered array stays so (its products sum in that order)."""
        if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
            return {**self._pooled_parts([array.T]), "order": "F"}
        return self._pooled_parts([array])

    def _pooled_parts(self, arrays):
        """Arrays of one dtype stored end to end in the pool: one array of
        the pool along their first axis (no copy made to join them)."""
        arrays = [np.ascontiguousarray(a) for a in arrays]
        if self.pool_size % _POOL_ALIGN:
            padding = _POOL_ALIGN - self.pool_size % _POOL_ALIGN
            self.pool.append(b"\0" * padding)
            self.pool_size += padding
        offset = self.pool_size
        for array in arrays:
            data = array.reshape(-1).view(np.uint8)  # a view of its bytes
            self.pool.append(data)
            self.pool_size += data.nbytes
        shape = arrays[0].shape
        if len(arrays) > 1:
            shape = (sum(len(a) for a in arrays), *shape[1:])
        return {
            "__array__": _POOL_MEMBER,
            "offset": offset,
            "shape": list(shape),
            "dtype": _descr_to_json(np.lib.format.dtype_to_descr(arrays[0].dtype)),
        }

    def finish(self):
        """The members, the pool of array bytes first (one ``.npy`` of bytes:
        one header to parse however many arrays the model holds)."""
        if not self.pool:
            return self.members
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header,
            {"descr": "|u1", "fortran_order": False, "shape": (self.pool_size,)},
        )
        pool = b"".join([header.getvalue(), *self.pool])
        return {_POOL_MEMBER: pool, **self.members}

    def _skops(self, value, where):
        import skops.io

        qualname = getattr(value, "__qualname__", "")
        if callable(value) and "<" in str(qualname):
            raise TypeError(
                f"Cannot save {where} ({qualname}): a lambda or a function "
                "defined inside another function cannot be stored in a model "
                "file (nor imported when it is opened); use a module-level "
                "function, or remove it (set_params(...=None)) before saving."
            )
        try:
            data = skops.io.dumps(value)
        except Exception as exc:  # skops raises many types for what it cannot store
            raise TypeError(
                f"Cannot save {where} ({type(value).__module__}."
                f"{type(value).__qualname__}) in a model file: {exc}. A model "
                "file holds data, not code (a lambda, a callback, an open "
                "file); remove it (e.g. set_params(...=None)) before saving."
            ) from exc
        return {"__skops__": self._member("objects", "skops", data)}

    def encode(self, value, where):
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind in "biuf" and value.dtype.itemsize <= 8:
                return {"__numpy__": value.dtype.str, "value": value.item()}
            return self._skops(value, where)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return self._skops(value, where)
            return self._pooled(value)
        if self.keras_model is not None and isinstance(value, self.keras_model):
            from ._compat import keras_model_to_bytes

            data = keras_model_to_bytes(value)
            return {"__keras__": self._member("networks", "keras", data)}
        if _is_sklearn_tree(value):
            _, (n_features, n_classes, n_outputs), state = value.__reduce__()
            return {
                "__sklearn_tree__": {
                    "n_features": int(n_features),
                    "n_classes": self.encode(np.asarray(n_classes), where),
                    "n_outputs": int(n_outputs),
                    "state": self.encode(dict(state), where),
                }
            }
        if isinstance(value, self.base_estimator):
            name = _class_name(type(value))
            if name.split(".")[0] in _SAFE_PACKAGES and not _is_safe_name(name):
                # A private scikit-learn helper (e.g. a binner): skops knows it.
                return self._skops(value, where)
            if id(value) in self.seen:
                # The same object again (a VotingClassifier's estimators_ and
                # named_estimators_): stored once and shared, as pickle does.
                return {"__shared__": self.seen[id(value)][0]}
            return self._estimator(value, name, where)
        if _is_plain_predictor_grid(value):
            return self._predictors(value, where)
        trees = _tree_list(value) if type(value) is list else None
        if trees is not None:
            return self._trees(value, *trees, where)
        if type(value) in (list, tuple) and value:
            if all(_is_opaque(item, self.keras_model) for item in value):
                return self._skops(value, where)  # one member, not one per item
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return items if type(value) is list else {"__tuple__": items}
        if type(value) in (list, tuple):
            return [] if type(value) is list else {"__tuple__": []}
        if type(value) is np.random.RandomState:
            _, keys, pos, has_gauss, gauss = value.get_state()
            return {
                "__random_state__": self.encode(keys, where),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(gauss),
            }
        kind = _DICT_KINDS.get(type(value))
        if kind is not None:  # OrderedDict, Bunch (e.g. named_estimators_)
            node = self.encode(dict(value), where)
            node = node if "__dict__" in node else {"__dict__": [*node.items()]}
            return {**node, "type": kind}
        if type(value) is dict:
            if all(type(k) is str and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {
                "__dict__": [
                    [self.encode(k, where), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        return self._skops(value, where)

    def _trees(self, trees, names, reduced, where):
        """The fitted trees of a forest as one node: their shared parameters
        and attributes once, the others per tree, and every tree's nodes and
        values concatenated (one array each, not a few per tree)."""
        # What get_params(deep=False) gives, without its signature lookups.
        params = [{k: getattr(tree, k) for k in names} for tree in trees]
        states = [
            {k: v for k, v in vars(tree).items() if k not in p and k != "tree_"}
            for tree, p in zip(trees, params, strict=True)
        ]
        tree_states = [dict(state) for _, state in reduced]
        node = {"__sklearn_trees__": _class_name(type(trees[0]))}
        for part, dicts in (("params", params), ("state", states)):
            shared, each = {}, {}
            for key, value in dicts[0].items():
                if all(_same(value, d[key]) for d in dicts[1:]):
                    shared[key] = self.encode(value, f"{where}[*].{key}")
                else:
                    each[key] = [
                        self.encode(d[key], f"{where}[{i}].{key}")
                        for i, d in enumerate(dicts)
                    ]
            node[part], node[f"{part}_each"] = shared, each
        ((n_features, _, n_outputs), _) = reduced[0]
        node["trees"] = {
            "n_features": int(n_features),
            "n_outputs": int(n_outputs),
            "n_classes": self.encode(
                np.stack([np.asarray(args[1], np.intp) for args, _ in reduced]),
                where,
            ),
            "max_depth": self.encode(
                np.array([s["max_depth"] for s in tree_states], np.intp), where
            ),
            "node_count": self.encode(
                np.array([s["node_count"] for s in tree_states], np.intp), where
            ),
            "nodes": self._pooled_parts([s["nodes"] for s in tree_states]),
            "values": self._pooled_parts([s["values"] for s in tree_states]),
        }
        return node

    def _predictors(self, grid, where):
        """The trees of a HistGradientBoosting model (a list per iteration
        of TreePredictor): their nodes concatenated, as the forests'."""
        flat = [p for row in grid for p in row]
        return {
            "__tree_predictors__": [len(grid), len(grid[0])],
            "node_count": self.encode(
                np.array([len(p.nodes) for p in flat], np.intp), where
            ),
            "nodes": self._pooled_parts([p.nodes for p in flat]),
        }

    def _estimator(self, estimator, name, where):
        params = estimator.get_params(deep=False)
        state = {k: v for k, v in vars(estimator).items() if k not in params}
        number = len(self.seen)
        self.seen[id(estimator)] = (number, estimator)  # kept alive: ids stay
        return {
            "__estimator__": name,
            "number": number,
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
        }


def _stored_member(archive, payload, ref):
    """The bytes of a stored (uncompressed) member, sliced from the payload:
    its SHA-256 was checked with the file's, so zip's CRC-32 is not computed
    again. The local header must name the member the directory names."""
    info = archive.getinfo(ref)
    start = info.header_offset
    header = payload[start : start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header at {start}")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    name = payload[start + 30 : start + 30 + name_len]
    if name != ref.encode("utf-8"):
        raise zipfile.BadZipFile(f"its local header names {name[:64]!r}")
    start += 30 + name_len + extra_len
    end = start + info.file_size
    if end > len(payload):
        raise zipfile.BadZipFile(f"it ends after the payload ({end} bytes)")
    return payload[start:end]


class _Decoder:
    """Rebuilds an estimator from JSON nodes and the members of a zip archive."""

    def __init__(self, name, archive, trusted, payload):
        self.payload = payload
        self.name = name
        self.archive = archive
        self.trusted = trusted
        self.pools = {}
        self.classes = {}
        self.checked_names = set()
        self.max_features = {}
        self.shared = {}

    def fail(self, message):
        return ValueError(f"{self.name!r} {message}")

    def untrusted(self, what):
        return self.fail(
            f"needs {what}, which is not on skdreamy's list of what is safe to "
            "load. Opening it would let the file run code; only if you trust "
            "its origin, open it with skdreamy.load(path, trusted=True) "
            "(command line: --trusted)."
        )

    def member(self, node, tag, folder):
        ref = node.get(tag)
        if not isinstance(ref, str) or not ref.startswith(folder + "/"):
            raise self.fail(f"is corrupt: {tag} refers to {ref!r}.")
        try:
            return _stored_member(self.archive, self.payload, ref)
        except KeyError:
            raise self.fail(f"is corrupt: its member {ref!r} is missing.") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise self.fail(f"is corrupt: its member {ref!r}: {exc}.") from exc

    def check_inner_zip(self, data, ref):
        """Refuse a zip member whose own members climb out or declare absurd
        sizes (before Keras or skops open it)."""
        try:
            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self.fail(
                f"is corrupt: its member {ref!r} is not a zip ({exc})."
            ) from exc
        total = sum(info.file_size for info in infos)
        if total > _INNER_RATIO * len(data) + _INNER_MARGIN:
            raise self.fail(
                f"is corrupt: its member {ref!r} declares {total} bytes of "
                f"content in {len(data)} bytes (a zip bomb?)."
            )
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith("/") or ".." in parts:
                raise self.fail(
                    f"is corrupt: its member {ref!r} holds a path that climbs "
                    f"out: {info.filename!r}."
                )

    def decode(self, node, where="model"):
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if type(node) is not dict:
            raise self.fail(f"is corrupt: {where} is a {type(node).__name__}.")
        tags = [k for k in node if k.startswith("__")]
        if not tags:
            return {k: self.decode(v, f"{where}[{k!r}]") for k, v in node.items()}
        if len(tags) != 1 or tags[0] not in _TAGS:
            raise self.fail(f"is corrupt: {where} has unknown keys {tags}.")
        return getattr(self, "_" + tags[0].strip("_"))(node, where)

    def _tuple(self, node, where):
        items = node["__tuple__"]
        if type(items) is not list:
            raise self.fail(f"is corrupt: {where} is not a list.")
        return tuple(self.decode(items, where))

    def _dict(self, node, where):
        pairs = node["__dict__"]
        if type(pairs) is not list or any(
            type(p) is not list or len(p) != 2 for p in pairs
        ):
            raise self.fail(f"is corrupt: {where} is not a list of pairs.")
        kind = node.get("type", "dict")
        if kind not in ("dict", *_DICT_KINDS.values()):
            raise self.fail(f"is corrupt: {where} has an unknown type {kind!r}.")
        out = {}
        for key, value in pairs:
            key = self.decode(key, where)
            try:
                out[key] = self.decode(value, f"{where}[{key!r}]")
            except TypeError as exc:  # an unhashable key
                raise self.fail(f"is corrupt: {where} has a key {key!r}.") from exc
        if kind == "OrderedDict":
            return collections.OrderedDict(out)
        if kind == "Bunch":
            if not all(type(k) is str for k in out):
                raise self.fail(f"is corrupt: {where} has a key that is not text.")
            return Bunch(**out)
        return out

    def _random_state(self, node, where):
        keys = self.decode(node["__random_state__"], where)
        try:
            state = ("MT19937", keys, node["pos"], node["has_gauss"])
            random_state = np.random.RandomState()
            random_state.set_state((*state, node["cached_gaussian"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise self.fail(
                f"is corrupt: {where} is not a random state ({exc})."
            ) from exc
        return random_state

    def _sklearn_tree(self, node, where):
        """A fitted scikit-learn tree from plain arrays, its links checked
        (its C code follows them without bounds checks)."""
        from sklearn.tree._tree import Tree

        spec = node["__sklearn_tree__"]
        if type(spec) is not dict:
            raise self.fail(f"is corrupt: {where} is not a tree.")
        spec = {k: self.decode(v, where) for k, v in spec.items()}
        try:
            state = spec["state"]
            n_features, n_outputs = spec["n_features"], spec["n_outputs"]
            nodes, count = state["nodes"], state["node_count"]
            if not (
                type(n_features) is int
                and type(n_outputs) is int
                and type(count) is int
                and n_features > 0
                and 0 < n_outputs == len(spec["n_classes"])
                and isinstance(nodes, np.ndarray)
                and nodes.shape == (count,)
            ):
                raise ValueError("inconsistent sizes")
            left, right = nodes["left_child"], nodes["right_child"]
            inner = left != -1
            index = np.flatnonzero(inner)
            # Children come after their parent (no cycle), inside the tree.
            if not (
                np.all((right != -1) == inner)
                and np.all((left[inner] > index) & (left[inner] < count))
                and np.all((right[inner] > index) & (right[inner] < count))
                and np.all(
                    (nodes["feature"][inner] >= 0)
                    & (nodes["feature"][inner] < n_features)
                )
            ):
                raise ValueError("a node links outside the tree")
            tree = Tree(n_features, np.asarray(spec["n_classes"], np.intp), n_outputs)
            tree.__setstate__(state)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self.fail(
                f"is corrupt: {where} is not a valid tree ({exc})."
            ) from exc
        return tree

    def _sklearn_trees(self, node, where):
        """The trees of a forest (see ``_Encoder._trees``), every link of
        every tree checked before scikit-learn's C code may follow it."""
        from sklearn.tree._tree import Tree

        name = node["__sklearn_trees__"]
        parts = [node.get(k) for k in ("params", "params_each", "state", "state_each")]
        spec = node.get("trees")
        if type(name) is not str or not all(type(p) is dict for p in (*parts, spec)):
            raise self.fail(f"is corrupt: {where} is not a list of trees.")
        if not (self.trusted or _is_safe_name(name)):
            raise self.untrusted(f"the class {name} ({where})")
        spec = {k: self.decode(v, f"{where}.trees") for k, v in spec.items()}
        try:
            n_features, n_outputs = spec["n_features"], spec["n_outputs"]
            nodes, values = spec["nodes"], spec["values"]
            counts, depths = spec["node_count"], spec["max_depth"]
            n_classes = spec["n_classes"]
            if not (
                type(n_features) is int
                and type(n_outputs) is int
                and n_features > 0
                and n_outputs > 0
                and all(
                    isinstance(a, np.ndarray)
                    for a in (nodes, values, counts, depths, n_classes)
                )
                and counts.ndim == 1
                and counts.dtype.kind == "i"
                and len(counts) > 0
                and np.all(counts > 0)
                and depths.shape == counts.shape
                and depths.dtype.kind == "i"
                and np.all((depths >= 0) & (depths < counts))
                and n_classes.shape == (len(counts), n_outputs)
                and n_classes.dtype.kind == "i"
                and nodes.ndim == 1
                and values.ndim == 3
                and len(nodes) == len(values) == int(counts.sum())
            ):
                raise ValueError("inconsistent sizes")
            starts = np.cumsum(counts) - counts
            local = np.arange(len(nodes)) - np.repeat(starts, counts)
            size = np.repeat(counts, counts)
            left, right = nodes["left_child"], nodes["right_child"]
            inner = left != -1
            # Children come after their parent (no cycle), inside their tree.
            if not (
                np.all((right != -1) == inner)
                and np.all((left[inner] > local[inner]) & (left[inner] < size[inner]))
                and np.all((right[inner] > local[inner]) & (right[inner] < size[inner]))
                and np.all(
                    (nodes["feature"][inner] >= 0)
                    & (nodes["feature"][inner] < n_features)
                )
            ):
                raise ValueError("a node links outside its tree")
            n_trees = len(counts)
            n_classes = n_classes.astype(np.intp)
            trees = []
            for i, (start, count, depth) in enumerate(
                zip(starts.tolist(), counts.tolist(), depths.tolist(), strict=True)
            ):
                tree = Tree(n_features, n_classes[i], n_outputs)
                tree.__setstate__(
                    {
                        "max_depth": depth,
                        "node_count": count,
                        "nodes": nodes[start : start + count],
                        "values": values[start : start + count],
                    }
                )
                trees.append(tree)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self.fail(
                f"is corrupt: {where} is not a valid list of trees ({exc})."
            ) from exc
        params, params_each, state, state_each = parts
        for each in (params_each, state_each):
            if not all(type(v) is list and len(v) == n_trees for v in each.values()):
                raise self.fail(f"is corrupt: {where} has {n_trees} trees.")
        shared_params = self.decode(params, f"{where}[*]")
        shared_state = self.decode(state, f"{where}[*]")
        params_each = self.decode(params_each, where)
        state_each = self.decode(state_each, where)
        if "tree_" in (*shared_state, *state_each):
            raise self.fail(f"is corrupt: {where} has invalid attribute names.")
        # Each tree gets its own copy of a shared array, as pickle gives.
        copied = [k for k, v in shared_state.items() if isinstance(v, np.ndarray)]
        out = []
        for i, tree in enumerate(trees):
            params = dict(shared_params)
            params.update((k, v[i]) for k, v in params_each.items())
            state = dict(shared_state, tree_=tree)
            state.update((k, shared_state[k].copy()) for k in copied)
            state.update((k, v[i]) for k, v in state_each.items())
            out.append(self.build(name, params, state, f"{where}[{i}]"))
        return out

    def _tree_predictors(self, node, where):
        """The trees of a HistGradientBoosting model, every link checked; the
        largest feature index is checked against ``n_features_in_`` by the
        estimator that holds them (see :meth:`_estimator`)."""
        predictor, record = _predictor_types()
        if predictor is None:
            importlib.import_module(
                "sklearn.ensemble._hist_gradient_boosting.predictor"
            )
            predictor, record = _predictor_types()
        shape = node["__tree_predictors__"]
        counts = self.decode(node.get("node_count"), where)
        nodes = self.decode(node.get("nodes"), where)
        try:
            if not (
                type(shape) is list
                and len(shape) == 2
                and all(type(n) is int and n > 0 for n in shape)
                and isinstance(counts, np.ndarray)
                and isinstance(nodes, np.ndarray)
                and counts.shape == (shape[0] * shape[1],)
                and counts.dtype.kind == "i"
                and np.all(counts > 0)
                and nodes.dtype == record
                and nodes.ndim == 1
                and len(nodes) == int(counts.sum())
            ):
                raise ValueError("inconsistent sizes")
            starts = np.cumsum(counts) - counts
            local = np.arange(len(nodes)) - np.repeat(starts, counts)
            size = np.repeat(counts, counts)
            inner = nodes["is_leaf"] == 0
            left = nodes["left"][inner].astype(np.int64)
            right = nodes["right"][inner].astype(np.int64)
            features = nodes["feature_idx"][inner]
            # Children come after their parent (no cycle), inside their tree;
            # no categorical split (its bitsets are not stored).
            if not (
                np.all(nodes["is_leaf"] <= 1)
                and not nodes["is_categorical"].any()
                and np.all((left > local[inner]) & (left < size[inner]))
                and np.all((right > local[inner]) & (right < size[inner]))
                and np.all(features >= 0)
            ):
                raise ValueError("a node links outside its tree")
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self.fail(
                f"is corrupt: {where} is not a valid list of trees ({exc})."
            ) from exc
        empty = np.zeros((0, 8), np.uint32)
        trees = [
            predictor(nodes[start : start + count].copy(), empty.copy(), empty.copy())
            for start, count in zip(starts.tolist(), counts.tolist(), strict=True)
        ]
        grid = [trees[i : i + shape[1]] for i in range(0, len(trees), shape[1])]
        self.max_features[id(grid)] = int(features.max(initial=-1))
        return grid

    def _numpy(self, node, where):
        try:
            dtype = np.dtype(node["__numpy__"])
            if dtype.kind not in "biuf" or type(node.get("value")) not in (
                bool,
                int,
                float,
            ):
                raise TypeError(f"{dtype} {node.get('value')!r}")
            return dtype.type(node["value"])
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.fail(f"is corrupt: {where} is not a number ({exc}).") from exc

    def pool(self, ref):
        """The bytes of the pool member ``ref`` (read and checked once)."""
        if ref not in self.pools:
            data = self.member({"__array__": ref}, "__array__", "arrays")
            try:
                # The .npy header (parsed by numpy, never unpickled), then a
                # view of the bytes after it: no copy of the whole pool.
                file = io.BytesIO(data)
                version = np.lib.format.read_magic(file)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
                if dtype.hasobject:
                    raise ValueError(f"a {dtype} array needs a pickle")
                count = len(data) - file.tell()
                if dtype.itemsize and count % dtype.itemsize:
                    raise ValueError(f"{count} bytes of {dtype}")
                pool = np.frombuffer(data, dtype, offset=file.tell())
                if shape != pool.shape:
                    pool = pool.reshape(shape, order="F" if fortran else "C")
            except (
                ValueError,
                OSError,
                EOFError,
                SyntaxError,
                TypeError,
                tokenize.TokenError,  # numpy's fallback parse of a bad header
            ) as exc:
                # A pickle in place of the arrays, or a damaged .npy header.
                raise self.fail(
                    f"has a member {ref!r} that is not a plain array "
                    f"({type(exc).__name__}: {exc})."
                ) from exc
            if pool.dtype != np.uint8 or pool.ndim != 1:
                raise self.fail(
                    f"is corrupt: its member {ref!r} holds a {pool.dtype} array "
                    f"of shape {pool.shape}, not bytes."
                )
            self.pools[ref] = pool
        return self.pools[ref]

    def _array(self, node, where):
        """An array from its bytes in the pool, its dtype, shape and place
        taken from the manifest and checked."""
        pool = self.pool(node["__array__"])
        shape, offset = node.get("shape"), node.get("offset")
        try:
            dtype = _dtype_from_json(node.get("dtype"))
            if dtype.hasobject or dtype.itemsize == 0:
                raise TypeError(f"{dtype} is not a plain dtype")
            if type(shape) is not list or not all(
                type(n) is int and n >= 0 for n in shape
            ):
                raise TypeError(f"shape {shape!r}")
            count = int(np.prod(shape, dtype=object))
            size = count * dtype.itemsize
            if type(offset) is not int or not 0 <= offset <= len(pool) - size:
                raise ValueError(
                    f"{size} bytes at offset {offset!r} of {len(pool)} bytes"
                )
            order = node.get("order", "C")
            if order not in ("C", "F"):
                raise ValueError(f"order {order!r}")
            array = pool[offset : offset + size].view(dtype).reshape(shape)
            array = array.copy() if order == "C" else array.T.copy(order="F")
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise self.fail(
                f"is corrupt: {where} is not a plain array of its member "
                f"{node['__array__']!r} ({exc})."
            ) from exc
        return array

    def _keras(self, node, where):
        data = self.member(node, "__keras__", "networks")
        self.check_inner_zip(data, node["__keras__"])
        from . import models  # noqa: F401  (registers skdreamy's layers)
        from ._compat import keras_model_from_bytes
        from .classifier import SleepStageCNNClassifier

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Keras' notes
                model = keras_model_from_bytes(data, safe_mode=not self.trusted)
        except Exception as exc:  # Keras raises many types on bad archives
            raise self.fail(
                f"has a network {node['__keras__']!r} that Keras refused to "
                f"load in safe mode ({type(exc).__name__}: {exc})."
            ) from exc
        # A model compiled under another backend keeps its steps_per_execution,
        # which torch refuses (as SleepStageCNNClassifier.__setstate__ does).
        steps = SleepStageCNNClassifier()._steps_per_execution()
        if getattr(model, "steps_per_execution", steps) > steps:
            model.steps_per_execution = steps
        return model

    def _skops(self, node, where):
        import skops.io

        ref = node["__skops__"]
        data = self.member(node, "__skops__", "objects")
        self.check_inner_zip(data, ref)
        try:
            types = skops.io.get_untrusted_types(data=data)
        except Exception as exc:  # skops raises many types on bad archives
            raise self.fail(f"is corrupt: its member {ref!r}: {exc}.") from exc
        if not self.trusted:
            unknown = [t for t in types if t not in SKOPS_TYPES]
            if unknown:
                raise self.untrusted(f"the type(s) {', '.join(unknown)} ({where})")
        try:
            return skops.io.loads(data, trusted=types)
        except Exception as exc:  # skops raises many types on bad archives
            raise self.fail(f"is corrupt: its member {ref!r}: {exc}.") from exc

    def _estimator(self, node, where):
        name = node["__estimator__"]
        params, state = node.get("params"), node.get("state")
        if type(name) is not str or type(params) is not dict or type(state) is not dict:
            raise self.fail(f"is corrupt: {where} is not a valid estimator.")
        if not (self.trusted or _is_safe_name(name)):
            raise self.untrusted(f"the class {name} ({where})")
        params = {k: self.decode(v, f"{where}.{k}") for k, v in params.items()}
        state = {k: self.decode(v, f"{where}.{k}") for k, v in state.items()}
        for value in state.values():
            # Trees of a HistGradientBoosting model split on features that
            # its input (checked to have n_features_in_ columns) has.
            feature = self.max_features.pop(id(value), None)
            n_features = state.get("n_features_in_")
            if feature is not None and not (
                type(n_features) is int and feature < n_features
            ):
                raise self.fail(
                    f"is corrupt: {where} has trees that split on feature "
                    f"{feature} of {n_features!r}."
                )
        estimator = self.build(name, params, state, where)
        number = node.get("number")
        if number is not None:
            if type(number) is not int or number in self.shared:
                raise self.fail(f"is corrupt: {where} has the number {number!r}.")
            self.shared[number] = estimator
        return estimator

    def _shared(self, node, where):
        """An estimator met before in the file (the same object again)."""
        number = node["__shared__"]
        if type(number) is not int or number not in self.shared:
            raise self.fail(
                f"is corrupt: {where} refers to estimator {number!r}, which "
                "comes nowhere before it."
            )
        return self.shared[number]

    def build(self, name, params, state, where):
        """An estimator of class ``name`` with these parameters and fitted
        attributes (the class checked against the allow-list)."""
        cls = self.classes.get(name)
        if cls is None:
            if not (self.trusted or _is_safe_name(name)):
                raise self.untrusted(f"the class {name} ({where})")
            try:
                cls = self.classes[name] = _resolve_class(name)
            except LookupError as exc:
                raise self.fail(f"cannot be loaded here: {exc}.") from exc
        # A fitted attribute never shadows a method or property of the class
        # (a crafted file could otherwise replace ``predict``); checked once
        # per class and set of names (a forest's trees share theirs).
        names = (name, tuple(params), tuple(state))
        if names not in self.checked_names:
            if not all(k.isidentifier() for k in (*params, *state)) or any(
                callable(getattr(cls, k, None))
                or isinstance(getattr(cls, k, None), property)
                for k in state
            ):
                raise self.fail(f"is corrupt: {where} has invalid attribute names.")
            self.checked_names.add(names)
        try:
            estimator = cls(**params)
        except TypeError as exc:  # a parameter this version does not have
            raise self.fail(
                f"cannot rebuild {name} ({where}) with the installed version: {exc}."
            ) from exc
        vars(estimator).update(state)
        return estimator


# -- the model card -------------------------------------------------------------------


def _night_fingerprints(X, nights=None):
    """SHA-256 of each night's epochs (float32, in order): the same night read
    again gives the same fingerprint, whatever its file name."""
    X = np.asarray(X)
    if nights is None:
        nights = np.zeros(len(X), dtype=np.int64)
    nights = np.asarray(nights)
    order = list(dict.fromkeys(nights.tolist()))
    out = []
    for night in order:
        rows = np.ascontiguousarray(X[nights == night], dtype=np.float32)
        digest = hashlib.sha256(repr(rows.shape).encode())
        digest.update(rows.tobytes())
        out.append(digest.hexdigest())
    return out


def _jsonable(value, where):
    """Plain JSON of scores and card entries (numpy values to Python)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{where} must hold numbers, strings, lists and dicts (JSON); got a "
        f"{type(value).__name__}."
    )


def _find_param(estimator, name):
    """The value of parameter ``name`` of the first step that has it."""
    try:
        params = estimator.get_params(deep=True)
    except (AttributeError, TypeError):
        return None
    for key, value in params.items():
        if key == name or key.endswith("__" + name):
            return value
    return None


def _training_summary(data, estimator):
    """What the model was trained on, from a ``load_folder``-like Bunch."""
    from ._stages import stage_name

    if "X" not in data or "y" not in data:
        raise ValueError(
            "training_data must hold the training epochs 'X' and labels 'y' "
            "(e.g. the Bunch of skdreamy.datasets.load_folder); got keys "
            f"{sorted(map(str, data))}."
        )
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    if len(X) != len(y):
        raise ValueError(
            f"training_data has {len(X)} epochs in 'X' but {len(y)} labels in 'y'."
        )
    nights = data.get("nights")
    if nights is not None and len(nights) != len(X):
        raise ValueError(
            f"training_data has {len(X)} epochs but {len(nights)} entries in 'nights'."
        )
    labels, counts = np.unique(y, return_counts=True)
    groups, subjects = data.get("groups"), data.get("subjects")
    if groups is not None:
        n_subjects = len(np.unique(groups))
    elif subjects is not None:
        n_subjects = len(subjects)
    else:
        n_subjects = None
    sfreq = data.get("sfreq", _find_param(estimator, "sfreq"))
    epoch_length = data.get("epoch_length", _find_param(estimator, "epoch_duration"))
    if epoch_length is None and sfreq and X.ndim == 2:
        epoch_length = X.shape[1] / float(sfreq)
    channels = data.get("channels", data.get("channel"))
    if channels is not None:
        channels = list(dict.fromkeys(np.atleast_1d(channels).astype(str).tolist()))
    orig_fs = data.get("orig_fs")
    fingerprints = _night_fingerprints(X, nights)
    return _jsonable(
        {
            "n_epochs": len(y),
            "n_nights": len(fingerprints),
            "n_subjects": n_subjects,
            "epochs_per_stage": {
                stage_name(label): int(n)
                for label, n in zip(labels, counts, strict=True)
            },
            "epoch_shape": list(X.shape[1:]),
            "epoch_length_s": None if epoch_length is None else float(epoch_length),
            "sampling_rate_hz": None if sfreq is None else float(sfreq),
            "original_sampling_rates_hz": None
            if orig_fs is None
            else sorted({float(f) for f in np.atleast_1d(orig_fs)}),
            "channels": channels,
            "night_fingerprints": fingerprints,
        },
        "training_data",
    )


def _model_card(estimator, training_data, scores, card):
    random_state = _find_param(estimator, "random_state")
    out = {
        "training_data": None
        if training_data is None
        else _training_summary(training_data, estimator),
        "preset": None,
        "random_state": random_state
        if random_state is None or type(random_state) is int
        else repr(random_state),
        "training_time_s": None,
        "scores": _jsonable(scores, "scores"),
    }
    out.update(_jsonable(card or {}, "card"))
    return out


# -- save --------------------------------------------------------------------------


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return buffer.getvalue()


def _frame(manifest, payload):
    """The bytes of a version-2 file: manifest (JSON) and payload, framed."""
    header = json.dumps(manifest).encode("utf-8")
    digest = hashlib.sha256(header)
    digest.update(payload)
    return b"".join(
        [
            _MAGIC,
            _HEADER_LEN.pack(len(header)),
            header,
            payload,
            _PAYLOAD_LEN.pack(len(payload)),
            digest.digest(),
            _END,
        ]
    )


@validate_params(
    {
        "estimator": [HasMethods(["get_params"])],
        "path": [str, os.PathLike],
        "scores": [dict, None],
        "training_data": [dict, None],
        "card": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def save(estimator, path, *, scores=None, training_data=None, card=None):
    """Save an estimator (fitted or not) to a model file, atomically.

    The file holds data only (see :mod:`skdreamy.persistence`): a manifest
    with the library versions, the pipeline's structure and a model card,
    the Keras networks as ``.keras`` archives and every fitted array as
    ``.npy``. It is written to a temporary file next to ``path``, flushed to
    disk and renamed over ``path`` in one step (:func:`os.replace`); an error
    or an interruption (Ctrl-C) leaves an existing ``path`` untouched.

    The model card records what the model was trained on when you pass
    ``training_data`` (the Bunch you fitted on: epochs per stage, nights,
    subjects, channels, sampling rate and a fingerprint of each night, so
    that ``skdreamy evaluate`` can say when it scores a training night), the
    ``random_state``, and the ``scores`` and other entries you attach.
    ``skdreamy train`` fills all of it.

    Parameters
    ----------
    estimator : estimator
        The estimator or pipeline to save (anything with ``get_params``).
        Callbacks and other code in its parameters cannot be saved: set them
        to None first (``set_params(classify__callbacks=None)``).
    path : str or os.PathLike
        Destination file; its directory must exist. An existing file is
        replaced. The extension is free; ``.skdreamy`` is the convention.
    scores : dict or None, default=None
        Scores to record in the model card, e.g. ``result.mean_scores`` of
        :func:`~skdreamy.metrics.cross_validate_stages` (numbers, strings,
        lists, dicts).
    training_data : dict or None, default=None
        The training set as a dict or :class:`~sklearn.utils.Bunch` with
        ``X`` and ``y`` and, when known, ``nights``, ``groups``,
        ``subjects``, ``channels`` (or ``channel``), ``sfreq`` and
        ``orig_fs`` (the Bunch of :func:`~skdreamy.datasets.load_folder` or
        :func:`~skdreamy.datasets.load_nights`). Only a summary is stored,
        never the epochs.
    card : dict or None, default=None
        More model-card entries (JSON values), e.g. ``{"preset":
        "accurate", "training_time_s": 812.0, "notes": "..."}``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileNotFoundError
        If the directory of ``path`` does not exist.
    TypeError
        If the estimator holds something a model file cannot hold (a lambda,
        a callback), or ``scores``/``card`` hold non-JSON values.
    ValueError
        If ``training_data`` lacks ``X`` or ``y`` or its lengths differ.
    OSError
        If writing fails (disk full, permissions).

    See Also
    --------
    load : Load a saved estimator.
    read_metadata : Read the manifest and model card, without loading.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdreamy import save, load
    >>> from skdreamy.persistence import read_metadata
    >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 2, 2]
    >>> clf = LogisticRegression().fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(clf, Path(tmp) / "model.skdreamy",
    ...                 training_data={"X": X, "y": y}, scores={"accuracy": 1.0})
    ...     card = read_metadata(path)["model_card"]
    ...     load(path).predict([[0.2], [2.8]]).tolist()
    [0, 2]
    >>> card["training_data"]["epochs_per_stage"], card["scores"]
    ({'W': 2, 'N2': 2}, {'accuracy': 1.0})
    """
    path = Path(os.fspath(path))
    manifest = _header_base(estimator)
    manifest["model_card"] = _model_card(estimator, training_data, scores, card)
    encoder = _Encoder()
    manifest["model"] = encoder.encode(estimator, "estimator")
    members = encoder.finish()
    manifest["members"] = {name: len(data) for name, data in members.items()}
    data = _frame(manifest, _zip(members))
    with atomic_open(path, "wb") as file:
        file.write(data)
    return path


def _save_version1(estimator, path):
    """Write a version-1 file (a pickle): for tests and benchmarks only."""
    header = _header_base(estimator)
    header.update(
        format_version=_VERSION1,
        estimator=f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        pickle_protocol=_PICKLE_PROTOCOL,
    )
    header = json.dumps(header, sort_keys=True).encode("utf-8")
    payload = pickle.dumps(estimator, protocol=_PICKLE_PROTOCOL)
    with atomic_open(Path(os.fspath(path)), "wb") as file:
        file.write(_MAGIC + _HEADER_LEN.pack(len(header)) + header + payload)
        file.write(_PAYLOAD_LEN.pack(len(payload)))
        file.write(hashlib.sha256(payload).digest() + _END)
    return Path(os.fspath(path))


def _describe_foreign(start):
    """A guess at what a file without the skdreamy signature is."""
    if start.startswith(b"PK\x03\x04"):
        return (
            "it is a zip archive (a Keras .keras model? load that with "
            "keras.saving.load_model(path, safe_mode=True))"
        )
    if start.startswith(b"\x89HDF\r\n\x1a\n"):
        return "it is an HDF5 file (a legacy Keras .h5 model?)"
    if start[:1] == b"\x80":
        return (
            "it is a plain pickle, not written by skdreamy.save; only if you "
            "trust its origin, open it with joblib.load or pickle.load"
        )
    try:
        # Incremental: a multi-byte character cut at the end is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        text = None
    if text and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text):
        return "it looks like a text file"
    return "it does not start with the skdreamy signature"


def _read_frame(path):
    """Check the frame of a model file; return (header, payload bytes)."""
    path = Path(os.fspath(path))
    name = str(path)
    with open(path, "rb") as file:
        # Identify the file from its first bytes before reading it all (it
        # may be a multi-gigabyte recording passed by mistake).
        start = file.read(64)
        if not start:
            raise ValueError(
                f"{name!r} is empty (0 bytes): it is not a skdreamy model."
            )
        if not start.startswith(_MAGIC):
            if _MAGIC.startswith(start):
                raise ValueError(
                    f"{name!r} is truncated: it holds only {len(start)} bytes of "
                    "a skdreamy model file."
                )
            raise ValueError(
                f"{name!r} is not a skdreamy model file: {_describe_foreign(start)}."
            )
        data = start + file.read()
    start = len(_MAGIC) + _HEADER_LEN.size
    if len(data) < start:
        raise ValueError(f"{name!r} is truncated: its header is incomplete.")
    (header_len,) = _HEADER_LEN.unpack_from(data, len(_MAGIC))
    if len(data) < start + header_len:
        raise ValueError(
            f"{name!r} is truncated: its header should be {header_len} bytes "
            f"long but the file ends after {len(data) - start}."
        )
    try:
        header = json.loads(data[start : start + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(
            f"{name!r} is corrupt: its header is not JSON ({exc})."
        ) from exc
    version = header.get("format_version") if isinstance(header, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(
            f"{name!r} is corrupt: its header has no valid format_version "
            f"(got {version!r})."
        )
    if version > FORMAT_VERSION:
        saved_with = header.get("versions", {}).get("skdreamy", "?")
        raise ValueError(
            f"{name!r} has model format version {version}, written by skdreamy "
            f"{saved_with}; this skdreamy ({__version__}) reads format "
            f"versions up to {FORMAT_VERSION}. Upgrade skdreamy to load it."
        )
    if version < 1:
        raise ValueError(f"{name!r} has an unknown model format version {version}.")
    body = start + header_len
    if len(data) < body + _TRAILER_SIZE or not data.endswith(_END):
        raise ValueError(
            f"{name!r} is truncated: its end marker is missing ({len(data)} "
            "bytes). The copy or download was probably cut short; copy it again."
        )
    trailer = len(data) - _TRAILER_SIZE
    (payload_len,) = _PAYLOAD_LEN.unpack_from(data, trailer)
    digest = data[trailer + _PAYLOAD_LEN.size : len(data) - len(_END)]
    payload = data[body:trailer]
    if payload_len != len(payload):
        raise ValueError(
            f"{name!r} is corrupt: it holds {len(payload)} bytes of model data "
            f"where its trailer records {payload_len}."
        )
    # Version 1 checked the payload only; from version 2 on, the manifest too.
    checked = hashlib.sha256(data[start:body] if version > _VERSION1 else b"")
    checked.update(payload)
    if checked.digest() != digest:
        raise ValueError(
            f"{name!r} is corrupt: the checksum of its model data does not "
            "match (the file was altered or damaged)."
        )
    return header, payload


def _major_minor(version):
    return tuple(str(version).split(".")[:2]) if version else None


def _version_differences(header):
    """Readable ``saved -> installed`` differences that warrant a warning."""
    saved = header.get("versions")
    saved = saved if isinstance(saved, dict) else {}
    installed, backend = _environment()
    changes = []
    if saved.get("skdreamy") != installed["skdreamy"]:
        changes.append(f"skdreamy {saved.get('skdreamy')} -> {installed['skdreamy']}")
    for name in _DISTRIBUTIONS:
        if _major_minor(saved.get(name)) != _major_minor(installed[name]):
            changes.append(f"{name} {saved.get(name)} -> {installed[name]}")
    saved_backend = header.get("keras_backend")
    if saved_backend != backend:
        changes.append(f"Keras backend {saved_backend} -> {backend}")
    return changes


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def read_metadata(path):
    """Read the manifest of a model file: versions, structure, model card.

    Safe on any file and fast: it checks the frame (signature, lengths,
    checksum) and parses JSON only; it imports neither Keras nor the
    estimator's classes. ``skdreamy info MODEL`` prints the same.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save` (any format version).

    Returns
    -------
    metadata : dict
        ``format_version``, ``estimator`` (class), ``classes`` (or None),
        ``versions`` (package -> version at save time), ``keras_backend``
        and ``created`` (ISO 8601, UTC); from format version 2 also
        ``model_card`` (``training_data``, ``preset``, ``random_state``,
        ``training_time_s``, ``scores`` and the entries given to
        :func:`save`), ``model`` (the estimator's structure: classes and
        parameters as JSON) and ``members``.

    Raises
    ------
    ValueError
        If the file is empty, truncated, corrupt, not a skdreamy model file,
        or has a newer format version.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.dummy import DummyClassifier
    >>> from skdreamy.persistence import read_metadata, save
    >>> clf = DummyClassifier().fit([[0], [1]], ["W", "REM"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     info = read_metadata(save(clf, Path(tmp) / "dummy.skdreamy"))
    >>> info["estimator"], info["classes"], info["format_version"]
    ('sklearn.dummy.DummyClassifier', ['REM', 'W'], 2)
    >>> info["model"]["params"]["strategy"]
    'prior'
    >>> sorted(info["versions"])[:4]
    ['imbalanced-learn', 'keras', 'numpy', 'python']
    """
    header, _ = _read_frame(path)
    return header


def _open_payload(name, header, payload):
    """The payload's zip archive, its members checked against the manifest."""
    members = header.get("members")
    if type(members) is not dict or "model" not in header:
        raise ValueError(f"{name!r} is corrupt: its manifest has no model.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(
            f"{name!r} is corrupt: its payload is not a zip ({exc})."
        ) from exc
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ValueError(f"{name!r} is corrupt: its payload repeats a member name.")
    for info in infos:
        if not _MEMBER_NAME.fullmatch(info.filename):
            raise ValueError(
                f"{name!r} holds a member {info.filename!r} that no skdreamy "
                "model file has (only networks/*.keras, arrays/*.npy and "
                "objects/*.skops; a path that climbs out, like '../', is "
                "refused)."
            )
        if (
            info.compress_type != zipfile.ZIP_STORED
            or info.flag_bits & 0x1  # encrypted
            or info.file_size != info.compress_size
            or info.file_size > len(payload)
            or members.get(info.filename) != info.file_size
        ):
            raise ValueError(
                f"{name!r} is corrupt: its member {info.filename!r} declares "
                f"{info.file_size} bytes ({info.compress_size} stored) in a "
                f"payload of {len(payload)} bytes; the manifest says "
                f"{members.get(info.filename)!r}."
            )
    missing = sorted(set(map(str, members)) - set(names))
    if missing:
        raise ValueError(
            f"{name!r} is corrupt: its member(s) {', '.join(missing)} are missing."
        )
    return archive


@validate_params(
    {"path": [str, os.PathLike], "trusted": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load(path, *, trusted=False):
    """Load an estimator saved by :func:`save`, running no code from the file.

    The file's frame and checksum are checked first. The estimator is then
    rebuilt only from classes on an allow-list (:data:`SAFE_CLASSES` and the
    public estimators of scikit-learn and imbalanced-learn) with their
    parameters as JSON, its Keras networks loaded with ``safe_mode=True``,
    its arrays read as plain bytes (no pickle), its trees' node links
    checked before scikit-learn follows them, and the few other objects
    (private helpers of scikit-learn) with :mod:`skops.io` and the trusted
    types :data:`SKOPS_TYPES`. A file that needs anything else is refused with an
    error naming it. The library versions it records are compared with the
    installed ones.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    trusted : bool, default=False
        Also open what is not on the allow-list: a pipeline with steps of
        your own, a Keras network with a ``Lambda`` layer, and every
        version-1 file (a pickle). **This runs code from the file**: pass it
        only for files whose origin you trust (that you or your team saved),
        never for a file from a download, an e-mail or a paper's supplement
        you cannot vouch for. Save a trusted version-1 file again to store it
        in the safe format.

    Returns
    -------
    estimator : object
        The estimator, as it was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, truncated or corrupt, is not a skdreamy model
        file (a plain pickle, a ``.keras`` archive, a text file), has a newer
        format version than this skdreamy reads, needs a class or type that
        is not on the allow-list (without ``trusted=True``; the message names
        it), is a version-1 file (without ``trusted=True``), or cannot be
        rebuilt with the installed libraries.

    Warns
    -----
    ModelVersionWarning
        If the skdreamy version, the major.minor version of numpy,
        scikit-learn, imbalanced-learn, keras or scikeras, or the Keras
        backend differ from those the file was saved with.

    See Also
    --------
    save : Save an estimator.
    read_metadata : Read a file's manifest and model card without loading.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdreamy import load, make_pipeline, save
    >>> pipe = make_pipeline(n_per_class=100)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(pipe, Path(tmp) / "unfitted.skdreamy")
    ...     [name for name, _ in load(path).steps]
    ['scale', 'balance', 'classify']
    """
    header, payload = _read_frame(path)
    name = str(Path(os.fspath(path)))
    version = header["format_version"]
    if version == _VERSION1 and not trusted:
        raise ValueError(
            f"{name!r} is a version-1 model file: a pickle, which runs code "
            "from the file when it is opened. Only if you trust its origin, "
            "open it with skdreamy.load(path, trusted=True) (command line: "
            "--trusted), then save it again to store it in the safe format."
        )
    changes = _version_differences(header)
    if changes:
        warnings.warn(
            f"{name!r} was saved with other library versions than those "
            f"installed: {'; '.join(changes)}. The model may load and predict "
            "differently; refit and save it with the installed versions if "
            "you can.",
            ModelVersionWarning,
            stacklevel=2,
        )
    if version == _VERSION1:
        return _unpickle(name, header, payload)
    archive = _open_payload(name, header, payload)
    try:
        decoder = _Decoder(name, archive, trusted, payload)
        model = decoder.decode(header["model"])
    except RecursionError:
        raise ValueError(
            f"{name!r} is corrupt: its model is nested too deeply."
        ) from None
    if decoder.max_features:  # not where a HistGradientBoosting model has them
        raise ValueError(f"{name!r} is corrupt: it holds trees out of place.")
    return model


def _unpickle(name, header, payload):
    try:
        return pickle.loads(payload)
    except Exception as exc:
        saved = header.get("versions", {})
        raise ValueError(
            f"{name!r} could not be unpickled with the installed libraries "
            f"({type(exc).__name__}: {exc}). It was saved with "
            + ", ".join(f"{k} {v}" for k, v in sorted(saved.items()))
            + "."
        ) from exc


__all__ = [
    "FORMAT_VERSION",
    "SAFE_CLASSES",
    "SKOPS_TYPES",
    "ModelVersionWarning",
    "load",
    "read_metadata",
    "save",
]
