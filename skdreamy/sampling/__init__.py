"""Class balancing for sleep-stage training sets (imbalanced-learn samplers)."""

from ._balancer import ClassBalancer, MissingStageWarning

__all__ = ["ClassBalancer", "MissingStageWarning"]
