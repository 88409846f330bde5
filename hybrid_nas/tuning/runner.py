"""A SMAC hyperparameter study: SMAC runs the target (in this process, or on Dask workers), its run history
lives in ``<out>/smac`` (what ``resume`` continues), and every finished trial also lands in
the run's journal (``optuna.journal``) as the engine's studies record theirs (written here, in the main process, from
SMAC's tell callback: one writer)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.evaluator import Evaluator, run_evaluation, tag
from hybrid_nas.engine.executors import connect_dask
from hybrid_nas.engine.strategies.smac_facade import FACADES, make_facade
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.storages.base import TrialStore, meta_hash, open_study
from hybrid_nas.engine.trial import Trial, TrialState
from hybrid_nas.tuning.searchspace import HPOSpace


class SMACTarget:
    """``run`` is the function SMAC calls: decode the configuration, train, return (1 - quality, the metrics).
    Picklable, so Dask can ship it; a failure raises, which SMAC records as a crashed trial. (SMAC reads
    the target's ``__code__`` and signature, which a bound method has and a callable object lacks.)"""

    def __init__(self, evaluator: Evaluator, space: HPOSpace, fidelity: str | None = None):
        self.evaluator, self.space, self.fidelity = tag(evaluator), space, fidelity

    def params(self, config, budget: float | None = None) -> dict:
        params = self.space.decode(config)
        if budget is not None and self.fidelity:
            params[self.fidelity] = int(round(budget))
        return params

    def run(self, config, seed: int = 0, budget: float | None = None):
        params = self.params(config, budget)
        metrics, error, seconds = run_evaluation(self.evaluator, Architecture(params), seed)
        if metrics is None:
            raise RuntimeError(error)
        return 1.0 - metrics[self.evaluator.quality], {"metrics": metrics, "params": params, "seconds": seconds}


SMAC_STATE = ("optimization.json", "runhistory.json", "intensifier.json")


class _Recorder:
    """Writes each trial SMAC is told to the store, once SMAC's own state holds it: a SMAC callback queues
    the trial, and SMAC's save (wrapped by ``guard``) writes it after the state files. SMAC writes its JSON
    files in place, so a kill during a save would leave them half-written; ``guard`` keeps the previous
    complete copies (``*.bak``) and ``repair`` restores them on resume, which matches the store again."""

    def __init__(self, store: TrialStore, target: SMACTarget):
        self.store, self.target, self.pending = store, target, []

    def callback(self):
        from smac.callback import Callback

        recorder = self

        class Record(Callback):
            def on_tell_end(self, smbo, info, value):
                recorder.pending.append((info, value))
                return None

        return Record()

    def flush(self) -> None:
        from smac.runhistory.enumerations import StatusType

        for info, value in self.pending:
            extra = value.additional_info or {}
            ok = value.status == StatusType.SUCCESS
            params = extra.get("params") or self.target.params(info.config, info.budget)
            self.store.put(Trial(number=self.store.next_number(), arch=Architecture(params),
                                 state=TrialState.COMPLETE if ok else TrialState.FAILED, seed=int(info.seed or 0),
                                 metrics=extra.get("metrics", {}) if ok else {},
                                 reward=1.0 - float(value.cost) if ok else None,
                                 error=None if ok else (extra.get("error") or value.status.name),
                                 started=value.starttime or time.time(), duration=value.time))
        self.pending.clear()

    def guard(self, smbo, directory: Path) -> None:
        save = smbo.save

        def guarded_save():
            for name in SMAC_STATE:
                if (directory / name).is_file():
                    shutil.copyfile(directory / name, directory / f"{name}.tmp")
                    os.replace(directory / f"{name}.tmp", directory / f"{name}.bak")
            save()
            self.flush()

        smbo.save = guarded_save  # this run's SMBO only


def repair(directory: Path) -> None:
    """Before resuming: if a kill left any SMAC state file unreadable, go back to the last complete save."""
    def readable(path: Path) -> bool:
        try:
            json.loads(path.read_text())
            return True
        except (OSError, ValueError):
            return False

    if all(readable(directory / n) for n in SMAC_STATE if (directory / n).exists()):
        return
    for name in SMAC_STATE:
        if (directory / f"{name}.bak").is_file():
            os.replace(directory / f"{name}.bak", directory / name)


def extend(directory: Path, trials: int) -> None:
    """Before resuming: give SMAC's stored scenario the new trial budget. SMAC continues a run only when the
    scenario is unchanged (else it asks on stdin), and a finished run would return at once."""
    scenario, state = directory / "scenario.json", directory / "optimization.json"
    if not scenario.is_file():
        return
    doc = json.loads(scenario.read_text())
    if doc.get("n_trials") == trials:
        return
    doc["n_trials"] = trials
    scenario.write_text(json.dumps(doc, indent=2))
    if state.is_file():
        progress = json.loads(state.read_text())
        progress["finished"] = False
        state.write_text(json.dumps(progress, indent=2))


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None):
    """A Dask client for SMAC's parallel runner: an existing scheduler, a local cluster of ``workers``
    single-threaded processes, or none (one trial at a time in this process)."""
    if not scheduler and workers <= 1:
        yield None
        return
    if scheduler:
        with connect_dask(scheduler) as client:
            yield client
        return
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


