"""Bayesian optimisation with SMAC3 (random-forest surrogate) over the categorical decisions of a NAS space,
or over the ranges of a space that brings its own ConfigSpace (an HPO space)."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from typing import Any

from hybrid_nas.engine.errors import unknown
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.strategies.base import Strategy
from hybrid_nas.engine.strategies.smac_facade import FACADES, make_facade

# SMAC minimises a cost; a failed trial is told this cost rather than inf so the forest stays usable.
FAILED_COST = 1e3


def _never_called(config, seed: int = 0, budget: float | None = None) -> float:  # ask/tell: the study evaluates
    raise RuntimeError("SMAC's target function is not used in ask/tell mode")


class SMACStrategy(Strategy):
    """SMAC3's facades in ask/tell mode.

    A NAS space: one categorical hyperparameter per decision. A space with ``configspace(seed)`` (an HPO
    space): its ConfigSpace, SMAC's configurations decoded by ``space.architecture`` (which adds SMAC's budget
    as the fidelity, and with ``repeats`` > 1 SMAC's seed), and ``method`` picks the facade: ``hpo``
    (random-forest BO), ``multi-fidelity`` (the same with Hyperband over the space's fidelity) or ``random``.
    ``repeats`` > 1 makes the target noisy for SMAC: a challenger runs on up to that many seeds before it may
    replace the incumbent (Hyperband's own intensification runs each configuration on one seed).
    """

    name = "smac"

    def __init__(
        self, space, seed=0, n_trials: int = 1000, n_initial: int | None = 20, method: str = "hpo", repeats: int = 1
    ):
        super().__init__(space, seed)
        from ConfigSpace import Categorical, Configuration, ConfigurationSpace

        self.ranges = hasattr(space, "configspace")
        if method not in FACADES:
            raise ValueError(unknown("method", method, FACADES))
        if repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {repeats}")
        fidelity = getattr(space, "fidelity", None)
        if method == "multi-fidelity" and fidelity is None:
            raise ValueError("multi-fidelity needs a space with a fidelity (e.g. epochs) and its min and max budget")
        if repeats > 1 and method != "multi-fidelity" and not getattr(space, "seeded", False):
            raise ValueError("repeats > 1 needs a space whose architectures carry their seed (an HPO space)")
        self.n_trials, self.n_initial, self.method, self.repeats = n_trials, n_initial, method, repeats
        if self.ranges:
            self.configspace = space.configspace(seed)
        else:  # ConfigSpace wants one type per hyperparameter: options travel as their index, as strings
            self.configspace = ConfigurationSpace(seed=seed)
            for d in space.decisions:
                self.configspace.add(Categorical(d.name, [str(i) for i in range(len(d.options))]))
        self._Configuration = Configuration
        self._outdir = tempfile.mkdtemp(prefix="hybrid-nas-smac-")
        weakref.finalize(self, shutil.rmtree, self._outdir, True)
        budgets = (fidelity.low, fidelity.high) if method == "multi-fidelity" and fidelity is not None else None
        self.smac = make_facade(
            self.configspace,
            _never_called,
            seed=seed,
            n_trials=n_trials,
            n_initial=n_initial,
            output_dir=self._outdir,
            kind=method,
            budgets=budgets,
            repeats=repeats,
        )
        self._asked: dict[Architecture, list] = {}  # an architecture -> SMAC's trials that ask for it
        # a space of ranges has what an HPO space has (architecture, encode, seed_of, budget_of)
        self.ranged: Any = space if self.ranges else None

    def options(self):
        if self.ranges:  # not n_trials: there, the trial budget, which a resume may raise
            return {"n_initial": self.n_initial, "method": self.method, "repeats": self.repeats}
        return {"n_trials": self.n_trials, "n_initial": self.n_initial}

    def ask(self):
        info = self.smac.ask()
        if self.ranges:
            arch = self.ranged.architecture(info.config, seed=info.seed, budget=info.budget)
        else:
            arch = self.space.from_indices([int(info.config[d.name]) for d in self.space.decisions])
        self._asked.setdefault(arch, []).append(info)
        return arch

    def _custom(self, arch):
        """A trial SMAC never asked for (resume, a shared study's): as SMAC would have asked it."""
        from smac.runhistory.dataclasses import TrialInfo

        if not self.ranges:
            values = {d.name: str(i) for d, i in zip(self.space.decisions, self.space.indices(arch))}
            return TrialInfo(config=self._Configuration(self.configspace, values=values), seed=self.seed)
        seed = self.ranged.seed_of(arch)
        return TrialInfo(
            config=self._Configuration(self.configspace, values=self.ranged.encode(arch)),
            seed=self.seed if seed is None else seed,
            budget=self.ranged.budget_of(arch),
        )

    def tell(self, arch, reward, objectives=None, feasible=True):
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        # every trial of SMAC's that decoded to this architecture gets its result (configurations that
        # round to the same values, or one asked again while the first was in flight)
        infos = self._asked.pop(arch, None) or [self._custom(arch)]
        value = TrialValue(cost=FAILED_COST, status=StatusType.CRASHED) if reward is None else TrialValue(cost=-reward)
        for info in infos:
            self.smac.tell(info, value, save=False)
