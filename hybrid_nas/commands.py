"""The registry of commands: each space package registers its subcommand, its settings class and the
function that runs it. The CLI builds its parser from here and the Python API calls the same functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from .settings import Settings

# Modules that register commands when imported; each keeps heavy imports inside its functions.
MODULES = ("hybrid_nas.bench", "hybrid_nas.pqc.command", "hybrid_nas.yolo.command", "hybrid_nas.tuning.command",
           "hybrid_nas.joint.command")


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # the words after `hybrid-nas`: ("quantum",), ("bench", "nb201"), ("hpo", "quantum")
    help: str
    settings: type[Settings]
    run: Callable[..., object]  # run(settings, out=None, resume=False, progress=True) -> Run
    summary: Callable[[object], str]  # the lines the console prints about a finished Run
    listings: tuple[tuple[str, str, Callable[[], str]], ...] = ()  # (flag, help, text): print and exit
    report: Callable[[object], None] | None = None  # adds the command's own sections after the study's report

    @property
    def name(self) -> str:
        return " ".join(self.path)


_COMMANDS: dict[tuple[str, ...], Command] = {}


def register(command: Command) -> Command:
    _COMMANDS[command.path] = command
    return command


def commands() -> dict[tuple[str, ...], Command]:
    for module in MODULES:
        import_module(module)
    return dict(_COMMANDS)


def execute(command: Command, settings: Settings, out: str | Path | None = None, *, resume: bool = False,
            progress: bool = True):
    """Run ``command``, then attach its files to the run's studies for optuna-dashboard."""
    from .live import publish_quietly

    run = command.run(settings, out=out, resume=resume, progress=progress)
    publish_quietly(run.dir)
    return run


def invoke(path: tuple[str, ...], out: str | Path | None = None, *, resume: bool = False, progress: bool = True,
           config: str | Path | None = None, **settings):
    """Run a command from a settings file and keyword settings: what the Python API and the CLI share."""
    command = commands()[path]
    return execute(command, command.settings.resolve(config, **settings), out, resume=resume, progress=progress)
