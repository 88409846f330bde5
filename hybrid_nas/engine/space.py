"""Architectures and search spaces: the half of the one interface that says what can be chosen."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid_nas.engine.errors import SpaceError, unknown

Option = str | int


class Architecture(Mapping[str, Any]):
    """An immutable mapping ``decision name -> option``; hashable and JSON-serialisable.

    Two architectures with the same choices are equal whatever order they were written in, so an
    architecture is a dictionary key (the study's duplicate cache) and its ``key`` a database key.
    """

    __slots__ = ("_items", "_hash")

    def __init__(self, choices: Mapping[str, Option] | None = None, **kwargs: Option):
        items = dict(choices or {}, **kwargs)
        self._items: dict[str, Option] = items
        self._hash = hash(tuple(sorted(items.items(), key=lambda kv: kv[0])))

    def __getitem__(self, name: str) -> Any:
        # Any, not Option: a decision's options are all str or all int, and the code that reads a decision
        # knows which (as with a TypedDict); `str | int` would need a cast at every read.
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Architecture):
            return self._hash == other._hash and self._items == other._items
        return isinstance(other, Mapping) and self._items == dict(other)

    def __repr__(self) -> str:
        return f"Architecture({self._items!r})"

    def __reduce__(self):
        return (Architecture, (self._items,))

    @property
    def key(self) -> str:
        """Canonical JSON (sorted keys): equal architectures have equal keys."""
        return json.dumps(self._items, sort_keys=True, separators=(",", ":"))

    def to_json(self) -> str:
        return json.dumps(self._items)

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        return cls(json.loads(text))

    def replace(self, **changes: Option) -> Architecture:
        return Architecture({**self._items, **changes})


@dataclass(frozen=True)
class Decision:
    """One choice of a space: its name and the options allowed (after scopes and constraints)."""

    name: str
    options: tuple[Option, ...]

    def __post_init__(self):
        if not self.options:
            raise SpaceError(f"decision {self.name!r} has no allowed option; the scope removed them all")
        if len(set(self.options)) != len(self.options):
            raise SpaceError(f"decision {self.name!r} lists an option twice: {list(self.options)}")

    def index(self, option: Option) -> int:
        try:
            return self.options.index(option)
        except ValueError:
            raise SpaceError(unknown(f"option for {self.name!r}", option, self.options)) from None


class SearchSpace:
    """Ordered decisions with their options; samples, mutates and validates architectures.

    Subclasses add meaning (how an architecture builds a network or a circuit) and may override
    ``describe`` to give an architecture its domain's usual notation.
    """

    name = "space"

    def __init__(self, decisions: list[Decision] | tuple[Decision, ...], name: str | None = None):
        self.decisions = tuple(decisions)
        if name:
            self.name = name
        names = [d.name for d in self.decisions]
        if len(set(names)) != len(names):
            raise SpaceError(f"space {self.name!r} names a decision twice: {names}")
        self._by_name = {d.name: d for d in self.decisions}

    def __getitem__(self, name: str) -> Decision:
        try:
            return self._by_name[name]
        except KeyError:
            raise SpaceError(unknown(f"decision of space {self.name!r}", name, self._by_name)) from None

    def __len__(self) -> int:
        return len(self.decisions)

    def size(self) -> int:
        return math.prod(len(d.options) for d in self.decisions)

    def sample(self, rng: np.random.Generator) -> Architecture:
        return Architecture({d.name: d.options[rng.integers(len(d.options))] for d in self.decisions})

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one decision (among those with a choice) to a different option."""
        free = [d for d in self.decisions if len(d.options) > 1]
        if not free:
            return arch
        d = free[rng.integers(len(free))]
        others = [o for o in d.options if o != arch[d.name]]
        return arch.replace(**{d.name: others[rng.integers(len(others))]})

    def validate(self, arch: Mapping[str, Any]) -> Architecture:
        """The architecture as an ``Architecture``, or a ``SpaceError`` naming the first bad choice."""
        missing = [d.name for d in self.decisions if d.name not in arch]
        if missing:
            raise SpaceError(f"architecture lacks decision(s) {missing} of space {self.name!r}")
        for name, option in arch.items():
            self[name].index(option)
        return arch if isinstance(arch, Architecture) else Architecture(arch)

    def key(self, arch: Architecture) -> str:
        """Equal for architectures that build the same thing (the study evaluates each key once).
        The architecture's own key unless a space knows better (inactive decisions, empty layers)."""
        return arch.key

    def indices(self, arch: Architecture) -> list[int]:
        return [d.index(arch[d.name]) for d in self.decisions]

    def from_indices(self, indices: list[int]) -> Architecture:
        return Architecture({d.name: d.options[int(i)] for d, i in zip(self.decisions, indices)})

    def describe(self, arch: Architecture) -> str:
        """The architecture in its domain's notation (a compact JSON by default)."""
        return arch.key

    def to_json(self) -> dict:
        return {"name": self.name, "decisions": {d.name: list(d.options) for d in self.decisions}}

    def meta(self) -> dict:
        return self.to_json()


class ProductSpace(SearchSpace):
    """Named sub-spaces searched as one: decision ``<part>.<name>`` is the part's decision ``name``.

    Sampling, mutation, validation and keys are the parts' own, applied part by part, so a part keeps its
    meaning (a circuit part still merges equal circuits in its key); strategies and stores see one
    ``Architecture``. ``conflict`` names a combination of parts that cannot be built (none by default):
    ``sample`` and ``mutate`` avoid one; an evaluator that meets one raises it as the trial's error.
    """

    name = "product"
    TRIES = 100  # samples or mutations drawn before a space whose parts always conflict is refused

    def __init__(self, parts: Mapping[str, SearchSpace], name: str | None = None):
        for part in parts:
            if not part or "." in part:
                raise SpaceError(f"part name {part!r} must be non-empty and hold no '.'")
        self.parts = dict(parts)
        super().__init__(
            [Decision(f"{part}.{d.name}", d.options) for part, space in self.parts.items() for d in space.decisions],
            name,
        )

    def part(self, arch: Mapping[str, Any], name: str) -> Architecture:
        """The choices of part ``name`` under the part's own decision names."""
        prefix = f"{name}."
        return Architecture({k[len(prefix) :]: v for k, v in arch.items() if k.startswith(prefix)})

    def join(self, parts: Mapping[str, Mapping[str, Option]]) -> Architecture:
        """One architecture from each part's choices (the inverse of ``part``)."""
        return Architecture({f"{name}.{k}": v for name, choices in parts.items() for k, v in choices.items()})

    def conflict(self, arch: Architecture) -> str | None:
        """Why these parts' choices cannot be built together, or None."""
        return None

    def _first_valid(self, draw) -> Architecture:
        for _ in range(self.TRIES):
            arch = draw()
            if self.conflict(arch) is None:
                return arch
        raise SpaceError(
            f"space {self.name!r}: {self.TRIES} draws in a row conflict ({self.conflict(arch)}); widen the options"
        )

    def sample(self, rng: np.random.Generator) -> Architecture:
        return self._first_valid(lambda: self.join({n: s.sample(rng) for n, s in self.parts.items()}))

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """One part's own mutation, the part drawn in proportion to its free decisions (so every free
        decision of the product is equally likely to change, as in a plain space)."""
        names = [n for n, s in self.parts.items() if any(len(d.options) > 1 for d in s.decisions)]
        if not names:
            return arch
        free = np.array([sum(len(d.options) > 1 for d in self.parts[n].decisions) for n in names], float)

        def draw() -> Architecture:
            name = names[rng.choice(len(names), p=free / free.sum())]
            return arch.replace(**self.join({name: self.parts[name].mutate(self.part(arch, name), rng)}))

        return self._first_valid(draw)

    def validate(self, arch: Mapping[str, Any]) -> Architecture:
        extra = [k for k in arch if k.split(".", 1)[0] not in self.parts]
        if extra:
            raise SpaceError(
                unknown(f"part of space {self.name!r} in decision {extra[0]!r}", extra[0].split(".", 1)[0], self.parts)
            )
        for name, space in self.parts.items():
            try:
                space.validate(self.part(arch, name))
            except SpaceError as e:
                raise SpaceError(f"part {name!r}: {e}") from None
        return arch if isinstance(arch, Architecture) else Architecture(arch)

    def key(self, arch: Architecture) -> str:
        return json.dumps({n: s.key(self.part(arch, n)) for n, s in self.parts.items()}, separators=(",", ":"))

    def describe(self, arch: Architecture) -> str:
        return " ; ".join(f"{n}: {s.describe(self.part(arch, n))}" for n, s in self.parts.items())

    def meta(self) -> dict:
        return {**super().meta(), "parts": {n: s.meta() for n, s in self.parts.items()}}
