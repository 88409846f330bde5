"""The study loop: ask -> evaluate (on an executor) -> tell -> store, under a budget, resumable."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import replace

import numpy as np
from tqdm.auto import tqdm

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import Evaluator, run_evaluation, tag
from hybrid_nas.engine.executors import make_executor
from hybrid_nas.engine.objectives import TRADE_OFF, Objective
from hybrid_nas.engine.space import Architecture, SearchSpace
from hybrid_nas.engine.storages.base import InMemoryStore, TrialStore, meta_hash
from hybrid_nas.engine.strategies.base import Strategy
from hybrid_nas.engine.trial import Trial, TrialState


def trial_seed(study_seed: int, number: int) -> int:
    """Each trial's own seed: independent of executor and completion order."""
    return int(np.random.SeedSequence([study_seed, number]).generate_state(1)[0])


def _flat(d: dict, prefix: str = "") -> dict:
    """Nested settings as dotted keys, so a difference names the setting, not the whole section."""
    out: dict = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) and v else {f"{prefix}{k}": v}
    return out


def _diff(stored: dict, current: dict) -> str:
    stored, current = _flat(stored), _flat(current)
    keys = sorted(k for k in set(stored) | set(current) if k != "hash" and stored.get(k) != current.get(k))
    return ", ".join(f"{k}: stored {stored.get(k)!r} vs now {current.get(k)!r}" for k in keys)[:600]


