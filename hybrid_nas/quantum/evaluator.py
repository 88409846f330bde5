"""The QNN evaluator: train a candidate circuit, score it noiselessly and (optionally) under device noise."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.quantum.circuit import to_qasm3, to_qiskit
from hybrid_nas.quantum.data import Task, search_task
from hybrid_nas.quantum.hardware import fake_backend, require_qubits, transpiled_figures
from hybrid_nas.quantum.noise import DeviceRun, active_qubits
from hybrid_nas.quantum.qnode import check_device_trains, probe_circuit
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, accuracy, train


class QNNEvaluator(Evaluator):
    """Each candidate is trained and scored noiselessly on ``training.simulator``. Metrics: ``accuracy``
    (validation, noiseless), the circuit's cost figures (params, gates, two_qubit_gates, depth) and, with
    ``noise`` a fake backend name, ``noisy_accuracy`` (validation, in Aer with that device's noise model,
    transpiled to it at ``optimization_level``; exact density-matrix expectations, or ``shots`` worth of
    shot noise) and its transpiled figures, ``est_fidelity`` and ``infidelity``. On a device layout
    (``space.device``) the circuit is placed on its layout's qubits unrouted, and ``active_qubits`` counts
    the device qubits the transpiled circuit touches (the circuit's own: no SWAP widens it); the physical
    qubits themselves are the architecture's ``layout``."""

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
        holdout: bool = False,
    ):
        if optimization_level not in (0, 1, 2, 3):
            raise ConfigError(f"--optimization-level must be 0, 1, 2 or 3, got {optimization_level}")
        if shots is not None and shots < 1:
            raise ConfigError(f"--shots must be >= 1 (or unset for exact expectation values), got {shots}")
        self.space, self.task_name, self.training = space, task, training
        self.noise, self.label_column, self.optimization_level = noise, label_column, optimization_level
        self.shots, self.holdout = shots, holdout
        search_task(task, label_column, holdout)  # fail now, in the caller, on a missing data set
        if noise:
            require_qubits(space.n_qubits, fake_backend(noise))  # now, not as a failed trial per candidate
        if space.device and space.device.backend != noise:
            raise ConfigError(f"the space's layouts are of {space.device.backend}, the noise is of {noise}")
        if training.on_pennylane:
            check_device_trains(training.simulator, probe_circuit(space))  # likewise
        self.quality = "noisy_accuracy" if noise else "accuracy"

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
            # only when on: a study without it keeps its stored hash
            **({"validation": "less the selection split"} if self.holdout else {}),
        }

    def _train(self, arch: Architecture, seed: int):
        circuit = self.space.build(arch)
        return circuit, train(circuit, self.task, replace(self.training, seed=seed))

    def evaluate(self, arch, seed):
        task = self.task
        circuit, result = self._train(arch, seed)
        val = accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, self.training)
        metrics = {"accuracy": val, **circuit.figures(), "train_seconds": result.seconds}
        if self.noise:
            run = self._device_run(circuit, result.weights, seed)  # one transpile: figures and noisy accuracy
            metrics |= transpiled_figures(run.tqc, fake_backend(self.noise), circuit.n_qubits)
            if circuit.layout is not None:
                metrics["active_qubits"] = float(active_qubits(run.tqc))
            metrics["noisy_accuracy"] = run.accuracy(task.x_val, task.y_val, task.n_classes)
        return metrics

    def _device_run(self, circuit, weights, seed: int) -> DeviceRun:
        return DeviceRun(circuit, weights, fake_backend(self.noise), self.optimization_level, seed, shots=self.shots)

    def artefacts(self, arch: Architecture, seed: int, run_dir: Path) -> dict:
        """Retrain the chosen circuit (same seed: same weights) and write ``best.qasm``, ``best_circuit.png``
        and ``best_weights.npy``; returns its test-set figures."""
        import matplotlib.pyplot as plt  # qiskit draws with pyplot; importing it leaves the backend as it is

        task = self.task
        circuit, result = self._train(arch, seed)
        np.save(run_dir / "best_weights.npy", result.weights)
        (run_dir / "best.qasm").write_text(to_qasm3(circuit, result.weights))
        figure = to_qiskit(circuit, result.weights).draw("mpl", fold=40)
        figure.savefig(run_dir / "best_circuit.png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        test = {
            "test_accuracy": accuracy(circuit, result.weights, task.x_test, task.y_test, task.n_classes, self.training)
        }
        if self.noise:
            run = self._device_run(circuit, result.weights, seed)
            test["noisy_test_accuracy"] = run.accuracy(task.x_test, task.y_test, task.n_classes)
        (run_dir / "best_test.json").write_text(json.dumps(test, indent=2))
        return test

    def score_on(self, arch: Architecture, seed: int, x, y) -> dict:
        """Retrain ``arch`` (its seed: the search's weights) and score it on (x, y): ``accuracy`` and, with
        noise, ``noisy_accuracy``."""
        circuit, result = self._train(arch, seed)
        n_classes = self.task.n_classes
        scores = {"accuracy": accuracy(circuit, result.weights, x, y, n_classes, self.training)}
        if self.noise:
            scores["noisy_accuracy"] = self._device_run(circuit, result.weights, seed).accuracy(x, y, n_classes)
        return scores
