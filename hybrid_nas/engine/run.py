"""A run directory and what a run leaves in it: ``config.yaml`` (its settings), one or more studies
(each a ``storage.json`` naming where its trials live: the run's ``optuna.journal`` unless ``--storage`` gave
another; the root's, or one per scope / depth in subdirectories), ``best.json``, ``summary.md``, ``report/``
and the artefacts of the best architecture.

``Run`` is what the Python API returns and ``hybrid_nas.load`` reads back, also while a study still runs
(the journal takes readers beside its writer).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import yaml

from hybrid_nas import __version__
from hybrid_nas.engine.errors import ConfigError, HybridNasError
from hybrid_nas.engine.ownership import LOCK_FILE, RunLock, check_free
from hybrid_nas.engine.settings import Settings
from hybrid_nas.engine.storages.base import JOURNAL, RUN_FILE, STORAGE_FILE, study_dirs

_OWN_FILES = ("config.yaml", RUN_FILE, LOCK_FILE)  # what claiming a run directory writes
_UNSTARTED = (*_OWN_FILES, STORAGE_FILE, JOURNAL)  # what a new run holds before its first trial


def check_writable(dir: Path) -> None:
    """``dir`` must be a directory this process can write (or one it can make), checked before any work."""
    if dir.exists() and not dir.is_dir():
        raise ConfigError(f"--out {dir} is a file, not a directory; choose another --out")
    existing = next(p for p in (dir, *dir.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--out {dir}: {existing} is a file, not a directory; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {dir}: {existing} is not writable; choose another --out")


def _restore(dir: Path, before: dict[str, bytes], created: bool) -> None:
    """Undo what claiming ``dir`` wrote: a resumed run's own files as they were; a new run's files, and the
    directory if it was made here, when nothing else was written beside them (else they describe what was)."""
    if before:
        for name, content in before.items():
            (dir / name).write_bytes(content)
        return
    if all(p.name in _UNSTARTED for p in dir.iterdir()):
        for name in _UNSTARTED:
            (dir / name).unlink(missing_ok=True)
        if created:
            dir.rmdir()


def _check_resumable(dir: Path, stored: dict, settings: Settings) -> None:
    """A resume may extend the budget or move the work elsewhere; any other change would mix two runs in one
    directory (and rewrite its ``config.yaml``), so it is refused here, before any work."""
    changed = sorted(
        k for k, v in settings.to_dict().items() if k in stored and stored[k] != v and k not in settings.resumable
    )
    if changed:
        diff = ", ".join(f"{k}: {stored[k]!r} there vs {getattr(settings, k)!r} now" for k in changed)
        raise ConfigError(
            f"cannot resume {dir} with other settings ({diff}); repeat them with "
            f"--config {dir / 'config.yaml'}, or choose another --out"
        )


class Run:
    """A run directory. ``best`` is the dict ``best.json`` holds under "best" (per study for a run of
    several studies), ``trials()`` a DataFrame, ``report()`` redraws the plots and ``summary.md``."""

    def __init__(self, dir: str | Path):
        self.dir = Path(dir)

    @classmethod
    @contextmanager
    def claim(cls, dir: str | Path, command: str, settings: Settings, resume: bool = False) -> Iterator[Run]:
        """Own ``dir`` for the run while the block runs. Every check comes before the first write: the
        directory must be free (no other process runs in it), empty unless resuming, and a resume must repeat
        the stored run. If the block is refused before it stores a trial (by a setting only the search itself
        can check), the directory is left as it was found; nothing a search stored is ever removed."""
        dir = Path(dir)
        shared = getattr(settings, "storage", None) is not None
        check_writable(dir)
        if dir.is_dir():
            check_free(dir, shared)
        if not resume and dir.is_dir() and any(dir.iterdir()):
            raise ConfigError(f"{dir} is not empty; pass --resume to continue the run in it, or choose another --out")
        if resume and (dir / RUN_FILE).is_file():
            stored = json.loads((dir / RUN_FILE).read_text()).get("command")
            if stored != command:
                raise ConfigError(f"cannot resume {dir} with `{command}`: it holds a `{stored}` run")
        if resume and (dir / "config.yaml").is_file():
            _check_resumable(dir, yaml.safe_load((dir / "config.yaml").read_text()) or {}, settings)
        created = not dir.exists()
        before = {name: (dir / name).read_bytes() for name in _OWN_FILES if (dir / name).is_file()}
        try:
            dir.mkdir(parents=True, exist_ok=True)
            lock = RunLock(dir, command, shared).acquire()
        except OSError as e:
            raise ConfigError(f"cannot write the run directory {dir}: {e.strerror}; choose another --out") from None
        run = cls(dir)
        stored = run.trial_count() if before else 0
        try:
            settings.save(dir)
            (dir / RUN_FILE).write_text(
                json.dumps({"command": command, "version": __version__, "started": time.time()}) + "\n"
            )
            yield run
        except HybridNasError:
            if run.trial_count() == stored:
                _restore(dir, before, created)
            raise
        finally:
            lock.release()

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, command={self.command!r})"

    @property
    def command(self) -> str | None:
        path = self.dir / RUN_FILE
        return json.loads(path.read_text()).get("command") if path.is_file() else None

    @property
    def settings(self) -> dict:
        """The run's settings as saved (``config.yaml``): pass the file to ``--config`` to repeat the run."""
        path = self.dir / "config.yaml"
        return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}

    def studies(self) -> dict[str, Path]:
        """Study directories by name: '' for a run of one study, else its subdirectories' names."""
        return {"" if path == self.dir else path.name: path for path in study_dirs(self.dir)}

    @property
    def trial_files(self) -> str:
        """Where the run keeps its trials, as the console's summary names them."""
        storage = self.settings.get("storage")
        return f"storage.json -> {storage}" if storage else "optuna.journal"

    def trial_count(self) -> int:
        """Trials stored across the run's studies (0 where a study cannot be read)."""
        from hybrid_nas.engine.report import load_view

        count = 0
        for path in self.studies().values():
            with suppress(HybridNasError):
                count += len(load_view(path).trials)
        return count

    def listing(self, *names: str) -> str:
        """The console's last line: the run directory, where its trials are and which of ``names`` it holds (a
        summary never names a file that was not written)."""
        present = [n for n in names if (self.dir / n.rstrip("/")).exists()]
        return f"run directory: {self.dir}  ({', '.join([self.trial_files, *present])})"

    @property
    def result(self) -> dict:
        """All of ``best.json`` (empty while the study runs)."""
        path = self.dir / "best.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @property
    def best(self) -> dict | None:
        if "best" in self.result:
            return self.result["best"]
        studies = {name: Run(path).best for name, path in self.studies().items() if name}
        return studies or None

    def view(self, study: str = ""):
        """The ``StudyView`` of one study of the run (its trials and objective)."""
        from hybrid_nas.engine.report import load_view

        return load_view(self.studies().get(study, self.dir / study))

    def trials(self):
        """One row per trial: number, state, reward, the decisions and the metrics as columns (a metric that
        shares a decision's name gets the suffix " (metric)"); a run of several studies adds ``study``."""
        import pandas as pd

        frames = []
        for name in self.studies():
            rows = []
            for t in self.view(name).trials:
                row = {
                    "number": t.number,
                    "state": t.state.name,
                    "reward": t.reward,
                    "seed": t.seed,
                    "seconds": t.duration,
                    "repeat_of": t.repeat_of,
                    "error": t.error_line if t.error else None,
                    **dict(t.arch),
                }
                row |= {(f"{k} (metric)" if k in row else k): v for k, v in t.metrics.items()}
                rows.append(row)
            frame = pd.DataFrame(rows)
            if name:
                frame.insert(0, "study", name)
            frames.append(frame)
        if not frames:
            raise ConfigError(f"{self.dir} holds no study yet (no storage.json)")
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def report(self, out: str | Path | None = None) -> Path:
        """Plots and ``summary.md`` for every study of the run, into the run directory or into ``out`` (the
        run is then only read: it may be one this user cannot write); returns the (first) summary."""
        from hybrid_nas.dashboard import publish_quietly
        from hybrid_nas.engine.registry import commands
        from hybrid_nas.engine.report import write_report

        if out is not None:
            out = Path(out)
            check_writable(out)
        elif not os.access(self.dir, os.W_OK):
            raise ConfigError(f"cannot write into {self.dir}; give --out DIR for the report")
        studies = self.studies()
        if not studies:
            raise ConfigError(f"{self.dir} holds no study yet (no storage.json)")
        target = out or self.dir
        summaries = [write_report(path, out=target / name if out and name else out) for name, path in studies.items()]
        command = commands().get(tuple((self.command or "").split()))
        report = getattr(command.job, "report", None) if command is not None else None
        if report is not None and self.result:
            report(self, target)  # the command's own sections, beside the study's
        if out is None:
            publish_quietly(self.dir)
        return summaries[0]


def load(dir: str | Path) -> Run:
    """The run in ``dir``, read back (also while its study still runs)."""
    run = Run(dir)
    if not run.dir.is_dir() or not ((run.dir / "config.yaml").is_file() or run.studies()):
        raise ConfigError(f"{dir} is not a run directory: it has no config.yaml or storage.json")
    return run
