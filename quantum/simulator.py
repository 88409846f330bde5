"""The package's own training path: a torch statevector simulator of a ``Circuit`` (complex128).

At 4 qubits the cost of a PennyLane QNode is per-op Python and autograd overhead, not arithmetic. So:
- the data encoder (the ops before the first trainable one) runs once per data set;
- each run of trainable (and constant) gates is composed once per step into one 2^n x 2^n unitary
  (applied to the identity), then applied to the whole batch by one matmul;
- data gates after a trainable one (data re-uploading, interleaved encoders) have their per-sample
  matrices built once per data set; a step only applies them;
- each gate type's matrices are built in one batched call, and each gate is one einsum whose
  equation is worked out once.
PennyLane and Qiskit stay the references this is tested against (to 1e-6).
"""

from __future__ import annotations

import string
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from .circuit import Circuit, Op, _value
from .gates import GATES


@contextmanager
def one_thread():
    """Run torch on one thread, then restore. These tensors are tiny (16 x 16 at 4 qubits): intra-op
    threads only add hand-offs, and with the other core busy one step took 0.48 s instead of ~5 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _equation(wires: tuple[int, ...], n: int, batched: bool) -> str:
    """einsum applying a (2,)*2k gate tensor on ``wires`` of a (rows, 2, ..., 2) state."""
    letters = string.ascii_uppercase  # one per wire and per gate output; lower-case z is the row index
    state = letters[:n]
    outs = letters[n: n + len(wires)]
    result = list(state)
    for w, o in zip(wires, outs):
        result[w] = o
    gate = ("z" if batched else "") + outs + "".join(state[w] for w in wires)
    return f"z{state},{gate}->z{''.join(result)}"


def _reads_data(op: Op) -> bool:
    return any(p[0] != "w" for p in op.params)


def _trainable(op: Op) -> bool:
    return any(p[0] == "w" for p in op.params)


def _data_matrix(op: Op, x: torch.Tensor) -> torch.Tensor:
    """The gate's matrix per sample, as a (samples or 1, 2, ..., 2) tensor ready for its einsum."""
    m = GATES[op.gate].matrix([torch.as_tensor(_value(p, None, x), dtype=torch.float64) for p in op.params])
    m = m if m.dim() == 3 else m.unsqueeze(0)  # a constant gate: one matrix for every sample
    return m.reshape(m.shape[0], *[2] * (2 * len(op.wires)))


def _apply_per_sample(states: torch.Tensor, m: torch.Tensor, equation: str, n: int) -> torch.Tensor:
    """States (samples, 2**n) after a gate whose matrix is per sample (or one for all) from ``_data_matrix``."""
    rows = len(states)
    return torch.einsum(equation, states.reshape(rows, *[2] * n), m.expand(rows, *m.shape[1:])).reshape(rows, -1)


@dataclass
class Encoded:
    """What a data set contributes, computed once: the encoded ``states`` (samples, 2**n) and the
    per-sample matrices of every later data gate. Indexing selects samples (a batch)."""

    states: torch.Tensor
    data: list[torch.Tensor]

    def __getitem__(self, index) -> Encoded:
        return Encoded(self.states[index], [m if len(m) == 1 else m[index] for m in self.data])

    def __len__(self) -> int:
        return len(self.states)


