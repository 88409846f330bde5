"""One owner per run directory: an ``flock`` on its ``run.lock``, which the kernel releases when the owning
process dies, however it dies (a kill -9 leaves no stale lock to clear by hand).

A run on its own journal takes the lock exclusively. Drivers that share one study through ``--storage`` take
it shared, so they may run side by side on one directory while a run of the other kind is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError

LOCK_FILE = "run.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as its owner wrote it into the file."""
    try:
        doc = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc["started"]))
        return f"`hybrid-nas {doc['command']}` (pid {doc['pid']} on {doc['host']}, started {started})"
    except (ValueError, KeyError, TypeError):
        return "another process"


def _refusal(dir: Path, fd: int, shared: bool) -> ConfigError:
    join = (
        "wait for it to finish, or choose another --out"
        if not shared
        else "drivers share a run directory only when every one of them is started with the same --storage"
    )
    return ConfigError(f"{dir} is in use by {_holder(fd)}; {join}")


def check_free(dir: Path, shared: bool = False) -> None:
    """Refuse now, writing nothing, when another process owns ``dir`` in a way ``shared`` cannot join."""
    path = dir / LOCK_FILE
    if not path.is_file():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _refusal(dir, fd, shared) from None
    finally:
        os.close(fd)  # closing the descriptor also drops the probe's lock


class RunLock:
    """The lock a run holds on its directory from before its first file until it ends."""

    def __init__(self, dir: Path, command: str, shared: bool = False):
        self.dir, self.command, self.shared = dir, command, shared
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _refusal(self.dir, fd, self.shared)
            os.close(fd)
            raise error from None
        if not self.shared or os.fstat(fd).st_size == 0:  # a joining driver leaves the first one's name
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command, "started": time.time()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
