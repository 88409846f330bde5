"""One-shot quality of the YOLOv9 supernet: Kendall tau between the mAP50 a subnet gets with weights
inherited from the trained supernet (BN recalibrated) and with its own training from scratch (same data,
same epochs, same ultralytics trainer), over random subnets of a scope; and the cost of the two ways.

    python benchmarks/classical_one_shot.py --subnets 8 --epochs 20 --scope full
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hybrid_nas.yolo import supernet as sn
from hybrid_nas.yolo.data import digits_detection
from hybrid_nas.yolo.run import model_yaml_text
from hybrid_nas.yolo.space import NeckSpace


def train_alone(space: NeckSpace, arch, data: Path, out: Path, epochs: int, imgsz: int, seed: int) -> float:
    """Train the subnet from scratch with ultralytics (the supernet's trainer settings); returns seconds."""
    from ultralytics import YOLO

    d = {k: v for k, v in space.subnet_yaml(arch, nc=10).items() if k not in ("yaml_file", "scale")}
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.yaml").write_text(model_yaml_text(d))
    with sn.quiet():
        YOLO(str(out / "model.yaml")).train(data=str(data), epochs=epochs, imgsz=imgsz, batch=16, seed=seed,
                                            deterministic=True, workers=0, device="cpu", amp=False, plots=False,
                                            val=False, project=str(out), name="train", exist_ok=True, verbose=False)
    return out / "train" / "weights" / "last.pt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--scope", default="full")
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench-classical-one-shot")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = digits_detection(args.imgsz, args.n_images, seed=0)
    space = NeckSpace("yolov9t", args.scope)
    trained = sn.train_supernet(space, data, out, args.epochs, args.imgsz, seed=args.seed)
    print(f"supernet ({args.scope}, {space.size()} subnets): {args.epochs} epochs in {trained.seconds:.0f} s")
    batches = sn.calibration_batches(data, args.imgsz)

    rng, archs = np.random.default_rng(args.seed + 1), []
    while len(archs) < args.subnets:
        a = space.sample(rng)
        if a not in archs:
            archs.append(a)
    rows = []
    for n, arch in enumerate(archs):
        start = time.perf_counter()
        sub = sn.extract(trained.model, space.ops(arch))
        sn.recalibrate_bn(sub, batches)
        inherited = sn.validate(sub, data, args.imgsz, out / "val")["map50"]
        t_inherit = time.perf_counter() - start
        start = time.perf_counter()
        weights = train_alone(space, arch, data, out / f"subnet{n}", args.epochs, args.imgsz, args.seed)
        alone = sn.validate(sn.load_supernet(weights), data, args.imgsz, out / "val")["map50"]
        t_alone = time.perf_counter() - start
        rows.append({"subnet": space.describe(arch), "inherited_map50": inherited, "standalone_map50": alone,
                     "inherit_seconds": t_inherit, "standalone_seconds": t_alone})
        print(f"{n}: {space.describe(arch)}  inherited {inherited:.3f} ({t_inherit:.1f} s)  "
              f"stand-alone {alone:.3f} ({t_alone:.0f} s)", flush=True)
    inh, alo = [r["inherited_map50"] for r in rows], [r["standalone_map50"] for r in rows]
    tau, p = kendalltau(inh, alo)
    rho, _ = spearmanr(inh, alo)
    t_inh, t_alo = np.median([r["inherit_seconds"] for r in rows]), np.median([r["standalone_seconds"] for r in rows])
    print(f"\nKendall tau {tau:.2f} (p = {p:.2f}), Spearman {rho:.2f} over {len(rows)} subnets")
    print(f"scoring a subnet: inherited {t_inh:.1f} s vs trained {t_alo:.0f} s -> {t_alo / t_inh:.0f}x cheaper "
          f"(median); the supernet ({trained.seconds:.0f} s) pays for itself after "
          f"{trained.seconds / (t_alo - t_inh):.1f} subnets")
    (out / "one_shot.json").write_text(json.dumps({"args": vars(args), "tau": tau, "p": p, "spearman": rho,
                                                   "supernet_seconds": trained.seconds, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
