"""Trial stores: where a study keeps every trial, so that a run can be resumed and reported."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from abc import ABC, abstractmethod
from pathlib import Path

from hybrid_nas.engine.errors import StorageError
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.trial import Trial, TrialState


def meta_hash(meta: dict) -> str:
    return hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TrialStore(ABC):
    """Holds one study: its configuration (``meta``) and its trials, numbered from 0.

    Concurrency contract: one writer, the process that runs the study loop, writes; evaluations in
    other processes never touch the store. Any number of readers (``hybrid-nas report`` while a
    study runs) may read concurrently; they see every trial committed before they read. Each write
    is committed before the call returns, so a killed writer loses at most the trial in flight,
    which stays RUNNING and is evaluated again on resume.
    """

    @abstractmethod
    def get_meta(self) -> dict | None:
        """The study's configuration, or None for an empty store."""

    @abstractmethod
    def set_meta(self, meta: dict) -> None: ...

    @abstractmethod
    def put(self, trial: Trial) -> None:
        """Insert a new trial or replace the one with the same number."""

    @abstractmethod
    def trials(self) -> list[Trial]:
        """Every trial, by number."""

    def next_number(self) -> int:
        trials = self.trials()
        return trials[-1].number + 1 if trials else 0

    # Several drivers on one study: only a store that can be shared (``shared``) overrides these.
    shared = False

    def create(self, trial: Trial) -> Trial:
        """``trial`` under the number the store gives it (a shared store writes it now; others on ``put``)."""
        return trial

    def stale(self) -> list[int]:
        """Numbers of RUNNING trials whose driver died (a shared store knows by their heartbeat)."""
        return []

    def claim(self, number: int) -> bool:
        """Take over a stale trial; True when this driver is to run it again."""
        return False

    def close(self) -> None:
        pass


class InMemoryStore(TrialStore):
    """A store that lives as long as the study object: tests and benchmarks."""

    def __init__(self):
        self._meta, self._trials = None, {}

    def get_meta(self):
        return self._meta

    def set_meta(self, meta):
        self._meta = meta

    def put(self, trial):
        self._trials[trial.number] = trial

    def trials(self):
        return [self._trials[k] for k in sorted(self._trials)]

    def next_number(self):
        return max(self._trials, default=-1) + 1


_SCHEMA = """
CREATE TABLE IF NOT EXISTS study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    arch TEXT NOT NULL,
    state INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    reward REAL,
    objectives TEXT,
    error TEXT,
    started REAL,
    duration REAL,
    repeat_of INTEGER
);
"""
_COLUMNS = "number, arch, state, seed, metrics, reward, objectives, error, started, duration, repeat_of"


def _finite_or_none(x):
    return None if x is None or not math.isfinite(x) else x


