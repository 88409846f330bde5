"""Evaluators for tests: importable by spawned worker processes (tests/ is put on sys.path)."""

import math
import os
import time

from hybrid_nas import Evaluator


class CountingEvaluator(Evaluator):
    """Reward-shaped toy metrics: accuracy = share of decisions set to each decision's first option."""

    name = "counting"

    def __init__(self, space, delay: float = 0.0, fail_on=None, nan_on=None, die_on=None):
        self.space, self.delay = space, delay
        self.fail_on, self.nan_on, self.die_on = fail_on or {}, nan_on or {}, die_on or {}

    def meta(self):
        return {"name": self.name, "delay": self.delay}

    def _matches(self, arch, pattern):
        return bool(pattern) and all(arch[k] == v for k, v in pattern.items())

    def evaluate(self, arch, seed):
        if self.delay:
            time.sleep(self.delay)
        if self._matches(arch, self.die_on):
            os._exit(3)  # a worker that dies, as on a segfault or out-of-memory kill
        if self._matches(arch, self.fail_on):
            raise RuntimeError("simulated training crash")
        hits = sum(arch[d.name] == d.options[0] for d in self.space.decisions)
        accuracy = hits / len(self.space.decisions)
        if self._matches(arch, self.nan_on):
            accuracy = math.nan
        return {"accuracy": accuracy, "latency_ms": 1.0 + sum(self.space[k].index(v) for k, v in arch.items())}
