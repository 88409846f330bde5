"""``hybrid-nas quantum`` and ``hybrid-nas depth-sweep``: their settings and the runs they make."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.jobs import SearchJob, StudyResult, StudySpec, failure_line
from hybrid_nas.engine.registry import (
    Command,
    HPOTarget,
    Plot,
    SpaceKind,
    register,
    register_hpo_target,
    register_space,
)
from hybrid_nas.engine.rescore import check_rescore
from hybrid_nas.engine.results import trial_summary
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields, at_least, defaults_from, positive, setting
from hybrid_nas.engine.two_stage import Prescreen, check_prescreen
from hybrid_nas.quantum.layout import parse_subset

TASKS = "digits4 | digits10 | digits2 | iris | moons | breast-cancer | breast-cancer8 | breast-cancer30 | csv:PATH"
ENCODERS = "ryzxy | ryzxy_interleaved | ryzxy_reupload | rx | rx_reupload | zz"
REPCAP_COSTS = ("params", "gates", "two_qubit_gates", "depth")  # the cost figures a circuit has untrained
RESCORE_TOP = 10  # --rescore-top's default (benchmarks/README.md, "Quantum: selection bias")
NOISY_COSTS = ("transpiled_depth", "infidelity")  # and, with --noise, from its transpile to the device

if TYPE_CHECKING:
    from hybrid_nas.quantum.evaluator import QNNEvaluator
    from hybrid_nas.quantum.space import CircuitSpace


class TrainingFields:
    """How a circuit (or a model holding one) is trained and scored under noise: a mix-in of the settings of
    ``quantum``, ``depth-sweep`` and ``hybrid`` (each command's YAML holds the defaults)."""

    noise: str | None = setting("fake IBM backend whose noise also scores each candidate (none: off)")
    shots: int | None = setting("shot noise of N shots in the noisy evaluation (null: exact)")
    optimization_level: int = setting("Qiskit transpiler level", choices=(0, 1, 2, 3))
    epochs: int = setting("training epochs per candidate")
    batch: int = setting("training batch size")
    lr: float = setting("learning rate")
    optimizer: str = setting("training optimizer", choices=("adam", "sgd", "rmsprop"))
    momentum: float = setting("momentum of sgd and rmsprop")
    n_train: int | None = setting("train on the first N samples only (null: all)")
    device: str = setting("where the circuit's states live: cpu | cuda | cuda:N | mps")
    precision: str = setting(
        "state precision: double (complex128) or single (complex64: faster, agrees to ~1e-6)",
        choices=("double", "single"),
    )

    def check_training(self) -> None:
        from hybrid_nas.engine.devices import resolve_device

        at_least(self, 1, "epochs", "batch", "shots", "n_train")
        positive(self, "lr")
        at_least(self, 0, "momentum")
        resolve_device(self.device)  # a missing GPU is one line now, before any work

    def training(self):
        from hybrid_nas.quantum.training import TrainConfig

        return TrainConfig(
            epochs=self.epochs,
            batch=self.batch,
            lr=self.lr,
            optimizer=self.optimizer,
            momentum=self.momentum,
            n_train=self.n_train,
            precision=self.precision,
            device=self.device,
        )


@defaults_from("quantum.yaml")
class QuantumSettings(StudyFields, TrainingFields, Settings):
    task: str = setting(TASKS)
    label_column: str | None = setting("label column of a csv:PATH task (null: the last)")
    qubits: int | None = setting("number of qubits (null: the task's; a CSV's from its features and classes)")
    encoder: str | None = setting(
        f"{ENCODERS}, or several comma-separated for the search to choose "
        "(null: the task's and its interleaved variant)"
    )
    scope: str = setting(
        "gate-set scope of configs/quantum_scopes.yaml: u3cu3 | zz_ry | rxyz | zx_xx | ibm_basis | full"
    )
    layers: int = setting("deepest circuit searched")
    layout: str = setting(
        "where the circuit sits on the --noise device: auto (the transpiler places and routes it), device "
        "(a decision over the best-scored connected qubit subsets, entangling only along their couplers: no "
        "SWAP), or Q0,Q1,... (those physical qubits)"
    )
    layout_candidates: int = setting("--layout device: how many best-scored connected subsets the search chooses among")
    clifford_replicas: int = setting(
        "with --noise: Clifford replicas of each candidate run on Aer's stabilizer method for its clifford_score "
        "(the noise tier between the calibration's est_fidelity and noisy_accuracy; 0: off)"
    )
    noisy_samples: int | None = setting(
        "with --noise: validation samples each candidate's noisy_accuracy is simulated on, classes balanced "
        "(null: all; 0: none, the search then ranks by noiseless accuracy and only the best is simulated, on "
        "the test set)"
    )
    noisy_test_samples: int | None = setting(
        "with --noise: test samples the exported best's noisy_test_accuracy is simulated on (null: all)"
    )
    cost: str = setting(
        "cost figure: params | gates | two_qubit_gates | depth (with noise also transpiled_depth, infidelity)"
    )
    T: float | None = setting("cost limit (constrained, mnasnet and pareto objectives)")
    supercircuit_epochs: int = setting(
        "one-shot: train a SuperCircuit this many epochs and score candidates by "
        "inherited weights (0: train each candidate)"
    )
    finetune_steps: int = setting("one-shot: optimizer steps from the inherited weights before a candidate is scored")
    hpo_trials: int = setting("then tune the best circuit's training with SMAC, into <out>/hpo (0: no)")
    prescreen: int = setting(
        "two-stage: score N candidates without training (into <out>/prescreen) by RepCap, with --noise by "
        "RepCap x clifford_score ^ --cnr-alpha, and train only the --top-k best (0: train every candidate; "
        "--budget is then unused)"
    )
    top_k: int = setting("two-stage: how many of the prescreened candidates are trained")
    rescore_top: int | None = setting(
        "re-score the search's best K on a selection split held out of its validation split and export the "
        f"best there, with its figure on data the search did not choose on (0: off; null: {RESCORE_TOP}, at most "
        "the candidates trained, off where the validation split is too small to halve)"
    )
    cnr_alpha: float = setting(
        "two-stage with --noise: the noise score's weight in RepCap x clifford_score ^ alpha (0: RepCap alone)"
    )
    simulator: str = setting(
        "what trains and scores each circuit (noiselessly): hybrid_nas, the package's simulator, or an "
        "installed PennyLane device (default.qubit, lightning.qubit, ...) through a QNode"
    )
    # every simulator computes the same figures to rounding (double precision on each): it says how the
    # work runs, not what is run, so a resume may change it; likewise how many are re-scored after the search
    # (whether any are changes the search's validation split, which the study's meta refuses)
    resumable = StudyFields.resumable | {"simulator", "rescore_top"}

    def check(self):
        self.check_study()
        self.check_training()
        at_least(self, 1, "layers")
        at_least(self, 2, "qubits")
        at_least(self, 0, "supercircuit_epochs", "finetune_steps", "hpo_trials", "cnr_alpha")
        check_prescreen(self.prescreen, self.top_k)
        if self.rescore_top is not None:
            check_rescore(self.rescore_top, self.trained)
        untrained = REPCAP_COSTS + (NOISY_COSTS if self.noise else ())
        if self.prescreen and self.cost not in untrained:
            raise ConfigError(
                f"--prescreen ranks untrained circuits and --cost {self.cost} is not a figure they have"
                f"{'' if self.noise else ' without --noise'}: use --cost {' | '.join(untrained)}"
            )
        at_least(self, 1, "layout_candidates")
        at_least(self, 0, "clifford_replicas", "noisy_samples")
        at_least(self, 1, "noisy_test_samples")
        if self.layout not in ("auto", "device"):
            parse_subset(self.layout)
        if self.layout != "auto" and not self.noise:
            raise ConfigError(
                f"--layout {self.layout} places the circuit on the --noise device's qubits: give --noise BACKEND "
                "(e.g. FakeSherbrooke)"
            )
        training = self.training()  # TrainConfig refuses an unknown simulator, and what a PennyLane one cannot do
        if training.on_pennylane and self.supercircuit_epochs:
            raise ConfigError(
                "--supercircuit-epochs trains the SuperCircuit on the package's simulator only; "
                "leave --simulator hybrid_nas"
            )

    def training(self):
        return replace(super().training(), simulator=self.simulator)

    @property
    def trained(self) -> int | None:
        """How many candidates the search trains (None: as many as --seconds allow)."""
        return self.top_k if self.prescreen else self.budget

    def rescore_k(self) -> int:
        """``--rescore-top`` as run: null is RESCORE_TOP, at most the candidates trained, and 0 (off) where the
        validation split has a class too rare to halve (a tiny CSV)."""
        from hybrid_nas.quantum.data import can_hold_out, search_task

        if self.rescore_top is not None:
            return self.rescore_top
        if not can_hold_out(search_task(self.task, self.label_column).y_val):
            return 0
        return min(RESCORE_TOP, self.trained or RESCORE_TOP)

    def default_dir(self, kind: str) -> Path:
        return Path(f"runs/{kind}-{self.task.replace(':', '_').replace('/', '_')}-{self.scope}-s{self.seed}")


def device_layouts(s: QuantumSettings, n_qubits: int):
    """The ``layout`` decision's options of ``--layout`` (None for auto): the best-scored connected subsets
    of the --noise backend (sampled once per backend, size and seed), or the one given."""
    from hybrid_nas.quantum.hardware import fake_backend, require_qubits
    from hybrid_nas.quantum.layout import best_layouts, layouts_of

    if s.layout == "auto" or not s.noise:
        return None
    require_qubits(n_qubits, fake_backend(s.noise))
    if s.layout == "device":
        return best_layouts(s.noise, n_qubits, s.layout_candidates, seed=s.seed)
    subset = parse_subset(s.layout)
    if len(subset) != n_qubits:
        raise ConfigError(f"--layout {s.layout} names {len(subset)} qubits, the circuit has {n_qubits}")
    return layouts_of(s.noise, [subset])


def setup(s: QuantumSettings, min_layers: int = 1, max_layers: int | None = None):
    """(space, evaluator, objective) of quantum settings."""
    from hybrid_nas.engine.objectives import make_objective
    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.evaluator import QNNEvaluator
    from hybrid_nas.quantum.space import space_for_task

    task = load_task(s.task, label_column=s.label_column)
    device = device_layouts(s, task.n_qubits if s.qubits is None else s.qubits)
    space = space_for_task(task, s.qubits, max_layers or s.layers, s.scope, s.encoder, min_layers, device)
    evaluator = QNNEvaluator(
        space,
        s.task,
        s.training(),
        noise=s.noise,
        label_column=s.label_column,
        optimization_level=s.optimization_level,
        shots=s.shots,
        clifford_replicas=s.clifford_replicas,
        noisy_samples=s.noisy_samples,
        noisy_test_samples=s.noisy_test_samples,
        holdout=s.rescore_k() > 0,
    )
    return space, evaluator, make_objective(s.objective, quality=evaluator.quality, cost=s.cost, T=s.T)


def one_shot(s: QuantumSettings, space, evaluator):
    """Train a SuperCircuit once and return (its evaluator, the noiseless objective): candidates are then
    scored by inherited weights; the chosen circuit is still trained from scratch for its artefacts."""
    from hybrid_nas.engine.objectives import make_objective
    from hybrid_nas.quantum.supercircuit import SuperCircuitEvaluator, train_supercircuit

    training = replace(evaluator.training, epochs=s.supercircuit_epochs, seed=s.seed)
    start = time.perf_counter()
    bank = train_supercircuit(space, evaluator.task, training).weights
    print(f"SuperCircuit trained: {s.supercircuit_epochs} epochs in {time.perf_counter() - start:.1f} s")
    searched = SuperCircuitEvaluator(
        space,
        evaluator.task,
        bank,
        {
            "task": s.task,
            "epochs": s.supercircuit_epochs,
            "lr": training.lr,
            "optimizer": training.optimizer,
            "seed": s.seed,
        },
        finetune_steps=s.finetune_steps,
        training=evaluator.training,
    )
    return searched, make_objective(s.objective, quality="accuracy", cost=s.cost, T=s.T)


class QuantumJob(SearchJob):
    """``hybrid-nas quantum``: one study of circuits; the best is trained again for its files."""

    settings: QuantumSettings
    space: CircuitSpace

    def __init__(self, settings: QuantumSettings, command: str):
        super().__init__(settings, command)
        self.space, self.evaluator, self.objective = setup(settings)  # bad settings fail here, before any file

    def default_dir(self) -> Path:
        return self.settings.default_dir("quantum")

    def studies(self, run: Run) -> Iterator[StudySpec]:
        evaluator, objective = self.evaluator, self.objective
        if self.settings.supercircuit_epochs:
            evaluator, objective = one_shot(self.settings, self.space, self.evaluator)
        yield StudySpec("", self.space, evaluator, objective)

    def prescreen(self, spec: StudySpec) -> Prescreen | None:
        """``--prescreen N``: N candidates scored untrained, by RepCap or, with --noise, by RepCap x
        clifford_score ^ --cnr-alpha, and ranked by the run's objective on that quality and the cost."""
        s = self.settings
        if not s.prescreen:
            return None
        from hybrid_nas.engine.objectives import make_objective
        from hybrid_nas.quantum.prescreen import NoisyRepCapEvaluator
        from hybrid_nas.quantum.repcap import RepCapEvaluator

        space = cast("CircuitSpace", spec.space)
        cheap = (
            NoisyRepCapEvaluator(space, s.task, s.noise, s.cnr_alpha, s.label_column, s.optimization_level)
            if s.noise
            else RepCapEvaluator(space, s.task, s.label_column)
        )
        objective = make_objective(s.objective, quality=cheap.quality, cost=s.cost, T=s.T)
        return Prescreen(cheap, objective, s.prescreen, s.top_k)

    def artefacts(self, result: StudyResult) -> dict:
        best, rescored = result.best, {}
        if self.settings.rescore_k() and best is not None:
            from hybrid_nas.quantum.selection import rescore_study

            rescored = rescore_study(result, self.evaluator, self.settings.rescore_k())
            if rescored:  # the best of the re-scored, exported in the search's best's place
                best = next(t for t in result.view.ok if t.number == rescored["best"]["trial"])
        test = self.evaluator.artefacts(best.arch, best.seed, result.dir) if best is not None else {}
        physical = {"physical_qubits": self.space.physical_qubits(best.arch)} if best and self.space.device else {}
        extra = {"test": test, "n_qubits": self.space.n_qubits, "simulator": self.settings.simulator}
        return extra | physical | rescored

    def finish(self, run: Run, results: list[StudyResult]) -> None:
        if self.settings.hpo_trials and results[0].best is not None:
            from hybrid_nas.tuning.command import tune_after_search

            tune_after_search("quantum", run, self.settings, self.progress, self.resume)

    def summary(self, run: Run) -> str:
        s, doc = run.settings, run.result
        lines = [
            f"{s['task']} on {doc['n_qubits']} qubits, scope {s['scope']}, noise {s['noise'] or 'off'}, "
            f"simulator {doc.get('simulator', 'hybrid_nas')}: "
            f"{doc['trials']} trials ({doc['failed']} failed) in {doc['seconds']:.1f} s, "
            f"stopped by {doc['stop_reason']}",
            f"best ({doc['rule']}"
            + (f", on the re-score of the top {doc['rescore']['k']}):" if "rescore" in doc else "):"),
        ]
        screened = run.dir / "prescreen" / "best.json"
        if screened.is_file():
            stage1 = json.loads(screened.read_text())
            by = f"RepCap x clifford_score^{s.get('cnr_alpha', 0):g}" if s["noise"] and s.get("cnr_alpha") else "RepCap"
            lines.insert(1, f"prescreened {stage1['trials']} circuits by {by} in {stage1['seconds']:.1f} s")
        best, test = doc["best"], doc.get("test", {})
        if best is None:
            lines.append("  none: no completed trial meets the rule; see summary.md")
        else:
            m = best["metrics"]
            reward = "search reward" if "held_out" in best else "reward"
            lines.append(f"  {best['description']}  (trial {best['trial']}, {reward} {best['reward']:.4f})")
            if "held_out" in best:
                lines += held_out_lines(doc)
            else:
                lines.append(
                    "  validation accuracy {:.3f}{}  test accuracy {:.3f}{}".format(
                        m["accuracy"],
                        _noisy_text(m, "noisy_accuracy"),
                        test["test_accuracy"],
                        _noisy_text(test, "noisy_test_accuracy"),
                    )
                )
            lines += [
                "  "
                + "  ".join(
                    f"{k} {m[k]:g}"
                    for k in (
                        "params",
                        "gates",
                        "two_qubit_gates",
                        "depth",
                        "transpiled_depth",
                        "transpiled_two_qubit_gates",
                        "est_fidelity",
                        "clifford_score",
                    )
                    if k in m
                ),
            ]
            if "physical_qubits" in doc:
                lines.append(f"  on {s['noise']} qubits {', '.join(map(str, doc['physical_qubits']))}")
        lines.append(
            run.listing("best.json", "best.qasm", "best_circuit.png", "best_weights.npy", "summary.md", "report/")
        )
        from hybrid_nas.tuning.command import after_search_summary

        return "\n".join(lines + after_search_summary(run))


def _noisy_text(figures: dict, name: str) -> str:
    """``  noisy 0.812 +-0.064 (144 samples)``; the interval and count where the run recorded them."""
    if name not in figures:
        return ""
    ci = f" +-{figures[name + '_ci']:.3f} ({figures[name + '_samples']:g} samples)" if name + "_ci" in figures else ""
    return f"  noisy {figures[name]:.3f}{ci}"


def held_out_lines(doc: dict) -> list[str]:
    """The re-scored best's three figures, each with what it was chosen on (``--rescore-top``)."""
    from hybrid_nas.engine.rescore import provenance

    best, test, rescore = doc["best"], doc["test"], doc["rescore"]

    def pair(m: dict, key: str, noisy: str) -> str:
        return f"{m[key]:.3f}" + _noisy_text(m, noisy)

    lines = [
        f"  search validation accuracy {pair(best['metrics'], 'accuracy', 'noisy_accuracy')}  "
        f"(chosen among {rescore['searched']} on it: optimistic)",
        f"  held-out accuracy {pair(best['held_out'], 'accuracy', 'noisy_accuracy')}  "
        f"({rescore['split']}; {provenance(rescore['k'])})",
        f"  test accuracy {pair(test, 'test_accuracy', 'noisy_test_accuracy')}  (never chosen on)",
    ]
    own = doc.get("search_best")
    if own and own["trial"] != best["trial"]:
        lines.append(
            f"  (the search's own best, trial {own['trial']}: held-out {rescore['quality']} "
            f"{own['held_out'][rescore['quality']]:.3f})"
        )
    return lines


class DepthSweepJob(SearchJob):
    """``hybrid-nas depth-sweep``: one study per depth 1..layers (the budget is per depth); the best circuit of
    each, side by side."""

    settings: QuantumSettings

    def __init__(self, settings: QuantumSettings, command: str):
        super().__init__(settings, command)
        self.space = setup(settings)[0]  # bad settings fail here, before any file

    def default_dir(self) -> Path:
        return self.settings.default_dir("depth-sweep")

    prescreen = QuantumJob.prescreen  # per depth, into depth<k>/prescreen

    def studies(self, run: Run) -> Iterator[StudySpec]:
        for depth in range(1, self.settings.layers + 1):
            yield StudySpec(f"depth{depth}", *setup(self.settings, min_layers=depth, max_layers=depth))

    def artefacts(self, result: StudyResult) -> dict:
        # the sweep compares depths by their validation figures; no circuit is retrained but, with
        # --rescore-top, each depth's top few, for figures on data the sweep did not choose on
        extra = {"simulator": self.settings.simulator}
        if self.settings.rescore_k() and result.best is not None:
            from hybrid_nas.quantum.selection import rescore_study

            extra |= rescore_study(result, cast("QNNEvaluator", result.spec.evaluator), self.settings.rescore_k())
        return extra

    def finish(self, run: Run, results: list[StudyResult]) -> None:
        from hybrid_nas.quantum.depth import write_depth_sweep

        rows = []
        for depth, r in enumerate(results, 1):
            best = r.extra.get("best") or (r.best and trial_summary(r.best, r.spec.space.describe))
            if not best:
                rows.append({"layers": depth, "failed": failure_line(r.view)})
                continue
            held = {f"held_out_{k}": v for k, v in best.get("held_out", {}).items()}
            rows.append(
                {"layers": depth, "circuit": best["description"], "trial": best["trial"], **best["metrics"], **held}
            )
        write_depth_sweep(rows, run.dir)

    def summary(self, run: Run) -> str:
        table = (run.dir / "depth_sweep.md").read_text().split("\n\n")[1]
        return table + "\n" + run.listing("depth_sweep.md", "depth_sweep.png") + "; depth<k>/: one study per depth"


def rebuild_space(meta: dict):
    from hybrid_nas.quantum.layout import layouts_of
    from hybrid_nas.quantum.space import CircuitSpace

    layers = meta["decisions"]["layers"]
    device = meta.get("device")
    return CircuitSpace(
        meta["n_qubits"],
        max(layers),
        meta["scope"],
        tuple(meta["decisions"]["encoder"]),
        min(layers),
        meta.get("n_features"),
        layouts_of(device, [parse_subset(o) for o in meta["decisions"]["layout"]]) if device else None,
    )


def _plot_depth(view, path: Path) -> bool:
    from hybrid_nas.quantum.depth import plot_depth

    return plot_depth(view, path)


def hpo_trainer(settings, workdir: Path):
    from hybrid_nas.quantum.hpo import target_from_settings

    return target_from_settings(settings)


register_hpo_target(HPOTarget("quantum", hpo_trainer, {"batch_size": "batch"}))
register_space(SpaceKind("pqc", rebuild_space, (Plot("depth_vs_accuracy.png", "depth vs accuracy", _plot_depth),)))
register(
    Command(
        ("quantum",), "search the gate placement of a PQC classifier (PennyLane/Qiskit)", QuantumSettings, QuantumJob
    )
)
register(
    Command(
        ("depth-sweep",),
        "best circuit per number of layers 1..--layers: accuracy (noiseless, noisy) and cost per depth",
        QuantumSettings,
        DepthSweepJob,
    )
)
