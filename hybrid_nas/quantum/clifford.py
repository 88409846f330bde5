"""A noise score that holds at 20-100 qubits: Clifford replicas of a circuit run on Aer's stabilizer method.

A Clifford circuit under Pauli noise is simulated in polynomial time, so the circuit's Clifford replicas
stand in for it (the idea of "Elivagar: Efficient Quantum Circuit Search for Classification", 2024).

Replicas are made from the circuit transpiled to the backend (basis rz, sx, x, ecr or cz): sx, x, ecr and
cz are Clifford already and carry the device's noise; the virtual ``rz`` (no error, no duration) is the
only gate changed, so a replica keeps the transpiled circuit's noisy gates one for one.

- ``round``: every free parameter drawn uniformly in [0, 2 pi) (or the circuit's own angles where bound),
  then every rotation angle rounded to the nearest multiple of pi/2, the angles that make it Clifford.
- ``random``: every rotation replaced by a uniformly random multiple of pi/2. Between the fixed sx gates,
  rz(a) sx rz(b) sx rz(c) then runs over every one-qubit Clifford: Elivagar's "every gate a random
  Clifford", without changing the transpiled gate count.

A circuit not in such a basis (a logical circuit with u3, crx or cu3: a controlled rotation rounded to a
multiple of pi/2 is not Clifford) is transpiled to rz, sx, x, cx first, with its angles bound.

The score, ``clifford_noise_score``: under Pauli noise, the noisy <Z_q> of a Clifford circuit is its ideal
value times a damping factor f_q that does not depend on the input state. The ideal <Z_q> of a random
stabilizer state is mostly 0 (an entangled qubit), where noise changes nothing visible; so each readout
qubit q is run from a product input that is an eigenstate of U^dagger Z_q U (prepared by noiseless H and
S gates), where its ideal <Z_q> is s = +1 or -1. With z the noisy <Z_q> read from measured shots (readout
error included), the score is the mean over replicas and readout qubits of (1 + s z) / 2 =
1 - |z - s| / 2: the probability that a readout bit keeps its sign, 1 when noise changes nothing, 0.5
when it leaves no signal. Readout qubits whose inputs are compatible share one run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.quantum.circuit import Circuit, to_qiskit
from hybrid_nas.quantum.hardware import require_qubits
from hybrid_nas.quantum.noise import DENSITY_MATRIX_MAX_QUBITS

KINDS = ("round", "random")
METHODS = ("auto", "stabilizer", "density_matrix")
# "auto": up to this many active qubits the replicas run on a density matrix, whose shots are drawn from one
# state, where the stabilizer method runs every noisy shot as its own trajectory (4 qubits: 0.3 s vs 1.4 s a
# score); the two estimate the same figure (readout error included either way)
DENSITY_MATRIX_UP_TO = 6
# one-parameter rotations that are Clifford at multiples of pi/2
ROTATIONS = frozenset({"rz", "rx", "ry", "p", "u1", "rzz", "rxx", "ryy", "rzx"})
CLIFFORD_GATES = frozenset(
    {"id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg", "cx", "cy", "cz", "ecr", "swap", "iswap", "dcx"}
)
NON_GATES = frozenset({"barrier", "measure", "delay"})
GENERIC_BASIS = ["rz", "sx", "x", "cx"]
ELIVAGAR_MAX_QUBITS = 10  # 2^10 outcomes for 1,024 shots: past it the histograms are mostly empty


def _check(kind: str, replicas: int, shots: int) -> None:
    if kind not in KINDS:
        raise ConfigError(unknown("Clifford replica kind", kind, KINDS))
    if replicas < 1 or shots < 1:
        raise ConfigError(f"need at least 1 replica and 1 shot, got {replicas} replicas and {shots} shots")


# ---- replicas ---------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _clifford_gates(name: str, k: int):
    """The rotation ``name`` at angle k pi/2 as named Clifford gates (Aer's stabilizer method takes no rz)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.quantum_info import Clifford

    gate = get_standard_gate_name_mapping()[name].base_class(k * math.pi / 2)
    return Clifford(gate).to_circuit()


def _in_clifford_basis(qc) -> bool:
    names = {inst.operation.name for inst in qc.data}
    return names <= CLIFFORD_GATES | ROTATIONS | NON_GATES


def _cliffordise(qc, kind: str, rng: np.random.Generator):
    """``qc`` (bound, in a rotation + Clifford basis) with each rotation made Clifford; measurements dropped."""
    out = qc.copy_empty_like()
    for inst in qc.data:
        op = inst.operation
        if op.name in ROTATIONS:
            k = int(rng.integers(4)) if kind == "random" else round(float(op.params[0]) / (math.pi / 2))
            gates = _clifford_gates(op.name, k % 4)
            for sub in gates.data:
                out.append(sub.operation, [inst.qubits[gates.find_bit(q).index] for q in sub.qubits])
        elif op.name in CLIFFORD_GATES:
            out.append(op, inst.qubits)
        elif op.name not in NON_GATES:
            raise ConfigError(f"gate {op.name!r} cannot be made Clifford by rounding: transpile the circuit first")
    return out


def clifford_replicas(qc, kind: str = "round", replicas: int = 32, seed: int = 0) -> list:
    """``replicas`` Clifford circuits of the same qubits as ``qc`` (a Qiskit circuit, transpiled to a
    backend or logical). Free parameters are drawn uniformly in [0, 2 pi) per replica; a circuit outside a
    rotation + Clifford basis is transpiled to rz, sx, x, cx once its angles are bound. Seeded: the same
    seed gives the same replicas."""
    from qiskit import transpile

    _check(kind, replicas, 1)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(replicas):
        bound = qc.assign_parameters(rng.uniform(0, 2 * math.pi, qc.num_parameters)) if qc.parameters else qc
        if not _in_clifford_basis(bound):
            bound = transpile(bound, basis_gates=GENERIC_BASIS, optimization_level=1, seed_transpiler=seed)
        out.append(_cliffordise(bound, kind, rng))
    return out


def transpiled_for_replicas(
    circuit: Circuit, backend, weights=None, initial_layout=None, optimization_level: int = 1, seed: int = 0
):
    """The package circuit transpiled to ``backend`` with the data features left as parameters (drawn per
    replica) and ``weights`` bound (drawn once, seeded, where None). Weights are bound because symbolic
    cu3 gates transpile for minutes; rx/ry/rz data gates stay fast."""
    from qiskit.transpiler import generate_preset_pass_manager

    require_qubits(circuit.n_qubits, backend)
    if weights is None:
        weights = np.random.default_rng(seed).uniform(0, 2 * math.pi, circuit.n_weights)
    pm = generate_preset_pass_manager(
        optimization_level=optimization_level, backend=backend, initial_layout=initial_layout, seed_transpiler=seed
    )
    return pm.run(to_qiskit(circuit, weights=weights))


# ---- noise models -----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def pauli_noise_model(backend, scale: float = 1.0):
    """The backend's noise model that the stabilizer method accepts: each gate's calibrated error as a
    depolarising (Pauli) channel, and readout error (``NoiseModel.from_backend`` without thermal
    relaxation, whose Kraus channels it refuses; Pauli-twirling the full model took 8 s on 127 qubits).
    ``scale`` multiplies every gate error's non-identity Pauli probabilities (readout error unchanged)."""
    from qiskit.quantum_info import Pauli
    from qiskit_aer.noise import NoiseModel, pauli_error
    from qiskit_aer.utils import transform_noise_model

    if not scale >= 0:  # NaN too
        raise ConfigError(f"the noise scale must be >= 0, got {scale}")
    model = NoiseModel.from_backend(backend, thermal_relaxation=False)
    if scale == 1.0:
        return model

    def scaled(error):
        terms = [(Pauli(c).to_label(), p) for c, p in zip(error.circuits, error.probabilities)]
        noisy = [(label, p * scale) for label, p in terms if set(label) != {"I"}]
        total = sum(p for _, p in noisy)
        if total > 1:
            raise ConfigError(f"noise scale {scale} makes an error probability {total:.3f} > 1")
        return pauli_error([*noisy, ("I" * error.num_qubits, 1 - total)])

    return transform_noise_model(model, scaled)


# ---- the score --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliffordScore:
    """``score`` in [0.5, 1] in practice (1: noise changes nothing). ``stderr``: the shot noise of the
    score at these replicas, sqrt(sum (1 - z^2) / (4 shots)) / entries, entries taken as independent;
    ``stderr_replicas``: the spread of the per-replica scores / sqrt(replicas), shots included, the error
    of the mean over random replicas."""

    score: float
    stderr: float
    stderr_replicas: float
    replicas: int
    shots: int  # 0: exact
    runs: int  # circuits simulated (replicas x groups of compatible readout qubits)
    active_qubits: int
    seconds: float


def _readout_physical(qc, readout) -> list[int]:
    """Physical qubits of the logical ``readout`` qubits (default: every logical qubit, as the package's
    classifiers read every wire)."""
    layout = list(qc.layout.final_index_layout()) if qc.layout is not None else list(range(qc.num_qubits))
    readout = range(len(layout)) if readout is None else readout
    bad = [q for q in readout if not 0 <= q < len(layout)]
    if bad:
        raise ConfigError(f"readout qubits {bad} are not among the circuit's {len(layout)} logical qubits")
    return [layout[q] for q in readout]


def _active(qc) -> list[int]:
    return sorted({qc.find_bit(q).index for inst in qc.data if inst.operation.name != "barrier" for q in inst.qubits})


def _compact_clifford(replica, active: list[int]):
    """The replica's Clifford on its active qubits only (a tableau of 2 x active, not of the device)."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Clifford

    index = {q: i for i, q in enumerate(active)}
    small = QuantumCircuit(len(active))
    for inst in replica.data:
        if inst.operation.name not in NON_GATES:
            small.append(inst.operation, [index[replica.find_bit(q).index] for q in inst.qubits])
    return Clifford(small)


def _groups(cliff, readout: list[int], active: list[int]):
    """Readout qubits grouped by compatible eigenstate inputs: [(input letters {physical: X|Y|Z},
    [(physical readout qubit, ideal sign)])]."""
    from qiskit.quantum_info import Pauli

    n, index = len(active), {q: i for i, q in enumerate(active)}
    groups: list[tuple[dict[int, str], list[tuple[int, int]]]] = []
    for q in readout:
        z = ["I"] * n
        z[n - 1 - index[q]] = "Z"  # Qiskit labels are little-endian
        label = Pauli("".join(z)).evolve(cliff, frame="h").to_label()
        sign = -1 if label.startswith("-") else 1
        letters = {active[n - 1 - i]: c for i, c in enumerate(label.lstrip("-")) if c != "I"}
        for prep, members in groups:
            if all(prep.get(p, c) == c for p, c in letters.items()):
                prep.update(letters)
                members.append((q, sign))
                break
        else:
            groups.append((dict(letters), [(q, sign)]))
    return groups


def _run_circuit(replica, prep: dict[int, str], members, exact: bool = False):
    """Eigenstate input (H, S: not in the noise model, so noiseless), the replica, the readout measured
    (``exact``: its exact <Z>s saved instead, readout error left out)."""
    from qiskit import ClassicalRegister
    from qiskit.quantum_info import Pauli

    qc = replica.copy_empty_like()
    for p, letter in prep.items():
        if letter in "XY":
            qc.h(p)
        if letter == "Y":
            qc.s(p)
    qc.compose(replica, inplace=True)
    if exact:
        for i, (q, _) in enumerate(members):
            qc.save_expectation_value(Pauli("Z"), [q], label=f"z{i}")
        return qc
    bits = ClassicalRegister(len(members), "r")
    qc.add_register(bits)
    for i, (q, _) in enumerate(members):
        qc.measure(q, bits[i])
    return qc


def _expectations(counts: dict[str, int], n_bits: int) -> np.ndarray:
    """<Z> of each clbit from counts (bit strings little-endian)."""
    z, shots = np.zeros(n_bits), sum(counts.values())
    for key, c in counts.items():
        bits = key.replace(" ", "")[::-1]
        z += c * (1 - 2 * np.array([int(b) for b in bits[:n_bits]]))
    return z / shots


def _restricted(noise_model, qubits):
    """``noise_model`` with only the errors on ``qubits``: Aer looks every gate's error up per shot, and a
    127-qubit device's model made each run 4x slower than its active qubits' part (0.8 s vs 0.2 s, 256
    shots, 4 active qubits). Reads Aer's per-qubit error tables: the model has no public getter for them."""
    from qiskit_aer.noise import NoiseModel

    if noise_model is None:
        return None
    keep = set(qubits)
    out = NoiseModel(basis_gates=noise_model.basis_gates)
    for name, errors in noise_model._local_quantum_errors.items():
        for qargs, error in errors.items():
            if set(qargs) <= keep:
                out.add_quantum_error(error, name, qargs)
    for name, error in noise_model._default_quantum_errors.items():
        out.add_all_qubit_quantum_error(error, name)
    for qargs, error in noise_model._local_readout_errors.items():
        if set(qargs) <= keep:
            out.add_readout_error(error, qargs)
    if noise_model._default_readout_error is not None:
        out.add_all_qubit_readout_error(noise_model._default_readout_error)
    return out


def _simulator(method: str, noise_model, seed: int, truncate: bool = True):
    from qiskit_aer import AerSimulator

    return AerSimulator(method=method, noise_model=noise_model, seed_simulator=seed, enable_truncation=truncate)


def clifford_noise_score(
    qc,
    backend,
    readout=None,
    kind: str = "round",
    replicas: int = 16,
    shots: int | None = 256,
    seed: int = 0,
    noise_model=None,
    method: str = "auto",
) -> CliffordScore:
    """The score of ``qc``, a Qiskit circuit transpiled to ``backend`` (its data features may be free
    parameters), under ``noise_model`` (default: ``pauli_noise_model(backend)``) on ``method`` ("auto": the
    density matrix up to DENSITY_MATRIX_UP_TO active qubits, else the stabilizer): see the module's
    docstring. ``readout``: the logical qubits the classifier reads (default all). Cost: replicas x groups
    runs of ``shots`` trajectories on the circuit's active qubits only (Aer's stabilizer method runs every
    shot as its own trajectory under noise). ``shots=None``: exact expectation values on the
    density matrix of the whole circuit (readout error left out; small backends), for checking the
    stabilizer estimate."""
    _check(kind, replicas, shots or 1)
    if method not in METHODS:
        raise ConfigError(unknown("Clifford score simulation method", method, METHODS))
    if shots is None and (method != "density_matrix" or qc.num_qubits > DENSITY_MATRIX_MAX_QUBITS):
        raise ConfigError(
            f"exact expectation values (shots=None) need method='density_matrix' and at most "
            f"{DENSITY_MATRIX_MAX_QUBITS} qubits in the circuit, got {method!r} and {qc.num_qubits}"
        )
    if qc.num_qubits > backend.num_qubits:
        raise ConfigError(f"the circuit has {qc.num_qubits} qubits, {type(backend).__name__} has {backend.num_qubits}")
    start = time.perf_counter()
    physical = _readout_physical(qc, readout)
    circuits, signs, owner = [], [], []
    reps = clifford_replicas(qc, kind, replicas, seed)
    active = sorted(set(_active(reps[0])) | set(physical))
    model = pauli_noise_model(backend) if noise_model is None else noise_model
    if method == "auto":
        method = "density_matrix" if len(active) <= DENSITY_MATRIX_UP_TO else "stabilizer"
    # exact saves run untruncated: Aer 0.18 with qubit truncation read one-qubit save_expectation_value on
    # the wrong qubits (measurements were right)
    simulator = _simulator(method, _restricted(model, active), seed, truncate=shots is not None)
    for r, replica in enumerate(reps):
        for prep, members in _groups(_compact_clifford(replica, active), physical, active):
            circuits.append(_run_circuit(replica, prep, members, exact=shots is None))
            signs.append(np.array([s for _, s in members]))
            owner.append(r)
    result = simulator.run(circuits, shots=shots or 1).result()
    values, variances = [], []
    per_replica: list[list[float]] = [[] for _ in reps]
    for i, s in enumerate(signs):
        if shots is None:
            z = np.array([result.data(i)[f"z{j}"] for j in range(len(s))]).real
        else:
            z = _expectations(result.get_counts(i), len(s))
        values.append((1 + s * z) / 2)
        variances.append((1 - z**2) / (4 * shots) if shots else np.zeros(len(s)))
        per_replica[owner[i]].extend(values[-1])
    v, var = np.concatenate(values), np.concatenate(variances)
    means = np.array([np.mean(p) for p in per_replica])
    return CliffordScore(
        score=float(v.mean()),
        stderr=float(np.sqrt(var.sum()) / len(v)),
        stderr_replicas=float(means.std(ddof=1) / np.sqrt(len(means))) if len(means) > 1 else float("nan"),
        replicas=replicas,
        shots=shots or 0,
        runs=len(circuits),
        active_qubits=len(active),
        seconds=time.perf_counter() - start,
    )


def circuit_noise_score(
    circuit: Circuit,
    backend,
    weights=None,
    initial_layout=None,
    readout=None,
    optimization_level: int = 1,
    **kwargs,
) -> CliffordScore:
    """``clifford_noise_score`` of a package circuit transpiled to ``backend`` (at ``initial_layout`` where
    given), its data features drawn per replica and ``weights`` (trained, or drawn once where None)."""
    seed = kwargs.get("seed", 0)
    tqc = transpiled_for_replicas(circuit, backend, weights, initial_layout, optimization_level, seed)
    return clifford_noise_score(tqc, backend, readout=readout, **kwargs)


# ---- Elivagar's recipe, for comparison --------------------------------------------------------------


def elivagar_cnr(qc, backend, readout=None, replicas: int = 32, shots: int = 1024, seed: int = 0) -> float:
    """Clifford noise resilience as Elivagar publishes it: ``replicas`` random-Clifford replicas, the
    readout qubits' 2^n histograms of ``shots`` shots run noiselessly and under the backend's full noise
    model (density matrix), 1 - their mean total variation distance. Refused past
    ``ELIVAGAR_MAX_QUBITS`` readout qubits, where 1,024 shots cannot fill 2^n bins."""
    from hybrid_nas.quantum.noise import device_noise_model

    _check("random", replicas, shots)
    physical = _readout_physical(qc, readout)
    if len(physical) > ELIVAGAR_MAX_QUBITS:
        raise ConfigError(
            f"Elivagar's CNR compares 2^n histograms: {len(physical)} readout qubits is past its "
            f"{ELIVAGAR_MAX_QUBITS}; use clifford_noise_score"
        )
    reps = clifford_replicas(qc, "random", replicas, seed)
    active = sorted(set(_active(reps[0])) | set(physical))
    if len(active) > DENSITY_MATRIX_MAX_QUBITS:
        raise ConfigError(
            f"the circuit has more than {DENSITY_MATRIX_MAX_QUBITS} active qubits: use clifford_noise_score"
        )
    measured = [_run_circuit(r, {}, [(q, 1) for q in physical]) for r in reps]
    ideal = _simulator("stabilizer", None, seed).run(measured, shots=shots).result()
    noisy = (
        _simulator("density_matrix", _restricted(device_noise_model(backend), active), seed)
        .run(measured, shots=shots)
        .result()
    )
    tvd = []
    for i in range(len(reps)):
        a, b = ideal.get_counts(i), noisy.get_counts(i)
        tvd.append(0.5 * sum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b)) / shots)
    return 1.0 - float(np.mean(tvd))
