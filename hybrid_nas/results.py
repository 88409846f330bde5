"""What a finished study means: its best trials, as read from the store's records and meta."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .trial import Trial


class StudyView:
    """The trials of a study with its objective's names (quality, cost, T) from the stored meta,
    so reports need no live evaluator or strategy."""

    def __init__(self, meta: dict, trials: list[Trial]):
        objective = meta.get("objective", {})
        self.meta, self.trials = meta, trials
        self.quality = objective.get("quality", "accuracy")
        self.cost = objective.get("cost", "latency_ms")
        self.T = objective.get("T")
        self.ok = [t for t in trials if t.ok]
        self.failed = [t for t in trials if t.state.name == "FAILED"]

    def feasible(self, t: Trial) -> bool:
        return self.T is None or t.metrics.get(self.cost, math.inf) <= self.T

    def best_feasible(self) -> Trial | None:
        """Highest quality among completed trials within the cost limit; ties go to the cheaper, then to the
        first found."""
        pool = [t for t in self.ok if self.feasible(t)]
        return max(pool, key=lambda t: (t.metrics[self.quality], -t.metrics.get(self.cost, 0.0), -t.number)) \
            if pool else None

    def best_reward(self) -> Trial | None:
        return max(self.ok, key=lambda t: (t.reward, -t.number)) if self.ok else None


def trial_summary(t: Trial, describe=None) -> dict:
    out = {"trial": t.number, "architecture": dict(t.arch), "metrics": t.metrics, "reward": t.reward}
    if describe is not None:
        out["description"] = describe(t.arch)
    return out


def write_best(run_dir: str | Path, view: StudyView, describe=None, extra: dict | None = None) -> dict:
    """``best.json``: the best feasible trial (or, when none is feasible, the best by reward, marked
    so) and the best-by-reward trial, with the objective they were judged by."""
    best = view.best_feasible()
    feasible = best is not None
    best = best or view.best_reward()
    doc = {
        "feasible": feasible,
        "objective": view.meta.get("objective"),
        "trials": len(view.trials),
        "failed": len(view.failed),
        "best": trial_summary(best, describe) if best else None,
        "best_reward": trial_summary(view.best_reward(), describe) if view.ok else None,
        **(extra or {}),
    }
    Path(run_dir, "best.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")
    return doc
