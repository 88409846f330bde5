"""A hybrid model as one torch module: front-end -> circuit (or a classical stand-in) -> readout head.

The front-end's outputs become the encoder's angles through ``pi * sigmoid`` (bounded, smooth), and the
circuit runs on the package's simulator, whose gradients reach the data as well as the weights, so the
whole model trains end to end with one optimizer. ``predict`` takes raw features: the task's
standardisation travels with the model.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.data import readout_matrix
from hybrid_nas.quantum.simulator import Encoded
from hybrid_nas.quantum.training import TrainConfig

ACTIVATION_MODULES = {"relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "gelu": nn.GELU}


def angles(z: torch.Tensor) -> torch.Tensor:
    """Any real values into rotation angles in (0, pi)."""
    return math.pi * torch.sigmoid(z)


class FrontEnd(nn.Module):
    """An MLP from the task's features to the encoder's angles."""

    def __init__(self, n_in: int, widths: list[int], activation: str, n_out: int):
        super().__init__()
        layers: list[nn.Module] = []
        for width in widths:
            layers += [nn.Linear(n_in, width), ACTIVATION_MODULES[activation]()]
            n_in = width
        self.net = nn.Sequential(*layers, nn.Linear(n_in, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return angles(self.net(x))


class Projection(nn.Module):
    """No front-end: the features' first principal components (of the training split), whitened, as
    angles. Nothing in it is trained."""

    components: torch.Tensor  # buffers
    centre: torch.Tensor

    def __init__(self, x_train: np.ndarray, n_out: int):
        super().__init__()
        centred = x_train - x_train.mean(0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        k = min(n_out, len(s))
        components = np.zeros((n_out, x_train.shape[1]))  # beyond the feature count: a constant angle
        components[:k] = vt[:k] / np.maximum(s[:k] / math.sqrt(len(x_train)), 1e-12)[:, None]
        self.register_buffer("components", torch.tensor(components, dtype=torch.float32))
        self.register_buffer("centre", torch.tensor(x_train.mean(0), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return angles((x - self.centre) @ self.components.T)


class CircuitLayer(nn.Module):
    """The circuit on the package's simulator: angles (batch, features) -> <Z_q> (batch, qubits)."""

    def __init__(self, circuit: Circuit, cfg: TrainConfig, generator: torch.Generator):
        super().__init__()
        self.circuit = circuit
        init = (torch.rand(circuit.n_weights, generator=generator, dtype=torch.float64) * 2 - 1) * cfg.init_scale
        self.weights = nn.Parameter(init)
        self.simulator = cfg.package_simulator(circuit)

    @property
    def n_out(self) -> int:
        return self.circuit.n_qubits

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """The states live on the simulator's device (a GPU when asked); the classical layers stay put."""
        expvals = self.simulator.expvals(self.weights, Encoded(a.to(self.simulator.device, torch.float64)))
        return expvals.to(a.device, a.dtype)


class ClassicalStandIn(nn.Module):
    """The circuit's place taken by classical layers of about its parameter count: angles -> tanh(...) in
    [-1, 1] per qubit, as <Z_q> would be. One dense layer, or two with a hidden width of at least the qubit
    count (never a bottleneck narrower than what it stands in for), whichever count is nearer the circuit's;
    the dense layer when tied. A circuit of few parameters so gets a somewhat larger classical stand-in."""

    def __init__(self, n_in: int, n_out: int, params: int):
        super().__init__()
        self.n_out = n_out
        dense = n_in * n_out + n_out
        hidden = max(n_out, round((params - n_out) / (n_in + n_out + 1)))  # n_in -> hidden -> n_out
        if abs(hidden * (n_in + n_out + 1) + n_out - params) < abs(dense - params):
            self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out), nn.Tanh())
        else:
            self.net = nn.Sequential(nn.Linear(n_in, n_out), nn.Tanh())

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a)


class QubitReadout(nn.Module):
    """Qubit c scores class c (two classes: each half of the qubits), scaled so the softmax can be sure."""

    R: torch.Tensor  # a buffer

    def __init__(self, n_qubits: int, n_classes: int, scale: float):
        super().__init__()
        self.register_buffer("R", torch.tensor(readout_matrix(n_qubits, n_classes) * scale, dtype=torch.float32))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return e @ self.R


def make_head(readout: str, n_qubits: int, n_classes: int, cfg: TrainConfig) -> nn.Module:
    return QubitReadout(n_qubits, n_classes, cfg.logit_scale) if readout == "qubits" else nn.Linear(n_qubits, n_classes)


class HybridModel(nn.Module):
    """front -> middle -> head; ``forward`` takes standardised features, ``predict`` raw ones."""

    middle: CircuitLayer | ClassicalStandIn
    mean: torch.Tensor  # buffers
    scale: torch.Tensor

    def __init__(self, front: nn.Module, middle: CircuitLayer | ClassicalStandIn, head: nn.Module, mean, scale):
        super().__init__()
        self.front, self.middle, self.head = front, middle, head
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))  # the task's standardisation
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.middle(self.front(x)))

    @property
    def circuit(self) -> Circuit | None:
        return self.middle.circuit if isinstance(self.middle, CircuitLayer) else None

    @torch.no_grad()
    def predict(self, x_raw) -> np.ndarray:
        """Class labels of raw (unstandardised) feature rows."""
        x = (torch.as_tensor(np.asarray(x_raw), dtype=torch.float32) - self.mean) / self.scale
        self.eval()
        return self(x).argmax(-1).numpy()

    def figures(self) -> dict[str, float]:
        """Cost figures of both halves: trainable parameters (classical, circuit, total), the classical
        layers' FLOPs per sample (2 per multiply-add), and the circuit's gates, two-qubit gates and depth."""
        circuit = self.circuit
        classical = sum(p.numel() for name, p in self.named_parameters() if not name.startswith("middle.weights"))
        flops = sum(2 * m.in_features * m.out_features for m in self.modules() if isinstance(m, nn.Linear))
        flops += 2 * self.front.components.numel() if isinstance(self.front, Projection) else 0
        figures = {
            "classical_params": float(classical),
            "circuit_params": float(circuit.n_params if circuit else 0),
            "flops": float(flops),
            "qubits": float(self.middle.n_out),
        }
        figures["params"] = figures["classical_params"] + figures["circuit_params"]
        if circuit is not None:
            figures |= {k: v for k, v in circuit.figures().items() if k != "params"}
        return figures
