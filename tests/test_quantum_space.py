import numpy as np
import pytest

from hybrid_nas import ConfigError
from hybrid_nas.quantum.circuit import qiskit_expvals, to_pennylane
from hybrid_nas.quantum.hardware import fake_backend, hardware_figures
from hybrid_nas.quantum.space import CircuitSpace, load_scopes


@pytest.mark.parametrize("scope", sorted(load_scopes()))
def test_scope_restricts_the_options_and_circuits_build(scope):
    space = CircuitSpace(n_qubits=3, max_layers=2, scope=scope)
    s = load_scopes()[scope]
    assert set(space["L1.rot.q2"].options) == {"none", *s.rotations}
    assert set(space["L0.ent"].options) == {"none", *s.entanglers}
    rng = np.random.default_rng(0)
    for _ in range(3):
        arch = space.canonical(space.sample(rng))
        circuit = space.build(arch)
        used = {op.gate for op in circuit.ops[circuit.n_features:]} if arch["encoder"] == "rx" else set()
        assert used <= {*s.rotations, *(e.rpartition("_")[0] for e in s.entanglers)}
        w = rng.uniform(-1, 1, circuit.n_weights)
        x = rng.uniform(0, 1, circuit.n_features)
        assert np.allclose(np.array(to_pennylane(circuit)(w, x)), qiskit_expvals(circuit, w, x), atol=1e-6)


def test_full_scope_is_the_union_of_the_others():
    scopes = load_scopes()
    full = scopes.pop("full")
    assert set().union(*(s.rotations for s in scopes.values())) <= set(full.rotations)
    assert set().union(*(s.entanglers for s in scopes.values())) <= set(full.entanglers)


def test_baseline_circuit_figures_and_canonical_form():
    space = CircuitSpace(n_qubits=4, max_layers=3, scope="u3cu3")
    base = space.uniform(2, "u3", "cu3_ring")
    figures = space.build(base).figures()
    # 2 blocks x (4 U3 + 4 CU3) x 3 parameters; 16 encoder gates before them
    assert figures["params"] == 48 and figures["two_qubit_gates"] == 8 and figures["gates"] == 16 + 16
    assert base["L2.ent"] == "none" and space.canonical(base.replace(**{"L2.ent": "cu3_ring"})) == base
    with pytest.raises(ConfigError, match="cannot build"):
        space.uniform(2, "rx", "cnot_ring")


def test_unknown_scope_backend_and_sizes_are_clear_errors():
    with pytest.raises(ConfigError, match="did you mean 'u3cu3'"):
        CircuitSpace(scope="u3cu")
    with pytest.raises(ConfigError, match="did you mean 'FakeManilaV2'"):
        fake_backend("FakeManila")
    with pytest.raises(ConfigError, match="at least 2 qubits"):
        CircuitSpace(n_qubits=1)


def test_hardware_figures_on_a_fake_backend():
    backend = fake_backend("FakeManilaV2")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="u3cu3")
    small, big = space.uniform(1, "u3", "none"), space.uniform(2, "u3", "cu3_ring")
    f_small, f_big = (hardware_figures(space.build(a), backend) for a in (small, big))
    assert f_small["transpiled_two_qubit_gates"] == 0 and f_big["transpiled_two_qubit_gates"] >= 16  # >= 2 CX per CU3
    assert 0 < f_big["est_fidelity"] < f_small["est_fidelity"] < 1
    assert f_big["transpiled_depth"] > f_small["transpiled_depth"]
