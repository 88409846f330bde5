"""The plan: a circuit cut into blocks of at most k qubits (greedy fusion), each built into one matrix per
step from its gates' matrices, with few autograd nodes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from hybrid_nas.quantum.circuit import Op, _value
from hybrid_nas.quantum.gates import GATES

BLOCK_QUBITS = 4  # a 16 x 16 matmul per pass costs about what a 2 x 2 one does: memory-bound either way
FUSED_QUBITS = 5  # up to here one 2^n unitary per step (its NumPy gradient node) beats blocks of 4


def reads_data(op: Op) -> bool:
    return any(p[0] != "w" for p in op.params)


def trainable(op: Op) -> bool:
    return any(p[0] == "w" for p in op.params)


@dataclass
class Block:
    """Gates on ``wires`` (ascending) composed into one matrix, per sample if any gate reads data."""

    wires: tuple[int, ...]
    ops: list[int]  # indices into the simulated ops
    per_sample: bool
    embedding: tuple[torch.Tensor, torch.Tensor] | None = None  # (index, mask) from embed

    def matrix(self, shared: torch.Tensor, data: dict[int, torch.Tensor]) -> torch.Tensor:
        """(K, K), or (batch, K, K): every gate embedded in K x K by one gather (from the ``shared`` vector
        of weight-only gates, or from its own per-sample ``data`` matrices), then multiplied pairwise."""
        assert self.embedding is not None, "a block's embedding is set when its plan is made"
        index, mask = self.embedding
        if not self.per_sample:
            return product(shared[index] * mask)
        # runs of weight-only gates are multiplied as above, then the chain with the per-sample gates
        u, run = None, []
        for j, i in enumerate(self.ops + [None]):
            if i is not None and i not in data:
                run.append(j)
                continue
            if run:
                m = product(shared[index[run]] * mask[run])
                u, run = m if u is None else m @ u, []
            if i is not None:
                m = data[i].flatten(1)[:, index[j]] * mask[j]
                u = m if u is None else m @ u
        assert u is not None  # the loop's last step (i None) multiplies any pending run in
        return u


@cache
def fourier(gate: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(F, C) with the gate's matrix entries = C @ exp(i F @ params): every parametrised gate here is a
    trigonometric polynomial in its parameters with frequencies in {-1, -1/2, 0, 1/2, 1} (half-angle
    cos/sin, whole-angle phases), so a 5-point DFT per parameter recovers it exactly. Then all gates of a
    type are built by a handful of ops (two matmuls and an exp) whatever their matrix. None where the
    matrix is not of that form (checked at random points)."""
    g = GATES[gate]
    if g.num_params == 0:
        return None
    freqs = np.array(list(itertools.product(np.arange(-2, 3) / 2, repeat=g.num_params)))  # (T, p)
    grid = np.array(list(itertools.product(np.arange(5) * 4 * np.pi / 5, repeat=g.num_params)))  # (S = T, p)
    values = g.matrix([torch.tensor(grid[:, j]) for j in range(g.num_params)]).reshape(len(grid), -1).numpy()
    coef = np.exp(-1j * freqs @ grid.T) @ values / len(grid)  # (T, G^2): the inverse DFT
    keep = np.abs(coef).max(1) > 1e-12
    f, c = torch.tensor(freqs[keep]), torch.tensor(coef[keep].T.copy())
    points = torch.tensor(np.random.default_rng(0).uniform(-7, 7, (8, g.num_params)))
    exact = g.matrix([points[:, j] for j in range(g.num_params)]).reshape(8, -1)
    return (f, c) if torch.allclose(torch.exp(1j * (points @ f.T)) @ c.T, exact, atol=1e-12, rtol=0) else None


class GateMatrices:
    """Every op's matrix for given weights and data. Gates that read only weights are built in one call per
    gate type (fewer autograd nodes: at few qubits a step is per-op overhead) into one flat vector,
    ``shared``, where op i's (G, G) matrix starts at ``offset[i]``; gates that read data are (batch, G, G)."""

    def __init__(self, ops: list[Op], device: torch.device = torch.device("cpu")):
        self.ops = ops
        self.data = [i for i, op in enumerate(ops) if reads_data(op)]
        by_gate: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            if not reads_data(op):
                by_gate.setdefault(op.gate, []).append(i)
        self.by_gate: dict[str, torch.Tensor] = {}
        self.fourier = {g: tuple(t.to(device) for t in f) for g in by_gate if (f := fourier(g)) is not None}
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
            if gate in self.fourier:
                freqs, coef = self.fourier[gate]
                parts.append((torch.exp(1j * (weights[params] @ freqs.T)) @ coef.T).reshape(-1))
                continue
            parts.append(
                GATES[gate]
                .matrix([weights[params[:, j]] for j in range(params.shape[1])])
                .to(weights.device)
                .reshape(-1)
            )
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.complex128, device=weights.device)

    def per_sample(self, weights: torch.Tensor, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """The (batch, G, G) matrices of the gates that read data, by op index."""
        return {
            i: GATES[self.ops[i].gate]
            .matrix([torch.as_tensor(_value(p, weights, x), dtype=torch.float64) for p in self.ops[i].params])
            .to(weights.device)
            for i in self.data
        }

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> list[torch.Tensor]:
        """Op i's matrix at position i."""
        flat, data = self.shared(weights), self.per_sample(weights, x)
        g = [2 ** len(op.wires) for op in self.ops]
        return [
            data[i] if i in data else flat[self.offset[i] : self.offset[i] + g[i] ** 2].view(g[i], g[i])
            for i in range(len(self.ops))
        ]


def embed(ops: list[Op], block_wires: tuple[int, ...], offset: dict[int, int], op_indices: list[int]):
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


def product(matrices: torch.Tensor) -> torch.Tensor:
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
            for b in [b for b in touching if b.per_sample != reads_data(op)]:
                close(b)
                touching.remove(b)
        touching.sort(key=lambda b: len(b.wires))
        while touching and len(set(op.wires).union(*(b.wires for b in touching))) > k:
            close(touching.pop())
        block = Block(
            tuple(sorted(set(op.wires).union(*(b.wires for b in touching)))),
            [j for b in touching for j in b.ops] + [i],
            reads_data(op) or any(b.per_sample for b in touching),
        )
        for w in block.wires:
            open_[w] = block
    seen: set[int] = set()
    for block in open_.values():
        if id(block) not in seen:
            seen.add(id(block))
            out.append(block)
    return out
