"""The Python API: one function per command, each returning the ``Run`` it made.

Settings are keyword arguments named as the keys of the command's packaged YAML (the CLI's flags with
underscores); ``config`` is a settings file underneath them, e.g. an earlier run's ``config.yaml``.
``out`` is the run directory (default ``runs/<command>-...``), ``resume`` continues the run in it.

    import hybrid_nas as hn
    run = hn.quantum(task="digits4", noise=None, budget=20, out="runs/q")
    run.best, run.trials(), run.report()
"""

from __future__ import annotations

from pathlib import Path

from .commands import invoke
from .run import Run, load

__all__ = ["classical", "dashboard", "depth_sweep", "hpo", "hybrid", "load", "nb201", "quantum"]


def quantum(out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
            config: str | Path | None = None, **settings) -> Run:
    """Search the gate placement of a PQC classifier (settings: ``hybrid_nas.pqc.command.QuantumSettings``)."""
    return invoke(("quantum",), out, resume=resume, progress=progress, config=config, **settings)


def depth_sweep(out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
                config: str | Path | None = None, **settings) -> Run:
    """The best circuit per number of layers 1..``layers`` (the settings of ``quantum``)."""
    return invoke(("depth-sweep",), out, resume=resume, progress=progress, config=config, **settings)


def classical(out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
              config: str | Path | None = None, **settings) -> Run:
    """One-shot op search over a YOLOv9 neck (settings: ``hybrid_nas.yolo.command.ClassicalSettings``)."""
    return invoke(("classical",), out, resume=resume, progress=progress, config=config, **settings)


def hybrid(out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
           config: str | Path | None = None, **settings) -> Run:
    """Joint search of a front-end, a circuit and a head, beside its controls
    (settings: ``hybrid_nas.joint.command.HybridSettings``)."""
    return invoke(("hybrid",), out, resume=resume, progress=progress, config=config, **settings)


def nb201(out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
          config: str | Path | None = None, **settings) -> Run:
    """A search of NAS-Bench-201 by table look-up (settings: ``hybrid_nas.bench.NB201Settings``)."""
    return invoke(("bench", "nb201"), out, resume=resume, progress=progress, config=config, **settings)


def hpo(target: str, out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
        config: str | Path | None = None, **settings) -> Run:
    """SMAC over the training hyperparameters of ``target`` "quantum" or "classical"
    (settings: ``hybrid_nas.tuning.command.HPOQuantumSettings`` / ``HPOClassicalSettings``)."""
    from .errors import ConfigError, unknown

    if target not in ("quantum", "classical"):
        raise ConfigError(unknown("hpo target", target, ("quantum", "classical")))
    return invoke(("hpo", target), out, resume=resume, progress=progress, config=config, **settings)


def dashboard(*targets: str | Path, port: int = 8080, host: str = "127.0.0.1"):
    """optuna-dashboard on run directories (or a storage URL), served from a background thread of this
    process: open ``.url``, ``.stop()`` ends it (what ``hybrid-nas dashboard`` serves in the foreground)."""
    from .live import dashboard as start

    return start(*targets, port=port, host=host)
