"""Run configuration: a packaged YAML default, a user YAML on top, CLI flags on top of that."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from .errors import ConfigError, unknown


def packaged(name: str) -> dict:
    """A YAML file of ``hybrid_nas.configs`` (packaged defaults)."""
    with resources.files("hybrid_nas.configs").joinpath(name).open() as f:
        return yaml.safe_load(f) or {}


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, got {type(doc).__name__}")
    return doc


def resolve(defaults: dict, user: dict | None = None, flags: dict | None = None) -> dict:
    """defaults <- user file <- flags that were given (not None); unknown keys are refused."""
    config = dict(defaults)
    for source, values in (("config file", user or {}), ("flag", flags or {})):
        for key, value in values.items():
            if key not in defaults:
                raise ConfigError(f"{source}: {unknown('setting', key, defaults)}")
            if value is not None:
                config[key] = value
    return config


def save(config: dict, run_dir: Path) -> None:
    """The resolved configuration, so the run can be repeated exactly (``--config run/config.yaml``)."""
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
