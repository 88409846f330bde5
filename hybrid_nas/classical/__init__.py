"""The YOLOv9 ELAN-block search: searchable ELAN block, target-adaptive scopes, one-shot supernet, latency.
``search`` and ``latency_table`` run what ``hybrid-nas classical`` and ``hybrid-nas latency-table`` run.

Importing this package teaches ultralytics' model parser the ``SearchableELAN`` row (see ``network``), so
exported subnets load with ``YOLO("best.yaml")`` / ``YOLO("best.pt")``. It does so without importing
ultralytics (and torch, seconds of start-up that every ``hybrid-nas`` command would pay): if ultralytics'
model parser is not loaded yet, the block is registered the moment it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

_PARSER = "ultralytics.nn.tasks"


class _AfterParserLoads(importlib.abc.MetaPathFinder):
    """A one-shot import hook: once ``ultralytics.nn.tasks`` has run, import ``network`` (which wraps its
    parser); nothing else is touched."""

    def find_spec(self, name, path, target=None):
        if name != _PARSER:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            from hybrid_nas.classical import network  # noqa: F401  (registers the block with the parser)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _PARSER in sys.modules:
    from hybrid_nas.classical import network  # noqa: F401  (registers the block with ultralytics' parser)
elif not any(isinstance(f, _AfterParserLoads) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterParserLoads())


def __getattr__(name: str):
    if name == "SearchableELAN":  # the block, imported (with torch) when asked for
        from hybrid_nas.classical.block import SearchableELAN

        return SearchableELAN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from hybrid_nas.classical.block import SearchableELAN as SearchableELAN
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
