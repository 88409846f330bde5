"""Hyperparameter optimisation: NNI search spaces -> ConfigSpace, SMAC runs recorded, resumed, in parallel."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.tuning.searchspace import HPOSpace
from hybrid_nas.tuning.runner import run_hpo
from hybrid_nas.quantum.hpo import CircuitTraining, baseline_circuit
from hybrid_nas.quantum.training import TrainConfig

EVERY_TYPE = {
    "lr": {"_type": "loguniform", "_value": [0.0001, 0.1]},
    "momentum": {"_type": "uniform", "_value": [0, 1]},
    "batch": {"_type": "choice", "_value": [16, 32, "64"]},
    "layers": {"_type": "randint", "_value": [2, 5]},
    "width": {"_type": "quniform", "_value": [8, 64, 8]},
    "decay": {"_type": "qloguniform", "_value": [10, 1000, 10]},
    "shift": {"_type": "normal", "_value": [1.0, 0.5]},
    "steps": {"_type": "qnormal", "_value": [100, 10, 5]},
    "scale": {"_type": "lognormal", "_value": [0.0, 1.0]},
    "size": {"_type": "qlognormal", "_value": [3.0, 0.5, 2]},
}


def test_every_nni_type_converts_and_decodes_with_nni_semantics():
    space = HPOSpace(EVERY_TYPE)
    cs = space.configspace(seed=0)
    assert set(cs) == set(EVERY_TYPE)
    values = [space.decode(c) for c in cs.sample_configuration(300)]
    col = {k: [v[k] for v in values] for k in EVERY_TYPE}
    assert all(1e-4 <= x <= 0.1 for x in col["lr"]) and np.median(col["lr"]) < 0.01  # log scale
    assert set(col["batch"]) == {16, 32, "64"}  # options come back as given, types kept
    assert set(col["layers"]) == {2, 3, 4}  # randint's upper bound is exclusive
    assert set(col["width"]) <= set(range(8, 65, 8)) and all(isinstance(x, int) for x in col["width"])
    assert all(x % 10 == 0 and 10 <= x <= 1000 for x in col["decay"])
    assert abs(np.mean(col["shift"]) - 1.0) < 0.1 and 0.35 < np.std(col["shift"]) < 0.65
    assert all(x % 5 == 0 for x in col["steps"])
    assert all(x > 0 for x in col["scale"]) and abs(np.median(np.log(col["scale"]))) < 0.2
    assert all(x % 2 == 0 for x in col["size"])


@pytest.mark.parametrize("spec, message", [
    ({"lr": {"_type": "logunifrom", "_value": [1, 2]}}, "did you mean 'loguniform'"),
    ({"lr": {"_type": "uniform", "_value": [2, 1]}}, "needs low < high"),
    ({"lr": {"_type": "quniform", "_value": [0, 1]}}, "quniform takes 3 numbers"),
    ({"lr": {"_type": "loguniform", "_value": [0, 1]}}, "needs low > 0"),
    ({"lr": {"_type": "normal", "_value": [0, -1]}}, "needs sigma > 0"),
    ({"lr": [0.1, 0.2]}, "expected {_type: ..., _value: [...]}"),
    ({}, "non-empty mapping"),
])
def test_bad_search_spaces_are_one_clear_error(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        HPOSpace(spec)


def test_packaged_nni_json_space_converts_and_drives_a_recorded_smac_run(tmp_path):
    space = HPOSpace.from_file(os.path.join(os.path.dirname(__file__), "..", "hybrid_nas", "configs", "hpo_quantum_space.json"))
    circuit_space, arch, _ = baseline_circuit()
    evaluator = CircuitTraining(circuit_space, arch, "digits4", TrainConfig(epochs=2, n_train=64))
    small = HPOSpace({**space.spec, "epochs": {"_type": "randint", "_value": [1, 3]}})
    result = run_hpo(evaluator, small, tmp_path, trials=5, seed=0, n_initial=3)
    assert [t.number for t in result.trials] == [0, 1, 2, 3, 4] and all(t.ok for t in result.trials)
    best = max(result.trials, key=lambda t: t.reward)
    assert result.incumbent == dict(best.arch)  # SMAC's incumbent is the best recorded configuration
    assert all(t.reward == pytest.approx(t.metrics["accuracy"]) for t in result.trials)
    history = json.loads((tmp_path / "smac" / "hpo" / "0" / "runhistory.json").read_text())
    assert len(history["data"]) == 5
    import optuna  # the run's journal describes each hyperparameter by its range, for optuna-dashboard

    journal = optuna.load_study(study_name=tmp_path.name, storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna.journal")))).trials
    assert [t.params for t in journal] == [dict(t.arch) for t in result.trials]
    lr, epochs = journal[0].distributions["lr"], journal[0].distributions["epochs"]
    assert lr.log and (lr.low, lr.high) == tuple(small.spec["lr"]["_value"]) and (epochs.low, epochs.high) == (1, 2)


def test_unknown_hyperparameter_and_bad_method_are_one_line(tmp_path, capsys):
    spec = tmp_path / "space.json"
    spec.write_text(json.dumps({"lr0": {"_type": "uniform", "_value": [0.1, 0.2]}}))
    assert main(["hpo", "quantum", "--space", str(spec), "--out", str(tmp_path / "a")]) == 2
    assert "unknown quantum training hyperparameter 'lr0' (did you mean 'lr'?)" in capsys.readouterr().err
    assert main(["hpo", "quantum", "--method", "bayes", "--trials", "2", "--out", str(tmp_path / "b")]) == 2
    assert "unknown method 'bayes'" in capsys.readouterr().err


def _hpo_cli(tmp_path, out, *extra):
    config = tmp_path / "fast.yaml"  # a quick target: 1-3 epochs on 64 training samples
    spec = tmp_path / "space.json"
    spec.write_text(json.dumps({"lr": {"_type": "loguniform", "_value": [0.01, 0.5]},
                                "epochs": {"_type": "randint", "_value": [1, 4]},
                                "n_train": {"_type": "choice", "_value": [64]}}))
    config.write_text(f"space: {spec}\nrepeats: 1\nseeds: 1\n")
    return ["hpo", "quantum", "--config", str(config), "--out", str(out), *extra]


def _trials(out):
    """(number, architecture) of every trial the run's store holds."""
    from hybrid_nas.engine.storages.base import open_study

    store = open_study(out)
    try:
        return [(t.number, t.arch) for t in store.trials()]
    finally:
        store.close()


