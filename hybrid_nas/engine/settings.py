"""Settings: one frozen dataclass per command, its defaults read from the command's packaged YAML.

A settings class declares each field's type and help line (``setting(...)``); ``@defaults_from(name)``
takes every default from ``hybrid_nas/configs/<name>``, so a default is written in one place. Values
are coerced and checked in ``__post_init__`` (the class's ``check`` adds its own rules), whether they
come from the YAML, a ``--config`` file, CLI flags or keyword arguments of the Python API. A run saves
its settings as ``config.yaml``; ``--config`` reads that file back exactly: a ``null`` stays ``null``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import types
import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path

import yaml

from hybrid_nas.engine.config import packaged, read_yaml
from hybrid_nas.engine.errors import ConfigError, unknown

NULLS = ("none", "null")
METAVARS = {int: "N", float: "X", str: "TEXT", bool: "BOOL", dict: "YAML", list: "A,B"}


def setting(help: str, *, group: str | None = None, choices: tuple | None = None):
    """A settings field: its help line, the ``--help`` group it is listed in, the values it may take."""
    return field(metadata={"help": help, "group": group, "choices": choices})


def defaults_from(yaml_name: str):
    """Make ``cls`` (and the plain mix-ins it inherits fields from) a frozen, keyword-only dataclass whose
    defaults are the packaged YAML's values; the YAML and the class must name the same settings."""

    def wrap(cls):
        values = packaged(yaml_name)
        annotations: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            annotations.update(klass.__dict__.get("__annotations__", {}))
        if set(annotations) != set(values):
            raise TypeError(f"{cls.__name__} and {yaml_name} disagree on {sorted(set(annotations) ^ set(values))}")
        for name in annotations:
            declared = next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__)
            value = values[name]
            default = (
                dict(default_factory=functools.partial(copy.deepcopy, value))
                if isinstance(value, (dict, list))
                else dict(default=value)
            )
            setattr(cls, name, field(metadata=declared.metadata, **default))
        cls.__annotations__ = annotations
        cls.yaml_name = yaml_name
        return dataclass(frozen=True, kw_only=True)(cls)

    return wrap


def _parts(hint) -> tuple[type, bool]:
    """(the base type, whether None is allowed) of a field's type hint."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        base = [a for a in args if a is not type(None)]
        return _parts(base[0])[0], type(None) in args
    return typing.get_origin(hint) or hint, False


def _item(hint) -> type:
    """The item type of a ``list[...]`` field (``str`` unless it says ``int``)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next((_item(a) for a in typing.get_args(hint) if typing.get_origin(a) is list), str)
    return int if typing.get_args(hint) == (int,) else str


def _coerce(name: str, value, hint):
    """``value`` as the field's type: YAML, flags and keyword arguments all pass through here."""
    base, optional = _parts(hint)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in NULLS):
        if optional:
            return None
        raise ConfigError(f"{name} must be set (a {base.__name__}), got null")
    try:
        if base is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            if isinstance(value, bool):
                return value
        elif base is int:
            number = float(value) if isinstance(value, str) else value
            if not isinstance(number, bool) and isinstance(number, (int, float)) and float(number).is_integer():
                return int(number)
        elif base is float:
            if not isinstance(value, bool) and isinstance(value, (int, float, str)):
                return float(value)
        elif base is str:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                return str(value)
        elif base is dict:
            value = yaml.safe_load(value) if isinstance(value, str) else value
            if isinstance(value, dict):
                return dict(value)
        elif base is list:
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, (list, tuple)):
                texts = [str(v).strip() for v in items if str(v).strip()]
                if _item(hint) is int:
                    numbers = [float(t) for t in texts]  # "2" and "2.0" alike; "2.5" is refused below
                    if all(x.is_integer() for x in numbers) and not any(isinstance(v, bool) for v in items):
                        return [int(x) for x in numbers]
                    raise ValueError(value)
                return texts
    except (ValueError, yaml.YAMLError):
        pass
    kind = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        dict: "a mapping",
        list: "a list of integers" if _item(hint) is int else "a list",
    }[base]
    raise ConfigError(f"{name} must be {kind}{' or null' if optional else ''}, got {value!r}")


