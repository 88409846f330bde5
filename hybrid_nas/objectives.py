"""Objectives: metrics -> a scalar reward (single-objective strategies) and an objective vector
(minimised, for Pareto strategies and fronts).

``quality`` names the figure to maximise (accuracy, map50, ...), ``cost`` the figure to keep low
(latency_ms, gates, depth, ...). Rewards are written with ``ACC`` as a fraction, as in MnasNet.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np

from .errors import ConfigError, unknown

Metrics = Mapping[str, float]


def _metric(metrics: Metrics, name: str) -> float:
    try:
        return float(metrics[name])
    except KeyError:
        raise ConfigError(unknown("metric", name, metrics)) from None


class Objective(ABC):
    """One required method, ``reward``; the vector, feasibility and meta have sensible defaults."""

    name = "objective"

    def __init__(self, quality: str = "accuracy", cost: str = "latency_ms", T: float | None = None):
        if T is not None and not (T > 0 and math.isfinite(T)):
            raise ConfigError(f"T must be a positive number of cost units, got {T}")
        self.quality, self.cost, self.T = quality, cost, T

    @abstractmethod
    def reward(self, metrics: Metrics) -> float:
        """Higher is better."""

    def vector(self, metrics: Metrics) -> tuple[float, ...]:
        """Objectives to minimise: (-quality, cost)."""
        return (-_metric(metrics, self.quality), _metric(metrics, self.cost))

    def feasible(self, metrics: Metrics) -> bool:
        return self.T is None or _metric(metrics, self.cost) <= self.T

    def meta(self) -> dict:
        return {"name": self.name, "quality": self.quality, "cost": self.cost, "T": self.T}


class WeightedSum(Objective):
    """``sum_k w_k * metric_k``; by default quality - 0.01 * cost."""

    name = "weighted"

    def __init__(self, quality="accuracy", cost="latency_ms", T=None, weights: Mapping[str, float] | None = None):
        super().__init__(quality, cost, T)
        self.weights = dict(weights) if weights else {quality: 1.0, cost: -0.01}

    def reward(self, metrics):
        return sum(w * _metric(metrics, k) for k, w in self.weights.items())

    def meta(self):
        return {**super().meta(), "weights": self.weights}


class MnasNet(Objective):
    """MnasNet's ``ACC * (LAT/T)^w``, ``w = alpha`` if ``LAT <= T`` else ``beta``.

    Soft: alpha = beta = -0.07; hard: alpha = 0, beta = -1 (Tan et al., 2019).
    """

    name = "mnasnet"

    def __init__(self, quality="accuracy", cost="latency_ms", T=17.0, alpha=-0.07, beta=-0.07):
        if T is None:
            raise ConfigError("the MnasNet reward needs a target T (e.g. --T 17)")
        super().__init__(quality, cost, T)
        self.alpha, self.beta = alpha, beta

    def reward(self, metrics):
        acc, lat = _metric(metrics, self.quality), _metric(metrics, self.cost)
        w = self.alpha if lat <= self.T else self.beta
        return acc * (max(lat, 1e-12) / self.T) ** w

    def meta(self):
        return {**super().meta(), "alpha": self.alpha, "beta": self.beta}


class Constrained(Objective):
    """The seed paper's reward ``0.9*ACC + 0.1*f(LAT)``, ``f(LAT) = log_T(1.5*T - LAT)``.

    ``f`` is 0 once ``LAT >= 1.5*T - 1`` (where the log would turn negative): past that point
    latency no longer pays and only accuracy counts, at 90 %.
    """

    name = "constrained"

    def __init__(self, quality="accuracy", cost="latency_ms", T=17.0, acc_weight=0.9):
        if T is None:
            raise ConfigError("the constrained reward needs a target T (e.g. --T 17)")
        super().__init__(quality, cost, T)
        if T <= 1:
            raise ConfigError(f"the constrained reward takes logarithms base T, so T must be > 1, got {T}")
        self.acc_weight = acc_weight

    def latency_term(self, lat: float) -> float:
        if lat >= 1.5 * self.T - 1:
            return 0.0
        return math.log(1.5 * self.T - lat) / math.log(self.T)

    def reward(self, metrics):
        acc, lat = _metric(metrics, self.quality), _metric(metrics, self.cost)
        return self.acc_weight * acc + (1 - self.acc_weight) * self.latency_term(lat)

    def meta(self):
        return {**super().meta(), "acc_weight": self.acc_weight}


class Pareto(Objective):
    """Quality against cost with no trade-off fixed: Pareto strategies use ``vector``; the scalar
    reward (for reports and scalar strategies) is quality, or quality minus 1 when over T."""

    name = "pareto"

    def reward(self, metrics):
        return _metric(metrics, self.quality) - (0.0 if self.feasible(metrics) else 1.0)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a`` is no worse than ``b`` everywhere and better somewhere (minimisation)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def non_dominated_sort(points: Sequence[Sequence[float]]) -> list[list[int]]:
    """Indices of ``points`` in successive Pareto fronts (Deb et al.'s fast non-dominated sort)."""
    if len(points) == 0:
        return []
    P = np.asarray(points, dtype=float).reshape(len(points), -1)
    le = (P[:, None, :] <= P[None, :, :]).all(-1)
    lt = (P[:, None, :] < P[None, :, :]).any(-1)
    dom = le & lt  # dom[i, j]: i dominates j
    counts = dom.sum(0)
    fronts, current = [], list(np.flatnonzero(counts == 0))
    while current:
        fronts.append([int(i) for i in current])
        counts = counts - dom[current].sum(0)
        counts[current] = -1
        current = list(np.flatnonzero(counts == 0))
    return fronts


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points."""
    fronts = non_dominated_sort(points)
    return fronts[0] if fronts else []


def crowding_distance(points: Sequence[Sequence[float]]) -> np.ndarray:
    """NSGA-II crowding distance of each point within one front (boundary points get inf)."""
    if len(points) <= 2:
        return np.full(len(points), np.inf)
    P = np.asarray(points, dtype=float).reshape(len(points), -1)
    n, m = P.shape
    dist = np.zeros(n)
    for k in range(m):
        order = np.argsort(P[:, k], kind="stable")
        span = P[order[-1], k] - P[order[0], k]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (P[order[2:], k] - P[order[:-2], k]) / span
    return dist


OBJECTIVES = {
    "weighted": lambda **kw: WeightedSum(**kw),
    "mnasnet-soft": lambda **kw: MnasNet(alpha=-0.07, beta=-0.07, **kw),
    "mnasnet-hard": lambda **kw: MnasNet(alpha=0.0, beta=-1.0, **kw),
    "constrained": lambda **kw: Constrained(**kw),
    "pareto": lambda **kw: Pareto(**kw),
}


def make_objective(name: str, **kwargs) -> Objective:
    """An objective by its CLI name; ``kwargs`` go to its constructor (quality, cost, T, ...)."""
    if name not in OBJECTIVES:
        raise ConfigError(unknown("objective", name, OBJECTIVES))
    try:
        objective = OBJECTIVES[name](**kwargs)
    except TypeError as e:
        raise ConfigError(f"objective {name!r}: {e}") from None
    objective.name = name
    return objective
