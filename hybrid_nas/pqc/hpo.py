"""The quantum HPO target: one fixed circuit (the best of a quantum run, or QuantumNAS's hand-designed
2 x (U3 + CU3 ring) on digits4) trained with a trial's hyperparameters (``TrainConfig`` fields)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path

import yaml

from hybrid_nas.errors import ConfigError, unknown
from hybrid_nas.evaluator import Evaluator
from hybrid_nas.space import Architecture

from .data import load_task
from .space import CircuitSpace, space_for_task
from .training import EXECUTION, TrainConfig, accuracy, train

HYPERPARAMETERS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("seed", *EXECUTION))
_INTEGERS = ("epochs", "batch", "n_train")


def circuit_of_run(run_dir: Path) -> tuple[CircuitSpace, Architecture, dict]:
    """The space, best circuit and configuration of a ``hybrid-nas quantum`` run directory."""
    best, config = Path(run_dir, "best.json"), Path(run_dir, "config.yaml")
    if not best.is_file() or not config.is_file():
        raise ConfigError(f"{run_dir} is not a quantum run directory (it needs best.json and config.yaml)")
    cfg = yaml.safe_load(config.read_text())
    doc = json.loads(best.read_text())
    if "task" not in cfg or not doc.get("best"):
        raise ConfigError(f"{run_dir} holds no finished quantum run to tune")
    task = load_task(cfg["task"], label_column=cfg.get("label_column"))
    space = space_for_task(task, cfg.get("qubits"), cfg["layers"], cfg["scope"], cfg.get("encoder"))
    return space, space.validate(doc["best"]["architecture"]), cfg


def baseline_circuit(task: str = "digits4") -> tuple[CircuitSpace, Architecture, dict]:
    t = load_task(task)
    space = space_for_task(t, layers=2, encoder=t.encoder)
    return space, space.uniform(2, "u3", "cu3_ring"), {"task": task, "epochs": 15, "batch": 64, "lr": 0.1}


class CircuitTraining(Evaluator):
    """Metrics of one training run: ``accuracy`` (validation: what HPO maximises), ``test_accuracy``
    (held out, for default-vs-tuned reports), ``train_seconds``."""

    name = "circuit-training"
    quality = "accuracy"

    def __init__(self, space: CircuitSpace, arch: Architecture, task: str, base: TrainConfig,
                 label_column: str | None = None):
        self.space, self.arch, self.task_name, self.base = space, arch, task, base
        self.label_column = label_column
        self.task = load_task(task, label_column=label_column)

    def check(self, names) -> None:
        for name in names:
            if name not in HYPERPARAMETERS:
                raise ConfigError(unknown("quantum training hyperparameter", name, HYPERPARAMETERS))

    def defaults(self, names) -> dict:
        return {name: getattr(self.base, name) for name in names}

    def meta(self):
        return {"name": self.name, "task": self.task_name, "circuit": self.space.describe(self.arch),
                "base": asdict(self.base)}

    def evaluate(self, params, seed):
        self.check(params)
        cfg = replace(self.base, seed=seed, **{k: v if v is None else int(v) if k in _INTEGERS else float(v)
                                               for k, v in params.items()})
        circuit, task = self.space.build(self.arch), self.task
        result = train(circuit, task, cfg)
        return {"accuracy": accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, cfg),
                "test_accuracy": accuracy(circuit, result.weights, task.x_test, task.y_test, task.n_classes, cfg),
                "train_seconds": result.seconds}


def target_from_config(cfg: dict) -> CircuitTraining:
    """The target of ``hybrid-nas hpo quantum`` (and of the NNI trial entry point)."""
    space, arch, run_cfg = circuit_of_run(cfg["run_dir"]) if cfg.get("run_dir") else baseline_circuit()
    base = TrainConfig(epochs=run_cfg.get("epochs", 15), batch=run_cfg.get("batch", 64), lr=run_cfg.get("lr", 0.1),
                       n_train=run_cfg.get("n_train"))
    return CircuitTraining(space, arch, run_cfg["task"], base, run_cfg.get("label_column"))
