"""The QNN evaluator: train a candidate circuit, score it noiselessly and (optionally) under device noise."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.stats import wilson_halfwidth
from hybrid_nas.quantum.circuit import to_qasm3, to_qiskit
from hybrid_nas.quantum.clifford import clifford_noise_score
from hybrid_nas.quantum.data import Task, search_task, stratified_head
from hybrid_nas.quantum.hardware import fake_backend, require_qubits, transpiled_figures
from hybrid_nas.quantum.noise import DeviceRun, active_qubits
from hybrid_nas.quantum.qnode import check_device_trains, probe_circuit
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, accuracy, train

CLIFFORD_SHOTS = 256  # per replica run: a score's shot error ~0.003 at 4 qubits, 0.001 at 20


class QNNEvaluator(Evaluator):
    """Each candidate is trained and scored noiselessly on ``training.simulator``. Metrics: ``accuracy``
    (validation, noiseless) and the circuit's cost figures (params, gates, two_qubit_gates, depth); with
    ``noise`` a fake backend name, also its figures transpiled to it at ``optimization_level`` and its noise
    in three tiers, from cheap to exact, each reported so that a run shows how they agree:
    1. ``est_fidelity`` (and ``infidelity``), the success probability the calibration predicts;
    2. ``clifford_score``, ``clifford_replicas`` Clifford replicas of the transpiled circuit on Aer's
       stabilizer method (``clifford.py``: polynomial in the qubits, so it holds at 20-100; a density matrix
       up to 6 active qubits, where it is the faster);
    3. ``noisy_accuracy`` in Aer with the device's noise model (exact, or ``shots`` worth of shot noise) on
       ``noisy_samples`` validation samples (None: all; 0: none, then the search ranks by the noiseless
       accuracy and only the exported best is simulated, on ``noisy_test_samples`` test samples), with
       ``noisy_accuracy_ci``, the half-width of its 95 % Wilson interval: at 10-20 qubits a sample is a
       noisy simulation of seconds, so the subset's size is the price of tier 3's precision.

    On a device layout (``space.device``) the circuit is placed on its layout's qubits unrouted, and
    ``active_qubits`` counts the device qubits the transpiled circuit touches (the circuit's own: no SWAP
    widens it); the physical qubits themselves are the architecture's ``layout``. ``holdout``: the
    validation split less the selection split ``--rescore-top`` re-scores on."""

    name = "qnn"

    def __init__(
        self,
        space: CircuitSpace,
        task: str = "digits4",
        training: TrainConfig = TrainConfig(),
        noise: str | None = None,
        label_column: str | None = None,
        optimization_level: int = 1,
        shots: int | None = None,
        clifford_replicas: int = 8,
        noisy_samples: int | None = None,
        noisy_test_samples: int | None = None,
        holdout: bool = False,
    ):
        if optimization_level not in (0, 1, 2, 3):
            raise ConfigError(f"--optimization-level must be 0, 1, 2 or 3, got {optimization_level}")
        if shots is not None and shots < 1:
            raise ConfigError(f"--shots must be >= 1 (or unset for exact expectation values), got {shots}")
        self.space, self.task_name, self.training = space, task, training
        self.noise, self.label_column, self.optimization_level = noise, label_column, optimization_level
        if clifford_replicas < 0 or (noisy_samples is not None and noisy_samples < 0):
            raise ConfigError(
                "--clifford-replicas and --noisy-samples must be >= 0 (0: off), "
                f"got {clifford_replicas} and {noisy_samples}"
            )
        if noisy_test_samples is not None and noisy_test_samples < 1:
            raise ConfigError(f"--noisy-test-samples must be >= 1 (or unset: all), got {noisy_test_samples}")
        self.shots, self.clifford_replicas, self.noisy_samples = shots, clifford_replicas, noisy_samples
        self.noisy_test_samples, self.holdout = noisy_test_samples, holdout
        search_task(task, label_column, holdout)  # fail now, in the caller, on a missing data set
        if noise:
            require_qubits(space.n_qubits, fake_backend(noise))  # now, not as a failed trial per candidate
        if space.device and space.device.backend != noise:
            raise ConfigError(f"the space's layouts are of {space.device.backend}, the noise is of {noise}")
        if training.on_pennylane:
            check_device_trains(training.simulator, probe_circuit(space))  # likewise
        self.quality = "noisy_accuracy" if noise and noisy_samples != 0 else "accuracy"

    @property
    def task(self) -> Task:
        return search_task(self.task_name, self.label_column, self.holdout)

    def meta(self):
        return {
            "name": self.name,
            "task": self.task_name,
            "label_column": self.label_column,
            # not the simulator: a resume may change it (QuantumSettings.resumable)
            "training": {k: v for k, v in asdict(self.training).items() if k != "simulator"},
            "noise": self.noise,
            "optimization_level": self.optimization_level,
            "shots": self.shots,
            "clifford_replicas": self.clifford_replicas,
            "noisy_samples": self.noisy_samples,
            # the noise tiers whose rank agreement summary.md reports (engine/report.py)
            "agreement": self.tiers(),
            # only when on: a study without it keeps its stored hash
            **({"validation": "less the selection split"} if self.holdout else {}),
        }

    def tiers(self) -> list[str]:
        """The noise tiers each candidate gets (none without noise)."""
        if not self.noise:
            return []
        return (
            ["est_fidelity"]
            + ["clifford_score"] * (self.clifford_replicas > 0)
            + ["noisy_accuracy"] * (self.noisy_samples != 0)
        )

    def trained(self, arch: Architecture, seed: int):
        """The candidate's circuit and its training result, as ``evaluate`` trains it."""
        circuit = self.space.build(arch)
        return circuit, train(circuit, self.task, replace(self.training, seed=seed))

    def evaluate(self, arch, seed):
        task = self.task
        circuit, result = self.trained(arch, seed)
        val = accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, self.training)
        metrics = {"accuracy": val, **circuit.figures(), "train_seconds": result.seconds}
        if self.noise:
            run = self.device_run(circuit, result.weights, seed)  # one transpile: figures and noisy accuracy
            metrics |= transpiled_figures(run.tqc, fake_backend(self.noise), circuit.n_qubits)
            if circuit.layout is not None:
                metrics["active_qubits"] = float(active_qubits(run.tqc))
            if self.clifford_replicas:
                score = clifford_noise_score(
                    run.tqc, fake_backend(self.noise), replicas=self.clifford_replicas, shots=CLIFFORD_SHOTS, seed=seed
                )
                metrics["clifford_score"] = score.score
            if self.noisy_samples != 0:
                metrics |= self._noisy(run, task.x_val, task.y_val, "noisy_accuracy", self.noisy_samples)
        return metrics

    def _noisy(self, run: DeviceRun, x, y, name: str, samples: int | None) -> dict[str, float]:
        """Tier 3 on the first ``samples`` (classes balanced; None: all) of ``x``: ``name``, ``name_ci`` (95 %
        Wilson half-width) and ``name_samples``."""
        keep = stratified_head(y, samples or len(y))
        value = run.accuracy(x[keep], y[keep], self.task.n_classes)
        return {name: value, f"{name}_ci": wilson_halfwidth(value, len(keep)), f"{name}_samples": float(len(keep))}

    def device_run(self, circuit, weights, seed: int) -> DeviceRun:
        """The trained circuit transpiled to the backend, ready to score under its noise (tier 3)."""
        return DeviceRun(circuit, weights, fake_backend(self.noise), self.optimization_level, seed, shots=self.shots)

    def artefacts(self, arch: Architecture, seed: int, run_dir: Path) -> dict:
        """Retrain the chosen circuit (same seed: same weights) and write ``best.qasm``, ``best_circuit.png``
        and ``best_weights.npy``; returns its test-set figures."""
        import matplotlib.pyplot as plt  # qiskit draws with pyplot; importing it leaves the backend as it is

        task = self.task
        circuit, result = self.trained(arch, seed)
        np.save(run_dir / "best_weights.npy", result.weights)
        (run_dir / "best.qasm").write_text(to_qasm3(circuit, result.weights))
        figure = to_qiskit(circuit, result.weights).draw("mpl", fold=40)
        figure.savefig(run_dir / "best_circuit.png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        test = {
            "test_accuracy": accuracy(circuit, result.weights, task.x_test, task.y_test, task.n_classes, self.training)
        }
        if self.noise:
            run = self.device_run(circuit, result.weights, seed)
            test |= self._noisy(run, task.x_test, task.y_test, "noisy_test_accuracy", self.noisy_test_samples)
        (run_dir / "best_test.json").write_text(json.dumps(test, indent=2))
        return test

    def score_on(self, arch: Architecture, seed: int, x, y) -> dict:
        """Retrain ``arch`` (its seed: the search's weights) and score it on (x, y): ``accuracy`` and, where the
        candidates get tier 3, ``noisy_accuracy`` (on as many samples, with its interval)."""
        circuit, result = self.trained(arch, seed)
        scores = {"accuracy": accuracy(circuit, result.weights, x, y, self.task.n_classes, self.training)}
        if self.noise and self.noisy_samples != 0:
            run = self.device_run(circuit, result.weights, seed)
            scores |= self._noisy(run, x, y, "noisy_accuracy", self.noisy_samples)
        return scores
