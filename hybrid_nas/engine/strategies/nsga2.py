"""Multi-objective evolution in the style of NSGA-II (Deb et al. 2002), steady state."""

from __future__ import annotations

import numpy as np

from hybrid_nas.engine.objectives import crowding_distance, non_dominated_sort
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.strategies.base import Strategy


class NSGA2(Strategy):
    """Keeps a population ranked by Pareto front and crowding distance over the objective vectors.

    Parents come from binary tournaments (lower front wins, then larger crowding distance); a child
    is their uniform crossover, mutated in one decision. Constraint handling follows Deb: feasible
    members rank before every infeasible one, infeasible ones by how far they are over the limit
    (their front index among themselves). ``front`` holds the current non-dominated feasible set.
    """

    name = "nsga2"

    def __init__(self, space, seed=0, population: int = 40, crossover: float = 0.9):
        super().__init__(space, seed)
        if population < 4:
            raise ValueError(f"need population >= 4, got {population}")
        self.population_size, self.crossover = population, crossover
        self.members: list[tuple[Architecture, tuple[float, ...], bool]] = []
        self._rank = np.zeros(0)
        self._crowd = np.zeros(0)

    def options(self):
        return {"population": self.population_size, "crossover": self.crossover}

    def _tournament(self) -> Architecture:
        i, j = self.rng.integers(len(self.members), size=2)
        better = i if (self._rank[i], -self._crowd[i]) <= (self._rank[j], -self._crowd[j]) else j
        return self.members[better][0]

    def ask(self):
        if len(self.members) < self.population_size:
            return self.space.sample(self.rng)
        a, b = self._tournament(), self._tournament()
        if self.rng.random() < self.crossover:
            child = Architecture({k: (a[k] if self.rng.random() < 0.5 else b[k]) for k in a})
        else:
            child = a
        return self.space.mutate(child, self.rng)

    def tell(self, arch, reward, objectives=None, feasible=True):
        if reward is None or objectives is None or any(arch == m[0] for m in self.members):
            return
        self.members.append((arch, tuple(objectives), feasible))
        self._select()

    def _select(self) -> None:
        """Environmental selection: keep the best ``population`` by (front, crowding)."""
        ranked: list[int] = []
        rank = np.zeros(len(self.members))
        crowd = np.zeros(len(self.members))
        offset = 0
        for want_feasible in (True, False):
            idx = [i for i, m in enumerate(self.members) if m[2] == want_feasible]
            for f, front in enumerate(non_dominated_sort([self.members[i][1] for i in idx])):
                members = [idx[k] for k in front]
                rank[members] = offset + f
                crowd[members] = crowding_distance([self.members[i][1] for i in members])
                ranked.extend(sorted(members, key=lambda i: -crowd[i]))
            offset += len(idx)
        keep = ranked[: self.population_size]
        self.members = [self.members[i] for i in keep]
        self._rank, self._crowd = rank[keep], crowd[keep]

    @property
    def front(self) -> list[Architecture]:
        return [m[0] for m, r in zip(self.members, self._rank) if r == 0 and m[2]]
