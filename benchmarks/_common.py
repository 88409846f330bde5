"""Shared by the NB201 benchmark scripts: one study, and what to read off its trials."""

from __future__ import annotations

import time

import numpy as np
import torch

from hybrid_nas import Study, make_objective, make_strategy
from hybrid_nas.nb201.table import NB201Evaluator, NB201Space


def run_nb201(
    strategy: str,
    seed: int,
    budget: int,
    objective: str = "constrained",
    T: float = 17.0,
    device: str = "titan_rtx_256",
    count_repeats: bool = False,
    **options,
) -> dict:
    """One in-memory NB201 study on one thread: per-trial accuracy/latency and the wall time."""
    torch.set_num_threads(1)
    space, ev = NB201Space(), NB201Evaluator("cifar100", device)
    start = time.perf_counter()
    study = Study(
        space,
        ev,
        make_objective(objective, T=T),
        make_strategy(strategy, space, seed=seed, **options),
        seed=seed,
        count_repeats=count_repeats,
    ).optimize(budget)
    seconds = time.perf_counter() - start
    trials = [t for t in study.trials if t.ok]
    return {
        "strategy": strategy,
        "seed": seed,
        "seconds": seconds,
        "stop": study.stop_reason,
        "accuracy": [100 * t.metrics["accuracy"] for t in trials],
        "latency": [t.metrics["latency_ms"] for t in trials],
    }


def best_feasible_curve(run: dict, T: float) -> np.ndarray:
    """Best accuracy (%) among cells with latency <= T after each sample (nan before the first)."""
    acc = np.where(np.asarray(run["latency"]) <= T, run["accuracy"], -np.inf)
    curve = np.maximum.accumulate(acc) if len(acc) else acc
    return np.where(np.isfinite(curve), curve, np.nan)
