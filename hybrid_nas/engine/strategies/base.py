"""The strategy interface: ask for an architecture, be told how it did."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from hybrid_nas.engine.space import Architecture, SearchSpace


class Strategy(ABC):
    """Proposes architectures of ``space``. One required method, ``ask``; ``tell`` is a no-op hook.

    ``ask`` may be called several times before the matching ``tell``s (parallel evaluation), and
    ``tell`` may name an architecture that was never asked (a resumed study replays its trials), so
    a strategy keys what it learns by the architecture, not by the order of calls.
    """

    name = "strategy"

    def __init__(self, space: SearchSpace, seed: int = 0):
        self.space, self.seed = space, seed
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def ask(self) -> Architecture:
        """The next architecture to evaluate."""

    def tell(  # noqa: B027 - an optional hook: a strategy that learns nothing from results keeps it
        self,
        arch: Architecture,
        reward: float | None,
        objectives: tuple[float, ...] | None = None,
        feasible: bool = True,
    ) -> None:
        """The result of ``arch``: its reward (None when the trial failed), its objective vector
        (minimised) and whether it meets the objective's cost limit."""

    def reseed(self, entropy) -> None:
        """Start a fresh random stream (used on resume)."""
        self.rng = np.random.default_rng(entropy)

    def options(self) -> dict:
        """The constructor options that change behaviour; part of the study's identity."""
        return {}

    def meta(self) -> dict:
        return {"name": self.name, **self.options()}
