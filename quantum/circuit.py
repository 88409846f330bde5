"""A framework-neutral circuit description, its cost figures, and builders to PennyLane, Qiskit and QASM 3.

A ``Circuit`` is a tuple of ``Op``s on ``n_qubits`` wires. Each op parameter names its source:
``("w", k)`` trainable weight k, ``("x", i)`` data feature i, ``("zz", i, j)`` the ZZ feature map's
``(pi - x_i)(pi - x_j)``. The readout is the PauliZ expectation of every wire.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hybrid_nas.errors import SpaceError, unknown

from .gates import GATES

Source = tuple  # ("w", k) | ("x", i) | ("zz", i, j)


@dataclass(frozen=True)
class Op:
    gate: str
    wires: tuple[int, ...]
    params: tuple[Source, ...] = ()

    def __post_init__(self):
        if self.gate not in GATES:
            raise SpaceError(unknown("gate", self.gate, GATES))
        g = GATES[self.gate]
        if len(self.wires) != g.num_wires:
            raise SpaceError(f"gate {self.gate!r}: {len(self.wires)} wires given, {g.num_wires} expected")
        if len(set(self.wires)) != len(self.wires):
            raise SpaceError(f"gate {self.gate!r}: wires {self.wires} repeat a wire")
        if len(self.params) != g.num_params:
            raise SpaceError(f"gate {self.gate!r}: {len(self.params)} parameters given, {g.num_params} expected")


@dataclass(frozen=True)
class Circuit:
    n_qubits: int
    ops: tuple[Op, ...]
    n_features: int

    @property
    def n_weights(self) -> int:
        """Length of the weight vector the circuit indexes (a SuperCircuit's whole bank for a sub-circuit)."""
        return 1 + max((p[1] for op in self.ops for p in op.params if p[0] == "w"), default=-1)

    @property
    def n_params(self) -> int:
        """Trainable parameters the circuit uses."""
        return len({p[1] for op in self.ops for p in op.params if p[0] == "w"})

    def figures(self) -> dict[str, float]:
        """Logical cost figures of the whole circuit (encoder included: it runs on the device too)."""
        level = [0] * self.n_qubits
        for op in self.ops:
            top = 1 + max(level[w] for w in op.wires)
            for w in op.wires:
                level[w] = top
        return {
            "params": float(self.n_params),
            "gates": float(len(self.ops)),
            "two_qubit_gates": float(sum(len(op.wires) == 2 for op in self.ops)),
            "depth": float(max(level, default=0)),
        }


# ---- entangler wiring and data encoders -------------------------------------------------------------

def entangler_pairs(pattern: str, n: int) -> list[tuple[int, int]]:
    """``ring``: (0,1), (1,2), ..., (n-1,0); ``chain``: (0,1), ..., (n-2,n-1)."""
    if pattern == "chain" or n == 2:
        return [(i, i + 1) for i in range(n - 1)]
    if pattern == "ring":
        return [(i, (i + 1) % n) for i in range(n)]
    raise SpaceError(unknown("entangler pattern", pattern, ("ring", "chain")))


# An encoder gives its data gates as stages: the space puts stage s in front of layer s (the last
# layer takes what is left), so a one-stage encoder runs before the whole circuit, and a many-stage
# one interleaves the data with the trainable layers.

def _ryzxy_rows(n: int) -> list[list[Op]]:
    # features [0, n) as RY on wires 0..n-1, [n, 2n) as RZ, [2n, 3n) as RX, [3n, 4n) as RY:
    # QuantumNAS's 4x4_ryzxy for 16 pooled pixels (row b of the 4x4 image is row b here) on 4 qubits
    return [[Op(g, (q,), (("x", b * n + q),)) for q in range(n)] for b, g in enumerate(("ry", "rz", "rx", "ry"))]


def _encode_ryzxy(n: int) -> tuple[list[list[Op]], int]:
    return [sum(_ryzxy_rows(n), [])], 4 * n


def _encode_ryzxy_interleaved(n: int) -> tuple[list[list[Op]], int]:
    # the same gates, a row per layer: the layers between rows mix the qubits, so the state is no
    # longer a product of one-qubit states (with ryzxy, even a 144-parameter block stays near 86 %
    # test accuracy on digits4, and so does a linear model on the encoded states' product features)
    return _ryzxy_rows(n), 4 * n


def _encode_rx(n: int) -> tuple[list[list[Op]], int]:
    return [[Op("rx", (q,), (("x", q),)) for q in range(n)]], n


def _encode_zz(n: int) -> tuple[list[list[Op]], int]:
    # the ZZ feature map (Havlicek et al. 2019), one repetition, linear entanglement
    ops = [Op("h", (q,)) for q in range(n)] + [Op("rz", (q,), (("x", q),)) for q in range(n)]
    for i, j in entangler_pairs("chain", n):
        ops += [Op("cnot", (i, j)), Op("rz", (j,), (("zz", i, j),)), Op("cnot", (i, j))]
    return [ops], n


ENCODERS = {"ryzxy": _encode_ryzxy, "ryzxy_interleaved": _encode_ryzxy_interleaved, "rx": _encode_rx,
            "zz": _encode_zz}


def encoder_stages(name: str, n_qubits: int) -> tuple[list[list[Op]], int]:
    """The encoder's data gates, as stages (see above), and the number of features it reads."""
    if name not in ENCODERS:
        raise SpaceError(unknown("encoder", name, ENCODERS))
    return ENCODERS[name](n_qubits)


def encoder_choices(spec: str | None, task_encoder: str) -> tuple[str, ...]:
    """The encoder decision's options: ``spec`` ("ryzxy,zz") if given, else the task's encoder and its
    interleaved variant where it has one."""
    if spec:
        return tuple(e.strip() for e in str(spec).split(",") if e.strip())
    return tuple(e for e in (task_encoder, f"{task_encoder}_interleaved") if e in ENCODERS)


# ---- builders ---------------------------------------------------------------------------------------

def _value(source: Source, weights, x):
    kind = source[0]
    if kind == "w":
        return weights[source[1]]
    if kind == "x":
        return x[..., source[1]]
    return (math.pi - x[..., source[1]]) * (math.pi - x[..., source[2]])


def to_pennylane(circuit: Circuit, device: str = "default.qubit", interface: str = "auto", diff_method="best"):
    """A QNode ``f(weights, x) -> [<Z_0>, ..., <Z_{n-1}>]``; ``x`` may hold a batch (broadcast)."""
    import pennylane as qml

    dev = qml.device(device, wires=circuit.n_qubits)

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def qnode(weights, x):
        for op in circuit.ops:
            GATES[op.gate].pennylane([_value(p, weights, x) for p in op.params], list(op.wires))
        return [qml.expval(qml.PauliZ(q)) for q in range(circuit.n_qubits)]

    return qnode


def to_qiskit(circuit: Circuit, weights=None, x=None):
    """A ``QuantumCircuit``: numbers where ``weights``/``x`` are given, else Parameters ``w[k]``/``x[i]``."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    w = ParameterVector("w", circuit.n_weights) if weights is None else np.asarray(weights, float)
    f = ParameterVector("x", circuit.n_features) if x is None else np.asarray(x, float)
    qc = QuantumCircuit(circuit.n_qubits)
    for op in circuit.ops:
        # a ParameterVector takes no x[..., i]: plain features are indexed directly
        params = [f[p[1]] if p[0] == "x" else _value(p, w, f) for p in op.params]
        GATES[op.gate].qiskit(qc, params, list(op.wires))
    return qc


def to_qasm3(circuit: Circuit, weights, x=None) -> str:
    """OpenQASM 3 of the circuit with trained weights bound (data features left as inputs if ``x`` is None)."""
    from qiskit import qasm3

    return qasm3.dumps(to_qiskit(circuit, weights, x))


def z_observables(n_qubits: int):
    """PauliZ on each wire as ``SparsePauliOp``s (Qiskit orders qubits little-endian)."""
    from qiskit.quantum_info import SparsePauliOp

    return [SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n_qubits) for q in range(n_qubits)]


def qiskit_expvals(circuit: Circuit, weights, x) -> np.ndarray:
    """Exact <Z_q> of one sample by Qiskit's statevector: the reference other paths are checked against."""
    from qiskit.quantum_info import Statevector

    state = Statevector(to_qiskit(circuit, weights, x))
    return np.array([state.expectation_value(o).real for o in z_observables(circuit.n_qubits)])
