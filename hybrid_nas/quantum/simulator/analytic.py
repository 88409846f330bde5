"""The weight-only blocks' matrices with a hand-written gradient: one autograd node for all of them.

At a few qubits a training step is per-op overhead, and most of it was autograd recording and replaying
the gate matrices: every gate type's Fourier form, the gather that embeds each gate in its block, the
pairwise products. Here:

- a block's gates are grouped into *layers* (as early as each gate's wires allow: gates on disjoint wires
  commute), and a layer's K x K matrix is the entrywise product of its gates' entries (their tensor
  product) times one mask, so a ring of 4-qubit U3 + CRX is 10 matrices instead of 16;
- the forward pass keeps each block's prefix products P_j = L_j ... L_0 of its layers;
- the backward pass needs no second scan: for U = L_{l-1} ... L_0 with gradient G (torch's convention,
  grad_U), layer j's gradient is (L_{l-1} ... L_{j+1})^H G P_{j-1}^H, and as the layers are unitary,
  (L_{l-1} ... L_{j+1})^H = P_j U^H: all layers' gradients are P (U^H G) P_{-1}^H, two batched matmuls.
  They reach each gate's entries through the entrywise product (times the product of the layer's other
  gates) and the weights through the Fourier form (entries = C exp(i F params): d/dparams is i F per term).

The matrices are a few K x K, so both passes run in NumPy, whose calls cost ~1 us against torch's 3-7 us
(at 4 qubits the pair took 0.74 ms in torch, 0.15 ms here); the block matrices go to the states' device
and dtype at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse
import torch

from hybrid_nas.quantum.circuit import Op
from hybrid_nas.quantum.gates import GATES
from hybrid_nas.quantum.simulator.plan import Block, GateMatrices, embed


def layers(ops: list[Op], op_indices: list[int]) -> list[list[int]]:
    """The ops (positions in ``op_indices``) by layer, each op in the first layer after every earlier op
    on one of its wires."""
    last: dict[int, int] = {}
    out: list[list[int]] = []
    for j, i in enumerate(op_indices):
        layer = 1 + max(last.get(w, -1) for w in ops[i].wires)
        if layer == len(out):
            out.append([])
        out[layer].append(j)
        last |= dict.fromkeys(ops[i].wires, layer)
    return out


class LayeredBlock:
    """A weight-only block as layers: ``index`` (layers, width, K, K) into the flat gate entries (the slot
    ``one`` pads layers narrower than ``width``) and ``mask`` (layers, K, K): 1 where the wires none of the
    layer's gates touch agree, else 0."""

    def __init__(self, ops: list[Op], block: Block, offset: dict[int, int], one: int):
        index = embed(ops, block.wires, offset, block.ops)[0].numpy()
        groups = layers(ops, block.ops)
        width, k = max(len(g) for g in groups), len(block.wires)
        bits = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)) & 1
        self.index = np.full((len(groups), width, 2**k, 2**k), one)
        masks = []
        for layer, group in enumerate(groups):
            self.index[layer, : len(group)] = index[group]
            touched = {w for j in group for w in ops[block.ops[j]].wires}
            others = [q for q, w in enumerate(block.wires) if w not in touched]
            masks.append((bits[:, None, others] == bits[None, :, others]).all(-1))
        self.mask = np.array(masks, dtype=np.float64)
        # the backward pass's scatter: only where the mask is 1 and the slot is a gate's (a sparse sum)
        keep = (np.broadcast_to(self.mask[:, None], self.index.shape) > 0) & (self.index != one)
        self.nonzero = np.flatnonzero(keep)
        at_layer, at_gate, at_entry = np.unravel_index(self.nonzero, (len(groups), width, 4**k))
        self.layer_of = at_layer * 4**k + at_entry
        # the slots of the layer's other gates at each kept entry: d(product)/d(one factor)
        slots = self.index.reshape(len(groups), width, -1)[at_layer, :, at_entry]  # (kept, width)
        others = slots[np.arange(width)[None] != at_gate[:, None]].reshape(len(slots), -1)
        self.others = np.ascontiguousarray(others.T)
        self.by_gate = np.ascontiguousarray(self.index.swapaxes(0, 1))  # (width, layers, K, K)
        self.scatter = scipy.sparse.csr_matrix(
            (np.ones(len(self.nonzero)), (self.index.reshape(-1)[self.nonzero], np.arange(len(self.nonzero)))),
            shape=(one + 1, len(self.nonzero)),
        )


