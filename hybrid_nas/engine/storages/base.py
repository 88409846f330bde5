"""Trial stores: where a study keeps every trial, so that a run can be resumed and reported."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path

from hybrid_nas.engine.errors import StorageError
from hybrid_nas.engine.trial import Trial


def meta_hash(meta: dict) -> str:
    return hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TrialStore(ABC):
    """Holds one study: its configuration (``meta``) and its trials, numbered from 0.

    Concurrency contract: one writer, the process that runs the study loop, writes (several, on a
    ``shared`` store); evaluations in other processes never touch the store. Any number of readers
    (``hybrid-nas report`` or optuna-dashboard while a study runs) may read concurrently; they see every
    trial written before they read. Each write is on disk before the call returns, so a killed writer
    loses at most the trial in flight, which stays RUNNING and is evaluated again on resume.
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
    heartbeat = 10.0  # seconds between a shared store's beats, and between its reads when its driver is alone

    def create(self, trial: Trial) -> Trial:
        """``trial`` under the number the store gives it (a shared store writes it now; others on ``put``)."""
        return trial

    def stale(self) -> list[int]:
        """Numbers of RUNNING trials whose driver died (a shared store knows by their heartbeat)."""
        return []

    def claim(self, number: int) -> bool:
        """Take over a stale trial; True when this driver is to run it again."""
        return False

    def close(self) -> None:  # noqa: B027 - an optional hook: most stores hold nothing to release
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


JOURNAL = "optuna.journal"  # a run's own Optuna journal, in its top directory: every study of the run
STORAGE_FILE = "storage.json"  # marks a study's directory: where its study lives, and under which name
RUN_FILE = "run.json"  # marks a run's top directory (its studies may sit in subdirectories)
_LEGACY_FILE = "trials.sqlite"  # the store of hybrid-nas before the journal


def run_root(dir: Path) -> Path:
    """The run directory a study directory belongs to: itself, or its parent for a run of several studies."""
    return dir.parent if not (dir / RUN_FILE).is_file() and (dir.parent / RUN_FILE).is_file() else dir


def study_name(dir: Path) -> str:
    """A new study's name in its storage: ``<run>`` or ``<run>/<study>`` (then kept in ``storage.json``)."""
    root = run_root(dir)
    return dir.name if root == dir else f"{root.name}/{dir.name}"


def holds_study(dir: Path) -> bool:
    return (dir / STORAGE_FILE).is_file()


def study_dirs(run_dir: Path) -> list[Path]:
    """A run's study directories: the run itself when it holds one study, else its subdirectories that do."""
    if holds_study(run_dir):
        return [run_dir]
    return [p for p in sorted(run_dir.iterdir()) if holds_study(p)] if run_dir.is_dir() else []


def _resolved(storage: str) -> str:
    """A journal path made absolute (found again from any working directory); a URL as given."""
    return storage if "://" in storage else str(Path(storage).resolve())


def study_location(dir: str | Path, storage: str | None = None) -> tuple[str, str, bool]:
    """(storage, study name, whether it is the run's own journal) of the study in ``dir``, as its
    ``storage.json`` says; for a new study, ``storage`` (a URL or a journal file) or else the run's journal.

    ``storage.json`` holds ``{"storage": null | URL, "study": name}``; null is the run's own journal, found
    relative to the run directory, so that a run can be moved or renamed."""
    dir = Path(dir)
    pointer = dir / STORAGE_FILE
    if pointer.is_file():
        try:
            doc = json.loads(pointer.read_text())
            stored, name = doc["storage"], doc["study"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise StorageError(f"{pointer} is corrupt: it should name the study's storage and study") from None
        if storage is not None and (stored is None or _resolved(storage) != stored):
            raise StorageError(
                f"the study in {dir} lives in {stored or 'the run journal'}, not {storage}; "
                "resume it without --storage or choose another --out"
            )
    else:
        if (dir / _LEGACY_FILE).is_file():
            raise StorageError(
                f"{dir} holds a {_LEGACY_FILE} from an older hybrid-nas, which this version no "
                "longer reads; read it with that version or choose another --out"
            )
        stored, name = (_resolved(storage) if storage is not None else None), study_name(dir)
    if stored is None:
        return str(run_root(dir) / JOURNAL), name, True
    return stored, name, False


def check_storage(storage: str | None) -> None:
    """A ``--storage`` that can be opened, checked before the run directory is claimed: a database URL is
    opened (its driver, server and credentials); a journal file must be a file in an existing directory."""
    if storage is None:
        return
    if "://" in storage:
        from hybrid_nas.engine.storages.optuna_store import open_storage

        open_storage(storage)
        return
    path = Path(storage)
    if path.exists() and not path.is_file():
        raise StorageError(f"--storage {storage} is not a file: give a journal file or a database URL")
    if not path.parent.is_dir():
        raise StorageError(f"--storage {storage}: the directory {path.parent} does not exist")


def open_study(dir: str | Path, storage: str | None = None, *, shared: bool = False) -> TrialStore:
    """The store of the study in ``dir``, the one place that picks it: the run's own journal
    (``optuna.journal`` in the run directory, one driver unless ``shared``: NNI's trial processes each record
    their own trial), or the Optuna storage ``storage`` (a URL or a journal file, shared by every driver
    started on it). A new study's ``storage.json`` is written here."""
    from hybrid_nas.engine.storages.optuna_store import OptunaStore

    dir = Path(dir)
    where, name, own = study_location(dir, storage)
    store = OptunaStore(where, name, shared=shared or not own)
    pointer = dir / STORAGE_FILE
    if not pointer.is_file():
        dir.mkdir(parents=True, exist_ok=True)
        pointer.write_text(json.dumps({"storage": None if own else where, "study": name}) + "\n")
    return store
