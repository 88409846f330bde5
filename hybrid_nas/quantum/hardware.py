"""Figures of a circuit on a (fake) IBM device: transpiled depth, two-qubit gate count, and the estimated
success probability, QuantumNAS's "success rate": the product of (1 - error) over every transpiled gate
and the readout of every used qubit, from the backend's calibration data."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.quantum.circuit import Circuit, to_qiskit


def fake_backend_names() -> list[str]:
    """The fake devices: the older ones are named ``Fake<Name>V2``, today's 127-156-qubit ones
    ``Fake<Name>`` (FakeSherbrooke, FakeTorino, FakeFez, ...)."""
    from qiskit.providers import BackendV2
    from qiskit_ibm_runtime import fake_provider

    return sorted(
        n
        for n in dir(fake_provider)
        if n.startswith("Fake") and isinstance(c := getattr(fake_provider, n), type) and issubclass(c, BackendV2)
    )


@lru_cache(maxsize=8)
def fake_backend(name: str):
    """A fake backend of qiskit-ibm-runtime by class name (``FakeManilaV2``); offline, calibration included."""
    from qiskit_ibm_runtime import fake_provider

    names = fake_backend_names()
    if name not in names:
        raise ConfigError(unknown("fake backend", name, names))
    return getattr(fake_provider, name)()


def require_qubits(n_qubits: int, backend) -> None:
    """A one-line error where ``backend`` has fewer qubits than the circuit needs."""
    if n_qubits > backend.num_qubits:
        raise ConfigError(
            f"the circuit needs {n_qubits} qubits, {type(backend).__name__} has {backend.num_qubits}: "
            "pick a larger fake backend, e.g. FakeGuadalupeV2 (16 qubits) or FakeTorontoV2 (27)"
        )


def transpile_for(circuit: Circuit, backend, optimization_level: int = 1, seed: int = 0, weights=None, x=None):
    """The circuit transpiled to ``backend``, with ``weights``/``x`` bound where given.

    Parametrised ``cu`` gates are a trap: Qiskit 2.6 took 33-76 s to transpile the 4-qubit U3+CU3 baseline
    with symbolic parameters, 0.01 s bound to numbers.
    """
    return pass_manager(circuit, backend, optimization_level, seed).run(to_qiskit(circuit, weights, x))


def pass_manager(circuit: Circuit, backend, optimization_level: int = 1, seed: int = 0):
    """Qiskit's preset pass manager for ``circuit`` on ``backend``. A circuit built on a device layout is
    placed on its physical qubits with no routing at all: its two-qubit gates sit on couplers already, so
    the transpiled circuit is exactly as wide (a gate off the coupling map fails to transpile instead of
    getting SWAPs)."""
    from qiskit.transpiler import generate_preset_pass_manager

    require_qubits(circuit.n_qubits, backend)
    placed = {"initial_layout": list(circuit.layout), "routing_method": "none"} if circuit.layout else {}
    return generate_preset_pass_manager(
        optimization_level=optimization_level, backend=backend, seed_transpiler=seed, **placed
    )


def hardware_figures(circuit: Circuit, backend, optimization_level: int = 1, seed: int = 0) -> dict[str, float]:
    """Figures of the circuit transpiled to ``backend``. Angles are bound to generic random values: the
    figures do not depend on them (barring angles that happen to be 0), and bound circuits transpile fast."""
    rng = np.random.default_rng(seed)
    tqc = transpile_for(
        circuit,
        backend,
        optimization_level,
        seed,
        weights=rng.uniform(0.1, 3.0, circuit.n_weights),
        x=rng.uniform(0.1, 3.0, circuit.n_features),
    )
    return transpiled_figures(tqc, backend, circuit.n_qubits)


def transpiled_figures(tqc, backend, n_qubits: int) -> dict[str, float]:
    """Depth, two-qubit gates and estimated success rate of ``tqc``, a circuit of ``n_qubits`` logical
    qubits already transpiled to ``backend``."""
    target = backend.target
    success, two_qubit = 1.0, 0
    for inst in tqc.data:
        qubits = tuple(tqc.find_bit(q).index for q in inst.qubits)
        two_qubit += len(qubits) == 2
        props = target[inst.operation.name].get(qubits) if inst.operation.name in target else None
        success *= 1.0 - ((props.error or 0.0) if props is not None else 0.0)
    layout = tqc.layout.final_index_layout() if tqc.layout else range(n_qubits)
    for q in layout[:n_qubits]:  # every logical qubit is read out
        props = target["measure"].get((q,)) if "measure" in target else None
        success *= 1.0 - ((props.error or 0.0) if props is not None else 0.0)
    # infidelity = 1 - success rate: a cost to minimise, for Pareto fronts and cost limits
    return {
        "transpiled_depth": float(tqc.depth()),
        "transpiled_two_qubit_gates": float(two_qubit),
        "est_fidelity": success,
        "infidelity": 1.0 - success,
    }
