"""A latency table for a device from a few whole subnets measured there plus another device's table, against
measuring the device's whole table.

The "devices" here are this CPU at 1 and at 2 threads (PyTorch eager; ONNX Runtime too when installed,
``--known-backend onnxruntime``). The known device's table is measured in full (every block, 12
calibration subnets); on the target, ``--measurements`` random whole subnets are measured and the table is
fitted from them and the known table (``hybrid-nas latency-table --from-tables``); ``--holdout`` further
subnets, measured on the target, score every prediction (within +-10 % and mean abs error). Beside it: the
target's own full table, the known table as it is, and a one-hot ridge fitted to the target's subnets
alone, and the known table rescaled (``a + b x its prediction``, fitted to the target's subnets). Run it on
an otherwise idle machine.

    python benchmarks/classical_latency_transfer.py --target-threads 1 --known-threads 2 --measurements 4,8
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from hybrid_nas.classical.latency import LatencyTable, Timing, build_table, measure_subnet, transfer_table
from hybrid_nas.classical.space import NeckSpace


def score(pred, measured) -> dict:
    err = np.asarray(pred) / np.asarray(measured) - 1.0
    return {"within_10pct": float(np.mean(np.abs(err) <= 0.10)), "mean_abs_error": float(np.mean(np.abs(err)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target-threads", type=int, default=1)
    ap.add_argument("--known-threads", type=int, default=2)
    ap.add_argument("--known-backend", default="torch")
    ap.add_argument("--measurements", default="4,8", help="whole subnets measured on the target, comma-separated")
    ap.add_argument("--holdout", type=int, default=20)
    ap.add_argument("--scope", default="full")
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()

    space = NeckSpace("yolov9t", args.scope, "neck")
    sizes = [int(n) for n in args.measurements.split(",")]
    start = time.perf_counter()
    known_timing = Timing(args.known_threads, backend=args.known_backend)
    known, _ = build_table(space, args.imgsz, known_timing, 12, args.seed)
    known_s = time.perf_counter() - start
    target_timing = Timing(args.target_threads)
    t0 = time.perf_counter()
    full, _ = build_table(space, args.imgsz, target_timing, 12, args.seed)
    full_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed + 1000)
    archs = [space.sample(rng) for _ in range(max(sizes) + args.holdout)]
    t0 = time.perf_counter()
    measured = [measure_subnet(space, a, args.imgsz, target_timing) for a in archs]
    per_subnet_s = (time.perf_counter() - t0) / len(archs)
    held, truth = archs[max(sizes) :], measured[max(sizes) :]
    template = LatencyTable(space.model, args.imgsz, asdict(target_timing), {})

    rows = {
        f"target's full table ({full_s:.0f} s of measuring)": score([full.predict(a) for a in held], truth),
        "known table as it is": score([known.predict(a) for a in held], truth),
    }
    for n in sizes:
        table, _ = transfer_table(space, [known], archs[:n], measured[:n], template)
        rows[f"from {n} subnets + known table ({n * per_subnet_s:.0f} s)"] = score(
            [table.predict(a) for a in held], truth
        )
        scaled, _ = transfer_table(space, [known], archs[:n], measured[:n], template, groups=("devices",))
        rows[f"from {n} subnets: known table rescaled (a + b x)"] = score([scaled.predict(a) for a in held], truth)
        alone, _ = transfer_table(space, [], archs[:n], measured[:n], template)
        rows[f"from {n} subnets alone (one-hot ridge)"] = score([alone.predict(a) for a in held], truth)
    print(
        f"target: CPU {args.target_threads} thread(s) torch; known: CPU {args.known_threads} thread(s) "
        f"{args.known_backend} (its table {known_s:.0f} s); {args.holdout} held-out subnets, "
        f"{min(truth):.1f}-{max(truth):.1f} ms; a whole subnet takes {per_subnet_s:.1f} s to measure"
    )
    for name, r in rows.items():
        within, mae = 100 * r["within_10pct"], 100 * r["mean_abs_error"]
        print(f"  {name:48} {within:5.0f} % within +-10 %   mean abs error {mae:.1f} %")
    doc = {
        "args": vars(args),
        "rows": rows,
        "measured_ms": measured,
        "known_predicted_ms": [known.predict(a) for a in archs],
    }
    if args.out:
        Path(args.out).write_text(json.dumps(doc, indent=1))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
