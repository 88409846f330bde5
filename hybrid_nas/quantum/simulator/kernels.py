"""Applying a k-qubit matrix to a batch of states, and the gradient of that matrix: views and one (batched)
matmul where the wires allow it, einsum elsewhere."""

from __future__ import annotations

import string
from functools import cache

import torch


@cache
def _equation(wires: tuple[int, ...], n: int, per_sample: bool, grad: bool = False) -> str:
    """einsum of a gate on ``wires`` of (batch, 2, ..., 2) states; the gate is (2,)*2k, with a batch axis
    first if ``per_sample``. With ``grad``: the gradient of that gate from (output grad, input state)."""
    letters = string.ascii_letters.replace("z", "")  # z is the batch axis
    state, outs = letters[:n], letters[n : n + len(wires)]
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


def matrix_grad(
    grad: torch.Tensor, before: torch.Tensor, wires: tuple[int, ...], n: int, per_sample: bool
) -> torch.Tensor:
    """Gradient of a block's matrix from the gradient of its output states and its input states
    (torch's convention: grad_M = grad_out @ input^H, summed over the batch unless ``per_sample``)."""
    rows, k = grad.shape[0], len(wires)
    rest = n - wires[0] - k
    if not per_sample and _contiguous(wires) and rest >= k:  # batched matmuls on views beat einsum's copies
        return (grad.view(-1, 2**k, 2**rest) @ before.view(-1, 2**k, 2**rest).mH).sum(0)
    g = torch.einsum(
        _equation(wires, n, per_sample, grad=True), grad.view(rows, *[2] * n), before.conj().view(rows, *[2] * n)
    )
    return g.reshape(*g.shape[: 1 if per_sample else 0], 2**k, 2**k)
