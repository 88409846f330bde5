"""What every trainer of benchmarks/quantum_scaling.py shares, its own and the peers' (standard library only:
the peers run in their own environments, without hybrid_nas): the job file, the peak memory and the
per-epoch clock."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from pathlib import Path


def load_job(path: str) -> dict:
    """The job the parent wrote: circuit ``ops`` ([gate, wires, [[source, index], ...]], sources "w"
    (weight) or "x" (feature)), ``x``/``y`` (training data), ``readout`` (the scaled readout matrix:
    logits = <Z> @ readout), ``lr`` (Adam), ``init`` (weights), ``batches`` (index lists, epoch after
    epoch), ``steps_per_epoch``; ``warmup``: the same for a small circuit, run first."""
    return json.loads(Path(path).read_text())


def _rss() -> int:
    """Resident memory of this process now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """The peak resident memory above the level at entry, sampled every 2 ms while the block runs."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


class Clock:
    """Wall and CPU time from its start, and when each training step ended: the epochs' durations follow
    (the first one includes what came before the first step: building a plan, compiling)."""

    def __init__(self):
        self.ends: list[float] = []
        self.cpu: list[float] = []
        self._cpu0 = self._cpu()
        self.t0 = time.perf_counter()

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def step(self, *_) -> None:
        """Call at the end of each step (its arguments are ignored: it can be an optimizer's hook)."""
        self.ends.append(time.perf_counter() - self.t0)
        self.cpu.append(self._cpu() - self._cpu0)

    def stop(self, steps_per_epoch: int) -> dict:
        """Per-epoch seconds, the seconds to the end of the first step, and CPU seconds per wall second
        (about 1 where one thread works) over the first epoch and over the later ones."""
        bounds = [0.0, *self.ends[steps_per_epoch - 1 :: steps_per_epoch]]
        cpu = [0.0, *self.cpu[steps_per_epoch - 1 :: steps_per_epoch]]
        later = (cpu[-1] - cpu[1]) / (bounds[-1] - bounds[1]) if len(bounds) > 2 else None
        return {
            "epoch_seconds": [b - a for a, b in zip(bounds, bounds[1:])],
            "first_step_seconds": self.ends[0],
            "first_epoch_cpu_per_wall": cpu[1] / bounds[1],
            "cpu_per_wall": later,
        }


def report(losses: list[float], timing: dict, memory: PeakMemory, plan: str) -> None:
    """The trainer's one line of output: what the parent reads."""
    print(json.dumps({"losses": losses, **timing, "peak_mib": memory.mib, "plan": plan}))
