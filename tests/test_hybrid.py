"""Hybrid models: the composed space, end-to-end gradients through the simulator, the controls, the run."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import hybrid_nas as hn
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import run_evaluation
from hybrid_nas.hybrid.data import load_features
from hybrid_nas.hybrid.evaluator import HybridEvaluator
from hybrid_nas.hybrid.space import FrontEndSpace, HeadSpace, HybridSpace
from hybrid_nas.hybrid.training import fit, make_model, train_and_score
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig


@pytest.fixture(scope="module")
def moons():
    return load_features("moons")


def hybrid_space(n_classes=2, qubits=(2, 3), readouts=("qubits", "dense")):
    return HybridSpace(
        n_classes,
        FrontEndSpace(qubits, (0, 1), (8, 16), ("relu", "tanh")),
        CircuitSpace(max(qubits), 2, "rxyz", ("rx", "rx_reupload")),
        HeadSpace(readouts),
    )


def test_the_hybrid_space_is_its_parts_and_its_key_builds_the_chosen_qubits():
    space = hybrid_space(qubits=(2, 4))
    assert [d.name for d in space.decisions] == [f"{p}.{d.name}" for p, s in space.parts.items() for d in s.decisions]
    arch = space.sample(np.random.default_rng(0)).replace(
        **{"front.qubits": 2, "circuit.layers": 1, "circuit.L0.rot.q0": "ry"}
    )
    # qubits 2 and 3 are not built on 2 qubits: their slots are inactive, so the key ignores them
    assert space.key(arch) == space.key(arch.replace(**{"circuit.L0.rot.q3": "rz"}))
    assert space.key(arch) != space.key(arch.replace(**{"circuit.L0.rot.q0": "rz"}))
    assert space.circuit(arch).n_qubits == 2
    assert space.circuit(arch.replace(**{"front.qubits": 4})).n_qubits == 4


def test_sampling_and_mutation_avoid_a_readout_the_qubits_cannot_carry():
    space = hybrid_space(n_classes=3, qubits=(2, 4))
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(60)]
    archs += [space.mutate(a, rng) for a in archs]
    assert all(space.conflict(a) is None for a in archs)
    assert {(a["front.qubits"], a["head.readout"]) for a in archs} == {(2, "dense"), (4, "dense"), (4, "qubits")}
    # a strategy that proposes the conflict anyway (SMAC, REINFORCE: they pick indices) gets a failed trial
    conflicting = archs[0].replace(**{"front.qubits": 2, "head.readout": "qubits"})
    metrics, error, _ = run_evaluation(HybridEvaluator(space, "iris", TrainConfig(epochs=1)), conflicting, 0)
    assert metrics is None and error.startswith("SpaceError: the qubit-per-class readout needs a qubit per class")
    with pytest.raises(ConfigError, match="no readout fits"):
        hybrid_space(n_classes=10, qubits=(2, 4), readouts=("qubits",))


def test_gradients_reach_the_front_end_through_the_circuit(moons):
    space = hybrid_space()
    arch = space.sample(np.random.default_rng(1)).replace(
        **{
            "front.hidden": 1,
            "front.qubits": 3,
            "circuit.layers": 2,
            "circuit.L0.ent": "cnot_ring",
            "head.readout": "dense",
        }
    )
    model = make_model("hybrid", space, arch, moons, TrainConfig(seed=0)).double()
    x, y = torch.as_tensor(moons.x_train[:16], dtype=torch.float64), torch.as_tensor(moons.y_train[:16])

    def loss():
        return torch.nn.functional.cross_entropy(model(x), y)

    loss().backward()
    w = model.front.net[0].weight
    grad = w.grad[0, 0].item()
    with torch.no_grad():
        w[0, 0] += 1e-6
        up = loss().item()
        w[0, 0] -= 2e-6
        down = loss().item()
    assert grad != 0 and grad == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-9)


def test_a_hybrid_learns_moons_and_its_controls_are_what_they_say(moons):
    space = hybrid_space()
    arch = space.sample(np.random.default_rng(2)).replace(
        **{
            "front.hidden": 1,
            "front.width0": 16,
            "front.activation": "tanh",
            "front.qubits": 3,
            "circuit.layers": 1,
            "circuit.encoder": "rx",
            "circuit.L0.rot.q0": "ry",
            "circuit.L0.rot.q1": "ry",
            "circuit.L0.rot.q2": "ry",
            "circuit.L0.ent": "cnot_ring",
            "head.readout": "dense",
        }
    )
    cfg = TrainConfig(epochs=15, batch=32, lr=0.02, seed=0)
    model, best = train_and_score("hybrid", space, arch, moons, cfg)
    assert best["accuracy"] > 0.9  # moons is not linearly separable: the front-end and circuit learn it
    assert best["circuit_params"] == 3 and best["two_qubit_gates"] == 3 and best["qubits"] == 3
    assert best["params"] == sum(p.numel() for p in model.parameters())
    classical = train_and_score("classical_only", space, arch, moons, cfg)[1]
    assert classical["circuit_params"] == 0 and "two_qubit_gates" not in classical
    assert best["circuit_params"] <= classical["params"] - best["classical_params"] <= 3 * 3 + 3  # a dense 3 -> 3
    circuit = train_and_score("circuit_only", space, arch, moons, cfg)[1]
    assert circuit["classical_params"] == 2 * 3 + 2  # the dense head alone
    free = train_and_score("no_entanglement", space, arch, moons, cfg)[1]
    assert free["two_qubit_gates"] == 0 and free["circuit_params"] == best["circuit_params"]
    assert free["gates"] == best["gates"] - best["two_qubit_gates"]


def test_a_non_finite_loss_is_the_models_error(moons):
    space = hybrid_space()
    model = make_model("hybrid", space, space.sample(np.random.default_rng(0)), moons, TrainConfig())
    poisoned = replace(moons, x_train=np.where(np.arange(len(moons.x_train))[:, None] == 5, np.nan, moons.x_train))
    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(model, poisoned, TrainConfig(epochs=1))


def test_a_hybrid_run_reports_its_best_beside_the_controls_and_exports_a_model(tmp_path):
    run = hn.hybrid.search(
        out=tmp_path / "run",
        task="moons",
        qubits="2,3",
        hidden="0,1",
        widths="8",
        budget=5,
        epochs=4,
        strategy="random",
        strategy_options={},
        progress=False,
    )
    doc = run.result
    assert set(doc["controls"]) == {"classical_only", "circuit_only", "no_entanglement"}
    for figures in [doc["best_figures"], *doc["controls"].values()]:
        assert 0 <= figures["test_accuracy"] <= 1 and figures["params"] > 0
    # best.pt is the whole model: it takes raw features and reproduces the recorded test accuracy
    model = torch.load(run.dir / "best.pt", weights_only=False)
    data = load_features("moons")
    raw = data.x_test.astype(float) * data.scale + data.mean
    assert (model.predict(raw) == data.y_test).mean() == pytest.approx(doc["test"]["test_accuracy"])
    assert "OPENQASM 3" in (run.dir / "best.qasm").read_text()
    summary = (run.dir / "summary.md").read_text()
    assert "## Best hybrid and its controls" in summary and "| classical_only |" in summary
    assert (run.dir / "report" / "hybrid_pareto.png").stat().st_size > 0
    assert doc["best"]["description"].startswith(("linear", "mlp"))
    frame = run.trials()
    assert {"front.qubits", "circuit.layers", "head.readout", "test_accuracy", "flops"} <= set(frame.columns)
    (run.dir / "summary.md").unlink()
    run.report()  # redrawn from the store and best.json: the stored space describes its trials the same way
    summary = (run.dir / "summary.md").read_text()
    assert doc["best"]["description"].replace("|", "\\|") in summary and "| classical_only |" in summary


@pytest.mark.slow
def test_a_hybrid_under_device_noise_is_scored_noisy(tmp_path):
    run = hn.hybrid.search(
        out=tmp_path / "run",
        task="moons",
        qubits="2",
        hidden="0",
        budget=2,
        epochs=2,
        strategy="random",
        strategy_options={},
        noise="FakeManilaV2",
        progress=False,
    )
    doc = run.result
    assert doc["objective"]["quality"] == "noisy_accuracy"
    for figures in (doc["best_figures"], doc["controls"]["circuit_only"], doc["controls"]["no_entanglement"]):
        assert 0 <= figures["noisy_test_accuracy"] <= 1 and figures["transpiled_depth"] >= figures["depth"] > 0
    assert "noisy_test_accuracy" not in doc["controls"]["classical_only"]


def test_bad_hybrid_settings_are_one_line_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="unknown readout 'qubit'.*did you mean 'qubits'"):
        hn.hybrid.search(out=tmp_path / "a", task="moons", readouts="qubit")
    with pytest.raises(ConfigError, match="--qubits must be whole numbers"):
        hn.hybrid.search(out=tmp_path / "b", task="moons", qubits="four")
    with pytest.raises(ConfigError, match="no readout fits"):
        hn.hybrid.search(out=tmp_path / "c", task="digits10", qubits="4,6", readouts="qubits")
    assert not any(tmp_path.iterdir())
