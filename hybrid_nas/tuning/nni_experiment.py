"""NNI's own experiment loop: ``hybrid-nas hpo quantum|classical --tuner nni:NAME``.

The job starts an NNI experiment (local training service, NNI's node manager, NNI's tuner NAME) whose trials are
``python -m hybrid_nas.tuning.nni_trial TARGET --run-dir RUN``. Each trial process takes NNI's parameters,
evaluates them as a new trial of the run's study (``Study.run_given``, on the run's journal opened shared, the
way several drivers share one study) and reports the result to NNI. A trial is thus recorded once, by the
process that ran it, through the engine's store; one whose process died is left RUNNING or unrecorded, and the
job records it as failed from NNI's account of its trials once the experiment has ended.

NNI runs in a child process of the job (``python -m hybrid_nas.tuning.nni_experiment nni/plan.json``) whose HOME is the
run's ``nni/`` directory: NNI keeps its list of experiments and its config files under HOME and its experiment in
its working directory, so all it writes stays in the run directory; its console output goes to
``nni/driver.log``. The trials get the user's HOME back. The child stops the experiment (NNI's manager and any
trial still running) whatever ends it, and when the job that started it is gone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hybrid_nas.engine.errors import ConfigError, RunFailed, did_you_mean
from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.strategies.base import Strategy
from hybrid_nas.engine.trial import Trial, TrialState

# NNI's built-in tuners that run here, as NNI spells them -> whether the tuner takes a seed
TUNERS = {"TPE": True, "Random": True, "Evolution": False, "GridSearch": False}
_SMAC3 = "SMAC3 is this command's own tuner: --tuner smac (the default) with --method hpo, multi-fidelity or random"
# NNI 3.0's other built-in tuners, and why each does not run here
REFUSED = {
    "SMAC": f"NNI's SMAC tuner needs smac4nni, an old SMAC fork that does not install beside smac 2.x; {_SMAC3}",
    "BOHB": "NNI's BOHB needs statsmodels and trials that read NNI's TRIAL_BUDGET; "
    "SMAC3's Hyperband is --tuner smac --method multi-fidelity",
    "Hyperband": "NNI's Hyperband hands trials a TRIAL_BUDGET these trials do not read; "
    "SMAC3's Hyperband over the epochs is --tuner smac --method multi-fidelity",
    "Anneal": "NNI's Anneal needs hyperopt 0.1.2 (2018), which uses np.float, gone since NumPy 1.24; use nni:TPE",
    "TPE_legacy": "NNI's TPE_legacy needs hyperopt 0.1.2 (2018), which uses np.float, gone since NumPy 1.24",
    "GP": "NNI's GP tuner fails with NumPy 2.4 ('setting an array element with a sequence'); use nni:TPE",
    "Metis": "NNI's Metis tuner fails with SciPy 1.17 (\"'x0' must only have one dimension\"); use nni:TPE",
    "DNGO": "NNI's DNGO tuner needs pybnn, which is not installed here; use nni:TPE",
    "PBT": "NNI's PBT tuner resumes trials from checkpoints, which these trials do not write",
    "Batch": "NNI's Batch tuner runs a list of configurations given as one choice, not a search space",
    "NetworkMorphism": "NNI's NetworkMorphism tuner searches network graphs, not a training's hyperparameters",
    "PPO": "NNI's PPO tuner searches neural architectures (and needs gym), not a training's hyperparameters",
    "RegularizedEvolutionTuner": "NNI's RegularizedEvolutionTuner searches choices of neural architectures only",
}
NNI_MISSING = "pip install 'hybrid-nas[nni]'"
_MODULE = "hybrid_nas.tuning.nni_experiment"
_DONE = ("DONE", "STOPPED", "ERROR")
_FINISHED = ("SUCCEEDED", "FAILED", "USER_CANCELED", "SYS_CANCELED", "EARLY_STOPPED")


def nni_tuner(tuner: str) -> str | None:
    """The NNI tuner ``--tuner`` names (None for SMAC3), or one line saying why it cannot run here (see also
    ``require_nni``)."""
    if tuner == "smac":
        return None
    prefix, _, name = tuner.partition(":")
    if prefix != "nni" or not name:
        raise ConfigError(f"--tuner {tuner!r}: expected smac or nni:NAME with NAME one of {', '.join(TUNERS)}")
    if name in REFUSED:
        raise ConfigError(f"--tuner {tuner}: {REFUSED[name]}")
    if name not in TUNERS:
        near = did_you_mean(name, TUNERS) or next(
            (f" (did you mean {t!r}?)" for t in (*TUNERS, *REFUSED) if t.lower() == name.lower()), ""
        )
        raise ConfigError(f"unknown NNI tuner {name!r}{near}; the built-in ones that run here: {', '.join(TUNERS)}")
    return name


def require_nni(tuner: str) -> None:
    """NNI must be installed for ``--tuner nni:...`` (found without importing it: that takes seconds)."""
    if importlib.util.find_spec("nni") is None:
        raise ConfigError(f"--tuner {tuner} runs an NNI experiment, and NNI is not installed: {NNI_MISSING}")


class NNITuner(Strategy):
    """The study's record of what proposes its trials: an NNI tuner, which does so inside NNI's experiment."""

    name = "nni"

    def __init__(self, space, seed: int = 0, tuner: str = "TPE"):
        super().__init__(space, seed)
        self.tuner = tuner

    def ask(self) -> Architecture:
        raise RuntimeError("NNI's experiment proposes the trials of this study; its trial processes run them")

    def options(self) -> dict:
        return {"tuner": self.tuner}


def nni_study(dir: Path, spec, settings, *, resume: bool):
    """The run's study as NNI's trials share it: the run's journal opened by every process that records a trial
    (the job, each trial process), the configuration checked against the stored one."""
    from hybrid_nas.engine.storages.base import open_study
    from hybrid_nas.engine.study import Study

    tuner = NNITuner(spec.space, settings.seed, nni_tuner(settings.tuner) or "")
    store = open_study(dir, shared=True)
    try:
        return Study(spec.space, spec.evaluator, spec.objective, tuner, store=store, seed=settings.seed, resume=resume)
    except BaseException:
        store.close()
        raise


def run_nni(dir: Path, spec, settings, target: str, *, resume: bool, progress: bool):
    """An HPO study run by an NNI experiment of ``settings.trials`` trials (those a resumed run lacks), at most
    ``settings.workers`` at a time; a ``StudyResult`` like the engine's ``search``."""
    from hybrid_nas.engine.jobs import StudyResult
    from hybrid_nas.engine.results import StudyView
    from hybrid_nas.engine.study import trial_seed

    start = time.perf_counter()
    study = nni_study(dir, spec, settings, resume=resume)
    store = study.store
    try:
        for t in study.trials:  # a killed run's trials in flight: NNI stopped them with it, and runs others
            if t.state == TrialState.RUNNING:
                store.put(replace(t, state=TrialState.FAILED, error="stopped with the run before it finished"))
        done = study.trials
        reason = "budget"
        if settings.trials > len(done):
            # a resumed run's tuner: a fresh random stream (the first one would propose the stored trials again)
            seed = settings.seed if not done else trial_seed(settings.seed, len(done)) % 2**31
            plan = {
                "dir": str((dir / "nni").resolve()),
                "name": f"hybrid-nas hpo {target} {dir.name}"[:100],
                "tuner": study.strategy.tuner,
                "class_args": {"optimize_mode": "maximize"} | ({"seed": seed} if TUNERS[study.strategy.tuner] else {}),
                "search_space": spec.space.spec,
                "trials": settings.trials - len(done),
                "concurrency": settings.workers,
                "command": trial_command(target, dir),
                "cwd": os.getcwd(),  # the trials resolve the settings' relative paths as the job did
                "imported": [{"parameter": dict(t.arch), "value": t.reward} for t in done if t.ok],
            }

            def finished() -> int:
                return sum(t.state != TrialState.RUNNING for t in store.trials()) - len(done)

            outcome = _experiment(plan, finished, progress)
            _record_lost(store, outcome, len(done), dir, settings.seed)
            if outcome.get("import_error"):
                print(f"hpo: NNI's tuner did not take the stored trials ({outcome['import_error']}): it started afresh")
            reason = "the tuner had no more configurations" if outcome.get("exhausted") else reason
            if outcome["status"] == "ERROR":
                raise RunFailed(
                    f"NNI's experiment stopped with an error: {outcome.get('errors') or 'no message'}; "
                    f"see {dir / 'nni' / outcome['experiment'] / 'log'}"
                )
        view = StudyView(study.meta, store.trials())
        return StudyResult(spec, dir, view, time.perf_counter() - start, reason)
    finally:
        store.close()


