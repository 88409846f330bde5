"""``hybrid-nas hpo --tuner nni:NAME``: a real NNI experiment (NNI's manager, its tuner, trial processes) whose
trials land in the run's study; the tuner names and their one-line refusals; the failed trials of dead trial
processes."""

import json
import math
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from helpers import LearningRateEvaluator
from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.jobs import StudySpec
from hybrid_nas.engine.objectives import make_objective
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.trial import Trial, TrialState
from hybrid_nas.tuning.nni_experiment import TUNERS, _record_lost, nni_study, nni_tuner, require_nni
from hybrid_nas.tuning.searchspace import HPOSpace
from hybrid_nas.tuning.trial import HPOTrial

try:
    import nni  # noqa: F401 - only whether it imports
except ImportError:
    HAVE_NNI = False
else:
    HAVE_NNI = True
needs_nni = pytest.mark.skipif(not HAVE_NNI, reason="NNI is not installed (pip install 'hybrid-nas[nni]')")


def test_tuner_names_resolve_to_nnis_builtin_tuners_or_one_line_why_not():
    assert nni_tuner("smac") is None
    assert [nni_tuner(f"nni:{name}") for name in TUNERS] == list(TUNERS)
    with pytest.raises(ConfigError, match="smac4nni.*--tuner smac \\(the default\\) with --method"):
        nni_tuner("nni:SMAC")
    with pytest.raises(ConfigError, match="--method multi-fidelity"):
        nni_tuner("nni:Hyperband")
    with pytest.raises(ConfigError, match="unknown NNI tuner 'Foo'; the built-in ones that run here: TPE, Random"):
        nni_tuner("nni:Foo")
    with pytest.raises(ConfigError, match="did you mean 'TPE'"):
        nni_tuner("nni:tpe")
    with pytest.raises(ConfigError, match="expected smac or nni:NAME"):
        nni_tuner("hyperopt")


