"""The gate catalogue: each gate declares its wires and parameters and how PennyLane and Qiskit apply it.

One table, so a new gate is one entry, and the PennyLane-vs-Qiskit test covers it automatically.
Qiskit's ``U(theta, phi, lam)`` and PennyLane's ``U3`` are the same matrix; ``cu3`` is the controlled
U3 (Qiskit's ``cu`` with global phase 0); ``rzz``/``rxx``/``rzx`` are ``exp(-i theta/2 P(x)Q)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pennylane as qml


@dataclass(frozen=True)
class Gate:
    name: str
    num_wires: int
    num_params: int
    pennylane: Callable  # (params, wires) -> None, inside a QNode
    qiskit: Callable  # (QuantumCircuit, params, wires) -> None


def _pl_rzx(p, w):
    # exp(-i t/2 Z(c) X(t)) = H(t) . exp(-i t/2 Z(c) Z(t)) . H(t)
    qml.Hadamard(wires=w[1])
    qml.IsingZZ(p[0], wires=w)
    qml.Hadamard(wires=w[1])


GATES: dict[str, Gate] = {g.name: g for g in (
    # one-qubit
    Gate("rx", 1, 1, lambda p, w: qml.RX(p[0], wires=w), lambda qc, p, w: qc.rx(p[0], *w)),
    Gate("ry", 1, 1, lambda p, w: qml.RY(p[0], wires=w), lambda qc, p, w: qc.ry(p[0], *w)),
    Gate("rz", 1, 1, lambda p, w: qml.RZ(p[0], wires=w), lambda qc, p, w: qc.rz(p[0], *w)),
    Gate("u3", 1, 3, lambda p, w: qml.U3(*p, wires=w), lambda qc, p, w: qc.u(*p, *w)),
    Gate("h", 1, 0, lambda p, w: qml.Hadamard(wires=w), lambda qc, p, w: qc.h(*w)),
    Gate("sx", 1, 0, lambda p, w: qml.SX(wires=w), lambda qc, p, w: qc.sx(*w)),
    Gate("x", 1, 0, lambda p, w: qml.PauliX(wires=w), lambda qc, p, w: qc.x(*w)),
    # two-qubit
    Gate("cnot", 2, 0, lambda p, w: qml.CNOT(wires=w), lambda qc, p, w: qc.cx(*w)),
    Gate("cz", 2, 0, lambda p, w: qml.CZ(wires=w), lambda qc, p, w: qc.cz(*w)),
    Gate("crx", 2, 1, lambda p, w: qml.CRX(p[0], wires=w), lambda qc, p, w: qc.crx(p[0], *w)),
    Gate("cry", 2, 1, lambda p, w: qml.CRY(p[0], wires=w), lambda qc, p, w: qc.cry(p[0], *w)),
    Gate("crz", 2, 1, lambda p, w: qml.CRZ(p[0], wires=w), lambda qc, p, w: qc.crz(p[0], *w)),
    Gate("cu3", 2, 3, lambda p, w: qml.ctrl(qml.U3, control=w[0])(*p, wires=w[1]),
         lambda qc, p, w: qc.cu(*p, 0, *w)),
    Gate("rzz", 2, 1, lambda p, w: qml.IsingZZ(p[0], wires=w), lambda qc, p, w: qc.rzz(p[0], *w)),
    Gate("rxx", 2, 1, lambda p, w: qml.IsingXX(p[0], wires=w), lambda qc, p, w: qc.rxx(p[0], *w)),
    Gate("rzx", 2, 1, _pl_rzx, lambda qc, p, w: qc.rzx(p[0], *w)),
)}
