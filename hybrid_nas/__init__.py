"""hybrid-nas: one search engine, two search spaces (YOLOv9 neck ops, PQC gate placement), one interface.

The engine: ``SearchSpace`` / ``Architecture`` (space), ``Evaluator`` (evaluator), objectives
(objectives), strategies (strategies), ``Study`` with its trial stores (study, store).
"""

__version__ = "0.1.0"

from .errors import ConfigError, DataError, HybridNasError, SpaceError, StorageError  # noqa: E402
from .evaluator import Evaluator  # noqa: E402
from .objectives import Objective, make_objective  # noqa: E402
from .space import Architecture, Decision, SearchSpace  # noqa: E402
from .store import InMemoryStore, SQLiteStore, TrialStore  # noqa: E402
from .strategies import Strategy, make_strategy  # noqa: E402
from .study import Study  # noqa: E402
from .trial import Trial, TrialState  # noqa: E402

__all__ = [
    "Architecture", "ConfigError", "DataError", "Decision", "Evaluator", "HybridNasError", "InMemoryStore",
    "Objective", "SQLiteStore", "SearchSpace", "SpaceError", "StorageError", "Strategy", "Study", "Trial",
    "TrialState", "TrialStore", "make_objective", "make_strategy",
]
