import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Clifford
from qiskit_aer.noise import NoiseModel, depolarizing_error

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.quantum.circuit import to_qiskit
from hybrid_nas.quantum.clifford import (
    circuit_noise_score,
    clifford_noise_score,
    clifford_replicas,
    elivagar_cnr,
    pauli_noise_model,
    transpiled_for_replicas,
)
from hybrid_nas.quantum.hardware import fake_backend
from hybrid_nas.quantum.space import CircuitSpace


def _circuit(n_qubits: int, entangler: str = "cu3_ring"):
    space = CircuitSpace(n_qubits=n_qubits, max_layers=2, scope="full")
    return space.build(space.uniform(2, "u3", entangler, "ryzxy"))


@pytest.fixture(scope="module")
def manila():
    return fake_backend("FakeManilaV2")


@pytest.fixture(scope="module")
def transpiled(manila):
    return transpiled_for_replicas(_circuit(3), manila)


@pytest.mark.parametrize("kind", ["round", "random"])
def test_every_replica_is_clifford_and_seeded(transpiled, kind):
    logical = to_qiskit(_circuit(3))  # u3 and cu3 with free parameters: transpiled to rz, sx, x, cx per replica
    for qc in (transpiled, logical):
        replicas = clifford_replicas(qc, kind, replicas=4, seed=3)
        assert all(Clifford(r).num_qubits == qc.num_qubits for r in replicas)
        assert replicas == clifford_replicas(qc, kind, replicas=4, seed=3)
    assert clifford_replicas(transpiled, kind, 4, seed=3) != clifford_replicas(transpiled, kind, 4, seed=4)


def test_rounding_is_idempotent_on_a_clifford_circuit():
    qc = QuantumCircuit(3)
    qc.rz(math.pi / 2, 0)
    qc.sx(0)
    qc.cx(0, 1)
    qc.rz(math.pi, 1)
    qc.rx(-math.pi / 2, 2)
    qc.ecr(1, 2)
    once = clifford_replicas(qc, "round", 1)[0]
    assert Clifford(once) == Clifford(qc)
    assert clifford_replicas(once, "round", 1)[0] == once


def test_rounding_takes_the_nearest_clifford_angle():
    qc = QuantumCircuit(1)
    qc.rz(0.9 * math.pi / 2, 0)  # nearest: S
    ref = QuantumCircuit(1)
    ref.s(0)
    assert Clifford(clifford_replicas(qc, "round", 1)[0]) == Clifford(ref)


def _depolarising(p1: float, p2: float) -> NoiseModel:
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(p1, 1), ["sx", "x"])
    model.add_all_qubit_quantum_error(depolarizing_error(p2, 2), ["ecr"])
    return model


@pytest.mark.parametrize("kind", ["round", "random"])
def test_stabilizer_shots_match_the_exact_density_matrix(transpiled, manila, kind):
    model = _depolarising(0.01, 0.05)
    common = dict(kind=kind, replicas=4, seed=1, noise_model=model)
    exact = clifford_noise_score(transpiled, manila, shots=None, method="density_matrix", **common)
    assert 0.5 < exact.score < 0.99  # the noise shows
    for method in ("stabilizer", "auto"):  # auto: a density matrix at this size, sampled
        shots = clifford_noise_score(transpiled, manila, shots=1000, method=method, **common)
        assert exact.stderr == 0 and shots.stderr > 0
        assert abs(shots.score - exact.score) < 4 * shots.stderr
    noiseless = clifford_noise_score(transpiled, manila, shots=64, **(common | {"noise_model": NoiseModel()}))
    assert noiseless.score == 1.0  # every readout qubit's input makes its ideal <Z> +-1, and it reads so


def test_the_score_falls_when_the_noise_grows(transpiled, manila):
    device = clifford_noise_score(transpiled, manila, replicas=4, shots=512)
    stronger = clifford_noise_score(
        transpiled, manila, replicas=4, shots=512, noise_model=pauli_noise_model(manila, scale=5.0)
    )
    assert stronger.score < device.score - 4 * np.hypot(device.stderr, stronger.stderr)
    assert device.active_qubits == 3 and device.runs >= 4


def test_a_twenty_qubit_circuit_on_a_127_qubit_device_runs_on_its_active_qubits():
    from qiskit_ibm_runtime.fake_provider import FakeSherbrooke

    score = circuit_noise_score(_circuit(20, "crx_ring"), FakeSherbrooke(), kind="random", replicas=2, shots=32)
    assert 0 <= score.score <= 1 and np.isfinite(score.score)
    assert score.active_qubits == 20


def test_elivagar_cnr_on_a_small_circuit(transpiled, manila):
    cnr = elivagar_cnr(transpiled, manila, replicas=4, shots=512)
    assert 0.5 < cnr < 1.0


def test_bad_input_is_one_line(transpiled, manila):
    cases = [
        lambda: circuit_noise_score(_circuit(6), manila),
        lambda: clifford_noise_score(QuantumCircuit(6), manila),
        lambda: clifford_noise_score(transpiled, manila, method="mps"),
        lambda: clifford_noise_score(transpiled, manila, kind="twirl"),
        lambda: clifford_noise_score(transpiled, manila, shots=None),
        lambda: clifford_noise_score(transpiled, manila, readout=[5]),
        lambda: elivagar_cnr(QuantumCircuit(11), fake_backend("FakeTorontoV2")),
        lambda: pauli_noise_model(manila, scale=-1.0),
    ]
    for case in cases:
        with pytest.raises(ConfigError) as err:
            case()
        assert "\n" not in str(err.value)
