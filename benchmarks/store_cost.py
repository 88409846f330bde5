"""What keeping the trials costs: in memory, the run's own Optuna journal (the default store), and Optuna storages
named by --storage; beside the old default (trials.sqlite + the journal mirror) of an older checkout.

Part 1, per trial: one NAS-Bench-201 study (table look-ups, regularised evolution: the store is most of the
work) of --trials trials on each store, one thread, each in a fresh interpreter, --repeats times in turn
(the median counts), ms per trial. With --baseline-root (a checkout from before the one store, e.g. 480ac5d)
its default store is measured in the same run and the new default's ratio to it printed (bar: <= 1.5x).
Part 2 (--quantum): the quantum default run (`hybrid-nas quantum`, in process), timing every call into the
store (opening it, importing Optuna included, writing trials) and the dashboard's artefacts against the
run's wall time.

    python benchmarks/store_cost.py --trials 1000 --baseline-root ../before [--quantum runs/q]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "store_cost.json"
BAR = 1.5

# One study, timed in a fresh interpreter; {imports} and {store} differ between the checkouts.
STUDY = """
import json, sys, time
from pathlib import Path
import torch
{imports}
torch.set_num_threads(1)
tmp, trials = Path(sys.argv[1]), int(sys.argv[2])
space, evaluator = NB201Space(), NB201Evaluator("cifar100", "titan_rtx_256")
store = {store}
start = time.perf_counter()
study = Study(space, evaluator, make_objective("constrained", T=17.0), make_strategy("evolution", space, seed=0),
              store=store, seed=0).optimize(trials)
seconds = time.perf_counter() - start
assert len(study.trials) == trials and all(t.ok for t in study.trials), "a trial is missing or failed"
store.close()
print(json.dumps({{"seconds": seconds}}))
"""
NEW = (
    "from hybrid_nas import InMemoryStore, Study, make_objective, make_strategy\n"
    "from hybrid_nas.engine.storages.base import open_study\n"
    "from hybrid_nas.nb201.table import NB201Evaluator, NB201Space"
)
OLD = (
    "from hybrid_nas import Study, make_objective, make_strategy\n"
    "from hybrid_nas.store import open_study\n"
    "from hybrid_nas.nasbench201 import NB201Evaluator, NB201Space"
)
OLD_DEFAULT = "old default: trials.sqlite + journal mirror"
NEW_DEFAULT = "new default: the run's optuna.journal"


def stores(baseline: Path | None) -> dict[str, tuple[Path, str, str]]:
    """Each store to measure: (checkout, its imports, the expression that makes the store in ``tmp``)."""
    rows = {
        "in memory (no file)": (ROOT, NEW, "InMemoryStore()"),
        NEW_DEFAULT: (ROOT, NEW, "open_study(tmp / 'run')"),
        "--storage FILE.journal (shared)": (ROOT, NEW, "open_study(tmp / 'run', str(tmp / 'shared.journal'))"),
        "--storage sqlite:///FILE (shared)": (ROOT, NEW, "open_study(tmp / 'run', f\"sqlite:///{tmp / 'db.sqlite'}\")"),
    }
    if baseline is not None:
        rows[OLD_DEFAULT] = (baseline, OLD, "open_study(tmp / 'run', mirror=True)")
    return rows


def one(root: Path, imports: str, store: str, trials: int) -> float:
    """ms per trial of one study in a fresh interpreter on the checkout ``root``."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", STUDY.format(imports=imports, store=store), tmp, str(trials)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"the study on {root} failed:\n{done.stderr[-2000:]}")
        return 1e3 * json.loads(done.stdout.splitlines()[-1])["seconds"] / trials