class Settings:
    """Behaviour shared by every settings class; subclasses add fields and ``check``."""

    yaml_name = ""
    # what a resume may change: how much to run and where, never what is run (latency_device is not "where":
    # it is what the latency figures mean)
    resumable = frozenset({"budget", "seconds", "trials", "hpo_trials", "workers", "dask_scheduler", "device"})
    if typing.TYPE_CHECKING:
        # every subclass is a dataclass: fields(), asdict() and replace() take its instances
        __dataclass_fields__: typing.ClassVar[dict[str, Field[typing.Any]]]

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = _coerce(f.name, getattr(self, f.name), hints[f.name])
            choices = f.metadata.get("choices")
            if choices and value is not None and value not in choices:
                raise ConfigError(unknown(f.name.replace("_", " "), value, choices))
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Rules across fields or beyond types; raise ``ConfigError`` with one line."""

    @classmethod
    def resolve(cls, config: str | Path | None = None, **given):
        """The packaged defaults <- a settings file <- ``given`` (flags, keyword arguments)."""
        names = [f.name for f in fields(cls)]
        values = read_yaml(config) if config else {}
        for source, keys in (("config file", values), ("setting", given)):
            for key in keys:
                if key not in names:
                    raise ConfigError(f"{source}: {unknown('setting', key, names)}")
        return cls(**{**values, **given})

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, run_dir: Path) -> None:
        """``config.yaml``: every setting, so ``--config run_dir/config.yaml`` repeats the run."""
        Path(run_dir, "config.yaml").write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    def replace(self, **changes):
        return type(self)(**{**self.to_dict(), **changes})


def at_least(settings, minimum: float, *names: str) -> None:
    """Each named setting of ``settings``, when set, is at least ``minimum`` (NaN is refused too)."""
    for name in names:
        value = getattr(settings, name)
        if value is not None and not value >= minimum:
            raise ConfigError(f"{flag_name(name)} must be at least {minimum:g}, got {value:g}")


def positive(settings, *names: str) -> None:
    """Each named setting of ``settings``, when set, is a finite number above 0."""
    for name in names:
        value = getattr(settings, name)
        if value is not None and not 0 < value < float("inf"):
            raise ConfigError(f"{flag_name(name)} must be a number above 0, got {value:g}")


def flag_name(name: str) -> str:
    return "--" + (name if len(name) == 1 else name.replace("_", "-"))


def add_flags(parser: argparse.ArgumentParser, cls: type[Settings]) -> None:
    """One flag per field, its help ending in the packaged default. A flag left out is not in the
    namespace (``SUPPRESS``), so only the flags a user gave override the defaults and ``--config``."""
    groups: dict[str | None, argparse._ActionsContainer] = {}
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        group = f.metadata.get("group")
        if group not in groups:
            groups[group] = parser.add_argument_group(group) if group else parser
        default = (
            f.default if f.default is not MISSING else typing.cast(typing.Callable[[], object], f.default_factory)()
        )
        shown = "null" if default is None else ",".join(map(str, default)) if isinstance(default, list) else default
        choices = f.metadata.get("choices")
        text = f.metadata["help"] + (f" ({' | '.join(map(str, choices))})" if choices else "")
        base = _parts(hints[f.name])[0]
        switch: dict[str, typing.Any] = dict(nargs="?", const="true") if base is bool else {}  # --flag alone: true
        groups[group].add_argument(
            flag_name(f.name),
            dest=f.name,
            default=argparse.SUPPRESS,
            metavar=METAVARS[base],
            help=f"{text} (default: {shown})".replace("%", "%%"),
            **switch,
        )


def given_flags(args: argparse.Namespace, cls: type[Settings]) -> dict:
    """The settings among parsed flags: only those given on the command line."""
    return {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}


class StudyFields(Settings):
    """The settings every search shares (a mix-in: each command's YAML holds their defaults)."""

    strategy: str = setting(
        "search strategy", group="study", choices=("random", "evolution", "nsga2", "reinforce", "smac")
    )
    strategy_options: dict = setting("the strategy's options, e.g. '{population: 20, sample: 5}'", group="study")
    objective: str = setting(
        "what the best trial is: a hard limit (constrained, mnasnet-hard), a trade-off "
        "(weighted, mnasnet-soft) or the Pareto front",
        group="study",
        choices=("constrained", "mnasnet-soft", "mnasnet-hard", "weighted", "pareto"),
    )
    budget: int | None = setting("number of trials", group="study")
    seconds: float | None = setting("wall-time budget in seconds", group="study")
    seed: int = setting("seed of the strategy and of every trial", group="study")
    workers: int = setting("evaluate in N local worker processes", group="study")
    dask_scheduler: str | None = setting("evaluate on the Dask cluster at this address", group="study")
    storage: str | None = setting(
        "keep the trials in this Optuna storage instead of the run's optuna.journal: "
        "sqlite:///FILE, postgresql://..., mysql://... or a journal file; drivers "
        "started with the same URL and --out name share the study",
        group="study",
    )

    def check_study(self) -> None:
        if self.budget is None and self.seconds is None:
            raise ConfigError("give a budget: --budget N trials and/or --seconds S")
        at_least(self, 1, "budget", "workers")
        positive(self, "seconds")
