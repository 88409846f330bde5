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


def test_simulator_gradients_match_pennylane_backprop():
    rng = np.random.default_rng(3)
    circuit = random_circuit(rng, 4, sorted(GATES), n_ops=25)
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
