"""Ranking in the elastic YOLOv9 space: how well each cheap scorer orders the subnets of the stand-alone ground
truth (benchmarks/classical_ground_truth.py) by their mean stand-alone mAP50: the zero-cost proxies
(hybrid_nas.classical.proxies), and the inherited mAP50 of supernets trained with each sampling (uniform,
sandwich, progressive), with and without a short fine-tuning of the extracted subnet.

    python benchmarks/classical_ranking.py --proxies-only     # cheap: the proxies of every ground-truth subnet
    flock /tmp/bench.lock taskset -c 0 python benchmarks/classical_ranking.py --supernet-epochs 15
    python benchmarks/classical_ranking.py --ground-truth-epochs 100 --results R --out O   # against another config
    python benchmarks/classical_ranking.py --report

Each (subnet, scorer) is one JSON line of the results file, written as it ends; a rerun skips what is there
(each supernet is kept under --out), so it resumes, and scores subnets the ground truth gained since.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from classical_one_shot import agreement

from hybrid_nas.classical import proxies as px
from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.data import digits_detection
from hybrid_nas.classical.run import export, finetune
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.space import Architecture

HERE = Path(__file__).parent / "results"
RECIPES = ("uniform", "sandwich", "progressive")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def ground_truth(path: Path, epochs: int) -> dict[str, dict]:
    """Subnet -> {arch, seeds: {seed: map50}, params, gflops} of the elastic space's stand-alone trainings of
    ``epochs`` epochs (the file holds one config per epoch count; mixing them would mix their mAP50s)."""
    out: dict[str, dict] = {}
    for r in read_lines(path):
        if not r.get("arch") or r["config"]["epochs"] != epochs:  # the stock model's row, another config
            continue
        row = out.setdefault(r["subnet"], {"arch": r["arch"], "seeds": {}, "config": r["config"]})
        row["seeds"][r["seed"]] = r["map50"]
    return out


def space_of(config: dict) -> NeckSpace:
    return NeckSpace(
        config["model"], config["scope"], config["positions"], depths=config["depths"], widths=config["widths"]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ground-truth", default=str(HERE / "classical_ground_truth.ndjson"))
    ap.add_argument("--ground-truth-epochs", type=int, default=25, help="which of its configs to rank against")
    ap.add_argument("--results", default=str(HERE / "classical_ranking.ndjson"))
    ap.add_argument("--out", default="runs/bench-classical-ranking", help="the supernets and fine-tunings")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--supernet-epochs", type=int, default=15)
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--proxy-images", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="of the proxies' initial weights and batch, and the supernets")
    ap.add_argument("--proxies-only", action="store_true")
    ap.add_argument("--report", action="store_true", help="print the table of what is there; compute nothing")
    args = ap.parse_args()
    truth, results = ground_truth(Path(args.ground_truth), args.ground_truth_epochs), Path(args.results)
    if args.report:
        return report(truth, read_lines(results))
    torch.set_num_threads(1)
    if not truth:
        raise SystemExit(f"{args.ground_truth}: no stand-alone trainings yet")
    config = next(iter(truth.values()))["config"]
    space, imgsz = space_of(config), config["imgsz"]
    data = digits_detection(imgsz, config["n_images"], seed=config["data_seed"])
    done = {(r["subnet"], r["scorer"]) for r in read_lines(results) if "scorer" in r}

    def save(row: dict) -> None:
        results.parent.mkdir(parents=True, exist_ok=True)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")

    batch = px.proxy_batch(data, imgsz, args.proxy_images, args.seed)
    for name, t in truth.items():
        if (name, "proxies") not in done:
            model = px.init_subnet(space, Architecture(t["arch"]), nc=10, seed=args.seed)
            try:
                row = {"subnet": name, "scorer": "proxies", **px.zero_cost(model, batch)}
            except px.ProxyError as e:
                row = {"subnet": name, "scorer": "proxies", "error": str(e)}
            save(row)
            print(f"proxies {name}: {row}", flush=True)
    if args.proxies_only:
        return None
    out, cal = Path(args.out), sn.calibration_batches(data, imgsz)
    for recipe in args.recipes.split(","):
        weights = out / recipe / "supernet.pt"
        if not weights.is_file():
            trained = sn.train_supernet(
                space, data, out / recipe, args.supernet_epochs, imgsz, seed=args.seed, sampling=recipe
            )
            shutil.copy(trained.weights, weights)
            save({"supernet": recipe, "epochs": args.supernet_epochs, "seconds": trained.seconds})
        supernet = sn.load_supernet(weights)
        for n, (name, t) in enumerate(truth.items()):
            arch = Architecture(t["arch"])
            if (name, recipe) not in done:
                start = time.perf_counter()
                sub = sn.extract(supernet, space.path(arch))
                sn.recalibrate_bn(sub, cal)
                m = sn.validate(sub, data, imgsz, out / "val")["map50"]
                save({"subnet": name, "scorer": recipe, "map50": m, "seconds": time.perf_counter() - start})
                print(f"{recipe} {n}: inherited {m:.3f}", flush=True)
            if args.finetune_epochs and (name, f"{recipe}+ft") not in done:
                start, where = time.perf_counter(), out / recipe / f"ft{n}"
                sub = sn.extract(supernet, space.path(arch))
                sn.recalibrate_bn(sub, cal)
                where.mkdir(parents=True, exist_ok=True)
                export(sub, arch, space, where, {"data": str(data), "imgsz": imgsz, "task": "detect"})
                s = SimpleNamespace(
                    finetune_epochs=args.finetune_epochs, imgsz=imgsz, batch=16, device="cpu", seed=args.seed
                )
                m = finetune(where / "best.pt", data, s, where, warmup_epochs=0, val=False)["map50"]
                save({"subnet": name, "scorer": f"{recipe}+ft", "map50": m, "seconds": time.perf_counter() - start})
                print(f"{recipe} {n}: fine-tuned {m:.3f}", flush=True)
    return report(truth, read_lines(results))


def report(truth: dict[str, dict], rows: list[dict]) -> None:
    """Kendall tau and Spearman of each scorer against the mean stand-alone mAP50, over the subnets both have;
    the stand-alone seed-vs-seed agreement; the median seconds per subnet."""
    mean = {k: float(np.mean(list(t["seeds"].values()))) for k, t in truth.items()}
    scores: dict[str, dict[str, float]] = {}
    seconds: dict[str, list[float]] = {}
    for r in rows:
        if "scorer" not in r or r["subnet"] not in mean or "error" in r:
            continue
        if r["scorer"] == "proxies":
            for k in px.PROXIES:
                scores.setdefault(k, {})[r["subnet"]] = r[k]
                seconds.setdefault(k, []).append(r[f"{k}_seconds"])
        else:
            scores.setdefault(f"inherited {r['scorer']}", {})[r["subnet"]] = r["map50"]
            seconds.setdefault(f"inherited {r['scorer']}", []).append(r["seconds"])
    supernets = {r["supernet"]: r for r in rows if "supernet" in r}
    print(f"ground truth: {len(truth)} subnets, {sum(len(t['seeds']) for t in truth.values())} trainings")
    print("\n| scorer | n | Kendall tau (p) | Spearman (p) | seconds per subnet |\n|---|---|---|---|---|")
    for name, by in scores.items():
        common = [k for k in by if k in mean]
        if len(common) < 3:
            print(f"| {name} | {len(common)} | - | - | {np.median(seconds[name]):.2f} |")
            continue
        a = agreement([by[k] for k in common], [mean[k] for k in common])
        print(
            f"| {name} | {a['n']} | {a['tau']:+.2f} ({a['p_tau']:.2f}) | {a['spearman']:+.2f} ({a['p_spearman']:.2f}) "
            f"| {np.median(seconds[name]):.2f} |"
        )
    both = [t["seeds"] for t in truth.values() if 0 in t["seeds"] and 1 in t["seeds"]]
    if len(both) >= 3:
        a = agreement([s[0] for s in both], [s[1] for s in both])
        print(
            f"| stand-alone seed 0 vs seed 1 | {a['n']} | {a['tau']:+.2f} ({a['p_tau']:.2f}) | "
            f"{a['spearman']:+.2f} ({a['p_spearman']:.2f}) | |"
        )
    for recipe, r in supernets.items():
        print(f"supernet {recipe}: {r['epochs']} epochs in {r['seconds']:.0f} s")


if __name__ == "__main__":
    main()
