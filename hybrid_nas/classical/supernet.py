"""The one-shot supernet: trained once through ultralytics' trainer with a sampled path per batch; subnets
are extracted with inherited weights, BatchNorm-recalibrated and scored by ultralytics' validator."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ultralytics.models.yolo.detect import DetectionValidator
from ultralytics.utils import LOGGER

from hybrid_nas.classical import network
from hybrid_nas.classical.assign import ScaleAwareTrainer
from hybrid_nas.classical.distill import Sandwich, SupernetModel
from hybrid_nas.classical.ops import BlockChoice
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.devices import ultralytics_device
from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.scoped import ScopedSetting

SAMPLINGS = ("uniform", "sandwich", "progressive")


_log_level = ScopedSetting(lambda: LOGGER.level, LOGGER.setLevel)


def quiet(enabled: bool = True):
    """ultralytics logs every epoch and validation at INFO; a search runs hundreds of them. Restored after."""
    return _log_level(logging.WARNING) if enabled else contextlib.nullcontext()


PHASES = ("largest", "kernel", "depth", "width")  # progressive shrinking, in Once-for-All's order


def phases(space: NeckSpace) -> tuple[str, ...]:
    """The progressive phases of ``space``: the largest network, then each dimension it searches."""
    searched = {space.dimension(d.name) for d in space.decisions}
    return tuple(p for p in PHASES if p == "largest" or p in searched)


def phase(space: NeckSpace, epoch: int, epochs: int) -> str:
    """The progressive phase of ``epoch``: the epochs split evenly between ``phases(space)``, in order."""
    order = phases(space)
    return order[max(k for k in range(len(order)) if epoch >= k * epochs // len(order))]


def draw_path(space: NeckSpace, sampling: str, rng: np.random.Generator, batch: int, epoch: int, epochs: int):
    """The path trained on one batch.

    ``uniform``: every position draws an op (and depth and width) of its own, uniformly (single-path one-shot,
    Guo et al.).
    ``sandwich``: the student of the step's in-place distillation (``distill.py``), which also trains the
    largest path: alternately the smallest ops and a uniform path (BigNAS' sandwich rule, one student a step).
    ``progressive``: Once-for-All's progressive shrinking: the largest network first, then the kernel
    elastic, then the depth, then the width (``phase``); each phase draws the dimensions made elastic so far
    uniformly and keeps the others at their largest, and from the kernel phase on the largest path teaches
    the drawn one in place, as in ``sandwich``.
    """
    if sampling == "sandwich" and batch % 2 == 0:
        return space.extreme(largest=False, rng=rng)
    if sampling == "progressive":
        now = phase(space, epoch, epochs)
        if now == "largest":
            return space.extreme(largest=True, rng=rng)
        elastic = PHASES[1 : PHASES.index(now) + 1]
        drawn = space.sample(rng)
        return drawn.replace(
            **{d.name: max(d.options) for d in space.decisions if space.dimension(d.name) not in elastic}
        )
    return space.sample(rng)


def distils(space: NeckSpace, sampling: str, epoch: int, epochs: int) -> bool:
    """Whether this epoch's steps distil the largest path into the drawn one."""
    return sampling == "sandwich" or (sampling == "progressive" and phase(space, epoch, epochs) != "largest")


class SupernetTrainer(ScaleAwareTrainer):
    """ultralytics' detection trainer, its loop untouched: ``get_model`` builds the supernet and a callback
    activates one path (``draw_path``) per batch, with ``sandwich`` (and ``progressive`` past its first phase)
    also the largest path as the teacher of an in-place distillation weighted ``distill``; ``path_counts``
    tallies the options each decision trained."""

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
        space = self.space
        arch = draw_path(space, self.sampling, self.path_rng, self.batches, self.epoch, self.epochs)
        teaches = distils(space, self.sampling, self.epoch, self.epochs)
        teacher = space.extreme(largest=True, rng=self.path_rng) if teaches else None
        self.batches += 1
        network.set_path(self.model, space.path(arch))
        sandwich = Sandwich(space.path(teacher), space.path(arch), self.distill) if teacher is not None else None
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


def training_args(
    data: Path,
    out_dir: Path,
    name: str,
    epochs: int,
    imgsz: int,
    batch: int,
    seed: int,
    workers: int = 0,
    device: str = "cpu",
    verbose: bool = False,
) -> dict:
    """ultralytics' training arguments for every detector trained from scratch here (the supernet and the
    stand-alone subnets it is compared with): deterministic, full precision, no plots or per-epoch validation,
    into ``out_dir/name``."""
    return dict(
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
        name=name,
        exist_ok=True,
        verbose=verbose,
    )


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
    overrides = training_args(data, out_dir, "supernet", epochs, imgsz, batch, seed, workers, device, verbose)
    overrides["model"] = f"{space.model}.yaml"
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


def extract(supernet, path: Mapping[int, str | BlockChoice]):
    """A standalone subnet (one op, depth and width per position; an op alone: the block's all) holding the
    supernet's weights: kernels centre-cropped, the first repeats, the first channels. Leaves the supernet on
    that path."""
    network.set_path(supernet, path)
    chosen = {i: block.choice() for i, block in network.blocks(supernet).items()}
    sub = network.build(network.searchable_yaml(supernet.yaml, chosen))
    # None where the supernet has none, as on a DetectionModel built from a yaml (ultralytics types them set)
    sub.names, sub.args = getattr(supernet, "names", None), getattr(supernet, "args", None)  # type: ignore[assignment]
    wanted = sub.state_dict()
    state = {k: v.clone() for k, v in supernet.state_dict().items() if k in wanted}
    for i, block in network.blocks(supernet).items():
        state |= {f"model.{i}.{k}": v for k, v in block.active_state().items()}
    sub.load_state_dict(state)
    sub.stride = supernet.stride
    return sub.eval()


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
