"""Optuna storages as trial stores: the run's own journal, --storage URLs shared by drivers, the journal's
flock lock, and `hybrid-nas dashboard`."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

import hybrid_nas as hn
from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError, StorageError
from hybrid_nas.engine.storages.base import JOURNAL, open_study
from hybrid_nas.engine.storages.journal import FlockLock
from hybrid_nas.engine.storages.optuna_store import OptunaStore, open_storage
from hybrid_nas.engine.trial import TrialState
from test_study import TOY, CountingEvaluator, toy_study

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}


def journal_study(path, name):
    return optuna.load_study(study_name=name, storage=open_storage(str(path)))


def test_a_study_in_an_optuna_storage_reads_back_exactly_and_maps_onto_optuna(tmp_path):
    store = OptunaStore(f"sqlite:///{tmp_path / 'db.sqlite'}", "toy")
    ev = CountingEvaluator(TOY, fail_on={"d0": "b"})
    study = toy_study(store, evaluator=ev).optimize(30)
    trials = study.trials
    assert [t.number for t in trials] == list(range(30)) and len({t.arch for t in trials}) == 30
    failed = [t for t in trials if t.state == TrialState.FAILED]
    assert failed and all("RuntimeError" in t.error for t in failed)  # the whole traceback, read back

    reread = toy_study(OptunaStore(f"sqlite:///{tmp_path / 'db.sqlite'}", "toy"), resume=True)
    assert reread.trials == trials and reread.meta == store.get_meta()  # lossless, meta included

    view = optuna.load_study(study_name="toy", storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert view.metric_names == ["reward"] and len(view.directions) == 1
    for ours, theirs in zip(trials, view.trials):
        assert theirs.number == ours.number and theirs.params == dict(ours.arch)
        assert theirs.distributions["d1"].choices == ("a", "b", "c")
        assert theirs.user_attrs["seed"] == ours.seed and theirs.user_attrs["key"] == ours.arch.key
        if ours.ok:
            assert theirs.values == [ours.reward] and theirs.user_attrs["accuracy"] == ours.metrics["accuracy"]
        else:
            assert theirs.state == optuna.trial.TrialState.FAIL and theirs.user_attrs["error"] == ours.error_line
    assert view.user_attrs["hash"] == study.meta["hash"] and view.user_attrs["space"]["name"] == "toy"


def test_a_pareto_study_stores_quality_and_cost_with_their_directions(tmp_path):
    run = hn.nb201.search(
        out=tmp_path / "run",
        budget=20,
        objective="pareto",
        strategy="nsga2",
        progress=False,
        storage=str(tmp_path / "team.journal"),
    )
    assert json.loads((run.dir / "storage.json").read_text()) == {
        "storage": str(tmp_path / "team.journal"),
        "study": "run",
    }
    assert not (run.dir / JOURNAL).exists()  # the study lives in the storage named, only there
    study = journal_study(tmp_path / "team.journal", "run")
    assert study.metric_names == ["accuracy", "latency_ms"]
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    frame = run.trials()  # the run reads its trials from the storage
    assert len(frame) == 20 == len(study.trials)
    assert all(t.values == [row.accuracy, row.latency_ms] for t, row in zip(study.trials, frame.itertuples()))


def test_resume_in_an_optuna_storage_goes_by_the_configuration(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    hn.nb201.search(out=tmp_path / "run", budget=10, storage=url, progress=False)
    run = hn.nb201.search(out=tmp_path / "run", budget=25, storage=url, resume=True, progress=False)
    trials = run.view().trials
    assert [t.number for t in trials] == list(range(25)) and len({t.arch for t in trials}) == 25
    with pytest.raises(ConfigError, match="seed"):
        hn.nb201.search(out=tmp_path / "run", budget=30, storage=url, seed=1, resume=True, progress=False)


def test_a_run_keeps_its_study_in_its_own_journal_which_optuna_reads(tmp_path):
    run = hn.nb201.search(out=tmp_path / "run", budget=15, progress=False)
    assert sorted(p.name for p in run.dir.iterdir() if p.suffix in (".json", ".journal", ".sqlite")) == [
        "best.json",
        "optuna.journal",
        "run.json",
        "storage.json",
    ]
    assert json.loads((run.dir / "storage.json").read_text()) == {"storage": None, "study": "run"}
    ours = run.view().trials
    theirs = journal_study(run.dir / JOURNAL, "run").trials
    assert [t.number for t in theirs] == [t.user_attrs["number"] for t in theirs] == [t.number for t in ours]
    assert [t.params for t in theirs] == [dict(t.arch) for t in ours]
    assert [t.values for t in theirs] == [[t.reward] for t in ours]
    store = open_study(run.dir)
    assert not store.shared  # one driver per run directory: its trial sequence is the seed's alone
    store.close()


def test_a_moved_run_finds_its_journal_and_study_name_again(tmp_path):
    hn.nb201.search(out=tmp_path / "a", budget=10, progress=False)
    (tmp_path / "a").rename(tmp_path / "b")
    run = hn.nb201.search(out=tmp_path / "b", budget=20, resume=True, progress=False)
    assert [t.number for t in run.view().trials] == list(range(20))
    assert [s.study_name for s in open_storage(str(tmp_path / "b" / JOURNAL)).get_all_studies()] == ["a"]


def test_the_run_journal_resumes_a_study_where_it_stopped_with_the_same_sequence(tmp_path):
    """Ten trials, then a resume to 30: the same trials as one run of 30 would give after its first ten
    (the resumed stream is the seed's and the stored count's alone, not the process's or the clock's)."""
    runs = []
    for attempt in range(2):
        hn.nb201.search(out=tmp_path / f"r{attempt}", budget=10, progress=False)
        runs.append(hn.nb201.search(out=tmp_path / f"r{attempt}", budget=30, resume=True, progress=False))
    first, second = ([(t.number, t.arch, t.seed, t.reward) for t in r.view().trials] for r in runs)
    assert first == second and [n for n, *_ in first] == list(range(30))


def test_a_study_store_that_does_not_exist_or_is_corrupt_fails_in_one_line(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "trials.sqlite").write_bytes(b"SQLite format 3\x00")
    with pytest.raises(StorageError, match="older hybrid-nas"):
        open_study(tmp_path / "old")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "storage.json").write_text("{")
    with pytest.raises(StorageError, match="storage.json is corrupt"):
        open_study(tmp_path / "bad")
    open_study(tmp_path / "mine").close()
    with pytest.raises(StorageError, match="lives in the run journal, not"):
        open_study(tmp_path / "mine", str(tmp_path / "other.journal"))


RUNNING_STUDY = textwrap.dedent("""
    import sys
    from hybrid_nas.engine.storages.base import open_study
    from test_study import toy_study, CountingEvaluator, TOY
    toy_study(open_study(sys.argv[1]), evaluator=CountingEvaluator(TOY, delay=0.1)).optimize(30)
