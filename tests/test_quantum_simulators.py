"""``--simulator``: a PennyLane device trains and scores the candidates as the package's simulator does."""

from dataclasses import replace

import numpy as np
import pytest

import hybrid_nas as hn
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.hpo import target_from_settings
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, accuracy, predict_expvals, train
from hybrid_nas.tuning.command import HPOQuantumSettings

QUICK = dict(task="moons", scope="u3cu3", layers=2, budget=3, epochs=1, n_train=96, noise=None, progress=False)
METRICS = ["reward", "accuracy", "params", "gates", "two_qubit_gates", "depth"]


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_training_on_a_pennylane_device_matches_the_package_simulator_loss_by_loss(device):
    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="full")
    circuit = space.build(space.uniform(2, "u3", "cu3_ring"))
    cfg = TrainConfig(epochs=1, n_train=40, batch=16)  # a last batch of 8: broadcasting over a short batch too
    ours, theirs = train(circuit, task, cfg), train(circuit, task, replace(cfg, simulator=device))
    assert len(theirs.losses) == 3
    assert np.abs(np.array(ours.losses) - theirs.losses).max() < 1e-8  # float64 end to end, lightning included
    # a weight whose true gradient is 0 (a Z phase just before the readout) gets rounding-level gradients,
    # which Adam divides by sqrt(v) + 1e-8: it moves by ~1e-8 a step on either side, the others agree to 1e-12
    assert np.abs(ours.weights - theirs.weights).max() < 1e-7
    on_device = TrainConfig(batch=16, simulator=device)
    x = task.x_val[:20]
    expvals = predict_expvals(circuit, ours.weights, x), predict_expvals(circuit, ours.weights, x, on_device)
    assert np.abs(expvals[0] - expvals[1]).max() < 1e-10
    assert accuracy(circuit, ours.weights, task.x_val, task.y_val, 4) == accuracy(
        circuit, ours.weights, task.x_val, task.y_val, 4, on_device
    )


def test_a_search_on_default_qubit_gives_the_package_simulators_trials(tmp_path):
    ours = hn.quantum.search(out=tmp_path / "ours", **QUICK)
    theirs = hn.quantum.search(out=tmp_path / "theirs", simulator="default.qubit", **QUICK)
    a, b = ours.trials(), theirs.trials()
    decisions = [d.name for d in CircuitSpace(2, 2).decisions]
    assert len(a) == len(b) == 3
    assert a[decisions].equals(b[decisions])  # the same accuracies steer the strategy to the same circuits
    assert np.abs(a[METRICS].to_numpy() - b[METRICS].to_numpy()).max() < 1e-6
    assert abs(ours.result["test"]["test_accuracy"] - theirs.result["test"]["test_accuracy"]) < 1e-6
    assert (ours.result["simulator"], theirs.result["simulator"]) == ("hybrid_nas", "default.qubit")
    assert theirs.settings["simulator"] == "default.qubit"
    # hpo quantum tunes the run's best circuit trained as the run trained it: on its simulator
    target = target_from_settings(HPOQuantumSettings.resolve(run_dir=str(theirs.dir)))
    assert target.base.simulator == "default.qubit"
    seed = int(b.loc[b.number == theirs.best["trial"], "seed"].iloc[0])
    assert abs(target.evaluate({}, seed)["test_accuracy"] - theirs.result["test"]["test_accuracy"]) < 1e-12
    # a resume may move the work to another simulator (it computes the same figures), as it may change --device
    more = hn.quantum.search(out=tmp_path / "ours", resume=True, **{**QUICK, "budget": 4, "simulator": "default.qubit"})
    assert len(more.trials()) == 4 and more.settings["simulator"] == "default.qubit"


def test_a_device_that_cannot_train_the_circuits_is_refused_by_the_python_api_too(tmp_path):
    with pytest.raises(hn.ConfigError, match=r"--simulator 'default.qutrit' cannot train these circuits"):
        hn.quantum.search(out=tmp_path / "r", simulator="default.qutrit", **QUICK)
    with pytest.raises(hn.ConfigError, match=r"unknown --simulator 'lightning\.qbit' \(did you mean 'lightning\.q"):
        TrainConfig(simulator="lightning.qbit")
    assert not (tmp_path / "r").exists()
