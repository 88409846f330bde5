"""The PQC gate-placement search space: per layer, a rotation (or none) on each qubit and an entangler
(or none); the number of layers and the data encoder are decisions too. Scopes come from
configs/quantum_scopes.yaml. On a device (``device``, --layout device), where the circuit sits is a
decision too, and entanglers follow that placement's couplers."""

from __future__ import annotations

from dataclasses import dataclass

from hybrid_nas.engine.config import packaged
from hybrid_nas.engine.errors import ConfigError, SpaceError, unknown
from hybrid_nas.engine.space import Architecture, Decision, SearchSpace
from hybrid_nas.quantum.circuit import ENCODERS, Circuit, Op, encoder_choices, encoder_stages, entangler_pairs
from hybrid_nas.quantum.gates import GATES
from hybrid_nas.quantum.layout import DeviceLayouts

NONE = "none"


@dataclass(frozen=True)
class Scope:
    name: str
    rotations: tuple[str, ...]
    entanglers: tuple[str, ...]  # "<gate>_<pattern>"

    def __post_init__(self):
        for g in self.rotations:
            if g not in GATES or GATES[g].num_wires != 1:
                raise ConfigError(f"scope {self.name!r}: {g!r} is not a one-qubit gate of the catalogue")
        for e in self.entanglers:
            gate, _, pattern = e.rpartition("_")
            if gate not in GATES or GATES[gate].num_wires != 2 or pattern not in ("ring", "chain"):
                raise ConfigError(f"scope {self.name!r}: entangler {e!r} is not '<two-qubit gate>_<ring|chain>'")


def load_scopes() -> dict[str, Scope]:
    return {
        name: Scope(name, tuple(s.get("rotations") or ()), tuple(s.get("entanglers") or ()))
        for name, s in packaged("quantum_scopes.yaml").items()
    }


def get_scope(name: str) -> Scope:
    scopes = load_scopes()
    if name not in scopes:
        raise ConfigError(unknown("quantum scope", name, scopes))
    return scopes[name]


