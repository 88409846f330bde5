import zlib

import numpy as np
import pytest

from hybrid_nas import SpaceError
from hybrid_nas.quantum.circuit import (
    ENCODERS,
    Circuit,
    Op,
    encoder_stages,
    entangler_pairs,
    qiskit_expvals,
    to_pennylane,
    to_qasm3,
    to_qiskit,
)
from hybrid_nas.quantum.gates import GATES


def random_circuit(rng, n_qubits, gates, n_ops=12, encoder="ryzxy"):
    """The encoder's stages with random trainable gates after each, so interleaved encoders put data
    gates after trainable ones."""
    stages, n_features = encoder_stages(encoder, n_qubits)
    ops, k = [], 0
    for s, stage in enumerate(stages):
        ops += stage
        for _ in range(n_ops // len(stages) + (s < n_ops % len(stages))):
            g = GATES[gates[rng.integers(len(gates))]]
            wires = tuple(int(w) for w in rng.choice(n_qubits, size=g.num_wires, replace=False))
            ops.append(Op(g.name, wires, tuple(("w", k + i) for i in range(g.num_params))))
            k += g.num_params
    return Circuit(n_qubits, tuple(ops), n_features)


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_pennylane_and_qiskit_agree_on_every_gate(gate, encoder):
    rng = np.random.default_rng(zlib.crc32(f"{gate} {encoder}".encode()))  # hash() of a str varies per process
    # the gate under test among random others, so it acts on non-trivial states
    circuit = random_circuit(rng, 3, [gate, gate, "u3", "cnot"], n_ops=10, encoder=encoder)
    assert any(op.gate == gate for op in circuit.ops) or gate in ("u3", "cnot")
    weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    qnode = to_pennylane(circuit)
    for x in rng.uniform(0, np.pi, (3, circuit.n_features)):
        assert np.allclose(np.array(qnode(weights, x)), qiskit_expvals(circuit, weights, x), atol=1e-6)


def test_pennylane_broadcasts_a_batch_of_samples():
    rng = np.random.default_rng(0)
    circuit = random_circuit(rng, 4, sorted(GATES), n_ops=20)
    weights = rng.uniform(-np.pi, np.pi, circuit.n_weights)
    xs = rng.uniform(0, np.pi, (5, circuit.n_features))
    batched = np.array(to_pennylane(circuit)(weights, xs))  # (wires, batch)
    assert batched.shape == (4, 5)
    for b in range(5):
        assert np.allclose(batched[:, b], qiskit_expvals(circuit, weights, xs[b]), atol=1e-6)


def test_figures_count_params_gates_and_depth():
    ops = (
        Op("ry", (0,), (("x", 0),)),
        Op("u3", (1,), (("w", 0), ("w", 1), ("w", 2))),
        Op("cnot", (0, 1)),
        Op("rz", (2,), (("w", 3),)),
        Op("cu3", (1, 2), (("w", 4), ("w", 5), ("w", 6))),
    )
    figures = Circuit(3, ops, 1).figures()
    assert figures == {"params": 7.0, "gates": 5.0, "two_qubit_gates": 2.0, "depth": 3.0}
    qc = to_qiskit(Circuit(3, ops, 1))
    assert qc.depth() == 3 and len(qc.parameters) == 8  # 7 weights + 1 feature, as Qiskit counts them


def test_qasm3_export_names_the_gates():
    rng = np.random.default_rng(1)
    circuit = random_circuit(rng, 2, ["cu3", "rzz"], n_ops=4, encoder="rx")
    text = to_qasm3(circuit, rng.uniform(size=circuit.n_weights))
    assert text.startswith("OPENQASM 3.0;") and "qubit[2] q;" in text
    assert text.count("input float[64] _x_") == circuit.n_features  # data features stay inputs, weights are bound
    assert ("cu(" in text) == any(op.gate == "cu3" for op in circuit.ops)


def test_bad_ops_are_refused_with_what_was_expected():
    with pytest.raises(SpaceError, match="2 wires given, 1 expected"):
        Op("rx", (0, 1), (("w", 0),))
    with pytest.raises(SpaceError, match="did you mean 'cnot'"):
        Op("cnto", (0, 1))
    with pytest.raises(SpaceError, match="0 parameters given, 3 expected"):
        Op("u3", (0,))
    assert entangler_pairs("ring", 4) == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert entangler_pairs("ring", 2) == [(0, 1)]  # a 2-qubit ring would apply the same pair twice
