"""Process-wide settings changed for a while and restored: torch's thread count, a library's log level.

Library code never leaves such a setting changed (a notebook's or a caller's choice stays theirs), and
threads of one process (Dask's threaded workers) may enter the same scope concurrently: the first to
enter saves the value, the last to leave restores it, under one lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any


class ScopedSetting:
    def __init__(self, get: Callable[[], Any], set: Callable[[Any], None]):
        self._get, self._set = get, set
        self._lock, self._depth = threading.Lock(), 0
        self._saved: Any = None

    @contextlib.contextmanager
    def __call__(self, value):
        with self._lock:
            if self._depth == 0:
                self._saved = self._get()
            self._depth += 1
            self._set(value)
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._set(self._saved)


def _torch_threads() -> ScopedSetting:
    import torch

    return ScopedSetting(torch.get_num_threads, torch.set_num_threads)


_threads: ScopedSetting | None = None


def torch_threads(n: int):
    """``with torch_threads(n):`` torch's intra-op thread count is ``n`` inside, restored after."""
    global _threads
    if _threads is None:
        _threads = _torch_threads()
    return _threads(n)
