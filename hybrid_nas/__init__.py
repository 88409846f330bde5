"""hybrid-nas: one search engine over PQC gate placement, YOLOv9 ELAN blocks and hybrid (front-end + circuit)
models.

The API, one namespace per space; every search takes keyword settings (named as the CLI's flags, with
underscores) or the command's settings object, and returns a ``Run``:

    import hybrid_nas as hn
    run = hn.quantum.search(task="digits4", noise=None, budget=20, out="runs/q")
    run.best, run.trials(), run.report()

``hn.quantum.search`` / ``hn.quantum.depth_sweep``, ``hn.classical.search`` / ``hn.classical.latency_table``,
``hn.hybrid.search``, ``hn.nb201.search``, ``hn.tune(target, ...)``; ``hn.load(dir)`` reads a run back and
``hn.dashboard(dir)`` serves optuna-dashboard on runs. The engine (``hybrid_nas.engine``): ``SearchSpace``,
``Evaluator``, objectives, strategies, ``Study`` and its trial stores.

Everything is imported on first use, so ``import hybrid_nas`` loads neither torch, Qiskit nor ultralytics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_NAMES = {
    "Run": "hybrid_nas.engine.run",
    "load": "hybrid_nas.engine.run",
    "tune": "hybrid_nas.tuning",
    "Architecture": "hybrid_nas.engine.space",
    "Decision": "hybrid_nas.engine.space",
    "ProductSpace": "hybrid_nas.engine.space",
    "SearchSpace": "hybrid_nas.engine.space",
    "Evaluator": "hybrid_nas.engine.evaluator",
    "Objective": "hybrid_nas.engine.objectives",
    "make_objective": "hybrid_nas.engine.objectives",
    "Strategy": "hybrid_nas.engine.strategies",
    "make_strategy": "hybrid_nas.engine.strategies",
    "Study": "hybrid_nas.engine.study",
    "Trial": "hybrid_nas.engine.trial",
    "TrialState": "hybrid_nas.engine.trial",
    "TrialStore": "hybrid_nas.engine.storages.base",
    "InMemoryStore": "hybrid_nas.engine.storages.base",
    **dict.fromkeys(
        ("ConfigError", "DataError", "HybridNasError", "SpaceError", "StorageError"), "hybrid_nas.engine.errors"
    ),
}
# subpackages and modules reached as attributes: hn.quantum.search(...), hn.dashboard(...)
_MODULES = ("quantum", "classical", "hybrid", "nb201", "tuning", "engine", "dashboard", "cli")

__all__ = sorted([*_NAMES, *_MODULES])

if TYPE_CHECKING:
    from hybrid_nas import classical, dashboard, engine, hybrid, nb201, quantum, tuning
    from hybrid_nas.engine.errors import ConfigError, DataError, HybridNasError, SpaceError, StorageError
    from hybrid_nas.engine.evaluator import Evaluator
    from hybrid_nas.engine.objectives import Objective, make_objective
    from hybrid_nas.engine.run import Run, load
    from hybrid_nas.engine.space import Architecture, Decision, ProductSpace, SearchSpace
    from hybrid_nas.engine.storages.base import InMemoryStore, TrialStore
    from hybrid_nas.engine.strategies import Strategy, make_strategy
    from hybrid_nas.engine.study import Study
    from hybrid_nas.engine.trial import Trial, TrialState
    from hybrid_nas.tuning import tune


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"hybrid_nas.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'hybrid_nas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
