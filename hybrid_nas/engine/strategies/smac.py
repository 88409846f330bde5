"""Bayesian optimisation with SMAC3 (random-forest surrogate) over the categorical decisions."""

from __future__ import annotations

import shutil
import tempfile
import weakref

from hybrid_nas.engine.strategies.smac_facade import make_facade
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.strategies.base import Strategy

# SMAC minimises a cost; a failed trial is told this cost rather than inf so the forest stays usable.
FAILED_COST = 1e3


def _never_called(config, seed: int = 0) -> float:  # ask/tell mode: the study evaluates
    raise RuntimeError("SMAC's target function is not used in ask/tell mode")


class SMACStrategy(Strategy):
    """SMAC3's ``HyperparameterOptimizationFacade`` with one categorical hyperparameter per decision."""

    name = "smac"

    def __init__(self, space, seed=0, n_trials: int = 1000, n_initial: int = 20):
        super().__init__(space, seed)
        from ConfigSpace import Categorical, Configuration, ConfigurationSpace

        self.n_trials, self.n_initial = n_trials, n_initial
        self.configspace = ConfigurationSpace(seed=seed)
        # ConfigSpace wants one type per hyperparameter: options travel as their index, as strings
        for d in space.decisions:
            self.configspace.add(Categorical(d.name, [str(i) for i in range(len(d.options))]))
        self._Configuration = Configuration
        self._outdir = tempfile.mkdtemp(prefix="hybrid-nas-smac-")
        weakref.finalize(self, shutil.rmtree, self._outdir, True)
        self.smac = make_facade(self.configspace, _never_called, seed=seed, n_trials=n_trials, n_initial=n_initial,
                                output_dir=self._outdir)
        self._asked: dict[Architecture, object] = {}

    def options(self):
        return {"n_trials": self.n_trials, "n_initial": self.n_initial}

    def ask(self):
        info = self.smac.ask()
        arch = self.space.from_indices([int(info.config[d.name]) for d in self.space.decisions])
        self._asked[arch] = info
        return arch

    def tell(self, arch, reward, objectives=None, feasible=True):
        from smac.runhistory.dataclasses import TrialInfo, TrialValue
        from smac.runhistory.enumerations import StatusType

        info = self._asked.pop(arch, None)
        if info is None:  # a result SMAC never asked for (resume, or a repeat): tell it as a custom trial
            values = {d.name: str(i) for d, i in zip(self.space.decisions, self.space.indices(arch))}
            info = TrialInfo(config=self._Configuration(self.configspace, values=values), seed=self.seed)
        if reward is None:
            value = TrialValue(cost=FAILED_COST, status=StatusType.CRASHED)
        else:
            value = TrialValue(cost=-reward)
        self.smac.tell(info, value, save=False)
