"""End to end on each meta-test device: a search that sees only latency predicted from 20 true measurements,
beside the same search on the device's full table and the table's oracle.

Per device, two limits T (the 30 % and 60 % quantiles of its latency over all cells), ``--seeds`` seeds
of the same study (evolution, constrained reward, ``--budget`` trials, CIFAR-100) run once on the full
true table and once on predicted latency (``hybrid-nas bench nb201 --latency predicted``'s evaluator,
for each ``--margins`` value, in leave-one-out RMSEs). Each returned cell is judged by its true latency:
its accuracy counts only when it is within T in truth. Prints per device and T the median best
true-feasible accuracy of each variant, its gap to the full-table search, the count of returned cells
that break T in truth, and the oracle; the last line is one JSON object with every figure.

    python benchmarks/nb201_predicted_search.py --seeds 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hybrid_nas import Study, make_objective, make_strategy
from hybrid_nas.nb201.latency import (
    HELP_SPLIT,
    NB201PredictedEvaluator,
    choose_groups,
    predict_device,
    sample_cells,
    table_measurements,
    verified_search_result,
)
from hybrid_nas.nb201.table import NB201Evaluator, NB201Space, load_table


def run_study(evaluator, T: float, seed: int, budget: int) -> tuple[int | None, list]:
    """NB201 index of the study's best (most accurate within T as the evaluator sees it) and its trials."""
    space = NB201Space()
    objective = make_objective("constrained", T=T)
    study = Study(space, evaluator, objective, make_strategy("evolution", space, seed=seed), seed=seed)
    study.optimize(budget)
    best = objective.best(study.trials)
    return (None if best is None else space.index(best.arch)), study.trials


def judge(cells: list[int | None], truth: np.ndarray, acc: np.ndarray, T: float) -> dict:
    """Each returned cell by its true latency: its accuracy when within T, else nothing."""
    ok = [float(acc[i]) if i is not None and truth[i] <= T else np.nan for i in cells]
    return {
        "accuracy": ok,
        "median": None if np.isnan(ok).all() else float(np.nanmedian(ok)),
        "break_T": sum(1 for i in cells if i is not None and truth[i] > T),
        "no_result": sum(1 for i in cells if i is None),
    }


def predicted_cell(device: str, known, groups, measurements: int, verify: int, margin: float, T, seed, budget):
    """The cell a predicted-latency search returns: fitted on ``measurements - verify`` cells, then (when
    ``verify``) its best candidates measured, as ``hybrid-nas bench nb201 --latency predicted`` does."""
    meter = table_measurements(device, measurements)
    cells = sample_cells(measurements - verify, seed)
    p = predict_device(device, known, meter, cells, groups)
    best, trials = run_study(NB201PredictedEvaluator("cifar100", device, p, margin * p.loo_rmse, seed), T, seed, budget)
    if not verify:
        return best, meter.used
    found = verified_search_result(trials, p, meter, T, verify, load_table().accuracy("cifar100"))
    return (None if found is None else found[0]), meter.used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default=",".join(HELP_SPLIT["test"]))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--measurements", type=int, default=20)
    ap.add_argument(
        "--variants",
        default="0:0,0:0.5,0:1,5:0,10:0",
        help="predicted-latency variants VERIFY:MARGIN: cells kept to measure the best candidates, and the "
        "margin in leave-one-out RMSEs",
    )
    ap.add_argument("--quantiles", default="0.3,0.6", help="the limits T as quantiles of each device's latency")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    table = load_table()
    acc = table.accuracy("cifar100")
    variants = [(int(v.split(":")[0]), float(v.split(":")[1])) for v in args.variants.split(",")]
    names = [f"verify {v} margin {m:g}" for v, m in variants]
    start = time.perf_counter()
    out: dict[str, dict] = {}
    for device in args.devices.split(","):
        truth = table.latency(device)
        known = tuple(d for d in table.devices if d != device)
        groups, _ = choose_groups(known, known, args.measurements, seeds=1)
        for q in (float(x) for x in args.quantiles.split(",")):
            T = round(float(np.quantile(truth, q)), 2)
            oracle = float(acc[truth <= T].max())
            row: dict[str, object] = {"T": T, "oracle": oracle}

            full = [run_study(NB201Evaluator("cifar100", device), T, s, args.budget)[0] for s in range(args.seeds)]
            row["table"] = judge(full, truth, acc, T)
            for name, (v, m) in zip(names, variants):
                found = [
                    predicted_cell(device, known, groups, args.measurements, v, m, T, s, args.budget)
                    for s in range(args.seeds)
                ]
                row[name] = judge([c for c, _ in found], truth, acc, T) | {"measurements": max(u for _, u in found)}
            out[f"{device} T={T:g}"] = row
            print(
                f"{device:14} T={T:<7g} oracle {oracle:.2f}  table {row['table']['median']:.2f}  "
                + "  ".join(
                    f"v{v}m{m:g}: {row[n]['median'] or float('nan'):.2f} "
                    f"({row['table']['median'] - (row[n]['median'] or np.nan):+.2f}, {row[n]['break_T']} break)"
                    for n, (v, m) in zip(names, variants)
                ),
                flush=True,
            )
    print(f"{time.perf_counter() - start:.0f} s; {args.measurements} true measurements per device, {args.seeds} seeds")
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "rows": out}, indent=1))
    print(
        json.dumps(
            {
                k: {
                    kk: (vv if not isinstance(vv, dict) else {"median": vv["median"], "break_T": vv["break_T"]})
                    for kk, vv in v.items()
                }
                for k, v in out.items()
            }
        )
    )


if __name__ == "__main__":
    main()