class SQLiteStore(TrialStore):
    """``trials.sqlite`` in a run directory (stdlib sqlite3, WAL journal: readers never block the writer).

    Every database error surfaces as one ``StorageError`` naming the file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(trials)")}
        except (sqlite3.Error, OSError) as e:
            raise StorageError(f"cannot open trial store {self.path}: {e}; move it away or choose another --out") from None
        if cols != {c.strip() for c in _COLUMNS.split(",")}:
            raise StorageError(f"trial store {self.path} has a foreign schema; it was not written by hybrid-nas")

    def _run(self, sql: str, args=()):
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise StorageError(f"trial store {self.path}: {e}") from None

    def get_meta(self):
        rows = self._run("SELECT value FROM study WHERE key = 'meta'")
        if not rows:
            return None
        try:
            return json.loads(rows[0][0])
        except json.JSONDecodeError:
            raise StorageError(f"trial store {self.path}: the study configuration is corrupt") from None

    def set_meta(self, meta):
        self._run("INSERT OR REPLACE INTO study VALUES ('meta', ?)", (json.dumps(meta, sort_keys=True, default=str),))
        self._run("INSERT OR IGNORE INTO study VALUES ('created', ?)", (str(time.time()),))

    def put(self, t: Trial):
        self._run(
            f"INSERT OR REPLACE INTO trials ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                t.number, t.arch.to_json(), int(t.state), t.seed,
                json.dumps({k: _finite_or_none(v) if isinstance(v, float) else v for k, v in t.metrics.items()}),
                _finite_or_none(t.reward), json.dumps(t.objectives) if t.objectives is not None else None,
                t.error, t.started, t.duration, t.repeat_of,
            ),
        )

    def trials(self):
        rows = self._run(f"SELECT {_COLUMNS} FROM trials ORDER BY number")
        try:
            return [
                Trial(
                    number=r[0], arch=Architecture.from_json(r[1]), state=TrialState(r[2]), seed=r[3],
                    metrics=json.loads(r[4]), reward=r[5],
                    objectives=tuple(json.loads(r[6])) if r[6] else None,
                    error=r[7], started=r[8], duration=r[9], repeat_of=r[10],
                )
                for r in rows
            ]
        except (ValueError, TypeError) as e:
            raise StorageError(f"trial store {self.path} holds a corrupt trial: {e}") from None

    def next_number(self):
        return self._run("SELECT COALESCE(MAX(number) + 1, 0) FROM trials")[0][0]

    def close(self):
        self._db.close()


STORE_FILE = "trials.sqlite"  # a study's default store, in its directory
STORAGE_FILE = "storage.json"  # or where a study kept in an Optuna storage lives, and under which name
RUN_FILE = "run.json"  # marks a run's top directory (its studies may sit in subdirectories)


def run_root(dir: Path) -> Path:
    """The run directory a study directory belongs to: itself, or its parent for a run of several studies."""
    return dir.parent if not (dir / RUN_FILE).is_file() and (dir.parent / RUN_FILE).is_file() else dir


def study_name(dir: Path) -> str:
    """A study's name in an Optuna storage and in the run's journal: ``<run>`` or ``<run>/<study>``."""
    root = run_root(dir)
    return dir.name if root == dir else f"{root.name}/{dir.name}"


def holds_study(dir: Path) -> bool:
    return (dir / STORE_FILE).is_file() or (dir / STORAGE_FILE).is_file()


def study_dirs(run_dir: Path) -> list[Path]:
    """A run's study directories: the run itself when it holds one study, else its subdirectories that do."""
    if holds_study(run_dir):
        return [run_dir]
    return [p for p in sorted(run_dir.iterdir()) if holds_study(p)] if run_dir.is_dir() else []


def open_study(dir: str | Path, storage: str | None = None, *, mirror: bool = False) -> TrialStore:
    """The store of the study in ``dir``: ``trials.sqlite``, or the Optuna storage ``storage`` (noted in
    ``storage.json`` so that reports find it). ``mirror`` also appends every finished trial to the run's
    Optuna journal, which optuna-dashboard opens."""
    dir = Path(dir)
    pointer = dir / STORAGE_FILE
    if storage is None and pointer.is_file():
        try:
            storage = json.loads(pointer.read_text())["storage"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise StorageError(f"{pointer} is corrupt: it should name the study's Optuna storage") from None
    if storage is not None and "://" not in storage:
        storage = str(Path(storage).resolve())  # a journal file: found again from any working directory
    if storage is None:
        store = SQLiteStore(dir / STORE_FILE)
    else:
        from hybrid_nas.engine.storages.optuna_store import OptunaStore

        store = OptunaStore(storage, study_name(dir))
        if not pointer.is_file():
            dir.mkdir(parents=True, exist_ok=True)
            pointer.write_text(json.dumps({"storage": storage, "study": study_name(dir)}) + "\n")
    if not mirror:
        return store
    from hybrid_nas.engine.storages.optuna_store import JOURNAL, MirroredStore, OptunaStore

    return MirroredStore(store, OptunaStore(str(run_root(dir) / JOURNAL), study_name(dir), append_only=True))
