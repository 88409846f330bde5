"""Hyperparameter optimisation: SMAC3, or an NNI tuner in NNI's own experiment, over a search space read from
YAML or NNI's JSON, against any evaluator of hyperparameter configurations (a trained circuit, a trained
detector). ``tune`` runs what ``hybrid-nas hpo quantum|classical`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybrid_nas.engine.run import Run

TARGETS = ("quantum", "classical")


def tune(
    target: str,
    settings: Any = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Run:
    """SMAC3 (or an NNI tuner: ``tuner="nni:TPE"``) over the training hyperparameters of ``target``, "quantum"
    or "classical" (settings: ``HPOQuantumSettings`` / ``HPOClassicalSettings`` of ``hybrid_nas.tuning.command``)."""
    from hybrid_nas.engine.errors import ConfigError, unknown
    from hybrid_nas.engine.jobs import invoke

    if target not in TARGETS:
        raise ConfigError(unknown("hpo target", target, TARGETS))
    return invoke(("hpo", target), settings, out=out, resume=resume, progress=progress, config=config, **given)