""")


def test_a_study_running_in_another_process_shows_up_in_its_journal_as_its_trials_finish(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", RUNNING_STUDY, str(tmp_path)], env=ENV)
    name, seen = tmp_path.name, []
    try:
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            if (tmp_path / JOURNAL).is_file():
                with contextlib.suppress(KeyError):  # the study is not created yet
                    seen.append(sum(t.state.is_finished() for t in journal_study(tmp_path / JOURNAL, name).trials))
            time.sleep(0.1)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0
    during = [n for n in seen if 0 < n < 30]
    assert len(set(during)) >= 3 and during == sorted(during)  # watched growing, trial by trial
    assert len(journal_study(tmp_path / JOURNAL, name).trials) == 30


STALLING = """
    import time
    from test_study import CountingEvaluator

    class Stalls(CountingEvaluator):
        # CountingEvaluator (same metrics, same meta) whose evaluations after the first `after` hang: the kill
        # always lands mid-run, however late the test's poll is scheduled
        calls, after = 0, None

        def evaluate(self, arch, seed):
            Stalls.calls += 1
            if Stalls.after is not None and Stalls.calls > Stalls.after:
                time.sleep(600)
            return super().evaluate(arch, seed)
"""
KILLED_STUDY = textwrap.dedent(STALLING) + textwrap.dedent("""
    import sys
    from hybrid_nas.engine.storages.base import open_study
    from test_study import toy_study, TOY
    resume = len(sys.argv) > 2
    Stalls.after = None if resume else 30
    toy_study(open_study(sys.argv[1]), strategy="evolution", evaluator=Stalls(TOY, delay=0.02),
              resume=resume).optimize(120)
