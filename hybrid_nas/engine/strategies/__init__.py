"""Search strategies by name. Heavy back-ends (torch, SMAC3) are imported only when chosen."""

from __future__ import annotations

import inspect
from importlib import import_module

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.space import SearchSpace
from hybrid_nas.engine.strategies.base import Strategy

# name -> (module, class): an explicit registry, no lookups by arbitrary user strings
STRATEGIES = {
    "random": ("random", "RandomSearch"),
    "evolution": ("evolution", "RegularizedEvolution"),
    "nsga2": ("nsga2", "NSGA2"),
    "reinforce": ("reinforce", "Reinforce"),
    "smac": ("smac", "SMACStrategy"),
}


def strategy_class(name: str) -> type[Strategy]:
    if name not in STRATEGIES:
        raise ConfigError(unknown("strategy", name, STRATEGIES))
    module, cls = STRATEGIES[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def make_strategy(name: str, space: SearchSpace, seed: int = 0, **options) -> Strategy:
    """A strategy by its CLI name, with its options checked against its constructor."""
    cls = strategy_class(name)
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "space", "seed")]
    for key in options:
        if key not in allowed:
            raise ConfigError(f"{unknown(f'option of strategy {name!r}', key, allowed)}")
    try:
        return cls(space, seed=seed, **options)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"strategy {name!r}: {e}") from None


__all__ = ["STRATEGIES", "Strategy", "make_strategy", "strategy_class"]