class WeightBlocks:
    """What ``BlockMatrices`` computes for one circuit: its weight-only blocks as layers, and the gate
    types of ``gates``, each either Fourier-built (its weight columns, frequencies and coefficients) or
    constant (its matrix, once), in the order of the flat vector of gate entries; the block matrices are
    returned in ``dtype`` on ``device``."""

    def __init__(self, gates: GateMatrices, blocks: list[Block], dtype: torch.dtype, device: torch.device):
        self.dtype, self.device = dtype, device
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray] | np.ndarray] = []
        self.size = 0  # entries in the flat vector; the slot after them holds 1
        for gate, params in gates.by_gate.items():
            if gate in gates.fourier:
                freqs, coef = (t.cpu().numpy() for t in gates.fourier[gate])
                self.parts.append((params.cpu().numpy(), freqs, coef))
                self.size += len(params) * coef.shape[0]
            else:
                matrix = GATES[gate].matrix([]).numpy().reshape(-1)
                self.parts.append(matrix)
                self.size += matrix.size
        self.gates, self.weight_only = gates, [b for b in blocks if not b.per_sample]
        self.blocks = [LayeredBlock(gates.ops, b, gates.offset, self.size) for b in self.weight_only]

    @staticmethod
    def usable(gates: GateMatrices) -> bool:
        """Every parametrised gate type has a Fourier form (all of the catalogue's do)."""
        return all(g in gates.fourier or GATES[g].num_params == 0 for g in gates.by_gate)

    def torch_matrices(self, weights: torch.Tensor) -> list[torch.Tensor]:
        """The same matrices gate by gate in torch (the form a gradient of a gradient goes through)."""
        shared = self.gates.shared(weights)
        return [b.matrix(shared, {}).to(self.dtype) for b in self.weight_only]


def prefix_products(m: np.ndarray) -> np.ndarray:
    """P with P[j] = m[j] @ ... @ m[0]: one matmul per step, into the result."""
    out = np.empty_like(m)
    out[0] = m[0]
    for j in range(1, len(m)):
        np.matmul(m[j], out[j - 1], out=out[j])
    return out


def _product(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """prod over the first axis of values[index]: a loop of multiplies (NumPy's prod over a short axis is
    several times slower)."""
    out = values[index[0]] if len(index) else np.ones(index.shape[1:], dtype=values.dtype)
    for i in index[1:]:
        out *= values[i]
    return out


def _conj_t(m: np.ndarray) -> np.ndarray:
    return m.conj().swapaxes(-1, -2)


@dataclass
class Built:
    """One forward pass's matrices, kept for its backward pass: the flat gate entries (and the slot of 1),
    each Fourier type's exp(i F params) and each block's prefix products (the last is the block)."""

    shared: np.ndarray
    phases: list[np.ndarray]
    prefixes: list[np.ndarray]


def build(plan: WeightBlocks, w: np.ndarray) -> Built:
    """Every weight-only block's matrix for the weights ``w``."""
    flat, phases = [], []
    for part in plan.parts:
        if isinstance(part, np.ndarray):
            flat.append(part)
            continue
        params, freqs, coef = part
        e = np.exp(1j * (w[params] @ freqs.T))  # (gates, terms)
        phases.append(e)
        flat.append((e @ coef.T).reshape(-1))
    shared = np.concatenate([*flat, [1.0]])
    return Built(shared, phases, [prefix_products(_product(shared, b.by_gate) * b.mask) for b in plan.blocks])


def weights_grad(plan: WeightBlocks, built: Built, grads: list[np.ndarray | None], n_weights: int) -> np.ndarray:
    """The weights' gradient from each block matrix's (torch's convention; None: no gradient)."""
    shared = built.shared
    shared_grad = np.zeros(len(shared), dtype=np.complex128)
    for block, p, g in zip(plan.blocks, built.prefixes, grads):
        if g is None:
            continue
        before = np.concatenate([np.eye(p.shape[-1])[None], p[:-1]])
        layer_grads = (p @ (_conj_t(p[-1]) @ g.astype(np.complex128, copy=False))) @ _conj_t(before) * block.mask
        others = _product(shared, block.others)
        shared_grad += block.scatter @ (layer_grads.reshape(-1)[block.layer_of] * others.conj())
    weights, start, fourier = np.zeros(n_weights), 0, iter(built.phases)
    for part in plan.parts:
        if isinstance(part, np.ndarray):
            start += part.size
            continue
        params, freqs, coef = part
        e = next(fourier)
        size = e.shape[0] * coef.shape[0]
        grad_e = shared_grad[start : start + size].reshape(e.shape[0], -1) @ coef.conj()
        start += size
        grad_params = (grad_e * e.conj()).imag @ freqs  # d exp(i phase) = i exp(i phase) d phase
        weights += np.bincount(params.reshape(-1), grad_params.reshape(-1), n_weights)
    return weights


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _differentiable_grad(forward, inputs: tuple[torch.Tensor, ...], grads) -> tuple[torch.Tensor | None, ...]:
    """The gradients of ``inputs`` through ``forward``'s torch form, with their own graph: a backward pass
    under ``create_graph`` (the NumPy gradient would be a constant to the next differentiation)."""
    with torch.enable_grad():
        outs = forward(*inputs)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wanted = [t for t in inputs if t.requires_grad]
    got = iter(
        torch.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True)
    )
    return tuple(next(got) if t.requires_grad else None for t in inputs)


