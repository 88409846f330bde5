"""The gate catalogue: each gate declares its wires and parameters, how PennyLane and Qiskit apply it,
and its matrix (torch, for the package's own simulator; wire 0 is the most significant bit, as in
PennyLane).

One table, so a new gate is one entry, and the PennyLane-vs-Qiskit-vs-simulator tests cover it.
Qiskit's ``U(theta, phi, lam)`` and PennyLane's ``U3`` are the same matrix; ``cu3`` is the controlled
U3 (Qiskit's ``cu`` with global phase 0); ``rzz``/``rxx``/``rzx`` are ``exp(-i theta/2 P(x)Q)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pennylane as qml
import torch


@dataclass(frozen=True)
class Gate:
    name: str
    num_wires: int
    num_params: int
    pennylane: Callable  # (params, wires) -> None, inside a QNode
    qiskit: Callable  # (QuantumCircuit, params, wires) -> None
    matrix: Callable  # (params: list of tensors, each scalar or (batch,)) -> (..., 2**num_wires, 2**num_wires)


def _m(rows) -> torch.Tensor:
    """A matrix from rows of scalar-or-batched entries, batch axes first."""
    device = next((e.device for row in rows for e in row if isinstance(e, torch.Tensor)), None)
    entries = [torch.as_tensor(e, dtype=torch.complex128, device=device) for row in rows for e in row]
    shape = torch.broadcast_shapes(*(e.shape for e in entries))
    return torch.stack([e.expand(shape) for e in entries], -1).reshape(*shape, len(rows), len(rows[0]))


def _rot(theta, pauli: str):
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    if pauli == "x":
        return _m([[c, -1j * s], [-1j * s, c]])
    if pauli == "y":
        return _m([[c, -s], [s, c]])
    return _m([[torch.exp(-0.5j * theta), 0], [0, torch.exp(0.5j * theta)]])


def _u3(t, p, lam):
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    return _m([[c, -torch.exp(1j * lam) * s], [torch.exp(1j * p) * s, torch.exp(1j * (p + lam)) * c]])


def _controlled(u):
    """|0><0| x I + |1><1| x U, for batched U."""
    zero = torch.zeros_like(u)
    eye = torch.eye(2, dtype=u.dtype, device=u.device).expand_as(u)
    return torch.cat([torch.cat([eye, zero], -1), torch.cat([zero, u], -1)], -2)


_X = torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128)
_Z = torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128)


def _pauli_pair(theta, a, b):
    """exp(-i theta/2 A(x)B) = cos I - i sin A(x)B, as A(x)B squares to I."""
    theta = torch.as_tensor(theta, dtype=torch.float64)[..., None, None]
    eye, pair = torch.eye(4, dtype=torch.complex128, device=theta.device), torch.kron(a, b).to(theta.device)
    return torch.cos(theta / 2) * eye - 1j * torch.sin(theta / 2) * pair


def _fixed(matrix):
    m = torch.tensor(matrix, dtype=torch.complex128)
    return lambda p: m


def _pl_rzx(p, w):
    # exp(-i t/2 Z(c) X(t)) = H(t) . exp(-i t/2 Z(c) Z(t)) . H(t)
    qml.Hadamard(wires=w[1])
    qml.IsingZZ(p[0], wires=w)
    qml.Hadamard(wires=w[1])


GATES: dict[str, Gate] = {
    g.name: g
    for g in (
        # one-qubit
        Gate(
            "rx", 1, 1, lambda p, w: qml.RX(p[0], wires=w), lambda qc, p, w: qc.rx(p[0], *w), lambda p: _rot(p[0], "x")
        ),
        Gate(
            "ry", 1, 1, lambda p, w: qml.RY(p[0], wires=w), lambda qc, p, w: qc.ry(p[0], *w), lambda p: _rot(p[0], "y")
        ),
        Gate(
            "rz", 1, 1, lambda p, w: qml.RZ(p[0], wires=w), lambda qc, p, w: qc.rz(p[0], *w), lambda p: _rot(p[0], "z")
        ),
        Gate("u3", 1, 3, lambda p, w: qml.U3(*p, wires=w), lambda qc, p, w: qc.u(*p, *w), lambda p: _u3(*p)),
        Gate(
            "h",
            1,
            0,
            lambda p, w: qml.Hadamard(wires=w),
            lambda qc, p, w: qc.h(*w),
            _fixed([[2**-0.5, 2**-0.5], [2**-0.5, -(2**-0.5)]]),
        ),
        Gate(
            "sx",
            1,
            0,
            lambda p, w: qml.SX(wires=w),
            lambda qc, p, w: qc.sx(*w),
            _fixed([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]),
        ),
        Gate("x", 1, 0, lambda p, w: qml.PauliX(wires=w), lambda qc, p, w: qc.x(*w), _fixed([[0, 1], [1, 0]])),
        # two-qubit
        Gate(
            "cnot",
            2,
            0,
            lambda p, w: qml.CNOT(wires=w),
            lambda qc, p, w: qc.cx(*w),
            _fixed([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]),
        ),
        Gate(
            "cz",
            2,
            0,
            lambda p, w: qml.CZ(wires=w),
            lambda qc, p, w: qc.cz(*w),
            _fixed([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]]),
        ),
        Gate(
            "crx",
            2,
            1,
            lambda p, w: qml.CRX(p[0], wires=w),
            lambda qc, p, w: qc.crx(p[0], *w),
            lambda p: _controlled(_rot(p[0], "x")),
        ),
        Gate(
            "cry",
            2,
            1,
            lambda p, w: qml.CRY(p[0], wires=w),
            lambda qc, p, w: qc.cry(p[0], *w),
            lambda p: _controlled(_rot(p[0], "y")),
        ),
        Gate(
            "crz",
            2,
            1,
            lambda p, w: qml.CRZ(p[0], wires=w),
            lambda qc, p, w: qc.crz(p[0], *w),
            lambda p: _controlled(_rot(p[0], "z")),
        ),
        Gate(
            "cu3",
            2,
            3,
            lambda p, w: qml.ctrl(qml.U3, control=w[0])(*p, wires=w[1]),
            lambda qc, p, w: qc.cu(*p, 0, *w),
            lambda p: _controlled(_u3(*p)),
        ),
        Gate(
            "rzz",
            2,
            1,
            lambda p, w: qml.IsingZZ(p[0], wires=w),
            lambda qc, p, w: qc.rzz(p[0], *w),
            lambda p: _pauli_pair(p[0], _Z, _Z),
        ),
        Gate(
            "rxx",
            2,
            1,
            lambda p, w: qml.IsingXX(p[0], wires=w),
            lambda qc, p, w: qc.rxx(p[0], *w),
            lambda p: _pauli_pair(p[0], _X, _X),
        ),
        Gate("rzx", 2, 1, _pl_rzx, lambda qc, p, w: qc.rzx(p[0], *w), lambda p: _pauli_pair(p[0], _Z, _X)),
    )
}
