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
    reorder,
    to_first,
    z_expvals,
    z_weights_into,
)
from hybrid_nas.quantum.simulator.kernels import apply, matrix_grad
from hybrid_nas.quantum.simulator.plan import Block


def _first_derivative_only() -> None:
    """A backward pass under ``create_graph`` (a Hessian): these passes' gradients are written out, with
    no graph of their own, so a second derivative through them would be silently zero."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            "second derivatives through the simulator's adjoint or buffered passes are not available: "
            'make it with gradient="backprop"'
        )


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
        _first_derivative_only()
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
    """What ``BufferedExpvals`` runs: the blocks on ``n`` qubits, <Z>'s sign table (None past 14 qubits)
    and the buffers it reuses."""

    blocks: list[Block]
    n: int
    signs: torch.Tensor | None
    workspace: Workspace


class BufferedExpvals(torch.autograd.Function):
    """<Z_q> of the blocks applied in turn, on the ``Workspace``'s buffers, so a step allocates no state
    tensor after the first. The qubits' memory order drifts as blocks move their wires first
    (``layout``); each pass tracks it. Two ways back:

    - ``keep`` false, the adjoint method: the forward pass ping-pongs between two state buffers, the
      backward pass walks the blocks in reverse on three (states, their gradient, scratch), recovering
      each block's input by its inverse: memory for five states whatever the depth;
    - ``keep`` true: every block's input stays in a buffer of its own (one state per block), so the
      backward pass does two passes per block instead of three and moves only the gradient's order.
    """

    @staticmethod
    def forward(ctx, plan: Plan, keep: bool, states, index, *matrices):
        """``states[index]`` (or ``states`` where ``index`` is None) through the blocks' ``matrices``."""
        n, ws = plan.n, plan.workspace
        rows = states.shape[0] if index is None else len(index)
        size = rows * 2**n
        names = [f"k{j}" for j in range(len(matrices) + 2)] if keep else ["a", "b"]
        free = [ws.buffer(name, size, states.dtype).view(rows, -1) for name in reversed(names)]
        s = free.pop()
        if index is None:
            s.copy_(states)
        else:
            torch.index_select(states, 0, index, out=s)
        order: Order = tuple(range(n))
        inputs: list[tuple[torch.Tensor, Order, int]] = []  # with keep: each block's input as applied
        for block, m in zip(plan.blocks, matrices):
            k = len(block.wires)
            p = position(order, block.wires, n, m.dim() == 3)
            if p is None:
                t = free.pop()
                order, p = to_first(s, t, order, block.wires, n), 0
                free.append(s)
                s = t
            t = free.pop()
            apply_into(s, t, in_memory_order(m, order, block.wires, p), p, k, n)
            if keep:
                inputs.append((s, order, p))
            else:
                free.append(s)
            s = t
        amplitudes = torch.view_as_real(s)
        squares = torch.mul(amplitudes, amplitudes, out=torch.view_as_real(free[-1]))
        # |z|^2 as one add of strided halves: torch's sum over a last axis of 2 took ~15x as long
        probs = torch.add(squares[..., 0], squares[..., 1], out=ws.buffer("probs", size, squares.dtype).view(rows, -1))
        ws.token += 1
        ctx.plan, ctx.order, ctx.token, ctx.final, ctx.spare, ctx.inputs = plan, order, ws.token, s, free, inputs
        ctx.save_for_backward(*matrices)
        return z_expvals(probs, order, plan.signs)

    @staticmethod
    def backward(ctx, g):
        """Walks the blocks in reverse with the conjugate of the states' gradient, ``lam``: it moves back
        through a block by the matrix's transpose (the gradient itself would need its conjugate
        transpose), so no pass reads a state conjugated or conjugate-transposed."""
        _first_derivative_only()
        plan, order, ws = ctx.plan, ctx.order, ctx.plan.workspace
        if ws.token != ctx.token:
            raise RuntimeError("the simulator ran again before this backward pass: call backward() first")
        ws.token += 1  # the buffers are consumed below
        n, s = plan.n, ctx.final
        rows = s.shape[0]
        lam = ctx.spare[-1]
        scratch = ws.buffer("c", rows * 2**n, s.dtype).view(rows, -1)
        weights = ws.buffer("probs", rows * 2**n, g.dtype).view(rows, -1)
        # conj(d/dz |z|^2 = 2z) times the weights, in real arithmetic: a real-by-complex product (or a
        # conjugated operand) would first copy a whole state
        z_weights_into(weights, 2 * g, order, plan.signs)
        parts = torch.view_as_real(lam)
        torch.mul(torch.view_as_real(s), weights.unsqueeze(-1), out=parts)
        parts[..., 1].neg_()
        matrices = ctx.saved_tensors
        grads: list[torch.Tensor | None] = [None] * len(matrices)
        for i in reversed(range(len(matrices))):
            wires, k, per_sample = plan.blocks[i].wires, len(plan.blocks[i].wires), matrices[i].dim() == 3
            if ctx.inputs:  # the block's input is kept: only the gradient moves to its order
                before, block_order, p = ctx.inputs[i]
                if block_order != order:
                    order = reorder(lam, scratch, order, block_order, n)
                    lam, scratch = scratch, lam
                m = in_memory_order(matrices[i], order, wires, p)
            else:  # the block's input is recovered by its inverse, into scratch
                p = position(order, wires, n, per_sample)
                if p is None:
                    to_first(lam, scratch, order, wires, n)
                    order, p = to_first(s, lam, order, wires, n), 0
                    s, lam, scratch = lam, scratch, s
                m = in_memory_order(matrices[i], order, wires, p)
                before = scratch
                apply_into(s, before, m.mH, p, k, n)
            if ctx.needs_input_grad[4 + i]:
                grads[i] = from_memory_order(matrix_grad_at(lam, before, per_sample, p, k, n, ws), order, wires, p)
            if ctx.inputs:  # the gradient of the block's input states (conjugated: M^T, not M^H)
                apply_into(lam, scratch, m.mT, p, k, n)
                lam, scratch = scratch, lam
            else:
                apply_into(lam, s, m.mT, p, k, n)
                s, lam, scratch = scratch, s, lam
        states_grad = None
        if ctx.needs_input_grad[2]:
            states_grad = torch.empty_like(lam)
            reorder(lam.conj(), states_grad, order, tuple(range(n)), n)
        return None, None, states_grad, None, *grads
