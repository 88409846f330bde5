"""The searchable ELAN block: ultralytics' RepNCSPELAN4 structure with a per-block kernel, activation, depth and
width.

One class serves the supernet and the chosen subnet. A block built with several ops holds the largest kernel of
them and runs the active op's centred crop (Once-for-All's elastic kernel; activations are parameter-free); it
runs the first ``depth`` RepCSP repeats of each of its two RepCSPs (elastic depth) and the first channels of
every hidden run (elastic width: the first ``c3 / 2`` of each half of ``cv1``'s output, the first ``c4`` of each
RepCSP output, the first ``c4 / 2`` inside each RepCSP). A block built with one op at full depth and width is
exactly the plain network, ``Conv(k, act)`` layers of ultralytics; ``active_state`` gives such a block's weights
for the active path.

Channels are not re-sorted by importance (Once-for-All sorts them before its width phase): here the first
channels are in every width from the first step of every sampling, so training, not a later sort, makes them
the important ones; and a sort in the middle of ultralytics' training would have to permute its EMA copy and
the optimiser's state too.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from ultralytics.nn.modules import Conv

from hybrid_nas.classical.ops import ACTIVATIONS, BlockChoice, parse_op
from hybrid_nas.engine.errors import SpaceError, unknown

# Runs (start, length) of a full channel dimension, taken in order; None: the whole dimension
Runs = tuple[tuple[int, int], ...] | None


def runs(full: int, *parts: tuple[int, int]) -> Runs:
    """``parts`` with adjacent runs merged; None when they are the whole of ``full`` channels."""
    merged: list[tuple[int, int]] = []
    for start, length in parts:
        if merged and sum(merged[-1]) == start:
            merged[-1] = (merged[-1][0], merged[-1][1] + length)
        else:
            merged.append((start, length))
    return None if merged == [(0, full)] else tuple(merged)


def take(t: torch.Tensor, dim: int, which: Runs) -> torch.Tensor:
    """The runs ``which`` of ``t`` along ``dim`` (a view for one run, the tensor itself for None)."""
    if which is None:
        return t
    parts = [t.narrow(dim, start, length) for start, length in which]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)


class ElasticConv(Conv):
    """ultralytics' ``Conv`` (conv + BN + activation) whose kernel, activation and channel runs are set per
    forward.

    ``kernel`` None makes a pointwise (1x1) conv whose activation alone follows the op."""

    def __init__(self, c1: int, c2: int, kernels: tuple[int, ...] | None, acts: tuple[str, ...]):
        super().__init__(c1, c2, max(kernels) if kernels else 1, 1)
        self.kernels = tuple(kernels or (1,))
        self.acts = nn.ModuleDict({a: ACTIVATIONS[a]() for a in acts})
        self.runs_in: Runs = None
        self.runs_out: Runs = None
        self.set_op(self.kernels[-1], acts[0])

    def set_op(self, kernel: int, act: str) -> None:
        self.k = kernel if kernel in self.kernels else self.kernels[-1]  # a pointwise conv keeps k = 1
        self.act = self.acts[act]

    def set_channels(self, runs_in: Runs, runs_out: Runs) -> None:
        self.runs_in, self.runs_out = runs_in, runs_out

    def active_weight(self) -> torch.Tensor:
        weight = self.conv.weight
        off = (weight.shape[-1] - self.k) // 2
        if off:
            weight = weight[..., off : off + self.k, off : off + self.k]
        return take(take(weight, 0, self.runs_out), 1, self.runs_in)

    def _norm(self, y: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        if self.runs_out is None:
            return bn(y)
        # BatchNorm2d.forward on each run of channels, with views of its parameters and running statistics, so
        # that training updates the shared statistics in place
        factor = 0.0
        if bn.training and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        mean, var = bn.running_mean, bn.running_var
        assert mean is not None and var is not None  # ultralytics' BatchNorm tracks its statistics
        out, at = [], 0
        for start, length in self.runs_out:
            mean_, var_, weight, bias = (t.narrow(0, start, length) for t in (mean, var, bn.weight, bn.bias))
            out.append(F.batch_norm(y[:, at : at + length], mean_, var_, weight, bias, bn.training, factor, bn.eps))
            at += length
        return torch.cat(out, 1)

    def forward(self, x):
        return self.act(self._norm(F.conv2d(x, self.active_weight(), None, 1, self.k // 2)))

    def forward_fuse(self, x):
        # ultralytics' fuse() folds BN into self.conv (per output channel), so a centred crop stays exact.
        bias = take(self.conv.bias, 0, self.runs_out) if self.conv.bias is not None else None
        return self.act(F.conv2d(x, self.active_weight(), bias, 1, self.k // 2))

    def active_state(self) -> dict[str, torch.Tensor]:
        """The state of the plain ``Conv`` that computes what this one computes now."""
        state = {"conv.weight": self.active_weight()}
        for name in ("weight", "bias", "running_mean", "running_var"):
            state[f"bn.{name}"] = take(getattr(self.bn, name), 0, self.runs_out)
        state["bn.num_batches_tracked"] = cast(torch.Tensor, self.bn.num_batches_tracked)
        return {k: v.detach().clone() for k, v in state.items()}


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
    """RepCSP's structure: two 1x1 branches, n bottlenecks on one (the first ``depth`` run), a 1x1 merge."""

    def __init__(self, c1: int, c2: int, n: int, kernels, acts):
        super().__init__()
        c_ = c2 // 2
        self.cv1 = ElasticConv(c1, c_, None, acts)
        self.cv2 = ElasticConv(c1, c_, None, acts)
        self.cv3 = ElasticConv(2 * c_, c2, None, acts)
        self.m = nn.Sequential(*(_Bottleneck(c_, kernels, acts) for _ in range(n)))
        self.depth = n

    def set_channels(self, c_in: int, c_out: int) -> None:
        """Run on the first ``c_in`` input channels into the first ``c_out`` outputs (``c_out / 2`` hidden)."""
        full_in, hidden, q = self.cv1.conv.in_channels, self.cv1.conv.out_channels, c_out // 2
        for conv in (self.cv1, self.cv2):
            conv.set_channels(runs(full_in, (0, c_in)), runs(hidden, (0, q)))
        for b in self.bottlenecks():
            for conv in (b.cv1, b.cv2):
                conv.set_channels(runs(hidden, (0, q)), runs(hidden, (0, q)))
        self.cv3.set_channels(runs(2 * hidden, (0, q), (hidden, q)), runs(self.cv3.conv.out_channels, (0, c_out)))

    def bottlenecks(self, used: bool = False) -> list[_Bottleneck]:
        """All the bottlenecks, or the first ``depth`` (those that run)."""
        every = cast("list[_Bottleneck]", list(self.m))
        return every[: self.depth] if used else every

    def forward(self, x):
        y = self.cv1(x)
        for b in self.bottlenecks(used=True):
            y = b(y)
        return self.cv3(torch.cat((y, self.cv2(x)), 1))


