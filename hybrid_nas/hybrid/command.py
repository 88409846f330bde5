"""``hybrid-nas hybrid``: its settings and the run it makes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.jobs import SearchJob, StudyResult, StudySpec
from hybrid_nas.engine.registry import Command, SpaceKind, register, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields, at_least, defaults_from, setting
from hybrid_nas.hybrid.data import TASK_NAMES
from hybrid_nas.quantum.command import TrainingFields

if TYPE_CHECKING:
    from hybrid_nas.hybrid.space import HybridSpace


def _ints(name: str, values: list) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ConfigError(
            f"--{name} must be whole numbers separated by commas, got {','.join(map(str, values))}"
        ) from None


@defaults_from("hybrid.yaml")
class HybridSettings(StudyFields, TrainingFields, Settings):
    task: str = setting(TASK_NAMES)
    label_column: str | None = setting("label column of a csv:PATH task (null: the last)")
    qubits: list = setting(
        "qubit counts the search may choose (the front-end hands on one angle per qubit)", group="space"
    )
    hidden: list = setting("numbers of hidden layers of the front-end", group="space")
    widths: list = setting("widths of a hidden layer", group="space")
    activations: list = setting("activations of the front-end: relu | tanh | silu | gelu", group="space")
    encoders: list = setting("encoders of the angles: rx | rx_reupload | ryzxy | ryzxy_reupload | zz", group="space")
    scope: str = setting("gate-set scope of the circuit (configs/quantum_scopes.yaml)", group="space")
    layers: int = setting("deepest circuit searched", group="space")
    readouts: list = setting("readout heads: qubits (qubit c scores class c) | dense", group="space")
    cost: str = setting("cost figure: params | classical_params | flops | gates | two_qubit_gates | depth")
    T: float | None = setting("cost limit (constrained, mnasnet and pareto objectives)")

    def check(self):
        self.check_study()
        self.check_training()
        for name in ("qubits", "hidden", "widths"):
            object.__setattr__(self, name, _ints(name, getattr(self, name)))
        at_least(self, 1, "layers")
        for name in ("qubits", "hidden", "widths", "activations", "encoders", "readouts"):
            if not getattr(self, name):
                raise ConfigError(f"--{name} needs at least one option")
        for name in ("qubits", "widths"):
            if min(getattr(self, name)) < 1:
                raise ConfigError(f"--{name} must be at least 1 each, got {','.join(map(str, getattr(self, name)))}")
        if min(self.hidden) < 0:
            raise ConfigError(f"--hidden must be at least 0 each, got {','.join(map(str, self.hidden))}")
        from hybrid_nas.hybrid.space import READOUTS

        for r in self.readouts:
            if r not in READOUTS:
                raise ConfigError(unknown("readout", r, READOUTS))

    def default_dir(self) -> Path:
        return Path(f"runs/hybrid-{self.task.replace(':', '_').replace('/', '_')}-s{self.seed}")


def setup(s: HybridSettings):
    """(space, evaluator, objective) of hybrid settings."""
    from hybrid_nas.engine.objectives import make_objective
    from hybrid_nas.hybrid.evaluator import HybridEvaluator, task_features
    from hybrid_nas.hybrid.space import FrontEndSpace, HeadSpace, HybridSpace
    from hybrid_nas.quantum.space import CircuitSpace

    data = task_features(s.task, s.label_column)
    space = HybridSpace(
        data.n_classes,
        FrontEndSpace(tuple(sorted(set(s.qubits))), s.hidden, s.widths, s.activations),
        CircuitSpace(max(s.qubits), s.layers, s.scope, tuple(s.encoders)),
        HeadSpace(s.readouts),
    )
    evaluator = HybridEvaluator(space, s.task, s.training(), s.noise, s.label_column, s.optimization_level, s.shots)
    return space, evaluator, make_objective(s.objective, quality=evaluator.quality, cost=s.cost, T=s.T)


class HybridJob(SearchJob):
    """``hybrid-nas hybrid``: one joint study; the best model's files and its controls."""

    settings: HybridSettings
    space: HybridSpace

    def __init__(self, settings: HybridSettings, command: str):
        super().__init__(settings, command)
        self.space, self.evaluator, self.objective = setup(settings)  # bad settings fail here, before any file

    def default_dir(self) -> Path:
        return self.settings.default_dir()

    def studies(self, run: Run) -> Iterator[StudySpec]:
        yield StudySpec("", self.space, self.evaluator, self.objective)

    def artefacts(self, result: StudyResult) -> dict:
        best = result.best
        extra = self.evaluator.artefacts(best.arch, best.seed, result.dir) if best is not None else {}
        return {**extra, "n_classes": self.space.n_classes}

    def finish(self, run: Run, results: list[StudyResult]) -> None:
        from hybrid_nas.hybrid.report import write_controls

        write_controls(run.dir, results[0].view, run.result)

    @classmethod
    def report(cls, run: Run, out: Path) -> None:
        from hybrid_nas.hybrid.report import write_controls

        write_controls(out, run.view(), run.result)

    def summary(self, run: Run) -> str:
        from hybrid_nas.hybrid.report import controls_rows

        s, doc = run.settings, run.result
        lines = [
            f"{s['task']}, scope {s['scope']}, noise {s['noise'] or 'off'}: {doc['trials']} trials "
            f"({doc['failed']} failed) in {doc['seconds']:.1f} s, stopped by {doc['stop_reason']}",
            f"best ({doc['rule']}):",
        ]
        if doc["best"] is None:
            lines.append("  none: no completed trial meets the rule; see summary.md")
        else:
            lines.append(f"  {doc['best']['description']}  (trial {doc['best']['trial']})")
            lines += ["  " + row for row in controls_rows(doc, markdown=False)]
        lines.append(run.listing("best.json", "best.pt", "best.qasm", "summary.md", "report/hybrid_pareto.png"))
        return "\n".join(lines)


def rebuild_space(meta: dict):
    from hybrid_nas.hybrid.space import HybridSpace

    return HybridSpace.from_meta(meta)


register_space(SpaceKind("hybrid", rebuild_space))
register(
    Command(
        ("hybrid",),
        "search a classical front-end, a circuit and a readout head trained as one model, "
        "beside classical-only, circuit-only and entanglement-free controls",
        HybridSettings,
        HybridJob,
    )
)
