"""A framework-neutral circuit description, its cost figures, and builders to PennyLane, Qiskit and QASM 3.

A ``Circuit`` is a tuple of ``Op``s on ``n_qubits`` wires. Each op parameter names its source:
``("w", k)`` trainable weight k, ``("x", i)`` data feature i, ``("zz", i, j)`` the ZZ feature map's
``(pi - x_i)(pi - x_j)``. The readout is the PauliZ expectation of every wire. A circuit built on a
device (``layout``) names the physical qubit of each wire; the transpiler then places it there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hybrid_nas.engine.errors import SpaceError, unknown
from hybrid_nas.quantum.gates import GATES

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
    layout: tuple[int, ...] | None = None  # the device's physical qubit of each wire (None: the transpiler picks)

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


def entangler_pairs(pattern: str, n: int, edges: tuple[tuple[int, int], ...] | None = None) -> list[tuple[int, int]]:
    """``ring``: (0,1), (1,2), ..., (n-1,0); ``chain``: (0,1), ..., (n-2,n-1); ``edges``: the device
    couplers among the first ``n`` wires, ``edges`` (a layout's, see quantum.layout), as given."""
    if pattern == "edges":
        if edges is None:
            raise SpaceError("the 'edges' entangler pattern needs a device layout (--layout device)")
        return [(a, b) for a, b in edges if a < n and b < n]
    if pattern == "chain" or n == 2:
        return [(i, i + 1) for i in range(n - 1)]
    if pattern == "ring":
        return [(i, (i + 1) % n) for i in range(n)]
    raise SpaceError(unknown("entangler pattern", pattern, ("ring", "chain", "edges")))


# An encoder lays its data gates out as rows (one feature per qubit per row) and says where they go:
# "front" puts every row before the first layer; "interleaved" puts row r in front of layer r (the last
# layer takes what is left), so the trainable layers mix the qubits between rows; "reupload" puts every
# row in front of every layer (data re-uploading).

_RYZXY = ("ry", "rz", "rx")  # rows cycle RY, RZ, RX: four rows are QuantumNAS's ryzxy (RY, RZ, RX, RY)


def _rotation_rows(gates: tuple[str, ...]):
    def rows(n: int, n_features: int) -> list[list[Op]]:
        return [
            [Op(gates[r % len(gates)], (q,), (("x", r * n + q),)) for q in range(n) if r * n + q < n_features]
            for r in range(-(-n_features // n))
        ]

    return rows


def _zz_rows(n: int, n_features: int) -> list[list[Op]]:
    # the ZZ feature map (Havlicek et al. 2019), one repetition, linear entanglement, on the first n_features qubits
    if n_features > n:
        raise SpaceError(f"the zz encoder takes at most one feature per qubit: {n_features} features, {n} qubits")
    ops = [Op("h", (q,)) for q in range(n_features)] + [Op("rz", (q,), (("x", q),)) for q in range(n_features)]
    for i, j in entangler_pairs("chain", n_features) if n_features >= 2 else ():
        ops += [Op("cnot", (i, j)), Op("rz", (j,), (("zz", i, j),)), Op("cnot", (i, j))]
    return [ops]


@dataclass(frozen=True)
class Encoder:
    rows: Callable[[int, int], list[list[Op]]]  # (n_qubits, n_features) -> rows of data gates
    placement: str  # front | interleaved | reupload
    features_per_qubit: int  # the width it is made for (digits4: 16 pooled pixels on 4 qubits)


ENCODERS = {
    "ryzxy": Encoder(_rotation_rows(_RYZXY), "front", 4),
    # the same gates, a row per layer: the layers between rows mix the qubits, so the state is no longer
    # a product of one-qubit states (with ryzxy, even a 144-parameter block stays near 86 % test accuracy
    # on digits4, and so does a linear model on the encoded states' product features)
    "ryzxy_interleaved": Encoder(_rotation_rows(_RYZXY), "interleaved", 4),
    "ryzxy_reupload": Encoder(_rotation_rows(_RYZXY), "reupload", 4),
    "rx": Encoder(_rotation_rows(("rx",)), "front", 1),
    "rx_reupload": Encoder(_rotation_rows(("rx",)), "reupload", 1),
    "zz": Encoder(_zz_rows, "front", 1),
}


def get_encoder(name: str) -> Encoder:
    if name not in ENCODERS:
        raise SpaceError(unknown("encoder", name, ENCODERS))
    return ENCODERS[name]


def encoder_stages(
    name: str, n_qubits: int, n_features: int | None = None, layers: int | None = None
) -> tuple[list[list[Op]], int]:
    """The encoder's data gates as one stage per layer (for ``layers``; without it, as the encoder lays
    them out), and the number of features it reads (default: the width it is made for)."""
    encoder = get_encoder(name)
    n_features = n_features or encoder.features_per_qubit * n_qubits
    rows = encoder.rows(n_qubits, n_features)
    if encoder.placement == "front" or (encoder.placement == "reupload" and layers is None):
        stages = [sum(rows, [])]
    elif encoder.placement == "reupload" and layers is not None:  # (None is the branch above)
        stages = [sum(rows, [])] * layers
    else:
        stages = rows if layers is None else rows[: layers - 1] + [sum(rows[layers - 1 :], [])]
    return stages, n_features


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
