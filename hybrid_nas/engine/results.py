"""What a finished study means: its best trial (by its objective's rule), its front, and ``best.json``,
all read from the store's records and meta, so reports need no live evaluator or strategy."""

from __future__ import annotations

import json
from pathlib import Path

from hybrid_nas.engine.objectives import FRONT, LIMIT, TRADE_OFF, choose_best, front_of, rule_text, within
from hybrid_nas.engine.trial import Trial, TrialState

# Studies stored before the objective's meta named its rule
_RULE_OF_NAME = {"constrained": LIMIT, "mnasnet-hard": LIMIT, "pareto": FRONT}


class StudyView:
    """The trials of a study with its objective's names (quality, cost, T, rule) from the stored meta."""

    def __init__(self, meta: dict, trials: list[Trial]):
        objective = meta.get("objective", {})
        self.meta, self.trials = meta, trials
        self.quality = objective.get("quality", "accuracy")
        self.cost = objective.get("cost", "latency_ms")
        self.T = objective.get("T")
        self.rule = objective.get("rule") or _RULE_OF_NAME.get(objective.get("name"), TRADE_OFF)
        self.ok = [t for t in trials if t.ok]
        self.failed = [t for t in trials if t.state == TrialState.FAILED]

    def feasible(self, t: Trial) -> bool:
        return within(t, self.cost, self.T)

    def best(self) -> Trial | None:
        """The objective's best; None when no trial qualifies."""
        return choose_best(self.trials, self.rule, self.quality, self.cost, self.T)

    def front(self) -> list[Trial]:
        """Completed trials that no other beats on both quality and cost."""
        return front_of(self.trials, self.quality, self.cost)

    def best_reward(self) -> Trial | None:
        return choose_best(self.trials, TRADE_OFF, self.quality, self.cost, self.T)

    def rule_text(self) -> str:
        return rule_text(self.rule, self.quality, self.cost, self.T)


def trial_summary(t: Trial, describe=None) -> dict:
    out = {"trial": t.number, "architecture": dict(t.arch), "metrics": t.metrics, "reward": t.reward}
    if describe is not None:
        out["description"] = describe(t.arch)
    return out


def write_best(run_dir: str | Path, view: StudyView, describe=None, extra: dict | None = None) -> dict:
    """``best.json``: the rule, the objective's best (null when no trial qualifies), the Pareto front
    for a Pareto objective, and the highest-reward trial when that is another one."""
    best, top = view.best(), view.best_reward()
    doc = {
        "rule": view.rule_text(),
        "objective": view.meta.get("objective"),
        "trials": len(view.trials),
        "failed": len(view.failed),
        "best": trial_summary(best, describe) if best else None,
    }
    if view.rule == FRONT:
        doc["front"] = [trial_summary(t, describe) for t in view.front()]
    if top is not None and top is not best:
        doc["best_reward"] = trial_summary(top, describe)
    doc.update(extra or {})
    Path(run_dir, "best.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")
    return doc
