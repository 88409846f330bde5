"""Re-scoring a finished study's best few on data none of its trials was chosen on (selection bias).

A search that keeps the best of N candidates by their validation scores reports an optimistic figure: the
winner is in part the candidate the validation sample happened to favour (the winner's curse). Here the
``k`` best by the study's rule are scored again by ``score(trial)`` on data the search never saw (a split
the command held out of it); the exported best is the best of those ``k`` by the same rule on the new
scores, and its new figure is reported beside the search's. That figure is chosen among ``k``, not among
N: exactly unbiased for ``k = 1`` and far less optimistic than the search's for a small ``k``; a test split,
never chosen on, stays the unbiased one.

Each score is saved to ``rescore.json`` as it is made, so a resumed run scores only what it has not; the
file is also what ``summary.md``'s section reads. Nothing here knows a space: a command supplies ``score``
(and the held-out data it scores on).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.objectives import choose_best, objective_from_meta
from hybrid_nas.engine.results import StudyView, trial_summary
from hybrid_nas.engine.trial import Trial

FILE = "rescore.json"


def check_rescore(k: int, trained: int | None, flag: str = "--rescore-top") -> None:
    """``k`` in one line: at least 0 (0: off) and at most the ``trained`` candidates (None: unknown, a time
    budget)."""
    if k < 0:
        raise ConfigError(f"{flag} must be at least 0 (0: off), got {k}")
    if trained is not None and k > trained:
        raise ConfigError(f"{flag} {k} is more than the {trained} candidates the search trains")


def top(view: StudyView, k: int) -> list[Trial]:
    """The ``k`` best distinct architectures of the study by its rule, best first: the rule's best, then the
    best of the rest, and so on (a limit rule stops at the last trial within it)."""
    pool, ranked, seen = list(view.ok), list[Trial](), set[str]()
    while pool and len(ranked) < k:
        t = choose_best(pool, view.rule, view.quality, view.cost, view.T)
        if t is None:
            break
        pool = [p for p in pool if p.number != t.number]
        if t.arch.key not in seen:
            seen.add(t.arch.key)
            ranked.append(t)
    return ranked


def rescore(
    dir: str | Path,
    view: StudyView,
    k: int,
    score: Callable[[Trial], dict],
    describe: Callable | None = None,
    split: str = "held-out data",
) -> dict:
    """Score the study's ``top(view, k)`` by ``score`` (what it returns replaces those metrics of the trial,
    the quality among them) and choose the best of them by the study's rule on those scores. Returns what
    ``best.json`` adds: ``best`` (the chosen trial, with its ``held_out`` scores), ``search_best`` (the
    search's own best, with its) and ``rescore`` (every candidate's)."""
    path = Path(dir, FILE)
    done = {}
    if path.is_file():
        done = {(row["trial"], row["key"]): row for row in json.loads(path.read_text())["candidates"]}
    objective = objective_from_meta(view.meta["objective"])
    doc: dict = {"k": k, "split": split, "quality": view.quality, "searched": len(view.ok), "candidates": []}
    rescored = []
    for t in top(view, k):
        row = done.get((t.number, t.arch.key))
        if row is None:
            row = {"trial": t.number, "key": t.arch.key, "held_out": {m: float(v) for m, v in score(t).items()}}
        metrics = {**t.metrics, **row["held_out"]}
        row = {**row, "search_quality": t.metrics.get(view.quality), "search_reward": t.reward}
        row["reward"] = objective.reward(metrics)
        if describe is not None:
            row["description"] = describe(t.arch)
        doc["candidates"].append(row)
        rescored.append(replace(t, metrics=metrics, reward=row["reward"]))
        path.write_text(json.dumps(doc, indent=2) + "\n")  # each score as it is made: a resume keeps it
    chosen = choose_best(rescored, view.rule, view.quality, view.cost, view.T)
    if chosen is None:
        return {}
    doc["chosen"] = chosen.number
    path.write_text(json.dumps(doc, indent=2) + "\n")
    held = {row["trial"]: row["held_out"] for row in doc["candidates"]}
    original = {t.number: t for t in view.ok}
    searched = view.best()
    out = {"best": {**trial_summary(original[chosen.number], describe), "held_out": held[chosen.number]}}
    if searched is not None:
        out["search_best"] = {**trial_summary(searched, describe), "held_out": held.get(searched.number)}
    return out | {"rescore": {k: v for k, v in doc.items() if k != "candidates"}}


def provenance(k: int) -> str:
    """What the chosen best's held-out figure was chosen on, in words."""
    if k == 1:
        return "not chosen on: the search's best, re-scored"
    return f"the best of the search's top {k} on it"


def summary_lines(run_dir: str | Path) -> list[str]:
    """``summary.md``'s section of a re-scored study (from its ``rescore.json``); none for another study."""
    path = Path(run_dir, FILE)
    if not path.is_file():
        return []
    doc = json.loads(path.read_text())
    quality, rows = doc["quality"], doc["candidates"]
    lines = [
        "## Re-scored on held-out data",
        "",
        f"The search chose among {doc['searched']} candidates by their {quality} on its validation split, so the "
        f"best's figure there is optimistic. Its top {doc['k']} were scored again on the {doc['split']}, which "
        f"no trial was scored on; the exported best is the best of them there "
        f"({provenance(doc['k'])}): trial {doc.get('chosen', '-')}.",
        "",
        f"| trial | architecture | search {quality} | held-out {quality} | search reward | held-out reward |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = " (exported)" if row["trial"] == doc.get("chosen") else ""
        arch = row.get("description", row["key"]).replace("|", "\\|")
        lines.append(
            f"| {row['trial']}{mark} | `{arch}` | {row['search_quality']:.4f} | "
            f"{row['held_out'].get(quality, float('nan')):.4f} | {row['search_reward']:.5f} | {row['reward']:.5f} |"
        )
    return [*lines, ""]