""")


def test_a_killed_study_in_the_run_journal_resumes_with_every_trial_once(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_STUDY, str(tmp_path)], env=ENV)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if (tmp_path / "storage.json").is_file() and len(open_study(tmp_path).trials()) >= 30:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = open_study(tmp_path).trials()
    assert 30 <= len(before) < 120
    resumed = subprocess.run([sys.executable, "-c", KILLED_STUDY, str(tmp_path), "--resume"], env=ENV, timeout=120)
    assert resumed.returncode == 0
    after = open_study(tmp_path).trials()
    assert [t.number for t in after] == list(range(120)) and all(t.ok for t in after)
    assert [(t.arch, t.seed) for t in after[: len(before)]] == [(t.arch, t.seed) for t in before]  # kept
    assert len(optuna.load_study(study_name=tmp_path.name, storage=open_storage(str(tmp_path / JOURNAL))).trials) == 120


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from hybrid_nas.engine.storages.journal import FlockLock
    FlockLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(600)
""")


def test_a_journal_lock_dies_with_the_process_that_held_it(tmp_path):
    path = tmp_path / "x.journal"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert not _acquired_within(path, 0.5)  # held: another process waits
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert _acquired_within(path, 15)  # the kernel dropped it with its holder (Optuna's lock files: 30 s)
    finally:
        holder.kill() if holder.poll() is None else None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.journal"]


def _acquired_within(path, seconds: float) -> bool:
    """Whether another process acquires the lock on ``path`` within ``seconds``."""
    probe = "import sys; from hybrid_nas.engine.storages.journal import FlockLock; FlockLock(sys.argv[1]).acquire()"
    try:
        subprocess.run([sys.executable, "-c", probe, str(path)], env=ENV, timeout=seconds + 5, check=True)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_the_journal_lock_keeps_threads_of_one_process_apart(tmp_path):
    import threading

    lock, inside, overlaps = FlockLock(tmp_path / "x.journal"), [], []

    def work():
        for _ in range(200):
            lock.acquire()
            inside.append(1)
            overlaps.append(len(inside) > 1)
            inside.pop()
            lock.release()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlaps) == 800 and not any(overlaps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 60):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_the_dashboard_command_serves_a_finished_run_through_optuna_dashboards_api(tmp_path):
    run = hn.nb201.search(out=tmp_path / "run", budget=12, progress=False)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybrid_nas.cli", "dashboard", str(run.dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        studies = get_json(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["run"]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}")
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out
    ours = run.view().trials
    assert [t["number"] for t in detail["trials"]] == [t.number for t in ours]
    assert [{p["name"]: p["param_external_value"] for p in t["params"]} for t in detail["trials"]] == [
        dict(t.arch) for t in ours
    ]
    assert [t["values"][0] for t in detail["trials"]] == pytest.approx([t.reward for t in ours])
    names = {a["filename"] for a in detail["artifacts"]}
    assert {"pareto.png", "summary.md", f"trial {run.best['trial']} best.json"} <= names


def test_the_dashboard_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path)]) == 2
    assert "neither a run directory" in capsys.readouterr().err


