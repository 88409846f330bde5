"""Training a circuit as a QNN classifier: Adam on cross-entropy of the readout logits.

``train`` runs the package's fused simulator; ``train_pennylane`` the same loop through a plain
PennyLane QNode (torch backprop, batch broadcast), the reference the speed benchmark measures against.
Same batches, same initial weights, same loss: their losses agree to rounding.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .circuit import Circuit, to_pennylane
from .data import Task, readout_accuracy, readout_matrix
from .simulator import Simulator, one_thread


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch: int = 64
    lr: float = 0.05
    init_scale: float = math.pi  # initial weights ~ U(-init_scale, init_scale)
    logit_scale: float = 5.0  # <Z> lie in [-1, 1]: scaled so the softmax can become confident
    n_train: int | None = None  # train on the first n_train samples only
    seed: int = 0


@dataclass
class TrainResult:
    weights: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    samples: int = 0

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds else float("nan")


def _batches(n: int, cfg: TrainConfig):
    g = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=g)
        yield from order.split(cfg.batch)


def _fit(n_weights: int, n_qubits: int, task: Task, cfg: TrainConfig, expvals_of, init=None,
         max_steps: int | None = None) -> TrainResult:
    """The loop every path shares; ``expvals_of(weights, index) -> (batch, n_qubits)``. Starts from
    ``init`` weights if given (else random), and stops after ``max_steps`` steps if given."""
    n = len(task.y_train) if cfg.n_train is None else min(cfg.n_train, len(task.y_train))
    g = torch.Generator().manual_seed(cfg.seed)
    weights = ((torch.rand(n_weights, generator=g, dtype=torch.float64) * 2 - 1) * cfg.init_scale).requires_grad_()
    if init is not None:
        weights = torch.tensor(init, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([weights], lr=cfg.lr)
    R = torch.tensor(readout_matrix(n_qubits, task.n_classes)) * cfg.logit_scale
    y = torch.as_tensor(task.y_train[:n])
    result = TrainResult(weights=np.zeros(0))
    if n_weights == 0:  # every slot "none": nothing to train, the encoder alone is scored
        return result
    start = time.perf_counter()
    for index in itertools.islice(_batches(n, cfg), max_steps):
        loss = torch.nn.functional.cross_entropy(expvals_of(weights, index) @ R, y[index])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {len(result.losses)}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.losses.append(loss.item())
        result.samples += len(index)
    result.seconds = time.perf_counter() - start
    result.weights = weights.detach().numpy().copy()
    return result


def train(circuit: Circuit, task: Task, cfg: TrainConfig = TrainConfig(), init=None,
          max_steps: int | None = None) -> TrainResult:
    """Train by the fused simulator; from ``init`` weights and for at most ``max_steps`` steps if given."""
    sim = Simulator(circuit)
    with one_thread():
        encoded = sim.encode(task.x_train)  # data-only: once, not once per step
        return _fit(circuit.n_weights, circuit.n_qubits, task, cfg, lambda w, index: sim.expvals(w, encoded[index]),
                    init, max_steps)


def train_pennylane(circuit: Circuit, task: Task, cfg: TrainConfig = TrainConfig()) -> TrainResult:
    qnode = to_pennylane(circuit, interface="torch", diff_method="backprop")
    x = torch.as_tensor(task.x_train, dtype=torch.float64)
    return _fit(circuit.n_weights, circuit.n_qubits, task, cfg, lambda w, index: torch.stack(qnode(w, x[index]), -1))


def accuracy(circuit: Circuit, weights, x, y, n_classes: int) -> float:
    """Noiseless accuracy of trained ``weights`` on (x, y), by the fused simulator."""
    sim = Simulator(circuit)
    with torch.no_grad(), one_thread():
        return readout_accuracy(sim.expvals(torch.as_tensor(weights), sim.encode(x)).numpy(), y, n_classes)
