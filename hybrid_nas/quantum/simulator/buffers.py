"""Blocks applied between preallocated state buffers, with the qubits' order in memory tracked instead of
restored.

A fresh 64 MiB tensor costs ~30 ms of page faults here (glibc maps allocations over 32 MiB afresh and
unmaps them on free), a pass over one ~4 ms: so a large state is never allocated per step. A block whose
wires lie next to each other in memory is one matmul on views, written into the other buffer; any other
block first copies the state into the other buffer with its wires moved first, and the new order is
kept (not undone) for the blocks after it.
"""

from __future__ import annotations

from functools import cache

import torch

Order = tuple[int, ...]  # order[a] is the wire at memory axis a (axis 0 most significant)


class Workspace:
    """Flat buffers reused by every call, grown on demand; ``token`` changes whenever a forward pass
    overwrites them, so a backward pass can tell that its states are gone."""

    def __init__(self, device: torch.device):
        self.device, self.token = device, 0
        self.flat: dict[str, torch.Tensor] = {}

    def buffer(self, name: str, numel: int, dtype: torch.dtype) -> torch.Tensor:
        t = self.flat.get(name)
        if t is None or t.numel() < numel or t.dtype != dtype:
            self.flat[name] = t = torch.empty(numel, dtype=dtype, device=self.device)
        return t[:numel]


def position(order: Order, wires: tuple[int, ...], n: int, per_sample: bool) -> int | None:
    """Axis p where ``wires`` (in any order) are ``order[p:p+k]`` and one matmul on views applies them,
    else None. A shared matrix in the middle is a broadcast matmul (its gradient a (rows 2^p, K, K)
    stack: kept no larger than the state, so 2^rest >= K); a per-sample one must be first or last."""
    k = len(wires)
    p = min(order.index(w) for w in wires)
    if set(order[p : p + k]) != set(wires):
        return None
    rest = n - p - k
    if rest == 0 or p == 0 or (not per_sample and rest >= k):
        return p
    return None


@cache
def _basis(local: tuple[int, ...], wires: tuple[int, ...]) -> torch.Tensor | None:
    """The matrix index (over ``wires``) of each basis state of the wires in memory order ``local``;
    None where the two orders agree."""
    if local == wires:
        return None
    k = len(wires)
    index = torch.zeros(2**k, dtype=torch.long)
    for b in range(2**k):
        for i, w in enumerate(local):  # bit i of the memory index (most significant first) is wire w
            index[b] |= ((b >> (k - 1 - i)) & 1) << (k - 1 - wires.index(w))
    return index


def in_memory_order(m: torch.Tensor, order: Order, wires: tuple[int, ...], p: int) -> torch.Tensor:
    """The block matrix with its rows and columns in the memory order of its wires."""
    index = _basis(order[p : p + len(wires)], wires)
    if index is None:
        return m
    index = index.to(m.device)
    return m[..., index[:, None], index[None, :]]


def from_memory_order(g: torch.Tensor, order: Order, wires: tuple[int, ...], p: int) -> torch.Tensor:
    """``in_memory_order``'s inverse, for a matrix's gradient."""
    index = _basis(order[p : p + len(wires)], wires)
    if index is None:
        return g
    out = torch.empty_like(g)
    index = index.to(g.device)
    out[..., index[:, None], index[None, :]] = g
    return out


def to_first(src: torch.Tensor, dst: torch.Tensor, order: Order, wires: tuple[int, ...], n: int) -> Order:
    """Copy ``src`` into ``dst`` with ``wires`` as the first axes; the new order. The order is rotated, not
    shuffled: the block's axes keep their cyclic order (from the one after the largest gap) and the
    others follow on cyclically from the block's end, so the next block of a chain or ring of neighbours
    is contiguous again."""
    axes = sorted(order.index(w) for w in wires)
    gaps = [(axes[(i + 1) % len(axes)] - a) % n for i, a in enumerate(axes)]
    start = (max(range(len(axes)), key=lambda i: gaps[i]) + 1) % len(axes)
    block = axes[start:] + axes[:start]
    rest = [(block[-1] + 1 + j) % n for j in range(n)]
    perm = block + [a for a in rest if a not in block]
    return reorder(src, dst, order, tuple(order[a] for a in perm), n)


def reorder(src: torch.Tensor, dst: torch.Tensor, order: Order, new: Order, n: int) -> Order:
    """Copy ``src``, in memory order ``order``, into ``dst`` in memory order ``new``; ``new``."""
    rows = src.shape[0]
    dst.view(rows, *[2] * n).copy_(src.view(rows, *[2] * n).permute(0, *[1 + order.index(w) for w in new]))
    return new