class SearchableELAN(nn.Module):
    """RepNCSPELAN4(c1, c2, c3, c4, n) whose k x k convs and all activations follow one op of ``ops``, and
    which runs the first ``depth`` of its n repeats and the first hidden channels ``(c3, c4)`` it is set to."""

    # the tags ultralytics' parse_model gives every layer of a built model (network.swap_block copies them)
    i: int
    f: Any
    np: int

    def __init__(self, c1: int, c2: int, c3: int, c4: int, n: int = 1, ops=("3x3_silu",)):
        super().__init__()
        ops = (ops,) if isinstance(ops, str) else tuple(ops)
        if not ops:
            raise SpaceError("a searchable ELAN block needs at least one op")
        if c3 % 2 or c4 % 2:
            raise SpaceError(f"a searchable ELAN block's hidden channels must be even, got c3={c3}, c4={c4}")
        parsed = [parse_op(op) for op in ops]
        kernels = tuple(sorted({k for k, _ in parsed}))
        acts = tuple(dict.fromkeys(a for _, a in parsed))
        self.ops, self.c, self.channels = ops, c3 // 2, (c1, c2, c3, c4, n)
        self.cv1 = ElasticConv(c1, c3, None, acts)
        self.cv2 = nn.Sequential(_CSP(c3 // 2, c4, n, kernels, acts), ElasticConv(c4, c4, kernels, acts))
        self.cv3 = nn.Sequential(_CSP(c4, c4, n, kernels, acts), ElasticConv(c4, c4, kernels, acts))
        self.cv4 = ElasticConv(c3 + 2 * c4, c2, None, acts)
        self.depth, self.hidden = n, (c3, c4)
        self.set_op(ops[0])

    def csps(self) -> tuple[_CSP, _CSP]:
        return cast(_CSP, self.cv2[0]), cast(_CSP, self.cv3[0])

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

    def set_depth(self, depth: int) -> None:
        n = self.channels[4]
        if not 1 <= depth <= n:
            raise SpaceError(f"depth {depth} given for a block of {n} repeats; expected 1 to {n}")
        for csp in self.csps():
            csp.depth = depth
        self.depth = depth

    def set_hidden(self, c3: int, c4: int) -> None:
        """Run on the first hidden channels: ``c3 / 2`` of each half of ``cv1``'s output, ``c4`` per branch."""
        full3, full4 = self.channels[2:4]
        if not (0 < c3 <= full3 and 0 < c4 <= full4 and c3 % 2 == 0 and c4 % 2 == 0):
            raise SpaceError(
                f"hidden channels ({c3}, {c4}) given for a block of ({full3}, {full4}); expected even and no more"
            )
        h, half = c3 // 2, full3 // 2
        self.cv1.set_channels(None, runs(full3, (0, h), (half, h)))
        first, second = self.csps()
        first.set_channels(h, c4)
        second.set_channels(c4, c4)
        for conv in (cast(ElasticConv, self.cv2[1]), cast(ElasticConv, self.cv3[1])):
            conv.set_channels(runs(full4, (0, c4)), runs(full4, (0, c4)))
        concat = full3 + 2 * full4
        self.cv4.set_channels(runs(concat, (0, h), (half, h), (full3, c4), (full3 + full4, c4)), None)
        self.hidden = (c3, c4)

    def set_choice(self, choice: BlockChoice) -> None:
        self.set_op(choice.op)
        self.set_depth(choice.depth or self.channels[4])
        self.set_hidden(*(choice.hidden or self.channels[2:4]))

    def choice(self) -> BlockChoice:
        """The active op, depth and hidden channels."""
        return BlockChoice(self.op, self.depth, self.hidden)

    def active_state(self) -> dict[str, torch.Tensor]:
        """The state dict of the plain block (one op, ``choice()``'s depth and channels) that computes what this
        one computes now."""
        used = {id(b) for csp in self.csps() for b in csp.bottlenecks(used=True)}
        unused = {id(m) for csp in self.csps() for b in csp.bottlenecks() if id(b) not in used for m in b.modules()}
        state: dict[str, torch.Tensor] = {}
        for name, m in self.named_modules():
            if isinstance(m, ElasticConv) and id(m) not in unused:
                state |= {f"{name}.{k}": v for k, v in m.active_state().items()}
        return state

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in (self.cv2, self.cv3))
        return self.cv4(torch.cat(y, 1))
