"""The package's own training path: a torch statevector simulator of a ``Circuit``, batched over samples.

A circuit is cut into *blocks*: runs of gates on at most ``k`` qubits (greedy fusion, as qsim and
qulacs fuse). Each block becomes one 2^k x 2^k matrix per step, per sample where a gate reads data, and
is applied to the whole batch of states by one (batched) matmul. The plan picks ``k`` per circuit:

- **fused** (``k = n``): every run of gates between data gates is one 2^n x 2^n unitary. At a few qubits
  a step costs per-op overhead, not arithmetic, and this plan has the fewest ops; its matrix grows as
  4^n, so it loses once 2^n nears the batch.
- **blocks** (``k = 4``): no 2^n x 2^n matrix is ever built; memory is a few batches of states.

Measured here (one thread, batch 64, RX encoding + 2 x (U3 on every qubit + CRX ring), samples/s): at
5 qubits fused 36k vs blocks of 4 38k, at 6 qubits 8.4k vs 31k, at 8 qubits 1.7k vs 19k; blocks of 4
beat blocks of 2 or 3 at every size (6 to 12 qubits) and tie blocks of 5. So the crossover is at 5
qubits, and the plan is fused up to 4 qubits (where it is the 4-qubit block) and blocks of 4 beyond.

A block of weight-only gates is built with few autograd nodes: every gate's matrix comes from one
gather into its K x K embedding, and the block's product from pairwise batched matmuls.

Gradients: **backprop** (torch autograd keeps every intermediate batch of states) while that fits the
memory budget, else **adjoint** (a custom autograd function that keeps the final states and recovers
earlier ones backwards by the inverse blocks: a few batches of states whatever the depth). They agree to
1e-8 (tested), for the weights and for the data. A circuit whose adjoint run does not fit the memory
free on its device is refused in one line before anything is allocated.

The data encoder in front of the first trainable gate runs once per data set when its states fit the
budget, else once per batch (as a product state when it has only one-qubit gates). PennyLane and Qiskit
stay the references every plan is tested against (to 1e-6).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from hybrid_nas.engine.devices import resolve_device
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.scoped import torch_threads
from hybrid_nas.quantum.circuit import Circuit, Op, _value
from hybrid_nas.quantum.gates import GATES

PRECISIONS = {"double": torch.complex128, "single": torch.complex64}
GRADIENTS = ("auto", "backprop", "adjoint")
BLOCK_QUBITS = 4  # a 16 x 16 matmul per pass costs about what a 2 x 2 one does: memory-bound either way
SMALL_STATE = 1 << 16  # below this many amplitudes per batch, intra-op threads only add hand-offs


def available_memory(device: torch.device) -> int:
    """Bytes free for new tensors on ``device`` now."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    import psutil

    return psutil.virtual_memory().available  # free plus reclaimable cache, on every OS


def threads_for(amplitudes: int):
    """One torch thread for small states, restored after: there intra-op threads only add hand-offs, and
    with the other core busy one 4-qubit step took 0.48 s instead of ~5 ms. Large states keep them."""
    return torch_threads(1 if amplitudes < SMALL_STATE else torch.get_num_threads())


# ---- applying a k-qubit matrix to a batch of states ---------------------------------------------------

@cache
def _equation(wires: tuple[int, ...], n: int, per_sample: bool, grad: bool = False) -> str:
    """einsum of a gate on ``wires`` of (batch, 2, ..., 2) states; the gate is (2,)*2k, with a batch axis
    first if ``per_sample``. With ``grad``: the gradient of that gate from (output grad, input state)."""
    letters = string.ascii_letters.replace("z", "")  # z is the batch axis
    state, outs = letters[:n], letters[n: n + len(wires)]
    result = list(state)
    for w, o in zip(wires, outs):
        result[w] = o
    batch = "z" if per_sample else ""
    gate = batch + outs + "".join(state[w] for w in wires)
    if grad:
        return f"z{''.join(result)},z{state}->{gate}"
    return f"z{state},{gate}->z{''.join(result)}"


