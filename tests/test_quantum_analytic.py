"""The hand-written gradients of the weight-only blocks (simulator/analytic.py) against PennyLane's backprop."""

import numpy as np
import pytest
import torch

from hybrid_nas.quantum.circuit import Circuit, Op, to_pennylane
from hybrid_nas.quantum.gates import GATES
from hybrid_nas.quantum.simulator import Simulator
from hybrid_nas.quantum.simulator.analytic import layers
from test_quantum_circuit import random_circuit


def _pennylane_grads(circuit, w0, xs, target, x_grad=False):
    w, x = torch.tensor(w0, requires_grad=True), torch.tensor(xs, requires_grad=x_grad)
    out = torch.stack(to_pennylane(circuit, interface="torch", diff_method="backprop")(w, x), -1)
    ((out - target) ** 2).sum().backward()
    return w.grad.numpy(), (x.grad.numpy() if x_grad else None)


@pytest.mark.parametrize("n, precision", [(2, "double"), (4, "double"), (4, "single"), (6, "double"), (6, "single")])
def test_analytic_weight_gradients_match_pennylane(n, precision):
    """Every gate of the catalogue after the data (one weight-only block at <= 4 qubits, blocks of 4 at 6)."""
    rng = np.random.default_rng(20 + n)
    circuit = random_circuit(rng, n, sorted(GATES), n_ops=5 * n, encoder="ryzxy")
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (5, circuit.n_features))
    target = torch.tensor(rng.normal(size=(5, n)))
    sim = Simulator(circuit, batch=5, precision=precision)
    assert sim.weight_blocks is not None and len(sim.weight_blocks.blocks) == len(sim.blocks)
    w = torch.tensor(w0, requires_grad=True)
    expvals = sim.expvals(w, sim.encode(xs))
    # at <= 4 qubits the states' part runs in the same NumPy node; beyond, the block matrices alone
    assert (type(expvals.grad_fn).__name__ == "FusedExpvalsBackward") == (n <= 4)
    ((expvals - target) ** 2).sum().backward()
    reference, _ = _pennylane_grads(circuit, w0, xs, target)
    assert np.abs(reference).max() > 1e-2  # a real gradient
    tolerance = 1e-9 if precision == "double" else 1e-4 * np.abs(reference).max()
    assert np.abs(w.grad.numpy() - reference).max() < tolerance


def test_data_gates_between_weights_and_a_gradient_for_the_data_leave_the_fused_node():
    """Re-uploaded data makes per-sample blocks (autograd) beside the weight-only ones (analytic); states
    that need a gradient (a front-end before the circuit) are not taken by the NumPy node."""
    rng = np.random.default_rng(5)
    circuit = random_circuit(rng, 4, sorted(GATES), n_ops=16, encoder="ryzxy_interleaved")
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (4, circuit.n_features))
    target = torch.tensor(rng.normal(size=(4, 4)))
    sim = Simulator(circuit, batch=4)
    assert any(b.per_sample for b in sim.blocks) and sim.fused_signs is None
    w, x = torch.tensor(w0, requires_grad=True), torch.tensor(xs, requires_grad=True)
    ((sim.expvals(w, sim.encode(x)) - target) ** 2).sum().backward()
    reference_w, reference_x = _pennylane_grads(circuit, w0, xs, target, x_grad=True)
    assert np.abs(w.grad.numpy() - reference_w).max() < 1e-9
    assert np.abs(x.grad.numpy() - reference_x).max() < 1e-9

    plain = random_circuit(rng, 4, ["u3", "crx"], n_ops=10, encoder="ryzxy")
    sim = Simulator(plain, batch=4)
    assert sim.fused_signs is not None
    w = torch.tensor(rng.uniform(-np.pi, np.pi, plain.n_weights), requires_grad=True)
    x = torch.tensor(rng.uniform(0, np.pi, (4, plain.n_features)), requires_grad=True)
    sim.expvals(w, sim.encode(x)).sum().backward()  # the states need a gradient: torch's path
    assert x.grad is not None and np.abs(x.grad.numpy()).max() > 1e-3


