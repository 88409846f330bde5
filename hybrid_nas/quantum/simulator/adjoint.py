"""Adjoint differentiation: gradients that keep the final states only, whatever the depth."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hybrid_nas.quantum.simulator.buffers import (
    Order,
    Workspace,
    apply_into,
    from_memory_order,
    in_memory_order,
    matrix_grad_at,
    position,
    to_first,
    z_expvals,
    z_weights_into,
)
from hybrid_nas.quantum.simulator.kernels import apply, matrix_grad
from hybrid_nas.quantum.simulator.plan import Block


class Adjoint(torch.autograd.Function):
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
class Plan:
    """What ``AdjointExpvals`` runs: the blocks on ``n`` qubits, <Z>'s sign table (None past 14 qubits)
    and the buffers it reuses."""

    blocks: list[Block]
    n: int
    signs: torch.Tensor | None
    workspace: Workspace


class AdjointExpvals(torch.autograd.Function):
    """<Z_q> of the blocks applied in turn, with adjoint gradients, on the ``Workspace``'s buffers: the
    forward pass ping-pongs between two state buffers, the backward pass walks the blocks in reverse on
    three (states, their gradient, scratch), so a step allocates no state tensor after the first. The
    qubits' memory order drifts as blocks move their wires first (``layout``); each pass tracks it."""

    @staticmethod
    def forward(ctx, plan: Plan, states, index, *matrices):
        """``states[index]`` (or ``states`` where ``index`` is None) through the blocks' ``matrices``."""
        n, ws = plan.n, plan.workspace
        rows = states.shape[0] if index is None else len(index)
        size = rows * 2**n
        s, t = ws.buffer("a", size, states.dtype).view(rows, -1), ws.buffer("b", size, states.dtype).view(rows, -1)
        if index is None:
            s.copy_(states)
        else:
            torch.index_select(states, 0, index, out=s)
        order: Order = tuple(range(n))
        for block, m in zip(plan.blocks, matrices):
            k = len(block.wires)
            p = position(order, block.wires, n, m.dim() == 3)
            if p is None:
                order, s, t, p = to_first(s, t, order, block.wires, n), t, s, 0
            apply_into(s, t, in_memory_order(m, order, block.wires, p), p, k, n)
            s, t = t, s
        amplitudes = torch.view_as_real(s)
        squares = torch.mul(amplitudes, amplitudes, out=torch.view_as_real(t))
        probs = torch.sum(squares, -1, out=ws.buffer("probs", size, squares.dtype).view(rows, -1))
        ws.token += 1
        ctx.plan, ctx.order, ctx.token, ctx.buffers = plan, order, ws.token, (s, t)
        ctx.save_for_backward(*matrices)
        return z_expvals(probs, order, plan.signs)

    @staticmethod
    def backward(ctx, g):
        plan, order, ws = ctx.plan, ctx.order, ctx.plan.workspace
        if ws.token != ctx.token:
            raise RuntimeError("the simulator ran again before this backward pass: call backward() first")
        ws.token += 1  # the buffers are consumed below
        n, (s, grad) = plan.n, ctx.buffers
        rows = s.shape[0]
        scratch = ws.buffer("c", rows * 2**n, s.dtype).view(rows, -1)
        weights = ws.buffer("probs", rows * 2**n, g.dtype).view(rows, -1)
        torch.mul(s, z_weights_into(weights, 2 * g, order, plan.signs), out=grad)  # d/dz |z|^2 = 2z
        matrices = ctx.saved_tensors
        grads: list[torch.Tensor | None] = [None] * len(matrices)
        for i in reversed(range(len(matrices))):
            wires, k, per_sample = plan.blocks[i].wires, len(plan.blocks[i].wires), matrices[i].dim() == 3
            p = position(order, wires, n, per_sample)
            if p is None:
                to_first(grad, scratch, order, wires, n)
                order, p = to_first(s, grad, order, wires, n), 0
                s, grad, scratch = grad, scratch, s
            inverse = in_memory_order(matrices[i], order, wires, p).mH
            apply_into(s, scratch, inverse, p, k, n)  # the block's input states
            if ctx.needs_input_grad[3 + i]:
                g_mem = matrix_grad_at(grad, scratch, per_sample, p, k, n, ws)
                grads[i] = from_memory_order(g_mem, order, wires, p)
            apply_into(grad, s, inverse, p, k, n)  # the gradient of its input states
            s, grad, scratch = scratch, s, grad
        states_grad = None
        if ctx.needs_input_grad[1]:
            states_grad = torch.empty_like(grad)
            inverse_order = tuple(order.index(q) for q in range(n))
            states_grad.view(rows, *[2] * n).copy_(
                grad.view(rows, *[2] * n).permute(0, *[1 + a for a in inverse_order])
            )
        return None, states_grad, None, *grads