def apply_into(src: torch.Tensor, dst: torch.Tensor, m: torch.Tensor, p: int, k: int, n: int) -> None:
    """``dst`` = the block matrix ``m`` ((K, K), or (rows, K, K) per sample) on memory axes p..p+k-1 of ``src``."""
    rows, K, R = src.shape[0], 2**k, 2 ** (n - p - k)
    if m.dim() == 2 and R == 1:
        torch.matmul(src.view(-1, K), m.mT, out=dst.view(-1, K))
    elif m.dim() == 2:
        torch.matmul(m, src.view(-1, K, R), out=dst.view(-1, K, R))
    elif R == 1:
        torch.matmul(src.view(rows, -1, K), m.mT, out=dst.view(rows, -1, K))
    else:  # per sample, first axes
        torch.matmul(m, src.view(rows, K, R), out=dst.view(rows, K, R))


def matrix_grad_at(
    grad_conj: torch.Tensor, before: torch.Tensor, per_sample: bool, p: int, k: int, n: int, ws: Workspace
) -> torch.Tensor:
    """The gradient of a block's matrix (torch's convention: grad_out @ input^H, summed over the batch
    unless per sample) from the output gradient's conjugate and the input states, both in memory order.
    Written as conj(conj(grad_out) @ input^T): only transposed views of the states, which BLAS reads as
    they lie, where input^H made torch copy each state transposed (2-3x a pass)."""
    rows, K, R = grad_conj.shape[0], 2**k, 2 ** (n - p - k)
    if R == 1:  # (in^T conj(g))^T, one matmul with the transpose as a BLAS flag
        shape = (rows, -1, K) if per_sample else (-1, K)
        return (before.view(shape).mT @ grad_conj.view(shape)).mT.conj_physical()
    if per_sample:
        return (grad_conj.view(rows, K, R) @ before.view(rows, K, R).mT).conj_physical()
    g, s = grad_conj.view(-1, K, R), before.view(-1, K, R)
    stack = ws.buffer("stack", g.shape[0] * K * K, grad_conj.dtype).view(-1, K, K)
    return torch.matmul(g, s.mT, out=stack).sum(0).conj_physical()


def signs_for(signs: torch.Tensor, order: Order) -> torch.Tensor:
    """(2^n, n): column q is <Z_q>'s sign of each memory index, from ``signs`` of the identity order."""
    return signs[:, [order.index(q) for q in range(len(order))]]


@cache
def sign_table(k: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(2^k, k): the sign of Z on each of k axes (the first most significant) for each index. Cached and
    shared: never written to."""
    bits = (torch.arange(2**k, device=device)[:, None] >> torch.arange(k - 1, -1, -1, device=device)) & 1
    return (1 - 2 * bits).to(dtype)


def z_expvals(probs: torch.Tensor, order: Order, signs: torch.Tensor | None) -> torch.Tensor:
    """<Z_q> (rows, n) from probabilities in memory order: from the sign table where there is one, else
    from the two halves' marginals (two passes over the probabilities, a small table for each half)."""
    if signs is not None:
        return probs @ signs_for(signs, order)
    rows, n = probs.shape[0], len(order)
    h = n // 2
    view = probs.view(rows, 2**h, 2 ** (n - h))
    high, low = view.sum(2), view.sum(1)
    by_axis = torch.cat(
        [high @ sign_table(h, high.dtype, high.device), low @ sign_table(n - h, low.dtype, low.device)], 1
    )
    return by_axis[:, [order.index(q) for q in range(n)]]


def z_weights_into(out: torch.Tensor, g: torch.Tensor, order: Order, signs: torch.Tensor | None) -> torch.Tensor:
    """``out`` (rows, 2^n) = sum_q g[:, q] * sign_q of each memory index: d(g . <Z>)/d probs."""
    if signs is not None:
        return torch.matmul(g, signs_for(signs, order).T, out=out)
    rows, n = out.shape[0], len(order)
    h = n // 2
    by_axis = g[:, list(order)]  # the wire at each memory axis
    high = by_axis[:, :h] @ sign_table(h, g.dtype, g.device).T
    low = by_axis[:, h:] @ sign_table(n - h, g.dtype, g.device).T
    return torch.add(high[:, :, None], low[:, None, :], out=out.view(rows, 2**h, 2 ** (n - h))).view(rows, -1)
