"""NAS-Bench-201, the engine's tabular benchmark: its packaged table (accuracy and latency on 27 device
settings), its cell space and a look-up evaluator. ``search`` runs what ``hybrid-nas bench nb201`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybrid_nas.engine.run import Run
    from hybrid_nas.nb201.command import NB201Settings


def search(
    settings: NB201Settings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """A search of NAS-Bench-201 by table look-up (settings: ``NB201Settings``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("bench", "nb201"), settings, out=out, resume=resume, progress=progress, config=config, **given)
