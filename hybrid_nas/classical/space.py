"""The YOLOv9 op space: one decision per searchable ELAN block (``m<layer>``, ultralytics' layer index),
options restricted by the target's scope and the block's stage (configs/classical_scopes.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from hybrid_nas.classical import network
from hybrid_nas.classical.ops import ACTIVATIONS, KERNELS, parse_op
from hybrid_nas.classical.tango import TANGO_OPS
from hybrid_nas.engine.config import packaged
from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.space import Architecture, Decision, SearchSpace

POSITIONS = ("neck", "all")
# Fixed op sets that replace the scope x stage options at every position (None: the scope's)
OP_SETS = {None: (), "tango8": TANGO_OPS}


@dataclass(frozen=True)
class OpSet:
    kernels: tuple[int, ...]
    activations: tuple[str, ...]

    @classmethod
    def read(cls, where: str, entry: dict) -> OpSet:
        kernels, acts = tuple(entry.get("kernels") or ()), tuple(entry.get("activations") or ())
        bad = [k for k in kernels if k not in KERNELS] + [a for a in acts if a not in ACTIVATIONS]
        if bad:
            raise ConfigError(
                f"{where}: unknown kernel(s)/activation(s) {bad}; kernels {list(KERNELS)}, "
                f"activations {list(ACTIVATIONS)}"
            )
        return cls(kernels, acts)

    def __and__(self, other: OpSet) -> OpSet:
        return OpSet(
            tuple(k for k in self.kernels if k in other.kernels),
            tuple(a for a in self.activations if a in other.activations),
        )

    def __or__(self, other: OpSet) -> OpSet:
        return OpSet(
            tuple(sorted({*self.kernels, *other.kernels})),
            tuple(dict.fromkeys((*self.activations, *other.activations))),
        )

    def ops(self) -> tuple[str, ...]:
        return tuple(f"{k}x{k}_{a}" for k in sorted(self.kernels) for a in self.activations)


def scopes_config() -> dict:
    return packaged("classical_scopes.yaml")


def scope_opset(name: str) -> OpSet:
    """The ops of a scope, or of the union of comma-separated scopes (a supernet serving several)."""
    scopes = scopes_config()["scopes"]
    union = OpSet((), ())
    for part in name.split(","):
        if part not in scopes:
            raise ConfigError(unknown("classical scope", part, scopes))
        union = union | OpSet.read(f"scope {part!r}", scopes[part])
    return union


def stage_opset(stage: int) -> OpSet:
    for entry in scopes_config()["stages"]:
        if entry.get("max_stage") is None or stage <= entry["max_stage"]:
            return OpSet.read(f"stage {stage}", entry)
    raise ConfigError(f"configs/classical_scopes.yaml: no stage entry covers stage {stage}")


def profile(name: str) -> dict:
    profiles = scopes_config()["profiles"]
    if name not in profiles:
        raise ConfigError(unknown("device profile", name, profiles))
    return profiles[name]


class NeckSpace(SearchSpace):
    """Decisions ``m<i>`` for the ELAN blocks of ``model`` (the neck's, or with ``positions="all"`` the
    backbone's too), each with the ops of ``scope`` (or of comma-separated scopes) that its stage allows.

    ``ops="tango8"`` gives every position exactly TANGO's 8 ops instead.

    The layer numbers are ultralytics'. TANGO's YOLOv9 YAML (WongKinYiu's) starts with a Silence
    layer, so its m_13, m_16, m_19, m_22 are our m12, m15, m18, m21; its m_28 ... m_37 are the PGI auxiliary
    branch, which exists only in training and which ultralytics' YOLOv9 models do not have.
    """

    name = "yolo"

    def __init__(self, model: str = "yolov9t", scope: str = "small", positions: str = "neck", ops: str | None = None):
        if positions not in POSITIONS:
            raise ConfigError(unknown("positions", positions, POSITIONS))
        if ops not in OP_SETS:
            raise ConfigError(unknown("op set", ops, [o for o in OP_SETS if o]))
        self.model, self.scope, self.positions, self.op_set = model, scope, positions, ops
        d = network.stock_yaml(model)
        n_backbone, stage_of = len(d["backbone"]), network.stages(d)
        self.layers = tuple(i for i in network.elan_layers(d) if positions == "all" or i >= n_backbone)
        self.stages = {i: stage_of[i] for i in self.layers}
        scope_ops = scope_opset(scope)
        super().__init__(
            [Decision(f"m{i}", OP_SETS[ops] or (scope_ops & stage_opset(self.stages[i])).ops()) for i in self.layers]
        )

    def ops(self, arch: Architecture) -> dict[int, str]:
        """Layer index -> op."""
        return {i: arch[f"m{i}"] for i in self.layers}

    def supernet_yaml(self, nc: int | None = None) -> dict:
        options = {i: cast("tuple[str, ...]", self[f"m{i}"].options) for i in self.layers}
        return network.searchable_yaml(self.model, options, nc)

    def subnet_yaml(self, arch: Architecture, nc: int | None = None) -> dict:
        return network.searchable_yaml(self.model, self.ops(self.validate(arch)), nc)

    def extreme(self, largest: bool, rng: np.random.Generator | None = None) -> Architecture:
        """The largest (or smallest) kernel at every position, activation drawn by ``rng`` (else the first)."""
        choice = {}
        for d in self.decisions:
            k = (max if largest else min)(parse_op(o)[0] for o in d.options)
            same = [o for o in d.options if parse_op(o)[0] == k]
            choice[d.name] = same[rng.integers(len(same))] if rng is not None else same[0]
        return Architecture(choice)

    def describe(self, arch: Architecture) -> str:
        return " ".join(f"m{i}={arch[f'm{i}']}" for i in self.layers)

    def to_json(self) -> dict:
        return {
            **super().to_json(),
            "model": self.model,
            "scope": self.scope,
            "positions": self.positions,
            "ops": self.op_set,
        }
