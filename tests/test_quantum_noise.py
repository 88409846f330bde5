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


def _ry_circuit():
    """RY(x_0) on qubit 0 of 2: <Z_0> = cos x_0, <Z_1> = 1."""
    from hybrid_nas.quantum.circuit import Circuit, Op

    return Circuit(2, (Op("ry", (0,), (("x", 0),)),), 1)


def test_shots_are_counts_with_the_binomial_variance():
    """With N shots, <Z> is the mean of N +-1 readings: values on the 2/N grid, in [-1, 1], unbiased, and
    spread with the binomial variance (1 - <Z>^2) / N, not a Gaussian of 1/sqrt(N)."""
    shots, repeats, theta = 64, 600, 0.6
    x = np.full((repeats, 1), theta)  # identical rows of one job: independent draws of N shots each
    evs = noisy_expvals(_ry_circuit(), np.zeros(0), x, backend=None, shots=shots, seed=3)[:, 0]
    assert np.all(np.abs(evs) <= 1)
    assert np.allclose((evs + 1) * shots / 2, np.round((evs + 1) * shots / 2))  # counts / N
    exact, variance = np.cos(theta), (1 - np.cos(theta) ** 2) / shots
    assert abs(evs.mean() - exact) < 4 * np.sqrt(variance / repeats)
    # the sample variance of 600 draws is within +-15 % of the true one with probability > 0.99
    assert 0.85 < evs.var(ddof=1) / variance < 1.15
    assert evs.var() / (1 / shots) < 0.5  # a Gaussian of 1/sqrt(N) would be 3x too wide here (<Z> = 0.83)
    ones = noisy_expvals(_ry_circuit(), np.zeros(0), np.zeros((50, 1)), backend=None, shots=shots, seed=3)
    assert np.all(ones == 1)  # <Z> = 1 exactly: every shot reads 0, no spread


def test_noisy_shots_run_as_one_job_and_stay_in_range(trained):
    task, circuit, w = trained
    evs = noisy_expvals(circuit, w, task.x_val[:12], fake_backend("FakeManilaV2"), shots=200)
    assert evs.shape == (12, 4) and np.all(np.abs(evs) <= 1)
    assert np.allclose(evs * 100, np.round(evs * 100))  # multiples of 2/200


@pytest.mark.parametrize("method", ["statevector", "matrix_product_state"])
def test_noisy_trajectories_agree_with_the_exact_density_matrix(trained, method):
    """Each method the size may choose reads the same noisy <Z> as the exact density matrix, to shot error."""
    task, circuit, w = trained
    backend, x = fake_backend("FakeManilaV2"), task.x_val[:6]
    exact = noisy_expvals(circuit, w, x, backend, method="density_matrix")
    sampled = noisy_expvals(circuit, w, x, backend, method=method, shots=2000)
    assert np.abs(sampled - exact).max() < 5 * np.sqrt(1 / 2000)  # 5 standard errors of a +-1 mean


def test_the_aer_method_follows_the_size():
    from hybrid_nas import ConfigError
    from hybrid_nas.quantum.noise import DENSITY_MATRIX_MAX_QUBITS, STATEVECTOR_MAX_QUBITS, aer_method

    assert aer_method(5, noisy=True, shots=None) == "density_matrix"
    assert aer_method(5, noisy=True, shots=256) == "density_matrix"  # 2^5 <= 256: one small density matrix
    assert aer_method(10, noisy=True, shots=256) == "statevector"  # 256 trajectories of 2^10 beat one 4^10
    assert aer_method(DENSITY_MATRIX_MAX_QUBITS + 1, noisy=True, shots=256) == "statevector"
    assert aer_method(20, noisy=False, shots=None) == "statevector"
    assert aer_method(STATEVECTOR_MAX_QUBITS + 1, noisy=True, shots=256) == "matrix_product_state"
    with pytest.raises(ConfigError, match="give --shots N"):
        aer_method(DENSITY_MATRIX_MAX_QUBITS + 1, noisy=True, shots=None)


def test_a_backend_too_small_is_one_clear_line():
    from hybrid_nas import ConfigError
    from hybrid_nas.quantum.noise import DeviceRun

    space = CircuitSpace(n_qubits=6, max_layers=1, scope="u3cu3", encoders=("rx",))
    circuit = space.build(space.uniform(1, "u3", "cu3_ring"))
    with pytest.raises(ConfigError, match=r"^the circuit needs 6 qubits, FakeManilaV2 has 5: pick a larger"):
        DeviceRun(circuit, np.zeros(circuit.n_weights), fake_backend("FakeManilaV2"))


def test_ten_qubits_on_a_16_qubit_device_with_shots():
    from hybrid_nas.quantum.noise import DeviceRun
    from hybrid_nas.quantum.space import space_for_task

    task = load_task("digits10")
    space = space_for_task(task, layers=1, encoder="ryzxy")
    circuit = space.build(space.uniform(1, "u3", "cu3_ring"))
    weights = np.random.default_rng(0).uniform(-np.pi, np.pi, circuit.n_weights)
    run = DeviceRun(circuit, weights, fake_backend("FakeGuadalupeV2"), shots=128)
    assert run.method == "statevector"  # trajectories: 128 of 2^10 amplitudes cost less than one 4^10
    evs = run.expvals(task.x_val[:4])
    assert evs.shape == (4, 10) and np.all(np.abs(evs) <= 1)
    clean = Simulator(circuit)
    exact = clean.expvals(torch.tensor(weights), clean.encode(task.x_val[:4])).numpy()
    assert np.corrcoef(evs.ravel(), exact.ravel())[0, 1] > 0.5  # noisy, sampled, but the same circuit


def test_without_tier_three_the_search_ranks_noiselessly_and_only_the_best_is_simulated(tmp_path):
    """--noisy-samples 0: every candidate gets tiers 1 and 2, none a noisy simulation; the exported best's noisy
    test accuracy is on --noisy-test-samples balanced test samples."""
    from hybrid_nas.engine.stats import wilson_halfwidth
    from hybrid_nas.quantum import search

    run = search(
        task="moons",
        scope="zz_ry",
        layers=1,
        budget=2,
        epochs=1,
        noise="FakeManilaV2",
        noisy_samples=0,
        noisy_test_samples=10,
        out=tmp_path / "run",
        progress=False,
    )
    trials = run.view().ok
    assert run.view().quality == "accuracy" and len(trials) == 2
    assert all("clifford_score" in t.metrics and "noisy_accuracy" not in t.metrics for t in trials)
    test = run.result["test"]
    assert test["noisy_test_accuracy_samples"] == 10
    assert test["noisy_test_accuracy_ci"] == pytest.approx(wilson_halfwidth(test["noisy_test_accuracy"], 10))
    assert "| est_fidelity | clifford_score |" in (tmp_path / "run" / "summary.md").read_text()


def test_bad_tier_settings_are_one_line(tmp_path):
    from hybrid_nas.engine.errors import ConfigError
    from hybrid_nas.quantum import search

    for bad, least in (({"noisy_samples": -1}, 0), ({"clifford_replicas": -2}, 0), ({"noisy_test_samples": 0}, 1)):
        with pytest.raises(ConfigError, match=f"must be at least {least}"):
            search(task="moons", budget=1, out=tmp_path / "bad", progress=False, **bad)
    assert not (tmp_path / "bad").exists()
