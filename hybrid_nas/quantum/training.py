"""Training a circuit as a QNN classifier: Adam (or SGD with momentum, or RMSprop) on cross-entropy of the
readout logits.

``TrainConfig.simulator`` says what runs the circuit: ``hybrid_nas``, the package's simulator (its plan
chosen per circuit: ``hybrid_nas.quantum.simulator``), or any installed PennyLane device, through a QNode
(``hybrid_nas.quantum.qnode``). ``train_pennylane`` is the loop on ``default.qubit``, the reference the speed
benchmarks measure against. Same batches, same initial weights, same loss: their losses agree to rounding.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.data import Task, readout_accuracy, readout_matrix
from hybrid_nas.quantum.qnode import PACKAGE_SIMULATOR, QNodeExpvals, check_simulator, float64
from hybrid_nas.quantum.simulator import Simulator, threads_for
from hybrid_nas.quantum.simulator.statevector import readout_loss

OPTIMIZERS = {
    # fused: one kernel for every parameter's update, not ~10 ops each (a 4-qubit step is ~50 us of it)
    "adam": lambda params, cfg: torch.optim.Adam(params, lr=cfg.lr, fused=params[0].device.type in ("cpu", "cuda")),
    "sgd": lambda params, cfg: torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum),
    "rmsprop": lambda params, cfg: torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum),
}
EXECUTION = ("precision", "device", "gradient", "memory_budget", "simulator")  # how training runs, not what it learns


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch: int = 64
    lr: float = 0.05
    optimizer: str = "adam"  # adam | sgd | rmsprop
    momentum: float = 0.9  # sgd's and rmsprop's momentum (adam has its own betas)
    init_scale: float = math.pi  # initial weights ~ U(-init_scale, init_scale)
    logit_scale: float = 5.0  # <Z> lie in [-1, 1]: scaled so the softmax can become confident
    n_train: int | None = None  # train on the first n_train samples only
    seed: int = 0
    precision: str = "double"  # complex128 states; "single": complex64 (faster, agrees to ~1e-6)
    device: str = "cpu"  # cpu | cuda | cuda:N | mps: where the states live
    gradient: str = "auto"  # auto | backprop | buffered | adjoint (auto: kept states while they fit memory_budget)
    memory_budget: int | None = None  # bytes a gradient's kept states may take (default: half the free memory)
    simulator: str = PACKAGE_SIMULATOR  # or a PennyLane device name: default.qubit, lightning.qubit, ...

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(unknown("optimizer", self.optimizer, OPTIMIZERS))
        check_simulator(self.simulator)
        if self.on_pennylane:
            # precision, device and gradient choose how the package's simulator runs; a QNode runs as its
            # device does (complex128 for PennyLane's own; lightning.gpu for a GPU)
            if self.precision != "double":
                raise ConfigError(
                    f"--precision {self.precision} is the package simulator's; --simulator {self.simulator} "
                    "runs in double precision: leave --precision double"
                )
            if self.device != "cpu":
                raise ConfigError(
                    f"--device {self.device} places the package simulator's states; --simulator "
                    f"{self.simulator} runs where that PennyLane device runs: leave --device cpu"
                )

    @property
    def on_pennylane(self) -> bool:
        return self.simulator != PACKAGE_SIMULATOR

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return OPTIMIZERS[self.optimizer](params, self)

    def package_simulator(self, circuit: Circuit) -> Simulator:
        """The package's simulator as these settings run ``circuit`` on it."""
        return Simulator(circuit, self.batch, self.precision, self.device, self.gradient, self.memory_budget)


@dataclass
class TrainResult:
    weights: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    samples: int = 0

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds else float("nan")


def batches(n: int, cfg: TrainConfig):
    """Shuffled index batches for ``cfg.epochs`` epochs, fixed by ``cfg.seed``."""
    g = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=g)
        yield from order.split(cfg.batch)


