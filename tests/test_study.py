import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import CountingEvaluator, SetupEvaluator
from hybrid_nas import (
    ConfigError,
    Decision,
    SearchSpace,
    StorageError,
    Study,
    TrialState,
    make_objective,
    make_strategy,
)
from hybrid_nas.engine.storages.base import open_study
from hybrid_nas.engine.study import trial_seed

TOY = SearchSpace([Decision(f"d{i}", ("a", "b", "c")) for i in range(5)], name="toy")
REWARD = {"weights": {"accuracy": 1.0}}


def toy_study(store=None, strategy="random", seed=0, **kw):
    ev = kw.pop("evaluator", None) or CountingEvaluator(TOY)
    return Study(
        TOY,
        ev,
        make_objective("weighted", **REWARD),
        make_strategy(strategy, TOY, seed=seed),
        store=store,
        seed=seed,
        **kw,
    )


def test_each_architecture_is_evaluated_once_and_repeats_cost_no_budget():
    small = SearchSpace([Decision("d0", ("a", "b")), Decision("d1", ("a", "b", "c"))], name="small")
    study = Study(
        small, CountingEvaluator(small), make_objective("weighted", **REWARD), make_strategy("random", small, seed=0)
    ).optimize(6)
    archs = [t.arch for t in study.trials]
    assert len(archs) == len(set(archs)) == 6  # the whole space, though random proposes repeats
    more = Study(
        small, CountingEvaluator(small), make_objective("weighted", **REWARD), make_strategy("random", small, seed=0)
    ).optimize(50)
    assert len(more.trials) == 6 and "evaluated architectures" in more.stop_reason


def test_count_repeats_records_every_sample_and_reuses_the_result():
    small = SearchSpace([Decision("d0", ("a", "b"))], name="tiny")
    study = Study(
        small,
        CountingEvaluator(small),
        make_objective("weighted", **REWARD),
        make_strategy("random", small, seed=0),
        count_repeats=True,
    ).optimize(20)
    trials = study.trials
    assert len(trials) == 20
    repeats = [t for t in trials if t.repeat_of is not None]
    assert len(repeats) == 18
    for t in repeats:
        original = trials[t.repeat_of]
        assert original.repeat_of is None and original.arch == t.arch and original.metrics == t.metrics
        assert t.duration == 0.0


def test_failing_and_nan_trials_are_recorded_and_the_study_goes_on():
    ev = CountingEvaluator(TOY, fail_on={"d0": "b"}, nan_on={"d0": "c"})
    study = toy_study(evaluator=ev).optimize(60)
    trials = study.trials
    assert len(trials) == 60
    crashed = [t for t in trials if t.arch["d0"] == "b"]
    nan = [t for t in trials if t.arch["d0"] == "c"]
    assert crashed and nan
    assert all(
        t.state == TrialState.FAILED and t.error_line == "RuntimeError: simulated training crash" for t in crashed
    )
    assert all("Traceback" in t.error and "in evaluate" in t.error for t in crashed)  # the whole traceback is kept
    assert all(t.state == TrialState.FAILED and "non-finite metric(s) accuracy" in t.error for t in nan)
    assert all(t.ok and t.reward == t.metrics["accuracy"] for t in trials if t.arch["d0"] == "a")


def test_resume_continues_without_repeating_or_losing(tmp_path):
    path = tmp_path / "run"  # a study directory: its trials in its own journal
    first = toy_study(open_study(path), strategy="evolution").optimize(40).trials
    resumed = toy_study(open_study(path), strategy="evolution", resume=True).optimize(100).trials
    assert [t.number for t in resumed] == list(range(100))
    assert resumed[:40] == first
    assert len({t.arch for t in resumed}) == 100


def test_a_used_store_needs_resume_and_the_same_configuration(tmp_path):
    path = tmp_path / "run"
    toy_study(open_study(path)).optimize(5)
    with pytest.raises(ConfigError, match="pass --resume"):
        toy_study(open_study(path))
    with pytest.raises(ConfigError, match="another configuration.*strategy"):
        toy_study(open_study(path), strategy="evolution", resume=True)
    with pytest.raises(ConfigError, match="another configuration.*seed"):
        toy_study(open_study(path), seed=1, resume=True)


def test_a_corrupt_store_is_one_clear_error(tmp_path):
    open_study(tmp_path).close()
    (tmp_path / "optuna.journal").write_bytes(b"this is not a journal\n" * 100)
    with pytest.raises(StorageError, match="optuna.journal is not an Optuna journal"):
        open_study(tmp_path)


@pytest.mark.parametrize(
    "budget, seconds, message",
    [(0, None, "at least 1 trial"), (None, None, "give a budget"), (None, -1, "must be > 0 seconds")],
)
def test_bad_budgets_are_refused(budget, seconds, message):
    with pytest.raises(ConfigError, match=message):
        toy_study().optimize(budget, seconds)


def test_time_budget_stops_the_study():
    start = time.monotonic()
    study = toy_study(evaluator=CountingEvaluator(TOY, delay=0.02)).optimize(seconds=0.3)
    elapsed = time.monotonic() - start
    assert study.stop_reason == "time" and elapsed >= 0.3
    # each trial sleeps >= 0.02 s: however loaded the machine, at least one trial ran and no more than the
    # time allows (the space has 243 architectures, so the time, not the space, ended it)
    assert 1 <= len(study.trials) <= elapsed / 0.02 + 1