def trial_command(target: str, dir: Path) -> str:
    """What NNI runs per trial: this package's trial entry point on the run, with the user's HOME (NNI's own
    processes have the run's ``nni/`` as theirs)."""
    home = shlex.quote(os.path.expanduser("~"))
    run = shlex.quote(str(dir.resolve()))
    return f"HOME={home} {shlex.quote(sys.executable)} -m hybrid_nas.tuning.nni_trial {target} --run-dir {run}"


def _experiment(plan: dict, finished, progress: bool) -> dict:
    """Run the NNI experiment of ``plan`` in the child process and return its account of the experiment: its
    id, its final status and NNI's trials (their status, parameters, final result and output directory)."""
    from tqdm.auto import tqdm

    nni_dir = Path(plan["dir"])
    nni_dir.mkdir(parents=True, exist_ok=True)
    account = nni_dir / "outcome.json"
    account.unlink(missing_ok=True)
    (nni_dir / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    with open(nni_dir / "driver.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", _MODULE, str(nni_dir / "plan.json")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(nni_dir)},
        )
    bar = tqdm(total=plan["trials"], disable=not progress, desc=f"nni:{plan['tuner']}", unit="trial")
    try:
        while proc.poll() is None:
            time.sleep(0.5)
            bar.update(max(0, min(finished(), plan["trials"]) - bar.n))
    except BaseException:  # Ctrl-C or an error here: the child stops the experiment and its trials, then ends
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        bar.close()
    if not account.is_file():
        raise RunFailed(
            f"NNI's experiment ended (exit status {proc.returncode}) without an account of its trials; "
            f"see {nni_dir / 'driver.log'}"
        )
    outcome = json.loads(account.read_text())
    if "error" in outcome:
        raise RunFailed(f"NNI's experiment could not run: {outcome['error']}; see {nni_dir / 'driver.log'}")
    return outcome


