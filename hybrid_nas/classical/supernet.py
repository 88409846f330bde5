"""The one-shot supernet: trained once through ultralytics' trainer with a sampled path per batch; subnets
are extracted with inherited weights, BatchNorm-recalibrated and scored by ultralytics' validator."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.utils import LOGGER

from hybrid_nas.classical import network
from hybrid_nas.classical.assign import ScaleAwareTrainer
from hybrid_nas.classical.distill import Sandwich, SupernetModel
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.devices import ultralytics_device
from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.scoped import ScopedSetting

SAMPLINGS = ("uniform", "sandwich", "progressive")


_log_level = ScopedSetting(lambda: LOGGER.level, LOGGER.setLevel)


def quiet(enabled: bool = True):
    """ultralytics logs every epoch and validation at INFO; a search runs hundreds of them. Restored after."""
    return _log_level(logging.WARNING) if enabled else contextlib.nullcontext()


def draw_path(space: NeckSpace, sampling: str, rng: np.random.Generator, batch: int, epoch: int, epochs: int):
    """The path trained on one batch.

    ``uniform``: every position draws an op of its own, uniformly (single-path one-shot, Guo et al.).
    ``sandwich``: the student of the step's in-place distillation (``distill.py``), which also trains the
    largest path: alternately the smallest ops and a uniform path (BigNAS' sandwich rule, one student a step).
    ``progressive``: the first half of the epochs trains only the largest kernels, then every op
    (Once-for-All's progressive shrinking of the kernel).
    """
    if sampling == "sandwich" and batch % 2 == 0:
        return space.extreme(largest=False, rng=rng)
    if sampling == "progressive" and epoch < epochs // 2:
        return space.extreme(largest=True, rng=rng)
    return space.sample(rng)


class SupernetTrainer(ScaleAwareTrainer):
    """ultralytics' detection trainer, its loop untouched: ``get_model`` builds the supernet and a callback
    activates one path (``draw_path``) per batch, with ``sandwich`` also the largest path as the teacher of an
    in-place distillation weighted ``distill``; ``path_counts`` tallies the ops each position trained."""

    def __init__(
        self, space: NeckSpace, sampling: str = "uniform", overrides: dict | None = None, distill: float = 1.0
    ):
        if sampling not in SAMPLINGS:
            raise ConfigError(unknown("supernet sampling", sampling, SAMPLINGS))
        if not distill >= 0:
            raise ConfigError(f"distillation weight must be >= 0, got {distill}")
        super().__init__(overrides=overrides)
        self.space, self.sampling, self.distill = space, sampling, distill
        self.path_rng = np.random.default_rng(self.args.seed)
        self.path_counts: dict[str, Counter[str]] = {d.name: Counter() for d in space.decisions}
        self.batches = 0
        self.add_callback("on_train_batch_start", lambda trainer: trainer.sample_path())

    model_class = SupernetModel

    def get_model(self, cfg=None, weights=None, verbose=True):
        return super().get_model(cfg=self.space.supernet_yaml(nc=self.data["nc"]), weights=weights, verbose=False)

    def sample_path(self) -> None:
        arch = draw_path(self.space, self.sampling, self.path_rng, self.batches, self.epoch, self.epochs)
        teacher = self.space.extreme(largest=True, rng=self.path_rng) if self.sampling == "sandwich" else None
        self.batches += 1
        network.set_path(self.model, self.space.ops(arch))
        sandwich = (
            Sandwich(self.space.ops(teacher), self.space.ops(arch), self.distill) if teacher is not None else None
        )
        self.model.sandwich = sandwich  # type: ignore[union-attr]  # ultralytics types the model as its source path
        for path in filter(None, (teacher, arch)):
            for name, op in path.items():
                self.path_counts[name][op] += 1


@dataclass
class TrainedSupernet:
    model: torch.nn.Module  # the trainer's EMA weights, float32, eval mode
    weights: Path  # ultralytics' last.pt
    path_counts: dict[str, Counter]
    seconds: float


def train_supernet(
    space: NeckSpace,
    data: Path,
    out_dir: Path,
    epochs: int,
    imgsz: int = 160,
    batch: int = 16,
    seed: int = 0,
    sampling: str = "uniform",
    workers: int = 0,
    verbose: bool = False,
    device: str = "cpu",
    distill: float = 1.0,
) -> TrainedSupernet:
    overrides = dict(
        data=str(data),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        seed=seed,
        deterministic=True,
        workers=workers,
        device=ultralytics_device(device),
        amp=False,
        plots=False,
        val=False,
        project=str(Path(out_dir).resolve()),
        name="supernet",
        exist_ok=True,
        verbose=verbose,
        model=f"{space.model}.yaml",
    )
    start = time.perf_counter()
    with quiet(not verbose):
        trainer = SupernetTrainer(space, sampling, overrides, distill)
        trainer.train()
    return TrainedSupernet(
        load_supernet(Path(trainer.last)), Path(trainer.last), trainer.path_counts, time.perf_counter() - start
    )


def load_supernet(weights: Path):
    from ultralytics.nn.tasks import load_checkpoint

    model, _ = load_checkpoint(str(weights))
    return model.float().eval()


def extract(supernet, ops: dict[int, str]):
    """A standalone subnet (one op per position) holding the supernet's weights, kernels centre-cropped."""
    d = network.searchable_yaml(supernet.yaml, ops)
    sub = network.build(d)
    # None where the supernet has none, as on a DetectionModel built from a yaml (ultralytics types them set)
    sub.names, sub.args = getattr(supernet, "names", None), getattr(supernet, "args", None)  # type: ignore[assignment]
    source = supernet.state_dict()
    state = {k: _crop(source[k], v.shape) for k, v in sub.state_dict().items()}
    sub.load_state_dict(state)
    sub.stride = supernet.stride
    return sub.eval()


def _crop(w: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if w.shape == shape:
        return w.clone()
    off = (w.shape[-1] - shape[-1]) // 2
    return w[..., off : off + shape[-1], off : off + shape[-2]].clone()


def calibration_batches(data: Path, imgsz: int, n_images: int = 64, batch: int = 16):
    """Training images as float batches (ultralytics' own loading and letterboxing), for BN recalibration."""
    return [b["img"].float() / 255 for b in labelled_batches(data, imgsz, "train", n_images, batch)]


def labelled_batches(data: Path, imgsz: int, split: str = "val", n_images: int | None = None, batch: int = 16):
    """The batches ultralytics' validator would see of a split (images uint8, ``batch_idx``, ``cls``,
    normalised xywh ``bboxes``), in order; the first ``n_images`` or all."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    with quiet():
        info = check_det_dataset(str(data), autodownload=False)
        cfg = get_cfg(overrides=dict(imgsz=imgsz, batch=batch, data=str(data), fraction=1.0))
        # ultralytics' own get_cfg result, though its annotation asks for an IterableSimpleNamespace
        dataset = build_yolo_dataset(cfg, info[split], batch, info, mode="val")  # type: ignore[arg-type]
        loader = build_dataloader(dataset, batch, workers=0, shuffle=False)
        out, seen = [], 0
        for b in loader:
            out.append(b)
            seen += len(b["img"])
            if n_images is not None and seen >= n_images:
                break
    return out


@torch.no_grad()
def recalibrate_bn(model, batches) -> None:
    """Re-estimate every BatchNorm's running statistics for this subnet: the supernet's were averaged over
    all the paths it trained, which misplaces a single subnet's activations (Guo et al., SPOS)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    device = next(model.parameters()).device
    for x in batches:
        model(x.to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()


def validate(
    model, data: Path, imgsz: int, save_dir: Path, batch: int = 16, split: str = "val", device: str = "cpu"
) -> dict[str, float]:
    """ultralytics' validator on a split of the data set: precision, recall, mAP50, mAP50-95. ``save_dir``
    (which the validator creates even when it saves nothing) keeps it out of the working directory."""
    args = dict(
        data=str(data),
        imgsz=imgsz,
        batch=batch,
        device=ultralytics_device(device),
        plots=False,
        verbose=False,
        workers=0,
        save_json=False,
        split=split,
    )
    with quiet():
        stats = DetectionValidator(save_dir=Path(save_dir), args=args)(model=copy.deepcopy(model))
    return {
        "precision": stats["metrics/precision(B)"],
        "recall": stats["metrics/recall(B)"],
        "map50": stats["metrics/mAP50(B)"],
        "map50_95": stats["metrics/mAP50-95(B)"],
    }
