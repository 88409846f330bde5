"""A two-stage search: a cheap evaluator scores many candidates, the full evaluator trains the best few.

Stage 1 is a study of its own in the study's ``prescreen/`` subdirectory: the run's strategy proposes
``budget`` candidates and the cheap evaluator scores them (a training-free figure), ranked by the stage-1
objective's reward (its quality, combined with a cost by the objective). Stage 2 is the study itself: the
``top_k`` best of stage 1, in that order, evaluated by the full evaluator, each trial carrying its stage-1
figures as ``prescreen_<name>`` metrics. Both are ordinary studies, so a killed run resumes as any study
does: stage 1's finished trials are kept (it does not run again once complete) and stage 2 trains only
what it has not. ``summary.md`` adds how well the stage-1 figures ranked the stage-2 quality.

Nothing here knows a space: a command supplies the cheap evaluator (``SearchJob.prescreen``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError, RunFailed
from hybrid_nas.engine.evaluator import Evaluator, Metrics
from hybrid_nas.engine.objectives import Objective
from hybrid_nas.engine.space import Architecture, SearchSpace
from hybrid_nas.engine.strategies.base import Strategy

PREFIX = "prescreen_"  # a stage-2 trial's stage-1 figures
STRATEGY = "top-k"  # stage 2's strategy, by which a study is known as a stage 2


def check_prescreen(prescreen: int, top_k: int) -> None:
    """``--prescreen N --top-k K`` in one line each: N >= 0 (0: off), 1 <= K <= N."""
    if prescreen < 0:
        raise ConfigError(f"--prescreen must be at least 0 (0: off), got {prescreen}")
    if prescreen and top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {top_k}")
    if prescreen and top_k > prescreen:
        raise ConfigError(
            f"--top-k {top_k} is more than --prescreen {prescreen}: stage 2 trains the best of the prescreened"
        )


@dataclass(frozen=True)
class Prescreen:
    """Stage 1 of a study: ``budget`` candidates scored by ``evaluator``, ranked by ``objective``."""

    evaluator: Evaluator
    objective: Objective
    budget: int
    top_k: int
    name: str = "prescreen"  # its subdirectory of the study's


class TopK(Strategy):
    """Stage 2's strategy: the given architectures, best first (then the last again, which the study
    recognises as evaluated). Its options name them, so a resume on another ranking is refused."""

    name = STRATEGY

    def __init__(self, space: SearchSpace, archs: Sequence[Architecture], screened: int, seed: int = 0):
        super().__init__(space, seed)
        self.archs, self.screened, self.next = list(archs), screened, 0

    def ask(self) -> Architecture:
        arch = self.archs[min(self.next, len(self.archs) - 1)]
        self.next += 1
        return arch

    def options(self) -> dict:
        return {"screened": self.screened, "archs": [self.space.key(a) for a in self.archs]}


class WithPrescreen(Evaluator):
    """The full evaluator; each trial's metrics add the candidate's stage-1 figures (``prescreen_<name>``,
    those the full evaluator does not report itself, and ``prescreen_reward``)."""

    def __init__(self, full: Evaluator, space: SearchSpace, scores: dict[str, Metrics]):
        self.full, self.space, self.scores = full, space, scores
        self.name, self.quality = full.name, full.quality

    def setup(self) -> None:
        self.full.setup()

    def meta(self) -> dict:
        return self.full.meta()

    def evaluate(self, arch: Architecture, seed: int) -> Metrics:
        metrics = self.full.evaluate(arch, seed)
        stage1 = self.scores[self.space.key(arch)]
        return {**metrics, **{PREFIX + k: v for k, v in stage1.items() if k not in metrics}}

    def artefacts(self, arch: Architecture, seed: int, out_dir: Path) -> dict:
        return self.full.artefacts(arch, seed, out_dir)


def run_prescreen(study_dir: Path, spec, screen: Prescreen, settings, *, resume: bool, progress: bool):
    """Stage 1 into ``study_dir / screen.name`` (with its ``best.json`` and ``summary.md``); returns the
    ``StudySpec`` of stage 2: ``spec`` on the ``top_k`` best, carrying their stage-1 figures."""
    from hybrid_nas.engine.jobs import failure_line, search
    from hybrid_nas.engine.report import write_report
    from hybrid_nas.engine.results import write_best

    stage1 = replace(spec, name=screen.name, evaluator=screen.evaluator, objective=screen.objective)
    screen_dir = study_dir / screen.name
    # exactly N candidates: a time budget (--seconds) is stage 2's
    result = search(
        screen_dir, stage1, settings.replace(budget=screen.budget, seconds=None), resume=resume, progress=progress
    )
    write_best(screen_dir, result.view, spec.space.describe, {"seconds": result.seconds})
    write_report(screen_dir, spec.space.describe)
    ranked = sorted(result.view.ok, key=lambda t: (-(t.reward or 0.0), t.number))[: screen.top_k]
    if not ranked:
        raise RunFailed(f"every prescreened candidate of {screen_dir} failed: {failure_line(result.view)}")
    scores = {spec.space.key(t.arch): {**t.metrics, "reward": t.reward} for t in ranked}
    return replace(
        spec,
        evaluator=WithPrescreen(spec.evaluator, spec.space, scores),
        strategy=TopK(spec.space, [t.arch for t in ranked], len(result.view.trials)),
        budget=len(ranked),
    )


def summary_lines(view) -> list[str]:
    """``summary.md``'s section of a stage 2: how each stage-1 figure ranked the stage-2 quality over the
    trained candidates (Spearman and Kendall tau); none for another study."""
    from hybrid_nas.engine.stats import rank_cells

    strategy = view.meta.get("strategy") or {}
    if strategy.get("name") != STRATEGY:
        return []
    ok = [t for t in view.ok if view.quality in t.metrics]
    lines = [
        "## Two-stage search",
        "",
        f"Stage 1 (`prescreen/`) scored {strategy['screened']} candidates without training; stage 2 trained the "
        f"best {len(strategy['archs'])} by its reward ({len(ok)} complete). Rank correlation of each stage-1 "
        f"figure with the stage-2 {view.quality}:",
        "",
        "| stage-1 figure | Spearman | Kendall tau |\n|---|---|---|",
    ]
    names = sorted({k for t in ok for k in t.metrics if k.startswith(PREFIX)})
    for name in names:
        pairs = [(t.metrics[name], t.metrics[view.quality]) for t in ok if name in t.metrics]
        lines.append(f"| {name.removeprefix(PREFIX)} | {rank_cells(pairs)} |")
    return [*lines, ""]