class CircuitSpace(SearchSpace):
    """Decisions ``layers``, ``encoder``, ``L<l>.rot.q<q>`` and ``L<l>.ent`` for l < max_layers.

    Decisions of layers at or beyond ``layers`` are inactive, and layers without an entangler between
    them merge, so many architectures build one circuit: ``key`` is the circuit's gate list, and the
    study evaluates each circuit once. ``canonical`` resets inactive decisions, for display.

    With ``device`` (a ``DeviceLayouts``), one more decision, ``layout``: which connected subset of the
    device's qubits the circuit sits on (logical qubit i on the subset's i-th), and each scope entangler
    ``<gate>_<ring|chain>`` becomes ``<gate>_edges``: the gate on every working coupler inside the subset,
    control on the native gate's first qubit. Every coupler rather than a chain because a connected subset
    of a heavy-hex device is mostly a tree, which holds no path through all its qubits; on a tree the edges
    are as many as a chain's. The layout is ONE decision over the K best-scored subsets rather than a
    qubit per slot: every option is connected and scored, and a mutation jumps between good placements
    instead of mostly breaking connectivity.
    """

    name = "pqc"

    def __init__(
        self,
        n_qubits: int = 4,
        max_layers: int = 3,
        scope: str = "u3cu3",
        encoders=("ryzxy",),
        min_layers: int = 1,
        n_features: int | None = None,
        device: DeviceLayouts | None = None,
    ):
        if n_qubits < 2:
            raise ConfigError(f"a circuit needs at least 2 qubits, got {n_qubits}")
        if not 1 <= min_layers <= max_layers:
            raise ConfigError(f"need 1 <= min_layers <= max_layers, got {min_layers} and {max_layers}")
        for e in encoders:
            if e not in ENCODERS:
                raise ConfigError(unknown("encoder", e, ENCODERS))
        self.n_qubits, self.max_layers, self.scope = n_qubits, max_layers, get_scope(scope)
        self.n_features = n_features  # None: each encoder's own width (4 per qubit for ryzxy)
        self.device = device
        self.entanglers = self.scope.entanglers
        for e in encoders:
            stages = encoder_stages(e, n_qubits, n_features)[0]  # one that cannot take these features fails now
            if device and any(len(op.wires) == 2 for stage in stages for op in stage):
                raise ConfigError(
                    f"encoder {e!r} entangles neighbouring logical qubits, which a device layout may not couple: "
                    "pick a rotation encoder with --layout device"
                )
        decisions = [Decision("layers", tuple(range(min_layers, max_layers + 1))), Decision("encoder", tuple(encoders))]
        if device:
            if bad := [s for s in device.subsets if len(s) != n_qubits]:
                text = ",".join(map(str, bad[0]))
                raise ConfigError(f"layout {text} has {len(bad[0])} qubits, the circuit {n_qubits}")
            self.entanglers = tuple(dict.fromkeys(f"{e.rpartition('_')[0]}_edges" for e in self.scope.entanglers))
            decisions.append(Decision("layout", device.options))
        for layer in range(max_layers):
            decisions += [Decision(f"L{layer}.rot.q{q}", (NONE, *self.scope.rotations)) for q in range(n_qubits)]
            decisions.append(Decision(f"L{layer}.ent", (NONE, *self.entanglers)))
        super().__init__(decisions)

    def meta(self):
        meta = {**super().meta(), "n_qubits": self.n_qubits, "scope": self.scope.name, "n_features": self.n_features}
        return meta | ({"device": self.device.backend} if self.device else {})

    def _edges(self, arch: Architecture) -> tuple[tuple[int, int], ...] | None:
        return self.device.edges[self.device.of(arch["layout"])] if self.device else None

    def physical_qubits(self, arch: Architecture) -> list[int] | None:
        """The device qubit of each logical qubit (None: the transpiler places the circuit)."""
        return list(self.device.subsets[self.device.of(arch["layout"])]) if self.device else None

    def describe(self, arch: Architecture, n_qubits: int | None = None) -> str:
        """``ryzxy | u3 u3 - u3 > cu3_ring | ...``: per layer the rotation on each qubit (- for none) and
        the entangler (of the first ``n_qubits`` qubits, if given)."""
        layers = []
        for layer in range(arch["layers"]):
            rots = " ".join(
                "-" if (g := arch[f"L{layer}.rot.q{q}"]) == NONE else g for q in range(n_qubits or self.n_qubits)
            )
            ent = arch[f"L{layer}.ent"]
            layers.append(rots + ("" if ent == NONE else f" > {ent}"))
        return " | ".join([arch["encoder"], *layers]) + (f" @ qubits {arch['layout']}" if self.device else "")

    def key(self, arch: Architecture) -> str:
        circuit = self.build(arch)  # weights are numbered in gate order, so equal circuits repr equal
        return repr(circuit.ops) if circuit.layout is None else repr((circuit.ops, circuit.layout))

    def canonical(self, arch: Architecture) -> Architecture:
        inactive = {
            d.name: d.options[0]
            for d in self.decisions
            if d.name.startswith("L") and int(d.name[1 : d.name.index(".")]) >= arch["layers"]
        }
        return arch.replace(**inactive) if inactive else arch

    def shared_offsets(self) -> dict[tuple, int]:
        """Where each (layer, slot, gate) keeps its parameters in a SuperCircuit's shared bank: every
        option of every decision has its own, so any sub-circuit indexes into one weight vector."""
        offsets: dict[tuple, int] = {}
        k = 0
        for layer in range(self.max_layers):
            for q in range(self.n_qubits):
                for g in self.scope.rotations:
                    offsets[(layer, f"q{q}", g)] = k
                    k += GATES[g].num_params
            for e in self.entanglers:
                offsets[(layer, "ent", e)] = k
                gate, _, pattern = e.rpartition("_")
                # edges: as many slots as the layout with the most couplers has (the n-th coupler of every
                # layout shares one)
                k += GATES[gate].num_params * max(
                    len(entangler_pairs(pattern, self.n_qubits, edges))
                    for edges in (self.device.edges if self.device else (None,))
                )
        offsets[("size",)] = k
        return offsets

    def build(self, arch: Architecture, shared: bool = False, n_qubits: int | None = None) -> Circuit:
        """The circuit of an architecture; trainable weights numbered in gate order, or, with
        ``shared``, pointing into the SuperCircuit bank laid out by ``shared_offsets``. With ``n_qubits``
        (at most the space's), on the first ``n_qubits`` qubits only: the other slots are inactive."""
        arch = self.validate(arch)
        n = n_qubits or self.n_qubits
        if not 2 <= n <= self.n_qubits or (shared and n != self.n_qubits):
            raise SpaceError(f"a circuit of space {self.name!r} has 2 to {self.n_qubits} qubits, {n} asked")
        stages, n_features = encoder_stages(arch["encoder"], n, self.n_features, arch["layers"])
        ops: list[Op] = []
        offsets = self.shared_offsets() if shared else None
        edges = self._edges(arch)
        k = 0

        def place(gate: str, wires: tuple[int, ...], where: tuple = (), nth: int = 0) -> None:
            nonlocal k
            n = GATES[gate].num_params
            start = offsets[where] + nth * n if offsets is not None else k  # offsets: only when shared
            ops.append(Op(gate, wires, tuple(("w", start + i) for i in range(n))))
            k += n

        for layer in range(arch["layers"]):
            ops += stages[layer] if layer < len(stages) else []  # the encoder's data gates for this layer
            for q in range(n):
                if (g := arch[f"L{layer}.rot.q{q}"]) != NONE:
                    place(g, (q,), (layer, f"q{q}", g))
            if (e := arch[f"L{layer}.ent"]) != NONE:
                gate, _, pattern = e.rpartition("_")
                for nth, pair in enumerate(entangler_pairs(pattern, n, edges)):
                    place(gate, pair, (layer, "ent", e), nth)
        physical = self.physical_qubits(arch)
        return Circuit(n, tuple(ops), n_features, None if physical is None else tuple(physical[:n]))

    def uniform(self, layers: int, rotation: str, entangler: str, encoder: str | None = None) -> Architecture:
        """The hand-designed kind of circuit: the same rotation on every qubit and the same entangler in
        every layer (QuantumNAS's human baseline is ``uniform(2, "u3", "cu3_ring")``). On a device, on the
        best-scored layout, and a ring or chain entangler becomes the layout's edges."""
        choices = {"layers": layers, "encoder": encoder or self["encoder"].options[0]}
        if self.device:
            choices["layout"] = self["layout"].options[0]
            entangler = entangler if entangler == NONE else f"{entangler.rpartition('_')[0]}_edges"
        for layer in range(self.max_layers):
            choices |= {f"L{layer}.rot.q{q}": rotation for q in range(self.n_qubits)}
            choices[f"L{layer}.ent"] = entangler
        try:
            return self.canonical(self.validate(choices))
        except SpaceError as e:
            raise ConfigError(f"scope {self.scope.name!r} cannot build that circuit: {e}") from None


def space_for_task(
    task,
    qubits: int | None = None,
    layers: int = 3,
    scope: str = "u3cu3",
    encoder: str | None = None,
    min_layers: int = 1,
    device: DeviceLayouts | None = None,
) -> CircuitSpace:
    """The circuit space for a ``Task``: its qubits (or ``qubits``), its features, the encoder
    decision from ``encoder`` ("ryzxy,zz") or the task's own, and the device layouts if any."""
    n_qubits = task.n_qubits if qubits is None else qubits
    if n_qubits < task.n_classes:
        raise ConfigError(
            f"--qubits {n_qubits}: the task has {task.n_classes} classes and the readout needs a qubit per class"
        )
    return CircuitSpace(
        n_qubits, layers, scope, encoder_choices(encoder, task.encoder), min_layers, task.n_features, device
    )