class _Fused:
    """A run of gates with no data: composed per step into one unitary, as rows (``states @ rows``)."""

    def __init__(self, ops: list[Op], n: int):
        self.n = n
        groups: dict[str, list] = defaultdict(list)
        self.plan = []
        for op in ops:
            slot = len(groups[op.gate])
            groups[op.gate].append([p[1] for p in op.params])
            w, k = op.wires[0], len(op.wires)
            if list(op.wires) == list(range(w, w + k)):
                # wires in order and adjacent: one broadcast matmul on a (rows, 2**w, 2**k, rest) view
                self.plan.append((op.gate, slot, (2**w, 2**k, 2 ** (n - w - k)), None))
            else:
                self.plan.append((op.gate, slot, None, _equation(op.wires, n, batched=False)))
        self.weight_index = {g: torch.tensor(ix, dtype=torch.long).reshape(len(ix), -1) for g, ix in groups.items()}

    def rows(self, weights: torch.Tensor) -> torch.Tensor:
        """Row j is U e_j, so that ``states @ rows`` applies U to every state at once."""
        dim = 2**self.n
        tensors = {}
        for gate, ix in self.weight_index.items():
            m = GATES[gate].matrix([weights[ix[:, j]] for j in range(ix.shape[1])])
            tensors[gate] = m.expand(len(ix), *m.shape[-2:]) if m.dim() == 2 else m
        state = torch.eye(dim, dtype=torch.complex128)
        for gate, slot, view, equation in self.plan:
            m = tensors[gate][slot]
            if view is not None:
                state = (m @ state.reshape(dim, *view)).reshape(dim, dim)
            else:
                k = m.shape[-1].bit_length() - 1
                state = torch.einsum(equation, state.reshape(dim, *[2] * self.n), m.reshape([2] * (2 * k))).reshape(dim, dim)
        return state


class Simulator:
    """``expvals(weights, encoded)`` = <Z_q> per sample; ``encode(x)`` once per data set."""

    def __init__(self, circuit: Circuit):
        self.circuit, n = circuit, circuit.n_qubits
        first = next((i for i, op in enumerate(circuit.ops) if _trainable(op)), len(circuit.ops))
        self.encoder = circuit.ops[:first]
        self.data_ops: list[Op] = []  # data gates after the first trainable one, in order
        self._steps: list[tuple[str, object]] = []  # ("fused", _Fused) | ("data", index into data_ops)
        run: list[Op] = []
        for op in circuit.ops[first:]:
            if _reads_data(op) and _trainable(op):
                raise ValueError(f"gate {op.gate} on {op.wires} takes both data and weights: not supported")
            if not _reads_data(op):
                run.append(op)
                continue
            if run:
                self._steps.append(("fused", _Fused(run, n)))
                run = []
            self._steps.append(("data", (len(self.data_ops), _equation(op.wires, n, batched=True))))
            self.data_ops.append(op)
        if run:
            self._steps.append(("fused", _Fused(run, n)))
        index = torch.arange(2**n)
        bits = (index[:, None] >> torch.arange(n - 1, -1, -1)) & 1  # wire 0 is the most significant bit
        self.signs = (1 - 2 * bits).to(torch.float64)  # (2**n, n): <Z_q> = probs @ signs

    @property
    def data_key(self) -> str:
        """Equal for circuits whose data parts are equal, so their ``encode`` can be shared."""
        return repr((self.encoder, self.data_ops))

    def encode(self, x) -> Encoded:
        """The encoded states (samples, 2**n) of features ``x`` (samples, n_features), and the matrices of
        every later data gate."""
        n = self.circuit.n_qubits
        x = torch.as_tensor(x, dtype=torch.float64)
        state = torch.zeros(x.shape[0], 2**n, dtype=torch.complex128)
        state[:, 0] = 1
        for op in self.encoder:
            state = _apply_per_sample(state, _data_matrix(op, x), _equation(op.wires, n, batched=True), n)
        return Encoded(state, [_data_matrix(op, x) for op in self.data_ops])

    def expvals(self, weights, encoded: Encoded) -> torch.Tensor:
        weights = torch.as_tensor(weights, dtype=torch.float64)
        n, psi = self.circuit.n_qubits, encoded.states
        for kind, step in self._steps:
            if kind == "fused":
                psi = psi @ step.rows(weights)
            else:
                i, equation = step
                psi = _apply_per_sample(psi, encoded.data[i], equation, n)
        return (psi.real**2 + psi.imag**2) @ self.signs
