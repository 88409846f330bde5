"""Detection data: a generated, offline ``builtin:digits`` set, or any ultralytics ``data.yaml`` on disk.

``builtin:digits`` pastes scikit-learn's bundled 8x8 handwritten digits at random non-overlapping places on
noisy grey canvases, with YOLO labels (10 classes): deterministic by seed, written once to a cache directory
and reused. Each canvas mixes small, medium and large digits (``SCALE_BANDS``: up to 1/5, 1/5-2/5 and
2/5-3/4 of the image side, i.e. < 32, 32-64 and 64-120 px at 160 px), so that the stride-8, -16 and -32
heads (P3, P4, P5) each have objects of their size to be trained on (``assign.py``) and the neck blocks that
feed them affect the result.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import yaml

from hybrid_nas.engine.errors import DataError

BUILTIN = "builtin:digits"


def cache_dir() -> Path:
    return Path(os.environ.get("HYBRID_NAS_CACHE", Path.home() / ".cache" / "hybrid-nas"))


def resolve_data(data: str, imgsz: int = 160, n_images: int = 300, seed: int = 0) -> Path:
    """The path of a ``data.yaml``: generated for ``builtin:digits``, else the given file (``check_data``)."""
    if data == BUILTIN:
        return digits_detection(imgsz=imgsz, n_images=n_images, seed=seed)
    return check_data(data)


def check_data(data: str) -> Path:
    """A ``data.yaml`` on disk with its image folders (ultralytics would otherwise try to download them), or
    ``builtin:digits``; checked before any work."""
    path = Path(data)
    if data == BUILTIN:
        return path
    if not path.is_file():
        raise DataError(
            f"data set {data!r} not found: give an ultralytics data.yaml on disk or {BUILTIN!r} (nothing is downloaded)"
        )
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"data set {data}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(doc, dict):
        raise DataError(f"data set {data}: expected a mapping with 'train', 'val' and 'names' keys")
    root = Path(doc.get("path") or path.parent)
    root = root if root.is_absolute() else path.parent / root
    for split in ("train", "val"):
        if split not in doc or "names" not in doc:
            raise DataError(f"data set {data}: needs 'train', 'val' and 'names' keys")
        for entry in [doc[split]] if isinstance(doc[split], str) else doc[split]:
            if not (root / entry).exists():
                raise DataError(
                    f"data set {data}: its {split} images {root / entry} are not on disk (nothing is downloaded)"
                )
    return path


def class_count(data_yaml: Path) -> int:
    """The number of classes a ``data.yaml`` names (a list or a mapping of names)."""
    return len((yaml.safe_load(Path(data_yaml).read_text()) or {}).get("names") or ())


def digits_detection(
    imgsz: int = 160,
    n_images: int = 300,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.1,
    root: Path | None = None,
) -> Path:
    """Write (once) the generated digits detection set and return its ``data.yaml``: train, val (what
    searches and HPO score on) and test (held out, for default-vs-tuned reports) splits."""
    root = (root or cache_dir() / "data") / f"digits-{imgsz}px-{n_images}-s{seed}-v3"
    data_yaml = root / "data.yaml"
    if data_yaml.is_file():
        return data_yaml
    import cv2
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    n_val, n_test = max(1, round(n_images * val_fraction)), max(1, round(n_images * test_fraction))
    for i in range(n_images):
        split = "val" if i < n_val else "test" if i < n_val + n_test else "train"
        image, labels = _canvas(digits, imgsz, rng)
        for sub in ("images", "labels"):
            (tmp / sub / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp / "images" / split / f"{i:05d}.png"), image)
        (tmp / "labels" / split / f"{i:05d}.txt").write_text(
            "".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in labels)
        )
    doc = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": {i: str(i) for i in range(10)},
    }
    (tmp / "data.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        tmp.rename(root)  # atomic: a concurrent writer's copy wins, ours is dropped
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return data_yaml


# Per scale band: the digit's side as fractions of the image side, and how many per canvas (low, high inclusive).
# Larger digits come first, while there is room for them; the tight ink box is 75-100 % of the pasted side.
SCALE_BANDS = (
    ("large", (0.42, 0.75), (1, 1)),
    ("medium", (0.21, 0.40), (1, 2)),
    ("small", (0.09, 0.20), (1, 2)),
)


def _canvas(digits, imgsz: int, rng: np.random.Generator, tries: int = 30):
    """One noisy grey canvas with digits of every scale band at random places; YOLO labels (class, cx, cy, w, h)."""
    import cv2

    canvas = rng.normal(96, 24, (imgsz, imgsz)).clip(0, 255)
    taken = np.zeros((imgsz, imgsz), bool)
    labels = []
    for _, (low, high), (n_low, n_high) in SCALE_BANDS:
        for _ in range(rng.integers(n_low, n_high + 1)):
            for _ in range(tries):
                size = max(8, int(rng.uniform(low, high) * imgsz))
                x0, y0 = rng.integers(0, imgsz - size + 1, 2)
                if not taken[y0 : y0 + size, x0 : x0 + size].any():
                    break
            else:
                continue  # no room left for this one
            k = int(rng.integers(len(digits.images)))
            patch = cv2.resize(digits.images[k] / 16.0, (size, size), interpolation=cv2.INTER_LINEAR)
            region = canvas[y0 : y0 + size, x0 : x0 + size]
            canvas[y0 : y0 + size, x0 : x0 + size] = region * (1 - patch) + 255 * patch  # white ink, blended
            taken[y0 : y0 + size, x0 : x0 + size] = True
            ys, xs = np.nonzero(patch > 0.25)  # tight box around the ink, not the blank margin of the 8x8 cell
            bx0, bx1, by0, by1 = x0 + xs.min(), x0 + xs.max() + 1, y0 + ys.min(), y0 + ys.max() + 1
            labels.append(
                (
                    int(digits.target[k]),
                    (bx0 + bx1) / 2 / imgsz,
                    (by0 + by1) / 2 / imgsz,
                    (bx1 - bx0) / imgsz,
                    (by1 - by0) / imgsz,
                )
            )
    image = np.repeat(canvas.astype(np.uint8)[..., None], 3, axis=2)
    return image, labels
