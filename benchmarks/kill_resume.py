"""kill -9, then --resume: how soon a resumed run writes its first new trial, and that none is lost or repeated.

A 3000-trial NAS-Bench-201 study (`hybrid-nas bench nb201`, the run's own journal) is killed with SIGKILL once
--kill-after trials are in its journal, then resumed (``hn.nb201.search(..., resume=True)`` in a fresh process,
the package's commands imported first). Reported: the seconds from the resume's start (the API call) until its
first new trial is in the journal (bar: < 2 s; a journal lock left by the killed process would cost Optuna's
30 s grace here), the same from the process's launch (the interpreter and imports: what a `hybrid-nas ...
--resume` on the command line adds), and whether every trial number 0..2999 is present exactly once and
finished.

    python benchmarks/kill_resume.py [--budget 3000] [--kill-after 500]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "kill_resume.json"
BAR = 2.0
CREATE_TRIAL = b'"op_code":4,'  # Optuna's journal operation that adds a trial


class Counter:
    """Trials created in a journal so far, counted from its lines as they are appended (no Optuna, and only
    the new bytes read: cheap enough to poll beside the run)."""

    def __init__(self, journal: Path):
        self.journal, self.offset, self.count, self.rest = journal, 0, 0, b""

    def __call__(self) -> int:
        try:
            with open(self.journal, "rb") as f:
                f.seek(self.offset)
                new = f.read()
        except FileNotFoundError:
            return 0
        self.offset += len(new)
        lines = (self.rest + new).split(b"\n")
        self.rest = lines.pop()  # a line still being written
        self.count += sum(CREATE_TRIAL in line for line in lines)
        return self.count


# the resumed run: everything imported, then the clock starts at the API call
RESUME = """
import sys, time
import hybrid_nas as hn
from hybrid_nas.engine.registry import commands
commands()  # every installed command imported, as the CLI does
called = time.time()
hn.nb201.search(out=sys.argv[1], budget=int(sys.argv[2]), resume=True, progress=False)
print(called, time.time())
"""


def command(out: Path, budget: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hybrid_nas.cli",
        "bench",
        "nb201",
        "--budget",
        str(budget),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=3000)
    ap.add_argument("--kill-after", type=int, default=500, help="trials in the journal before the SIGKILL")
    args = ap.parse_args()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        trials_written = Counter(out / "optuna.journal")
        first = subprocess.Popen(command(out, args.budget), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 600
        while trials_written() < args.kill_after and first.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        if first.poll() is not None:
            raise SystemExit(f"the run ended before the kill: {first.stderr.read().decode()[-1000:]}")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = trials_written()

        launched = time.time()
        resumed = subprocess.Popen(
            [sys.executable, "-c", RESUME, str(out), str(args.budget)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while trials_written() <= killed_at and resumed.poll() is None:
            time.sleep(0.002)
        first_new = time.time()
        stdout, stderr = resumed.communicate(timeout=900)
        if resumed.returncode != 0:
            raise SystemExit(f"the resume failed:\n{stderr.decode()[-2000:]}")
        called, ended = (float(x) for x in stdout.split())
        to_first_new, from_launch, total = first_new - called, first_new - launched, ended - called

        sys.path.insert(0, str(ROOT))
        from hybrid_nas.engine.storages.base import open_study
        from hybrid_nas.engine.trial import TrialState

        store = open_study(out)
        trials = store.trials()
        import optuna

        frozen = optuna.load_study(study_name=store.name, storage=store.storage).trials
        store.close()
        numbers = [t.number for t in trials]
        result = {
            "budget": args.budget,
            "killed_after_trials": killed_at,
            "resume_to_first_new_trial_s": to_first_new,
            "launch_to_first_new_trial_s": from_launch,
            "resume_total_s": total,
            "every_number_once": numbers == list(range(args.budget)),
            "optuna_trials": len(frozen),
            "optuna_numbers_once": sorted(f.number for f in frozen) == numbers,
            "all_finished": all(t.state != TrialState.RUNNING for t in trials),
            "all_ok": all(t.ok for t in trials),
            "lock_files_left": sorted(p.name for p in out.iterdir() if p.name.endswith((".lock", ".rename"))),
        }
    print(f"killed (SIGKILL) after {killed_at} trials of {args.budget}; resumed:")
    print(
        f"  first new trial in the journal {to_first_new:.2f} s after the resume started (bar: < {BAR} s): "
        f"{'ok' if to_first_new < BAR else 'OVER'}"
    )
    print(f"  from the process's launch (interpreter, imports): {from_launch:.2f} s")
    print(f"  the whole resume to {args.budget} trials: {total:.1f} s")
    print(
        f"  every number 0..{args.budget - 1} once: {result['every_number_once']}, "
        f"Optuna trials {len(frozen)} (each once: {result['optuna_numbers_once']}), "
        f"all finished: {result['all_finished']}, all ok: {result['all_ok']}, "
        f"lock files left: {result['lock_files_left'] or 'none'}"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