class Study:
    """Runs ``strategy`` against ``evaluator`` and records every trial in ``store``.

    Only the strategy's public ask/tell is used. An evaluator that raises or returns a non-finite
    figure gives a FAILED trial (with its traceback) and the study goes on. A failure that is not the
    evaluation's own (a worker process dies, a Dask worker is lost, setup fails) is no verdict on the
    architecture: the trial runs again under its number and seed, up to ``max_retries`` times; then the
    study stops, the trial stays RUNNING and ``resume`` runs it again. With
    ``count_repeats=False`` an architecture is evaluated once: when proposed again the strategy is
    told the stored result and no budget is spent. With ``count_repeats=True`` (the MnasNet-paper
    protocol: every sample counts) a repeat is recorded as a new trial that reuses the stored
    metrics.

    A store that already holds trials of the same configuration is resumed (``resume=True``):
    finished trials are told to the strategy, trials left RUNNING by a killed run are evaluated again
    under their own numbers and seeds, and none is repeated or lost.

    A shared store (an Optuna storage) takes several drivers on one study: the store gives the numbers,
    each driver hears the trials the others finish (strategy and duplicate cache alike) and skips
    architectures in flight elsewhere, and a RUNNING trial is evaluated again only once its driver's
    heartbeat has stopped. The budget counts the study's trials, whoever ran them; a driver that reaches it
    waits for trials still running elsewhere, so that it can take over those of a driver that died.
    """

    def __init__(
        self,
        space: SearchSpace,
        evaluator: Evaluator,
        objective: Objective,
        strategy: Strategy,
        *,
        store: TrialStore | None = None,
        seed: int = 0,
        count_repeats: bool = False,
        resume: bool = False,
        workers: int = 1,
        dask_scheduler: str | None = None,
        progress: bool = False,
        max_repeat_streak: int = 1000,
        max_retries: int = 2,
    ):
        self.space, self.evaluator, self.objective, self.strategy = space, tag(evaluator), objective, strategy
        self.store = store if store is not None else InMemoryStore()
        self.seed, self.count_repeats = seed, count_repeats
        self.workers, self.dask_scheduler, self.progress = workers, dask_scheduler, progress
        self.max_repeat_streak, self.max_retries = max_repeat_streak, max_retries
        self.lost: dict[int, list[str]] = {}  # trial number -> why each of its evaluations was lost
        self.stop_reason = ""
        self.meta = {
            "space": space.meta(),
            "evaluator": evaluator.meta(),
            "objective": objective.meta(),
            "strategy": strategy.meta(),
            "seed": seed,
            "count_repeats": count_repeats,
        }
        self.meta["hash"] = meta_hash(self.meta)
        self._cache: dict[str, Trial] = {}  # space.key(arch) -> its first finished trial
        self._requeue: list[Trial] = []
        self._known: set[int] = set()  # numbers this driver runs or has told the strategy (shared stores)
        self._elsewhere: set[str] = set()  # keys of trials other drivers are running
        self._synced, self._count = -math.inf, 0  # last full read of a shared store, and its trial count then
        self._crowded = False  # another driver runs this study too
        self._load(resume)

    def _load(self, resume: bool) -> None:
        stored, trials = self.store.get_meta(), self.store.trials()
        if trials and not resume:
            raise ConfigError(
                f"the store already holds {len(trials)} trials; pass --resume to continue it, or choose another --out"
            )
        if stored is not None and trials and stored.get("hash") != self.meta["hash"]:
            raise ConfigError(
                f"cannot resume: the stored study has another configuration ({_diff(stored, self.meta)}); "
                "use the same settings or another --out"
            )
        self.store.set_meta(self.meta)
        for t in trials:
            if t.state != TrialState.RUNNING:
                self._learn(t)
            elif not self.store.shared:  # a shared store's RUNNING trials may be alive elsewhere: see _sync
                self._requeue.append(t)
        if self.store.shared:
            # each driver its own stream, or two drivers would propose the same architectures in step
            self.strategy.reseed([self.seed, len(trials), os.getpid(), time.time_ns() % 2**32])
        elif trials:
            # a fresh random stream: replaying the original one would only propose cached archs
            self.strategy.reseed([self.seed, len(trials)])

    def _learn(self, t: Trial) -> None:
        """A finished trial joins the duplicate cache and the strategy's knowledge."""
        self._known.add(t.number)
        self._cache.setdefault(self.space.key(t.arch), t)
        self._tell(t)

    def _sync(self, force: bool = False) -> None:
        """A shared store: learn what other drivers finished, note what they run, take over stale trials.

        Alone in the study, a driver knows every trial and reads them once per heartbeat (for stale ones).
        Once another driver shows up (a number it did not expect), it reads them before every proposal, so
        that two drivers run the same architecture only if both propose it within the same instant."""
        if not self.store.shared:
            return
        if not (force or self._crowded or time.monotonic() - self._synced >= self.store.heartbeat):
            return
        self._synced = time.monotonic()
        trials = {t.number: t for t in self.store.trials()}
        self._count = max(trials, default=-1) + 1
        self._crowded = self._crowded or any(
            t.state == TrialState.RUNNING and n not in self._known for n, t in trials.items()
        )
        self._elsewhere = {
            self.space.key(t.arch)
            for t in trials.values()
            if t.state == TrialState.RUNNING and t.number not in self._known
        }
        for t in trials.values():
            if t.number not in self._known and t.state != TrialState.RUNNING:
                self._learn(t)
        for number in self.store.stale():
            if number in trials and self.store.claim(number):
                self._known.add(number)
                self._requeue.append(replace(trials[number], seed=trial_seed(self.seed, number)))

    @property
    def trials(self) -> list[Trial]:
        return self.store.trials()

    def _tell(self, t: Trial, arch: Architecture | None = None) -> None:
        """Tell the strategy ``t``'s result, as the result of ``arch`` when that is another way to build it."""
        feasible = t.ok and self.objective.feasible(t.metrics)
        self.strategy.tell(arch or t.arch, t.reward if t.ok else None, t.objectives, feasible)

    def _score(self, trial: Trial, metrics, error, duration) -> Trial:
        reward = objectives = None
        if metrics is not None:
            reward = float(self.objective.reward(metrics))
            objectives = tuple(float(v) for v in self.objective.vector(metrics))
            if not math.isfinite(reward):
                error = f"reward is not finite ({reward}) for metrics {metrics}"
        state = TrialState.FAILED if error else TrialState.COMPLETE
        return replace(
            trial,
            state=state,
            metrics=metrics or {},
            reward=None if error else reward,
            objectives=None if error else objectives,
            error=error,
            duration=duration,
        )

    def _new(self, trial: Trial) -> Trial:
        """A new RUNNING trial under the store's number, with that number's seed."""
        number, trial = trial.number, self.store.create(trial)
        self._crowded = self._crowded or trial.number != number  # another driver took numbers meanwhile
        self._known.add(trial.number)
        return replace(trial, seed=trial_seed(self.seed, trial.number))

    def _finish(self, trial: Trial, future: Future) -> Trial | None:
        """The scored trial, or None when the evaluation was lost (the caller retries or stops)."""
        try:
            metrics, error, duration = future.result()
        except Exception as e:  # noqa: BLE001 - a dead worker process, a lost Dask worker, a failing setup
            why = "worker process died" if isinstance(e, BrokenExecutor) else f"{type(e).__name__}: {e}"
            self.lost.setdefault(trial.number, []).append(why.splitlines()[0])
            self.store.put(replace(trial, error=why))  # still RUNNING: the reason shows until it runs again
            return None
        trial = self._score(trial, metrics, error, duration)
        self.store.put(trial)
        self._learn(trial)
        return trial

    def run_given(self, arch: Architecture) -> Trial:
        """Evaluate ``arch`` here and now as a new trial of the study, and store it: the step of a driver whose
        architectures come from elsewhere (an NNI trial process runs one). It is stored RUNNING first, so a
        process that dies mid-evaluation leaves it RUNNING, like a trial of the loop."""
        trial = self._new(
            Trial(
                number=self.store.next_number(),
                arch=self.space.validate(arch),
                state=TrialState.RUNNING,
                seed=0,  # the number's own seed, once the store has given the number
                started=time.time(),
            )
        )
        self.store.put(trial)
        trial = self._score(trial, *run_evaluation(self.evaluator, trial.arch, trial.seed))
        self.store.put(trial)
        self._learn(trial)
        return trial

    def optimize(self, n_trials: int | None = None, seconds: float | None = None) -> Study:
        """Run until the study holds ``n_trials`` trials and/or ``seconds`` have passed."""
        if n_trials is None and seconds is None:
            raise ConfigError("give a budget: a number of trials and/or seconds")
        if n_trials is not None and n_trials < 1:
            raise ConfigError(f"the budget must be at least 1 trial, got {n_trials}")
        if seconds is not None and not seconds > 0:
            raise ConfigError(f"the time budget must be > 0 seconds, got {seconds}")
        loop = _Loop(self, n_trials, seconds)
        try:
            while True:
                loop.fill()
                if not loop.pending and not loop.idle():
                    break
                if loop.pending:
                    loop.collect()
        finally:
            loop.close()
        return self

    def _running_elsewhere(self) -> bool:
        if not self.store.shared:
            return False
        self._sync(force=True)
        return bool(self._requeue or self._elsewhere)

    def _progress_value(self, trial: Trial) -> float | None:
        """What the progress bar follows, by the objective's rule: the reward of a trade-off, else the
        quality of trials within the limit."""
        if self.objective.rule == TRADE_OFF:
            return trial.reward
        feasible = self.objective.feasible(trial.metrics)
        return trial.metrics.get(self.evaluator.quality, -math.inf) if feasible else None

    def _progress_label(self) -> str:
        if self.objective.rule == TRADE_OFF:
            return "best reward"
        return f"best {self.evaluator.quality}" + (" within T" if self.objective.T is not None else "")


