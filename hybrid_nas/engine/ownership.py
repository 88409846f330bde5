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


def _refusal(dir: Path, fd: int) -> ConfigError:
    """The line that refuses a second process: who holds ``dir``, as its owner wrote it into the lock file."""
    try:
        doc = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc["started"]))
        holder = f"`hybrid-nas {doc['command']}` (pid {doc['pid']} on {doc['host']}, started {started})"
        shared = doc.get("shared", False)
    except (ValueError, KeyError, TypeError):
        holder, shared = "another process", False
    then = (
        "drivers share a run directory only when every one of them is started with the same --storage (and --resume)"
        if shared
        else "wait for it to finish, or choose another --out"
    )
    return ConfigError(f"{dir} is in use by {holder}; {then}")


def check_free(dir: Path, shared: bool = False) -> None:
    """Refuse now, writing nothing, when another process owns ``dir`` in a way ``shared`` cannot join."""
    path = dir / LOCK_FILE
    if not path.is_file():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _refusal(dir, fd) from None
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
            error = _refusal(self.dir, fd)
            os.close(fd)
            raise error from None
        # the newest owner's name (of drivers sharing the lock, any one named is still running); written, then cut
        # to length, so that a reader never finds the file empty
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": time.time(),
            "shared": self.shared,
        }
        text = json.dumps(owner).encode()
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
