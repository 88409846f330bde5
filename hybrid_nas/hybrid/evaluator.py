"""The hybrid evaluator: train a front-end + circuit + head end to end and score it (noiseless and, with a
fake backend, noisy); for the chosen model, the artefacts and the controls beside it."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from functools import lru_cache
from pathlib import Path

import torch

from hybrid_nas.engine.errors import ConfigError, SpaceError
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.hybrid.data import Features, load_features
from hybrid_nas.hybrid.space import HybridSpace
from hybrid_nas.hybrid.training import KINDS, train_and_score
from hybrid_nas.quantum.training import TrainConfig


@lru_cache(maxsize=4)
def task_features(name: str, label_column: str | None) -> Features:
    return load_features(name, seed=0, label_column=label_column)  # one fixed split for every trial and control


class HybridEvaluator(Evaluator):
    """Metrics: ``accuracy`` (validation) and ``test_accuracy`` (never used to choose: it draws the test
    figure of every trial in the report), ``params`` (classical + circuit), ``classical_params``,
    ``circuit_params``, ``flops``, the circuit's ``gates``, ``two_qubit_gates``, ``depth``, ``qubits``;
    with ``noise`` (a fake backend), ``noisy_accuracy`` and the transpiled figures."""

    name = "hybrid"

    def __init__(
        self,
        space: HybridSpace,
        task: str,
        training: TrainConfig,
        noise: str | None = None,
        label_column: str | None = None,
        optimization_level: int = 1,
        shots: int | None = None,
    ):
        self.space, self.task_name, self.training, self.label_column = space, task, training, label_column
        self.noise = {"backend": noise, "optimization_level": optimization_level, "shots": shots} if noise else None
        data = task_features(task, label_column)  # fail now, in the caller, on a missing data set
        if data.n_classes != space.n_classes:
            raise ConfigError(f"task {task!r} has {data.n_classes} classes, the space was made for {space.n_classes}")
        if noise:
            from hybrid_nas.quantum.hardware import fake_backend, require_qubits

            require_qubits(space.circuit_space.n_qubits, fake_backend(noise))
        self.quality = "noisy_accuracy" if noise else "accuracy"

    @property
    def data(self) -> Features:
        return task_features(self.task_name, self.label_column)

    def setup(self) -> None:
        task_features(self.task_name, self.label_column)

    def meta(self):
        return {
            "name": self.name,
            "task": self.task_name,
            "label_column": self.label_column,
            "training": asdict(self.training),
            "noise": self.noise,
        }

    def score(self, kind: str, arch: Architecture, seed: int, test: bool = True):
        """(trained model, figures) of the model ``kind`` of ``arch`` trained under ``seed``."""
        return train_and_score(kind, self.space, arch, self.data, replace(self.training, seed=seed), self.noise, test)

    def evaluate(self, arch, seed):
        conflict = self.space.conflict(arch)
        if conflict:
            raise SpaceError(conflict)
        return self.score("hybrid", arch, seed)[1]

    def artefacts(self, arch: Architecture, seed: int, run_dir: Path) -> dict:
        """Retrain the chosen model (same seed: same weights) and write ``best.pt`` (the torch module:
        ``torch.load(path, weights_only=False).predict(raw_features)``), ``best.qasm`` (its circuit with the
        trained weights; the angles stay inputs) and ``best_test.json``; train the controls the same way.
        Returns ``{"test": ..., "controls": {kind: figures}}``."""
        from hybrid_nas.quantum.circuit import to_qasm3

        model, figures = self.score("hybrid", arch, seed)
        torch.save(model, run_dir / "best.pt")
        (run_dir / "best.qasm").write_text(to_qasm3(model.circuit, model.middle.weights.detach().numpy()))
        controls = {}
        for kind in KINDS:
            if kind != "hybrid":
                built = self.space.without_entanglers(arch) if kind == "no_entanglement" else arch
                controls[kind] = {
                    "what": KINDS[kind],
                    "description": self.space.describe(built),
                    **self.score(kind, arch, seed)[1],
                }
        test = {k: figures[k] for k in ("test_accuracy", "noisy_test_accuracy") if k in figures}
        (run_dir / "best_test.json").write_text(json.dumps(test, indent=2))
        return {"test": test, "best_figures": figures, "controls": controls}
