"""The two-stage search: a cheap evaluator prescreens N candidates, the full evaluator trains the top k."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from helpers import CountingEvaluator
from hybrid_nas import Decision, Evaluator, SearchSpace
from hybrid_nas.engine.jobs import SearchJob, StudySpec
from hybrid_nas.engine.objectives import make_objective
from hybrid_nas.engine.run import load
from hybrid_nas.engine.settings import Settings, StudyFields
from hybrid_nas.engine.two_stage import Prescreen

TOY = SearchSpace([Decision(f"d{i}", ("a", "b", "c")) for i in range(5)], name="toy")


@dataclass(frozen=True, kw_only=True)
class ToySettings(StudyFields, Settings):
    strategy: str = "random"
    strategy_options: dict = field(default_factory=dict)
    objective: str = "weighted"
    budget: int | None = 50  # unused by a two-stage study: stage 2 trains top_k
    seconds: float | None = None
    seed: int = 0
    workers: int = 1
    dask_scheduler: str | None = None
    storage: str | None = None


class Proxy(Evaluator):
    """A cheap score that agrees with ``CountingEvaluator``'s accuracy only in part; counts its calls."""

    name, quality = "proxy", "proxy"
    calls = 0

    def evaluate(self, arch, seed):
        type(self).calls += 1
        hits = sum(arch[f"d{i}"] == "a" for i in range(5))
        return {"proxy": hits + 0.7 * (arch["d0"] == "c"), "latency_ms": 1.0}


class Full(CountingEvaluator):
    """The toy's training; ``stop_at``: the call that is interrupted (a killed run)."""

    calls, stop_at = 0, None

    def evaluate(self, arch, seed):
        type(self).calls += 1
        if type(self).calls == type(self).stop_at:
            raise KeyboardInterrupt
        return super().evaluate(arch, seed)


class ToyJob(SearchJob):
    space = TOY

    def __init__(self, n: int, k: int):
        super().__init__(ToySettings(), "toy")
        self.n, self.k = n, k

    def studies(self, run):
        yield StudySpec("", TOY, Full(TOY), make_objective("weighted", weights={"accuracy": 1.0}))

    def prescreen(self, spec):
        ranking = make_objective("weighted", quality="proxy", cost="latency_ms", weights={"proxy": 1.0})
        return Prescreen(Proxy(), ranking, self.n, self.k)

    def summary(self, run):
        return ""


@pytest.fixture(autouse=True)
def counters():
    Proxy.calls, Full.calls, Full.stop_at = 0, 0, None


def test_stage_two_trains_exactly_the_k_best_of_stage_one_and_both_are_stored(tmp_path):
    run = ToyJob(30, 5).execute(tmp_path / "R", resume=False, progress=False)
    screened, trained = run.view("prescreen"), run.view()
    assert len(screened.trials) == Proxy.calls == 30
    assert len(trained.trials) == Full.calls == 5
    best = sorted(screened.ok, key=lambda t: (-t.reward, t.number))[:5]
    assert [t.arch for t in trained.trials] == [t.arch for t in best]  # best first
    for t, s in zip(trained.trials, best):
        assert t.metrics["prescreen_proxy"] == s.metrics["proxy"] and t.metrics["prescreen_reward"] == s.reward
        assert "prescreen_latency_ms" not in t.metrics  # the full evaluator reports its own
    summary = (run.dir / "summary.md").read_text()
    assert "Stage 1 (`prescreen/`) scored 30 candidates" in summary and "| proxy |" in summary
    assert (run.dir / "prescreen" / "summary.md").is_file() and run.best["trial"] in range(5)


def test_a_killed_run_resumes_without_redoing_stage_one_or_finished_trainings(tmp_path):
    Full.stop_at = 3  # killed while training the third candidate
    with pytest.raises(KeyboardInterrupt):
        ToyJob(20, 5).execute(tmp_path / "R", resume=False, progress=False)
    first = load(tmp_path / "R").view()
    assert [t.ok for t in first.trials] == [True, True, False]  # the third left RUNNING
    Proxy.calls = Full.calls = 0
    Full.stop_at = None
    run = ToyJob(20, 5).execute(tmp_path / "R", resume=True, progress=False)
    assert Proxy.calls == 0 and len(run.view("prescreen").trials) == 20
    assert Full.calls == 3  # the interrupted one and the two not started
    trained = run.view().trials
    assert len(trained) == 5 and all(t.ok for t in trained)
    assert [t.started for t in trained[:2]] == [t.started for t in first.trials[:2]]


@pytest.mark.slow
def test_the_quantum_command_prescreens_by_repcap_and_trains_only_top_k(tmp_path):
    from hybrid_nas.cli import main

    args = ["quantum", "--task", "moons", "--noise", "none", "--epochs", "1", "--layers", "2"]
    assert main([*args, "--prescreen", "8", "--top-k", "2", "--out", str(tmp_path / "R"), "--no-progress"]) == 0
    run = load(tmp_path / "R")
    screened, trained = run.view("prescreen"), run.view()
    assert len(screened.trials) == 8 and screened.quality == "repcap"
    assert len(trained.trials) == 2 and all("prescreen_repcap" in t.metrics for t in trained.trials)
    assert "## Two-stage search" in (run.dir / "summary.md").read_text()
