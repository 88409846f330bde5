"""The YOLOv9 ELAN-block search: searchable ELAN block, target-adaptive scopes, one-shot supernet, latency.
``search`` and ``latency_table`` run what ``hybrid-nas classical`` and ``hybrid-nas latency-table`` run.

Importing this package teaches ultralytics' model parser the ``SearchableELAN`` row (see ``network``), so
exported subnets load with ``YOLO("best.yaml")`` / ``YOLO("best.pt")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_nas.classical import network  # noqa: F401  (registers the block with ultralytics' parser)
from hybrid_nas.classical.block import SearchableELAN  # noqa: F401

if TYPE_CHECKING:
    from hybrid_nas.classical.command import ClassicalSettings, LatencyTableResult, LatencyTableSettings
    from hybrid_nas.engine.run import Run


def search(
    settings: ClassicalSettings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """One-shot search of a YOLOv9 detector's ELAN blocks (settings: ``ClassicalSettings``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("classical",), settings, out=out, resume=resume, progress=progress, config=config, **given)


def latency_table(
    settings: LatencyTableSettings | None = None,
    /,
    *,
    out: str | Path | None = None,
    config: str | Path | None = None,
    **given: Any,
) -> LatencyTableResult:
    """Measure a per-block latency table on this machine into the JSON file ``out``
    (settings: ``LatencyTableSettings``)."""
    from hybrid_nas.engine.jobs import invoke

    return invoke(("latency-table",), settings, out=out, config=config, **given)
