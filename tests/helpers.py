"""Evaluators for tests: importable by spawned worker processes (tests/ is put on sys.path)."""

import math
import os
import time

from hybrid_nas import Evaluator


class CountingEvaluator(Evaluator):
    """Reward-shaped toy metrics: accuracy = share of decisions set to each decision's first option."""

    name = "counting"

    def __init__(self, space, delay: float = 0.0, fail_on=None, nan_on=None, die_on=None, die_once=None):
        self.space, self.delay = space, delay
        self.fail_on, self.nan_on, self.die_on = fail_on or {}, nan_on or {}, die_on or {}
        self.die_once = die_once  # a file: the first evaluation to find it missing creates it and dies

    def meta(self):
        return {"name": self.name, "delay": self.delay}

    def _matches(self, arch, pattern):
        return bool(pattern) and all(arch[k] == v for k, v in pattern.items())

    def evaluate(self, arch, seed):
        if self.delay:
            time.sleep(self.delay)
        if self._matches(arch, self.die_on):
            os._exit(3)  # a worker that dies, as on a segfault or out-of-memory kill
        if self.die_once and not os.path.exists(self.die_once):
            open(self.die_once, "w").close()
            os._exit(3)  # a one-off death: the node was lost, not the architecture's fault
        if self._matches(arch, self.fail_on):
            raise RuntimeError("simulated training crash")
        hits = sum(arch[d.name] == d.options[0] for d in self.space.decisions)
        accuracy = hits / len(self.space.decisions)
        if self._matches(arch, self.nan_on):
            accuracy = math.nan
        return {"accuracy": accuracy, "latency_ms": 1.0 + sum(self.space[k].index(v) for k, v in arch.items())}


class SetupEvaluator(CountingEvaluator):
    """Logs each ``setup`` (the process id, one line) to ``log`` and needs it before evaluating; ``broken``
    makes setup itself fail."""

    def __init__(self, space, log, broken: bool = False):
        super().__init__(space)
        self.log, self.broken, self.loaded = str(log), broken, None

    def __getstate__(self):  # what a worker receives: no loaded state, as with real weights
        return {**self.__dict__, "loaded": None}

    def setup(self):
        if self.broken:
            raise OSError("weights file is unreadable")
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        self.loaded = "weights"

    def evaluate(self, arch, seed):
        if self.loaded != "weights":
            raise RuntimeError("evaluate before setup")
        return super().evaluate(arch, seed)


class LearningRateEvaluator(Evaluator):
    """A stand-in for a training run: validation accuracy peaks at lr 0.01 (and grows with the epochs); it
    reports the seed it ran on and keeps every call it served."""

    name = "learning-rate"

    def __init__(self):
        self.calls = []

    def evaluate(self, params, seed):
        self.calls.append((dict(params), seed))
        accuracy = 1 - abs(math.log10(params["lr"]) + 2) / 4 + 0.01 * params.get("epochs", 0)
        return {"accuracy": accuracy, "train_seconds": 0.0, "seed": float(seed)}
