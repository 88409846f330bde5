"""The hybrid search space: a classical front-end, a circuit and a readout head, searched as one product.

``front.*`` chooses an MLP (hidden layers, their widths, the activation) and ``front.qubits``, the number
of qubits: the front-end hands on one angle per qubit for each data row of the encoder. ``circuit.*`` is
the circuit space (built on the first ``front.qubits`` qubits; the other qubits' slots are inactive), and
``head.readout`` reads the expectation values: ``qubits`` (qubit c scores class c) or ``dense`` (a linear
layer over them).
"""

from __future__ import annotations

import json
from typing import cast

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.space import Architecture, Decision, ProductSpace, SearchSpace
from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.space import NONE, CircuitSpace

ACTIVATIONS = ("relu", "tanh", "silu", "gelu")
READOUTS = ("qubits", "dense")


class FrontEndSpace(SearchSpace):
    """Decisions ``qubits``, ``hidden`` (layers), ``width<i>`` (units of hidden layer i) and ``activation``;
    widths of absent layers, and the activation of a front-end with no hidden layer, are inactive."""

    name = "mlp"

    def __init__(self, qubits=(4, 6, 8), hidden=(0, 1, 2), widths=(16, 32, 64), activations=("relu", "tanh", "silu")):
        for a in activations:
            if a not in ACTIVATIONS:
                raise ConfigError(unknown("activation", a, ACTIVATIONS))
        if min(qubits) < 2 or min(hidden) < 0 or min(widths) < 1:
            raise ConfigError(f"need qubits >= 2, hidden layers >= 0 and widths >= 1; got {qubits}, {hidden}, {widths}")
        decisions = [Decision("qubits", tuple(qubits)), Decision("hidden", tuple(hidden))]
        decisions += [Decision(f"width{i}", tuple(widths)) for i in range(max(hidden))]
        decisions.append(Decision("activation", tuple(activations)))
        super().__init__(decisions)

    def widths(self, arch: Architecture) -> list[int]:
        return [arch[f"width{i}"] for i in range(arch["hidden"])]

    def key(self, arch: Architecture) -> str:
        active = {"qubits": arch["qubits"], "widths": self.widths(arch)}
        if arch["hidden"]:
            active["activation"] = arch["activation"]
        return json.dumps(active, separators=(",", ":"))

    def describe(self, arch: Architecture) -> str:
        layers = "-".join(map(str, self.widths(arch)))
        return f"mlp {layers} {arch['activation']}" if layers else "linear"


class HeadSpace(SearchSpace):
    name = "head"

    def __init__(self, readouts=READOUTS):
        super().__init__([Decision("readout", tuple(readouts))])

    def describe(self, arch: Architecture) -> str:
        return arch["readout"]


class HybridSpace(ProductSpace):
    """front x circuit x head for a task of ``n_classes``; the qubit count (``front.qubits``) ties the
    front-end's width to the circuit, so ``key`` and ``describe`` build the circuit on that many qubits."""

    name = "hybrid"

    def __init__(self, n_classes: int, front: FrontEndSpace, circuit: CircuitSpace, head: HeadSpace):
        if circuit.n_qubits != max(front["qubits"].options):
            raise ConfigError(
                f"the circuit space has {circuit.n_qubits} qubits, the front-end offers up to "
                f"{max(front['qubits'].options)}"
            )
        self.n_classes = n_classes
        super().__init__({"front": front, "circuit": circuit, "head": head})
        qubits = cast("tuple[int, ...]", front["qubits"].options)
        readouts = cast("tuple[str, ...]", head["readout"].options)
        if all(self._readout_conflict(q, r) for q in qubits for r in readouts):
            raise ConfigError(
                f"no readout fits: the qubit-per-class readout needs {n_classes} qubits and at most "
                f"{circuit.n_qubits} are offered; add the dense readout or more qubits"
            )

    @property
    def front(self) -> FrontEndSpace:
        return cast(FrontEndSpace, self.parts["front"])

    @property
    def circuit_space(self) -> CircuitSpace:
        return cast(CircuitSpace, self.parts["circuit"])

    def _readout_conflict(self, qubits: int, readout: str) -> str | None:
        if readout == "qubits" and self.n_classes > 2 and qubits < self.n_classes:
            return f"the qubit-per-class readout needs a qubit per class: {self.n_classes} classes, {qubits} qubits"
        return None

    def conflict(self, arch: Architecture) -> str | None:
        return self._readout_conflict(arch["front.qubits"], arch["head.readout"])

    def circuit(self, arch: Architecture) -> Circuit:
        return self.circuit_space.build(self.part(arch, "circuit"), n_qubits=arch["front.qubits"])

    def without_entanglers(self, arch: Architecture) -> Architecture:
        """The same rotations with every entangler removed."""
        return arch.replace(**{d.name: NONE for d in self.decisions if d.name.endswith(".ent")})

    def key(self, arch: Architecture) -> str:
        return json.dumps(
            {
                "front": self.front.key(self.part(arch, "front")),
                "circuit": repr(self.circuit(arch).ops),
                "head": arch["head.readout"],
            },
            separators=(",", ":"),
        )

    def describe(self, arch: Architecture) -> str:
        """``mlp 32 relu -> 4q | rx | ry ry - ry > cnot_ring -> dense``."""
        circuit = self.circuit_space.describe(self.part(arch, "circuit"), n_qubits=arch["front.qubits"])
        return (
            f"{self.front.describe(self.part(arch, 'front'))} -> {arch['front.qubits']}q | {circuit} -> "
            f"{arch['head.readout']}"
        )

    def meta(self) -> dict:
        return {**super().meta(), "n_classes": self.n_classes}

    @classmethod
    def from_meta(cls, meta: dict) -> HybridSpace:
        """The space a stored study was searched in (for reports read from the store alone)."""
        front, circuit, head = (meta["parts"][p] for p in ("front", "circuit", "head"))
        d = front["decisions"]
        widths = d.get("width0", [16])
        layers = circuit["decisions"]["layers"]
        return cls(
            meta["n_classes"],
            FrontEndSpace(d["qubits"], d["hidden"], widths, d["activation"]),
            CircuitSpace(
                circuit["n_qubits"], max(layers), circuit["scope"], tuple(circuit["decisions"]["encoder"]), min(layers)
            ),
            HeadSpace(head["decisions"]["readout"]),
        )
