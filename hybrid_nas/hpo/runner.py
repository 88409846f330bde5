"""A SMAC hyperparameter study: SMAC runs the target (in this process, or on Dask workers), its run history
lives in ``<out>/smac`` (what ``resume`` continues), and every finished trial also lands in
``<out>/trials.sqlite`` as the engine's studies record theirs (written here, in the main process, from
SMAC's tell callback: one writer)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, unknown
from ..evaluator import Evaluator, run_evaluation
from ..smac_facade import FACADES, make_facade
from ..space import Architecture
from ..store import SQLiteStore, meta_hash
from ..trial import Trial, TrialState
from .searchspace import HPOSpace


class SMACTarget:
    """``run`` is the function SMAC calls: decode the configuration, train, return (1 - quality, the metrics).
    Picklable, so Dask can ship it; a failure raises, which SMAC records as a crashed trial. (SMAC reads
    the target's ``__code__`` and signature, which a bound method has and a callable object lacks.)"""

    def __init__(self, evaluator: Evaluator, space: HPOSpace, fidelity: str | None = None):
        self.evaluator, self.space, self.fidelity = evaluator, space, fidelity

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


def _recorder(store: SQLiteStore, target: SMACTarget):
    """A SMAC callback writing each told trial to the store."""
    from smac.callback import Callback
    from smac.runhistory.enumerations import StatusType

    class Record(Callback):
        def on_tell_end(self, smbo, info, value):
            extra = value.additional_info or {}
            ok = value.status == StatusType.SUCCESS
            error = None if ok else (extra.get("error") or value.status.name)
            params = extra.get("params") or target.params(info.config, info.budget)
            store.put(Trial(number=store.next_number(), arch=Architecture(params),
                            state=TrialState.COMPLETE if ok else TrialState.FAILED, seed=int(info.seed or 0),
                            metrics=extra.get("metrics", {}) if ok else {},
                            reward=1.0 - float(value.cost) if ok else None, error=error,
                            started=value.starttime or time.time(), duration=value.time))
            return None

    return Record()


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None):
    """A Dask client for SMAC's parallel runner: an existing scheduler, a local cluster of ``workers``
    single-threaded processes, or none (one trial at a time in this process)."""
    if not scheduler and workers <= 1:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r}: {e}") from None
        with client:
            yield client
        return
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
    store = SQLiteStore(out / "trials.sqlite")
    meta = {"space": space.meta(), "evaluator": evaluator.meta(), "seed": seed,
            "objective": {"name": "maximise", "quality": evaluator.quality, "cost": "train_seconds", "T": None},
            "strategy": {"name": f"smac-{kind}", "trials": trials, "n_initial": n_initial, "budgets": budgets,
                         "fidelity": fidelity, "repeats": repeats}}
    meta["hash"] = meta_hash(meta)
    stored = store.get_meta()
    if store.trials() and not resume:
        raise ConfigError(f"{out} already holds an HPO run; pass --resume to continue it, or choose another --out")
    if resume and stored and stored.get("hash") != meta["hash"]:
        raise ConfigError(f"cannot resume {out}: it was run with other settings; use the same settings or another --out")
    store.set_meta(meta)
    target = SMACTarget(evaluator, space, fidelity)
    start = time.perf_counter()
    try:
        with dask_client(workers, scheduler) as client:
            smac = make_facade(space.configspace(seed), target.run, seed=seed, n_trials=trials,
                               output_dir=str(out / "smac"), name="hpo", kind=kind, n_initial=n_initial,
                               budgets=budgets, repeats=repeats, overwrite=not resume, dask_client=client,
                               callbacks=[_recorder(store, target)])
            incumbent = smac.optimize()
        incumbent = incumbent[0] if isinstance(incumbent, list) else incumbent
        top = budgets[1] if kind == "multi-fidelity" else None
        return HPOResult(target.params(incumbent, top), store.trials(), time.perf_counter() - start)
    finally:
        store.close()
