import numpy as np
import pytest
import torch

from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.hardware import fake_backend
from hybrid_nas.quantum.noise import noisy_accuracy, noisy_expvals
from hybrid_nas.quantum.simulator import Simulator
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, accuracy, train


@pytest.fixture(scope="module", params=["ryzxy", "ryzxy_interleaved"])
def trained(request):
    # interleaved: rows of data gates after trainable ones, bound per sample in Aer's batched job
    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="full", encoders=(request.param,))
    circuit = space.build(space.uniform(2, "u3", "crx_ring", request.param))
    result = train(circuit, task, TrainConfig(epochs=15, lr=0.1))
    return task, circuit, result.weights


def test_aer_path_without_noise_equals_the_simulator(trained):
    task, circuit, w = trained
    x = task.x_val[:16]
    sim = Simulator(circuit)
    exact = sim.expvals(torch.tensor(w), sim.encode(x)).numpy()
    assert np.allclose(noisy_expvals(circuit, w, x, backend=None, method="statevector"), exact, atol=1e-6)


def test_transpiled_noiseless_run_keeps_the_qubit_and_feature_order(trained):
    # transpiled to the device's layout and basis but simulated without noise: same values as the simulator
    from qiskit_aer.primitives import EstimatorV2

    task, circuit, w = trained
    from hybrid_nas.quantum import noise

    backend = fake_backend("FakeManilaV2")
    tqc, observables, columns = noise._pub(circuit, w, backend, 1, 0)
    x = task.x_val[:8]
    evs = EstimatorV2().run([(tqc, observables, x[:, columns])]).result()[0].data.evs.T
    sim = Simulator(circuit)
    assert np.allclose(evs, sim.expvals(torch.tensor(w), sim.encode(x)).numpy(), atol=1e-6)


def test_device_noise_shrinks_expectations_and_batching_changes_nothing(trained):
    task, circuit, w = trained
    backend = fake_backend("FakeManilaV2")
    x = task.x_val[:6]
    batched = noisy_expvals(circuit, w, x, backend)
    single = noisy_expvals(circuit, w, x, backend, batched=False)
    assert np.allclose(batched, single, atol=1e-9)
    sim = Simulator(circuit)
    exact = sim.expvals(torch.tensor(w), sim.encode(x)).numpy()
    assert np.abs(batched).mean() < np.abs(exact).mean()  # depolarising noise pulls <Z> towards 0
    assert np.corrcoef(batched.ravel(), exact.ravel())[0, 1] > 0.9


def test_noisy_accuracy_is_close_below_noiseless(trained):
    task, circuit, w = trained
    clean = accuracy(circuit, w, task.x_val, task.y_val, task.n_classes)
    noisy = noisy_accuracy(circuit, w, task.x_val, task.y_val, task.n_classes, fake_backend("FakeManilaV2"))
    assert clean > 0.7  # 4 classes: chance is 0.25
    assert clean - 0.25 <= noisy <= clean + 0.05


def test_shots_add_sampling_noise_around_the_exact_value(trained):
    task, circuit, w = trained
    backend = fake_backend("FakeManilaV2")
    x = task.x_val[:6]
    exact = noisy_expvals(circuit, w, x, backend)
    sampled = noisy_expvals(circuit, w, x, backend, shots=1000)
    gap = np.abs(sampled - exact)
    assert gap.max() > 0 and gap.mean() < 4 / np.sqrt(1000)
