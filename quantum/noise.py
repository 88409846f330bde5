"""Accuracy under a real device's noise: Qiskit Aer with the noise model of a qiskit-ibm-runtime fake backend.

The whole data set is one job: the circuit is transpiled once with the trained weights bound and the data
features left as parameters, and Aer's EstimatorV2 takes one PUB with a row of feature values per sample.
(One job per sample was 24x slower for 128 samples; ../shared/notes/dependencies.md.)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .circuit import Circuit, to_qiskit, z_observables
from .data import readout_accuracy


@lru_cache(maxsize=8)
def _noise_model(backend):
    """Built once per backend: NoiseModel.from_backend took 0.11 s, a tenth of a whole trial."""
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(backend)


def _estimator(backend, method: str, shots: int | None, seed: int):
    from qiskit_aer.primitives import EstimatorV2

    backend_options = {"method": method, "seed_simulator": seed}
    if backend is not None:
        backend_options["noise_model"] = _noise_model(backend)
    # shots=None: exact expectation values of the (noisy) density matrix; else the shot noise of `shots`
    precision = 0.0 if not shots else 1.0 / np.sqrt(shots)
    return EstimatorV2(options={"backend_options": backend_options, "default_precision": precision,
                                "run_options": {"seed_simulator": seed}})


def _pub(circuit: Circuit, weights, backend, optimization_level: int, seed: int):
    from qiskit.transpiler import generate_preset_pass_manager

    qc = to_qiskit(circuit, weights=weights)  # features stay parameters x[i]
    if backend is None:
        tqc, observables = qc, z_observables(circuit.n_qubits)
    else:
        tqc = generate_preset_pass_manager(optimization_level=optimization_level, backend=backend,
                                           seed_transpiler=seed).run(qc)
        observables = [o.apply_layout(tqc.layout) for o in z_observables(circuit.n_qubits)]
    columns = [p.index for p in tqc.parameters]  # the transpiled circuit's parameter order
    return tqc, [[o] for o in observables], columns  # shape (qubits, 1): broadcast against the samples


class DeviceRun:
    """Trained ``weights`` of ``circuit`` transpiled once for ``backend`` (None: noiseless, untranspiled);
    each data set is then one batched job on that transpiled circuit (``tqc``)."""

    def __init__(self, circuit: Circuit, weights, backend=None, optimization_level: int = 1, seed: int = 0,
                 method: str = "density_matrix", shots: int | None = None):
        self.tqc, self._observables, self._columns = _pub(circuit, weights, backend, optimization_level, seed)
        self._estimator = _estimator(backend, method, shots, seed)

    def expvals(self, x, batched: bool = True) -> np.ndarray:
        """<Z_q> per sample (samples, n_qubits). ``batched=False`` runs one job per sample: only for the
        benchmark that measures what batching saves."""
        values = np.asarray(x, float)[:, self._columns]
        if batched:
            return self._estimator.run([(self.tqc, self._observables, values)]).result()[0].data.evs.T
        return np.stack([self._estimator.run([(self.tqc, self._observables, row)]).result()[0].data.evs[:, 0]
                         for row in values])

    def accuracy(self, x, y, n_classes: int) -> float:
        return readout_accuracy(self.expvals(x), y, n_classes)


def noisy_expvals(circuit: Circuit, weights, x, backend=None, method: str = "density_matrix",
                  shots: int | None = None, optimization_level: int = 1, seed: int = 0,
                  batched: bool = True) -> np.ndarray:
    """<Z_q> per sample (samples, n_qubits) under ``backend``'s noise (noiseless if None), transpiled to it."""
    return DeviceRun(circuit, weights, backend, optimization_level, seed, method, shots).expvals(x, batched)


def noisy_accuracy(circuit: Circuit, weights, x, y, n_classes: int, backend, **kwargs) -> float:
    return readout_accuracy(noisy_expvals(circuit, weights, x, backend, **kwargs), y, n_classes)
