"""Version shims in one place.

scikeras 0.13 predates scikit-learn's ``__sklearn_tags__`` protocol and
declares its mixins on the right (``class KerasClassifier(BaseWrapper,
ClassifierMixin)``), so on scikit-learn >= 1.7 ``ClassifierMixin`` never
contributes its tags: ``is_classifier`` is False, ``cross_val_score`` silently
uses ``KFold`` instead of ``StratifiedKFold`` and ``check_estimator`` skips
every classifier check. (On 1.6 it fails outright with "'super' object has no
attribute '__sklearn_tags__'".) :func:`classifier_tags` rebuilds the tags a
scikit-learn classifier would have.

scikeras 0.13 also leaves TensorFlow's op determinism switched on after the
first fit with a ``random_state``; :func:`settle_tf_determinism_flag` (run on
import) stops that. And it seeds only Python's, NumPy's and TensorFlow's
generators around a fit: under Keras' torch backend, whose data loader
shuffles with torch's global generator, :func:`torch_random_state` seeds
that one too.
"""

import contextlib

from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags


def classifier_tags(estimator, *, poor_score=False):
    """Tags of a multi-class classifier that requires ``y`` in ``fit``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose base tags are extended.
    poor_score : bool, default=False
        Whether scikit-learn's checks should skip their accuracy thresholds.

    Returns
    -------
    tags : sklearn.utils.Tags
    """
    tags = BaseEstimator.__sklearn_tags__(estimator)
    tags.estimator_type = "classifier"
    tags.classifier_tags = ClassifierTags(poor_score=poor_score)
    tags.target_tags.required = True
    return tags


def settle_tf_determinism_flag():
    """Make TensorFlow read ``TF_DETERMINISTIC_OPS`` now, before scikeras sets it.

    scikeras' ``tensorflow_random_state`` (every build and fit with a
    ``random_state``) sets ``TF_DETERMINISTIC_OPS=1`` and then asks TensorFlow
    whether op determinism was on, so as to switch it off again afterwards.
    TensorFlow reads that variable lazily, on the first question: in a fresh
    process the first seeded fit hears "it was on", and determinism stays on
    for good. Every later fit with ``random_state=None`` then fails with
    "Random ops require a seed to be set when determinism is enabled". Asking
    once, before any fit, reads the real environment instead. A no-op without
    TensorFlow.
    """
    try:
        from tensorflow.python.framework import config
    except ImportError:
        return
    getattr(config, "is_op_determinism_enabled", lambda: None)()


@contextlib.contextmanager
def torch_random_state(seed):
    """Seed torch's global generator for the block, then restore its state.

    A no-op when ``seed`` is None or Keras' backend is not torch. Under the
    torch backend Keras shuffles the training data with torch's global
    generator (its ``DataLoader``), which scikeras' ``random_state`` handling
    does not seed: without this, the same ``random_state`` trains differently
    each time.

    Parameters
    ----------
    seed : int or None
        Seed for ``torch.manual_seed``.
    """
    import keras

    if seed is None or keras.backend.backend() != "torch":
        yield
        return
    import torch

    with torch.random.fork_rng():  # restores the CPU and CUDA generators
        torch.manual_seed(seed)
        yield


settle_tf_determinism_flag()


def keras_model_to_bytes(model):
    """A Keras model as the bytes of a ``.keras`` archive, in memory.

    Keras' public ``Model.save`` and ``keras.saving.load_model`` take paths
    only; their implementation (``keras.src.saving.saving_lib``, also used by
    scikeras) takes file objects. One place to change if Keras moves it.
    """
    import io

    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def keras_model_from_bytes(data, *, safe_mode=True):
    """The Keras model in the bytes of a ``.keras`` archive (compiled).

    ``safe_mode=True`` refuses archives whose configuration holds code (a
    ``Lambda`` layer's bytecode, a function to import).
    """
    import io

    from keras.src.saving import saving_lib

    return saving_lib.load_model(io.BytesIO(data), compile=True, safe_mode=safe_mode)
