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


def test_sgd_with_momentum_learns_and_its_momentum_matters():
    from hybrid_nas.engine.errors import ConfigError
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig, train

    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=1, scope="u3cu3")
    circuit = space.build(space.uniform(1, "u3", "cu3_ring"))
    sgd = train(circuit, task, TrainConfig(epochs=3, lr=0.1, optimizer="sgd", momentum=0.9, n_train=256, batch=32))
    still = train(circuit, task, TrainConfig(epochs=3, lr=0.1, optimizer="sgd", momentum=0.0, n_train=256, batch=32))
    assert np.mean(sgd.losses[-4:]) < np.mean(sgd.losses[:4])
    assert sgd.losses[0] == still.losses[0] and not np.allclose(sgd.weights, still.weights)
    with pytest.raises(ConfigError, match="unknown optimizer 'adamw'"):
        TrainConfig(optimizer="adamw")


def test_a_diverging_loss_is_a_clear_error():
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig, train

    space = CircuitSpace(n_qubits=4, max_layers=1, scope="u3cu3")
    with pytest.raises(FloatingPointError, match="training loss became nan"):
        train(
            space.build(space.uniform(1, "u3", "cu3_ring")),
            load_task("digits4"),
            TrainConfig(epochs=1, init_scale=float("inf")),
        )


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


def _plans(n: int):
    """Every plan the simulator can take at n qubits: fused (one 2^n unitary) where it is allowed, and
    blocks of 2..4 qubits, each with both gradients."""
    sizes = sorted({k for k in (2, 3, 4) if k <= n} | ({n} if n <= 8 else set()))
    return [(k, g) for k in sizes for g in ("backprop", "adjoint")]


@pytest.mark.parametrize("n", [2, 5, 9, 12])
def test_every_plan_matches_pennylane_and_qiskit_at_size(n):
    """Random circuits over the whole gate catalogue, data re-uploaded between trainable gates."""
    rng = np.random.default_rng(n)
    circuit = random_circuit(rng, n, sorted(GATES), n_ops=4 * n, encoder="ryzxy_interleaved")
    weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (3, circuit.n_features))
    reference = np.stack([qiskit_expvals(circuit, weights, x) for x in xs])
    pennylane = np.stack([np.array(to_pennylane(circuit)(weights, x)) for x in xs])
    assert np.allclose(pennylane, reference, atol=1e-6)
    for k, gradient in _plans(n):
        sim = Simulator(circuit, batch=3, block_qubits=k, gradient=gradient)
        assert max(len(b.wires) for b in sim.blocks) <= k  # no matrix wider than the plan's blocks
        got = sim.expvals(weights, sim.encode(xs)).numpy()
        assert np.allclose(got, reference, atol=1e-6), (k, gradient)


@pytest.mark.parametrize("n, encoder", [(5, "ryzxy_interleaved"), (9, "zz"), (12, "ryzxy_reupload")])
def test_adjoint_gradients_equal_backprop(n, encoder):
    rng = np.random.default_rng(10 + n)
    circuit = random_circuit(rng, n, sorted(GATES), n_ops=3 * n, encoder=encoder)
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (4, circuit.n_features))
    target = torch.tensor(rng.normal(size=(4, n)))
    grads = {}
    for gradient in ("backprop", "adjoint"):
        sim = Simulator(circuit, batch=4, gradient=gradient)
        w = torch.tensor(w0, requires_grad=True)
        ((sim.expvals(w, sim.encode(xs)) - target) ** 2).sum().backward()
        grads[gradient] = w.grad.numpy()
    assert np.abs(grads["backprop"]).max() > 1e-3  # a real gradient, not zeros on both sides
    assert np.allclose(grads["adjoint"], grads["backprop"], atol=1e-8, rtol=0)


def test_adjoint_gradients_reach_the_data_too():
    """A front-end before the circuit needs d<Z>/dx: the adjoint path returns it as backprop does."""
    rng = np.random.default_rng(4)
    circuit = random_circuit(rng, 6, sorted(GATES), n_ops=18, encoder="ryzxy_interleaved")
    w = torch.tensor(rng.uniform(-np.pi, np.pi, circuit.n_weights))
    x0 = rng.uniform(0, np.pi, (3, circuit.n_features))
    grads = []
    for gradient in ("backprop", "adjoint"):
        sim = Simulator(circuit, batch=3, gradient=gradient)
        x = torch.tensor(x0, requires_grad=True)
        from hybrid_nas.quantum.simulator import Encoded

        sim.expvals(w, Encoded(x)).sum().backward()
        grads.append(x.grad.numpy())
    assert np.abs(grads[0]).max() > 1e-3 and np.allclose(grads[0], grads[1], atol=1e-8)


