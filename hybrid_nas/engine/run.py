"""A run directory and what a run leaves in it: ``config.yaml`` (its settings), one or more studies
(each a ``storage.json`` naming where its trials live: the run's ``optuna.journal`` unless ``--storage`` gave
another; the root's, or one per scope / depth in subdirectories), ``best.json``, ``summary.md``, ``report/``
and the artefacts of the best architecture.

``Run`` is what the Python API returns and ``hybrid_nas.load`` reads back, also while a study still runs
(the journal takes readers beside its writer).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from hybrid_nas import __version__
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.settings import Settings
from hybrid_nas.engine.storages.base import RUN_FILE, study_dirs


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
    def start(cls, dir: str | Path, command: str, settings: Settings, resume: bool = False) -> Run:
        """Claim ``dir`` for a run, before any work: a directory that holds anything is refused unless
        resuming, so nothing in it (a trained supernet, a store) is overwritten."""
        dir = Path(dir)
        if not resume and dir.is_dir() and any(dir.iterdir()):
            raise ConfigError(f"{dir} is not empty; pass --resume to continue the run in it, or choose another --out")
        if resume and (dir / RUN_FILE).is_file():
            stored = json.loads((dir / RUN_FILE).read_text()).get("command")
            if stored != command:
                raise ConfigError(f"cannot resume {dir} with `{command}`: it holds a `{stored}` run")
        if resume and (dir / "config.yaml").is_file():
            _check_resumable(dir, yaml.safe_load((dir / "config.yaml").read_text()) or {}, settings)
        dir.mkdir(parents=True, exist_ok=True)
        settings.save(dir)
        (dir / RUN_FILE).write_text(
            json.dumps({"command": command, "version": __version__, "started": time.time()}) + "\n"
        )
        return cls(dir)

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

    def report(self) -> Path:
        """Plots and ``summary.md`` for every study of the run; returns the (first) summary."""
        from hybrid_nas.dashboard import publish_quietly
        from hybrid_nas.engine.registry import commands
        from hybrid_nas.engine.report import write_report

        summaries = [write_report(path) for path in self.studies().values()]
        if not summaries:
            raise ConfigError(f"{self.dir} holds no study yet (no storage.json)")
        command = commands().get(tuple((self.command or "").split()))
        report = getattr(command.job, "report", None) if command is not None else None
        if report is not None and self.result:
            report(self)  # the command's own sections, beside the study's
        publish_quietly(self.dir)
        return summaries[0]


def load(dir: str | Path) -> Run:
    """The run in ``dir``, read back (also while its study still runs)."""
    run = Run(dir)
    if not run.dir.is_dir() or not ((run.dir / "config.yaml").is_file() or run.studies()):
        raise ConfigError(f"{dir} is not a run directory: it has no config.yaml or storage.json")
    return run
