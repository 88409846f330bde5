"""RepCap and kernel-target alignment: training-free scores of a circuit's states on a task."""

import pickle

import numpy as np
import pytest
import torch

from hybrid_nas.quantum.circuit import Circuit, Op
from hybrid_nas.quantum.data import Task, load_task
from hybrid_nas.quantum.repcap import RepCapEvaluator, circuit_scores, class_samples, repcap, similarities
from hybrid_nas.quantum.space import space_for_task


def separable(per_class: int = 20, seed: int = 0) -> Task:
    """Two classes far apart: features near 0 for class 0, near pi for class 1."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(0, 0.2, (per_class, 2)), np.pi - rng.uniform(0, 0.2, (per_class, 2))])
    y = np.repeat([0, 1], per_class)
    return Task("separable", x, y, x, y, x, y, n_classes=2, n_qubits=2, encoder="rx")


ENCODER = (Op("rx", (0,), (("x", 0),)), Op("rx", (1,), (("x", 1),)))
TRAINABLE = (Op("ry", (0,), (("w", 0),)), Op("ry", (1,), (("w", 1),)), Op("cnot", (0, 1)), Op("ry", (1,), (("w", 2),)))


def test_a_circuit_that_ignores_the_data_gets_the_floor():
    blind = Circuit(2, TRAINABLE, n_features=2)  # no data gate: every sample has the same state
    for task in (separable(), load_task("iris")):
        c = task.n_classes
        circuit = blind if c == 2 else Circuit(c, TRAINABLE, n_features=task.n_features)
        scores = circuit_scores(circuit, task, per_class=8, draws=4, seed=1)
        assert scores["repcap"] == pytest.approx(1 - 1 / c)
        assert scores["kta"] == pytest.approx(0, abs=1e-9)


def test_an_encoder_that_separates_the_classes_scores_near_one():
    circuit = Circuit(2, ENCODER + TRAINABLE[:2], n_features=2)  # single-qubit rotations keep the separation
    scores = circuit_scores(circuit, separable(), per_class=8, draws=8, seed=0)
    assert scores["repcap"] > 0.99
    assert scores["kta"] > 0.9
    # the same circuit on classes it cannot tell apart (labels shuffled within the samples) scores far lower
    x, y = class_samples(separable(), 8)
    shuffled = np.random.default_rng(0).permutation(y)
    assert repcap(similarities(circuit, x, 8), shuffled, 2) < scores["repcap"] - 0.2


def test_whole_state_overlaps_ignore_the_gates_after_the_data_but_the_readout_states_do_not():
    x, _ = class_samples(load_task("moons"), 6)
    encoder_only = Circuit(2, ENCODER, n_features=2)
    deeper = Circuit(2, ENCODER + TRAINABLE, n_features=2)
    full_a, full_b = similarities(encoder_only, x, 3, full=True), similarities(deeper, x, 3, full=True)
    assert torch.allclose(full_a, full_b, atol=1e-10)  # why RepCap compares the qubits' reduced states
    assert not torch.allclose(similarities(encoder_only, x, 3), similarities(deeper, x, 3), atol=1e-3)


def test_scores_are_deterministic_given_the_seed():
    task = load_task("moons")
    circuit = Circuit(2, ENCODER + TRAINABLE, n_features=2)
    a = circuit_scores(circuit, task, per_class=8, draws=6, seed=3)
    assert circuit_scores(circuit, task, per_class=8, draws=6, seed=3) == a
    assert circuit_scores(circuit, task, per_class=8, draws=6, seed=4) != a


def test_the_evaluator_reports_repcap_and_the_circuit_figures_and_pickles():
    task = load_task("moons")
    space = space_for_task(task, layers=2)
    evaluator = RepCapEvaluator(space, "moons", per_class=6, draws=4)
    arch = space.sample(np.random.default_rng(0))
    metrics = evaluator.evaluate(arch, seed=5)
    assert evaluator.quality == "repcap"
    assert set(metrics) == {"repcap", "kta", "params", "gates", "two_qubit_gates", "depth"}
    assert {k: metrics[k] for k in ("params", "gates", "two_qubit_gates", "depth")} == space.build(arch).figures()
    assert 0.5 <= metrics["repcap"] <= 1
    assert pickle.loads(pickle.dumps(evaluator)).evaluate(arch, seed=5) == metrics
