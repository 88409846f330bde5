"""Hyperparameter optimisation: SMAC3 over a search space read from YAML or NNI's JSON, against any
evaluator of hyperparameter configurations (a trained circuit, a trained detector)."""

from .searchspace import HPOSpace  # noqa: F401
