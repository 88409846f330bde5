"""Uniform random search: the reference strategy, and the baseline every other must beat."""

from __future__ import annotations

from hybrid_nas.engine.strategies.base import Strategy


class RandomSearch(Strategy):
    """Each decision drawn uniformly and independently; learns nothing from ``tell``."""

    name = "random"

    def ask(self):
        return self.space.sample(self.rng)
