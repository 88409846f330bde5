"""Which label assignment lets every detection head learn on builtin:digits? One fixed yolov9t subnet trained
from scratch with ultralytics' task-aligned assignment (every head competes for every object) and with the
scale-aware gate at several size ranges; mAP50, and recall of the small / medium / large digits by head.

    python benchmarks/classical_assignment.py --epochs 25
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from _classical import train_alone
from classical_positions import HEADS, head_counts

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.assign import ScaleAwareAssigner
from hybrid_nas.classical.data import digits_detection
from hybrid_nas.classical.space import NeckSpace

RESULTS = Path(__file__).parent / "results" / "classical_assignment.json"
BANDS = ("small", "medium", "large")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranges", default="tal,2-4,2-6,2-8", help="tal (ultralytics' own) or lo-hi in strides")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--conf", type=float, default=0.05)
    ap.add_argument("--out", default="runs/bench-classical-assignment")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = digits_detection(args.imgsz, args.n_images, seed=0)
    space = NeckSpace("yolov9t", "medium")
    arch = space.extreme(largest=False)  # the all-3x3_relu neck: a plain yolov9t with relu blocks
    val = sn.labelled_batches(data, args.imgsz, "val")
    rows, default = [], ScaleAwareAssigner.level_range
    for name in args.ranges.split(","):
        start = time.perf_counter()
        if name != "tal":
            ScaleAwareAssigner.level_range = tuple(float(v) for v in name.split("-"))
        weights = train_alone(
            space, arch, data, Path(args.out) / name, args.epochs, args.imgsz, args.seed, scale_aware=name != "tal"
        )
        ScaleAwareAssigner.level_range = default
        model = sn.load_supernet(weights)
        metrics = sn.validate(model, data, args.imgsz, Path(args.out) / "val")
        counts = head_counts(model, val, args.imgsz, args.conf)
        found, objects = np.array(counts["true_positive_by_band_and_head"]), np.array(counts["objects_by_band"])
        recall = found.sum(1) / np.maximum(objects, 1)
        rows.append(
            {
                "assignment": name,
                **metrics,
                **counts,
                "recall_by_band": recall.tolist(),
                "seconds": time.perf_counter() - start,
            }
        )
        by_head = "; ".join(f"{b}: " + "/".join(str(int(c)) for c in found[i]) for i, b in enumerate(BANDS))
        print(
            f"{name:4s} mAP50 {metrics['map50']:.3f}  recall small/medium/large "
            f"{' / '.join(f'{r:.2f}' for r in recall)}  true positives by {'/'.join(HEADS)} ({by_head})",
            flush=True,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), "architecture": dict(arch), "rows": rows}, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
