"""What keeping the trials costs: the default SQLite file, the live Optuna journal every run mirrors into, and
Optuna storages as the study's store.

Part 1, per trial: one NAS-Bench-201 study (table look-ups, regularised evolution: the store is most of the
work) of --trials trials on each store, one thread, ms per trial and the ratio to the default store measured
in the same run. Part 2 (--quantum): the quantum default run (`hybrid-nas quantum`, in process), timing every
call into the mirror (opening it, importing Optuna included, appending trials, attaching the artefacts at
the end) against the run's wall time.

    python benchmarks/store_cost.py --trials 1000 --quantum runs/q
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from hybrid_nas import InMemoryStore, SQLiteStore, Study, make_objective, make_strategy
from hybrid_nas.nb201.table import NB201Evaluator, NB201Space

RESULTS = Path(__file__).parent / "results" / "store_cost.json"


def stores(tmp: Path) -> dict:
    """Each store to measure, made fresh in ``tmp``."""
    from hybrid_nas.engine.storages.optuna_store import MirroredStore, OptunaStore

    def mirror(name):
        return OptunaStore(str(tmp / f"{name}.journal"), "nb201", append_only=True)

    return {
        "in memory (no file)": lambda: InMemoryStore(),
        "trials.sqlite (the store alone)": lambda: SQLiteStore(tmp / "a.sqlite"),
        "trials.sqlite + journal mirror (default run)": lambda: MirroredStore(SQLiteStore(tmp / "b.sqlite"),
                                                                               mirror("b")),
        "--storage sqlite:///FILE (Optuna RDB)": lambda: OptunaStore(f"sqlite:///{tmp / 'c.db'}", "nb201"),
        "--storage sqlite:///FILE + journal mirror": lambda: MirroredStore(
            OptunaStore(f"sqlite:///{tmp / 'd.db'}", "nb201"), mirror("d")),
        "--storage FILE.journal (Optuna journal)": lambda: OptunaStore(str(tmp / "e.journal"), "nb201"),
    }


def per_trial(trials: int) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in stores(Path(tmp)).items():
            space, evaluator = NB201Space(), NB201Evaluator("cifar100", "titan_rtx_256")
            store = make()
            start = time.perf_counter()
            study = Study(space, evaluator, make_objective("constrained", T=17.0),
                          make_strategy("evolution", space, seed=0), store=store, seed=0).optimize(trials)
            seconds = time.perf_counter() - start
            assert len(study.trials) == trials and all(t.ok for t in study.trials)
            store.close()
            rows.append({"store": name, "trials": trials, "seconds": seconds, "ms_per_trial": 1e3 * seconds / trials})
            print(f"  {name:46s} {1e3 * seconds / trials:8.2f} ms/trial", flush=True)
    base = next(r for r in rows if r["store"].startswith("trials.sqlite ("))["ms_per_trial"]
    floor = rows[0]["ms_per_trial"]
    for r in rows:
        r["x_default_store"] = r["ms_per_trial"] / base
        r["ms_over_in_memory"] = r["ms_per_trial"] - floor
    return rows


def quantum_share(out: Path) -> dict:
    """The quantum default run into ``out``, every call into the mirror timed."""
    from hybrid_nas import api, live, optuna_store

    spent = {"open": 0.0, "append": 0.0, "artefacts": 0.0}

    def timed(fn, part):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start
        return wrapper

    init, mirror, publish = (optuna_store.OptunaStore.__init__, optuna_store.MirroredStore._mirror,
                             live.publish_quietly)
    optuna_store.OptunaStore.__init__ = timed(init, "open")
    optuna_store.MirroredStore._mirror = timed(mirror, "append")
    live.publish_quietly = timed(publish, "artefacts")
    try:
        start = time.perf_counter()
        run = api.quantum.search(out=out, progress=False)
        seconds = time.perf_counter() - start
        trials = len(run.view().trials)
    finally:
        optuna_store.OptunaStore.__init__, optuna_store.MirroredStore._mirror = init, mirror
        live.publish_quietly = publish
    total = sum(spent.values())
    return {"run_seconds": seconds, "trials": trials, "mirror_seconds": spent, "mirror_total": total,
            "share": total / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--quantum", metavar="OUT", help="also the mirror's share of the quantum default run, made "
                                                     "into this (new) run directory")
    args = ap.parse_args()
    result = {}
    if args.quantum:  # first, so that the mirror's first Optuna import is counted in it
        q = result["quantum_default_run"] = quantum_share(Path(args.quantum))
        print(f"quantum default run: {q['run_seconds']:.1f} s, {q['trials']} trials; mirror "
              f"{q['mirror_total']:.2f} s (open {q['mirror_seconds']['open']:.2f}, append "
              f"{q['mirror_seconds']['append']:.2f}, artefacts {q['mirror_seconds']['artefacts']:.2f}) "
              f"= {100 * q['share']:.2f} % of the run (bar: < 5 %)", flush=True)
    print(f"NAS-Bench-201, {args.trials} trials, evolution, one thread:")
    result["nb201"] = per_trial(args.trials)
    for r in result["nb201"]:
        print(f"  {r['store']:46s} x{r['x_default_store']:5.2f} of trials.sqlite, "
              f"+{r['ms_over_in_memory']:.2f} ms over in memory")
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
