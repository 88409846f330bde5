"""Adjoint differentiation: gradients that keep the final states only, whatever the depth."""

from __future__ import annotations

import torch

from hybrid_nas.quantum.simulator.kernels import apply, matrix_grad


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
