"""TANGO's experiment on NAS-Bench-201: REINFORCE (LSTM controller), 5000 samples, every sample
counted (repeats too), T = 17 ms on titan_rtx_256, MnasNet soft reward (w = -0.07) vs the constrained
reward 0.9*ACC + 0.1*log_T(1.5T - LAT).

Prints, over the seeds: the first 250-sample window whose mean latency is under T, the number of
sampled cells under T with 60-70 % accuracy, and the best feasible accuracy vs the table's oracle;
plots the mean latency per window (the paper's Figure 7).

    python benchmarks/nb201_reward_paper.py --seeds 5 --samples 5000 --lr 0.0005 --entropy 0
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np

from _common import best_feasible_curve, run_nb201
from hybrid_nas.nb201.table import NB201Evaluator

T, WINDOW = 17.0, 250
REWARDS = ("mnasnet-soft", "constrained")
HERE = Path(__file__).parent


def _job(args):
    objective, seed, samples, lr, entropy = args
    run = run_nb201(
        "reinforce", seed, samples, objective=objective, T=T, count_repeats=True, lr=lr, entropy_weight=entropy
    )
    return {**run, "objective": objective}


def summarise(run: dict) -> dict:
    lat, acc = np.asarray(run["latency"]), np.asarray(run["accuracy"])
    windows = lat[: len(lat) // WINDOW * WINDOW].reshape(-1, WINDOW).mean(1)
    under = np.flatnonzero(windows <= T)
    return {
        "window_latency": windows.tolist(),
        "first_window_under_T": int((under[0] + 1) * WINDOW) if len(under) else None,
        "cells_under_T_acc_60_70": int(((lat <= T) & (acc >= 60) & (acc <= 70)).sum()),
        "best_feasible": float(np.nanmax(best_feasible_curve(run, T))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--lr", type=float, default=0.0005, help="controller Adam learning rate")
    ap.add_argument(
        "--entropy", type=float, default=0.0, help="entropy bonus weight (0: plain REINFORCE, as the paper)"
    )
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    oracle = 100 * NB201Evaluator().oracle(T)[1]
    jobs = [(o, s, args.samples, args.lr, args.entropy) for o in REWARDS for s in range(args.seeds)]
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        runs = pool.map(_job, jobs, chunksize=1)
    results = {o: [summarise(r) for r in runs if r["objective"] == o] for o in REWARDS}

    print(
        f"REINFORCE lr={args.lr} entropy={args.entropy}, {args.samples} samples x {args.seeds} seeds, "
        f"T = {T:g} ms, oracle {oracle:.2f} %"
    )
    print(
        "| reward | first window with mean latency <= T (per seed) | median | cells <T with 60-70 % (mean) "
        "| best feasible (median) | gap to oracle |"
    )
    print("|---|---|---|---|---|---|")
    for o, rs in results.items():
        firsts = [r["first_window_under_T"] for r in rs]
        known = [f for f in firsts if f is not None]
        med = (
            f"{int(np.median([f if f is not None else np.inf for f in firsts]))}"
            if len(known) * 2 > len(firsts)
            else "never"
        )
        best = float(np.median([r["best_feasible"] for r in rs]))
        print(
            f"| {o} | {', '.join(str(f) if f else 'never' for f in firsts)} | {med} | "
            f"{np.mean([r['cells_under_T_acc_60_70'] for r in rs]):.0f} | {best:.2f} | {oracle - best:.2f} pt |"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for o, colour in zip(REWARDS, ("tab:orange", "tab:blue")):
        w = np.array([r["window_latency"] for r in results[o]])
        x = (np.arange(w.shape[1]) + 1) * WINDOW
        ax.plot(x, w.mean(0), "o-", color=colour, label=f"{o} (mean of {len(w)} seeds)")
        ax.fill_between(x, w.min(0), w.max(0), color=colour, alpha=0.15)
    ax.axhline(T, color="k", ls="--", lw=1, label=f"T = {T:g} ms")
    ax.set_xlabel("samples")
    ax.set_ylabel(f"mean latency of the last {WINDOW} samples (ms)")
    ax.set_title("REINFORCE on NAS-Bench-201 (titan_rtx_256): reward vs latency target")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "figures" / "nb201_reward_latency.png", dpi=120)
    (HERE / "results" / "nb201_reward_paper.json").write_text(
        json.dumps({"lr": args.lr, "entropy": args.entropy, "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()
