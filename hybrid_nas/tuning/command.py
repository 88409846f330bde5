"""``hybrid-nas hpo quantum|classical``: SMAC3 (or an NNI tuner in NNI's experiment) over the training
hyperparameters of a found architecture, as a study like every search's (the SMAC strategy over the HPO space; or
NNI's trials, each recorded in the study by its trial process), then default vs tuned on held-out data."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import ClassVar

from hybrid_nas.engine.errors import ConfigError, RunFailed
from hybrid_nas.engine.jobs import Job
from hybrid_nas.engine.registry import Command, SpaceKind, hpo_target, register, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, at_least, defaults_from, setting
from hybrid_nas.tuning.nni_experiment import TUNERS, nni_tuner, require_nni


class HPOFields:
    """The settings both HPO targets share (a mix-in)."""

    run_dir: str | None = setting("a search run whose best architecture is tuned (null: the built-in baseline)")
    space: str = setting("search space in NNI's format, .json or .yaml: a path or a file of configs/")
    tuner: str = setting(
        "smac: SMAC3 (--method); nni:NAME: an NNI experiment with NNI's built-in tuner NAME "
        f"({', '.join(TUNERS)}), each trial an NNI trial process"
    )
    method: str = setting(
        "SMAC3's: hpo: SMAC with a random forest; multi-fidelity: + Hyperband over epochs; random",
        choices=("hpo", "multi-fidelity", "random"),
    )
    trials: int = setting("number of trials (a resume may raise it)")
    repeats: int = setting("seeds a configuration may be evaluated on (SMAC's intensification; NNI: one)")
    n_initial: int | None = setting("SMAC's initial design size (null: its default)")
    min_epochs: int = setting("multi-fidelity: smallest budget")
    max_epochs: int = setting("multi-fidelity: largest budget")
    seeds: int = setting("default vs tuned: retrain each on this many seeds")
    seed: int = setting("seed of the tuner and of every trial")
    workers: int = setting("trials in parallel in N local worker processes (NNI: its trial concurrency)")
    dask_scheduler: str | None = setting("run trials on the Dask cluster at this address")

    def check(self):
        at_least(self, 1, "trials", "repeats", "seeds", "workers", "n_initial", "min_epochs")
        if self.method == "multi-fidelity" and self.max_epochs < self.min_epochs:
            raise ConfigError(f"--max-epochs ({self.max_epochs}) must be at least --min-epochs ({self.min_epochs})")
        if nni_tuner(self.tuner) is not None:
            if self.method != "hpo":
                raise ConfigError(
                    f"--method {self.method} is SMAC3's; --tuner {self.tuner} proposes every trial itself: "
                    "leave --method out, or use --tuner smac"
                )
            if self.dask_scheduler is not None:
                raise ConfigError(f"--tuner {self.tuner} runs its trials as NNI's trial processes, not on Dask")
            require_nni(self.tuner)

    # The study settings ``engine.jobs.search`` reads (``StudyFields``), as the HPO settings mean them.
    strategy, seconds, storage = "smac", None, None

    @property
    def budget(self) -> int:
        return self.trials

    @property
    def strategy_options(self) -> dict:
        return {"n_trials": self.trials, "n_initial": self.n_initial, "method": self.method, "repeats": self.repeats}

    @property
    def fidelity(self):
        """Multi-fidelity: the epochs Hyperband sets."""
        from hybrid_nas.tuning.searchspace import Fidelity

        return Fidelity("epochs", self.min_epochs, self.max_epochs) if self.method == "multi-fidelity" else None

    @property
    def seeded(self) -> bool:
        """Whether a configuration may run on several seeds (Hyperband runs each on one, NNI's tuners too)."""
        return self.repeats > 1 and self.method != "multi-fidelity" and self.tuner == "smac"


@defaults_from("hpo_quantum.yaml")
class HPOQuantumSettings(HPOFields, Settings):
    pass


@defaults_from("hpo_classical.yaml")
class HPOClassicalSettings(HPOFields, Settings):
    scope: str | None = setting("the scope whose best subnet is tuned, for a run that searched several")
    model: str = setting("yolov9t | yolov9s | ... or a model YAML / .pt (without --run-dir)")
    data: str = setting("builtin:digits or an ultralytics data.yaml (a run's own data with --run-dir)")
    n_images: int = setting("size of the generated builtin:digits set")
    device: str = setting("where each trial trains and validates: cpu | cuda | cuda:N | mps")
    imgsz: int = setting("image size")
    epochs: int = setting("training epochs per trial (the fidelity with multi-fidelity)")
    defaults: dict = setting("the untuned training arguments")
    quality: str = setting("quality figure", choices=("map50", "map50_95"))

    def check(self):
        super().check()
        from hybrid_nas.classical.command import check_images
        from hybrid_nas.engine.devices import resolve_device

        check_images(self)
        at_least(self, 1, "epochs")

        resolve_device(self.device)  # before the data set is generated or the directory claimed


def hpo_space(name: str):
    """A search-space file: a path, or a file of the packaged configs/."""
    from hybrid_nas.tuning.searchspace import HPOSpace

    if Path(name).is_file():
        return HPOSpace.from_file(name)
    packaged = resources.files("hybrid_nas.configs").joinpath(name)
    if packaged.is_file():
        return HPOSpace.from_file(Path(str(packaged)))
    raise ConfigError(f"search space file {name} does not exist (neither a path nor a file of configs/)")


class HPOJob(Job[Run]):
    """``hybrid-nas hpo quantum|classical``: SMAC3 or an NNI tuner over the target's training hyperparameters,
    then default vs tuned on held-out data."""

    target: ClassVar[str]

    def execute(self, out: str | Path | None, *, resume: bool, progress: bool) -> Run:
        from hybrid_nas.dashboard import publish_quietly
        from hybrid_nas.engine.jobs import check_search, check_some_succeeded, search
        from hybrid_nas.engine.report import write_report
        from hybrid_nas.tuning.nni_experiment import run_nni

        s = self.settings
        how = s.method if s.tuner == "smac" else s.tuner.replace(":", "-")
        out = Path(out or f"runs/hpo-{self.target}-{how}-s{s.seed}")
        spec, trainer = self.spec(out)  # a bad target or space fails here, before any file
        if s.tuner == "smac":
            check_search(s, spec.space)
        with Run.claim(out, self.command, s, resume) as run:
            if s.tuner == "smac":
                result = search(run.dir, spec, s, resume=resume, progress=progress)
            else:
                result = run_nni(run.dir, spec, s, self.target, resume=resume, progress=progress)
            write_report(run.dir, spec.space.describe)
            check_some_succeeded(run.dir, [result.view])
            self.compare(run, result, trainer)
            publish_quietly(run.dir)
        return run

    def spec(self, out: Path):
        """The study an HPO run is (its space, the target's trainer as its evaluator, the objective) and the
        trainer; the job and each NNI trial process build it alike."""
        from hybrid_nas.engine.jobs import StudySpec
        from hybrid_nas.engine.objectives import make_objective
        from hybrid_nas.tuning.trial import HPOTrial

        space, trainer = self.space_and_trainer(out)
        # the reward is the validation quality; train_seconds is only the cost column of the reports
        objective = make_objective(
            "weighted", quality=trainer.quality, cost="train_seconds", weights={trainer.quality: 1.0}
        )
        return StudySpec("", space, HPOTrial(trainer, space), objective), trainer

    def space_and_trainer(self, out: Path):
        """The HPO space (with the fidelity and seed a trial carries) and the target's trainer."""
        s, name = self.settings, self.target
        space, renamed = hpo_space(s.space).renamed(hpo_target(name).aliases)
        for old, new in renamed:
            print(f"hpo: {old!r} is taken as the {name} trainer's {new!r}")
        trainer = hpo_target(name).build(s, out / "work")
        for note in trainer.prepare(space.names):
            print(f"hpo: {note}")
        trainer.check(space.names)
        return space.evaluated(s.fidelity, s.seeded), trainer

    def compare(self, run: Run, result, trainer) -> None:
        """The best trial's configuration (the tuned one) against the untuned, both retrained on the same seeds
        and scored on held-out data; ``hpo.json``, ``summary.md`` and ``best.json``."""
        from hybrid_nas.tuning.report import compare, write_hpo_summary

        s, space, view, best = self.settings, result.spec.space, result.view, result.best
        if best is None:
            raise RunFailed(f"no HPO trial of {run.dir} finished; nothing to tune")
        incumbent = space.hyperparameters(best.arch)
        if space.fidelity is not None:  # the tuned configuration trains as long as the largest budget
            incumbent[space.fidelity.name] = space.fidelity.high
        comparison = compare(trainer, trainer.defaults(list(incumbent)), incumbent, s.seeds)
        write_hpo_summary(run.dir, comparison, trainer.quality, s.seeds)
        doc = {
            "rule": f"the highest validation {trainer.quality}",
            "tuner": s.tuner if s.tuner == "smac" else f"{s.tuner}, in NNI's experiment under nni/",
            "trials": len(view.trials),
            "failed": len(view.failed),
            "seconds": result.seconds,
            "stop_reason": result.stop_reason,
            "quality": trainer.quality,
            "best": {
                "trial": best.number,
                "hyperparameters": incumbent,
                "architecture": dict(best.arch),
                "metrics": best.metrics,
                "reward": best.reward,
            },
        }
        (run.dir / "best.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")

    def summary(self, run: Run) -> str:
        return summary(run)


class HPOQuantumJob(HPOJob):
    target = "quantum"


class HPOClassicalJob(HPOJob):
    target = "classical"


def summary(run: Run) -> str:
    from hybrid_nas.tuning.report import comparison_table

    doc, s = run.result, run.settings
    comparison = json.loads((run.dir / "hpo.json").read_text())
    best = doc["best"]["reward"]
    how = s["method"] if s.get("tuner", "smac") == "smac" else f"NNI's {s['tuner'][4:]}"
    return "\n".join(
        [
            f"hpo: {doc['trials']} trials ({doc['failed']} failed) in {doc['seconds']:.0f} s with {how}; best "
            f"validation {doc['quality']} {best if best is None else f'{best:.4f}'}",
            comparison_table(comparison, doc["quality"]),
            run.listing("best.json", "hpo.json", "summary.md", "report/", "nni/"),
        ]
    )


def tune_after_search(name: str, run, search_settings, progress: bool = True, resume: bool = False):
    """``hpo_trials`` on a search: tune the architecture it found on its data and seed, into ``<run>/hpo``."""
    cls, job = (HPOQuantumSettings, HPOQuantumJob) if name == "quantum" else (HPOClassicalSettings, HPOClassicalJob)
    hpo = cls.resolve(run_dir=str(run.dir), trials=search_settings.hpo_trials, seed=search_settings.seed)
    return job(hpo, f"hpo {name}").execute(run.dir / "hpo", resume=resume, progress=progress)


def after_search_summary(run) -> list[str]:
    """The tuning's summary lines when the search ran one (``hpo_trials``), else none."""
    from hybrid_nas.engine.run import load

    return [summary(load(run.dir / "hpo"))] if (run.dir / "hpo" / "best.json").is_file() else []


def rebuild_space(meta: dict):
    from hybrid_nas.tuning.searchspace import HPOSpace

    return HPOSpace.from_meta(meta)


register_space(SpaceKind("hpo", rebuild_space))
register(
    Command(
        ("hpo", "quantum"),
        "SMAC3 or an NNI tuner over the training hyperparameters of a found circuit",
        HPOQuantumSettings,
        HPOQuantumJob,
    )
)
register(
    Command(
        ("hpo", "classical"),
        "SMAC3 or an NNI tuner over the training arguments of a found detector",
        HPOClassicalSettings,
        HPOClassicalJob,
    )
)
