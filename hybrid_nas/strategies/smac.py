"""Bayesian optimisation with SMAC3 (random-forest surrogate) over the categorical decisions."""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref

from ..space import Architecture
from .base import Strategy

# SMAC minimises a cost; a failed trial is told this cost rather than inf so the forest stays usable.
FAILED_COST = 1e3


def make_smac_facade(configspace, seed: int, n_trials: int, n_initial: int | None, output_dir: str):
    """The HPO facade driven through ask/tell: one evaluation per configuration (deterministic)."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario
    from smac.model.random_forest import RandomForest

    scenario = Scenario(configspace, deterministic=True, n_trials=n_trials, seed=seed, output_directory=output_dir)

    def never_called(config, seed: int = 0) -> float:  # ask/tell mode: the study evaluates
        raise RuntimeError("SMAC's target function is not used in ask/tell mode")

    # The facade's own forest (HPO.get_model), made fast on small machines, same trees otherwise:
    # n_jobs=1, as its joblib pool (n_jobs=-1) spent over half of each ask sleeping in hand-offs;
    # max_leaf_nodes=None, as SMAC's 2**20 sends sklearn to its best-first builder, 150x slower per
    # tree (0.14 s vs 0.9 ms at 100 points) for the same unlimited leaves.
    model = RandomForest(configspace, log_y=True, n_trees=10, ratio_features=1.0, min_samples_split=2,
                         min_samples_leaf=1, max_depth=2**20, max_leaf_nodes=None, bootstrapping=True,
                         seed=seed, n_jobs=1)
    return HPO(
        scenario,
        never_called,
        model=model,
        intensifier=HPO.get_intensifier(scenario, max_config_calls=1),
        initial_design=HPO.get_initial_design(scenario, n_configs=n_initial) if n_initial else None,
        overwrite=True,
        logging_level=logging.ERROR,
    )


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
        self.smac = make_smac_facade(self.configspace, seed, n_trials, n_initial, self._outdir)
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
