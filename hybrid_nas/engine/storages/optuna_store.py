"""The trial store on Optuna's storages: a run's own journal file (the default), or any URL Optuna takes
(``sqlite:///``, ``postgresql://``, ``mysql://``) or journal file named by ``--storage``, where several drivers,
or a team, share one study. optuna-dashboard reads either, live.

How a trial maps onto Optuna's:

- decisions -> params, each with a categorical distribution over the decision's options;
- the reward -> the value (maximised); under a Pareto objective quality and cost -> the values (maximise, minimise);
- metrics, seed, key and our number -> user attributes (non-finite figures as None); the whole trial, read back
  losslessly, -> one system attribute;
- the study's configuration -> study user attributes, one per top-level key.

A run's own journal has one driver (``shared=False``): a new trial is written when the study first puts it
(RUNNING, before it is submitted), its result in one append. Several drivers on one study (``shared``):
numbers come from the storage, so two drivers never take the same one. Each driver beats a heartbeat on the
trials it holds, from a thread (an evaluation may run in the driver's own thread for minutes). A RUNNING
trial whose heartbeat is older than ``grace`` seconds belonged to a driver that died: another driver claims
it through Optuna's WAITING -> RUNNING step and evaluates it again under its own number and seed. A trial
is finished once: should two drivers both run it, the first result stands.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import warnings
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from hybrid_nas.engine.errors import StorageError
from hybrid_nas.engine.registry import rebuild_space
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.storages.base import JOURNAL, TrialStore  # noqa: F401 - JOURNAL: re-exported
from hybrid_nas.engine.trial import Trial, TrialState

TRIAL_ATTR = "hybrid_nas:trial"
BEAT_ATTR = "hybrid_nas:heartbeat"


def load_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per created study
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def open_storage(url: str):
    """An Optuna storage: an RDB URL (``dialect://...``) or the path of a journal file."""
    optuna = load_optuna()
    try:
        if "://" in url:
            return _rdb(optuna, url)
        from hybrid_nas.engine.storages.journal import Journal

        try:
            return Journal(Path(url))
        except ValueError as e:  # a line that is not JSON: not a journal, or one a crash cut short
            raise StorageError(
                f"{url} is not an Optuna journal ({str(e).splitlines()[0]}); move it away or choose another --out"
            ) from None
    except Exception as e:  # noqa: BLE001 - a driver missing, a server down, a bad URL: one line
        why = str(e).splitlines()[0]
        if "import" in why.lower():
            why += " (the database's driver: pip install 'hybrid-nas[postgres]' or 'hybrid-nas[mysql]')"
        raise StorageError(f"cannot open the Optuna storage {url!r}: {why}") from None


def _rdb(optuna, url: str, attempts: int = 5):
    """An RDB storage; a first open creates the tables, and two drivers starting together race to do so:
    the loser finds them made on its next attempt."""
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as e:
            if attempt == attempts - 1 or "import" in str(e).lower():
                raise
            time.sleep(0.2 * (attempt + 1))


def _finite(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _choice(v):
    """An option as Optuna's categorical distributions take it (None, bool, int, float, str)."""
    return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v)


def _trial_json(t: Trial) -> str:
    return json.dumps(
        {
            "number": t.number,
            "arch": dict(t.arch),
            "state": int(t.state),
            "seed": t.seed,
            "metrics": {k: _finite(v) for k, v in t.metrics.items()},
            "reward": _finite(t.reward),
            "objectives": t.objectives,
            "error": t.error,
            "started": t.started,
            "duration": t.duration,
            "repeat_of": t.repeat_of,
        }
    )


def _from_json(text: str, running: bool) -> Trial:
    d = json.loads(text)
    return Trial(
        number=d["number"],
        arch=Architecture(d["arch"]),
        state=TrialState.RUNNING if running else TrialState(d["state"]),
        seed=d["seed"],
        metrics=d["metrics"],
        reward=d["reward"],
        objectives=tuple(d["objectives"]) if d["objectives"] is not None else None,
        error=d["error"],
        started=d["started"],
        duration=d["duration"],
        repeat_of=d["repeat_of"],
    )


class OptunaStore(TrialStore):
    """One study, ``study`` by name, in an Optuna storage (a URL, a journal path or a storage object).

    ``shared``: other drivers may run the same study (numbers from the storage, heartbeats, stale trials taken
    over). Not shared, this store is the study's only writer: it numbers the trials itself, beats no heartbeat,
    and writes a finished trial to a journal in one append.
    """

    def __init__(
        self, storage, study: str, *, shared: bool = True, heartbeat: float = 10.0, grace: float | None = None
    ):
        self.optuna = load_optuna()
        self.url = storage if isinstance(storage, str) else type(storage).__name__
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.name, self.shared = study, shared
        self.heartbeat, self.grace = heartbeat, grace if grace is not None else 3 * heartbeat
        self._count: int | None = None  # not shared: the number the next new trial takes
        self._ids: dict[int, int] = {}  # our number -> Optuna's trial id
        self._written: dict[int, tuple[dict, str]] = {}  # trial id -> (user attributes, trial) as last written
        self._held: set[int] = set()  # trial ids this store runs: the heartbeat thread beats them
        self._lock = threading.Lock()
        self._beat_thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._meta: dict | None = None
        self._shape: tuple[dict, tuple | None] | None = None  # (known distributions, Pareto's quality and cost)
        self.study_id = self._find()

    def __repr__(self) -> str:
        return f"OptunaStore({self.url!r}, study={self.name!r}, shared={self.shared})"

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self.optuna.exceptions.UpdateFinishedTrialError:
            raise
        except Exception as e:  # noqa: BLE001 - the database's own errors, as one line naming the store
            raise StorageError(
                f"Optuna storage {self.url!r}, study {self.name!r}: cannot {what}: {str(e).splitlines()[0]}"
            ) from None

    def _find(self) -> int | None:
        try:
            return self.storage.get_study_id_from_name(self.name)
        except KeyError:
            return None

    # -- the study ------------------------------------------------------------------------------------------

    def get_meta(self):
        if self.study_id is None:
            return None
        attrs = self._call("read the study", self.storage.get_study_user_attrs, self.study_id)
        return dict(attrs) if "hash" in attrs else None

    def set_meta(self, meta):
        meta = json.loads(json.dumps(meta, default=str))
        if self.study_id is None:
            self.study_id = self._create(meta)
        stored = self.get_meta() or {}
        for k, v in meta.items():
            if stored.get(k) != v:
                self._call("write the study", self.storage.set_study_user_attr, self.study_id, k, v)
        self._meta, self._shape = meta, None

    def _create(self, meta: dict) -> int:
        front = meta.get("objective", {}).get("rule") == "front"
        d = self.optuna.study.StudyDirection
        directions = [d.MAXIMIZE, d.MINIMIZE] if front else [d.MAXIMIZE]
        try:
            study_id = self.storage.create_new_study(directions, self.name)
        except self.optuna.exceptions.DuplicatedStudyError:  # another driver created it a moment ago
            return self.storage.get_study_id_from_name(self.name)
        objective = meta.get("objective", {})
        names = [objective.get("quality"), objective.get("cost")] if front else ["reward"]
        self.optuna.load_study(study_name=self.name, storage=self.storage).set_metric_names(names)
        return study_id

    # -- trials ---------------------------------------------------------------------------------------------

    def _layout(self) -> tuple[dict, tuple | None]:
        """What the study's configuration says about its trials, worked out once: each decision's distribution
        (its options; an HPO space's ranges), and the quality and cost that are the values of a Pareto study."""
        if self._shape is None:
            meta = self._meta or self.get_meta() or {}
            space, objective = meta.get("space") or {}, meta.get("objective") or {}
            rebuilt = rebuild_space(space) if space else None
            if rebuilt is not None and hasattr(rebuilt, "optuna_distributions"):  # ranges (HPO), not options
                known = rebuilt.optuna_distributions()
            else:
                dist = self.optuna.distributions.CategoricalDistribution
                known = {k: dist([_choice(o) for o in options]) for k, options in space.get("decisions", {}).items()}
            pareto = len(self.storage.get_study_directions(self.study_id)) == 2
            self._shape = known, (objective["quality"], objective["cost"]) if pareto else None
        return self._shape

    def _distributions(self, arch: Architecture) -> dict:
        known, single = self._layout()[0], self.optuna.distributions.CategoricalDistribution
        return {k: known.get(k) or single([_choice(v)]) for k, v in arch.items()}  # undescribed: its one value

    def _values(self, t: Trial) -> list[float] | None:
        if t.state != TrialState.COMPLETE:
            return None
        pareto = self._layout()[1]
        if pareto:
            return [float(t.metrics[pareto[0]]), float(t.metrics[pareto[1]])]
        return [float(t.reward)] if t.reward is not None else None

    def _user_attrs(self, t: Trial) -> dict:
        attrs = {"number": t.number, "seed": t.seed, "key": t.arch.key}
        attrs |= {k: _finite(v) for k, v in t.metrics.items() if k not in attrs}
        if t.error:
            attrs["error"] = t.error_line
        if t.repeat_of is not None:
            attrs["repeat_of"] = t.repeat_of
        return attrs

    def _template(self, t: Trial, state, attrs: dict | None = None, text: str | None = None):
        running = state == self.optuna.trial.TrialState.RUNNING
        frozen = self.optuna.trial.create_trial(
            state=state,
            values=None if running else self._values(t),
            params={k: _choice(v) for k, v in t.arch.items()},
            distributions=self._distributions(t.arch),
            user_attrs=attrs if attrs is not None else self._user_attrs(t),
            system_attrs={TRIAL_ATTR: text if text is not None else _trial_json(t)} | self._beat_attr(),
        )
        if t.started is not None:  # the evaluation's own times (a trial may be written once it has finished)
            frozen.datetime_start = datetime.fromtimestamp(t.started)
            if not running:
                frozen.datetime_complete = datetime.fromtimestamp(t.started + (t.duration or 0.0))
        return frozen

    def _beat_attr(self) -> dict:
        return {BEAT_ATTR: time.time()} if self.shared else {}

    def _state(self, t: Trial):
        s = self.optuna.trial.TrialState
        return {TrialState.RUNNING: s.RUNNING, TrialState.COMPLETE: s.COMPLETE, TrialState.FAILED: s.FAIL}[t.state]

    def create(self, trial: Trial) -> Trial:
        """Shared: store a new RUNNING trial under the next number the storage gives (atomic across drivers).
        Not shared: ``put`` writes it, under its own number."""
        if not self.shared:
            return trial
        tid = self._call(
            "create a trial",
            self.storage.create_new_trial,
            self.study_id,
            self._template(trial, self.optuna.trial.TrialState.RUNNING),
        )
        number = self._call("read a trial", self.storage.get_trial_number_from_id, tid)
        self._ids[number] = tid
        self._written[tid] = (self._user_attrs(trial), _trial_json(trial))
        self._hold(tid)
        return trial if number == trial.number else Trial(**{**trial.__dict__, "number": number})

    def put(self, trial: Trial) -> None:
        tid = self._id(trial.number)
        if tid is None and not self.shared:
            return self._add(trial)
        if tid is None:
            raise StorageError(
                f"Optuna study {self.name!r} has no trial {trial.number}: new trials are created "
                "through the store, which gives their numbers"
            )
        # each attribute is one transaction in an RDB: write only what changed since this store last wrote
        attrs, text = self._user_attrs(trial), _trial_json(trial)
        old_attrs, old_text = self._written.get(tid, ({}, None))
        try:
            with self._batch():
                for k, v in attrs.items():
                    if k not in old_attrs or old_attrs[k] != v:
                        self._call("write a trial", self.storage.set_trial_user_attr, tid, k, v)
                if text != old_text:
                    self._call("write a trial", self.storage.set_trial_system_attr, tid, TRIAL_ATTR, text)
                self._written[tid] = (attrs, text)
                if trial.state != TrialState.RUNNING:
                    self._written.pop(tid)
                    self._call(
                        "finish a trial",
                        self.storage.set_trial_state_values,
                        tid,
                        self._state(trial),
                        self._values(trial),
                    )
                    self._release(tid)
                else:
                    self._hold(tid)
        except self.optuna.exceptions.UpdateFinishedTrialError:
            self._release(tid)  # another driver finished it first (it claimed the trial as stale): its record stays

    def _batch(self):
        """One append for a trial's writes on a journal nobody else writes (shared, another driver may finish
        the trial meanwhile: each write then learns so on its own)."""
        batch = getattr(self.storage, "batch", None)
        return batch() if batch is not None and not self.shared else nullcontext()

    def _add(self, trial: Trial) -> None:
        """Not shared: a new trial, in whatever state the study first puts it, in one storage operation."""
        if trial.number != self.next_number():
            raise StorageError(
                f"Optuna study {self.name!r}: trial {trial.number} cannot follow trial "
                f"{self.next_number() - 1}; a study numbers its trials one after another"
            )
        if self.study_id is None:
            raise StorageError(f"Optuna study {self.name!r} has no configuration yet; set_meta comes first")
        attrs, text = self._user_attrs(trial), _trial_json(trial)
        tid = self._call(
            "write a trial",
            self.storage.create_new_trial,
            self.study_id,
            self._template(trial, self._state(trial), attrs, text),
        )
        self._ids[trial.number], self._count = tid, trial.number + 1
        if trial.state == TrialState.RUNNING:
            self._written[tid] = (attrs, text)

    def _id(self, number: int) -> int | None:
        if number not in self._ids:
            if not self.shared and number >= self.next_number():
                return None  # not written yet: no need to ask the storage
            try:
                self._ids[number] = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
            except KeyError:
                return None
        return self._ids[number]

    def trials(self):
        if self.study_id is None:
            return []
        frozen = self._call("read trials", self.storage.get_all_trials, self.study_id, deepcopy=False)
        out: dict[int, Trial] = {}
        for f in frozen:
            if TRIAL_ATTR not in f.system_attrs:
                raise StorageError(
                    f"Optuna study {self.name!r} in {self.url!r} holds trial {f.number}, "
                    "which hybrid-nas did not write; choose another study name or storage"
                )
            running = not f.state.is_finished()
            t = _from_json(f.system_attrs[TRIAL_ATTR], running)
            if t.number != f.number:
                t = Trial(**{**t.__dict__, "number": f.number})
            out.setdefault(t.number, t)
        return [out[k] for k in sorted(out)]

    def next_number(self):
        if self.study_id is None:
            return 0
        if self.shared or self._count is None:
            self._count = self._call("count trials", self.storage.get_n_trials, self.study_id)
        return self._count

    # -- several drivers ------------------------------------------------------------------------------------

    def stale(self) -> list[int]:
        """Numbers of RUNNING trials no live driver beats (older than ``grace`` seconds) and this store does
        not hold."""
        if self.study_id is None or not self.shared:
            return []
        now, s = time.time(), self.optuna.trial.TrialState
        frozen = self._call(
            "read trials", self.storage.get_all_trials, self.study_id, deepcopy=False, states=(s.RUNNING, s.WAITING)
        )
        with self._lock:
            held = set(self._held)
        return [
            f.number
            for f in frozen
            if self._id(f.number) not in held and now - float(f.system_attrs.get(BEAT_ATTR, 0.0)) > self.grace
        ]

    def claim(self, number: int) -> bool:
        """Take over a stale trial. Optuna's WAITING -> RUNNING step lets one claimant win; two that look
        within the same instant may both win, and then the first result to arrive is the one recorded."""
        tid, s = self._id(number), self.optuna.trial.TrialState
        if tid is None:
            return False
        try:
            if number not in self.stale():  # looked at again: another driver may have claimed it meanwhile
                return False
            self.storage.set_trial_state_values(tid, s.WAITING)
            won = self.storage.set_trial_state_values(tid, s.RUNNING)
        except self.optuna.exceptions.UpdateFinishedTrialError:
            return False
        if won:
            self._call("beat", self.storage.set_trial_system_attr, tid, BEAT_ATTR, time.time())
            self._hold(tid)
        return bool(won)

    def _hold(self, tid: int) -> None:
        if not self.shared:
            return  # nobody to tell that this driver lives
        with self._lock:
            self._held.add(tid)
            if self._beat_thread is None:
                self._beat_thread = threading.Thread(target=self._beat, name="hybrid-nas heartbeat", daemon=True)
                self._beat_thread.start()

    def _release(self, tid: int) -> None:
        with self._lock:
            self._held.discard(tid)

    def _beat(self) -> None:
        while not self._closed.wait(self.heartbeat):
            with self._lock:
                held = list(self._held)
            for tid in held:
                # finished meanwhile, or the database is briefly away: the next beat tries again
                with contextlib.suppress(Exception):
                    self.storage.set_trial_system_attr(tid, BEAT_ATTR, time.time())

    def close(self):
        self._closed.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout=5)
        remove = getattr(self.storage, "remove_session", None)
        if remove is not None:
            remove()