class _Loop:
    """One ``Study.optimize`` call: the executor, the trials in flight and the budget, in named steps.

    ``fill`` submits trials until every slot is busy or the budget is spent; ``collect`` waits for the first
    to finish and records it; ``idle`` decides what an empty executor means (a broken pool to rebuild, trials
    running in other drivers to wait for, or the end)."""

    def __init__(self, study: Study, n_trials: int | None, seconds: float | None):
        self.study, self.n_trials, self.seconds = study, n_trials, seconds
        self.executor, self.slots = make_executor(study.workers, study.dask_scheduler)
        self.pending: dict[Future, Trial] = {}
        self.in_flight: dict[Future, str] = {}  # space.key of each pending trial, computed once
        self.start, self.next_number = time.monotonic(), study.store.next_number()
        self.streak, self.best, self.stopping = 0, -math.inf, False
        self.bar = tqdm(
            total=n_trials,
            initial=self.next_number - len(study._requeue),
            disable=not study.progress,
            desc=study.strategy.name,
            unit="trial",
            dynamic_ncols=True,
        )
        study.stop_reason = "budget"

    def stop(self, reason: str) -> None:
        self.study.stop_reason, self.stopping = reason, True

    def fill(self) -> None:
        """Submit requeued trials first, then new proposals, while a slot is free and the budget allows."""
        study = self.study
        while len(self.pending) < self.slots and not self.stopping:
            study._sync()
            if study._requeue:
                if not self.submit(study._requeue.pop(0)):
                    return
                continue
            if study.store.shared:
                self.next_number = max(self.next_number, study._count)  # the study's, as last read
            if self.n_trials is not None and self.next_number >= self.n_trials:
                return
            if self.seconds is not None and time.monotonic() - self.start >= self.seconds:
                self.stop("time")
                return
            if not self.propose():
                return

    def propose(self) -> bool:
        """Ask the strategy for one architecture and start it; False when nothing more can start now."""
        study = self.study
        arch = study.space.validate(study.strategy.ask())
        key = study.space.key(arch)
        seen = study._cache.get(key)
        if seen is not None and not study.count_repeats:
            study._tell(seen, arch)
            self.streak += 1
            if self.streak >= study.max_repeat_streak or len(study._cache) >= study.space.size():
                self.stop(f"the strategy proposed only evaluated architectures {self.streak} times in a row")
                return False
            return True
        if not study.count_repeats and (key in self.in_flight.values() or key in study._elsewhere):
            return False  # the same arch is in flight: wait for it, the strategy hears its result then
        self.streak = 0
        trial = study._new(
            Trial(
                number=self.next_number,
                arch=arch,
                state=TrialState.RUNNING,
                seed=trial_seed(study.seed, self.next_number),
                started=time.time(),
            )
        )
        self.next_number = trial.number + 1
        if seen is None:
            return self.submit(trial)
        # count_repeats: a new sample with the stored result
        trial = replace(
            seen,
            number=trial.number,
            arch=arch,
            seed=trial.seed,
            started=trial.started,
            duration=0.0,
            repeat_of=seen.repeat_of if seen.repeat_of is not None else seen.number,
        )
        study.store.put(trial)
        study._tell(trial)
        self.bar.update()
        return True

    def submit(self, trial: Trial) -> bool:
        trial = replace(trial, error=None)
        self.study.store.put(trial)
        try:
            future = self.executor.submit(run_evaluation, self.study.evaluator, trial.arch, trial.seed)
        except BrokenExecutor:  # a worker died since the last wait: run this trial on the rebuilt pool
            self.study._requeue.insert(0, trial)
            return False
        self.pending[future], self.in_flight[future] = trial, self.study.space.key(trial.arch)
        return True

    def idle(self) -> bool:
        """Nothing in flight: True to go on (after rebuilding a broken pool, or waiting for other drivers)."""
        if self.stopping:
            return False
        if self.study._requeue:  # the pool broke with nothing in flight: a new pool
            self.rebuild()
            return True
        if self.study._running_elsewhere():
            time.sleep(min(1.0, self.study.store.heartbeat))  # until they finish or go stale (then ours)
            return True
        return False

    def collect(self) -> None:
        """Wait for the first evaluation to end and record it (and every other that ended meanwhile)."""
        finished, _ = wait(self.pending, return_when=FIRST_COMPLETED)
        if any(isinstance(f.exception(), BrokenExecutor) for f in finished):
            # a dead worker process breaks the whole pool: every trial in flight fails with it
            finished, _ = wait(self.pending)
            self.rebuild()
        for future in sorted(finished, key=lambda f: self.pending[f].number):
            self.in_flight.pop(future)
            sent = self.pending.pop(future)
            trial = self.study._finish(sent, future)
            if trial is None:
                self.lost(sent)
            else:
                self.show(trial)

    def lost(self, sent: Trial) -> None:
        """An evaluation lost through no fault of the architecture: again, or stop once it was lost too often."""
        lost = self.study.lost[sent.number]
        if len(lost) <= self.study.max_retries:
            self.study._requeue.append(sent)
        elif not self.stopping:
            self.stop(
                f"trial {sent.number} was lost {len(lost)} times ({lost[-1]}); it stays RUNNING and --resume "
                "runs it again"
            )

    def show(self, trial: Trial) -> None:
        self.bar.update()
        value = self.study._progress_value(trial) if trial.ok else None
        if value is not None and value > self.best:
            self.best = value
            self.bar.set_postfix_str(f"{self.study._progress_label()}={value:.4g}", refresh=False)

    def rebuild(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor, self.slots = make_executor(self.study.workers, self.study.dask_scheduler)

    def close(self) -> None:
        self.bar.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
