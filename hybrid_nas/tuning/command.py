"""``hybrid-nas hpo quantum|classical``: SMAC over the training hyperparameters of a found architecture."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from typing import ClassVar

from hybrid_nas.engine.jobs import Job
from hybrid_nas.engine.registry import Command, SpaceKind, register, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.settings import Settings, defaults_from, setting


class HPOFields:
    """The settings both HPO targets share (a mix-in)."""

    run_dir: str | None = setting("a search run whose best architecture is tuned (null: the built-in baseline)")
    space: str = setting("search space in NNI's format, .json or .yaml: a path or a file of configs/")
    method: str = setting("hpo: SMAC with a random forest; multi-fidelity: + Hyperband over epochs; random",
                          choices=("hpo", "multi-fidelity", "random"))
    trials: int = setting("number of trials (a resume may raise it)")
    repeats: int = setting("seeds a configuration may be evaluated on (SMAC intensification)")
    n_initial: int | None = setting("SMAC's initial design size (null: its default)")
    min_epochs: int = setting("multi-fidelity: smallest budget")
    max_epochs: int = setting("multi-fidelity: largest budget")
    seeds: int = setting("default vs tuned: retrain each on this many seeds")
    seed: int = setting("seed of SMAC")
    workers: int = setting("trials in parallel on a local Dask cluster of N workers")
    dask_scheduler: str | None = setting("run trials on the Dask cluster at this address")

    def check(self):
        for name in ("trials", "repeats", "seeds", "workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")


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
        from hybrid_nas.engine.devices import resolve_device

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


def target(name: str, s, workdir: Path):
    if name == "quantum":
        from hybrid_nas.quantum.hpo import target_from_settings
        return target_from_settings(s)
    from hybrid_nas.classical.hpo import target_from_settings
    return target_from_settings(s, workdir)


class HPOJob(Job[Run]):
    """``hybrid-nas hpo quantum|classical``: SMAC over the target's training hyperparameters, then default vs
    tuned on held-out data."""

    target: ClassVar[str]

    def execute(self, out: str | Path | None, *, resume: bool, progress: bool) -> Run:
        from hybrid_nas.engine.report import write_report
        from hybrid_nas.tuning.report import compare, write_hpo_summary
        from hybrid_nas.tuning.runner import run_hpo

        s, name = self.settings, self.target
        space, renamed = hpo_space(s.space).renamed(TARGET_ALIASES[name])
        for old, new in renamed:
            print(f"hpo: {old!r} is taken as the {name} trainer's {new!r}")
        out = Path(out or f"runs/hpo-{name}-{s.method}-s{s.seed}")
        evaluator = target(name, s, out / "work")  # a bad target or space fails here, before the directory is claimed
        for note in evaluator.prepare(space.names):
            print(f"hpo: {note}")
        evaluator.check(space.names)
        run = Run.start(out, self.command, s, resume)
        fidelity = "epochs" if s.method == "multi-fidelity" else None
        result = run_hpo(evaluator, space, run.dir, trials=s.trials, seed=s.seed, kind=s.method,
                         budgets=(s.min_epochs, s.max_epochs), fidelity=fidelity, n_initial=s.n_initial,
                         repeats=s.repeats, workers=s.workers, scheduler=s.dask_scheduler, resume=resume)
        ok = [t for t in result.trials if t.ok]
        write_report(run.dir)
        comparison = compare(evaluator, evaluator.defaults(list(result.incumbent)), result.incumbent, s.seeds)
        write_hpo_summary(run.dir, comparison, evaluator.quality, s.seeds)
        (run.dir / "best.json").write_text(json.dumps(
            {"rule": f"the highest validation {evaluator.quality}", "trials": len(result.trials),
             "failed": len(result.trials) - len(ok), "seconds": result.seconds, "quality": evaluator.quality,
             "best": {"hyperparameters": result.incumbent,
                      "reward": max((t.reward for t in ok), default=None)}}, indent=2, default=float) + "\n")
        return run

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
    return "\n".join([
        f"hpo: {doc['trials']} trials ({doc['failed']} failed) in {doc['seconds']:.0f} s with {s['method']}; best "
        f"validation {doc['quality']} {best if best is None else f'{best:.4f}'}",
        comparison_table(comparison, doc["quality"]),
        f"run directory: {run.dir}  ({run.trial_files}, smac/, hpo.json, summary.md, report/)"])


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

    return HPOSpace(meta["spec"])


# Names a target takes for its own: TANGO's NNI space says lr and batch_size.
TARGET_ALIASES = {"quantum": {"batch_size": "batch"},
                  "classical": {"lr": "lr0", "batch_size": "batch"}}

register_space(SpaceKind("hpo", rebuild_space))
register(Command(("hpo", "quantum"), "SMAC over the training hyperparameters of a found circuit",
                 HPOQuantumSettings, HPOQuantumJob))
register(Command(("hpo", "classical"), "SMAC over the training arguments of a found detector",
                 HPOClassicalSettings, HPOClassicalJob))
