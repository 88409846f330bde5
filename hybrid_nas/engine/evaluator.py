"""Evaluators: an architecture in, a plain dict of float metrics out."""

from __future__ import annotations

import math
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path

from hybrid_nas.engine.space import Architecture

Metrics = dict[str, float]


class Evaluator(ABC):
    """One required method, ``evaluate``; the pipeline also calls ``setup``, ``meta`` and ``artefacts``,
    each with a default. An evaluator must pickle: it may run in another process or on a Dask worker.
    ``quality`` names the figure it reports for "how good" (accuracy, map50).

    ``setup`` runs once per worker process (and thread) before its first evaluation there: the place to
    load weights or data that should not travel with every pickled submission."""

    name = "evaluator"
    quality = "accuracy"

    @abstractmethod
    def evaluate(self, arch: Architecture, seed: int) -> Metrics:
        """Train and/or measure ``arch``; raise on failure (the study records a failed trial)."""

    def setup(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Load what every evaluation in this worker shares; by default nothing."""

    def meta(self) -> dict:
        """Name and arguments; hashed into the study so a resume with other settings is refused."""
        return {"name": self.name}

    def artefacts(self, arch: Architecture, seed: int, out_dir: Path) -> dict:
        """Write the files of the study's chosen architecture (weights, a model file, a drawing) into
        ``out_dir``, in the main process once the study ends; return the figures ``best.json`` adds (by
        default nothing is written)."""
        return {}


# Evaluators already set up in this process, by (token, thread); a few, so a long-lived Dask worker
# that serves many studies does not hold them all.
_READY: OrderedDict[tuple[str, int], Evaluator] = OrderedDict()
_READY_LOCK = threading.Lock()
_KEEP = 4


def tag(evaluator: Evaluator) -> Evaluator:
    """Give ``evaluator`` a token that survives pickling, so its copies in a worker share one setup."""
    evaluator.__dict__.setdefault("_setup_token", uuid.uuid4().hex)
    return evaluator


def ready(evaluator: Evaluator) -> Evaluator:
    """The set-up evaluator for this process and thread: the first copy of a tagged evaluator to arrive
    is set up and kept; later copies (fresh from pickling) are replaced by it. Untagged: set up each call."""
    token = evaluator.__dict__.get("_setup_token")
    if token is None:
        evaluator.setup()
        return evaluator
    key = (token, threading.get_ident())
    with _READY_LOCK:
        kept = _READY.get(key)
        if kept is not None:
            _READY.move_to_end(key)
            return kept
    evaluator.setup()
    with _READY_LOCK:
        _READY[key] = evaluator
        while len(_READY) > _KEEP:
            _READY.popitem(last=False)
    return evaluator


def run_evaluation(evaluator: Evaluator, arch: Architecture, seed: int) -> tuple[Metrics | None, str | None, float]:
    """Evaluate in whichever process this lands: (metrics, None, seconds) or (None, error, seconds).

    The evaluation's own exception (its type, message and traceback) or a non-finite figure is the
    architecture's result, returned as an error. Anything else (setup failing, the worker dying) makes
    the future itself fail: the study retries that trial instead of judging the architecture by it.
    """
    evaluator = ready(evaluator)
    start = time.perf_counter()
    try:
        metrics = {k: float(v) for k, v in evaluator.evaluate(arch, seed).items()}
    except Exception as e:  # noqa: BLE001 - any evaluator failure is a failed trial, not a dead study
        line = (str(e).strip().splitlines() or [""])[0]
        return None, f"{type(e).__name__}: {line}\n\n{traceback.format_exc()}", time.perf_counter() - start
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    if bad:
        return None, f"non-finite metric(s) {', '.join(bad)}: {metrics}", time.perf_counter() - start
    return metrics, None, time.perf_counter() - start
