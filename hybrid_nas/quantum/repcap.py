"""Training-free circuit quality: representational capacity (RepCap), after "Elivagar: Efficient Quantum
Circuit Search for Classification" (2024), and kernel-target alignment of the same states.

A few training samples per class go through the circuit under many random weight draws in [0, 2 pi). For
each draw the samples' similarity matrix is thresholded at its mean off-diagonal entry (similar / not
similar) and the thresholded matrices are averaged over the draws; RepCap compares that matrix with the
ideal one (1 where two samples share a class) in a squared distance whose cross-class entries weigh
1/(C-1) (so that both halves of the matrix count alike), normalised by the number of entries:
``RepCap = 1 - sum(W * (ideal - mean_thresholded))^2 / n^2``. 1: the states separate the classes under
almost every draw. A circuit whose states do not depend on the data gets the floor, ``1 - 1/C`` for C
balanced classes (no pair is above the mean, so only the same-class entries count, each missed).

Similarity: the overlap of the readout's states. The readout measures <Z> of each qubit, so it sees each
qubit's reduced state; the similarity is Tr(rho_i rho_j) of the one-qubit reduced states, averaged over
the qubits (the paper's choice for measured qubits). The whole state's overlap |<psi_i|psi_j>|^2 is kept as
``full=True``, but it cannot rank this space's circuits: a unitary after the last data gate leaves every
overlap unchanged, so every circuit of one encoder would score alike.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.quantum.circuit import Circuit
from hybrid_nas.quantum.data import Task, search_task
from hybrid_nas.quantum.simulator import Simulator, threads_for
from hybrid_nas.quantum.space import CircuitSpace

TIE = 1e-9  # overlaps equal to the mean up to rounding are not above it (a data-free circuit's are all equal)


def class_samples(task: Task, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` training samples of each class (all of a smaller class), drawn by ``seed``, by class."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(task.n_classes):
        rows = np.flatnonzero(task.y_train == c)
        picks.append(np.sort(rng.choice(rows, min(per_class, len(rows)), replace=False)))
    index = np.concatenate(picks)
    return task.x_train[index], task.y_train[index]


def similarities(circuit: Circuit, x: np.ndarray, draws: int, seed: int = 0, full: bool = False) -> torch.Tensor:
    """(draws, samples, samples): the states' similarity under each of ``draws`` weight draws in [0, 2 pi),
    all samples of a draw in one batched simulator call."""
    weights = np.random.default_rng(seed).uniform(0, 2 * math.pi, (draws, circuit.n_weights))
    sim = Simulator(circuit, batch=len(x))
    n = circuit.n_qubits
    out = []
    with torch.no_grad(), threads_for(len(x) * 2**n):
        encoded = sim.encode(x)
        for w in weights:
            states = sim.states(w, encoded)  # (samples, 2**n)
            if full:
                out.append((states @ states.conj().T).abs() ** 2)
                continue
            # each qubit's reduced state (samples, 2, 2), flattened: Tr(rho_i rho_j) = <vec rho_i, vec rho_j>
            rhos = []
            for q in range(n):
                s = states.reshape(len(x), 2**q, 2, -1)
                rhos.append(torch.einsum("iajb,iakb->ijk", s, s.conj()).reshape(len(x), 4))
            r = torch.stack(rhos)  # (qubits, samples, 4)
            out.append((r @ r.conj().transpose(1, 2)).real.mean(0))
    return torch.stack(out).double().cpu()


def ideal_matrix(y: np.ndarray) -> np.ndarray:
    return (y[:, None] == y[None, :]).astype(float)


def repcap(similarity: torch.Tensor | np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """RepCap of (draws, n, n) similarity matrices of samples labelled ``y``."""
    s = np.asarray(similarity, dtype=float)
    n = s.shape[-1]
    off_mean = (s.sum((1, 2)) - np.trace(s, axis1=1, axis2=2)) / (n * (n - 1))
    above = (s > off_mean[:, None, None] + TIE).mean(0)
    ideal = ideal_matrix(y)
    weight = ideal + (1 - ideal) / max(n_classes - 1, 1)
    return float(1 - np.sum((weight * (ideal - above)) ** 2) / n**2)


def kta(kernel: np.ndarray, y: np.ndarray) -> float:
    """Centred kernel-target alignment <HKH, HYH>_F / (|HKH| |HYH|), Y = 1 within a class and 0 across, H
    the centring matrix: 1 for a kernel that is the class structure, 0 for a constant one (a data-free circuit)."""
    h = np.eye(len(y)) - 1 / len(y)
    k, t = h @ kernel @ h, h @ ideal_matrix(y) @ h
    norm = np.linalg.norm(k) * np.linalg.norm(t)
    return float(np.sum(k * t) / norm) if norm > TIE else 0.0


def circuit_scores(
    circuit: Circuit, task: Task, per_class: int = 16, draws: int = 32, seed: int = 0, sample_seed: int = 0
) -> dict[str, float]:
    """``repcap`` and ``kta`` of ``circuit`` on ``task``: samples drawn by ``sample_seed``, weights by ``seed``."""
    x, y = class_samples(task, per_class, sample_seed)
    s = similarities(circuit, x, draws, seed)
    return {"repcap": repcap(s, y, task.n_classes), "kta": kta(s.mean(0).numpy(), y)}


class RepCapEvaluator(Evaluator):
    """Scores a candidate without training: ``repcap`` (its quality) and ``kta``, plus the circuit's cost
    figures (params, gates, two_qubit_gates, depth), as the QNN evaluator reports them. The samples are the
    same for every candidate (drawn once by ``sample_seed``); the weight draws follow the trial's seed."""

    name = "repcap"
    quality = "repcap"

    def __init__(
        self,
        space: CircuitSpace,
        task: str = "digits4",
        label_column: str | None = None,
        per_class: int = 16,
        draws: int = 32,
        sample_seed: int = 0,
    ):
        if per_class < 2 or draws < 1:
            raise ConfigError(f"RepCap needs >= 2 samples per class and >= 1 draw, got {per_class} and {draws}")
        self.space, self.task_name, self.label_column = space, task, label_column
        self.per_class, self.draws, self.sample_seed = per_class, draws, sample_seed
        search_task(task, label_column)  # fail now, in the caller, on a missing data set

    def meta(self) -> dict:
        return {
            "name": self.name,
            "task": self.task_name,
            "label_column": self.label_column,
            "per_class": self.per_class,
            "draws": self.draws,
            "sample_seed": self.sample_seed,
        }

    def evaluate(self, arch: Architecture, seed: int) -> dict[str, float]:
        circuit = self.space.build(arch)
        task = search_task(self.task_name, self.label_column)
        scores = circuit_scores(circuit, task, self.per_class, self.draws, seed % 2**32, self.sample_seed)
        return {**scores, **circuit.figures()}
