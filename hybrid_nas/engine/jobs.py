"""The one pipeline: every command's settings -> its checks -> its run directory -> its studies -> its files.

A command supplies a ``Job``. Building the job is where a command checks everything it can before any work
or file (settings beyond their types, its space, its data, the files its flags name); ``SearchJob`` adds the
strategy's options and the store, then claims the run directory (``Run.claim``: one owner, resume
compatibility). A ``SearchJob`` then runs the same steps for every search command, and a command overrides
only what differs:

    space                    the space its strategy options are checked against (set by ``__init__``)
    default_dir()            where the run goes when no --out is given
    prepare(run)             shared work after the directory is claimed (a data set, a supernet)
    studies(run)             the studies to run: one, or one per scope / depth
    prescreen(spec)          a stage 1 that picks what a study evaluates (a cheap evaluator: two_stage)
    artefacts(result)        the best architecture's files; returns what ``best.json`` adds
    finish(run, results)     the run's own files across its studies (a table per depth, a tuning)
    summary(run)             what the console prints
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from hybrid_nas.engine.errors import ConfigError, RunFailed
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.objectives import Objective
from hybrid_nas.engine.registry import Command, command
from hybrid_nas.engine.results import StudyView
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields
from hybrid_nas.engine.space import SearchSpace
from hybrid_nas.engine.strategies.base import Strategy
from hybrid_nas.engine.trial import Trial
from hybrid_nas.engine.two_stage import Prescreen, run_prescreen

R = TypeVar("R")


class Job(ABC, Generic[R]):
    """A command's work on its settings; ``__init__`` checks, ``execute`` works."""

    def __init__(self, settings: Any, command: str):
        self.settings, self.command = settings, command

    @abstractmethod
    def execute(self, out: str | Path | None, *, resume: bool, progress: bool) -> R: ...

    @abstractmethod
    def summary(self, result: R) -> str:
        """The lines the console prints about ``result``."""


@dataclass
class StudySpec:
    """One study of a run: ``name`` is its subdirectory ('' for the run directory itself)."""

    name: str
    space: SearchSpace
    evaluator: Evaluator
    objective: Objective
    count_repeats: bool = False
    strategy: Strategy | None = None  # None: the settings' strategy
    budget: int | None = None  # trials; None: the settings' budget


@dataclass
class StudyResult:
    spec: StudySpec
    dir: Path
    view: StudyView
    seconds: float
    stop_reason: str
    extra: dict = field(default_factory=dict)  # what the command added to best.json

    @property
    def best(self) -> Trial | None:
        return self.view.best()


class SearchJob(Job[Run]):
    """The pipeline of every search command."""

    settings: StudyFields
    space: SearchSpace
    kind: ClassVar[str] = ""  # the default run directory's prefix
    resume, progress = False, True  # as ``execute`` was called

    def default_dir(self) -> Path:
        return Path(f"runs/{self.kind or self.command.replace(' ', '-')}-s{self.settings.seed}")

    def prepare(self, run: Run) -> None:
        """Work every study shares, once the directory is the run's; by default none."""

    @abstractmethod
    def studies(self, run: Run) -> Iterator[StudySpec]: ...

    def prescreen(self, spec: StudySpec) -> Prescreen | None:
        """A stage 1 for ``spec`` (a cheap evaluator to pick what the study evaluates: ``two_stage``), or
        None (the default): the study's strategy proposes every candidate."""
        return None

    def artefacts(self, result: StudyResult) -> dict:
        """Write the best architecture's files (``result.best`` is None when no trial qualifies); return the
        fields they add to ``best.json``. By default the study's evaluator writes them."""
        best = result.best
        return result.spec.evaluator.artefacts(best.arch, best.seed, result.dir) if best is not None else {}

    def finish(self, run: Run, results: list[StudyResult]) -> None:
        """The run's own files, once every study is done; by default none."""

    @classmethod
    def report(cls, run: Run, out: Path) -> None:
        """Redraw the command's own report sections into ``out`` (``hybrid-nas report``); by default none."""

    def execute(self, out: str | Path | None, *, resume: bool, progress: bool) -> Run:
        from hybrid_nas.dashboard import publish_quietly
        from hybrid_nas.engine.report import write_report
        from hybrid_nas.engine.results import write_best

        self.resume, self.progress = resume, progress
        check_search(self.settings, self.space)
        with Run.claim(out or self.default_dir(), self.command, self.settings, resume) as run:
            self.prepare(run)
            results = []
            for spec in self.studies(run):
                study_dir = run.dir / spec.name if spec.name else run.dir
                screen = self.prescreen(spec)
                if screen is not None:
                    spec = run_prescreen(study_dir, spec, screen, self.settings, resume=resume, progress=progress)
                result = search(study_dir, spec, self.settings, resume=resume, progress=progress)
                result.extra = {"seconds": result.seconds, "stop_reason": result.stop_reason, **self.artefacts(result)}
                write_best(study_dir, result.view, spec.space.describe, result.extra)
                write_report(study_dir, spec.space.describe)
                results.append(result)
            check_some_succeeded(run.dir, [r.view for r in results])
            self.finish(run, results)
            publish_quietly(run.dir)
        return run