def per_trial(trials: int, repeats: int, baseline: Path | None) -> list[dict]:
    todo = stores(baseline)
    skip_slow = {k for k in todo if "sqlite:///" in k}  # ~40 ms a trial: once is enough
    samples: dict[str, list[float]] = {k: [] for k in todo}
    for r in range(repeats):  # in turn, so that a busy moment of the machine falls on every store alike
        for name, (root, imports, store) in todo.items():
            if r and name in skip_slow:
                continue
            samples[name].append(one(root, imports, store, trials))
            print(f"  {name:46s} {samples[name][-1]:8.3f} ms/trial", flush=True)
    rows = [
        {
            "store": name,
            "trials": trials,
            "checkout": str(todo[name][0]),
            "samples_ms": s,
            "ms_per_trial": statistics.median(s),
        }
        for name, s in samples.items()
    ]
    floor = rows[0]["ms_per_trial"]
    for r in rows:
        r["ms_over_in_memory"] = r["ms_per_trial"] - floor
    return rows


def quantum_share(out: Path) -> dict:
    """The quantum default run into ``out``, every call into the store and the dashboard's artefacts timed."""
    import hybrid_nas as hn
    from hybrid_nas import dashboard
    from hybrid_nas.engine.storages import optuna_store

    spent = {"open": 0.0, "write": 0.0, "artefacts": 0.0}

    def timed(fn, part):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start

        return wrapper

    Store = optuna_store.OptunaStore
    saved = Store.__init__, Store.put, Store.set_meta, dashboard.publish_quietly
    Store.__init__, Store.put = timed(saved[0], "open"), timed(saved[1], "write")
    Store.set_meta, dashboard.publish_quietly = timed(saved[2], "write"), timed(saved[3], "artefacts")
    try:
        start = time.perf_counter()
        run = hn.quantum.search(out=out, progress=False)
        seconds = time.perf_counter() - start
        trials = len(run.view().trials)
    finally:
        Store.__init__, Store.put, Store.set_meta, dashboard.publish_quietly = saved
    total = sum(spent.values())
    return {
        "run_seconds": seconds,
        "trials": trials,
        "store_seconds": spent,
        "store_total": total,
        "share": total / seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3, help="studies per store, in turn (the median counts)")
    ap.add_argument(
        "--baseline-root",
        type=Path,
        metavar="PATH",
        help="a checkout from before the one store (e.g. 480ac5d): its default store measured too",
    )
    ap.add_argument(
        "--quantum",
        metavar="OUT",
        help="also the store's share of the quantum default run, made into this (new) run directory",
    )
    args = ap.parse_args()
    if args.baseline_root is not None and not (args.baseline_root / "hybrid_nas" / "store.py").is_file():
        raise SystemExit(
            f"{args.baseline_root} is not a hybrid-nas checkout with trials.sqlite "
            "(hybrid_nas/store.py); give one from before the one store, e.g. 480ac5d"
        )
    result = {}
    print(f"NAS-Bench-201, {args.trials} trials, evolution, one thread, {args.repeats} repeats:", flush=True)
    rows = result["nb201"] = per_trial(args.trials, args.repeats, args.baseline_root)
    by = {r["store"]: r for r in rows}
    print("median:")
    for r in rows:
        print(f"  {r['store']:46s} {r['ms_per_trial']:8.3f} ms/trial  (+{r['ms_over_in_memory']:.3f} over in memory)")
    if OLD_DEFAULT in by:
        ratio = by[NEW_DEFAULT]["ms_per_trial"] / by[OLD_DEFAULT]["ms_per_trial"]
        result["new_over_old_default"] = ratio
        print(f"new default / old default: {ratio:.2f}x (bar: <= {BAR}x): {'ok' if ratio <= BAR else 'OVER'}")
    if args.quantum:
        q = result["quantum_default_run"] = quantum_share(Path(args.quantum))
        print(
            f"quantum default run: {q['run_seconds']:.1f} s, {q['trials']} trials; store "
            f"{q['store_total']:.2f} s (open {q['store_seconds']['open']:.2f}, write "
            f"{q['store_seconds']['write']:.2f}, artefacts {q['store_seconds']['artefacts']:.2f}) "
            f"= {100 * q['share']:.2f} % of the run",
            flush=True,
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
