"""The quantum HPO target: one fixed circuit (the best of a quantum run, or QuantumNAS's hand-designed
2 x (U3 + CU3 ring) on digits4) trained with a trial's hyperparameters (``TrainConfig`` fields)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path

import yaml

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.layout import layouts_of, parse_subset
from hybrid_nas.quantum.qnode import check_device_trains
from hybrid_nas.quantum.space import CircuitSpace, space_for_task
from hybrid_nas.quantum.training import EXECUTION, TrainConfig, accuracy, train

HYPERPARAMETERS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("seed", *EXECUTION))
_TYPES = {f.name: f.type for f in fields(TrainConfig)}


def _typed(name: str, value):
    """A sampled value as the training field's type (SMAC hands floats and numpy scalars)."""
    if value is None or "str" in str(_TYPES[name]):
        return value
    return int(value) if "int" in str(_TYPES[name]) else float(value)


def circuit_of_run(run_dir: Path) -> tuple[CircuitSpace, Architecture, dict]:
    """The space, best circuit and settings of a ``hybrid-nas quantum`` run directory."""
    best, config = Path(run_dir, "best.json"), Path(run_dir, "config.yaml")
    if not best.is_file() or not config.is_file():
        raise ConfigError(f"{run_dir} is not a quantum run directory (it needs best.json and config.yaml)")
    cfg = yaml.safe_load(config.read_text())
    doc = json.loads(best.read_text())
    if "task" not in cfg or not doc.get("best"):
        raise ConfigError(f"{run_dir} holds no finished quantum run to tune")
    task = load_task(cfg["task"], label_column=cfg.get("label_column"))
    arch = doc["best"]["architecture"]
    # a circuit searched on a device layout: its entanglers follow that layout's couplers
    device = layouts_of(cfg["noise"], [parse_subset(arch["layout"])]) if "layout" in arch else None
    space = space_for_task(task, cfg.get("qubits"), cfg["layers"], cfg["scope"], cfg.get("encoder"), device=device)
    return space, space.validate(arch), cfg


def baseline_circuit(task: str = "digits4") -> tuple[CircuitSpace, Architecture, dict]:
    t = load_task(task)
    space = space_for_task(t, layers=2, encoder=t.encoder)
    return space, space.uniform(2, "u3", "cu3_ring"), {"task": task, "epochs": 15, "batch": 64, "lr": 0.1}


class CircuitTraining(Evaluator):
    """Metrics of one training run: ``accuracy`` (validation: what HPO maximises), ``test_accuracy``
    (held out, for default-vs-tuned reports), ``train_seconds``."""

    name = "circuit-training"
    quality = "accuracy"

    def __init__(
        self, space: CircuitSpace, arch: Architecture, task: str, base: TrainConfig, label_column: str | None = None
    ):
        self.space, self.arch, self.task_name, self.base = space, arch, task, base
        self.label_column = label_column
        self.task = load_task(task, label_column=label_column)
        if base.on_pennylane:
            check_device_trains(base.simulator, space.build(arch))  # before the first trial

    def check(self, names) -> None:
        for name in names:
            if name not in HYPERPARAMETERS:
                raise ConfigError(unknown("quantum training hyperparameter", name, HYPERPARAMETERS))

    def prepare(self, names) -> list[str]:
        """Make the searched names mean something; returns what was changed, for the log."""
        if "momentum" in names and "optimizer" not in names and self.base.optimizer == "adam":
            self.base = replace(self.base, optimizer="sgd")
            return ["momentum is searched and adam has none: the circuits train with sgd (momentum)"]
        return []

    def defaults(self, names) -> dict:
        return {name: getattr(self.base, name) for name in names}

    def meta(self):
        return {
            "name": self.name,
            "task": self.task_name,
            "circuit": self.space.describe(self.arch),
            "base": asdict(self.base),
        }

    def evaluate(self, params, seed):
        self.check(params)
        cfg = replace(self.base, seed=seed, **{k: _typed(k, v) for k, v in params.items()})
        circuit, task = self.space.build(self.arch), self.task
        result = train(circuit, task, cfg)
        return {
            "accuracy": accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, cfg),
            "test_accuracy": accuracy(circuit, result.weights, task.x_test, task.y_test, task.n_classes, cfg),
            "train_seconds": result.seconds,
        }


def target_from_settings(s) -> CircuitTraining:
    """The target of ``hybrid-nas hpo quantum`` (and of the NNI trial entry point): a run's best circuit,
    trained as that run trained its circuits, or the built-in baseline."""
    space, arch, run_cfg = circuit_of_run(s.run_dir) if s.run_dir else baseline_circuit()
    base = TrainConfig(
        **{
            k: run_cfg[k]
            for k in ("epochs", "batch", "lr", "optimizer", "momentum", "n_train", "precision", "device", "simulator")
            if k in run_cfg
        }
    )
    return CircuitTraining(space, arch, run_cfg["task"], base, run_cfg.get("label_column"))
