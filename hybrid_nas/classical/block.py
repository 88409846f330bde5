"""The searchable ELAN block: ultralytics' RepNCSPELAN4 structure with a per-block kernel and activation.

One class serves the supernet and the chosen subnet: a block built with several ops holds the largest kernel
of them and runs the active op's centred crop (Once-for-All's elastic kernel; activations are parameter-free),
and a block built with one op is exactly the plain network, ``Conv(k, act)`` layers of ultralytics.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from ultralytics.nn.modules import Conv

from hybrid_nas.classical.ops import ACTIVATIONS, parse_op
from hybrid_nas.engine.errors import SpaceError, unknown


class ElasticConv(Conv):
    """ultralytics' ``Conv`` (conv + BN + activation) whose kernel and activation are set per forward.

    ``kernel`` None makes a pointwise (1x1) conv whose activation alone follows the op."""

    def __init__(self, c1: int, c2: int, kernels: tuple[int, ...] | None, acts: tuple[str, ...]):
        super().__init__(c1, c2, max(kernels) if kernels else 1, 1)
        self.kernels = tuple(kernels or (1,))
        self.acts = nn.ModuleDict({a: ACTIVATIONS[a]() for a in acts})
        self.set_op(self.kernels[-1], acts[0])

    def set_op(self, kernel: int, act: str) -> None:
        self.k = kernel if kernel in self.kernels else self.kernels[-1]  # a pointwise conv keeps k = 1
        self.act = self.acts[act]

    def _weight(self, weight: torch.Tensor) -> torch.Tensor:
        off = (weight.shape[-1] - self.k) // 2
        return weight if off == 0 else weight[..., off : off + self.k, off : off + self.k]

    def forward(self, x):
        return self.act(self.bn(F.conv2d(x, self._weight(self.conv.weight), None, 1, self.k // 2)))

    def forward_fuse(self, x):
        # ultralytics' fuse() folds BN into self.conv (per output channel), so a centred crop stays exact.
        return self.act(F.conv2d(x, self._weight(self.conv.weight), self.conv.bias, 1, self.k // 2))


class _Bottleneck(nn.Module):
    """RepBottleneck's structure (two k x k convs, residual) with elastic convs; RepConv's 1x1 re-param
    branch is left out: it exists only for k = 3 and folds away at inference anyway."""

    def __init__(self, c: int, kernels, acts):
        super().__init__()
        self.cv1 = ElasticConv(c, c, kernels, acts)
        self.cv2 = ElasticConv(c, c, kernels, acts)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class _CSP(nn.Module):
    """RepCSP's structure: two 1x1 branches, n bottlenecks on one, a 1x1 merge."""

    def __init__(self, c1: int, c2: int, n: int, kernels, acts):
        super().__init__()
        c_ = c2 // 2
        self.cv1 = ElasticConv(c1, c_, None, acts)
        self.cv2 = ElasticConv(c1, c_, None, acts)
        self.cv3 = ElasticConv(2 * c_, c2, None, acts)
        self.m = nn.Sequential(*(_Bottleneck(c_, kernels, acts) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SearchableELAN(nn.Module):
    """RepNCSPELAN4(c1, c2, c3, c4, n) whose k x k convs and all activations follow one op of ``ops``."""

    # the tags ultralytics' parse_model gives every layer of a built model (network.swap_block copies them)
    i: int
    f: Any
    np: int

    def __init__(self, c1: int, c2: int, c3: int, c4: int, n: int = 1, ops=("3x3_silu",)):
        super().__init__()
        ops = (ops,) if isinstance(ops, str) else tuple(ops)
        if not ops:
            raise SpaceError("a searchable ELAN block needs at least one op")
        parsed = [parse_op(op) for op in ops]
        kernels = tuple(sorted({k for k, _ in parsed}))
        acts = tuple(dict.fromkeys(a for _, a in parsed))
        self.ops, self.c, self.channels = ops, c3 // 2, (c1, c2, c3, c4, n)
        self.cv1 = ElasticConv(c1, c3, None, acts)
        self.cv2 = nn.Sequential(_CSP(c3 // 2, c4, n, kernels, acts), ElasticConv(c4, c4, kernels, acts))
        self.cv3 = nn.Sequential(_CSP(c4, c4, n, kernels, acts), ElasticConv(c4, c4, kernels, acts))
        self.cv4 = ElasticConv(c3 + 2 * c4, c2, None, acts)
        self.set_op(ops[0])

    def with_ops(self, ops) -> SearchableELAN:
        """A new block of the same channels with other op(s) (fresh weights)."""
        return SearchableELAN(*self.channels, ops=ops)

    def set_op(self, op: str) -> None:
        if op not in self.ops:
            raise SpaceError(unknown("op of this block", op, self.ops))
        kernel, act = parse_op(op)
        for m in self.modules():
            if isinstance(m, ElasticConv):
                m.set_op(kernel, act)
        self.op = op

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in (self.cv2, self.cv3))
        return self.cv4(torch.cat(y, 1))
