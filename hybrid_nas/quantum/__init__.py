"""The PQC gate-placement space: circuits, the torch simulator, PennyLane/Qiskit builders, noise-aware
evaluation. ``search`` and ``depth_sweep`` run what ``hybrid-nas quantum`` and ``hybrid-nas depth-sweep`` run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybrid_nas.engine.run import Run
    from hybrid_nas.quantum.command import QuantumSettings


def search(
    settings: QuantumSettings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """Search the gate placement of a PQC classifier (settings: ``QuantumSettings``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("quantum",), settings, out=out, resume=resume, progress=progress, config=config, **given)


def depth_sweep(
    settings: QuantumSettings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """The best circuit per number of layers 1..``layers`` (the settings of ``search``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("depth-sweep",), settings, out=out, resume=resume, progress=progress, config=config, **given)
