"""The YOLOv9 ELAN-block space: per searchable block (``m<layer>``, ultralytics' layer index) an op, and when
asked for its depth (``m<layer>_depth``, RepCSP repeats) and width (``m<layer>_width``, percent of the stock
hidden channels); options restricted by the target's scope and the block's stage (configs/classical_scopes.yaml)."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from hybrid_nas.classical import network
from hybrid_nas.classical.ops import ACTIVATIONS, KERNELS, BlockChoice, parse_op
from hybrid_nas.classical.tango import TANGO_OPS
from hybrid_nas.engine.config import packaged
from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.space import Architecture, Decision, SearchSpace

POSITIONS = ("neck", "all")
# Fixed op sets that replace the scope x stage options at every position (None: the scope's)
OP_SETS = {None: (), "tango8": TANGO_OPS}


def _tighter(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _looser(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


@dataclass(frozen=True)
class OpSet:
    """What a scope or stage allows a block: kernels, activations, and caps on its searched depth (RepCSP
    repeats) and width (percent of the stock hidden channels); a cap of None is no cap. A depth cap of
    ``stock`` in the YAML is the block's own repeats (``stock_depth`` when read)."""

    kernels: tuple[int, ...]
    activations: tuple[str, ...]
    max_depth: int | None = None
    max_width: int | None = None

    @classmethod
    def read(cls, where: str, entry: dict, stock_depth: int) -> OpSet:
        kernels, acts = tuple(entry.get("kernels") or ()), tuple(entry.get("activations") or ())
        bad = [k for k in kernels if k not in KERNELS] + [a for a in acts if a not in ACTIVATIONS]
        if bad:
            raise ConfigError(
                f"{where}: unknown kernel(s)/activation(s) {bad}; kernels {list(KERNELS)}, "
                f"activations {list(ACTIVATIONS)}"
            )
        caps = {key: entry.get(key) for key in ("max_depth", "max_width")}
        if caps["max_depth"] == "stock":
            caps["max_depth"] = stock_depth
        for key, cap in caps.items():
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
                raise ConfigError(
                    f"{where}: {key} must be a positive integer or null{' or stock' * (key == 'max_depth')}, "
                    f"got {cap!r}"
                )
        return cls(kernels, acts, **caps)

    def __and__(self, other: OpSet) -> OpSet:
        return OpSet(
            tuple(k for k in self.kernels if k in other.kernels),
            tuple(a for a in self.activations if a in other.activations),
            _tighter(self.max_depth, other.max_depth),
            _tighter(self.max_width, other.max_width),
        )

    def __or__(self, other: OpSet) -> OpSet:
        return OpSet(
            tuple(sorted({*self.kernels, *other.kernels})),
            tuple(dict.fromkeys((*self.activations, *other.activations))),
            _looser(self.max_depth, other.max_depth),
            _looser(self.max_width, other.max_width),
        )

    def allows(self, depth: int | None, width: int | None) -> bool:
        return (depth is None or self.max_depth is None or depth <= self.max_depth) and (
            width is None or self.max_width is None or width <= self.max_width
        )

    def ops(self) -> tuple[str, ...]:
        return tuple(f"{k}x{k}_{a}" for k in sorted(self.kernels) for a in self.activations)


def scopes_config() -> dict:
    return packaged("classical_scopes.yaml")


def scope_opset(name: str, stock_depth: int) -> OpSet:
    """What a scope, or the union of comma-separated scopes (a supernet serving several), allows a block of
    ``stock_depth`` repeats."""
    scopes = scopes_config()["scopes"]
    for part in name.split(","):
        if part not in scopes:
            raise ConfigError(unknown("classical scope", part, scopes))
    parts = (OpSet.read(f"scope {p!r}", scopes[p], stock_depth) for p in name.split(","))
    return functools.reduce(operator.or_, parts)


def stage_opset(stage: int, stock_depth: int) -> OpSet:
    for entry in scopes_config()["stages"]:
        if entry.get("max_stage") is None or stage <= entry["max_stage"]:
            return OpSet.read(f"stage {stage}", entry, stock_depth)
    raise ConfigError(f"configs/classical_scopes.yaml: no stage entry covers stage {stage}")


def profile(name: str) -> dict:
    profiles = scopes_config()["profiles"]
    if name not in profiles:
        raise ConfigError(unknown("device profile", name, profiles))
    return profiles[name]


def hidden_channels(stock: int, width: int) -> int:
    """``width`` percent of ``stock`` channels, rounded to an even count (each is halved inside the block)."""
    return max(2, 2 * int(stock * width / 200 + 0.5))


