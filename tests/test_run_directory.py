"""A run directory has one owner, a refused command leaves it as it was, a run that failed says so, and a run
that cannot be written can still be read."""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hybrid_nas as hn
from hybrid_nas import Evaluator
from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError, RunFailed
from hybrid_nas.engine.jobs import SearchJob, StudySpec
from hybrid_nas.engine.objectives import make_objective
from hybrid_nas.engine.ownership import LOCK_FILE, RunLock
from hybrid_nas.engine.registry import _COMMANDS, Command, register
from hybrid_nas.engine.storages.base import open_study
from hybrid_nas.nb201.command import NB201Settings
from hybrid_nas.nb201.table import NB201Space
from hybrid_nas.quantum.depth import write_depth_sweep
from test_optuna import get_json

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def nb201(out, *args) -> list[str]:
    return ["bench", "nb201", "--out", str(out), "--no-progress", *args]


# one owner --------------------------------------------------------------------------------------------------


def test_a_held_run_directory_refuses_a_second_process_and_names_the_first(tmp_path, capsys):
    out = tmp_path / "R"
    assert main(nb201(out, "--budget", "10")) == 0
    before = snapshot(out)
    lock = RunLock(out, "bench nb201", shared=False).acquire()  # a flock is per open file: as another process
    try:
        for extra in (["--resume"], [], ["--resume", "--storage", str(tmp_path / "j.journal")]):
            assert main(nb201(out, "--budget", "20", *extra)) == 2
            err = capsys.readouterr().err
            assert f"is in use by `hybrid-nas bench nb201` (pid {os.getpid()} on " in err and err.count("\n") == 1
    finally:
        lock.release()
    assert snapshot(out) == {**before, LOCK_FILE: snapshot(out)[LOCK_FILE]}  # nothing else touched
    assert main(nb201(out, "--budget", "20", "--resume")) == 0  # released: the resume runs


def test_drivers_of_one_shared_storage_share_the_lock_and_exclude_a_run_of_its_own(tmp_path):
    first = RunLock(tmp_path, "bench nb201", shared=True).acquire()
    second = RunLock(tmp_path, "bench nb201", shared=True).acquire()  # joins
    with pytest.raises(ConfigError, match="only when every one of them is started with the same --storage"):
        RunLock(tmp_path, "bench nb201", shared=False).acquire()  # the holders say how to join them
    first.release()
    second.release()
    own = RunLock(tmp_path, "bench nb201", shared=False).acquire()
    with pytest.raises(ConfigError, match="wait for it to finish"):
        RunLock(tmp_path, "bench nb201", shared=True).acquire()
    own.release()


def test_a_killed_owner_leaves_no_lock_behind(tmp_path, capsys):
    out = tmp_path / "R"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from hybrid_nas.engine.ownership import RunLock; "
            "Path(sys.argv[1]).mkdir(); RunLock(Path(sys.argv[1]), 'quantum').acquire(); print(flush=True); "
            "time.sleep(600)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    holder.stdout.readline()  # the lock is held
    assert main(nb201(out, "--budget", "5", "--resume")) == 2
    assert f"pid {holder.pid}" in capsys.readouterr().err
    holder.kill()
    holder.wait()
    assert main(nb201(out, "--budget", "5", "--resume")) == 0


