"""Latency on a device never measured, from a few measurements there: a transfer predictor.

The problem of "HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via Meta-Learning" (2021):
latency tables exist for some devices, a new device can afford N measurements, and a search needs the
latency of every candidate there. The predictor is ridge regression in milliseconds on feature groups:
the space's architecture encoding (``encoding``) and the known devices' latencies of the same
architectures (``devices``), each group with its own penalty, chosen by leave-one-out error on the N
measurements (closed form, so a fit takes milliseconds). Which groups to use is a meta-validation choice
(``select_groups``): every candidate set of groups is scored on devices whose tables are known, playing
the new device with the same N measurements. Ridge, not a meta-learned network, because on
NAS-Bench-201 it measured higher Spearman than HELP's published figures with 20 measurements
(benchmarks/latency_transfer.py).

Nothing here knows a space: encodings are arrays the space computes, devices are columns of arrays.
The target's latencies reach the predictor only through ``Measurements``, which counts what was read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid_nas.engine.errors import ConfigError

GROUPS = ("encoding", "devices")
# Penalties tried per group (features are standardised); 0 is never tried, inf drops the group.
PENALTIES = (*(10.0 ** np.arange(-3, 3.5, 0.5)),)


class Measurements:
    """The target device's latencies, read only through ``measure``: each distinct index read counts
    once, and more than ``budget`` distinct indices is refused. ``read`` is the one way to the truth
    (a closure over a table column or a timer on real hardware)."""

    def __init__(self, read: Callable[[np.ndarray], np.ndarray], budget: int):
        if budget < 1:
            raise ConfigError(f"measurements must be >= 1, got {budget}")
        self._read, self.budget = read, budget
        self._seen: dict[int, float] = {}

    @property
    def used(self) -> int:
        return len(self._seen)

    def measured(self, key: int) -> bool:
        return int(key) in self._seen

    def measure(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        new = [int(i) for i in dict.fromkeys(int(i) for i in indices) if int(i) not in self._seen]
        if self.used + len(new) > self.budget:
            raise ConfigError(f"{self.used + len(new)} measurements asked of the target device, {self.budget} allowed")
        if new:
            values = np.asarray(self._read(np.asarray(new, dtype=int)), dtype=float)
            self._seen.update(zip(new, values.tolist()))
        return np.array([self._seen[int(i)] for i in indices])


@dataclass(frozen=True)
class Fit:
    """What a fit chose: the penalty per group (inf = unused) and its leave-one-out RMSE in ms."""

    penalties: dict[str, float]
    loo_rmse: float


class LatencyPredictor:
    """Ridge regression of latency (ms) on the feature groups named in ``groups``.

    ``fit(features, latency)`` takes ``features`` as a mapping group -> (n, k) array for the n measured
    architectures; ``predict`` takes the same mapping for any architectures. Each group is standardised
    on the measured rows and gets its own penalty, the combination with the lowest leave-one-out error
    wins (an infinite penalty drops a group, so a group that does not help the target is not used)."""

    def __init__(self, groups: Sequence[str] = GROUPS, penalties: Sequence[float] = PENALTIES):
        unknown_groups = [g for g in groups if g not in GROUPS]
        if not groups or unknown_groups:
            raise ConfigError(f"predictor feature groups {list(groups)}: expected a non-empty subset of {GROUPS}")
        self.groups, self.penalties = tuple(groups), tuple(penalties)
        self.fit_: Fit | None = None

    def _stack(self, features: dict[str, np.ndarray]) -> np.ndarray:
        missing = [g for g in self.groups if g not in features]
        if missing:
            raise ConfigError(f"the predictor needs feature groups {missing}; given {sorted(features)}")
        return np.hstack([np.asarray(features[g], dtype=float).reshape(len(features[g]), -1) for g in self.groups])

    def fit(self, features: dict[str, np.ndarray], latency: np.ndarray) -> LatencyPredictor:
        A, y = self._stack(features), np.asarray(latency, dtype=float)
        n = len(y)
        if n < 3:
            raise ConfigError(f"the predictor needs >= 3 measurements, got {n}")
        self._mu, sd = A.mean(0), A.std(0)
        self._sd = np.where(sd > 1e-12, sd, 1.0)  # a constant column stays constant (zero after centring)
        A = (A - self._mu) / self._sd
        self._ym = y.mean()
        yc = y - self._ym
        sizes = self._sizes = [np.asarray(features[g]).reshape(n, -1).shape[1] for g in self.groups]
        # Dropping every group is allowed too: the mean alone is the fallback a noisy target may need.
        options = [(*self.penalties, np.inf)] * len(self.groups)
        best: tuple[float, tuple[float, ...], np.ndarray] | None = None
        for combo in itertools.product(*options):
            diag = np.concatenate([np.full(k, p) for k, p in zip(sizes, combo)])
            keep = np.isfinite(diag)
            w = np.zeros(A.shape[1])
            if keep.any():
                Ak = A[:, keep]
                solved = np.linalg.solve(Ak.T @ Ak + np.diag(diag[keep]), Ak.T)  # (k, n): one solve serves both
                w[keep] = solved @ yc
                # The hat matrix's diagonal without the n x n matrix: leave-one-out residuals in closed form.
                h = np.einsum("ij,ji->i", Ak, solved)
                resid = (yc - Ak @ w[keep]) / np.maximum(1.0 - h - 1.0 / n, 1e-9)
            else:
                resid = yc / (1.0 - 1.0 / n)
            err = float(np.mean(resid**2))
            if best is None or err < best[0] - 1e-12:
                best = (err, combo, w)
        assert best is not None  # at least the all-dropped combination ran
        err, combo, self._w = best
        self.fit_ = Fit(dict(zip(self.groups, combo)), float(np.sqrt(err)))
        return self

    def coefficients(self) -> tuple[float, dict[str, np.ndarray]]:
        """The fit as ``latency = bias + sum over groups of features[g] @ weights[g]`` on the raw features:
        an additive model stays additive (a latency table can be written from it)."""
        if self.fit_ is None:
            raise RuntimeError("coefficients before fit")
        w = self._w / self._sd
        bias = float(self._ym - self._mu @ w)
        edges = np.cumsum([0, *self._sizes])
        return bias, {g: w[a:b] for g, a, b in zip(self.groups, edges[:-1], edges[1:])}

    def predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        if self.fit_ is None:
            raise RuntimeError("predict before fit")
        return ((self._stack(features) - self._mu) / self._sd) @ self._w + self._ym


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation with average ranks for ties (scipy's ``spearmanr`` statistic)."""
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))


