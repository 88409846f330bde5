"""Statistics every space's figures share."""

from __future__ import annotations

import math

import numpy as np


def wilson_halfwidth(p: float, n: int, z: float = 1.96) -> float:
    """Half-width of the Wilson score interval of a proportion ``p`` measured on ``n`` trials (95 % at
    z = 1.96): unlike p +- z sqrt(p (1 - p) / n), it does not collapse to 0 at p = 0 or 1 on few samples."""
    if n < 1:
        raise ValueError(f"a proportion needs at least one trial, got n={n}")
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)


def rank_cells(pairs) -> str:
    """``Spearman | Kendall tau`` of ``pairs`` (rows of two figures) for a markdown table row; ``- | -`` where
    they rank nothing: fewer than 3 rows, or a constant figure."""
    from hybrid_nas.engine.latency_transfer import kendall_tau, spearman

    pairs = np.asarray(pairs, float).reshape(-1, 2)
    if len(pairs) < 3 or np.ptp(pairs, axis=0).min() == 0:
        return "- | -"
    return f"{spearman(*pairs.T):.3f} | {kendall_tau(*pairs.T):.3f}"
