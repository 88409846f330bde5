"""What the spaces tell the engine about themselves, so that the engine never names one.

Each space package registers, when its ``command`` module is imported, its commands (a subcommand, its
settings class and its job), its space kinds (how a stored study's space is rebuilt for reports and
stores, and the plots it adds to a study's report) and its HPO target (what ``hpo`` tunes). The modules
are found through the ``hybrid_nas.spaces`` entry points of the installed distributions, as pytest finds
its plugins: a space of another package plugs in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_nas.engine.errors import ConfigError, unknown

if TYPE_CHECKING:
    from hybrid_nas.engine.jobs import Job
    from hybrid_nas.engine.results import StudyView
    from hybrid_nas.engine.settings import Settings

ENTRY_POINTS = "hybrid_nas.spaces"


@dataclass(frozen=True)
class Command:
    """A subcommand: ``path`` is the words after ``hybrid-nas`` (("quantum",), ("bench", "nb201")), ``job``
    the class that checks its settings and does its work."""

    path: tuple[str, ...]
    help: str
    settings: type[Settings]
    job: Callable[..., Job]  # a Job class, or a function of (settings, command name) that picks one
    listings: tuple[tuple[str, str, Callable[[], str]], ...] = ()  # (flag, help, text): print and exit

    @property
    def name(self) -> str:
        return " ".join(self.path)


@dataclass(frozen=True)
class Plot:
    """A figure a space adds to its studies' reports: ``draw(view, path)`` returns False when it has
    nothing to draw."""

    file: str
    caption: str
    draw: Callable[[StudyView, Any], bool]


@dataclass(frozen=True)
class SpaceKind:
    """A space by the name its ``meta()`` carries: ``rebuild(meta)`` makes the space again from it."""

    name: str
    rebuild: Callable[[dict], Any]
    plots: tuple[Plot, ...] = ()


@dataclass(frozen=True)
class HPOTarget:
    """What ``hybrid-nas hpo <name>`` tunes: ``build(settings, workdir)`` makes the trainer of hyperparameter
    configurations; ``aliases`` map a search space's common names onto the trainer's own (NNI spaces say
    ``lr`` and ``batch_size``)."""

    name: str
    build: Callable[[Any, Path], Any]
    aliases: dict[str, str] = field(default_factory=dict)


_COMMANDS: dict[tuple[str, ...], Command] = {}
_SPACES: dict[str, SpaceKind] = {}
_HPO_TARGETS: dict[str, HPOTarget] = {}
_loaded = False


def register(command: Command) -> Command:
    _COMMANDS[command.path] = command
    return command


def register_space(kind: SpaceKind) -> SpaceKind:
    _SPACES[kind.name] = kind
    return kind


def register_hpo_target(target: HPOTarget) -> HPOTarget:
    _HPO_TARGETS[target.name] = target
    return target


def hpo_target(name: str) -> HPOTarget:
    _load()
    if name not in _HPO_TARGETS:
        raise ConfigError(unknown("hpo target", name, sorted(_HPO_TARGETS)))
    return _HPO_TARGETS[name]


def _load() -> None:
    global _loaded
    if not _loaded:
        for point in sorted(entry_points(group=ENTRY_POINTS), key=lambda p: p.name):
            import_module(point.value)
        _loaded = True


def commands() -> dict[tuple[str, ...], Command]:
    _load()
    return dict(_COMMANDS)


def command(path: tuple[str, ...]) -> Command:
    known = commands()
    if path not in known:
        raise ConfigError(
            f"no command {' '.join(path)!r}; the installed ones: {', '.join(' '.join(p) for p in sorted(known))}"
        )
    return known[path]


def space_kind(meta: dict) -> SpaceKind | None:
    """The kind of a stored study's space (``meta`` is the space's ``meta()``), or None for an unknown one."""
    _load()
    return _SPACES.get(meta.get("name", ""))


def rebuild_space(meta: dict) -> Any | None:
    """The space a stored study was searched in, or None when no installed package knows it."""
    kind = space_kind(meta)
    return kind.rebuild(meta) if kind is not None else None


def describer(meta: dict) -> Callable[[Any], str] | None:
    """The notation of a stored study's space (``describe(arch) -> str``), or None."""
    space = rebuild_space(meta)
    return getattr(space, "describe", None)
