"""Accuracy under a real device's noise: Qiskit Aer with the noise model of a qiskit-ibm-runtime fake backend.

The whole data set is one job: the circuit is transpiled once with the trained weights bound and the data
features left as parameters, and Aer's primitive takes one PUB with a row of feature values per sample.
(One job per sample was 24x slower for 128 samples.)

- Without shots: exact expectation values of the noisy state (EstimatorV2, density matrix).
- With ``shots``: what a device run of that many shots per sample would read: every logical qubit is
  measured, SamplerV2 draws the shots, and <Z_q> is the mean of (1 - 2 bit_q) over them, so its spread
  is binomial, (1 - <Z>^2) / shots, and it stays in [-1, 1].
- Aer's method follows the size (``aer_method``): a density matrix (16 x 4^n bytes) while the circuit's
  active qubits fit ``DENSITY_MATRIX_MAX_QUBITS`` (and, with shots, while it is the cheaper), noisy
  statevector trajectories (one per shot, so shots are needed) beyond, and matrix-product-state
  trajectories past ``STATEVECTOR_MAX_QUBITS``.
- A circuit placed on a device layout (``Circuit.layout``) is simulated on just its qubits: the transpiled
  circuit is renumbered onto them and the noise model is built from their calibration alone. The same
  errors on the same gates, but Aer no longer carries a 127-156-qubit device: a 4-qubit circuit's 30
  samples took 4 s on FakeTorino's full width.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.quantum.circuit import Circuit, to_qiskit, z_observables
from hybrid_nas.quantum.data import readout_accuracy
from hybrid_nas.quantum.hardware import pass_manager

# 4^12 x 16 B = 256 MiB per density matrix, one per parallel experiment; at 14 qubits it is 4 GiB
DENSITY_MATRIX_MAX_QUBITS = 12
# noisy trajectories of 2-layer u3 + cu3 circuits on device subsets, 256 shots, seconds a sample: at 12
# qubits statevector 2.2, matrix product state 4.3; at 16 qubits 22 and 13; at 20 statevector > 200, MPS 2.7
# (the circuits' entanglement stays low: ring-like couplers, few layers)
STATEVECTOR_MAX_QUBITS = 14


@lru_cache(maxsize=8)
def device_noise_model(backend):
    """Built once per backend: NoiseModel.from_backend took 0.11 s, a tenth of a whole trial."""
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(backend)


def active_qubits(qc) -> int:
    """Qubits some instruction of ``qc`` touches (Aer simulates only those)."""
    return len({qc.find_bit(q).index for inst in qc.data for q in inst.qubits})


def aer_method(n_active: int, noisy: bool, shots: int | None) -> str:
    """statevector without noise. With noise: a density matrix (its cost grows as 4^n) while it fits and,
    with shots, while 2^n <= shots; noisy statevector trajectories (one per shot, 2^n each) beyond, and
    matrix-product-state trajectories (cost by entanglement, not 2^n) past ``STATEVECTOR_MAX_QUBITS``.
    Measured on 10 active qubits (digits10 on FakeGuadalupeV2, 2 layers): density matrix 3.5 s a sample
    whatever the shots, trajectories 0.95 s at 256 shots and 3.8 s at 1024."""
    if not noisy:
        return "statevector"
    if n_active <= DENSITY_MATRIX_MAX_QUBITS and (not shots or 2**n_active <= shots):
        return "density_matrix"
    if not shots:
        raise ConfigError(
            f"exact noisy expectation values of {n_active} qubits need a density matrix of "
            f"{16 * 4**n_active / 2**30:.0f} GiB: give --shots N (noisy trajectories)"
        )
    return "statevector" if n_active <= STATEVECTOR_MAX_QUBITS else "matrix_product_state"


@lru_cache(maxsize=64)
def _layout_noise_model(backend, qubits: tuple[int, ...]):
    """The noise model of ``qubits`` of ``backend`` alone, renumbered 0..k-1 in their order: Aer's own
    ``NoiseModel.from_backend`` reading a target cut down to them (it reads only these four fields)."""
    from types import SimpleNamespace

    from qiskit.transpiler import Target
    from qiskit_aer.noise import NoiseModel

    full = backend.target
    index = {q: i for i, q in enumerate(qubits)}
    target = Target(num_qubits=len(qubits), dt=full.dt, qubit_properties=[full.qubit_properties[q] for q in qubits])
    for name in full.operation_names:
        props = full[name]
        if None in props:  # a global or variadic instruction (delay on any qubit, control flow)
            target.add_instruction(full.operation_from_name(name), name=name)
        elif kept := {tuple(index[q] for q in qargs): p for qargs, p in props.items() if set(qargs) <= index.keys()}:
            target.add_instruction(full.operation_from_name(name), kept, name=name)
    return NoiseModel.from_backend(
        SimpleNamespace(version=2, operation_names=list(full.operation_names), target=target, dt=full.dt)
    )


def _on_layout(tqc, qubits: tuple[int, ...]):
    """``tqc`` (transpiled, device-wide) renumbered onto ``qubits``: physical ``qubits[i]`` becomes qubit i."""
    from qiskit import QuantumCircuit

    index = {q: i for i, q in enumerate(qubits)}
    out = QuantumCircuit(len(qubits), global_phase=tqc.global_phase)
    for inst in tqc.data:
        physical = [tqc.find_bit(q).index for q in inst.qubits]
        if any(q not in index for q in physical):
            raise RuntimeError(f"{inst.operation.name} on qubits {physical} leaves the layout {qubits}")
        out.append(inst.operation, [out.qubits[index[q]] for q in physical])
    return out


def _backend_options(noise_model, method: str, seed: int) -> dict:
    options = {"method": method, "seed_simulator": seed}
    if noise_model is not None:
        options["noise_model"] = noise_model
    return options


def _transpiled(circuit: Circuit, weights, backend, optimization_level: int, seed: int):
    """(transpiled circuit, its parameter columns, the physical qubit of each logical one)."""
    qc = to_qiskit(circuit, weights=weights)  # features stay parameters x[i]
    if backend is None:
        tqc, layout = qc, list(range(circuit.n_qubits))
    else:
        tqc = pass_manager(circuit, backend, optimization_level, seed).run(qc)
        layout = list(tqc.layout.final_index_layout())[: circuit.n_qubits]
    return tqc, [p.index for p in tqc.parameters], layout


def _observables(n_qubits: int, tqc, transpiled: bool) -> list:
    """<Z_q> of every logical qubit, mapped to the transpiled layout, shape (qubits, 1): broadcast against
    the samples."""
    observables = z_observables(n_qubits)
    return [[o.apply_layout(tqc.layout) if transpiled else o] for o in observables]


def _pub(circuit: Circuit, weights, backend, optimization_level: int, seed: int):
    """(transpiled circuit, its observables, its parameter columns): an EstimatorV2 PUB but the values."""
    tqc, columns, _ = _transpiled(circuit, weights, backend, optimization_level, seed)
    return tqc, _observables(circuit.n_qubits, tqc, backend is not None), columns


class DeviceRun:
    """Trained ``weights`` of ``circuit`` transpiled once for ``backend`` (None: noiseless, untranspiled);
    each data set is then one batched job on that transpiled circuit (``tqc``), exact or of ``shots``."""

    def __init__(
        self,
        circuit: Circuit,
        weights,
        backend=None,
        optimization_level: int = 1,
        seed: int = 0,
        method: str | None = None,
        shots: int | None = None,
    ):
        from qiskit import ClassicalRegister

        self.tqc, self._columns, layout = _transpiled(circuit, weights, backend, optimization_level, seed)
        self.n_qubits, self.shots, self.seed = circuit.n_qubits, shots, seed
        self.method = method or aer_method(active_qubits(self.tqc), backend is not None, shots)
        # what Aer runs: tqc itself, or, placed on a layout, tqc on just the layout's qubits
        on_layout = backend is not None and circuit.layout is not None
        simulated, noise_model = self.tqc, None
        if backend is not None and circuit.layout is not None:
            simulated, layout = _on_layout(self.tqc, circuit.layout), list(range(circuit.n_qubits))
            noise_model = _layout_noise_model(backend, circuit.layout)
            self._columns = [p.index for p in simulated.parameters]
        elif backend is not None:
            noise_model = device_noise_model(backend)
        self._simulated = simulated
        options = _backend_options(noise_model, self.method, seed)
        if shots:
            from qiskit_aer.primitives import SamplerV2

            self._measured = simulated.copy()
            bits = ClassicalRegister(circuit.n_qubits, "z")
            self._measured.add_register(bits)
            for q, physical in enumerate(layout):
                self._measured.measure(physical, bits[q])  # clbit q holds logical qubit q
            self._sampler = SamplerV2(seed=seed, options={"backend_options": options})
        else:
            from qiskit_aer.primitives import EstimatorV2

            self._observables = _observables(circuit.n_qubits, simulated, backend is not None and not on_layout)
            self._estimator = EstimatorV2(
                options={"backend_options": options, "default_precision": 0.0, "run_options": {"seed_simulator": seed}}
            )

    def _job(self, values: np.ndarray) -> np.ndarray:
        """<Z_q> (rows, qubits) for rows of feature values in the transpiled circuit's parameter order."""
        if not self.shots:
            return self._estimator.run([(self._simulated, self._observables, values)]).result()[0].data.evs.T
        bits = self._sampler.run([(self._measured, values)], shots=self.shots).result()[0].data.z
        return np.stack([bits.expectation_values(o) for o in z_observables(self.n_qubits)], -1)

    def expvals(self, x, batched: bool = True) -> np.ndarray:
        """<Z_q> per sample (samples, n_qubits). ``batched=False`` runs one job per sample: only for the
        benchmark that measures what batching saves."""
        values = np.asarray(x, float)[:, self._columns]
        if batched:
            return self._job(values)
        return np.concatenate([self._job(row[None]) for row in values])

    def accuracy(self, x, y, n_classes: int) -> float:
        return readout_accuracy(self.expvals(x), y, n_classes)


def noisy_expvals(
    circuit: Circuit,
    weights,
    x,
    backend=None,
    method: str | None = None,
    shots: int | None = None,
    optimization_level: int = 1,
    seed: int = 0,
    batched: bool = True,
) -> np.ndarray:
    """<Z_q> per sample (samples, n_qubits) under ``backend``'s noise (noiseless if None), transpiled to it."""
    return DeviceRun(circuit, weights, backend, optimization_level, seed, method, shots).expvals(x, batched)


def noisy_accuracy(circuit: Circuit, weights, x, y, n_classes: int, backend, **kwargs) -> float:
    return readout_accuracy(noisy_expvals(circuit, weights, x, backend, **kwargs), y, n_classes)
