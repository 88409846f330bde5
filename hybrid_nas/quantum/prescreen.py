"""Stage 1 of the quantum two-stage search on a noisy device: RepCap weighed by the circuit's noise.

"Elivagar: Efficient Quantum Circuit Search for Classification" (2024) ranks untrained candidates by
``RepCap x CNR^alpha``: the representational capacity of the states, weighed by how much of the circuit's
output survives the device's noise (Clifford noise resilience, from Clifford replicas), alpha its
"noise importance". Here the noise factor is the package's tier-2 ``clifford_score`` (the probability a
readout bit keeps its sign across Clifford replicas of the transpiled circuit), so ``repcap_cnr =
repcap x clifford_score ** alpha``; the tier-1 calibration estimate ``est_fidelity`` (and the transpiled
figures) come from the same transpile. Elivagar's experiment scripts set alpha = 0.25 for every data set
(its code's default is 0.5); alpha = 0 is RepCap alone.
"""

from __future__ import annotations

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.space import Architecture
from hybrid_nas.quantum.clifford import clifford_noise_score, transpiled_for_replicas
from hybrid_nas.quantum.hardware import fake_backend, require_qubits, transpiled_figures
from hybrid_nas.quantum.repcap import RepCapEvaluator
from hybrid_nas.quantum.space import CircuitSpace

ELIVAGAR_ALPHA = 0.25


class NoisyRepCapEvaluator(RepCapEvaluator):
    """``RepCapEvaluator``'s figures plus, on the fake backend ``noise``, ``clifford_score`` (``replicas``
    rounded-Clifford replicas x ``shots``, weights drawn per trial), ``est_fidelity``, ``infidelity``,
    ``transpiled_depth`` and ``transpiled_two_qubit_gates``; its quality is ``repcap_cnr``. A circuit of a
    device layout is transpiled onto its own qubits, any other where the transpiler places it."""

    name = "repcap_cnr"
    quality = "repcap_cnr"

    def __init__(
        self,
        space: CircuitSpace,
        task: str,
        noise: str,
        alpha: float = ELIVAGAR_ALPHA,
        label_column: str | None = None,
        optimization_level: int = 1,
        replicas: int = 16,
        shots: int = 256,
        **repcap,
    ):
        super().__init__(space, task, label_column, **repcap)
        if not alpha >= 0:
            raise ConfigError(f"--cnr-alpha must be at least 0, got {alpha}")
        require_qubits(space.n_qubits, fake_backend(noise))  # now, not as a failed trial per candidate
        self.noise, self.alpha, self.optimization_level = noise, alpha, optimization_level
        self.replicas, self.shots = replicas, shots

    def meta(self) -> dict:
        extra = {"noise": self.noise, "alpha": self.alpha, "optimization_level": self.optimization_level}
        return super().meta() | extra | {"replicas": self.replicas, "shots": self.shots}

    def evaluate(self, arch: Architecture, seed: int) -> dict[str, float]:
        metrics = super().evaluate(arch, seed)
        circuit, backend, seed = self.space.build(arch), fake_backend(self.noise), seed % 2**31
        layout = list(circuit.layout) if circuit.layout is not None else None
        tqc = transpiled_for_replicas(circuit, backend, None, layout, self.optimization_level, seed)
        score = clifford_noise_score(tqc, backend, replicas=self.replicas, shots=self.shots, seed=seed)
        metrics |= transpiled_figures(tqc, backend, circuit.n_qubits)
        metrics["clifford_score"] = score.score
        metrics["repcap_cnr"] = metrics["repcap"] * score.score**self.alpha
        return metrics
