"""Watching and sharing studies with optuna-dashboard: a run keeps its trials in an Optuna storage (its own
``optuna.journal``, or the one ``--storage`` named), which optuna-dashboard reads as they are written; its
artefacts go into an Optuna artifact store beside it (``artifacts/``), attached to the study; ``hybrid-nas
dashboard`` serves one run, several, or a storage URL.

The best architecture's files are study artefacts too, named ``trial <n> <file>``: Optuna keeps a finished
trial immutable, and which trial is best is known only when the run ends.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import threading
import types
import warnings
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.storages.base import run_root, study_dirs, study_location
from hybrid_nas.engine.storages.optuna_store import load_optuna, open_storage

ARTIFACTS = "artifacts"
INDEX = "index.json"  # what was uploaded, by content hash: a republished report uploads only what changed
STUDY_FILES = ("report/*.png", "summary.md")
BEST_FILES = ("best.json", "best.qasm", "best_circuit.png", "best.yaml", "tango.json")


def run_storage(run_dir: Path) -> str | None:
    """Where a run's studies live (a run names one storage: its journal, or its --storage); None for a
    directory that holds no study."""
    dirs = study_dirs(run_dir)
    return study_location(dirs[0])[0] if dirs else None


def publish(run_dir: str | Path) -> int:
    """Attach the run's report PNGs, summaries and best-architecture files to their studies in the run's
    artifact store; returns how many files were uploaded (unchanged ones are not)."""
    optuna = load_optuna()
    run_dir = Path(run_dir)
    where = run_storage(run_dir)
    if where is None:
        return 0
    storage = open_storage(where)
    store = optuna.artifacts.FileSystemArtifactStore(run_dir / ARTIFACTS)
    (run_dir / ARTIFACTS).mkdir(exist_ok=True)
    index_path = run_dir / ARTIFACTS / INDEX
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    uploaded = 0

    def upload(study, path: Path, name: str) -> None:
        nonlocal uploaded
        digest, label = hashlib.sha256(path.read_bytes()).hexdigest(), f"{study.study_name}:{name}"
        if index.get(label) == digest:
            return
        with tempfile.TemporaryDirectory() as tmp:  # the artefact takes its file's name
            named = Path(tmp, name)
            shutil.copyfile(path, named)
            optuna.artifacts.upload_artifact(
                artifact_store=store, file_path=str(named), study_or_trial=study, storage=storage
            )
        index[label] = digest
        index_path.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        uploaded += 1

    for study_dir in study_dirs(run_dir):
        name = study_location(study_dir)[1]
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            continue
        for pattern in STUDY_FILES:
            for path in sorted(study_dir.glob(pattern)):
                upload(study, path, path.name)
        best, folder = _best(study_dir)
        for path in (folder / f for f in BEST_FILES):
            if best is not None and path.is_file():
                upload(study, path, f"trial {best} {path.name}")
    return uploaded


def _best(study_dir: Path) -> tuple[int | None, Path]:
    """The study's best trial number and the folder of its best files (the study's, or the run's)."""
    folder = study_dir if (study_dir / "best.json").is_file() else run_root(study_dir)
    path = folder / "best.json"
    best = json.loads(path.read_text()).get("best") if path.is_file() else None
    return (best["trial"] if isinstance(best, dict) and "trial" in best else None), folder


def publish_quietly(run_dir: str | Path) -> None:
    """``publish`` after a run: the dashboard's extras never fail a finished run."""
    try:
        publish(run_dir)
    except Exception as e:  # noqa: BLE001 - the run's own files are written; only the attachment is lost
        warnings.warn(f"could not attach the run's files for optuna-dashboard: {str(e).splitlines()[0]}", stacklevel=2)


