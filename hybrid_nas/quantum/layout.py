"""Where a circuit sits on a device: connected subsets of physical qubits of a backend's coupling map, in
the spirit of Elivagar ("Elivagar: Efficient Quantum Circuit Search for Classification", 2024): candidate
subsets are grown at random over the coupling map, scored from the backend's calibration, and a circuit
built on one entangles only along its couplers, in the direction the device's two-qubit gate is defined
on, so the transpiler adds no SWAP and the simulated circuit is exactly as wide as the searched one.

Couplers whose calibrated error is 1 (reported broken) are not part of the graph: a gate on one always fails.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hybrid_nas.engine.errors import ConfigError

Subset = tuple[int, ...]  # physical qubits; logical qubit i sits on subset[i]


def _name(backend) -> str:
    return type(backend).__name__


def two_qubit_gate(backend) -> str:
    """The backend's native two-qubit operation (ecr, cz or cx): the one defined on the most couplers."""
    target = backend.target
    names = [n for n in target.operation_names if target.operation_from_name(n).num_qubits == 2]
    if not names:
        raise ConfigError(f"{_name(backend)} has no two-qubit gate to entangle with")
    return max(names, key=lambda n: len(target[n]))


@dataclass(frozen=True, eq=False)
class Coupling:
    """A backend's usable couplers: per qubit its neighbours, and per undirected pair the direction its
    native gate is defined on (the lower-error one where both are)."""

    name: str
    num_qubits: int
    neighbours: tuple[frozenset[int], ...]
    direction: dict[frozenset[int], tuple[int, int]]
    gate_error: dict[frozenset[int], float]
    gate_time: float  # mean two-qubit gate duration, seconds (0 if not reported)
    readout_error: tuple[float, ...]
    coherence: tuple[float, ...]  # min(T1, T2) per qubit, seconds (inf if not reported)
    largest_part: int = 0  # qubits in the largest connected part of the graph


@lru_cache(maxsize=8)
def coupling(backend) -> Coupling:
    target, gate = backend.target, two_qubit_gate(backend)
    direction: dict[frozenset[int], tuple[int, int]] = {}
    error: dict[frozenset[int], float] = {}
    durations = []
    for qargs, props in target[gate].items():
        e = (props.error if props is not None else None) or 0.0
        if qargs is None or e >= 1.0:
            continue
        pair = frozenset(qargs)
        if pair not in direction or e < error[pair]:
            direction[pair], error[pair] = tuple(qargs), e
        if props is not None and props.duration:
            durations.append(props.duration)
    neighbours: list[set[int]] = [set() for _ in range(backend.num_qubits)]
    for a, b in direction.values():
        neighbours[a].add(b)
        neighbours[b].add(a)
    measure = target.get("measure", {})
    readout = tuple(float(((p := measure.get((q,))) is not None and p.error) or 0.0) for q in range(backend.num_qubits))
    qprops = target.qubit_properties or [None] * backend.num_qubits
    coherence = tuple(
        min((t for t in (getattr(p, "t1", None), getattr(p, "t2", None)) if t), default=math.inf) for p in qprops
    )
    c = Coupling(
        _name(backend),
        backend.num_qubits,
        tuple(frozenset(n) for n in neighbours),
        direction,
        error,
        float(np.mean(durations)) if durations else 0.0,
        readout,
        coherence,
    )
    left, largest = set(range(c.num_qubits)), 0
    while left:
        part = _reachable(c, min(left))
        largest, left = max(largest, len(part)), left - part
    return replace(c, largest_part=largest)


def is_connected(c: Coupling, subset: Iterable[int]) -> bool:
    nodes = set(subset)
    if not nodes:
        return False
    return len(bfs_order(c, nodes)) == len(nodes)


def bfs_order(c: Coupling, subset: Iterable[int]) -> Subset:
    """The subset's qubits breadth-first from its lowest, neighbours in increasing order: deterministic,
    and every prefix is connected, so the first n logical qubits of a wider layout are a layout too."""
    nodes = set(subset)
    start = min(nodes)
    order, seen, queue = [start], {start}, deque([start])
    while queue:
        for n in sorted(c.neighbours[queue.popleft()] & nodes):
            if n not in seen:
                seen.add(n)
                order.append(n)
                queue.append(n)
    return tuple(order)


def check_subset(backend, subset: Sequence[int]) -> Subset:
    """A given subset in BFS order, or one line on why it cannot hold a circuit."""
    c = coupling(backend)
    text = ",".join(map(str, subset))
    if len(subset) < 2:
        raise ConfigError(f"layout {text}: a circuit needs at least 2 physical qubits")
    if len(set(subset)) != len(subset):
        raise ConfigError(f"layout {text} names a qubit twice")
    if bad := [q for q in subset if not 0 <= q < c.num_qubits]:
        raise ConfigError(f"layout {text}: {c.name} has qubits 0..{c.num_qubits - 1}, not {bad[0]}")
    if not is_connected(c, subset):
        raise ConfigError(f"layout {text}: these qubits of {c.name} are not connected by working couplers")
    return bfs_order(c, subset)


def _require(c: Coupling, k: int) -> None:
    if k > c.num_qubits:
        raise ConfigError(f"the circuit needs {k} qubits, {c.name} has {c.num_qubits}")
    if k > c.largest_part:
        raise ConfigError(f"{c.name} has no {k} connected qubits (its largest connected part has {c.largest_part})")