def _contiguous(wires: tuple[int, ...]) -> bool:
    return wires == tuple(range(wires[0], wires[0] + len(wires)))


def apply(states: torch.Tensor, m: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """States (batch, 2**n) after the matrix ``m`` ((K, K), or (batch, K, K) per sample; K = 2**len(wires))
    on ``wires``, the matrix's qubits in that order (most significant first)."""
    rows, k = states.shape[0], len(wires)
    w, rest = wires[0], n - wires[0] - len(wires)
    if _contiguous(wires) and rest == 0:  # the last wires: one (batched) matmul on a view, no copy
        view = states.view(-1, 2**k) if m.dim() == 2 else states.view(rows, 2**w, 2**k)
        return (view @ m.mT).view(rows, -1)
    if _contiguous(wires) and m.dim() == 2:
        return (m @ states.view(-1, 2**k, 2**rest)).view(rows, -1)
    # elsewhere (and per sample: a broadcast matmul would copy the matrix for every 2**w slice), einsum
    gate = m.reshape(*m.shape[:-2], *[2] * (2 * k))
    return torch.einsum(_equation(wires, n, m.dim() == 3), states.view(rows, *[2] * n), gate).reshape(rows, -1)


def matrix_grad(grad: torch.Tensor, before: torch.Tensor, wires: tuple[int, ...], n: int,
                per_sample: bool) -> torch.Tensor:
    """Gradient of a block's matrix from the gradient of its output states and its input states
    (torch's convention: grad_M = grad_out @ input^H, summed over the batch unless ``per_sample``)."""
    rows, k = grad.shape[0], len(wires)
    rest = n - wires[0] - k
    if not per_sample and _contiguous(wires) and rest >= k:  # batched matmuls on views beat einsum's copies
        return (grad.view(-1, 2**k, 2**rest) @ before.view(-1, 2**k, 2**rest).mH).sum(0)
    g = torch.einsum(_equation(wires, n, per_sample, grad=True), grad.view(rows, *[2] * n),
                     before.conj().view(rows, *[2] * n))
    return g.reshape(*g.shape[: 1 if per_sample else 0], 2**k, 2**k)


# ---- blocks ------------------------------------------------------------------------------------------

def _reads_data(op: Op) -> bool:
    return any(p[0] != "w" for p in op.params)


def _trainable(op: Op) -> bool:
    return any(p[0] == "w" for p in op.params)


@dataclass
class Block:
    """Gates on ``wires`` (ascending) composed into one matrix, per sample if any gate reads data."""

    wires: tuple[int, ...]
    ops: list[int]  # indices into the simulated ops
    per_sample: bool
    embedding: tuple[torch.Tensor, torch.Tensor] | None = None  # (index, mask) from _embedding

    def matrix(self, shared: torch.Tensor, data: dict[int, torch.Tensor]) -> torch.Tensor:
        """(K, K), or (batch, K, K): every gate embedded in K x K by one gather (from the ``shared`` vector
        of weight-only gates, or from its own per-sample ``data`` matrices), then multiplied pairwise."""
        assert self.embedding is not None, "a block's embedding is set when its plan is made"
        index, mask = self.embedding
        if not self.per_sample:
            return _product(shared[index] * mask)
        # runs of weight-only gates are multiplied as above, then the chain with the per-sample gates
        u, run = None, []
        for j, i in enumerate(self.ops + [None]):
            if i is not None and i not in data:
                run.append(j)
                continue
            if run:
                m = _product(shared[index[run]] * mask[run])
                u, run = m if u is None else m @ u, []
            if i is not None:
                m = data[i].flatten(1)[:, index[j]] * mask[j]
                u = m if u is None else m @ u
        assert u is not None  # the loop's last step (i None) multiplies any pending run in
        return u


class GateMatrices:
    """Every op's matrix for given weights and data. Gates that read only weights are built in one call per
    gate type (fewer autograd nodes: at few qubits a step is per-op overhead) into one flat vector,
    ``shared``, where op i's (G, G) matrix starts at ``offset[i]``; gates that read data are (batch, G, G)."""

    def __init__(self, ops: list[Op], device: torch.device = torch.device("cpu")):
        self.ops = ops
        self.data = [i for i, op in enumerate(ops) if _reads_data(op)]
        by_gate: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            if not _reads_data(op):
                by_gate.setdefault(op.gate, []).append(i)
        self.by_gate: dict[str, torch.Tensor] = {}
        self.offset: dict[int, int] = {}
        base = 0
        for gate, index in by_gate.items():
            g, constant = 4 ** GATES[gate].num_wires, GATES[gate].num_params == 0
            params = torch.tensor([[p[1] for p in ops[i].params] for i in index], dtype=torch.long, device=device)
            self.by_gate[gate] = params.reshape(len(index), -1)
            self.offset |= {i: base + (0 if constant else slot * g) for slot, i in enumerate(index)}
            base += g if constant else g * len(index)

    def shared(self, weights: torch.Tensor) -> torch.Tensor:
        parts = []
        for gate, params in self.by_gate.items():
            parts.append(GATES[gate].matrix([weights[params[:, j]] for j in range(params.shape[1])])
                         .to(weights.device).reshape(-1))
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.complex128, device=weights.device)

    def per_sample(self, weights: torch.Tensor, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """The (batch, G, G) matrices of the gates that read data, by op index."""
        return {i: GATES[self.ops[i].gate].matrix([torch.as_tensor(_value(p, weights, x), dtype=torch.float64)
                                                  for p in self.ops[i].params]).to(weights.device) for i in self.data}

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> list[torch.Tensor]:
        """Op i's matrix at position i."""
        flat, data = self.shared(weights), self.per_sample(weights, x)
        g = [2 ** len(op.wires) for op in self.ops]
        return [data[i] if i in data else flat[self.offset[i]: self.offset[i] + g[i] ** 2].view(g[i], g[i])
                for i in range(len(self.ops))]


def _embedding(ops: list[Op], block_wires: tuple[int, ...], offset: dict[int, int], op_indices: list[int]):
    """(index, mask), each (gates, K, K): ``shared[index] * mask`` is every gate of the block as a K x K
    matrix on the block's wires (the gate's entry where the other wires' bits agree, else 0). A gate that
    reads data has no ``offset``: its index is into its own flattened (G, G) matrix."""
    k = len(block_wires)
    bits = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)) & 1  # (K, k): local wire 0 most significant
    index, mask = [], []
    for i in op_indices:
        wires = [block_wires.index(w) for w in ops[i].wires]
        others = [q for q in range(k) if q not in wires]
        weights = 1 << np.arange(len(wires) - 1, -1, -1)
        sub = bits[:, wires] @ weights  # the gate's own row (or column) of each basis state
        index.append(offset.get(i, 0) + sub[:, None] * 2 ** len(wires) + sub[None, :])
        mask.append((bits[:, None, others] == bits[None, :, others]).all(-1))
    return torch.tensor(np.array(index)), torch.tensor(np.array(mask), dtype=torch.complex128)


