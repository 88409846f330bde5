"""Hyperparameter search spaces in NNI's format (JSON, or the same in YAML), converted to ConfigSpace.

``{"lr": {"_type": "loguniform", "_value": [0.0001, 0.1]}, "momentum": {"_type": "uniform", "_value": [0, 1]}}``

NNI's types and their meaning (https://nni.readthedocs.io, search space spec):
choice [options], randint [lower, upper), uniform / loguniform [low, high], quniform / qloguniform
[low, high, q] (the draw rounded to a multiple of q, clipped to the range), normal [mu, sigma],
lognormal [mu, sigma] (exp of a normal draw), qnormal / qlognormal [mu, sigma, q]. ConfigSpace has no
quantised or unbounded normal types, so a quantised value is drawn continuous and rounded when decoded,
normals are bounded at mu +- 4 sigma, and a lognormal is a normal in log space, exponentiated when decoded.

An ``HPOSpace`` is also a space a ``Study`` searches: its architectures are the decoded values, plus the
fidelity SMAC's Hyperband sets (``epochs``) and, when a configuration is evaluated on several seeds, the
seed (``seed``): what is evaluated is then all in the architecture, so the study's duplicate check by key
never mistakes another budget or seed of a configuration for a repeat.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hybrid_nas.engine.errors import ConfigError, SpaceError, unknown
from hybrid_nas.engine.space import Architecture

TYPES = (
    "choice",
    "randint",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
)
_ARITY = {
    "randint": 2,
    "uniform": 2,
    "loguniform": 2,
    "quniform": 3,
    "qloguniform": 3,
    "normal": 2,
    "lognormal": 2,
    "qnormal": 3,
    "qlognormal": 3,
}
_SIGMAS = 4.0  # bound of the normal types, in standard deviations
SEED = "seed"  # an architecture's entry for the seed it is evaluated on (SMAC's seed, with repeats)
_MAX_SEED = 2**31 - 1  # SMAC draws its seeds below this


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    value: tuple

    def __post_init__(self):
        if self.type not in TYPES:
            raise ConfigError(f"hyperparameter {self.name!r}: {unknown('search-space _type', self.type, TYPES)}")
        if self.type == "choice":
            if not self.value:
                raise ConfigError(f"hyperparameter {self.name!r}: choice needs a non-empty list of options")
            return
        n = _ARITY[self.type]
        if len(self.value) != n or not all(isinstance(v, (int, float)) for v in self.value):
            raise ConfigError(f"hyperparameter {self.name!r}: {self.type} takes {n} numbers, got {list(self.value)}")
        if (
            self.type in ("randint", "uniform", "loguniform", "quniform", "qloguniform")
            and not self.value[0] < self.value[1]
        ):
            raise ConfigError(f"hyperparameter {self.name!r}: {self.type} needs low < high, got {list(self.value)}")
        if "log" in self.type and self.type.endswith("uniform") and self.value[0] <= 0:
            raise ConfigError(f"hyperparameter {self.name!r}: {self.type} needs low > 0, got {list(self.value)}")
        if self.type in ("normal", "qnormal", "lognormal", "qlognormal") and self.value[1] <= 0:
            raise ConfigError(f"hyperparameter {self.name!r}: {self.type} needs sigma > 0, got {list(self.value)}")
        if self.type.startswith("q") and self.value[-1] <= 0:
            raise ConfigError(f"hyperparameter {self.name!r}: q must be > 0, got {self.value[-1]}")

    def hyperparameter(self):
        from ConfigSpace import Categorical, Float, Integer, Normal

        t, v = self.type, self.value
        if t == "choice":  # options travel as their index: ConfigSpace wants one type per hyperparameter
            return Categorical(self.name, [str(i) for i in range(len(v))], default=str(0))
        if t == "randint":
            return Integer(self.name, (int(v[0]), int(v[1]) - 1))
        if t in ("uniform", "quniform"):
            return Float(self.name, (float(v[0]), float(v[1])))
        if t in ("loguniform", "qloguniform"):
            return Float(self.name, (float(v[0]), float(v[1])), log=True)
        mu, sigma = float(v[0]), float(v[1])  # normal family; lognormal: this normal is the log of the value
        return Float(self.name, self._normal_bounds(), default=mu, distribution=Normal(mu, sigma))

    def optuna_distribution(self):
        """The range the decoded values lie in, as Optuna (and optuna-dashboard) describe a param."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        t, v = self.type, self.value
        if t == "choice":
            return CategoricalDistribution([x if isinstance(x, (bool, int, float, str)) else json.dumps(x) for x in v])
        if t == "randint":
            return IntDistribution(int(v[0]), int(v[1]) - 1)
        if t in ("uniform", "quniform", "loguniform", "qloguniform"):
            return FloatDistribution(float(v[0]), float(v[1]), log="log" in t)
        low, high = self._normal_bounds()
        if t in ("lognormal", "qlognormal"):
            return FloatDistribution(math.exp(low), math.exp(high), log=True)
        return FloatDistribution(low, high)

    def _normal_bounds(self) -> tuple[float, float]:
        """The normal family's truncation: mu +- _SIGMAS sigma (for lognormal, of the value's log)."""
        mu, sigma = float(self.value[0]), float(self.value[1])
        return mu - _SIGMAS * sigma, mu + _SIGMAS * sigma

    def encode(self, value):
        """A decoded value -> a ConfigSpace value that decodes to it (a ``SpaceError`` when out of range)."""
        t, v = self.type, self.value
        if t == "choice":
            for i, option in enumerate(v):
                if option == value:
                    return str(i)
            raise SpaceError(unknown(f"option for {self.name!r}", value, v))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpaceError(f"hyperparameter {self.name!r}: expected a finite number, got {value!r}")
        if t == "randint":
            if value != int(value) or not v[0] <= value < v[1]:
                raise SpaceError(f"hyperparameter {self.name!r}: {value!r} is not an integer in [{v[0]}, {v[1]})")
            return int(value)
        if t in ("uniform", "quniform", "loguniform", "qloguniform"):
            if not v[0] <= value <= v[1]:
                raise SpaceError(f"hyperparameter {self.name!r}: {value!r} is outside [{v[0]}, {v[1]}]")
            return float(value)
        low, high = self._normal_bounds()
        if t in ("lognormal", "qlognormal"):  # a rounded lognormal may be 0: the lowest log the range has
            value = math.log(value) if value > 0 else low
        return min(max(float(value), low), high)  # rounding may step just past the truncation

    def decode(self, raw):
        """A ConfigSpace value -> the value NNI's semantics give."""
        t, v = self.type, self.value
        if t == "choice":
            return v[int(raw)]
        if t == "randint":
            return int(raw)
        x = math.exp(raw) if t in ("lognormal", "qlognormal") else float(raw)
        if t.startswith("q"):
            q = v[-1]
            x = round(x / q) * q
            if t in ("quniform", "qloguniform"):
                x = min(max(x, v[0]), v[1])
            if all(float(a).is_integer() for a in v):  # NNI returns ints for integer ranges and steps
                x = int(round(x))
        return x


