"""Does every searched position of the YOLOv9 neck matter? With a trained supernet, start from a reference
subnet and swap one position's op at a time: the inherited mAP50 each op gets (its spread is what the search
can gain or lose there), and which detection head (P3/P4/P5, strides 8/16/32) the confident and the
true-positive detections come from.

    python benchmarks/classical_positions.py --weights runs/yolo/supernet.pt --scope medium
    python benchmarks/classical_positions.py --epochs 20 --scope medium     # trains its own supernet first
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.data import digits_detection
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.space import Architecture

HEADS = ("P3", "P4", "P5")
RESULTS = Path(__file__).parent / "results" / "classical_positions.json"


@torch.no_grad()
def head_counts(model, batches, imgsz: int, conf: float, iou: float = 0.5) -> dict[str, list]:
    """Per head: detections kept by NMS with score >= ``conf``, and those that are true positives (IoU >= ``iou``
    with an unmatched ground-truth box of the same class, greedily by score); and per object size band (longer
    side < 32, 32-64, > 64 px at 160 px: a fifth and two fifths of the image) the objects and their true
    positives by head."""
    from ultralytics.utils.metrics import box_iou
    from ultralytics.utils.nms import non_max_suppression
    from ultralytics.utils.ops import xywh2xyxy

    sizes = [(imgsz // int(s)) ** 2 for s in model.stride]  # anchors per head, concatenated P3, P4, P5
    level = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    confident, true_pos = np.zeros(len(sizes), int), np.zeros(len(sizes), int)
    objects, found = np.zeros(3, int), np.zeros((3, len(sizes)), int)  # by size band; by band and head
    for b in batches:
        preds = model(b["img"].float() / 255)
        dets, keep = non_max_suppression(preds, conf, 0.7, return_idxs=True)
        for j, (det, idx) in enumerate(zip(dets, keep)):
            heads = level[idx.long().reshape(-1)]
            confident += np.bincount(heads.numpy(), minlength=len(sizes))
            mine = b["batch_idx"] == j
            gt_box, gt_cls = xywh2xyxy(b["bboxes"][mine]) * imgsz, b["cls"][mine].view(-1)
            side = (gt_box[:, 2:] - gt_box[:, :2]).amax(1)
            band = ((side >= imgsz / 5).long() + (side > 2 * imgsz / 5).long()).numpy()
            objects += np.bincount(band, minlength=3)
            if not len(det) or not len(gt_box):
                continue
            overlap = box_iou(det[:, :4], gt_box)  # det rows are sorted by score
            taken = torch.zeros(len(gt_box), dtype=torch.bool)
            for k in range(len(det)):
                ok = (overlap[k] >= iou) & (gt_cls == det[k, 5]) & ~taken
                if ok.any():
                    match = torch.where(ok, overlap[k], -1).argmax()
                    taken[match] = True
                    true_pos[heads[k]] += 1
                    found[band[match], heads[k]] += 1
    return {
        "confident": confident.tolist(),
        "true_positive": true_pos.tolist(),
        "objects_by_band": objects.tolist(),
        "true_positive_by_band_and_head": found.tolist(),
    }


def shares(counts: list[int]) -> str:
    total = max(1, sum(counts))
    return " ".join(f"{h} {100 * c / total:3.0f}%" for h, c in zip(HEADS, counts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="a trained supernet (a classical run's supernet.pt); else one is trained here")
    ap.add_argument("--scope", default="medium", help="the scope the supernet was trained on (or is trained on)")
    ap.add_argument(
        "--reference",
        default="{}",
        help="JSON of the ops the reference subnet fixes (the rest: each position's first option)",
    )
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--imgsz", type=int, default=160)
    ap.add_argument("--n-images", type=int, default=300)
    ap.add_argument(
        "--conf", type=float, default=0.05, help="score threshold of a counted detection (short trainings score low)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench-classical-positions")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = digits_detection(args.imgsz, args.n_images, seed=0)
    space = NeckSpace("yolov9t", args.scope)
    if args.weights:
        supernet = sn.load_supernet(Path(args.weights))
    else:
        trained = sn.train_supernet(space, data, out, args.epochs, args.imgsz, seed=args.seed)
        print(f"supernet ({args.scope}): {args.epochs} epochs in {trained.seconds:.0f} s")
        supernet = trained.model
    reference = Architecture({d.name: d.options[0] for d in space.decisions} | json.loads(args.reference))
    space.validate(reference)
    calibration, val = sn.calibration_batches(data, args.imgsz, 32), sn.labelled_batches(data, args.imgsz, "val")
    print(f"reference: {space.describe(reference)}")

    positions = {}
    for d in space.decisions:
        rows = []
        for op in d.options:
            start = time.perf_counter()
            arch = Architecture({**reference, d.name: op})
            sub = sn.extract(supernet, space.ops(arch))
            sn.recalibrate_bn(sub, calibration)
            metrics = sn.validate(sub, data, args.imgsz, out / "val")
            counts = head_counts(sub, val, args.imgsz, args.conf)
            rows.append({"op": op, **metrics, **counts, "seconds": time.perf_counter() - start})
            print(
                f"  {d.name}={op:10s} mAP50 {metrics['map50']:.3f}  confident {shares(counts['confident'])}  "
                f"true positives {shares(counts['true_positive'])}",
                flush=True,
            )
        maps = [r["map50"] for r in rows]
        positions[d.name] = {"spread": max(maps) - min(maps), "best": rows[int(np.argmax(maps))]["op"], "ops": rows}
        print(
            f"{d.name}: inherited mAP50 {min(maps):.3f}-{max(maps):.3f} (spread {max(maps) - min(maps):.3f}), "
            f"best {positions[d.name]['best']}",
            flush=True,
        )
    doc = {"args": vars(args), "data": str(data), "reference": dict(reference), "positions": positions}
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(doc, indent=1, default=float) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
