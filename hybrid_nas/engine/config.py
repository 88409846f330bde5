"""YAML files of settings: the packaged defaults (``hybrid_nas/configs``) and a user's ``--config`` file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from hybrid_nas.engine.errors import ConfigError


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
