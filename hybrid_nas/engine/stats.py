"""Statistics every space's figures share."""

from __future__ import annotations

import math


def wilson_halfwidth(p: float, n: int, z: float = 1.96) -> float:
    """Half-width of the Wilson score interval of a proportion ``p`` measured on ``n`` trials (95 % at
    z = 1.96): unlike p +- z sqrt(p (1 - p) / n), it does not collapse to 0 at p = 0 or 1 on few samples."""
    if n < 1:
        raise ValueError(f"a proportion needs at least one trial, got n={n}")
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