def test_the_plan_follows_the_size_and_the_memory_budget():
    from hybrid_nas.quantum.space import CircuitSpace

    def circuit(n):
        space = CircuitSpace(n_qubits=n, max_layers=2, scope="full", encoders=("rx",))
        return space.build(space.uniform(2, "u3", "crx_ring"))

    small, large = Simulator(circuit(4), batch=64), Simulator(circuit(10), batch=64)
    assert small.block_qubits == 4 and len(small.blocks) == 1  # fused: one unitary per step
    assert Simulator(circuit(5), batch=64).block_qubits == 5  # up to 5 qubits
    assert Simulator(circuit(6), batch=64).block_qubits == 4
    assert large.block_qubits == 4 and max(len(b.wires) for b in large.blocks) <= 4
    # from 2^14 amplitudes per batch the states are kept on reused buffers, while they fit the budget
    assert Simulator(circuit(8), batch=63).gradient == "backprop"
    assert Simulator(circuit(8), batch=64).gradient == "buffered" and large.gradient == "buffered"
    tight = Simulator(circuit(10), batch=64, memory_budget=large.memory["buffered"] - 1)
    assert tight.gradient == "adjoint" and tight.memory["adjoint"] < tight.memory["buffered"]
    assert "blocks of <= 4 qubits" in tight.describe() and "adjoint" in tight.describe()


def test_a_circuit_too_large_for_memory_is_refused_before_allocating():
    from hybrid_nas import ConfigError
    from hybrid_nas.quantum.space import CircuitSpace

    space = CircuitSpace(n_qubits=40, max_layers=1, scope="u3cu3", encoders=("rx",))
    with pytest.raises(ConfigError, match=r"a 40-qubit circuit needs .* GiB for a batch of 64 .* use fewer qubits"):
        Simulator(space.build(space.uniform(1, "u3", "cu3_ring")), batch=64)


def test_a_missing_device_is_one_clear_line():
    from hybrid_nas import ConfigError
    from hybrid_nas.engine.devices import resolve_device

    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda:0")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_single_precision_agrees_with_pennylane_to_1e5():
    rng = np.random.default_rng(5)
    circuit = random_circuit(rng, 8, sorted(GATES), n_ops=30, encoder="ryzxy_interleaved")
    weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (4, circuit.n_features))
    sim = Simulator(circuit, batch=4, precision="single")
    got = sim.expvals(weights, sim.encode(xs))
    assert got.dtype == torch.float32
    reference = np.array(to_pennylane(circuit)(weights, xs)).T  # broadcast over the batch
    assert np.allclose(got.numpy(), reference, atol=1e-5, rtol=0)
    single = sim.states(weights, sim.encode(xs))
    assert single.dtype == torch.complex64 and not np.allclose(
        got.numpy(), reference, atol=1e-12, rtol=0
    )  # really single


def test_digits10_learns_on_10_qubits():
    """All ten digits, 36 pooled pixels on 10 qubits: a short training is far above chance (10 %)."""
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import space_for_task
    from hybrid_nas.quantum.training import TrainConfig, accuracy, train

    task = load_task("digits10")
    space = space_for_task(task, layers=2, scope="u3cu3", encoder="ryzxy_interleaved")
    circuit = space.build(space.uniform(2, "u3", "cu3_ring", encoder="ryzxy_interleaved"))
    cfg = TrainConfig(epochs=4, lr=0.1)
    result = train(circuit, task, cfg)
    assert accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, cfg) > 0.3


def _grads(sim, w0, xs, target):
    """d loss / d (weights, data) of one forward and backward pass."""
    w, x = torch.tensor(w0, requires_grad=True), torch.tensor(xs, requires_grad=True)
    from hybrid_nas.quantum.simulator import Encoded

    out = sim.expvals(w, Encoded(x))
    ((out - target.to(out.dtype)) ** 2).sum().backward()
    return out.detach().double(), w.grad, x.grad


@pytest.mark.parametrize("precision, atol", [("double", 1e-10), ("single", 2e-4)])
@pytest.mark.parametrize("n, k", [(3, 3), (6, 2), (7, 4), (10, 3)])
def test_the_passes_on_reused_buffers_equal_backprop(n, k, precision, atol):
    """The buffered passes, adjoint and with every block's input kept (their qubit order moved as blocks
    need, states permuted or matrices reordered), give backprop's <Z> and gradients for weights and data,
    run twice on the same buffers. Blocks of 2-4 qubits on random wires, data re-uploaded between
    trainable gates (per-sample blocks)."""
    rng = np.random.default_rng(100 + n)
    circuit = random_circuit(rng, n, sorted(GATES), n_ops=4 * n, encoder="ryzxy_interleaved")
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    target = torch.tensor(rng.normal(size=(3, n)))
    batches = [rng.uniform(0, np.pi, (3, circuit.n_features)) for _ in range(2)]
    got = {}
    for gradient in ("backprop", "adjoint", "buffered"):
        sim = Simulator(circuit, batch=3, block_qubits=k, gradient=gradient, precision=precision)
        got[gradient] = [_grads(sim, w0, xs, target) for xs in batches]  # the second reuses the buffers
    for gradient in ("adjoint", "buffered"):
        for (e1, w1, x1), (e2, w2, x2) in zip(got["backprop"], got[gradient]):
            assert w1.abs().max() > 1e-3 and x1.abs().max() > 1e-3  # real gradients, not zeros on both sides
            assert torch.allclose(e1, e2, atol=atol, rtol=0)
            assert torch.allclose(w1, w2, atol=atol, rtol=0) and torch.allclose(x1, x2, atol=atol, rtol=0)


