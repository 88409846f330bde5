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
        used = {op.gate for op in circuit.ops[circuit.n_features :]} if arch["encoder"] == "rx" else set()
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


def test_the_interleaved_encoder_opens_each_layer_with_one_row_of_the_image():
    space = CircuitSpace(n_qubits=4, max_layers=4, scope="rxyz", encoders=("ryzxy", "ryzxy_interleaved"))
    one = space.uniform(1, "ry", "cnot_ring", "ryzxy_interleaved")
    assert space.build(one) == space.build(one.replace(encoder="ryzxy"))  # one layer: every row up front
    circuit = space.build(space.uniform(2, "ry", "cnot_ring", "ryzxy_interleaved"))
    reads = [min((p[1] for p in op.params if p[0] == "x"), default=None) for op in circuit.ops]
    # row 0 (features 0-3), then layer 0's 4 RY + 4 CNOT, then rows 1-3 (features 4-15), then layer 1
    assert reads[:4] == [0, 1, 2, 3] and reads[4:12] == [None] * 8 and reads[12:24] == list(range(4, 16))
    assert reads[24:] == [None] * 8
    deep = space.build(space.uniform(4, "ry", "cnot_ring", "ryzxy_interleaved"))
    rows = [i for i, op in enumerate(deep.ops) if op.params and op.params[0][0] == "x"]
    assert [rows[4 * b] for b in range(4)] == [0, 12, 24, 36]  # a row in front of every layer


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


def test_the_noisy_run_transpiles_once_to_the_same_figures():
    # the evaluator reads the hardware figures off the transpile its noisy run uses (data left symbolic)
    from hybrid_nas.quantum.hardware import transpiled_figures
    from hybrid_nas.quantum.noise import DeviceRun

    backend = fake_backend("FakeManilaV2")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="full", encoders=("ryzxy_interleaved",))
    circuit = space.build(space.uniform(2, "u3", "cu3_ring", "ryzxy_interleaved"))
    weights = np.random.default_rng(0).uniform(0.1, 3.0, circuit.n_weights)
    run = DeviceRun(circuit, weights, backend)
    assert run.tqc.parameters and len(run.tqc.parameters) == circuit.n_features
    ours, bound = transpiled_figures(run.tqc, backend, 4), hardware_figures(circuit, backend)
    assert ours["transpiled_two_qubit_gates"] == bound["transpiled_two_qubit_gates"]
    assert ours["est_fidelity"] == pytest.approx(bound["est_fidelity"], rel=0.05)
