"""Hybrid models beside their controls: `hybrid-nas hybrid` on its defaults over several tasks and search
seeds, the best model's test accuracy and parameters against classical-only, circuit-only and
entanglement-free controls (trained the same way in each run), and a logistic regression on the same
standardised features and split as a plain classical reference ("Better than classical?", Bowles et al.,
2024: in hybrids the classical part often does the work).

    python benchmarks/hybrid_controls.py --out runs/hybrid-controls
    python benchmarks/hybrid_controls.py --out runs/hybrid-controls --reuse   # re-read finished runs
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

MODELS = ("best hybrid", "classical_only", "circuit_only", "no_entanglement")


def logistic_regression(task: str) -> dict:
    from sklearn.linear_model import LogisticRegression

    from hybrid_nas.hybrid.data import load_features

    data = load_features(task)
    model = LogisticRegression(max_iter=5000).fit(data.x_train, data.y_train)
    params = model.coef_.size + model.intercept_.size
    return {"test_accuracy": float(model.score(data.x_test, data.y_test)), "params": float(params)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/hybrid-controls")
    ap.add_argument("--tasks", default="digits10,breast-cancer,wine")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--reuse", action="store_true", help="read the runs in --out instead of running them")
    args = ap.parse_args()
    import hybrid_nas as hn

    rows = []
    for task in args.tasks.split(","):
        per_seed = []
        for seed in map(int, args.seeds.split(",")):
            out = Path(args.out) / f"{task}-s{seed}"
            start = time.perf_counter()
            run = hn.load(out) if args.reuse else hn.hybrid.search(out=out, task=task, seed=seed, progress=False)
            doc = run.result
            models = {"best hybrid": doc["best_figures"], **doc["controls"]}
            per_seed.append(
                {
                    "seed": seed,
                    "seconds": doc["seconds"] if args.reuse else time.perf_counter() - start,
                    "best": doc["best"]["description"],
                    **{m: {k: models[m][k] for k in ("test_accuracy", "params")} for m in MODELS},
                }
            )
            print(f"{task} seed {seed}: {per_seed[-1]['seconds']:.0f} s, best {doc['best']['description']}", flush=True)
        rows.append(
            {
                "task": task,
                "runs": per_seed,
                "logistic_regression": logistic_regression(task),
                **{
                    m: {k: float(np.median([r[m][k] for r in per_seed])) for k in ("test_accuracy", "params")}
                    for m in MODELS
                },
            }
        )
    header = "| task | " + " | ".join(MODELS) + " | logistic regression |"
    print("\nTest accuracy, median over seeds (parameters):\n")
    print(header)
    print("|" + "---|" * (len(MODELS) + 2))
    for r in rows:
        cells = [f"{r[m]['test_accuracy']:.3f} ({r[m]['params']:.0f})" for m in MODELS]
        lr = r["logistic_regression"]
        print(f"| {r['task']} | " + " | ".join(cells) + f" | {lr['test_accuracy']:.3f} ({lr['params']:.0f}) |")
    print("\nPer seed (test accuracy of best / classical_only / circuit_only / no_entanglement):")
    for r in rows:
        for s in r["runs"]:
            print(
                f"  {r['task']} s{s['seed']}: "
                + " / ".join(f"{s[m]['test_accuracy']:.3f}" for m in MODELS)
                + f"  ({s['seconds']:.0f} s)  {s['best']}"
            )
    result = Path(__file__).parent / "results" / "hybrid_controls.json"
    result.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nwritten: {result}")


if __name__ == "__main__":
    main()
