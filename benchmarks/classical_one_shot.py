"""One-shot ranking quality of the YOLOv9 supernet: Kendall tau and Spearman between the mAP50 subnets get with
weights inherited from the trained supernet (BN recalibrated) and with their own training from scratch (same
data, same epochs, same ultralytics trainer, mean over seeds), over subnets spread across a scope, overall and
within the top half; beside two training-free proxies (parameters, FLOPs); and the cost of the two ways.

    python benchmarks/classical_one_shot.py --subnets 16 --seeds 2 --epochs 20 --scope full --sampling sandwich

Each stand-alone training is written to the results JSON as soon as it ends, and a rerun with the same
arguments skips what is there (the supernet is kept in --out), so a stopped run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from _classical import agreement, flops, train_alone

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.data import digits_detection
from hybrid_nas.classical.ops import parse_op
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.space import Architecture

RESULTS = Path(__file__).parent / "results" / "classical_one_shot.json"
# What must match for a rerun to continue a results file rather than mix two experiments
SAME = ("subnets", "seeds", "epochs", "supernet_epochs", "scope", "sampling", "distill", "imgsz", "n_images", "seed")


def spread_subnets(space: NeckSpace, n: int, seed: int, pool: int = 2000) -> list[Architecture]:
    """``n`` distinct subnets at evenly spaced quantiles of the summed kernel size of a random pool (ties
    broken at random), so that small, middling and large subnets are all represented."""
    rng = np.random.default_rng(seed)
    candidates = list(dict.fromkeys(space.sample(rng) for _ in range(pool)))
    size = [sum(parse_op(op)[0] for op in a.values()) + rng.random() for a in candidates]
    ordered = [candidates[i] for i in np.argsort(size)]
    return [ordered[int(round(q))] for q in np.linspace(0, len(ordered) - 1, n)]


def analyse(rows: list[dict], seeds: int) -> dict:
    """Agreement of each score with the stand-alone mAP50 (mean over seeds), over every subnet trained on all
    seeds and over the better half of them by stand-alone mAP50; and seed 0 against seed 1 (the noise floor)."""
    done = [r for r in rows if len(r["standalone_map50"]) == seeds]
    if len(done) < 4:
        return {"subnets_done": len(done)}
    truth = np.array([np.mean(list(r["standalone_map50"].values())) for r in done])
    top = np.argsort(-truth)[: len(done) // 2]
    out = {"subnets_done": len(done)}
    for score in ("inherited_map50", "params", "flops"):
        x = np.array([r[score] for r in done])
        out[score] = {"all": agreement(x, truth), "top_half": agreement(x[top], truth[top])}
    if seeds >= 2:
        out["seed0_vs_seed1"] = agreement(
            [r["standalone_map50"]["0"] for r in done], [r["standalone_map50"]["1"] for r in done]
        )
    t_inh = float(np.median([r["inherit_seconds"] for r in done]))
    t_alo = float(np.median([s for r in done for s in r["standalone_seconds"].values()]))
    out["cost"] = {"inherit_seconds": t_inh, "standalone_seconds": t_alo, "ratio": t_alo / t_inh}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=2, help="stand-alone trainings per subnet (seeds 0, 1, ...)")
    ap.add_argument("--epochs", type=int, default=20, help="epochs of each stand-alone training")
    ap.add_argument("--supernet-epochs", type=int, help="epochs of the supernet (default: --epochs)")
    ap.add_argument("--scope", default="full")
    ap.add_argument("--sampling", default="sandwich", choices=sn.SAMPLINGS)
    ap.add_argument("--distill", type=float, default=1.0, help="in-place distillation weight (sandwich)")
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0, help="seed of the supernet and of the subnets' draw")
    ap.add_argument("--out", default="runs/bench-classical-one-shot", help="supernet and trainings")
    ap.add_argument("--results", default=str(RESULTS), help="results JSON, written after every step")
    ap.add_argument(
        "--standalone-from",
        help="another results JSON of the same subnets, epochs and data whose "
        "stand-alone figures are reused (to compare supernet trainings)",
    )
    args = ap.parse_args()
    args.supernet_epochs = args.supernet_epochs or args.epochs
    torch.set_num_threads(1)
    out, results = Path(args.out), Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    doc = json.loads(results.read_text()) if results.is_file() else {}
    if doc and any(doc["args"].get(k) != getattr(args, k) for k in SAME):
        diff = {k: (doc["args"].get(k), getattr(args, k)) for k in SAME if doc["args"].get(k) != getattr(args, k)}
        raise SystemExit(f"{results} holds another experiment (stored vs given: {diff}); use another --results")
    doc["args"] = vars(args)

    def save():
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(doc, indent=1) + "\n")

    data = digits_detection(args.imgsz, args.n_images, seed=0)
    space = NeckSpace("yolov9t", args.scope)
    weights = out / "supernet.pt"
    retrained = not weights.is_file() or "supernet_seconds" not in doc
    if retrained:
        trained = sn.train_supernet(
            space,
            data,
            out,
            args.supernet_epochs,
            args.imgsz,
            seed=args.seed,
            sampling=args.sampling,
            distill=args.distill,
        )
        shutil.copy(trained.weights, weights)
        doc["supernet_seconds"] = trained.seconds
        save()
    supernet = sn.load_supernet(weights)
    print(
        f"supernet ({args.scope}, {space.size()} subnets, {args.sampling}): {args.supernet_epochs} epochs in "
        f"{doc['supernet_seconds']:.0f} s",
        flush=True,
    )

    archs = spread_subnets(space, args.subnets, args.seed + 1)
    stored = {r["subnet"]: r for r in doc.get("rows", [])}
    if args.standalone_from:
        other = json.loads(Path(args.standalone_from).read_text())
        same = ("subnets", "seeds", "epochs", "scope", "imgsz", "n_images", "seed")
        if any(other["args"].get(k) != getattr(args, k) for k in same):
            raise SystemExit(f"{args.standalone_from}: other subnets, epochs or data (it must agree on {same})")
        for r in other["rows"]:
            mine = stored.setdefault(r["subnet"], {})
            for key in ("standalone_map50", "standalone_seconds"):
                mine[key] = {**r[key], **mine.get(key, {})}
    doc["rows"] = []
    batches = sn.calibration_batches(data, args.imgsz)
    for arch in archs:
        name = space.describe(arch)
        row = stored.get(name)
        if row is None or retrained or "inherited_map50" not in row:  # stand-alone figures are kept
            start = time.perf_counter()
            sub = sn.extract(supernet, space.ops(arch))
            sn.recalibrate_bn(sub, batches)
            inherited = sn.validate(sub, data, args.imgsz, out / "val")["map50"]
            row = {
                "subnet": name,
                "architecture": dict(arch),
                "inherited_map50": inherited,
                "inherit_seconds": time.perf_counter() - start,
                "params": sum(p.numel() for p in sub.parameters()),
                "flops": flops(sub, args.imgsz),
                "standalone_map50": {},
                "standalone_seconds": {},
                **{k: v for k, v in (row or {}).items() if k.startswith("standalone")},
            }
        doc["rows"].append(row)
    save()
    for seed in range(args.seeds):  # seed-major: a stopped run still covers every subnet once
        for n, row in enumerate(doc["rows"]):
            if str(seed) in row["standalone_map50"]:
                continue
            start = time.perf_counter()
            arch = Architecture(row["architecture"])
            trained = train_alone(space, arch, data, out / f"subnet{n}-s{seed}", args.epochs, args.imgsz, seed)
            alone = sn.validate(sn.load_supernet(trained), data, args.imgsz, out / "val")["map50"]
            row["standalone_map50"][str(seed)] = alone
            row["standalone_seconds"][str(seed)] = time.perf_counter() - start
            doc["analysis"] = analyse(doc["rows"], args.seeds)
            save()
            print(
                f"{n:2d} seed {seed}: {row['subnet']}  inherited {row['inherited_map50']:.3f}  "
                f"stand-alone {alone:.3f} ({row['standalone_seconds'][str(seed)]:.0f} s)",
                flush=True,
            )
    doc["analysis"] = analyse(doc["rows"], args.seeds)
    save()
    report(doc)


def report(doc: dict) -> None:
    a = doc["analysis"]
    print("\n| subnet | params (M) | GFLOPs | inherited mAP50 | stand-alone mAP50 (per seed) |\n|---|---|---|---|---|")
    for r in sorted(doc["rows"], key=lambda r: -np.mean(list(r["standalone_map50"].values()) or [0])):
        alone = list(r["standalone_map50"].values())
        print(
            f"| `{r['subnet']}` | {r['params'] / 1e6:.2f} | {r['flops'] / 1e9:.2f} | {r['inherited_map50']:.3f} | "
            f"{np.mean(alone):.3f} ({', '.join(f'{v:.3f}' for v in alone)}) |"
        )
    print(f"\nover {a['subnets_done']} subnets (stand-alone: mean over seeds)")
    for score in ("inherited_map50", "params", "flops"):
        for part in ("all", "top_half"):
            s = a[score][part]
            print(
                f"{score:16s} {part:8s} Kendall tau {s['tau']:+.2f} (p = {s['p_tau']:.3f})  "
                f"Spearman {s['spearman']:+.2f} (p = {s['p_spearman']:.3f})  n = {s['n']}"
            )
    if "seed0_vs_seed1" in a:
        s = a["seed0_vs_seed1"]
        print(
            f"stand-alone seed 0 vs seed 1: Kendall tau {s['tau']:+.2f} (p = {s['p_tau']:.3f}), "
            f"Spearman {s['spearman']:+.2f}"
        )
    c = a["cost"]
    print(
        f"scoring a subnet: inherited {c['inherit_seconds']:.1f} s vs trained {c['standalone_seconds']:.0f} s "
        f"-> {c['ratio']:.0f}x cheaper (median); the supernet took {doc['supernet_seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
