"""Building, training and scoring hybrid models: the searched model and its controls, all the same way."""

from __future__ import annotations

import time

import numpy as np
import torch

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.space import Architecture
from hybrid_nas.hybrid.data import Features
from hybrid_nas.hybrid.model import CircuitLayer, ClassicalStandIn, FrontEnd, HybridModel, Projection, make_head
from hybrid_nas.hybrid.space import HybridSpace
from hybrid_nas.quantum.simulator import threads_for
from hybrid_nas.quantum.training import TrainConfig, batches

# What each model keeps of the searched architecture:
KINDS = {
    "hybrid": "the searched model",
    "classical_only": "the front-end and head, the circuit replaced by classical layers of its parameter count",
    "circuit_only": "the circuit and head on the features' principal components, no front-end",
    "no_entanglement": "the searched model with every entangler removed",
}


def make_model(kind: str, space: HybridSpace, arch: Architecture, data: Features, cfg: TrainConfig) -> HybridModel:
    """A fresh model of ``kind`` (see ``KINDS``) for ``arch``; its initial weights follow ``cfg.seed`` alone."""
    if kind not in KINDS:
        raise ConfigError(unknown("model kind", kind, KINDS))
    if kind == "no_entanglement":
        arch = space.without_entanglers(arch)
    circuit = space.circuit(arch)
    with torch.random.fork_rng():  # nn.Linear draws from the global generator: seed it, then restore it
        torch.manual_seed(cfg.seed)
        front: FrontEnd | Projection
        middle: ClassicalStandIn | CircuitLayer
        if kind == "circuit_only":
            front = Projection(data.x_train, circuit.n_features)
        else:
            front = FrontEnd(
                data.n_features,
                space.front.widths(space.part(arch, "front")),
                arch["front.activation"],
                circuit.n_features,
            )
        if kind == "classical_only":
            middle = ClassicalStandIn(circuit.n_features, circuit.n_qubits, circuit.n_params)
        else:
            middle = CircuitLayer(circuit, cfg, torch.Generator().manual_seed(cfg.seed))
        head = make_head(arch["head.readout"], circuit.n_qubits, data.n_classes, cfg)
    return HybridModel(front, middle, head, data.mean, data.scale)


def fit(model: HybridModel, data: Features, cfg: TrainConfig) -> dict[str, float]:
    """Cross-entropy by ``cfg``'s optimizer over all of the model's parameters at once; returns the final
    loss and the seconds spent. A non-finite loss raises."""
    n = len(data.y_train) if cfg.n_train is None else min(cfg.n_train, len(data.y_train))
    x, y = torch.as_tensor(data.x_train[:n]), torch.as_tensor(data.y_train[:n])
    opt = cfg.make_optimizer(list(model.parameters()))
    start, loss = time.perf_counter(), torch.tensor(float("nan"))
    model.train()
    with threads_for(cfg.batch * 2**model.middle.n_out):
        for step, index in enumerate(batches(n, cfg)):
            loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at step {step}")
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {"loss": loss.item(), "train_seconds": time.perf_counter() - start}


@torch.no_grad()
def accuracy(model: HybridModel, x: np.ndarray, y: np.ndarray) -> float:
    """Noiseless accuracy on standardised features."""
    model.eval()
    with threads_for(len(x) * 2**model.middle.n_out):
        return float((model(torch.as_tensor(x)).argmax(-1).numpy() == y).mean())


class NoisyRun:
    """A trained model's circuit transpiled once for a fake backend; the front-end runs on the CPU, its
    angles become the circuit's parameters, and a whole split is one batched Aer job under the device's
    noise; the head reads the noisy expectation values."""

    def __init__(self, model: HybridModel, backend_name: str, optimization_level: int, seed: int, shots: int | None):
        from hybrid_nas.quantum.hardware import fake_backend, transpiled_figures
        from hybrid_nas.quantum.noise import DeviceRun

        backend = fake_backend(backend_name)
        self.model, circuit = model, model.circuit
        assert circuit is not None and isinstance(model.middle, CircuitLayer), "a classical model has no circuit"
        self.run = DeviceRun(
            circuit, model.middle.weights.detach().numpy(), backend, optimization_level, seed, shots=shots
        )
        self.figures = transpiled_figures(self.run.tqc, backend, circuit.n_qubits)

    @torch.no_grad()
    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        self.model.eval()
        a = self.model.front(torch.as_tensor(x)).double().numpy()
        expvals = torch.as_tensor(self.run.expvals(a), dtype=torch.float32)
        return float((self.model.head(expvals).argmax(-1).numpy() == y).mean())


def train_and_score(
    kind: str,
    space: HybridSpace,
    arch: Architecture,
    data: Features,
    cfg: TrainConfig,
    noise: dict | None = None,
    test: bool = True,
) -> tuple[HybridModel, dict[str, float]]:
    """(trained model, its figures): validation (and test) accuracy, the noisy ones where ``noise`` gives
    the backend (``{"backend": name, "optimization_level": 1, "shots": None}``) and the model has a circuit,
    and the cost figures of both halves."""
    model = make_model(kind, space, arch, data, cfg)
    figures = fit(model, data, cfg) | model.figures()
    figures["accuracy"] = accuracy(model, data.x_val, data.y_val)
    if test:
        figures["test_accuracy"] = accuracy(model, data.x_test, data.y_test)
    if noise and model.circuit is not None:
        run = NoisyRun(model, noise["backend"], noise.get("optimization_level", 1), cfg.seed, noise.get("shots"))
        figures |= run.figures
        figures["noisy_accuracy"] = run.accuracy(data.x_val, data.y_val)
        if test:
            figures["noisy_test_accuracy"] = run.accuracy(data.x_test, data.y_test)
    return model, figures