def _reachable(c: Coupling, start: int) -> set[int]:
    seen, stack = {start}, [start]
    while stack:
        for n in c.neighbours[stack.pop()] - seen:
            seen.add(n)
            stack.append(n)
    return seen


def sample_subset(backend, k: int, rng: np.random.Generator) -> Subset:
    """k connected physical qubits, grown from a random seed qubit by adding a random neighbour of the
    subset at a time; in BFS order."""
    c = coupling(backend)
    _require(c, k)
    while True:
        subset = {int(rng.integers(c.num_qubits))}
        frontier = set(c.neighbours[next(iter(subset))])
        while len(subset) < k and frontier:
            q = sorted(frontier)[rng.integers(len(frontier))]
            subset.add(q)
            frontier = (frontier | c.neighbours[q]) - subset
        if len(subset) == k:  # else the seed's connected part was too small: another seed
            return bfs_order(c, subset)


def mutate_subset(backend, subset: Sequence[int], rng: np.random.Generator) -> Subset:
    """The subset with one qubit whose removal keeps it connected swapped for another neighbour of the
    rest (so the result is connected and of the same size); the subset itself if no such move exists."""
    c = coupling(backend)
    nodes = set(subset)
    moves = []
    for q in sorted(nodes):
        rest = nodes - {q}
        if is_connected(c, rest):
            moves += [(q, r) for r in sorted(set().union(*(c.neighbours[n] for n in rest)) - nodes)]
    if not moves:
        return bfs_order(c, nodes)
    out, new = moves[rng.integers(len(moves))]
    return bfs_order(c, (nodes - {out}) | {new})


def native_edges(backend, order: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Every working coupler among ``order``'s qubits as a pair of LOGICAL indices (positions in ``order``)
    in the native gate's direction: a controlled gate's control on the first. Sorted, so a layer's gates
    come in a fixed order."""
    c = coupling(backend)
    index = {q: i for i, q in enumerate(order)}
    pairs = [c.direction[frozenset((a, b))] for a in order for b in c.neighbours[a] & index.keys() if a < b]
    return tuple(sorted((index[a], index[b]) for a, b in pairs))


def score_subset(backend, subset: Sequence[int]) -> float:
    """Elivagar's figure of merit, in (0, 1]: the mean two-qubit gate success over the subset's couplers x
    the mean readout success of its qubits x the mean chance a qubit survives one two-qubit gate time
    undisturbed, exp(-t_gate / min(T1, T2)) (a monotone map of the coherence-to-gate-time ratio onto
    (0, 1], so the three factors are probabilities alike and scores compare across backends without
    normalising over a pool)."""
    c = coupling(backend)
    nodes = set(subset)
    errors = [c.gate_error[p] for p in c.direction if p <= nodes]
    gate = 1.0 - float(np.mean(errors)) if errors else 1.0
    readout = 1.0 - float(np.mean([c.readout_error[q] for q in nodes]))
    coherence = float(np.mean([math.exp(-c.gate_time / c.coherence[q]) for q in nodes]))
    return gate * readout * coherence


@dataclass(frozen=True)
class DeviceLayouts:
    """The options of a space's ``layout`` decision: subsets of ``backend``'s qubits (BFS order) and, for
    each, its couplers as logical native-direction pairs."""

    backend: str
    subsets: tuple[Subset, ...]
    edges: tuple[tuple[tuple[int, int], ...], ...]
    scores: tuple[float, ...]

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(option_name(s) for s in self.subsets)

    def of(self, option: str) -> int:
        return self.options.index(option)


def option_name(subset: Sequence[int]) -> str:
    return "-".join(map(str, subset))


def parse_subset(text: str) -> Subset:
    """``"3,4,5"`` or ``"3-4-5"`` (an option's name) as physical qubits; one line if not integers."""
    parts = [p.strip() for p in str(text).replace("-", ",").split(",") if p.strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"layout {text!r} is not auto, device or a comma-separated list of qubits") from None


def layouts_of(backend_name: str, subsets: Sequence[Sequence[int]]) -> DeviceLayouts:
    """Given subsets (each checked) as layout options, in the order given."""
    from hybrid_nas.quantum.hardware import fake_backend

    backend = fake_backend(backend_name)
    ordered = tuple(check_subset(backend, s) for s in subsets)
    return DeviceLayouts(
        backend_name,
        ordered,
        tuple(native_edges(backend, s) for s in ordered),
        tuple(score_subset(backend, s) for s in ordered),
    )


@lru_cache(maxsize=16)
def best_layouts(backend_name: str, k: int, count: int = 16, pool: int = 100, seed: int = 0) -> DeviceLayouts:
    """The ``count`` best-scored of ``pool`` random connected k-subsets of the backend (distinct as sets),
    best first; cached per backend, size and seed."""
    from hybrid_nas.quantum.hardware import fake_backend

    backend = fake_backend(backend_name)
    rng = np.random.default_rng(seed)
    found: dict[frozenset[int], Subset] = {}
    for _ in range(pool):
        s = sample_subset(backend, k, rng)
        found.setdefault(frozenset(s), s)
    ranked = sorted(found.values(), key=lambda s: (-score_subset(backend, s), s))[:count]
    return layouts_of(backend_name, ranked)