def _fit(
    n_weights: int,
    n_qubits: int,
    task: Task,
    cfg: TrainConfig,
    expvals_of,
    init=None,
    max_steps: int | None = None,
    device: torch.device | str = "cpu",
    loss_of=None,
) -> TrainResult:
    """The loop every path shares; ``expvals_of(weights, index) -> (batch, n_qubits)``, or ``loss_of(weights,
    index, readout, labels)`` where the simulator computes the loss itself. Starts from ``init`` weights if
    given (else random), and stops after ``max_steps`` steps if given."""
    loss_of = loss_of or (lambda w, index, readout, labels: readout_loss(expvals_of(w, index), readout, labels))
    n = len(task.y_train) if cfg.n_train is None else min(cfg.n_train, len(task.y_train))
    g = torch.Generator().manual_seed(cfg.seed)  # on the CPU: the same weights whatever the device
    weights = (torch.rand(n_weights, generator=g, dtype=torch.float64) * 2 - 1) * cfg.init_scale
    if init is not None:
        weights = torch.tensor(init, dtype=torch.float64)
    weights = weights.to(device).requires_grad_()
    opt = cfg.make_optimizer([weights])
    R = torch.tensor(readout_matrix(n_qubits, task.n_classes), device=device) * cfg.logit_scale
    y = torch.as_tensor(task.y_train[:n], device=device)
    result = TrainResult(weights=np.zeros(0))
    if n_weights == 0:  # every slot "none": nothing to train, the encoder alone is scored
        return result
    start = time.perf_counter()
    for index in itertools.islice(batches(n, cfg), max_steps):
        loss = loss_of(weights, index, R, y[index])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {len(result.losses)}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.losses.append(loss.item())
        result.samples += len(index)
    result.seconds = time.perf_counter() - start
    result.weights = weights.detach().cpu().numpy().copy()
    return result


def train(
    circuit: Circuit, task: Task, cfg: TrainConfig = TrainConfig(), init=None, max_steps: int | None = None
) -> TrainResult:
    """Train on ``cfg.simulator``; from ``init`` weights and for at most ``max_steps`` steps if given."""
    if cfg.on_pennylane:
        qnode, x = QNodeExpvals(circuit, cfg.simulator), torch.as_tensor(task.x_train, dtype=torch.float64)
        with float64(), threads_for(cfg.batch * 2**circuit.n_qubits):
            return _fit(
                circuit.n_weights, circuit.n_qubits, task, cfg, lambda w, index: qnode(w, x[index]), init, max_steps
            )
    sim = cfg.package_simulator(circuit)
    with threads_for(sim.batch * 2**circuit.n_qubits):
        encoded = sim.encode(task.x_train)  # the data encoder: once per data set where it fits, not per step
        return _fit(
            circuit.n_weights,
            circuit.n_qubits,
            task,
            cfg,
            None,
            init,
            max_steps,
            sim.device,
            lambda w, index, readout, labels: sim.loss(w, encoded[index], readout, labels),
        )


def train_pennylane(circuit: Circuit, task: Task, cfg: TrainConfig = TrainConfig()) -> TrainResult:
    """``train`` through a plain PennyLane ``default.qubit`` QNode (torch backprop, batch broadcast)."""
    return train(circuit, task, replace(cfg, simulator="default.qubit", precision="double", device="cpu"))


def predict_expvals(circuit: Circuit, weights, x, cfg: TrainConfig = TrainConfig()) -> np.ndarray:
    """Noiseless <Z_q> (samples, n_qubits) of trained ``weights`` on ``x``, in chunks of ``cfg.batch``, on
    ``cfg.simulator``."""
    if cfg.on_pennylane:
        qnode, x = QNodeExpvals(circuit, cfg.simulator), torch.as_tensor(x, dtype=torch.float64)
        w = torch.as_tensor(np.asarray(weights), dtype=torch.float64)
        with torch.no_grad(), float64(), threads_for(cfg.batch * 2**circuit.n_qubits):
            return torch.cat([qnode(w, x[i : i + cfg.batch]) for i in range(0, len(x), cfg.batch)]).numpy()
    sim = cfg.package_simulator(circuit)
    with torch.no_grad(), threads_for(sim.batch * 2**circuit.n_qubits):
        encoded = sim.encode(x)
        chunks = [sim.expvals(weights, encoded[i : i + sim.batch]) for i in range(0, len(encoded), sim.batch)]
        return torch.cat(chunks).double().cpu().numpy()


def accuracy(circuit: Circuit, weights, x, y, n_classes: int, cfg: TrainConfig = TrainConfig()) -> float:
    """Noiseless accuracy of trained ``weights`` on (x, y), on ``cfg.simulator``."""
    return readout_accuracy(predict_expvals(circuit, weights, x, cfg), y, n_classes)