class BlockMatrices(torch.autograd.Function):
    """``weights`` -> the matrix of every weight-only block of ``plan``."""

    @staticmethod
    def forward(ctx, plan: WeightBlocks, weights: torch.Tensor):
        ctx.save_for_backward(weights)
        ctx.plan, ctx.built, ctx.n_weights, ctx.device = (
            plan,
            build(plan, _numpy(weights)),
            len(weights),
            weights.device,
        )
        return tuple(torch.from_numpy(p[-1]).to(plan.device, plan.dtype) for p in ctx.built.prefixes)

    @staticmethod
    def backward(ctx, *grads):
        if torch.is_grad_enabled():
            return None, *_differentiable_grad(ctx.plan.torch_matrices, ctx.saved_tensors, grads)
        weights = weights_grad(ctx.plan, ctx.built, [None if g is None else _numpy(g) for g in grads], ctx.n_weights)
        return None, torch.from_numpy(weights).to(ctx.device)


def _fused_forward(ctx, plan: WeightBlocks, signs: np.ndarray, states: torch.Tensor, weights: torch.Tensor):
    """<Z_q> (batch, n) in NumPy, with what the gradient needs kept on ``ctx``."""
    built = build(plan, _numpy(weights))
    psi = _numpy(states)
    phi = psi @ built.prefixes[0][-1].T.astype(psi.dtype)
    probs = phi.real**2 + phi.imag**2
    ctx.plan, ctx.signs, ctx.n_weights, ctx.built, ctx.psi, ctx.phi = plan, signs, len(weights), built, psi, phi
    ctx.save_for_backward(states, weights)
    return probs @ signs.astype(probs.dtype)


def _fused_weights_grad(ctx, z_grad: np.ndarray) -> torch.Tensor:
    """The weights' gradient from <Z>'s."""
    lam = 2 * (z_grad @ ctx.signs.T) * ctx.phi  # torch's gradient of |phi|^2: 2 phi
    block = lam.T @ ctx.psi.conj()  # grad_U of phi = psi U^T
    return torch.from_numpy(weights_grad(ctx.plan, ctx.built, [block], ctx.n_weights))


def _torch_expvals(plan: WeightBlocks, signs: np.ndarray, states: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The fused nodes' <Z> in torch (the form a gradient of a gradient goes through)."""
    phi = states @ plan.torch_matrices(weights)[0].T.to(states.dtype)
    probs = phi.real**2 + phi.imag**2
    return probs @ torch.from_numpy(signs).to(probs.dtype)


class FusedExpvals(torch.autograd.Function):
    """<Z_q> of a circuit that is one weight-only block on every qubit (the fused plan), from the encoded
    ``states`` (batch, 2^n) on the CPU: the states' matmul, |amplitude|^2 and the signs of Z too run in
    NumPy, so the weights' whole gradient is this one node."""

    @staticmethod
    def forward(ctx, plan: WeightBlocks, signs: np.ndarray, states: torch.Tensor, weights: torch.Tensor):
        return torch.from_numpy(_fused_forward(ctx, plan, signs, states, weights))

    @staticmethod
    def backward(ctx, g):
        if torch.is_grad_enabled():
            forward = partial(_expvals_tuple, ctx.plan, ctx.signs)
            return None, None, *_differentiable_grad(forward, ctx.saved_tensors, (g,))
        return None, None, None, _fused_weights_grad(ctx, _numpy(g))


def _expvals_tuple(plan, signs, states, weights):
    """``FusedExpvals``'s output in torch, as the tuple ``_differentiable_grad`` takes."""
    return (_torch_expvals(plan, signs, states, weights),)


class FusedLoss(torch.autograd.Function):
    """``FusedExpvals`` and the training loss after it in one node: the mean cross-entropy of the readout
    logits <Z> @ ``readout`` against ``labels``. At a few qubits a step is per-node overhead: the loss's
    own nodes (matmul, log-softmax, NLL) took ~28 us of a ~350 us step at 4 qubits."""

    @staticmethod
    def forward(ctx, plan, signs, readout: np.ndarray, labels: np.ndarray, states, weights):
        z = _fused_forward(ctx, plan, signs, states, weights)
        logits = z @ readout.astype(z.dtype)
        top = logits.max(1, keepdims=True)
        e = np.exp(logits - top)
        total = e.sum(1, keepdims=True)
        rows = np.arange(len(labels))
        ctx.readout, ctx.labels, ctx.softmax = readout, labels, e / total
        return torch.tensor(np.mean(np.log(total[:, 0]) + top[:, 0] - logits[rows, labels]))

    @staticmethod
    def backward(ctx, g):
        if torch.is_grad_enabled():
            forward = partial(_loss_tuple, ctx.plan, ctx.signs, ctx.readout, ctx.labels)
            return None, None, None, None, *_differentiable_grad(forward, ctx.saved_tensors, (g,))
        logits_grad = ctx.softmax.copy()
        logits_grad[np.arange(len(ctx.labels)), ctx.labels] -= 1
        z_grad = logits_grad @ (ctx.readout.T * (float(g) / len(ctx.labels)))
        return None, None, None, None, None, _fused_weights_grad(ctx, z_grad.astype(ctx.phi.real.dtype))


def _loss_tuple(plan, signs, readout, labels, states, weights):
    """``FusedLoss``'s output in torch, as the tuple ``_differentiable_grad`` takes."""
    logits = _torch_expvals(plan, signs, states, weights) @ torch.from_numpy(readout).to(states.real.dtype)
    return (torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels)),)