def test_adjoint_buffers_are_allocated_once_and_a_stale_backward_is_refused():
    from hybrid_nas.quantum.simulator import Encoded

    rng = np.random.default_rng(8)
    circuit = random_circuit(rng, 6, sorted(GATES), n_ops=20, encoder="ryzxy_interleaved")
    sim = Simulator(circuit, batch=4, gradient="adjoint")
    w = torch.tensor(rng.uniform(-np.pi, np.pi, circuit.n_weights), requires_grad=True)
    xs = [torch.tensor(rng.uniform(0, np.pi, (4, circuit.n_features))) for _ in range(3)]
    sim.expvals(w, Encoded(xs[0])).sum().backward()
    pointers = {name: t.data_ptr() for name, t in sim.plan.workspace.flat.items()}
    sim.expvals(w, Encoded(xs[1])).sum().backward()
    assert {name: t.data_ptr() for name, t in sim.plan.workspace.flat.items()} == pointers
    first = sim.expvals(w, Encoded(xs[1])).sum()
    sim.expvals(w, Encoded(xs[2]))  # overwrites the buffers ``first`` would walk back through
    with pytest.raises(RuntimeError, match="ran again before this backward pass"):
        first.backward()


@pytest.mark.parametrize("gradient", ["backprop", "buffered", "adjoint"])
def test_the_marginals_give_the_sign_tables_expvals_and_gradients(gradient):
    """Past 14 qubits <Z> and its gradient come from the two halves' marginals, not a (2^n, n) table:
    same numbers."""
    rng = np.random.default_rng(9)
    circuit = random_circuit(rng, 5, sorted(GATES), n_ops=15, encoder="ryzxy_interleaved")
    w0 = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs, target = rng.uniform(0, np.pi, (3, circuit.n_features)), torch.tensor(rng.normal(size=(3, 5)))
    table, marginals = Simulator(circuit, batch=3, gradient=gradient), Simulator(circuit, batch=3, gradient=gradient)
    marginals.signs = marginals.plan.signs = None
    for a, b in zip(_grads(table, w0, xs, target), _grads(marginals, w0, xs, target)):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("gate", sorted(g for g in GATES if GATES[g].num_params))
def test_every_parametrised_gate_has_an_exact_fourier_form(gate):
    from hybrid_nas.quantum.simulator.plan import fourier

    assert fourier(gate) is not None  # else its matrices are built the slower way, one gate type at a time
    freqs, coef = fourier(gate)
    params = torch.tensor(np.random.default_rng(1).uniform(-10, 10, (5, GATES[gate].num_params)))
    exact = GATES[gate].matrix([params[:, j] for j in range(params.shape[1])]).reshape(5, -1)
    assert torch.allclose(torch.exp(1j * (params @ freqs.T)) @ coef.T, exact, atol=1e-12, rtol=0)


def test_a_batch_drawn_by_index_is_gathered_as_its_copy_would_be():
    rng = np.random.default_rng(11)
    circuit = random_circuit(rng, 5, sorted(GATES), n_ops=15, encoder="ryzxy")
    weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    for gradient in ("backprop", "adjoint"):
        sim = Simulator(circuit, batch=4, gradient=gradient)
        encoded = sim.encode(rng.uniform(0, np.pi, (9, circuit.n_features)))
        index = torch.tensor([7, 2, 2, 5])
        batch = encoded[index]
        assert batch.rows is not None and batch[1:].rows.tolist() == [2, 2, 5]
        copied = type(encoded)(encoded.x[index], encoded.states[index])
        assert torch.equal(sim.expvals(weights, batch), sim.expvals(weights, copied))


def test_a_second_derivative_through_the_buffered_passes_is_refused_in_one_line():
    """The buffered passes' backward is written out (no graph of its own): a Hessian through them would
    be zeros, so it is refused; ``gradient="backprop"`` gives it."""
    from hybrid_nas.quantum.simulator import Encoded

    rng = np.random.default_rng(11)
    circuit = random_circuit(rng, 4, ["u3", "crx"], n_ops=8, encoder="ryzxy")
    w0, xs = rng.uniform(-np.pi, np.pi, circuit.n_weights), rng.uniform(0, np.pi, (2, circuit.n_features))

    def hessian(gradient: str) -> torch.Tensor:
        sim = Simulator(circuit, batch=2, gradient=gradient, block_qubits=2)
        return torch.autograd.functional.hessian(
            lambda w: sim.expvals(w, Encoded(torch.tensor(xs))).sum(), torch.tensor(w0)
        )

    for gradient in ("buffered", "adjoint"):
        with pytest.raises(RuntimeError, match='second derivatives .* gradient="backprop"'):
            hessian(gradient)
    h = hessian("backprop")
    assert h.abs().max() > 1e-2 and torch.allclose(h, h.T, atol=1e-10)