@pytest.mark.slow
def test_two_processes_on_one_out_the_second_is_refused_and_the_first_finishes_every_trial_once(tmp_path, capsys):
    out, budget = tmp_path / "R", 10
    args = ["quantum", "--task", "moons", "--noise", "none", "--epochs", "20", "--budget", str(budget)]
    first = subprocess.Popen(
        [sys.executable, "-m", "hybrid_nas.cli", *args, "--out", str(out), "--no-progress"],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (out / "storage.json").is_file() and time.time() < deadline:  # searching, under the lock
            time.sleep(0.1)
        assert first.poll() is None, "the first run ended before the second could try"
        for extra in (["--resume"], []):
            assert main([*args, "--out", str(out), "--no-progress", *extra]) == 2
            err = capsys.readouterr().err
            assert f"is in use by `hybrid-nas quantum` (pid {first.pid} on" in err
        assert first.wait(timeout=300) == 0, first.communicate()[1]
    finally:
        first.kill()
        first.wait()
    store = open_study(out)
    try:
        trials = store.trials()
    finally:
        store.close()
    assert [t.number for t in trials] == list(range(budget)) and all(t.ok for t in trials)
    assert json.loads((out / "best.json").read_text())["trials"] == budget


# a refused command leaves the directory as it found it --------------------------------------------------------


def test_a_refused_resume_leaves_config_yaml_as_it_was(tmp_path, capsys):
    out = tmp_path / "R"
    assert main(nb201(out, "--budget", "20")) == 0
    before = snapshot(out)
    # NB201's device is the latency column, not where the work runs: no resume may change it
    assert main(nb201(out, "--budget", "25", "--device", "pixel3", "--resume")) == 2
    assert "device: 'titan_rtx_256' there vs 'pixel3' now" in capsys.readouterr().err
    assert snapshot(out) == before
    # a refusal that comes once the directory is claimed (a study pointer gone corrupt) restores it too
    pointer = (out / "storage.json").read_text()
    (out / "storage.json").write_text("{")
    assert main(nb201(out, "--budget", "25", "--resume")) == 2
    assert "storage.json is corrupt" in capsys.readouterr().err
    assert (out / "config.yaml").read_bytes() == before["config.yaml"]
    (out / "storage.json").write_text(pointer)
    assert main(nb201(out, "--config", str(out / "config.yaml"), "--budget", "25", "--resume")) == 0
    assert json.loads((out / "best.json").read_text())["trials"] == 25


@pytest.mark.parametrize(
    "bad",
    [
        ["--strategy-options", "{populaton: 5}"],
        ["--T", "0"],
        ["--storage", "foo://bar"],
        ["--storage", "missing/x.journal"],
    ],
)
def test_a_refused_command_does_not_block_its_corrected_rerun(bad, tmp_path, capsys):
    out = tmp_path / "R"
    assert main(nb201(out, "--budget", "5", *bad)) == 2
    assert not out.exists()
    assert main(nb201(out, "--budget", "5")) == 0


class Crashing(Evaluator):
    name = "crashing"

    def evaluate(self, arch, seed):
        raise RuntimeError("simulated training crash")


class FailingJob(SearchJob):
    """A search whose every trial fails, or (``fail_prepare``) whose preparation refuses the settings."""

    fail_prepare = False

    def __init__(self, settings, command):
        super().__init__(settings, command)
        self.space = NB201Space()

    def prepare(self, run):
        if self.fail_prepare:
            raise ConfigError("refused by the preparation")

    def studies(self, run):
        yield StudySpec("", self.space, Crashing(), make_objective("weighted", weights={"accuracy": 1.0}))

    def summary(self, run):
        return run.listing("best.json", "best.qasm", "summary.md")


@pytest.fixture
def crashing_command():
    command = register(Command(("crash-test",), "every trial fails", NB201Settings, FailingJob))
    yield command
    del _COMMANDS[command.path]


def test_a_run_whose_every_trial_failed_exits_non_zero_with_its_most_common_failure(crashing_command, tmp_path, capsys):
    out = tmp_path / "R"
    assert main(["crash-test", "--budget", "3", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "every trial of" in err and "3 failed, 3 of them with RuntimeError: simulated training crash" in err
    assert len(hn.load(out).trials()) == 3 and (out / "summary.md").is_file()  # kept, to be read
    with pytest.raises(RunFailed):
        FailingJob(NB201Settings.resolve(budget=4), "crash-test").execute(out, resume=True, progress=False)


def test_a_refusal_after_the_claim_leaves_no_directory(crashing_command, tmp_path, monkeypatch):
    monkeypatch.setattr(FailingJob, "fail_prepare", True)
    with pytest.raises(ConfigError, match="refused by the preparation"):
        FailingJob(NB201Settings.resolve(budget=2), "crash-test").execute(tmp_path / "R", resume=False, progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()  # a directory that was there stays, empty
    with pytest.raises(ConfigError):
        FailingJob(NB201Settings.resolve(budget=2), "crash-test").execute(
            tmp_path / "empty", resume=False, progress=False
        )
    assert list((tmp_path / "empty").iterdir()) == []


def test_the_summary_names_no_file_that_was_not_written(tmp_path, capsys):
    out = tmp_path / "R"
    # no circuit has at most 1.01 parameters: no trial qualifies, so no best circuit is written
    args = ["--task", "moons", "--noise", "none", "--budget", "2", "--epochs", "1", "--objective", "constrained"]
    assert main(["quantum", *args, "--cost", "params", "--T", "1.01", "--out", str(out), "--no-progress"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert not (out / "best.qasm").exists() and "best.qasm" not in last and "best_weights" not in last
    assert last == f"run directory: {out}  (optuna.journal, best.json, summary.md, report/)"


def test_depth_sweep_marks_a_depth_without_a_successful_trial(tmp_path):
    rows = [
        {"layers": 1, "circuit": "rx | ry", "trial": 0, "accuracy": 0.8, "params": 4},
        {"layers": 2, "failed": "3 failed, 3 of them with RuntimeError: out of memory"},
    ]
    table = write_depth_sweep(rows, tmp_path)
    assert "| 2 | - | - | no successful trial: 3 failed, 3 of them with RuntimeError: out of memory |" in table
    assert json.loads((tmp_path / "depth_sweep.json").read_text())[1]["failed"].startswith("3 failed")
    assert (tmp_path / "depth_sweep.png").stat().st_size > 0


# a run that cannot be written can be read ---------------------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` as a read-only file system (root ignores permission bits) or, for another user, read-only bits."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True).returncode == 0
    if mounted:
        mounted = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True).returncode == 0
        if not mounted:
            subprocess.run(["umount", str(path)])
    if not mounted:
        pytest.skip("as root, a read-only run needs a read-only bind mount, which this machine refuses")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_run_can_be_loaded_reported_elsewhere_and_served(tmp_path, capsys):
    run = hn.nb201.search(out=tmp_path / "R", budget=12, progress=False)
    best = run.best
    before = snapshot(run.dir)
    with read_only(run.dir):
        with pytest.raises(OSError):
            (run.dir / "probe").write_text("x")
        loaded = hn.load(run.dir)
        assert loaded.best == best and len(loaded.trials()) == 12
        assert main(["report", str(run.dir)]) == 2
        assert "give --out DIR for the report" in capsys.readouterr().err
        assert main(["report", str(run.dir), "--out", str(tmp_path / "copy")]) == 0
        assert "| trial | architecture |" in (tmp_path / "copy" / "summary.md").read_text()
        assert (tmp_path / "copy" / "report" / "best_so_far.png").stat().st_size > 0
        board = hn.dashboard(run.dir, port=0)
        try:
            (study,) = get_json(board.url + "api/studies")["study_summaries"]
            assert len(get_json(f"{board.url}api/studies/{study['study_id']}")["trials"]) == 12
        finally:
            board.stop()
    assert snapshot(run.dir) == before
