"""One-shot search (QuantumNAS's SuperCircuit): one bank of weights holds a parameter for every option of
every decision; it is trained once, a sampled sub-circuit per step, and any circuit of the space is then
scored with the weights it inherits, with no training of its own."""

from __future__ import annotations

import numpy as np
import torch

from hybrid_nas.evaluator import Evaluator

from .data import Task
from .simulator import Simulator, one_thread
from .space import CircuitSpace
from .training import TrainConfig, TrainResult, _fit, accuracy


def train_supercircuit(space: CircuitSpace, task: Task, cfg: TrainConfig = TrainConfig()) -> TrainResult:
    """Uniform single-path training: each step samples an architecture and trains its share of the bank."""
    rng = np.random.default_rng(cfg.seed)
    size = space.shared_offsets()[("size",)]
    encoded: dict[str, torch.Tensor] = {}  # per encoder: the data part is the same for every sub-circuit

    def expvals_of(weights, index):
        circuit = space.build(space.sample(rng), shared=True)
        while circuit.n_params == 0:  # an all-"none" draw has nothing to train: draw again
            circuit = space.build(space.sample(rng), shared=True)
        sim = Simulator(circuit)
        key = repr(sim.encoder)
        if key not in encoded:
            encoded[key] = sim.encode(task.x_train)
        return sim.expvals(weights, encoded[key][index])

    with one_thread():
        return _fit(size, space.n_qubits, task, cfg, expvals_of)


def inherited_accuracy(space: CircuitSpace, bank, arch, x, y, n_classes: int) -> float:
    """Accuracy of ``arch`` with the weights it inherits from the SuperCircuit ``bank``."""
    return accuracy(space.build(arch, shared=True), bank, x, y, n_classes)


class SuperCircuitEvaluator(Evaluator):
    """Scores a circuit by its inherited weights (validation accuracy) plus its cost figures."""

    name = "supercircuit"

    def __init__(self, space: CircuitSpace, task: Task, bank: np.ndarray, meta: dict | None = None):
        self.space, self.task, self.bank, self._meta = space, task, np.asarray(bank), meta or {}

    def meta(self):
        return {"name": self.name, **self._meta}

    def evaluate(self, arch, seed):
        t = self.task
        return {"accuracy": inherited_accuracy(self.space, self.bank, arch, t.x_val, t.y_val, t.n_classes),
                **self.space.build(arch).figures()}
