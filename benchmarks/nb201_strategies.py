"""Strategy comparison on NAS-Bench-201 (CIFAR-100, latency on titan_rtx_256, T = 17 ms, constrained reward).

Each cell counts once: a repeat proposal is told its stored result and costs no budget. Prints, per
strategy over the seeds, the median best feasible accuracy after 100/300/1000 samples, the median
number of samples until the best feasible cell is within 0.1 pt of the table's oracle (70.09 %), and
the wall time of one study on one core with its ratio to random search measured in the same run.
Each finished study is appended to a JSONL file; a second call skips the (strategy, seed) pairs already
there and summarises all of them, so a long SMAC run can be stopped and continued.

    python benchmarks/nb201_strategies.py --seeds 20 --budget 1000 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np

from _common import best_feasible_curve, run_nb201
from hybrid_nas.nb201.table import NB201Evaluator

T = 17.0


def _job(args):
    strategy, seed, budget = args
    return run_nb201(strategy, seed, budget, T=T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--strategies", default="random,evolution,reinforce,smac")
    ap.add_argument("--jobs", type=int, default=2, help="studies run side by side, one core each")
    ap.add_argument(
        "--runs",
        default=str(Path(__file__).parent / "results" / "nb201_strategies_runs.jsonl"),
        help="JSONL of finished studies: appended to, and read back to skip finished ones",
    )
    args = ap.parse_args()

    oracle = 100 * NB201Evaluator().oracle(T)[1]
    runs_file = Path(args.runs)
    runs = [json.loads(line) for line in runs_file.read_text().splitlines()] if runs_file.exists() else []
    runs = [r for r in runs if r["budget"] == args.budget]
    done = {(r["strategy"], r["seed"]) for r in runs}
    jobs = [
        (s, seed, args.budget)
        for s in args.strategies.split(",")
        for seed in range(args.seeds)
        if (s, seed) not in done
    ]
    with mp.get_context("spawn").Pool(args.jobs) as pool, runs_file.open("a") as sink:
        for run in pool.imap_unordered(_job, jobs):
            run["budget"] = args.budget
            runs.append(run)
            sink.write(json.dumps(run) + "\n")
            sink.flush()
            print(
                f"{run['strategy']} seed {run['seed']}: {len(run['accuracy'])} samples in {run['seconds']:.1f} s",
                flush=True,
            )

    rows, checkpoints = {}, [c for c in (100, 300, 1000) if c <= args.budget]
    for strategy in args.strategies.split(","):
        mine = [r for r in runs if r["strategy"] == strategy and r["seed"] < args.seeds]
        curves = [best_feasible_curve(r, T) for r in mine]
        at = {c: float(np.nanmedian([cv[min(c, len(cv)) - 1] for cv in curves])) for c in checkpoints}
        hits = [int(np.argmax(cv >= oracle - 0.1)) + 1 if np.nanmax(cv) >= oracle - 0.1 else np.inf for cv in curves]
        rows[strategy] = {
            "median_best_at": at,
            "median_samples_to_oracle": float(np.median(hits)),
            "reached_oracle": int(np.isfinite(hits).sum()),
            "seeds": len(mine),
            "mean_seconds": float(np.mean([r["seconds"] for r in mine])),
        }
    base = rows.get("random", {}).get("mean_seconds")
    print(f"oracle: {oracle:.2f} % under {T:g} ms; up to {args.seeds} seeds x {args.budget} samples")
    print(
        "| strategy | "
        + " | ".join(f"best @{c}" for c in checkpoints)
        + " | median samples to oracle-0.1 | seeds reaching it | s / study | vs random |"
    )
    print("|---" * (len(checkpoints) + 5) + "|")
    for s, r in rows.items():
        hit = r["median_samples_to_oracle"]
        ratio = f"{r['mean_seconds'] / base:.1f}x" if base else "-"
        print(
            f"| {s} | "
            + " | ".join(f"{r['median_best_at'][c]:.2f}" for c in checkpoints)
            + f" | {'never' if not np.isfinite(hit) else int(hit)} | {r['reached_oracle']}/{r['seeds']}"
            f" | {r['mean_seconds']:.2f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