def kendall_tau(a, b) -> float:
    """Kendall's tau-b (ties in either ranking discounted; scipy's ``kendalltau`` statistic)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    i, j = np.triu_indices(len(a), 1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    return float(np.sum(da * db) / np.sqrt(np.sum(da != 0) * np.sum(db != 0)))


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e - 1) / 2.0
    return ranks


def select_groups(
    candidates: Sequence[Sequence[str]], score: Callable[[tuple[str, ...]], float]
) -> tuple[tuple[str, ...], dict[str, float]]:
    """The candidate group set with the highest ``score`` (a meta-validation figure, e.g. mean Spearman
    on known devices playing the target), and every candidate's score by name."""
    scores = {"+".join(c): score(tuple(c)) for c in candidates}
    best = max(candidates, key=lambda c: scores["+".join(c)])
    return tuple(best), scores


def verify_best(
    candidates: Sequence[tuple[int, float, float]], meter: Measurements, T: float, limit: int
) -> tuple[int, float, float] | None:
    """The second stage of a search on predicted latency: of ``candidates`` (key, quality, predicted
    latency), measure the most accurate ones predicted within ``T``, at most ``limit`` of them, in order
    of quality, and return the first whose measured latency is within T as (key, quality, latency).
    Keys already measured cost nothing. None when no measured candidate is within T."""
    seen: set[int] = set()
    spent = 0
    for key, quality, predicted in sorted(candidates, key=lambda c: (-c[1], c[2])):
        if predicted > T or key in seen:
            continue
        seen.add(key)
        fresh = not meter.measured(key)
        if fresh and (spent >= limit or meter.used >= meter.budget):
            break
        true = float(meter.measure([key])[0])
        spent += fresh
        if true <= T:
            return key, quality, true
    return None
