"""The statevector simulator of a ``Circuit``: its plan, its gradient method and its memory, chosen per
circuit and batch (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hybrid_nas.engine.devices import resolve_device
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.simulator.adjoint import Adjoint, BufferedExpvals, Plan
from hybrid_nas.quantum.simulator.analytic import BlockMatrices, FusedExpvals, FusedLoss, WeightBlocks
from hybrid_nas.quantum.simulator.buffers import Workspace, sign_table, z_expvals
from hybrid_nas.quantum.simulator.kernels import apply
from hybrid_nas.quantum.simulator.memory import available_memory, gib
from hybrid_nas.quantum.simulator.plan import BLOCK_QUBITS, FUSED_QUBITS, GateMatrices, embed, partition, trainable

PRECISIONS = {"double": torch.complex128, "single": torch.complex64}
# from this many amplitudes per batch (8 qubits at batch 64) the states kept on reused buffers beat
# autograd's backprop, which allocates a fresh batch of states per block and step
BUFFERED_AMPLITUDES = 1 << 14
GRADIENTS = ("auto", "backprop", "buffered", "adjoint")


def readout_loss(expvals: torch.Tensor, readout: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of the logits ``expvals @ readout`` against ``labels``."""
    return torch.nn.functional.cross_entropy(expvals @ readout.to(expvals.dtype), labels)


@dataclass
class Encoded:
    """A data set as the simulator takes it: the features ``x`` (samples, features) and, where they fit
    the memory budget, the states after the data encoder (samples, 2**n), computed once. Indexing
    selects samples (a batch); a batch drawn by an index tensor keeps ``rows`` into the data set's
    states instead of a copy of them (the adjoint pass gathers them into its buffer)."""

    x: torch.Tensor
    states: torch.Tensor | None = None
    rows: torch.Tensor | None = None

    def __getitem__(self, index) -> Encoded:
        if self.states is None:
            return Encoded(self.x[index])
        if self.rows is not None:
            return Encoded(self.x[index], self.states, self.rows[index])
        if isinstance(index, torch.Tensor) and index.dim() == 1 and not index.is_floating_point():
            return Encoded(self.x[index], self.states, index.to(self.states.device))
        return Encoded(self.x[index], self.states[index])

    def batch_states(self) -> torch.Tensor | None:
        """This batch's encoded states (None where they are computed per batch)."""
        if self.states is None or self.rows is None:
            return self.states
        return self.states[self.rows]

    def __len__(self) -> int:
        return len(self.x)


