"""Where evaluations run: in this process, in local worker processes, or on a Dask cluster.

All three are ``concurrent.futures.Executor``s, so the study loop has one code path.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from hybrid_nas.engine.errors import ConfigError


class InlineExecutor(Executor):
    """Runs each call at submit time: deterministic, no pickling, tracebacks stay local."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future


def connect_dask(address: str):
    """A ``distributed.Client`` on an existing scheduler, or a one-line ``ConfigError``."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask comes with smac
        raise ConfigError("--dask-scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {e}") from None


class DaskExecutor(Executor):
    """A ``distributed.Client`` on an existing scheduler, seen through its futures executor."""

    def __init__(self, address: str):
        self.client = connect_dask(address)
        self._executor = self.client.get_executor(pure=False)
        self.slots = max(1, sum(self.client.nthreads().values()))

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, **kwargs):
        self._executor.shutdown(wait=wait)
        self.client.close()


def make_executor(workers: int = 1, dask_scheduler: str | None = None) -> tuple[Executor, int]:
    """The executor and how many evaluations to keep in flight on it."""
    if dask_scheduler:
        executor = DaskExecutor(dask_scheduler)
        return executor, executor.slots
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if workers == 1:
        return InlineExecutor(), 1
    # spawn, not fork: a forked child of a process that already started torch's threads can hang.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")), workers
