"""One-shot search (QuantumNAS's SuperCircuit): one bank of weights holds a parameter for every option of
every decision; it is trained once, a sampled sub-circuit per step, and any circuit of the space is then
scored with the weights it inherits, with no training of its own or after a few fine-tuning steps."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from hybrid_nas.engine.devices import resolve_device
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.data import Task
from hybrid_nas.quantum.simulator import Encoded, threads_for
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, TrainResult, _fit, accuracy, train


def train_supercircuit(space: CircuitSpace, task: Task, cfg: TrainConfig = TrainConfig()) -> TrainResult:
    """Uniform single-path training: each step samples an architecture and trains its share of the bank."""
    rng = np.random.default_rng(cfg.seed)
    size = space.shared_offsets()[("size",)]
    encoded: dict[str, Encoded] = {}  # per data part (encoder, interleaved rows): shared by sub-circuits
    simulator = lru_cache(maxsize=1024)(cfg.package_simulator)  # a drawn sub-circuit comes again: plan it once

    def expvals_of(weights, index):
        circuit = space.build(space.sample(rng), shared=True)
        while circuit.n_params == 0:  # an all-"none" draw has nothing to train: draw again
            circuit = space.build(space.sample(rng), shared=True)
        sim = simulator(circuit)
        if sim.data_key not in encoded:
            encoded[sim.data_key] = sim.encode(task.x_train)
        return sim.expvals(weights, encoded[sim.data_key][index])

    with threads_for(cfg.batch * 2**space.n_qubits):
        return _fit(size, space.n_qubits, task, cfg, expvals_of, device=resolve_device(cfg.device))


def inherit(
    space: CircuitSpace, bank, arch, task: Task | None = None, steps: int = 0, cfg: TrainConfig = TrainConfig()
) -> tuple[Circuit, np.ndarray]:
    """(sub-circuit, weights): the circuit of ``arch`` indexing the SuperCircuit ``bank``, with the bank's
    weights, or with them fine-tuned for ``steps`` Adam steps on ``task``'s training split."""
    circuit = space.build(arch, shared=True)
    bank = np.asarray(bank, float)[: circuit.n_weights]
    if not steps or circuit.n_params == 0:
        return circuit, bank
    assert task is not None, "fine-tuning inherited weights needs a task"
    return circuit, train(circuit, task, cfg, init=bank, max_steps=steps).weights


def inherited_accuracy(space: CircuitSpace, bank, arch, x, y, n_classes: int) -> float:
    """Accuracy of ``arch`` with the weights it inherits from the SuperCircuit ``bank``."""
    return accuracy(*inherit(space, bank, arch), x, y, n_classes)


class SuperCircuitEvaluator(Evaluator):
    """Scores a circuit by its inherited weights (validation accuracy), optionally after ``finetune_steps``
    Adam steps from them (``training``'s lr and batch), plus its cost figures."""

    name = "supercircuit"

    def __init__(
        self,
        space: CircuitSpace,
        task: Task,
        bank: np.ndarray,
        meta: dict | None = None,
        finetune_steps: int = 0,
        training: TrainConfig = TrainConfig(),
    ):
        self.space, self.task, self.bank, self._meta = space, task, np.asarray(bank), meta or {}
        self.finetune_steps, self.training = finetune_steps, training

    def meta(self):
        return {"name": self.name, **self._meta, "finetune_steps": self.finetune_steps}

    def evaluate(self, arch, seed):
        t = self.task
        circuit, weights = inherit(
            self.space, self.bank, arch, t, self.finetune_steps, replace(self.training, seed=seed)
        )
        # the shared sub-circuit has the same gates and parameter count as the stand-alone one
        return {
            "accuracy": accuracy(circuit, weights, t.x_val, t.y_val, t.n_classes, self.training),
            **circuit.figures(),
        }
