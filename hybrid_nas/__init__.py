"""hybrid-nas: one search engine over YOLOv9 neck ops, PQC gate placement and hybrid (front-end + circuit) models.

The Python API (api): ``quantum``, ``depth_sweep``, ``classical``, ``hybrid``, ``nb201``, ``hpo`` run what the
commands of the same names run and return a ``Run``; ``load(dir)`` reads one back; ``dashboard(dir)`` serves
optuna-dashboard on runs from a background thread.
The engine: ``SearchSpace`` / ``Architecture`` (space), ``Evaluator`` (evaluator), objectives
(objectives), strategies (strategies), ``Study`` with its trial stores (study, store).
The spaces: ``hybrid_nas.pqc`` (circuits), ``hybrid_nas.yolo`` (the detector neck), ``hybrid_nas.joint``
(front-end x circuit x head, a ``ProductSpace``), ``hybrid_nas.nasbench201``.
"""

__version__ = "0.1.0"

from .api import classical, dashboard, depth_sweep, hpo, hybrid, load, nb201, quantum  # noqa: E402
from .errors import ConfigError, DataError, HybridNasError, SpaceError, StorageError  # noqa: E402
from .evaluator import Evaluator  # noqa: E402
from .objectives import Objective, make_objective  # noqa: E402
from .space import Architecture, Decision, ProductSpace, SearchSpace  # noqa: E402
from .store import InMemoryStore, SQLiteStore, TrialStore  # noqa: E402
from .strategies import Strategy, make_strategy  # noqa: E402
from .run import Run  # noqa: E402
from .study import Study  # noqa: E402
from .trial import Trial, TrialState  # noqa: E402

__all__ = [
    "Run", "classical", "dashboard", "depth_sweep", "hpo", "hybrid", "load", "nb201", "quantum",
    "Architecture", "ConfigError", "DataError", "Decision", "Evaluator", "HybridNasError", "InMemoryStore",
    "Objective", "ProductSpace", "SQLiteStore", "SearchSpace", "SpaceError", "StorageError", "Strategy", "Study", "Trial",
    "TrialState", "TrialStore", "make_objective", "make_strategy",
]