def _product(matrices: torch.Tensor) -> torch.Tensor:
    """M_{g-1} ... M_1 M_0 of a (g, K, K) stack, by pairwise batched products (log2 g matmuls, not g)."""
    while len(matrices) > 1:
        odd = matrices[-1:] if len(matrices) % 2 else None
        even = matrices[: len(matrices) - (odd is not None)]
        matrices = even[1::2] @ even[0::2]
        matrices = matrices if odd is None else torch.cat([matrices, odd])
    return matrices[0]


def partition(ops: list[Op], k: int, mix_data: bool) -> list[Block]:
    """Greedy fusion into blocks of at most ``k`` qubits, in an order that keeps every wire's gate order.
    Each wire has at most one open block; a gate joins the open blocks on its wires when their union fits,
    else the largest of them are closed (emitted) first. Data-reading and trainable gates share a block
    only if ``mix_data`` (a per-sample block of k qubits is batch x 4^k numbers)."""
    out: list[Block] = []
    open_: dict[int, Block] = {}

    def close(block: Block) -> None:
        for w in block.wires:
            open_.pop(w, None)
        out.append(block)

    for i, op in enumerate(ops):
        touching = list({id(b): b for w in op.wires if (b := open_.get(w)) is not None}.values())
        if not mix_data:
            for b in [b for b in touching if b.per_sample != _reads_data(op)]:
                close(b)
                touching.remove(b)
        touching.sort(key=lambda b: len(b.wires))
        while touching and len(set(op.wires).union(*(b.wires for b in touching))) > k:
            close(touching.pop())
        block = Block(tuple(sorted(set(op.wires).union(*(b.wires for b in touching)))),
                      [j for b in touching for j in b.ops] + [i],
                      _reads_data(op) or any(b.per_sample for b in touching))
        for w in block.wires:
            open_[w] = block
    seen: set[int] = set()
    for block in open_.values():
        if id(block) not in seen:
            seen.add(id(block))
            out.append(block)
    return out