def _record_lost(store, outcome: dict, first: int, dir: Path, seed: int) -> None:
    """NNI's trials whose process died, recorded as failed trials of the study: a trial it left RUNNING, and
    parameters NNI handed out that no trial of the study holds (the process died before it recorded one)."""
    from hybrid_nas.engine.study import trial_seed

    jobs = outcome["jobs"]
    trials = [t for t in store.trials() if t.number >= first]
    unused = [j for j in jobs if j["status"] != "SUCCEEDED"]

    def why(arch: dict, what: str) -> str:
        # NNI may list a parameter set under another of the trials started at the same moment: the one
        # listed with these parameters if any failed, else any failed one
        job = next((j for j in unused if j["parameters"] == arch), unused[0] if unused else None)
        if job is None:
            return f"the NNI trial process {what}"
        unused.remove(job)
        stderr = Path(job["log"]) / "trial.stderr"
        lines = stderr.read_text(errors="replace").strip().splitlines() if stderr.is_file() else []
        last = f": {lines[-1]}" if lines else ""
        where = os.path.relpath(job["log"], dir) if job["log"] else "nni/"
        return f"the NNI trial process ({job['status']}) {what}{last}; its output: {where}"

    for t in trials:
        if t.state == TrialState.RUNNING:
            store.put(replace(t, state=TrialState.FAILED, error=why(dict(t.arch), "died during the evaluation")))
    held = [dict(t.arch) for t in trials]
    for job in sorted(jobs, key=lambda j: j["sequence"]):
        if job["parameters"] is None:
            continue
        if job["parameters"] in held:
            held.remove(job["parameters"])
            continue
        arch = Architecture(job["parameters"])
        trial = store.create(Trial(number=store.next_number(), arch=arch, state=TrialState.RUNNING, seed=0))
        error = why(dict(arch), "ended before it recorded its trial")
        store.put(replace(trial, seed=trial_seed(seed, trial.number), state=TrialState.FAILED, error=error))


