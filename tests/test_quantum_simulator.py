import numpy as np
import pytest
import torch

from hybrid_nas.quantum.circuit import ENCODERS, qiskit_expvals, to_pennylane
from hybrid_nas.quantum.gates import GATES
from hybrid_nas.quantum.simulator import Simulator

from test_quantum_circuit import random_circuit


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_simulator_matches_qiskit_on_every_gate(encoder):
    rng = np.random.default_rng(7)
    for gate in sorted(GATES):
        circuit = random_circuit(rng, 3, [gate, gate, "u3", "cnot"], n_ops=8, encoder=encoder)
        weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
        xs = rng.uniform(0, np.pi, (4, circuit.n_features))
        sim = Simulator(circuit)
        got = sim.expvals(weights, sim.encode(xs)).numpy()
        for b in range(4):
            assert np.allclose(got[b], qiskit_expvals(circuit, weights, xs[b]), atol=1e-6), gate


@pytest.mark.parametrize("encoder", ["ryzxy", "ryzxy_interleaved"])
def test_simulator_gradients_match_pennylane_backprop(encoder):
    rng = np.random.default_rng(3)
    circuit = random_circuit(rng, 4, sorted(GATES), n_ops=25, encoder=encoder)
    xs = rng.uniform(0, np.pi, (6, circuit.n_features))
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    sim = Simulator(circuit)
    w = torch.tensor(w0, requires_grad=True)
    (sim.expvals(w, sim.encode(xs)) ** 2).sum().backward()
    ours = w.grad.numpy()
    wp = torch.tensor(w0, requires_grad=True)
    out = torch.stack(to_pennylane(circuit, interface="torch", diff_method="backprop")(wp, torch.tensor(xs)))
    (out**2).sum().backward()
    assert np.allclose(ours, wp.grad.numpy(), atol=1e-6)


def test_training_learns_digits4_and_matches_the_pennylane_loop():
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig, accuracy, train, train_pennylane

    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="full")
    circuit = space.build(space.uniform(2, "u3", "crx_ring"))
    short = TrainConfig(epochs=1, n_train=128, batch=32)
    ours, reference = train(circuit, task, short), train_pennylane(circuit, task, short)
    assert np.allclose(ours.losses, reference.losses, atol=1e-9)  # same batches, weights, loss: same numbers
    assert np.allclose(ours.weights, reference.weights, atol=1e-9)
    result = train(circuit, task, TrainConfig(epochs=15, lr=0.1))
    assert np.mean(result.losses[-5:]) < 0.8 * np.mean(result.losses[:5])
    assert accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes) > 0.7


def test_a_diverging_loss_is_a_clear_error():
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig, train

    space = CircuitSpace(n_qubits=4, max_layers=1, scope="u3cu3")
    with pytest.raises(FloatingPointError, match="training loss became nan"):
        train(space.build(space.uniform(1, "u3", "cu3_ring")), load_task("digits4"), TrainConfig(epochs=1, init_scale=float("inf")))


def test_a_circuit_without_trainable_gates_is_scored_as_encoded():
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import accuracy, train

    space = CircuitSpace(n_qubits=2, max_layers=1, scope="zz_ry", encoders=("rx",))
    circuit = space.build(space.uniform(1, "none", "none"))
    task = load_task("moons")
    result = train(circuit, task)
    assert circuit.n_weights == 0 and len(result.weights) == 0 and result.losses == []
    assert 0 <= accuracy(circuit, result.weights, task.x_val, task.y_val, 2) <= 1
