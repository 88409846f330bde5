"""SMAC3 facades as the SMAC strategy builds them, for NAS (categorical decisions) and HPO (ranges, a
fidelity, repeated seeds) alike: SMAC proposes in ask/tell mode, the study evaluates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

FACADES = ("hpo", "multi-fidelity", "random")


def random_forest(configspace, seed: int):
    """The facade's own forest (HPO.get_model), made fast on small machines, same trees otherwise:
    n_jobs=1, as its joblib pool (n_jobs=-1) spent over half of each ask sleeping in hand-offs;
    max_leaf_nodes=None, as SMAC's 2**20 sends sklearn to its best-first builder, 150x slower per
    tree (0.14 s vs 0.9 ms at 100 points) for the same unlimited leaves."""
    from smac.model.random_forest import RandomForest

    return RandomForest(
        configspace,
        log_y=True,
        n_trees=10,
        ratio_features=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        max_depth=2**20,
        max_leaf_nodes=None,  # type: ignore[arg-type]  # sklearn's own default
        bootstrapping=True,
        seed=seed,
        n_jobs=1,
    )


def make_facade(
    configspace,
    target,
    *,
    seed: int,
    n_trials: int,
    output_dir: str,
    kind: str = "hpo",
    n_initial: int | None = None,
    budgets: tuple[float, float] | None = None,
    repeats: int = 1,
):
    """``hpo``: random-forest BO. ``multi-fidelity``: the same with Hyperband over ``budgets`` (min, max), e.g.
    epochs. ``random``: random search, as a baseline. ``repeats`` > 1 makes the target noisy for SMAC: it
    evaluates a challenger on up to that many seeds before it may replace the incumbent (intensification)."""
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import MultiFidelityFacade as MF
    from smac import RandomFacade, Scenario

    mf = kind == "multi-fidelity"
    fidelity: dict[str, Any] = {}
    if mf:
        if budgets is None:
            raise ValueError("multi-fidelity needs its (min, max) budgets")
        fidelity = {"min_budget": budgets[0], "max_budget": budgets[1]}
    scenario = Scenario(
        configspace,
        deterministic=repeats == 1,
        n_trials=n_trials,
        seed=seed,
        output_directory=Path(output_dir),
        **fidelity,
    )
    common: dict[str, Any] = {"overwrite": True, "logging_level": logging.ERROR}
    if kind == "random":
        return RandomFacade(
            scenario, target, intensifier=RandomFacade.get_intensifier(scenario, max_config_calls=repeats), **common
        )
    facade = MF if mf else HPO
    return facade(
        scenario,
        target,
        model=random_forest(configspace, seed),
        intensifier=MF.get_intensifier(scenario, eta=3)
        if mf
        else HPO.get_intensifier(scenario, max_config_calls=repeats),
        initial_design=facade.get_initial_design(scenario, n_configs=n_initial) if n_initial else None,
        **common,
    )