def check_elastic(depths, widths, compound: bool) -> None:
    """The depth and width options asked for: distinct positive integers; ``compound`` pairs them."""
    for flag, values in (("--depths", depths), ("--widths", widths)):
        if values is None:
            continue
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ConfigError(f"{flag} must list positive integers, got {list(values)}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{flag} lists an option twice: {list(values)}")
    if compound and (depths is None or widths is None or len(depths) != len(widths)):
        raise ConfigError(
            "--compound ties each depth to one width: give --depths and --widths with as many options each "
            f"(got {list(depths or [])} and {list(widths or [])})"
        )


class NeckSpace(SearchSpace):
    """Decisions ``m<i>`` for the ELAN blocks of ``model`` (the neck's, or with ``positions="all"`` the
    backbone's too), each with the ops of ``scope`` (or of comma-separated scopes) that its stage allows.

    ``ops="tango8"`` gives every position exactly TANGO's 8 ops instead. ``depths`` adds a decision
    ``m<i>_depth`` (RepCSP repeats; more than the stock block's make a deeper supernet) and ``widths`` a
    decision ``m<i>_width`` (percent of the stock hidden channels), both cut to the scope's caps; with
    ``compound`` the width is no decision of its own but the one paired with the depth (the k-th smallest
    depth with the k-th smallest width), so a block grows deeper and wider together as compound scaling does.

    The layer numbers are ultralytics'. TANGO's YOLOv9 YAML (WongKinYiu's) starts with a Silence
    layer, so its m_13, m_16, m_19, m_22 are our m12, m15, m18, m21; its m_28 ... m_37 are the PGI auxiliary
    branch, which exists only in training and which ultralytics' YOLOv9 models do not have.
    """

    name = "yolo"

    def __init__(
        self,
        model: str = "yolov9t",
        scope: str = "small",
        positions: str = "neck",
        ops: str | None = None,
        depths=None,
        widths=None,
        compound: bool = False,
    ):
        if positions not in POSITIONS:
            raise ConfigError(unknown("positions", positions, POSITIONS))
        if ops not in OP_SETS:
            raise ConfigError(unknown("op set", ops, [o for o in OP_SETS if o]))
        depths = tuple(sorted(depths)) if depths is not None else None
        widths = tuple(sorted(widths)) if widths is not None else None
        check_elastic(depths, widths, compound)
        self.model, self.scope, self.positions, self.op_set = model, scope, positions, ops
        self.depths, self.widths, self.compound = depths, widths, compound
        d = network.stock_yaml(model)
        n_backbone, stage_of = len(d["backbone"]), network.stages(d)
        self.layers = tuple(i for i in network.elan_layers(d) if positions == "all" or i >= n_backbone)
        self.stages = {i: stage_of[i] for i in self.layers}
        self.stock = {i: tuple(network.rows(d)[i][3][1:4]) for i in self.layers}  # (c3, c4, n) of each block
        decisions = []
        for i in self.layers:
            n = self.stock[i][2]
            allowed = scope_opset(scope, n) & stage_opset(self.stages[i], n)
            decisions.append(Decision(f"m{i}", OP_SETS[ops] or allowed.ops()))
            if compound:
                assert depths is not None and widths is not None  # check_elastic
                pairs = [(dp, w) for dp, w in zip(depths, widths) if allowed.allows(dp, w)]
                decisions.append(Decision(f"m{i}_depth", tuple(dp for dp, _ in pairs)))
                continue
            if depths is not None:
                decisions.append(Decision(f"m{i}_depth", tuple(dp for dp in depths if allowed.allows(dp, None))))
            if widths is not None:
                decisions.append(Decision(f"m{i}_width", tuple(w for w in widths if allowed.allows(None, w))))
        super().__init__(decisions)

    @property
    def elastic(self) -> bool:
        """Whether depth or width is searched (not only the op)."""
        return self.depths is not None or self.widths is not None

    def dimension(self, decision: str) -> str:
        """``kernel`` (an op decision: kernel and activation), ``depth`` or ``width``; under ``compound``
        the depth decision moves the width too."""
        return decision.rsplit("_", 1)[1] if "_" in decision else "kernel"

    def ops(self, arch: Architecture) -> dict[int, str]:
        """Layer index -> op."""
        return {i: arch[f"m{i}"] for i in self.layers}

    def _width(self, arch: Mapping[str, Any], i: int) -> int | None:
        if self.compound:
            assert self.depths is not None and self.widths is not None
            return self.widths[self.depths.index(arch[f"m{i}_depth"])]
        return arch.get(f"m{i}_width")

    def _choice(self, arch: Mapping[str, Any], i: int) -> BlockChoice:
        c3, c4, _ = self.stock[i]
        width = self._width(arch, i)
        hidden = (hidden_channels(c3, width), hidden_channels(c4, width)) if width is not None else None
        return BlockChoice(arch[f"m{i}"], arch.get(f"m{i}_depth"), hidden)

    def path(self, arch: Architecture) -> dict[int, BlockChoice]:
        """Layer index -> what the block computes: op, depth and hidden channels (None: the stock block's)."""
        return {i: self._choice(arch, i) for i in self.layers}

    def _block_key(self, arch: Mapping[str, Any], i: int) -> str:
        if not self.elastic:
            return arch[f"m{i}"]
        depth, width = arch.get(f"m{i}_depth"), self._width(arch, i)
        return f"{arch[f'm{i}']}/d{depth or self.stock[i][2]}/w{width or 100}"

    def block_keys(self, arch: Architecture) -> dict[str, str]:
        """Decision ``m<i>`` -> the latency table's key of that block in ``arch``: the op in an op-only space,
        else ``<op>/d<repeats>/w<percent of the stock width>`` with the stock's depth or width where the
        space does not search it (so a table of more depths and widths covers this space too)."""
        return {f"m{i}": self._block_key(arch, i) for i in self.layers}

    def block_decisions(self, i: int) -> dict[str, dict]:
        """Every block the space offers at layer ``i``: its latency table key -> its decisions' options."""
        names = [d.name for d in self.decisions if d.name.split("_")[0] == f"m{i}"]
        combos = (dict(zip(names, combo)) for combo in itertools.product(*(self[n].options for n in names)))
        return {self._block_key(c, i): c for c in combos}

    def block_options(self) -> dict[int, dict[str, BlockChoice]]:
        """Layer index -> every block the space offers there, by its latency table key, with its depth and
        hidden channels filled in (the stock's where not searched)."""
        out: dict[int, dict[str, BlockChoice]] = {}
        for i in self.layers:
            c3, c4, n = self.stock[i]
            out[i] = {}
            for key, partial in self.block_decisions(i).items():
                choice = self._choice(partial, i)
                out[i][key] = BlockChoice(choice.op, choice.depth or n, choice.hidden or (c3, c4))
        return out

    def supernet_yaml(self, nc: int | None = None) -> dict:
        """Every position with all its ops, its largest depth and its widest hidden channels."""
        options = {i: cast("tuple[str, ...]", self[f"m{i}"].options) for i in self.layers}
        largest = self.path(self.extreme(largest=True))
        sizes = {i: (c.hidden, c.depth) for i, c in largest.items()} if self.elastic else None
        return network.searchable_yaml(self.model, options, nc, sizes)

    def subnet_yaml(self, arch: Architecture, nc: int | None = None) -> dict:
        return network.searchable_yaml(self.model, self.path(self.validate(arch)), nc)

    def extreme(self, largest: bool, rng: np.random.Generator | None = None) -> Architecture:
        """The largest (or smallest) kernel, depth and width at every position, activation drawn by ``rng``
        (else the first)."""
        pick = max if largest else min
        choice = {}
        for d in self.decisions:
            if self.dimension(d.name) != "kernel":
                choice[d.name] = pick(d.options)
                continue
            k = pick(parse_op(o)[0] for o in d.options)
            same = [o for o in d.options if parse_op(o)[0] == k]
            choice[d.name] = same[rng.integers(len(same))] if rng is not None else same[0]
        return Architecture(choice)

    def describe(self, arch: Architecture) -> str:
        if not self.elastic:
            return " ".join(f"m{i}={arch[f'm{i}']}" for i in self.layers)
        parts = []
        for i, choice in self.path(arch).items():
            width = self._width(arch, i)
            parts.append(
                f"m{i}={choice.op}"
                + (f"/d{choice.depth}" if choice.depth is not None else "")
                + (f"/w{width}" if width is not None else "")
            )
        return " ".join(parts)

    def to_json(self) -> dict:
        elastic = {"depths": self.depths, "widths": self.widths, "compound": self.compound} if self.elastic else {}
        return {
            **super().to_json(),
            "model": self.model,
            "scope": self.scope,
            "positions": self.positions,
            "ops": self.op_set,
            **elastic,
        }
