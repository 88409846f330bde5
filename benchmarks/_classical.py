"""Shared by the classical benchmark scripts: a YOLOv9 model trained from scratch on its own, its FLOPs
(``hybrid_nas.classical.proxies.flops``), and the rank agreement of two scorings."""

from __future__ import annotations

from pathlib import Path

from scipy.stats import kendalltau, spearmanr

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.assign import ScaleAwareTrainer
from hybrid_nas.classical.proxies import flops  # noqa: F401  (the scripts' FLOPs, one place)
from hybrid_nas.classical.run import model_yaml_text
from hybrid_nas.classical.space import NeckSpace


def train_model(
    d: dict, data: Path, out: Path, epochs: int, imgsz: int, seed: int, scale_aware: bool = True, batch: int = 16
) -> Path:
    """Train a model dictionary from scratch with ultralytics (the supernet's trainer settings and, unless told
    otherwise, its scale-aware assignment); returns its weights."""
    from ultralytics import YOLO

    d = {k: v for k, v in d.items() if k not in ("yaml_file", "scale")}
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.yaml").write_text(model_yaml_text(d))
    with sn.quiet():
        YOLO(str(out / "model.yaml")).train(
            trainer=ScaleAwareTrainer if scale_aware else None,
            **sn.training_args(data, out, "train", epochs, imgsz, batch, seed),
        )
    return out / "train" / "weights" / "last.pt"


def train_alone(
    space: NeckSpace, arch, data: Path, out: Path, epochs: int, imgsz: int, seed: int, scale_aware: bool = True
) -> Path:
    """Train the subnet ``arch`` of ``space`` from scratch (``train_model``); returns its weights."""
    return train_model(space.subnet_yaml(arch, nc=10), data, out, epochs, imgsz, seed, scale_aware)


def agreement(x, y) -> dict:
    """Kendall tau and Spearman rho of two scorings of the same items, with their p-values."""
    tau, p_tau = kendalltau(x, y)
    rho, p_rho = spearmanr(x, y)
    return {"tau": float(tau), "p_tau": float(p_tau), "spearman": float(rho), "p_spearman": float(p_rho), "n": len(x)}
