"""Keras callbacks for training from scripts and the command line."""

import keras
from tqdm.auto import tqdm


class ProgressBar(keras.callbacks.Callback):
    """A tqdm progress bar over training epochs, with loss and accuracy.

    Pass it in ``callbacks`` of :class:`~skdreamy.SleepStageCNNClassifier`
    (with ``verbose=0``). The bar itself is not pickled, so a fitted
    classifier that still holds the callback can be saved.

    Parameters
    ----------
    desc : str, default="training"
        Label shown before the bar.
    disable : bool, default=False
        Show nothing (e.g. for ``--quiet``).

    Examples
    --------
    >>> from skdreamy import SleepStageCNNClassifier
    >>> from skdreamy.callbacks import ProgressBar
    >>> clf = SleepStageCNNClassifier(callbacks=[ProgressBar(disable=True)])
    """

    def __init__(self, desc="training", disable=False):
        super().__init__()
        self.desc = desc
        self.disable = disable
        self._bar = None

    def on_train_begin(self, logs=None):
        self._bar = tqdm(
            total=self.params.get("epochs"),
            desc=self.desc,
            unit="epoch",
            disable=self.disable,
            leave=True,
        )

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is None:
            return
        shown = {
            key: f"{value:.3f}"
            for key, value in (logs or {}).items()
            if key in ("loss", "accuracy", "val_loss", "val_accuracy")
        }
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(1)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_bar"] = None
        state.pop("_model", None)
        return state


__all__ = ["ProgressBar"]