DRIVER = textwrap.dedent(STALLING) + textwrap.dedent("""
    import sys
    from hybrid_nas import SearchSpace, Study, make_objective, make_strategy
    from hybrid_nas.engine.storages.optuna_store import OptunaStore
    from hybrid_nas.engine.space import Decision
    space = SearchSpace([Decision(f"d{i}", ("a", "b", "c", "d")) for i in range(6)], name="wide")
    Stalls.after = int(sys.argv[3]) if len(sys.argv) > 3 else None  # the driver to be killed hangs mid-trial
    # a loaded CPU can starve the beating thread for a second or two, not 5 s
    store = OptunaStore(sys.argv[1], "shared", heartbeat=0.5, grace=5.0)
    Study(space, Stalls(space, delay=0.1), make_objective("weighted", weights={"accuracy": 1.0}),
          make_strategy("random", space, seed=0), store=store, resume=True).optimize(int(sys.argv[2]))
""")


def two_drivers_one_killed(url: str, budget: int = 40):
    """Two drivers on one study; one is killed with SIGKILL mid-run; the other finishes the study."""
    drivers = [
        subprocess.Popen([sys.executable, "-c", DRIVER, url, str(budget), *extra], env=ENV) for extra in (["5"], [])
    ]
    try:
        deadline = time.time() + 120
        reader = OptunaStore(url, "shared")
        while time.time() < deadline:
            reader.study_id = reader._find()
            if sum(t.ok for t in reader.trials()) >= 10:
                break
            time.sleep(0.1)
        drivers[0].send_signal(signal.SIGKILL)
        drivers[1].wait(timeout=180)
    finally:
        for d in drivers:
            d.kill() if d.poll() is None else None
            d.wait()
    assert drivers[0].returncode == -signal.SIGKILL and drivers[1].returncode == 0
    reader = OptunaStore(url, "shared")
    trials = reader.trials()
    assert [t.number for t in trials] == list(range(len(trials))) and budget <= len(trials) <= budget + 1
    assert all(t.ok for t in trials)  # the killed driver's trial in flight was taken over, nothing lost
    assert len({t.arch for t in trials}) == len(trials)  # and none evaluated twice
    frozen = optuna.load_study(study_name="shared", storage=open_storage(url)).trials
    assert [f.number for f in frozen] == [t.number for t in trials]  # each recorded once


def test_two_drivers_share_a_journal_study_and_a_killed_one_loses_nothing(tmp_path):
    two_drivers_one_killed(str(tmp_path / "shared.journal"))


def pg_ctl() -> str | None:
    found = shutil.which("pg_ctl") or sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return str(found[-1] if isinstance(found, list) and found else found) if found else None


@pytest.fixture
def postgres():
    """A throw-away PostgreSQL server on 127.0.0.1 (Debian's package), its data in a temporary directory."""
    ctl = pg_ctl()
    if ctl is None:
        pytest.skip("PostgreSQL is not installed (pg_ctl not found): apt-get install postgresql")
    pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install 'psycopg[binary]'")
    bin_dir, port = Path(ctl).resolve().parent, free_port()  # initdb and createdb lie beside the real pg_ctl
    data = Path(tempfile.mkdtemp(prefix="hn-pg-"))
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run(as_user + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "hn", "--auth=trust")
        run(
            ctl,
            "-D",
            str(data / "db"),
            "-l",
            str(data / "log"),
            "-w",
            "start",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
        )
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "hn", "study")
        yield f"postgresql://hn@127.0.0.1:{port}/study"
    finally:
        subprocess.run(as_user + [ctl, "-D", str(data / "db"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_two_drivers_share_a_postgresql_study_and_a_killed_one_loses_nothing(postgres):
    two_drivers_one_killed(postgres)


def test_a_notebook_serves_the_dashboard_from_a_background_thread(tmp_path):
    run = hn.nb201.search(out=tmp_path / "run", budget=8, progress=False)
    board = hn.dashboard(run.dir, port=0)  # any free port
    try:
        (study,) = get_json(board.url + "api/studies")["study_summaries"]
        assert len(get_json(f"{board.url}api/studies/{study['study_id']}")["trials"]) == 8
    finally:
        board.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(board.url + "api/studies", timeout=2)
