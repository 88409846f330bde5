"""The classical op catalogue: an op is ``<k>x<k>_<activation>`` for the convolutions of a searchable ELAN block."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

from torch import nn

from hybrid_nas.engine.errors import SpaceError, unknown

# An explicit registry (not ultralytics' `eval(act)`): name -> a fresh module; all four are parameter-free,
# so ops that differ only in activation share every weight in the supernet.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky": lambda: nn.LeakyReLU(0.1),
    "mish": nn.Mish,
    "silu": nn.SiLU,
}
KERNELS = (3, 5, 7)
_OP = re.compile(r"(\d+)x(\d+)_(\w+)")


@cache
def parse_op(op: str) -> tuple[int, str]:
    """``"5x5_silu"`` -> ``(5, "silu")``; a ``SpaceError`` for anything else."""
    m = _OP.fullmatch(str(op))
    if not m or m[1] != m[2]:
        raise SpaceError(f"op {op!r} is not '<k>x<k>_<activation>' (e.g. '3x3_relu', '5x5_silu')")
    k, act = int(m[1]), m[3]
    if k not in KERNELS:
        raise SpaceError(f"op {op!r}: kernel {k}x{k} given, expected one of {[f'{k}x{k}' for k in KERNELS]}")
    if act not in ACTIVATIONS:
        raise SpaceError(f"op {op!r}: {unknown('activation', act, ACTIVATIONS)}")
    return k, act


def op_name(kernel: int, act: str) -> str:
    return f"{kernel}x{kernel}_{act}"


def all_ops(kernels=KERNELS, acts=tuple(ACTIVATIONS)) -> tuple[str, ...]:
    return tuple(op_name(k, a) for k in kernels for a in acts)


class BlockChoice(NamedTuple):
    """What one searchable block computes: its op, the RepCSP repeats it runs and its hidden channels
    ``(c3, c4)`` (RepNCSPELAN4's names); None: all the block has."""

    op: str
    depth: int | None = None
    hidden: tuple[int, int] | None = None