class Simulator:
    """``expvals(weights, encoded)`` = <Z_q> per sample; ``encode(x)`` once per data set.

    ``batch`` is the number of states run at once (a training batch; evaluation runs in chunks of it):
    the plan and the memory it needs follow from it. ``memory_budget`` (bytes; default half of what is
    free) caps the states a gradient may keep; ``gradient`` forces ``backprop``, ``buffered`` or
    ``adjoint`` (the package's docstring compares them); ``block_qubits`` forces the block size
    (``n_qubits``: the fused plan).
    """

    def __init__(
        self,
        circuit: Circuit,
        batch: int = 64,
        precision: str = "double",
        device="cpu",
        gradient: str = "auto",
        memory_budget: int | None = None,
        block_qubits: int | None = None,
    ):
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if gradient not in GRADIENTS:
            raise ConfigError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
        self.circuit, n = circuit, circuit.n_qubits
        self.dtype, self.device, self.batch = PRECISIONS[precision], resolve_device(str(device)), batch
        first = next((i for i, op in enumerate(circuit.ops) if trainable(op)), len(circuit.ops))
        self.encoder, self.ops = list(circuit.ops[:first]), list(circuit.ops[first:])
        self.block_qubits = block_qubits or (n if n <= FUSED_QUBITS else BLOCK_QUBITS)
        # a per-sample block is batch x 4^k numbers: fine for small blocks, not for the fused plan's
        self.blocks = partition(self.ops, self.block_qubits, mix_data=self.block_qubits < n)
        self.gate_matrices = GateMatrices(self.ops, self.device)
        for block in self.blocks:
            block.embedding = tuple(
                t.to(self.device) for t in embed(self.ops, block.wires, self.gate_matrices.offset, block.ops)
            )
        # the weight-only blocks' matrices and their gradient in one autograd node (see analytic.py)
        self.weight_blocks = (
            WeightBlocks(self.gate_matrices, self.blocks, self.dtype, self.device)
            if WeightBlocks.usable(self.gate_matrices)
            else None
        )
        self.state_bytes = batch * 2**n * self.dtype.itemsize
        self.memory = {
            "backprop": (len(self.blocks) + 3) * self.state_bytes,
            "buffered": (len(self.blocks) + 5) * self.state_bytes,
            "adjoint": 5 * self.state_bytes,
        }
        free = available_memory(self.device)
        if self.memory["adjoint"] > free:
            raise ConfigError(
                f"a {n}-qubit circuit needs {gib(self.memory['adjoint'])} for a batch of {batch} "
                f"states, and {gib(free)} is free on {self.device}: use fewer qubits or a smaller batch"
            )
        self.memory_budget = memory_budget or free // 2
        self.gradient = gradient if gradient != "auto" else self._gradient(batch * 2**n)
        if n <= 14:  # <Z_q> = probs @ signs; past 14 qubits the (2**n, n) table costs more than the marginals
            self.signs: torch.Tensor | None = sign_table(n, self.dtype.to_real(), self.device)  # wire 0 first
        else:
            self.signs = None
        self.plan = Plan(self.blocks, n, self.signs, Workspace(self.device))
        # one weight-only block on every qubit, on the CPU: the whole step's circuit part is one NumPy node
        whole = len(self.blocks) == 1 and not self.blocks[0].per_sample and self.blocks[0].wires == tuple(range(n))
        cpu = self.device.type == "cpu" and self.signs is not None and self.weight_blocks is not None
        self.fused_signs = self.signs.numpy() if whole and cpu and self.signs is not None else None

    def _gradient(self, amplitudes: int) -> str:
        """Kept states where they fit the budget (on reused buffers once they are large), else adjoint."""
        if amplitudes < BUFFERED_AMPLITUDES and self.memory["backprop"] <= self.memory_budget:
            return "backprop"
        return "buffered" if self.memory["buffered"] <= self.memory_budget else "adjoint"

    def describe(self) -> str:
        """The plan in one line, with the memory it needs."""
        kind = "fused" if self.block_qubits == self.circuit.n_qubits else f"blocks of <= {self.block_qubits} qubits"
        return (
            f"{self.circuit.n_qubits} qubits: {kind} ({len(self.blocks)} blocks), {self.gradient} gradients, "
            f"{str(self.dtype).removeprefix('torch.')}, {self.device}; batch {self.batch} needs "
            f"{gib(self.memory[self.gradient])}"
        )

    @property
    def data_key(self) -> str:
        """Equal for circuits whose data encoders are equal, so their ``encode`` can be shared."""
        return repr(self.encoder)

    def encode(self, x) -> Encoded:
        """Features ``x`` (samples, n_features) on the device, with the encoded states where they fit."""
        x = torch.as_tensor(x, dtype=torch.float64, device=self.device)
        fits = len(x) * 2**self.circuit.n_qubits * self.dtype.itemsize <= self.memory_budget // 4
        return Encoded(x, self._encode(x) if fits else None)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """|0...0> through the data encoder: a product of one-qubit states where it has only one-qubit gates."""
        n, rows = self.circuit.n_qubits, len(x)
        matrices = GateMatrices(self.encoder, self.device)(torch.zeros(0, device=self.device), x)
        if all(len(op.wires) == 1 for op in self.encoder):
            zero = torch.tensor([1, 0], dtype=torch.complex128, device=self.device)
            qubits = [zero.expand(rows, 2)] * n  # each qubit's state (rows, 2); no in-place: x may need grads
            for op, m in zip(self.encoder, matrices):
                qubits[op.wires[0]] = (m @ qubits[op.wires[0]].unsqueeze(-1)).squeeze(-1)
            state = qubits[0].to(self.dtype)
            for q in range(1, n):
                state = (state.unsqueeze(-1) * qubits[q].to(self.dtype).unsqueeze(1)).reshape(rows, -1)
            return state
        state = torch.zeros(rows, 2**n, dtype=self.dtype, device=self.device)
        state[:, 0] = 1
        for op, m in zip(self.encoder, matrices):
            state = apply(state, m.to(self.dtype), op.wires, n)
        return state

    def _matrices(self, weights, encoded: Encoded) -> list[torch.Tensor]:
        """Every block's matrix."""
        weights = torch.as_tensor(weights, dtype=torch.float64, device=self.device)
        fixed = None
        if self.weight_blocks is not None and self.weight_blocks.blocks:
            fixed = list(BlockMatrices.apply(self.weight_blocks, weights))
            if len(fixed) == len(self.blocks):
                return fixed
        shared, data = self.gate_matrices.shared(weights), self.gate_matrices.per_sample(weights, encoded.x)
        return [
            fixed.pop(0) if fixed and not b.per_sample else b.matrix(shared, data).to(self.dtype) for b in self.blocks
        ]

    def states(self, weights, encoded: Encoded) -> torch.Tensor:
        """The final states (batch, 2**n) of the batch ``encoded``."""
        n = self.circuit.n_qubits
        states = encoded.batch_states()
        states, matrices = self._encode(encoded.x) if states is None else states, self._matrices(weights, encoded)
        if self.gradient == "adjoint" and torch.is_grad_enabled() and matrices:
            return Adjoint.apply(self.blocks, n, states, *matrices)
        for block, m in zip(self.blocks, matrices):
            states = apply(states, m, block.wires, n)
        return states

    def _fused_states(self, encoded: Encoded) -> torch.Tensor | None:
        """The batch's encoded states where the fused node takes them (no gradient asked of them)."""
        if self.fused_signs is None or (states := encoded.batch_states()) is None or states.requires_grad:
            return None
        return states

    def loss(self, weights, encoded: Encoded, readout: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The training loss: the mean cross-entropy of the logits ``expvals @ readout`` against ``labels``
        (one node with the circuit's where the fused plan runs)."""
        if (states := self._fused_states(encoded)) is not None:
            weights = torch.as_tensor(weights, dtype=torch.float64)
            args = (self.weight_blocks, self.fused_signs, readout.numpy(), labels.numpy(), states, weights)
            return FusedLoss.apply(*args)
        return readout_loss(self.expvals(weights, encoded), readout, labels)

    def expvals(self, weights, encoded: Encoded) -> torch.Tensor:
        """<Z_q> (batch, n_qubits) of the batch ``encoded``."""
        if (states := self._fused_states(encoded)) is not None:
            weights = torch.as_tensor(weights, dtype=torch.float64)
            return FusedExpvals.apply(self.weight_blocks, self.fused_signs, states, weights)
        if self.blocks and (self.gradient != "backprop" or not torch.is_grad_enabled()):
            source, index = encoded.states, encoded.rows
            if source is None:
                source = self._encode(encoded.x)
            elif index is not None and source.requires_grad:  # a gradient for the data set's states: a batch
                source, index = source[index], None
            keep = self.gradient == "buffered" and torch.is_grad_enabled()
            return BufferedExpvals.apply(self.plan, keep, source, index, *self._matrices(weights, encoded))
        states = self.states(weights, encoded)
        probs = states.real**2 + states.imag**2
        return z_expvals(probs, tuple(range(self.circuit.n_qubits)), self.signs)