def check_search(settings: StudyFields, space: SearchSpace) -> None:
    """The strategy's options and the store, checked before the run directory is claimed."""
    from hybrid_nas.engine.storages.base import check_storage
    from hybrid_nas.engine.strategies import make_strategy

    make_strategy(settings.strategy, space, seed=settings.seed, **settings.strategy_options)
    check_storage(settings.storage)


def check_some_succeeded(dir: Path, views: list[StudyView]) -> None:
    """A run in which every trial failed is a failed run: one line with its most common failure (the trials
    and the report stay, to be read)."""
    if any(t.ok for view in views for t in view.trials) or not any(view.failed for view in views):
        return
    raise RunFailed(f"every trial of {dir} failed: {failure_line(*views)}")


def failure_line(*views: StudyView) -> str:
    """The most common failure among the studies' failed trials, in one line."""
    failed = [t for view in views for t in view.failed]
    if not failed:
        return "no trial finished"
    [(line, count)] = Counter(t.error_line for t in failed).most_common(1)
    return f"{len(failed)} failed, {count} of them with {line}"


def search(
    dir: Path, spec: StudySpec, settings: StudyFields, *, resume: bool = False, progress: bool = True
) -> StudyResult:
    """One study in ``dir`` with the search settings of ``settings`` (a ``StudyFields``)."""
    from hybrid_nas.engine.storages.base import open_study
    from hybrid_nas.engine.strategies import make_strategy
    from hybrid_nas.engine.study import Study

    strategy = spec.strategy or make_strategy(
        settings.strategy, spec.space, seed=settings.seed, **settings.strategy_options
    )
    study = Study(
        spec.space,
        spec.evaluator,
        spec.objective,
        strategy,
        store=open_study(dir, settings.storage),
        seed=settings.seed,
        count_repeats=spec.count_repeats,
        resume=resume,
        workers=settings.workers,
        dask_scheduler=settings.dask_scheduler,
        progress=progress,
    )
    start = time.perf_counter()
    try:
        study.optimize(settings.budget if spec.budget is None else spec.budget, settings.seconds)
        return StudyResult(
            spec, Path(dir), StudyView(study.meta, study.trials), time.perf_counter() - start, study.stop_reason
        )
    finally:
        study.store.close()


def make_job(cmd: Command, settings: Settings | None = None, config: str | Path | None = None, **given: Any) -> Job:
    """The job of ``cmd`` from its settings object, or from a settings file and keyword settings."""
    if settings is None:
        settings = cmd.settings.resolve(config, **given)
    elif not isinstance(settings, cmd.settings):
        raise ConfigError(
            f"`{cmd.name}` takes its settings as keyword arguments or one "
            f'{cmd.settings.__name__}, got {settings!r}; e.g. search(task="moons", out="runs/q")'
        )
    elif given or config is not None:
        raise ConfigError(f"give `{cmd.name}` either a {cmd.settings.__name__} or keyword settings, not both")
    return cmd.job(settings, cmd.name)


def invoke(
    path: tuple[str, ...],
    settings: Settings | None = None,
    /,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: str | Path | None = None,
    **given: Any,
) -> Any:
    """Run a command as the Python API does: what ``hn.quantum.search(...)`` and the others call."""
    return make_job(command(path), settings, config, **given).execute(out, resume=resume, progress=progress)
