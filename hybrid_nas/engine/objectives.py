"""Objectives: metrics -> a scalar reward (single-objective strategies) and an objective vector
(minimised, for Pareto strategies and fronts).

``quality`` names the figure to maximise (accuracy, map50, ...), ``cost`` the figure to keep low
(latency_ms, gates, depth, ...). Rewards are written with ``ACC`` as a fraction, as in MnasNet.

Each objective also says which trial is *the* best (``rule``), so every export agrees:

- ``limit`` (constrained, hard MnasNet): the most accurate trial within T. The reward only steers the
  search; its argmax can lie over T.
- ``trade-off`` (weighted, soft MnasNet): the highest reward.
- ``front`` (Pareto): the non-dominated trials, and as the pick the most accurate of them within T.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np

from hybrid_nas.engine.errors import ConfigError, unknown

Metrics = Mapping[str, float]

LIMIT, TRADE_OFF, FRONT = "limit", "trade-off", "front"


def _metric(metrics: Metrics, name: str) -> float:
    try:
        return float(metrics[name])
    except KeyError:
        raise ConfigError(unknown("metric", name, metrics)) from None


class Objective(ABC):
    """One required method, ``reward``; the vector, feasibility, best and meta have sensible defaults."""

    name = "objective"
    rule = TRADE_OFF

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

    def best(self, trials: Sequence) -> object | None:
        """The best of ``trials`` (records with ``ok``, ``metrics``, ``reward``, ``number``) by the objective's
        rule."""
        return choose_best(trials, self.rule, self.quality, self.cost, self.T)

    def meta(self) -> dict:
        return {"name": self.name, "rule": self.rule, "quality": self.quality, "cost": self.cost, "T": self.T}


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
    T: float  # never None: __init__ refuses it

    def __init__(self, quality="accuracy", cost="latency_ms", T=17.0, alpha=-0.07, beta=-0.07):
        if T is None:
            raise ConfigError("the MnasNet reward needs a target T (e.g. --T 17)")
        super().__init__(quality, cost, T)
        self.alpha, self.beta = alpha, beta
        # alpha = 0: being faster than T earns nothing, so T is a limit rather than a price
        self.rule = LIMIT if alpha == 0 else TRADE_OFF

    def reward(self, metrics):
        acc, lat = _metric(metrics, self.quality), _metric(metrics, self.cost)
        w = self.alpha if lat <= self.T else self.beta
        return acc * (max(lat, 1e-12) / self.T) ** w

    def meta(self):
        return {**super().meta(), "alpha": self.alpha, "beta": self.beta}


class Constrained(Objective):
    """TANGO's constrained latency reward ``0.9*ACC + 0.1*f(LAT)``, ``f(LAT) = log_T(1.5*T - LAT)``.

    ``f`` is 0 once ``LAT >= 1.5*T - 1`` (where the log would turn negative): past that point
    latency no longer pays and only accuracy counts, at 90 %.
    """

    name = "constrained"
    rule = LIMIT
    T: float  # never None: __init__ refuses it

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
    rule = FRONT

    def reward(self, metrics):
        return _metric(metrics, self.quality) - (0.0 if self.feasible(metrics) else 1.0)


def within(t, cost: str, T: float | None) -> bool:
    """Whether trial ``t`` meets the cost limit (every trial does without one)."""
    return T is None or t.metrics.get(cost, math.inf) <= T


def _most_accurate(trials: Sequence, quality: str, cost: str):
    """Highest quality; ties go to the cheaper, then to the first found."""
    return max(trials, key=lambda t: (t.metrics[quality], -t.metrics.get(cost, 0.0), -t.number), default=None)


def front_of(trials: Sequence, quality: str, cost: str) -> list:
    """The completed trials no other completed trial beats on both quality and cost, by number."""
    ok = [t for t in trials if t.ok]
    return sorted(
        (ok[i] for i in pareto_front([(-t.metrics[quality], t.metrics[cost]) for t in ok])), key=lambda t: t.number
    )


def choose_best(trials: Sequence, rule: str, quality: str, cost: str, T: float | None):
    """The one place that says which trial is best (see the module docstring); None when no trial
    qualifies (none completed, or none within T)."""
    ok = [t for t in trials if t.ok]
    if rule == TRADE_OFF:
        return max(ok, key=lambda t: (t.reward, -t.number), default=None)
    pool = front_of(ok, quality, cost) if rule == FRONT else ok
    return _most_accurate([t for t in pool if within(t, cost, T)], quality, cost)


def rule_text(rule: str, quality: str, cost: str, T: float | None) -> str:
    """The rule in words, for best.json, summaries and the console."""
    within = f" with {cost} <= {T:g}" if T is not None else ""
    return {
        LIMIT: f"the highest {quality}{within} (ties: lower {cost}, then the first found)",
        TRADE_OFF: "the highest reward (ties: the first found)",
        FRONT: f"the Pareto front of {quality} against {cost}; its pick: the highest {quality}{within} "
        f"(ties: lower {cost}, then the first found)",
    }[rule]


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
    dom = np.asarray(le & lt)  # dom[i, j]: i dominates j (asarray: a 2-d array, for the type checker)
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


# CLI name -> (class, its default keyword arguments)
OBJECTIVES: dict[str, tuple[type[Objective], dict]] = {
    "weighted": (WeightedSum, {}),
    "mnasnet-soft": (MnasNet, {"alpha": -0.07, "beta": -0.07}),
    "mnasnet-hard": (MnasNet, {"alpha": 0.0, "beta": -1.0}),
    "constrained": (Constrained, {}),
    "pareto": (Pareto, {}),
}


def make_objective(name: str, **kwargs) -> Objective:
    """An objective by its CLI name; ``kwargs`` go to its constructor (quality, cost, T, ...)."""
    if name not in OBJECTIVES:
        raise ConfigError(unknown("objective", name, OBJECTIVES))
    cls, defaults = OBJECTIVES[name]
    try:
        objective = cls(**{**defaults, **kwargs})
    except TypeError as e:
        raise ConfigError(f"objective {name!r}: {e}") from None
    objective.name = name
    return objective


def objective_from_meta(meta: dict) -> Objective:
    """The objective a stored study was run with, rebuilt from its ``meta()``."""
    return make_objective(meta["name"], **{k: v for k, v in meta.items() if k not in ("name", "rule")})