class _Artifacts:
    """The artifact stores of several runs seen as one (artifact ids are unique across them)."""

    def __init__(self, dirs: list[Path]):
        optuna = load_optuna()
        self.stores = [optuna.artifacts.FileSystemArtifactStore(d) for d in dirs]
        self.dirs = dirs

    def _owner(self, artifact_id: str):
        for d, s in zip(self.dirs, self.stores):
            if (d / artifact_id).is_file():
                return s
        return self.stores[0]

    def open_reader(self, artifact_id: str):
        return self._owner(artifact_id).open_reader(artifact_id)

    def write(self, artifact_id: str, content_body) -> None:
        self.stores[0].write(artifact_id, content_body)

    def remove(self, artifact_id: str) -> None:
        self._owner(artifact_id).remove(artifact_id)


def dashboard_storage(targets: list[str]):
    """(storage, artifact store or None, what it shows) for ``hybrid-nas dashboard``'s targets: one run
    directory or storage (served live), or several (a snapshot of each, side by side)."""
    optuna = load_optuna()
    if not targets:
        raise ConfigError("give a run directory, a journal file or a storage URL")
    sources, artifact_dirs = [], []
    for target in targets:
        path = Path(target)
        if "://" in target or path.is_file():
            sources.append((open_storage(target), target))
        elif path.is_dir() and study_dirs(path):
            sources.append((open_storage(str(run_storage(path))), str(path)))
            if (path / ARTIFACTS).is_dir():
                artifact_dirs.append(path / ARTIFACTS)
        else:
            raise ConfigError(
                f"{target} is neither a run directory (with storage.json), a journal file nor a storage URL"
            )
    artifacts = _Artifacts(artifact_dirs) if artifact_dirs else None
    if len(sources) == 1:
        return sources[0][0], artifacts, sources[0][1]
    snapshot, names = optuna.storages.InMemoryStorage(), set()
    for storage, target in sources:
        for s in storage.get_all_studies():
            name = s.study_name if s.study_name not in names else f"{target}: {s.study_name}"
            names.add(name)
            optuna.copy_study(
                from_study_name=s.study_name, from_storage=storage, to_storage=snapshot, to_study_name=name
            )
    return snapshot, artifacts, f"a snapshot of {len(sources)} runs (start again to refresh)"


class Dashboard:
    """optuna-dashboard served from this process: ``serve_forever()`` for the command line, ``start()`` in
    a background thread for a notebook; ``url`` is where it listens, ``stop()`` ends it."""

    def __init__(self, targets: list[str], host: str = "127.0.0.1", port: int = 8080):
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from optuna_dashboard import wsgi

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):  # no line per request in a notebook or a terminal
                pass

        storage, artifacts, self.what = dashboard_storage(targets)
        try:
            self.server = make_server(host, port, wsgi(storage, artifact_store=artifacts), handler_class=Quiet)
        except OSError as e:
            raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror}; choose another --port") from None
        self.url = f"http://{host}:{self.server.server_port}/"
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Dashboard({self.url!r}, {self.what})"

    def serve_forever(self) -> None:
        """Serve until Ctrl-C. Requests are served from a thread, so that the interrupt lands here and never
        inside a request (where the WSGI handler would report it and serve on)."""
        print(f"optuna-dashboard on {self.what}: {self.url}  (Ctrl-C stops)", flush=True)
        thread = self.start()._thread
        assert thread is not None  # start() made it
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            print("optuna-dashboard stopped", flush=True)
        finally:
            self.stop()

    def start(self) -> Dashboard:
        self._thread = threading.Thread(target=self.server.serve_forever, name="optuna-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dashboard(*targets: str | Path, port: int = 8080, host: str = "127.0.0.1") -> Dashboard:
    """optuna-dashboard on runs or a storage URL, in a background thread of this process (a notebook):
    open ``.url``; ``.stop()`` ends it."""
    return Dashboard([str(t) for t in targets], host, port).start()


class _CallableModule(types.ModuleType):
    """``hn.dashboard(dir)`` serves (this module's ``dashboard``) while ``hn.dashboard.Dashboard`` and the
    rest stay reachable: a package attribute named as a submodule is the submodule once it is imported."""

    def __call__(self, *targets: str | Path, port: int = 8080, host: str = "127.0.0.1") -> Dashboard:
        return dashboard(*targets, port=port, host=host)


sys.modules[__name__].__class__ = _CallableModule
