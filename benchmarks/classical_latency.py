"""Latency table accuracy: predicted vs measured whole-network latency of random held-out subnets, with the
block sum alone (what TANGO summed), with a constant rest-of-network offset, and with the fitted
whole-network correction (intercept + slope x block sum). Run it on an otherwise idle machine. With
``--depths``/``--widths`` the space is elastic: the table holds a block per (op, depth, width), and the held-out
subnets draw their depths and widths too.

    python benchmarks/classical_latency.py --subnets 30 --scope full --imgsz 160 --threads 1 --stat min
    python benchmarks/classical_latency.py --subnets 30 --scope full --depths 1,2,3 --widths 50,75,100
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybrid_nas.classical.latency import Timing, build_table, measure_subnet
from hybrid_nas.classical.space import NeckSpace


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=30)
    ap.add_argument("--calibration", type=int, default=12)
    ap.add_argument("--scope", default="full")
    ap.add_argument("--positions", default="neck")
    ap.add_argument("--model", default="yolov9t")
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--stat", default="min", help="min | median of the timed runs")
    ap.add_argument("--backend", default="torch", help="torch | onnxruntime")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depths", type=ints, default=None, help="e.g. 1,2,3 (default: the stock block's)")
    ap.add_argument("--widths", type=ints, default=None, help="e.g. 50,75,100 (default: the stock's)")
    ap.add_argument("--compound", action="store_true")
    args = ap.parse_args()
    space = NeckSpace(args.model, args.scope, args.positions, None, args.depths, args.widths, args.compound)
    start = time.perf_counter()
    timing = Timing(args.threads, repeats=args.repeats, statistic=args.stat, backend=args.backend)
    table, pairs = build_table(space, args.imgsz, timing, args.calibration, args.seed)
    print(
        f"{args.model} {args.positions} {args.scope}: {sum(len(e) for e in table.entries.values())} block entries "
        f"+ {len(pairs)} calibration subnets in {time.perf_counter() - start:.0f} s; "
        f"latency = {table.intercept:.2f} ms + {table.slope:.3f} x block sum"
    )
    offset = float(np.mean([m - s for s, m in pairs]))  # the rest of the network as one constant
    # a timing relation, so measured here and never asserted by a unit test: 5x5 vs 3x3 at each position
    slower = [
        e[key.replace("3x3", "5x5", 1)] > e[key]
        for e in table.entries.values()
        for key in e
        if key.startswith("3x3") and key.replace("3x3", "5x5", 1) in e
    ]
    if slower:
        print(f"5x5 block slower than the 3x3 with the same activation: {sum(slower)} of {len(slower)} entries")

    rng, held_out, seen = np.random.default_rng(args.seed + 1000), [], set()
    while len(held_out) < args.subnets:
        a = space.sample(rng)
        if a.key not in seen:
            seen.add(a.key)
            held_out.append(a)
    measured = np.array([measure_subnet(space, a, args.imgsz, timing) for a in held_out])
    keys = [space.block_keys(a) for a in held_out]
    sums = np.array([table.predict(k, corrected=False) for k in keys])
    predictions = {
        "block sum (TANGO)": sums,
        "sum + constant offset": sums + offset,
        "whole-network correction": np.array([table.predict(k) for k in keys]),
    }
    print(f"measured: {measured.min():.1f} - {measured.max():.1f} ms over {len(held_out)} held-out subnets\n")
    print("| prediction | within +-10 % | within +-5 % | mean abs error |\n|---|---|---|---|")
    for name, pred in predictions.items():
        rel = np.abs(pred / measured - 1)
        print(
            f"| {name} | {100 * np.mean(rel <= 0.10):.0f} % | {100 * np.mean(rel <= 0.05):.0f} % | "
            f"{100 * rel.mean():.1f} % |"
        )


if __name__ == "__main__":
    main()