# -- the child process: NNI's experiment ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _job(job: Any) -> dict:
    """What the job needs of one NNI trial job (NNI's dataclass)."""
    params = job.hyperParameters[0].parameters if job.hyperParameters else None
    final = job.finalMetricData[0].data if job.finalMetricData else None
    if isinstance(final, str):
        final = json.loads(final)
    return {
        "id": job.trialJobId,
        "sequence": job.sequenceId,
        "status": job.status,
        "parameters": params,
        "final": final,
        "log": job.logPath,
    }


def _wait(exp, parent: int, imported: list, outcome: dict) -> tuple[str, str, bool]:
    """Until NNI's experiment is done (or broken, or the job gone): its status, errors, whether the tuner ran
    out of configurations. ``imported`` (a resumed run's trials) goes to the tuner once it runs: NNI 3.0 leaves
    an import sent before that unanswered."""
    from nni.experiment import rest

    exhausted = False
    while True:
        if imported and exp.list_trial_jobs():
            try:
                rest.post(exp.port, "/experiment/import-data", imported)
            except Exception as e:  # noqa: BLE001 - the tuner then learns from this experiment's trials only
                outcome["import_error"] = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
            imported = []
        check = rest.get(exp.port, "/check-status")
        status, errors = check["status"], "; ".join(map(str, check.get("errors") or []))
        exhausted = exhausted or status == "TUNER_NO_MORE_TRIAL"
        if status in _DONE or os.getppid() != parent:
            return status, errors, exhausted
        if status in ("NO_MORE_TRIAL", "TUNER_NO_MORE_TRIAL"):
            jobs = exp.list_trial_jobs()
            if jobs and all(j.status in _FINISHED for j in jobs):
                return status, errors, exhausted
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    """``python -m hybrid_nas.tuning.nni_experiment PLAN.json``: the experiment ``run_nni`` planned."""
    plan = json.loads(Path((argv if argv is not None else sys.argv[1:])[0]).read_text())
    from nni.experiment import Experiment
    from nni.runtime.log import silence_stdout

    silence_stdout()
    exp = Experiment("local")
    c = exp.config
    c.experiment_name = plan["name"]
    c.search_space = plan["search_space"]
    c.trial_command = plan["command"]
    c.trial_code_directory = plan["cwd"]
    c.trial_concurrency = plan["concurrency"]
    c.max_trial_number = plan["trials"]
    c.tuner.name = plan["tuner"]
    c.tuner.class_args = plan["class_args"]
    c.experiment_working_directory = plan["dir"]
    c.training_service.use_active_gpu = False
    outcome: dict[str, Any] = {"experiment": exp.id}
    parent = os.getppid()
    try:
        exp.start(_free_port())
        status, errors, exhausted = _wait(exp, parent, plan["imported"], outcome)
        outcome |= {"status": status, "errors": errors, "exhausted": exhausted}
        outcome["jobs"] = [_job(j) for j in exp.list_trial_jobs()]
    except Exception as e:  # noqa: BLE001 - NNI failing to start or answer: one line for the job
        outcome["error"] = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
    finally:
        exp.stop()
        partial = Path(plan["dir"], "outcome.json.part")
        partial.write_text(json.dumps(outcome, default=str) + "\n")
        partial.replace(Path(plan["dir"], "outcome.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