@dataclass
class HPOResult:
    incumbent: dict  # hyperparameter values of the best configuration
    trials: list[Trial]
    seconds: float


def run_hpo(evaluator: Evaluator, space: HPOSpace, out: Path, *, trials: int, seed: int = 0, kind: str = "hpo",
            budgets: tuple[float, float] | None = None, fidelity: str | None = None, n_initial: int | None = None,
            repeats: int = 1, workers: int = 1, scheduler: str | None = None, resume: bool = False) -> HPOResult:
    """Run (or, with ``resume``, continue) a SMAC study of ``trials`` evaluations of ``evaluator``."""
    if kind not in FACADES:
        raise ConfigError(unknown("optimizer", kind, FACADES))
    if trials < 1 or repeats < 1:
        raise ConfigError(f"--trials and --repeats must be at least 1, got {trials} and {repeats}")
    if kind == "multi-fidelity" and not (budgets and fidelity):
        raise ConfigError("multi-fidelity needs a fidelity (e.g. epochs) and its min and max budget")
    if fidelity and fidelity in space.names:
        raise ConfigError(f"{fidelity!r} is the fidelity SMAC's Hyperband sets; remove it from the search space")
    out = Path(out)
    store = open_study(out)
    meta = {"space": space.meta(), "evaluator": evaluator.meta(), "seed": seed,
            "objective": {"name": "maximise", "quality": evaluator.quality, "cost": "train_seconds", "T": None},
            "strategy": {"name": f"smac-{kind}", "n_initial": n_initial, "budgets": budgets,
                         "fidelity": fidelity, "repeats": repeats}}  # not the trial count: a resume may raise it
    meta["hash"] = meta_hash(meta)
    stored = store.get_meta()
    if store.trials() and not resume:
        raise ConfigError(f"{out} already holds an HPO run; pass --resume to continue it, or choose another --out")
    if resume and stored and stored.get("hash") != meta["hash"]:
        raise ConfigError(f"cannot resume {out}: it was run with other settings; use the same settings or another --out")
    store.set_meta(meta)
    target = SMACTarget(evaluator, space, fidelity)
    recorder = _Recorder(store, target)
    state_dir = out / "smac" / "hpo" / str(seed)  # SMAC's output_directory / name / seed
    if resume:
        repair(state_dir)
        extend(state_dir, trials)
    start = time.perf_counter()
    try:
        with dask_client(workers, scheduler) as client:
            smac = make_facade(space.configspace(seed), target.run, seed=seed, n_trials=trials,
                               output_dir=str(out / "smac"), name="hpo", kind=kind, n_initial=n_initial,
                               budgets=budgets, repeats=repeats, overwrite=not resume, dask_client=client,
                               callbacks=[recorder.callback()])
            recorder.guard(smac.optimizer, Path(smac.scenario.output_directory))
            incumbent = smac.optimize()
            recorder.flush()
        incumbent = incumbent[0] if isinstance(incumbent, list) else incumbent
        top = budgets[1] if kind == "multi-fidelity" else None
        return HPOResult(target.params(incumbent, top), store.trials(), time.perf_counter() - start)
    finally:
        store.close()
