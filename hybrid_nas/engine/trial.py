"""Trial records: what one evaluation of one architecture left behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from hybrid_nas.engine.space import Architecture


class TrialState(IntEnum):
    RUNNING = 0  # handed to an executor; a killed run re-evaluates these on resume
    COMPLETE = 1
    FAILED = 2


@dataclass(frozen=True)
class Trial:
    number: int
    arch: Architecture
    state: TrialState
    seed: int
    metrics: dict = field(default_factory=dict)
    reward: float | None = None
    objectives: tuple[float, ...] | None = None
    error: str | None = None
    started: float | None = None  # unix time
    duration: float | None = None  # seconds spent evaluating (0 for a repeat served from the cache)
    repeat_of: int | None = None  # the trial whose result this one reused (repeats counted as samples)

    @property
    def error_line(self) -> str:
        """The error's first line (the whole traceback stays in ``error``)."""
        return (self.error or "").split("\n", 1)[0]

    @property
    def ok(self) -> bool:
        return self.state == TrialState.COMPLETE