def test_gates_on_disjoint_wires_share_a_layer():
    u3 = [Op("u3", (q,), tuple(("w", 3 * q + i) for i in range(3))) for q in range(4)]
    ring = [Op("crx", (q, (q + 1) % 4), (("w", 12 + q),)) for q in range(4)]
    ops = [*u3, *ring, Op("rz", (1,), (("w", 16),)), Op("cz", (0, 2), ())]
    groups = layers(ops, list(range(len(ops))))
    # the U3s together; the ring one by one (each shares a wire with the next); rz(1) joins crx(2, 3)'s
    # layer, the first after crx(1, 2) on wire 1; cz(0, 2) follows crx(3, 0)
    assert groups == [[0, 1, 2, 3], [4], [5], [6, 8], [7], [9]]
    sim = Simulator(Circuit(4, tuple(ops), 0), batch=2)
    assert sim.weight_blocks is not None and sim.weight_blocks.blocks[0].mask.shape[0] == len(groups)


@pytest.mark.parametrize("n", [3, 6])
def test_a_hessian_through_the_analytic_nodes_matches_pennylane(n):
    """A gradient taken with ``create_graph`` (PennyLane's Hessians) goes through the torch form of the
    same matrices, so differentiating it again gives the second derivatives, not zeros."""
    rng = np.random.default_rng(40 + n)
    circuit = random_circuit(rng, n, ["u3", "crx", "rzz", "h"], n_ops=3 * n, encoder="ryzxy")
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (3, circuit.n_features))
    sim = Simulator(circuit, batch=3)
    encoded = sim.encode(xs)
    qnode = to_pennylane(circuit, interface="torch", diff_method="backprop")
    x = torch.tensor(xs)

    def ours(w):
        return sim.expvals(w, encoded).sum()

    def theirs(w):
        return torch.stack(qnode(w, x), -1).sum()

    got = torch.autograd.functional.hessian(ours, torch.tensor(w0))
    want = torch.autograd.functional.hessian(theirs, torch.tensor(w0))
    assert want.abs().max() > 1e-2 and torch.allclose(got, want, atol=1e-9, rtol=0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_fused_loss_node_is_the_cross_entropy_of_the_readout(n_classes):
    """At the fused plan the training loss is one node with the circuit: its value, gradient and Hessian
    are those of torch's cross-entropy after the blocks-of-2 plan (a different path to the same numbers)."""
    from hybrid_nas.quantum.data import readout_matrix
    from hybrid_nas.quantum.simulator.analytic import FusedLoss
    from hybrid_nas.quantum.simulator.statevector import readout_loss

    rng = np.random.default_rng(60 + n_classes)
    circuit = random_circuit(rng, 4, ["u3", "crx", "rzz", "h"], n_ops=12, encoder="ryzxy")
    w0 = torch.tensor(rng.uniform(-np.pi, np.pi, circuit.n_weights))
    xs, labels = rng.uniform(0, np.pi, (6, circuit.n_features)), torch.tensor(rng.integers(0, n_classes, 6))
    readout = torch.tensor(readout_matrix(4, n_classes)) * 3.0
    fused, blocks = Simulator(circuit, batch=6), Simulator(circuit, batch=6, block_qubits=2)
    assert fused.fused_signs is not None and blocks.fused_signs is None
    ours, theirs = fused.encode(xs), blocks.encode(xs)

    def loss(sim, encoded):
        return lambda w: sim.loss(w, encoded, readout, labels)

    def value_and_grad(f):
        w = w0.clone().requires_grad_()
        value = f(w)
        value.backward()
        return value.detach(), w.grad

    (v1, g1), (v2, g2) = value_and_grad(loss(fused, ours)), value_and_grad(loss(blocks, theirs))
    assert isinstance(loss(fused, ours)(w0.clone().requires_grad_()).grad_fn, FusedLoss._backward_cls)
    assert torch.allclose(v1, v2, atol=1e-12, rtol=0) and g1.abs().max() > 1e-3
    assert torch.allclose(g1, g2, atol=1e-12, rtol=0)
    assert torch.allclose(v2, readout_loss(blocks.expvals(w0, theirs), readout, labels), atol=1e-14, rtol=0)
    h1 = torch.autograd.functional.hessian(loss(fused, ours), w0)
    h2 = torch.autograd.functional.hessian(loss(blocks, theirs), w0)
    assert h1.abs().max() > 1e-3 and torch.allclose(h1, h2, atol=1e-9, rtol=0)