def test_two_dask_workers_record_every_trial_once(tmp_path, capsys):
    out = tmp_path / "par"
    assert main(_hpo_cli(tmp_path, out, "--trials", "6", "--workers", "2")) == 0
    rows = _trials(out)
    assert [n for n, _ in rows] == list(range(6))
    history = json.loads((out / "smac" / "hpo" / "0" / "runhistory.json").read_text())
    assert len(history["data"]) == 6 and len({a for _, a in rows}) == 6
    assert "| default |" in capsys.readouterr().out and (out / "hpo.json").is_file()


def test_a_killed_hpo_run_resumes_without_losing_or_repeating_trials(tmp_path):
    out = tmp_path / "killed"
    args = _hpo_cli(tmp_path, out, "--trials", "14", "--n-initial", "3")
    proc = subprocess.Popen([sys.executable, "-m", "hybrid_nas.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not ((out / "storage.json").exists() and len(_trials(out)) >= 4):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _trials(out)
    assert 4 <= len(before) < 14
    assert main([*args, "--resume"]) == 0
    after = _trials(out)
    assert after[:len(before)] == before and [n for n, _ in after] == list(range(14))
    history = json.loads((out / "smac" / "hpo" / "0" / "runhistory.json").read_text())
    assert len(history["data"]) == 14


def test_nas_then_hpo_in_one_go(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["quantum", "--task", "moons", "--scope", "zz_ry", "--layers", "1", "--budget", "3", "--epochs", "2",
                 "--noise", "none", "--hpo-trials", "3", "--out", str(out), "--no-progress"]) == 0
    hpo = json.loads((out / "hpo" / "hpo.json").read_text())
    assert set(hpo) == {"default", "tuned"} and hpo["default"]["params"]["epochs"] == 2
    assert len(_trials(out / "hpo")) == 3
    assert "test_accuracy" in hpo["tuned"]["mean"]


def test_classical_hpo_trains_with_ultralytics_and_compares_on_the_test_split(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "c"
    assert main(["hpo", "classical", "--n-images", "12", "--imgsz", "64", "--epochs", "1", "--trials", "2",
                 "--seeds", "1", "--out", str(out)]) == 0
    rows = _trials(out)
    assert [n for n, _ in rows] == [0, 1]
    assert {"lr0", "momentum", "weight_decay", "warmup_epochs", "batch"} == set(rows[0][1])
    hpo = json.loads((out / "hpo.json").read_text())
    assert hpo["default"]["params"]["lr0"] == 0.001 and hpo["default"]["params"]["momentum"] == 0.9
    assert {"map50", "test_map50", "train_seconds"} <= set(hpo["tuned"]["mean"])
    spec = tmp_path / "bad.yaml"
    spec.write_text("lr1: {_type: uniform, _value: [0.001, 0.01]}\n")
    assert main(["hpo", "classical", "--space", str(spec), "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
    assert "unknown ultralytics training argument 'lr1' (did you mean 'lr" in capsys.readouterr().err


def test_multi_fidelity_sets_the_epochs_from_hyperband_budgets(tmp_path, capsys):
    spec = tmp_path / "space.yaml"
    spec.write_text("lr: {_type: loguniform, _value: [0.01, 0.5]}\nn_train: {_type: choice, _value: [64]}\n")
    out = tmp_path / "mf"
    assert main(["hpo", "quantum", "--space", str(spec), "--method", "multi-fidelity", "--min-epochs", "1",
                 "--max-epochs", "9", "--trials", "8", "--seeds", "1", "--out", str(out)]) == 0
    epochs = [a["epochs"] for _, a in _trials(out)]
    assert len(epochs) == 8 and set(epochs) <= {1, 3, 9} and min(epochs) == 1  # Hyperband's rungs, eta = 3
    spec.write_text("epochs: {_type: randint, _value: [1, 5]}\n")
    assert main(["hpo", "quantum", "--space", str(spec), "--method", "multi-fidelity", "--out", str(tmp_path / "x")]) == 2
    assert "'epochs' is the fidelity SMAC's Hyperband sets" in capsys.readouterr().err


def test_repair_goes_back_to_the_last_complete_smac_save(tmp_path):
    from hybrid_nas.tuning.runner import SMAC_STATE, repair

    for name in SMAC_STATE:
        (tmp_path / name).write_text(json.dumps({"new": name}))
        (tmp_path / f"{name}.bak").write_text(json.dumps({"old": name}))
    repair(tmp_path)  # all readable: nothing to do
    assert json.loads((tmp_path / "runhistory.json").read_text()) == {"new": "runhistory.json"}
    (tmp_path / "intensifier.json").write_text('{"half": ')  # a kill in the middle of SMAC's save
    repair(tmp_path)  # every file goes back, so SMAC's state stays one consistent save
    assert [json.loads((tmp_path / n).read_text()) for n in SMAC_STATE] == [{"old": n} for n in SMAC_STATE]


def test_the_nni_lr_momentum_space_names_the_detectors_lr0_and_refuses_both():
    from hybrid_nas.tuning.command import TARGET_ALIASES

    nni = HPOSpace({"lr": {"_type": "loguniform", "_value": [0.0001, 0.1]},
                    "momentum": {"_type": "uniform", "_value": [0, 1]},
                    "batch_size": {"_type": "choice", "_value": [8, 16]}})
    space, renamed = nni.renamed(TARGET_ALIASES["classical"])
    assert space.names == ["lr0", "momentum", "batch"] and renamed == [("lr", "lr0"), ("batch_size", "batch")]
    both = HPOSpace({"lr": {"_type": "uniform", "_value": [0.1, 0.2]}, "lr0": {"_type": "uniform", "_value": [0.1, 0.2]}})
    with pytest.raises(ConfigError, match="names both 'lr' and 'lr0'"):
        both.renamed(TARGET_ALIASES["classical"])
