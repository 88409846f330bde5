"""The package's own training path: a torch statevector simulator of a ``Circuit`` (complex128).

At 4 qubits the cost of a PennyLane QNode is per-op Python and autograd overhead, not arithmetic. So:
- the data encoder (the ops before the first trainable one) runs once per data set;
- the trainable block is composed once per step into one 2^n x 2^n unitary (applied to the identity),
  then applied to the whole batch by one matmul;
- each gate type's matrices are built in one batched call, and each gate is one einsum whose
  equation is worked out once.
PennyLane and Qiskit stay the references this is tested against (to 1e-6).
"""

from __future__ import annotations

import string
from collections import defaultdict
from contextlib import contextmanager

import torch

from .circuit import Circuit, _value
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


class Simulator:
    """``expvals(weights, encoded)`` = <Z_q> per sample; ``encode(x)`` once per data set."""

    def __init__(self, circuit: Circuit):
        self.circuit, n = circuit, circuit.n_qubits
        first = next((i for i, op in enumerate(circuit.ops) if any(p[0] == "w" for p in op.params)), len(circuit.ops))
        self.encoder, self.block = circuit.ops[:first], circuit.ops[first:]
        if any(p[0] != "w" for op in self.block for p in op.params):
            raise ValueError("data re-uploading after a trainable gate is not supported by the fused simulator")
        index = torch.arange(2**n)
        bits = (index[:, None] >> torch.arange(n - 1, -1, -1)) & 1  # wire 0 is the most significant bit
        self.signs = (1 - 2 * bits).to(torch.float64)  # (2**n, n): <Z_q> = probs @ signs
        # the block, grouped by gate type: weight indices (count, num_params) and each op's slot
        groups: dict[str, list] = defaultdict(list)
        self._plan = []
        for op in self.block:
            slot = len(groups[op.gate])
            groups[op.gate].append([p[1] for p in op.params])
            w, k = op.wires[0], len(op.wires)
            if list(op.wires) == list(range(w, w + k)):
                # wires in order and adjacent: one broadcast matmul on a (rows, 2**w, 2**k, rest) view
                self._plan.append((op.gate, slot, (2**w, 2**k, 2 ** (n - w - k)), None))
            else:
                self._plan.append((op.gate, slot, None, _equation(op.wires, n, batched=False)))
        self._weight_index = {g: torch.tensor(ix, dtype=torch.long).reshape(len(ix), -1) for g, ix in groups.items()}

    def _gate_tensors(self, weights: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for gate, ix in self._weight_index.items():
            m = GATES[gate].matrix([weights[ix[:, j]] for j in range(ix.shape[1])])
            out[gate] = m.expand(len(ix), *m.shape[-2:]) if m.dim() == 2 else m
        return out

    def encode(self, x) -> torch.Tensor:
        """Encoded states (samples, 2**n) of features ``x`` (samples, n_features)."""
        n = self.circuit.n_qubits
        x = torch.as_tensor(x, dtype=torch.float64)
        state = torch.zeros(x.shape[0], *[2] * n, dtype=torch.complex128)
        state.view(x.shape[0], -1)[:, 0] = 1
        for op in self.encoder:
            m = GATES[op.gate].matrix([torch.as_tensor(_value(p, None, x), dtype=torch.float64) for p in op.params])
            k = len(op.wires)
            batched = m.dim() == 3
            state = torch.einsum(_equation(op.wires, n, batched), state, m.reshape(*m.shape[:-2], *[2] * (2 * k)))
        return state.reshape(x.shape[0], -1)

    def unitary_rows(self, weights) -> torch.Tensor:
        """Row j is U e_j, so that ``states @ rows`` applies U to every state at once."""
        n = self.circuit.n_qubits
        tensors = self._gate_tensors(torch.as_tensor(weights, dtype=torch.float64))
        state = torch.eye(2**n, dtype=torch.complex128)
        for gate, slot, view, equation in self._plan:
            m = tensors[gate][slot]
            if view is not None:
                state = (m @ state.reshape(2**n, *view)).reshape(2**n, 2**n)
            else:
                k = m.shape[-1].bit_length() - 1
                state = torch.einsum(equation, state.reshape(2**n, *[2] * n), m.reshape([2] * (2 * k))).reshape(2**n, 2**n)
        return state

    def expvals(self, weights, encoded: torch.Tensor) -> torch.Tensor:
        psi = encoded @ self.unitary_rows(weights)
        return (psi.real**2 + psi.imag**2) @ self.signs