# ---- the simulator -----------------------------------------------------------------------------------

class _Adjoint(torch.autograd.Function):
    """The blocks applied in turn, differentiated by the adjoint method: backward walks the blocks in
    reverse, recovering each block's input states by its inverse (a unitary's conjugate transpose), so
    only the final states are kept, not one batch of states per block."""

    @staticmethod
    def forward(ctx, blocks, n, states, *matrices):
        for block, m in zip(blocks, matrices):
            states = apply(states, m, block.wires, n)
        ctx.blocks, ctx.n = blocks, n
        ctx.save_for_backward(states, *matrices)
        return states

    @staticmethod
    def backward(ctx, grad):
        states, *matrices = ctx.saved_tensors
        grads: list[torch.Tensor | None] = [None] * len(matrices)
        for i in reversed(range(len(matrices))):
            wires, inverse = ctx.blocks[i].wires, matrices[i].mH
            states = apply(states, inverse, wires, ctx.n)
            if ctx.needs_input_grad[3 + i]:
                grads[i] = matrix_grad(grad, states, wires, ctx.n, per_sample=matrices[i].dim() == 3)
            grad = apply(grad, inverse, wires, ctx.n)
        return None, None, grad if ctx.needs_input_grad[2] else None, *grads


@dataclass
class Encoded:
    """A data set as the simulator takes it: the features ``x`` (samples, features) and, where they fit
    the memory budget, the states after the data encoder (samples, 2**n), computed once. Indexing
    selects samples (a batch)."""

    x: torch.Tensor
    states: torch.Tensor | None = None

    def __getitem__(self, index) -> Encoded:
        return Encoded(self.x[index], None if self.states is None else self.states[index])

    def __len__(self) -> int:
        return len(self.x)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


