"""Evaluators: an architecture in, a plain dict of float metrics out."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod

from .space import Architecture

Metrics = dict[str, float]


class Evaluator(ABC):
    """One required method, ``evaluate``. An evaluator must pickle: it may run in another process
    or on a Dask worker. ``quality`` names the figure it reports for "how good" (accuracy, map50)."""

    name = "evaluator"
    quality = "accuracy"

    @abstractmethod
    def evaluate(self, arch: Architecture, seed: int) -> Metrics:
        """Train and/or measure ``arch``; raise on failure (the study records a failed trial)."""

    def meta(self) -> dict:
        """Name and arguments; hashed into the study so a resume with other settings is refused."""
        return {"name": self.name}


def run_evaluation(evaluator: Evaluator, arch: Architecture, seed: int) -> tuple[Metrics | None, str | None, float]:
    """Evaluate in whichever process this lands: (metrics, None, seconds) or (None, error line, seconds).

    Exceptions and non-finite figures become an error line here, so only a dying worker can make
    the future itself fail.
    """
    start = time.perf_counter()
    try:
        metrics = {k: float(v) for k, v in evaluator.evaluate(arch, seed).items()}
    except Exception as e:  # noqa: BLE001 - any evaluator failure is a failed trial, not a dead study
        line = (str(e).strip().splitlines() or [""])[0]
        return None, f"{type(e).__name__}: {line}", time.perf_counter() - start
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    if bad:
        return None, f"non-finite metric(s) {', '.join(bad)}: {metrics}", time.perf_counter() - start
    return metrics, None, time.perf_counter() - start
