"""Hybrid models: a classical front-end, a circuit and a readout head, trained as one and searched jointly.
``search`` runs what ``hybrid-nas hybrid`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybrid_nas.engine.run import Run
    from hybrid_nas.hybrid.command import HybridSettings


def search(
    settings: HybridSettings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """Joint search of a front-end, a circuit and a head, beside its controls (settings: ``HybridSettings``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("hybrid",), settings, out=out, resume=resume, progress=progress, config=config, **given)
