"""Regularised (aging) evolution, Real et al. 2019."""

from __future__ import annotations

from collections import deque

from hybrid_nas.engine.strategies.base import Strategy


class RegularizedEvolution(Strategy):
    """Tournament selection over a population that ages out its oldest member.

    The first ``population`` asks are random; after that, ``sample`` members are drawn at random
    and the one with the best reward is mutated in one decision. Each told result joins the
    population and pushes out the oldest, so a lucky early architecture cannot rule forever.
    Failed trials never become parents.
    """

    name = "evolution"

    def __init__(self, space, seed=0, population: int = 20, sample: int = 5):
        super().__init__(space, seed)
        if population < 2 or not 1 <= sample <= population:
            raise ValueError(f"need population >= 2 and 1 <= sample <= population, got {population}, {sample}")
        self.population_size, self.sample_size = population, sample
        self.population: deque = deque(maxlen=population)

    def options(self):
        return {"population": self.population_size, "sample": self.sample_size}

    def ask(self):
        if len(self.population) < self.population_size:
            return self.space.sample(self.rng)
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda member: member[1])
        return self.space.mutate(parent[0], self.rng)

    def tell(self, arch, reward, objectives=None, feasible=True):
        if reward is not None:
            self.population.append((arch, reward))