KILLED_RUN = textwrap.dedent("""
    import sys, time
    from hybrid_nas.engine.storages.base import open_study
    from test_study import toy_study, CountingEvaluator, TOY

    class StallsAfter30(CountingEvaluator):
        # CountingEvaluator(TOY, delay=0.02) (same metrics, same meta) whose 31st evaluation hangs: the kill
        # always lands mid-run, however late the test's poll is scheduled
        calls = 0

        def evaluate(self, arch, seed):
            StallsAfter30.calls += 1
            if StallsAfter30.calls > 30:
                time.sleep(600)
            return super().evaluate(arch, seed)

    toy_study(open_study(sys.argv[1]), strategy="evolution", evaluator=StallsAfter30(TOY, delay=0.02)).optimize(120)
""")


def test_sigkill_mid_run_then_resume_records_every_trial_once(tmp_path):
    path = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(path)], env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if (path / "storage.json").exists() and len([t for t in open_study(path).trials() if t.ok]) >= 30:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = open_study(path).trials()
    assert 30 <= len(before) < 120  # killed mid-run
    finished = [t for t in before if t.state != TrialState.RUNNING]

    after = (
        toy_study(open_study(path), strategy="evolution", evaluator=CountingEvaluator(TOY, delay=0.02), resume=True)
        .optimize(120)
        .trials
    )
    assert [t.number for t in after] == list(range(120))
    assert all(t.ok for t in after)
    assert len({t.arch for t in after}) == 120  # nothing evaluated twice
    assert after[: len(finished)] == finished  # finished trials kept exactly


def test_a_worker_lost_once_is_retried_under_the_same_number_and_seed(tmp_path):
    ev = CountingEvaluator(TOY, die_once=str(tmp_path / "died"))
    study = toy_study(open_study(tmp_path / "run"), evaluator=ev, workers=2).optimize(20)
    trials = study.trials
    assert (tmp_path / "died").exists() and study.stop_reason == "budget"
    assert [t.number for t in trials] == list(range(20)) and all(t.ok and t.error is None for t in trials)
    retried = [n for n, why in study.lost.items() if why == ["worker process died"]]
    assert retried and all(trials[n].seed == trial_seed(0, n) for n in retried)


def test_a_worker_that_always_dies_stops_the_study_and_resume_runs_the_trial(tmp_path):
    path = tmp_path / "run"
    study = toy_study(
        open_study(path), evaluator=CountingEvaluator(TOY, die_on={"d0": "c", "d1": "c"}), workers=2
    ).optimize(40)
    trials = study.trials
    assert not any(t.state == TrialState.FAILED for t in trials)  # a death is no verdict on the architecture
    # the killer, any trial in flight beside it, and any trial queued for a pool that broke before it started
    stuck = [t for t in trials if t.state == TrialState.RUNNING]
    killer = max(stuck, key=lambda t: len(study.lost.get(t.number, [])))
    assert (killer.arch["d0"], killer.arch["d1"]) == ("c", "c") and len(study.lost[killer.number]) == 3  # 1 + 2 retries
    assert all(t.error == ("worker process died" if t.number in study.lost else None) for t in stuck)
    assert f"trial {killer.number} was lost 3 times" in study.stop_reason and len(trials) < 40

    resumed = toy_study(open_study(path), evaluator=CountingEvaluator(TOY), workers=2, resume=True).optimize(40)
    again = {t.number: t for t in resumed.trials}
    assert len(again) == 40 and all(t.ok for t in again.values())
    assert all(again[t.number].arch == t.arch and again[t.number].seed == t.seed for t in stuck)


def test_setup_runs_once_per_worker_process(tmp_path):
    log = tmp_path / "setup.log"
    inline = toy_study(evaluator=SetupEvaluator(TOY, log)).optimize(10)
    assert all(t.ok for t in inline.trials) and len(log.read_text().split()) == 1
    log.unlink()
    pooled = toy_study(evaluator=SetupEvaluator(TOY, log), workers=2).optimize(16)
    assert all(t.ok for t in pooled.trials)
    pids = log.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids) and str(os.getpid()) not in pids


def test_a_failing_setup_is_not_a_failed_architecture():
    study = toy_study(evaluator=SetupEvaluator(TOY, "unused", broken=True)).optimize(10)
    (trial,) = study.trials
    assert trial.state == TrialState.RUNNING and trial.error == "OSError: weights file is unreadable"
    assert "was lost 3 times (OSError: weights file is unreadable)" in study.stop_reason


def test_dask_cluster_runs_every_trial_once():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        study = toy_study(dask_scheduler=cluster.scheduler_address).optimize(30)
    trials = study.trials
    assert [t.number for t in trials] == list(range(30))
    assert all(t.ok for t in trials) and len({t.arch for t in trials}) == 30


def test_architectures_that_build_the_same_thing_count_once():
    from hybrid_nas.quantum.space import CircuitSpace

    space = CircuitSpace(n_qubits=2, max_layers=2, scope="zz_ry")  # 128 raw architectures, 72 distinct circuits
    ev = CountingEvaluator(space)
    study = Study(
        space, ev, make_objective("weighted", **REWARD), make_strategy("random", space, seed=0), max_repeat_streak=300
    ).optimize(200)
    circuits = [str(space.build(t.arch).ops) for t in study.trials]
    assert len(circuits) == len(set(circuits))  # each circuit evaluated once
    # ... and every circuit the space can build was reached: count them by brute force
    every = {
        str(space.build(space.from_indices(np.unravel_index(i, [len(d.options) for d in space.decisions]))).ops)
        for i in range(space.size())
    }
    assert set(circuits) == every