class Simulator:
    """``expvals(weights, encoded)`` = <Z_q> per sample; ``encode(x)`` once per data set.

    ``batch`` is the number of states run at once (a training batch; evaluation runs in chunks of it):
    the plan and the memory it needs follow from it. ``memory_budget`` (bytes; default half of what is
    free) caps what backprop may keep; ``gradient`` forces ``backprop`` or ``adjoint``; ``block_qubits``
    forces the block size (``n_qubits``: the fused plan).
    """

    def __init__(self, circuit: Circuit, batch: int = 64, precision: str = "double", device="cpu",
                 gradient: str = "auto", memory_budget: int | None = None, block_qubits: int | None = None):
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if gradient not in GRADIENTS:
            raise ConfigError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
        self.circuit, n = circuit, circuit.n_qubits
        self.dtype, self.device, self.batch = PRECISIONS[precision], resolve_device(str(device)), batch
        first = next((i for i, op in enumerate(circuit.ops) if _trainable(op)), len(circuit.ops))
        self.encoder, self.ops = list(circuit.ops[:first]), list(circuit.ops[first:])
        self.block_qubits = block_qubits or min(BLOCK_QUBITS, n)  # n <= 4: the fused plan
        # a per-sample block is batch x 4^k numbers: fine for small blocks, not for the fused plan's
        self.blocks = partition(self.ops, self.block_qubits, mix_data=self.block_qubits < n)
        self.gate_matrices = GateMatrices(self.ops, self.device)
        for block in self.blocks:
            block.embedding = tuple(t.to(self.device) for t in _embedding(
                self.ops, block.wires, self.gate_matrices.offset, block.ops))
        self.state_bytes = batch * 2**n * self.dtype.itemsize
        self.memory = {"backprop": (len(self.blocks) + 3) * self.state_bytes, "adjoint": 5 * self.state_bytes}
        free = available_memory(self.device)
        if self.memory["adjoint"] > free:
            raise ConfigError(f"a {n}-qubit circuit needs {_gib(self.memory['adjoint'])} for a batch of {batch} "
                              f"states, and {_gib(free)} is free on {self.device}: use fewer qubits or a smaller batch")
        self.memory_budget = memory_budget or free // 2
        self.gradient = gradient if gradient != "auto" else (
            "backprop" if self.memory["backprop"] <= self.memory_budget else "adjoint")
        if n <= 14:  # <Z_q> = probs @ signs; past 14 qubits the (2**n, n) table costs more than a loop
            index = torch.arange(2**n, device=self.device)
            bits = (index[:, None] >> torch.arange(n - 1, -1, -1, device=self.device)) & 1  # wire 0: most significant
            self.signs: torch.Tensor | None = (1 - 2 * bits).to(self.dtype.to_real())
        else:
            self.signs = None

    def describe(self) -> str:
        """The plan in one line, with the memory it needs."""
        kind = "fused" if self.block_qubits == self.circuit.n_qubits else f"blocks of <= {self.block_qubits} qubits"
        return (f"{self.circuit.n_qubits} qubits: {kind} ({len(self.blocks)} blocks), {self.gradient} gradients, "
                f"{str(self.dtype).removeprefix('torch.')}, {self.device}; batch {self.batch} needs "
                f"{_gib(self.memory[self.gradient])}")

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

    def states(self, weights, encoded: Encoded) -> torch.Tensor:
        """The final states (batch, 2**n) of the batch ``encoded``."""
        weights = torch.as_tensor(weights, dtype=torch.float64, device=self.device)
        n = self.circuit.n_qubits
        states = encoded.states if encoded.states is not None else self._encode(encoded.x)
        shared, data = self.gate_matrices.shared(weights), self.gate_matrices.per_sample(weights, encoded.x)
        matrices = [b.matrix(shared, data).to(self.dtype) for b in self.blocks]
        if self.gradient == "adjoint" and torch.is_grad_enabled() and matrices:
            return _Adjoint.apply(self.blocks, n, states, *matrices)
        for block, m in zip(self.blocks, matrices):
            states = apply(states, m, block.wires, n)
        return states

    def expvals(self, weights, encoded: Encoded) -> torch.Tensor:
        """<Z_q> (batch, n_qubits) of the batch ``encoded``."""
        states = self.states(weights, encoded)
        probs = states.real**2 + states.imag**2
        if self.signs is not None:
            return probs @ self.signs
        n, rows = self.circuit.n_qubits, len(probs)
        halves = [probs.view(rows, 2**q, 2, -1).sum((1, 3)) for q in range(n)]
        return torch.stack([h[:, 0] - h[:, 1] for h in halves], -1)
