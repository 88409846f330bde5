"""Hyperparameter search spaces in NNI's format (JSON, or the same in YAML), converted to ConfigSpace.

``{"lr": {"_type": "loguniform", "_value": [0.0001, 0.1]}, "momentum": {"_type": "uniform", "_value": [0, 1]}}``

NNI's types and their meaning (https://nni.readthedocs.io, search space spec):
choice [options], randint [lower, upper), uniform / loguniform [low, high], quniform / qloguniform
[low, high, q] (the draw rounded to a multiple of q, clipped to the range), normal [mu, sigma],
lognormal [mu, sigma] (exp of a normal draw), qnormal / qlognormal [mu, sigma, q]. ConfigSpace has no
quantised or unbounded normal types, so a quantised value is drawn continuous and rounded when decoded,
normals are bounded at mu +- 4 sigma, and a lognormal is a normal in log space, exponentiated when decoded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from hybrid_nas.engine.errors import ConfigError, unknown

TYPES = ("choice", "randint", "uniform", "quniform", "loguniform", "qloguniform", "normal", "qnormal",
         "lognormal", "qlognormal")
_ARITY = {"randint": 2, "uniform": 2, "loguniform": 2, "quniform": 3, "qloguniform": 3, "normal": 2,
          "lognormal": 2, "qnormal": 3, "qlognormal": 3}
_SIGMAS = 4.0  # bound of the normal types, in standard deviations


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
        if self.type in ("randint", "uniform", "loguniform", "quniform", "qloguniform") and not self.value[0] < self.value[1]:
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


class HPOSpace:
    """Named hyperparameters with NNI semantics, and their ConfigSpace."""

    def __init__(self, spec: dict):
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

    @classmethod
    def from_file(cls, path: str | Path) -> "HPOSpace":
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"search space file {path} does not exist")
        text = path.read_text()
        try:
            spec = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"search space file {path} cannot be parsed: {str(e).splitlines()[0]}") from None
        return cls(spec)

    def renamed(self, aliases: dict[str, str]) -> tuple["HPOSpace", list[tuple[str, str]]]:
        """The space with names a target calls otherwise (``lr`` -> ultralytics' ``lr0``), and the renames made."""
        done = [(name, aliases[name]) for name in self.spec if name in aliases]
        for old, new in done:
            if new in self.spec:
                raise ConfigError(f"the search space names both {old!r} and {new!r}, which mean the same here")
        return HPOSpace({aliases.get(k, k): v for k, v in self.spec.items()}), done

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

    def meta(self) -> dict:
        return {"name": "hpo", "spec": self.spec}

    def optuna_distributions(self) -> dict:
        """Each hyperparameter's range as Optuna's distribution (what an Optuna store records)."""
        return {p.name: p.optuna_distribution() for p in self.params}