def test_an_nni_tuner_without_nni_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nni", None)  # as if NNI were not installed: importing it fails
    with pytest.raises(ConfigError, match=r"pip install 'hybrid-nas\[nni\]'"):
        require_nni("nni:TPE")
    assert main(["hpo", "quantum", "--tuner", "nni:TPE", "--out", str(tmp_path / "R")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid-nas: error: ") and err.count("\n") == 1 and "pip install 'hybrid-nas[nni]'" in err
    assert list(tmp_path.iterdir()) == []


def _study(tmp_path):
    space = HPOSpace({"lr": {"_type": "loguniform", "_value": [0.001, 0.1]}})
    objective = make_objective("weighted", quality="accuracy", cost="train_seconds", weights={"accuracy": 1.0})
    spec = StudySpec("", space, HPOTrial(LearningRateEvaluator(), space), objective)
    return nni_study(tmp_path, spec, SimpleNamespace(seed=0, tuner="nni:TPE"), resume=False)


def test_the_trials_of_dead_trial_processes_are_recorded_as_failed_from_nnis_account(tmp_path):
    study = _study(tmp_path)
    ok = study.run_given(Architecture({"lr": 0.01}))  # a trial process that finished
    store = study.store
    # one that died mid-evaluation (its trial stays RUNNING), one that died before it recorded anything
    running = store.create(
        Trial(number=store.next_number(), arch=Architecture({"lr": 0.02}), state=TrialState.RUNNING, seed=5)
    )
    store.put(running)
    logs = {}
    for job in ("A", "B", "C"):
        logs[job] = tmp_path / "nni" / "x" / "trials" / job
        logs[job].mkdir(parents=True)
    (logs["B"] / "trial.stderr").write_text("Traceback ...\nMemoryError: out of memory\n")
    (logs["C"] / "trial.stderr").write_text("Killed\n")
    jobs = [
        {"sequence": 0, "status": "SUCCEEDED", "parameters": {"lr": 0.01}, "log": str(logs["A"])},
        {"sequence": 1, "status": "FAILED", "parameters": {"lr": 0.02}, "log": str(logs["B"])},
        {"sequence": 2, "status": "FAILED", "parameters": {"lr": 0.03}, "log": str(logs["C"])},
    ]
    _record_lost(store, {"jobs": jobs}, 0, tmp_path, seed=0)
    trials = store.trials()
    store.close()
    assert [t.number for t in trials] == [0, 1, 2] and trials[0] == ok and ok.ok
    died, never = trials[1], trials[2]
    assert died.state == never.state == TrialState.FAILED and dict(never.arch) == {"lr": 0.03}
    assert died.error.startswith("the NNI trial process (FAILED) died during the evaluation: MemoryError")
    assert "its output: nni/x/trials/B" in died.error
    assert never.error.startswith("the NNI trial process (FAILED) ended before it recorded its trial: Killed")
    assert "nni/x/trials/C" in never.error


FAST_SPACE = {
    "lr": {"_type": "loguniform", "_value": [0.01, 0.5]},
    "epochs": {"_type": "randint", "_value": [1, 4]},
    "n_train": {"_type": "choice", "_value": [64]},
}


def _nni_dbs(out: Path) -> list[Path]:
    """The database of each NNI experiment of the run (not again through NNI's ``_latest`` link)."""
    return [p for p in (out / "nni").glob("*/db/nni.sqlite") if p.parts[-3] != "_latest"]


def _nni_db_results(out: Path) -> dict[int, tuple[dict, dict]]:
    """NNI's own record, from its database in the run directory: study trial number -> (the parameters NNI
    handed out, the final result NNI received for them), joined by NNI's parameter id."""
    [db] = _nni_dbs(out)
    with sqlite3.connect(db) as con:
        params = {}
        for (data,) in con.execute("SELECT data FROM TrialJobEvent WHERE data IS NOT NULL"):
            doc = json.loads(data)
            params[doc["parameter_id"]] = doc["parameters"]
        finals = [
            (int(pid), json.loads(json.loads(data)))
            for pid, data in con.execute("SELECT parameterId, data FROM MetricData WHERE type = 'FINAL'")
        ]
    return {int(value["trial"]): (params[pid], value) for pid, value in finals}


def _is_trial(cmdline: list[str]) -> bool:
    """A trial's Python process (not the shell NNI starts it in)."""
    return "-m" in cmdline[:-1] and cmdline[cmdline.index("-m") + 1] == "hybrid_nas.tuning.nni_trial"


def _leftovers(out: Path) -> list[str]:
    """Processes still running that belong to the run (NNI's manager, its tuner, trials)."""
    left = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if str(out) in cmd and p.pid != psutil.Process().pid:
            left.append(cmd)
    return left


@needs_nni
@pytest.mark.slow
def test_an_nni_experiment_runs_its_trials_into_the_runs_study(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths in the settings resolve in the trial processes as here
    Path("space.json").write_text(json.dumps(FAST_SPACE))
    Path("fast.yaml").write_text("space: space.json\nrepeats: 1\nseeds: 1\n")  # 1-3 epochs on 64 samples
    out = tmp_path / "R"
    argv = ["hpo", "quantum", "--config", "fast.yaml", "--tuner", "nni:TPE", "--trials", "10", "--workers", "2"]
    assert main([*argv, "--out", "R", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "hpo: 10 trials (0 failed)" in printed and "with NNI's TPE" in printed

    trials = Run(out).view().trials
    assert [t.number for t in trials] == list(range(10)) and all(t.ok for t in trials)
    space = HPOSpace(FAST_SPACE)
    for t in trials:
        assert space.validate(t.arch) == t.arch  # inside the search space
        assert 0.01 <= t.arch["lr"] <= 0.5 and t.arch["epochs"] in (1, 2, 3) and t.arch["n_train"] == 64
        assert math.isfinite(t.metrics["accuracy"]) and t.reward == t.metrics["accuracy"]
    assert len({t.seed for t in trials}) == 10  # each trial on its number's own seed

    recorded = _nni_db_results(out)  # what NNI recorded is what the study holds, trial by trial
    assert sorted(recorded) == list(range(10))
    for t in trials:
        params, value = recorded[t.number]
        assert params == dict(t.arch) and value["default"] == t.reward
        assert value["accuracy"] == t.metrics["accuracy"] and value["test_accuracy"] == t.metrics["test_accuracy"]

    top = max(trials, key=lambda t: t.reward)
    best = json.loads((out / "best.json").read_text())
    assert best["trials"] == 10 and best["best"]["trial"] == top.number
    assert best["best"]["hyperparameters"] == dict(top.arch) and best["tuner"].startswith("nni:TPE")
    assert json.loads((out / "hpo.json").read_text())["tuned"]["params"] == dict(top.arch)
    assert "| tuned |" in (out / "summary.md").read_text()
    # NNI kept to the run directory: its experiment, its list of experiments, its config files
    assert (out / "nni" / "nni-experiments" / ".experiment").is_file() and (out / "nni" / ".config" / "nni").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R", "fast.yaml", "space.json"]
    assert _leftovers(out) == []
    assert main(["report", "R"]) == 0 and (out / "report" / "best_so_far.png").is_file()

    # a resume runs the missing trials in a new experiment whose tuner is told the stored ones; a trial
    # process killed meanwhile becomes a failed trial, and the finished ones stay as they were
    killed: list[int] = []

    def kill_one_trial():
        deadline = time.time() + 120
        while not killed and time.time() < deadline:
            for p in psutil.process_iter(["cmdline"]):
                if _is_trial(p.info["cmdline"] or []):
                    p.kill()
                    killed.append(p.pid)
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_trial)
    killer.start()
    assert main([*argv[:-4], "--trials", "12", "--workers", "1", "--out", "R", "--resume", "--no-progress"]) == 0
    killer.join()
    after = Run(out).view().trials
    assert killed and [t.number for t in after] == list(range(12)) and after[:10] == trials
    [failed] = [t for t in after if not t.ok]
    assert failed.number >= 10 and "the NNI trial process" in failed.error and "its output: nni/" in failed.error
    assert len(_nni_dbs(out)) == 2 and _leftovers(out) == []
