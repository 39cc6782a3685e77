"""Learning-rate schedules for training with large batches."""

from numbers import Integral, Real

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="skdreamy")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear learning-rate warm-up, then a constant rate.

    The rate of training step ``t`` (0-based, Keras' ``optimizer.iterations``)
    is ``initial_learning_rate + (learning_rate - initial_learning_rate) * t /
    warmup_steps`` while ``t < warmup_steps``, and exactly ``learning_rate``
    from step ``warmup_steps`` on. So the first step uses
    ``initial_learning_rate`` and the target is reached after ``warmup_steps``
    steps. ``warmup_steps=0`` is a constant ``learning_rate``.

    This is the "gradual warm-up" of Goyal et al. (2017), which lets a
    large-batch run use the larger learning rate that its batch size calls for
    without the instability of the first steps (with Adam, also while its
    moment estimates are still noisy). Written with :mod:`keras.ops`, so it
    runs on every Keras backend; registered for serialisation, so a model
    compiled with it saves and loads (``.keras`` archives, pickles,
    :func:`skdreamy.save`).

    Parameters
    ----------
    learning_rate : float
        The rate after the warm-up (> 0).
    warmup_steps : int
        Training steps (batches) of the warm-up (>= 0).
    initial_learning_rate : float, default=0.0
        The rate of the first step (>= 0). Goyal et al. start at the rate of
        the small batch the larger one replaces.
    name : str, default="LinearWarmup"
        Name of the schedule.

    References
    ----------
    P. Goyal, P. Dollár, R. Girshick et al., "Accurate, Large Minibatch SGD:
    Training ImageNet in 1 Hour", arXiv:1706.02677, 2017.

    Examples
    --------
    >>> from skdreamy.models import LinearWarmup
    >>> schedule = LinearWarmup(0.004, warmup_steps=4)
    >>> [round(float(schedule(step)), 6) for step in range(6)]
    [0.0, 0.001, 0.002, 0.003, 0.004, 0.004]
    """

    def __init__(
        self,
        learning_rate,
        warmup_steps,
        initial_learning_rate=0.0,
        name="LinearWarmup",
    ):
        super().__init__()
        if (
            not isinstance(learning_rate, Real)
            or isinstance(learning_rate, bool)
            or not learning_rate > 0
        ):
            raise ValueError(
                f"learning_rate must be a number > 0; got {learning_rate!r}."
            )
        if (
            not isinstance(warmup_steps, Integral)
            or isinstance(warmup_steps, bool)
            or warmup_steps < 0
        ):
            raise ValueError(
                f"warmup_steps must be an integer >= 0; got {warmup_steps!r}."
            )
        if (
            not isinstance(initial_learning_rate, Real)
            or isinstance(initial_learning_rate, bool)
            or not initial_learning_rate >= 0
        ):
            raise ValueError(
                "initial_learning_rate must be a number >= 0; got "
                f"{initial_learning_rate!r}."
            )
        self.learning_rate = float(learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.name = name

    def __call__(self, step):
        target = ops.convert_to_tensor(self.learning_rate, dtype="float32")
        if self.warmup_steps == 0:
            return target
        step = ops.cast(step, "float32")
        initial = ops.convert_to_tensor(self.initial_learning_rate, dtype="float32")
        fraction = ops.minimum(step / float(self.warmup_steps), 1.0)
        ramp = initial + (target - initial) * fraction
        # Exactly the target after the warm-up, whatever the rounding of ramp.
        return ops.where(step >= float(self.warmup_steps), target, ramp)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }


__all__ = ["LinearWarmup"]