@dataclass(frozen=True)
class Fidelity:
    """The training length SMAC's Hyperband sets per trial (its budget), an integer in [low, high]."""

    name: str
    low: int
    high: int

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ConfigError(f"multi-fidelity needs 0 < min < max {self.name}, got {self.low} and {self.high}")


class HPOSpace:
    """Named hyperparameters with NNI semantics, and their ConfigSpace; a space a ``Study`` searches, whose
    architectures may also carry the ``fidelity`` and, when ``seeded``, the seed they are evaluated on."""

    name = "hpo"

    def __init__(self, spec: dict, fidelity: Fidelity | None = None, seeded: bool = False):
        if not isinstance(spec, dict) or not spec:
            raise ConfigError("a search space is a non-empty mapping: name -> {_type: ..., _value: [...]}")
        self.spec = spec
        self.params = []
        for name, entry in spec.items():
            if not isinstance(entry, dict) or "_type" not in entry or "_value" not in entry:
                raise ConfigError(f"hyperparameter {name!r}: expected {{_type: ..., _value: [...]}}, got {entry!r}")
            value = entry["_value"]
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"hyperparameter {name!r}: _value must be a list, got {value!r}")
            self.params.append(Param(str(name), str(entry["_type"]), tuple(value)))
        if fidelity is not None and fidelity.name in self.spec:
            raise ConfigError(
                f"{fidelity.name!r} is the fidelity SMAC's Hyperband sets; remove it from the search space"
            )
        if seeded and SEED in self.spec:
            raise ConfigError(f"{SEED!r} is the seed a configuration is repeated on; remove it from the search space")
        self.fidelity, self.seeded = fidelity, seeded

    @classmethod
    def from_file(cls, path: str | Path) -> HPOSpace:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"search space file {path} does not exist")
        text = path.read_text()
        try:
            spec = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"search space file {path} cannot be parsed: {str(e).splitlines()[0]}") from None
        return cls(spec)

    def renamed(self, aliases: dict[str, str]) -> tuple[HPOSpace, list[tuple[str, str]]]:
        """The space with names a target calls otherwise (``lr`` -> ultralytics' ``lr0``), and the renames made."""
        done = [(name, aliases[name]) for name in self.spec if name in aliases]
        for old, new in done:
            if new in self.spec:
                raise ConfigError(f"the search space names both {old!r} and {new!r}, which mean the same here")
        return HPOSpace({aliases.get(k, k): v for k, v in self.spec.items()}, self.fidelity, self.seeded), done

    def evaluated(self, fidelity: Fidelity | None = None, seeded: bool = False) -> HPOSpace:
        """The same hyperparameters, their architectures carrying a fidelity and/or a seed."""
        return HPOSpace(self.spec, fidelity, seeded)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def configspace(self, seed: int = 0):
        from ConfigSpace import ConfigurationSpace

        cs = ConfigurationSpace(seed=seed)
        cs.add([p.hyperparameter() for p in self.params])
        return cs

    def decode(self, config) -> dict:
        """A ConfigSpace configuration (or plain mapping of its values) -> the hyperparameter values."""
        values = dict(config)
        return {p.name: p.decode(values[p.name]) for p in self.params}

    # -- as a study's space ------------------------------------------------------------------------------

    def architecture(self, config, *, seed: int | None = None, budget: float | None = None) -> Architecture:
        """A SMAC trial (its configuration, seed and budget) as the architecture a study evaluates."""
        values = self.decode(config)
        if self.fidelity is not None:
            values[self.fidelity.name] = round(budget if budget is not None else self.fidelity.high)
        if self.seeded:
            if seed is None:
                raise ValueError("a seeded HPO space needs the seed of SMAC's trial")
            values[SEED] = int(seed)
        return Architecture(values)

    def encode(self, arch: Mapping) -> dict:
        """The ConfigSpace values of an architecture's hyperparameters (what SMAC is told for a trial it never
        asked: a resumed one)."""
        return {p.name: p.encode(arch[p.name]) for p in self.params}

    def seed_of(self, arch: Mapping) -> int | None:
        return int(arch[SEED]) if self.seeded else None

    def budget_of(self, arch: Mapping) -> float | None:
        return float(arch[self.fidelity.name]) if self.fidelity is not None else None

    def hyperparameters(self, arch: Mapping) -> dict:
        """What the target trains with: the architecture without its seed."""
        return {k: v for k, v in arch.items() if not (self.seeded and k == SEED)}

    def validate(self, arch: Mapping) -> Architecture:
        keys = [*self.names, *([self.fidelity.name] if self.fidelity else []), *([SEED] if self.seeded else [])]
        if set(arch) != set(keys):
            raise SpaceError(f"an HPO architecture has the entries {sorted(keys)}, got {sorted(arch)}")
        self.encode(arch)
        for name, low, high in (
            [(self.fidelity.name, self.fidelity.low, self.fidelity.high)] if self.fidelity else []
        ) + ([(SEED, 0, _MAX_SEED)] if self.seeded else []):
            value = arch[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SpaceError(f"{name!r}: expected an integer in [{low}, {high}], got {value!r}")
        return arch if isinstance(arch, Architecture) else Architecture(arch)

    def key(self, arch: Architecture) -> str:
        return arch.key

    def size(self) -> float:
        """How many architectures there are: finite only when every hyperparameter is a choice or randint."""
        counts = [
            len(p.value) if p.type == "choice" else int(p.value[1] - p.value[0]) if p.type == "randint" else math.inf
            for p in self.params
        ]
        if self.fidelity is not None:
            counts.append(self.fidelity.high - self.fidelity.low + 1)
        return math.inf if self.seeded else math.prod(counts)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A random configuration at the largest budget (what strategies other than SMAC's draw)."""
        config = self.configspace(int(rng.integers(_MAX_SEED))).sample_configuration()
        return self.architecture(config, seed=int(rng.integers(_MAX_SEED)) if self.seeded else None)

    def describe(self, arch: Mapping) -> str:
        return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in arch.items())

    def meta(self) -> dict:
        meta: dict[str, Any] = {"name": "hpo", "spec": self.spec}
        if self.fidelity is not None:
            meta["fidelity"] = {"name": self.fidelity.name, "low": self.fidelity.low, "high": self.fidelity.high}
        if self.seeded:
            meta["seeded"] = True
        return meta

    @classmethod
    def from_meta(cls, meta: dict) -> HPOSpace:
        fidelity = meta.get("fidelity")
        return cls(meta["spec"], Fidelity(**fidelity) if fidelity else None, bool(meta.get("seeded")))

    def optuna_distributions(self) -> dict:
        """Each entry's range as Optuna's distribution (what an Optuna store records)."""
        from optuna.distributions import IntDistribution

        out = {p.name: p.optuna_distribution() for p in self.params}
        if self.fidelity is not None:
            out[self.fidelity.name] = IntDistribution(self.fidelity.low, self.fidelity.high)
        if self.seeded:
            out[SEED] = IntDistribution(0, _MAX_SEED)
        return out
