"""A stand-alone ground truth for the elastic YOLOv9 space: subnets spread from small to large, each trained
from scratch on its own (ultralytics' trainer, scale-aware assignment, builtin digits), seed by seed, and the
agreement of the seeds' rankings (how far the ground truth itself can be trusted).

    taskset -c 1 python benchmarks/classical_ground_truth.py --subnets 16 --seeds 2       # train what is missing
    taskset -c 0 python benchmarks/classical_ground_truth.py --worker 0/2 &                 # two at a time, one
    taskset -c 1 python benchmarks/classical_ground_truth.py --worker 1/2                   # per core
    python benchmarks/classical_ground_truth.py --subnets 16 --seeds 2 --report            # read, train nothing

Every training (one subnet, one seed) is appended as one JSON line to the results file as soon as it ends; a
rerun skips the (subnet, seed) pairs already there under the same ``config``, so a stopped run continues, on
this machine or another, and several runs accumulate seeds.

Schema of each line (``load(path, config)`` reads them back, optionally only those of one config):
  subnet    ``NeckSpace.describe(arch)``, e.g. ``m4=3x3_relu/d1/w50 ... m21=7x7_mish/d3/w100``, or ``yolov9t``
            for the stock model (a reference row: ultralytics' own RepNCSPELAN4 blocks, not a subnet)
  arch      the architecture dict (decision -> option; ``{}`` for the stock model)
  seed      the training seed (ultralytics' ``seed``, deterministic)
  epochs, n_images, imgsz   training epochs; size and side of the generated data set (also in ``config``)
  map50, map50_95           on the val split (what a search scores on)
  test_map50, test_map50_95 on the test split (never chosen on)
  params, gflops            parameters; GFLOPs of one image at ``imgsz`` (torch's operator count)
  train_s   seconds of the training (one thread)
  config    what must match for two lines to be comparable: model, scope, positions, depths, widths, epochs,
            n_images, imgsz, batch, data seed, assignment, ultralytics version
  torch, host  where it ran (not part of the config)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "classical_ground_truth.ndjson"
STOCK = "yolov9t"


def make_space(args):
    from hybrid_nas.classical.space import NeckSpace

    return NeckSpace(args.model, args.scope, positions=args.positions, depths=args.depths, widths=args.widths)


def make_config(args) -> dict:
    import ultralytics

    return {
        "model": args.model,
        "scope": args.scope,
        "positions": args.positions,
        "depths": sorted(args.depths),
        "widths": sorted(args.widths),
        "epochs": args.epochs,
        "n_images": args.n_images,
        "imgsz": args.imgsz,
        "batch": 16,
        "data_seed": 0,
        "assignment": "scale-aware",
        "ultralytics": ultralytics.__version__,
    }


def load(path: Path = RESULTS, config: dict | None = None) -> list[dict]:
    """The trainings stored in ``path`` (one JSON object a line), only those of ``config`` if given."""
    if not Path(path).is_file():
        return []
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in rows if config is None or r["config"] == config]


def size_of(space, arch) -> int:
    """Parameters of the subnet, counted on the built model (cheap: no forward pass)."""
    from hybrid_nas.classical import network

    return sum(p.numel() for p in network.build(space.subnet_yaml(arch, nc=10)).parameters())


def level_draw(space, level: float, rng: np.random.Generator):
    """One architecture around ``level`` (0: the smallest options, 1: the largest): each kernel, depth and width
    index is ``level`` of its range plus Gaussian jitter; activations are drawn uniformly."""
    from hybrid_nas.classical.ops import parse_op
    from hybrid_nas.engine.space import Architecture

    def pick(options: list):
        return options[int(np.clip(round(level * (len(options) - 1) + rng.normal(0, 0.6)), 0, len(options) - 1))]

    choice = {}
    for d in space.decisions:
        if space.dimension(d.name) != "kernel":
            choice[d.name] = pick(sorted(d.options))
            continue
        k = pick(sorted({parse_op(o)[0] for o in d.options}))
        same = [o for o in d.options if parse_op(o)[0] == k]
        choice[d.name] = same[rng.integers(len(same))]
    return Architecture(choice)


def spread_subnets(space, n: int, seed: int, pool: int = 200, size=size_of) -> list:
    """``n`` distinct subnets whose parameter counts are evenly spaced from the space's smallest to its largest
    (both included): a pool drawn around every size level (``level_draw``), then for each evenly spaced target
    the unused candidate nearest to it. Deterministic from ``seed``; ordered small to large."""
    rng = np.random.default_rng(seed)
    small, large = space.extreme(largest=False, rng=rng), space.extreme(largest=True, rng=rng)
    candidates = list(dict.fromkeys([small, large] + [level_draw(space, rng.random(), rng) for _ in range(pool)]))
    sizes = np.array([size(space, a) for a in candidates], float)
    chosen = [0, 1]
    for target in np.linspace(sizes[0], sizes[1], n)[1:-1]:
        free = [i for i in range(len(candidates)) if i not in chosen]
        chosen.append(min(free, key=lambda i: abs(sizes[i] - target)))
    return [candidates[i] for i in sorted(chosen, key=lambda i: sizes[i])]


def schedule(names: list[str], seeds: int, extra: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """(subnet, seed) in training order: seeds in pairs, each pair subnet by subnet, so that a stopped run
    leaves whole seed pairs (what the seed-vs-seed agreement needs), the subnets (ordered small to large) in
    an order that covers their range early (both ends, the middle, the quarters, ...), ``extra`` after them."""
    order, spans = [0, len(names) - 1], [(0, len(names) - 1)]
    while spans:
        lo, hi = spans.pop(0)
        if hi - lo > 1:
            mid = (lo + hi) // 2
            order.append(mid)
            spans += [(lo, mid), (mid, hi)]
    order = list(dict.fromkeys(order))
    pairs = [range(s, min(s + 2, seeds)) for s in range(0, seeds, 2)]
    return [(n, s) for pair in pairs for n in [names[i] for i in order] + list(extra) for s in pair]


def missing(plan: list[tuple[str, int]], rows: list[dict]) -> list[tuple[str, int]]:
    """The (subnet, seed) pairs of ``plan`` that no stored training covers, in order."""
    done = {(r["subnet"], r["seed"]) for r in rows}
    return [p for p in plan if p not in done]


def train_one(space, arch, name: str, seed: int, config: dict, data: Path, out: Path) -> dict:
    """Train one subnet (or the stock model) on one seed and measure it: one results line."""
    import torch
    from _classical import flops, train_model

    from hybrid_nas.classical import network
    from hybrid_nas.classical import supernet as sn

    d = network.stock_yaml(config["model"]) | {"nc": 10} if name == STOCK else space.subnet_yaml(arch, nc=10)
    start = time.perf_counter()
    weights = train_model(d, data, out / "train", config["epochs"], config["imgsz"], seed, batch=config["batch"])
    seconds = time.perf_counter() - start
    model = sn.load_supernet(weights)
    val = sn.validate(model, data, config["imgsz"], out / "val")
    test = sn.validate(model, data, config["imgsz"], out / "val", split="test")
    return {
        "subnet": name,
        "arch": dict(arch),
        "seed": seed,
        "epochs": config["epochs"],
        "n_images": config["n_images"],
        "imgsz": config["imgsz"],
        "map50": val["map50"],
        "map50_95": val["map50_95"],
        "test_map50": test["map50"],
        "test_map50_95": test["map50_95"],
        "params": sum(p.numel() for p in model.parameters()),
        "gflops": flops(model, config["imgsz"]) / 1e9,
        "train_s": seconds,
        "config": config,
        "torch": torch.__version__,
        "host": platform.node(),
    }


def report(rows: list[dict], names: list[str]) -> None:
    """Per subnet mean and std of mAP50 over seeds; the seeds' rank agreement, pair by pair and half against
    half (over the subnets trained on every seed compared)."""
    from _classical import agreement

    by = {n: {r["seed"]: r for r in rows if r["subnet"] == n} for n in names}
    print(f"{len(rows)} trainings stored for this config")
    print("\n| subnet | params (M) | GFLOPs | mAP50 mean | std | per seed | test mAP50 mean |")
    print("|---|---|---|---|---|---|---|")
    for n in names:
        if not by[n]:
            continue
        r0, m = next(iter(by[n].values())), [by[n][s]["map50"] for s in sorted(by[n])]
        test = np.mean([by[n][s]["test_map50"] for s in by[n]])
        std = f"{np.std(m, ddof=1):.3f}" if len(m) > 1 else "-"
        print(
            f"| `{n}` | {r0['params'] / 1e6:.2f} | {r0['gflops']:.2f} | {np.mean(m):.3f} | {std} | "
            f"{', '.join(f's{s} {m[k]:.3f}' for k, s in enumerate(sorted(by[n])))} | {test:.3f} |"
        )
    subnets = [n for n in names if n != STOCK]
    seeds = sorted({s for n in subnets for s in by[n]})
    for a, b in itertools.combinations(seeds, 2):
        both = [n for n in subnets if a in by[n] and b in by[n]]
        if len(both) >= 4:
            s = agreement([by[n][a]["map50"] for n in both], [by[n][b]["map50"] for n in both])
            print(
                f"seed {a} vs seed {b}: Kendall tau {s['tau']:+.2f} (p = {s['p_tau']:.2g}), "
                f"Spearman {s['spearman']:+.2f} (p = {s['p_spearman']:.2g}), {s['n']} subnets"
            )
    if len(seeds) >= 4:
        half = len(seeds) // 2
        first, second = seeds[:half], seeds[half : 2 * half]
        both = [n for n in subnets if all(s in by[n] for s in first + second)]
        if len(both) >= 4:
            x = [np.mean([by[n][s]["map50"] for s in first]) for n in both]
            y = [np.mean([by[n][s]["map50"] for s in second]) for n in both]
            s = agreement(x, y)
            print(
                f"mean of seeds {first} vs mean of seeds {second}: Kendall tau {s['tau']:+.2f} (p = {s['p_tau']:.2g}), "
                f"Spearman {s['spearman']:+.2f} (p = {s['p_spearman']:.2g}), {s['n']} subnets"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda text: [int(v) for v in text.split(",")]  # noqa: E731
    ap.add_argument("--model", default="yolov9t")
    ap.add_argument("--scope", default="full")
    ap.add_argument("--positions", default="all", help="all (backbone and neck ELAN blocks) or neck")
    ap.add_argument("--depths", type=ints, default=[1, 2, 3], help="RepCSP repeats searched, e.g. 1,2,3")
    ap.add_argument("--widths", type=ints, default=[50, 75, 100], help="percent of the stock hidden channels")
    ap.add_argument("--subnets", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=2, help="trainings per subnet (seeds 0, 1, ...)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the subnets' draw")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--n-images", type=int, default=300, help="size of the generated data set (70/20/10 split)")
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--no-stock", action="store_true", help="leave out the stock model's reference rows")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--out", default="runs/bench-classical-ground-truth", help="training directories")
    ap.add_argument("--report", action="store_true", help="print what is stored and train nothing")
    ap.add_argument("--worker", default="0/1", help="K/N: train only the K-th of every N subnets (N runs at once)")
    args = ap.parse_args()
    if min(args.subnets, args.seeds, args.epochs, args.n_images) < 1 or args.subnets < 2:
        raise SystemExit("--subnets (>= 2), --seeds, --epochs and --n-images must be positive")
    worker, _, workers = args.worker.partition("/")
    if not (worker.isdigit() and workers.isdigit() and int(worker) < int(workers)):
        raise SystemExit(f"--worker is K/N with 0 <= K < N, got {args.worker!r}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    space, config, results = make_space(args), make_config(args), Path(args.results)
    archs = spread_subnets(space, args.subnets, args.seed)
    by_name = {space.describe(a): a for a in archs}
    extra = () if args.no_stock else (STOCK,)
    names = [*by_name, *extra]
    if not args.report:
        from hybrid_nas.classical.data import digits_detection
        from hybrid_nas.engine.space import Architecture

        data = digits_detection(args.imgsz, args.n_images, seed=config["data_seed"])
        plan = schedule(list(by_name), args.seeds, extra)
        order = list(dict.fromkeys(name for name, _ in plan))  # whole seed pairs stay with one worker
        plan = [(name, seed) for name, seed in plan if order.index(name) % int(workers) == int(worker)]
        while todo := missing(plan, load(results, config)):
            name, seed = todo[0]  # re-read each time: another machine may append to the same file
            arch = by_name.get(name, Architecture({}))
            row = train_one(space, arch, name, seed, config, data, Path(args.out) / f"{names.index(name)}-s{seed}")
            results.parent.mkdir(parents=True, exist_ok=True)
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"seed {seed}  {name}: mAP50 {row['map50']:.3f} ({row['train_s']:.0f} s)", flush=True)
    rows = load(results, config)
    report([r for r in rows if r["subnet"] in names], names)
    print(f"{len(missing(schedule(list(by_name), args.seeds, extra), rows))} trainings of this set remain")


if __name__ == "__main__":
    main()
