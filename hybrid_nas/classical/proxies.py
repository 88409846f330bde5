"""Zero-cost proxies of a detector subnet: training-free scores from one small batch of the data, in seconds.

Each is computed on a copy of the model (the model itself is left as it was), on CPU:

- ``synflow``: "Pruning neural networks without any data by iteratively conserving synaptic flow" (2020):
  every weight made positive, an all-ones image, ``R`` the sum of the Detect head's raw outputs, the score
  ``sum |w * dR/dw|`` over the convolution weights. BatchNorm is removed, as the synflow of "Zero-Cost Proxies
  for Lightweight NAS" (2021) removes it (its ``bn=False``), and the pass runs in float64; the score is
  reported as its natural logarithm, since yolov9t's raw sum is of the order 1e60 and more.
- ``naswot``: "Neural Architecture Search without Training" (2021): the log-determinant of the kernel
  ``K[i, j] = units - hamming(c_i, c_j)`` of the images' binary activation codes. The codes there are ReLU's
  on/off states; our activations are also SiLU, Mish and leaky ReLU, so a unit's code is the sign of its
  pre-activation (the input of every activation module), which is the ReLU code where the activation is ReLU.
  BatchNorm uses the batch's statistics (the network in training mode, as that paper's code runs it).
- ``grad_norm`` and ``snip`` (as "Zero-Cost Proxies for Lightweight NAS" scores them): from one backward
  pass of the detector's training loss (ultralytics' loss with the package's scale-aware assignment, what
  every supernet and stand-alone training here optimises) on the labelled batch: ``sum_layers ||dL/dW||``
  and ``sum |w * dL/dw|`` ("SNIP: Single-shot Network Pruning based on Connection Sensitivity", 2019).
- ``params`` (parameter count) and ``gflops`` (one image, counted by torch at the operator level).

A score that comes out NaN or infinite raises ``ProxyError`` (one line naming the proxy), which a study
records as the candidate's failed trial.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hybrid_nas.classical.ops import ACTIVATIONS
from hybrid_nas.engine.errors import ConfigError, HybridNasError, unknown

PROXIES = ("synflow", "naswot", "grad_norm", "snip", "params", "gflops")
# the activation modules whose inputs are NASWOT's pre-activations: ours, and ultralytics' stock SiLU
_ACTIVATION_TYPES = tuple({type(make()) for make in ACTIVATIONS.values()} | {nn.SiLU})


class ProxyError(HybridNasError):
    """A proxy that is not a finite number on this subnet and batch."""

    exit_code = 1


def check_proxies(names: Sequence[str]) -> tuple[str, ...]:
    for name in names:
        if name not in PROXIES:
            raise ConfigError(unknown("zero-cost proxy", name, PROXIES))
    return tuple(names)


def init_subnet(space, arch, nc: int, seed: int = 0):
    """``arch`` of ``space`` as a plain ultralytics DetectionModel with the initial weights of ``seed`` (the
    global torch RNG is left as it was)."""
    from hybrid_nas.classical import network

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return network.build(space.subnet_yaml(arch, nc=nc))


def proxy_batch(data: Path, imgsz: int, n_images: int = 16, seed: int = 0) -> dict:
    """``n_images`` training images drawn by ``seed``, letterboxed as ultralytics' validator loads them (no
    augmentation), with their labels: one collated batch."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    from hybrid_nas.classical.supernet import quiet

    with quiet():
        info = check_det_dataset(str(data), autodownload=False)
        cfg = get_cfg(overrides=dict(imgsz=imgsz, batch=n_images, data=str(data), fraction=1.0))
        # ultralytics' own get_cfg result, though annotated otherwise; a YOLODataset, typed as torch's Dataset
        dataset: Any = build_yolo_dataset(cfg, info["train"], n_images, info, mode="val")  # type: ignore[arg-type]
    if n_images > len(dataset):
        raise ConfigError(f"proxy batch of {n_images} images asked for, the train split holds {len(dataset)}")
    picked = np.sort(np.random.default_rng(seed).choice(len(dataset), n_images, replace=False))
    return dataset.collate_fn([dataset[int(i)] for i in picked])


def _weights(model) -> list[torch.Tensor]:
    """The trainable convolution and linear weights (the layers the proxies' papers score)."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad]


def _without_bn(model) -> None:
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())


def _head_outputs(preds) -> list[torch.Tensor]:
    """The Detect head's raw outputs of a training-mode forward (either head of an end-to-end one)."""
    heads = [preds[k] for k in ("one2many", "one2one")] if "one2many" in preds else [preds]
    return [h[k] for h in heads for k in ("boxes", "scores")]


def synflow(model, imgsz: int) -> float:
    net = copy.deepcopy(model).double().train()
    _without_bn(net)
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    heads = _head_outputs(net(torch.ones(1, 3, imgsz, imgsz, dtype=torch.float64)))
    torch.stack([t.sum() for t in heads]).sum().backward()
    total = sum(float((w * w.grad).detach().sum()) for w in _weights(net) if w.grad is not None)
    return math.log(total) if total > 0 else float("nan")


@torch.no_grad()
def naswot(model, images: torch.Tensor) -> float:
    net = copy.deepcopy(model).train()
    n = len(images)
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def code(_module, inputs, _output):
        c = (inputs[0] > 0).flatten(1).float()
        on = c.sum(1, dtype=torch.float64)
        # c c^T + (1 - c)(1 - c)^T, the count of units on which two images agree: units - hamming distance
        agree = 2 * (c @ c.T).double() - on[:, None] - on[None, :] + c.shape[1]
        kernel.add_(agree)

    hooks = [m.register_forward_hook(code) for m in net.modules() if isinstance(m, _ACTIVATION_TYPES)]
    try:
        net(images)
    finally:
        for h in hooks:
            h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else float("nan")


def loss_gradients(model, batch: dict) -> dict[str, float]:
    """``grad_norm`` and ``snip`` from one backward pass of the training loss on ``batch``."""
    from ultralytics.cfg import get_cfg

    from hybrid_nas.classical.assign import ScaleAwareLoss

    net = copy.deepcopy(model).float().train()
    net.args = get_cfg()  # the loss gains (box, cls, dfl) of ultralytics' defaults, as the trainings here use
    criterion = ScaleAwareLoss(net)
    net.zero_grad()
    loss, _ = criterion(net(batch["img"].float() / 255), batch)
    loss.sum().backward()
    pairs = [(w.detach(), w.grad) for w in _weights(net) if w.grad is not None]
    return {
        "grad_norm": sum(float(g.norm()) for _, g in pairs),
        "snip": sum(float((w * g).abs().sum()) for w, g in pairs),
    }


@torch.no_grad()
def flops(model, imgsz: int) -> float:
    """FLOPs of one image, counted by torch at the operator level (ultralytics' thop hooks count only called
    nn.Conv2d modules and miss the searchable blocks' functional convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = copy.deepcopy(model).eval()
    counter = FlopCounterMode(display=False)
    with counter:
        net(torch.zeros(1, 3, imgsz, imgsz))
    return float(counter.get_total_flops())


def zero_cost(model, batch: dict, names: Sequence[str] = PROXIES) -> dict[str, float]:
    """The proxies ``names`` of ``model`` (an ultralytics DetectionModel) on ``batch`` (``proxy_batch``):
    name -> value, and ``<name>_seconds`` -> what it took. Deterministic: no randomness beyond the model's
    weights and the batch. ``ProxyError`` for one that is not finite."""
    names = check_proxies(names)
    imgsz = int(batch["img"].shape[-1])
    out: dict[str, float] = {}
    for name in names:
        if name in out:
            continue
        start = time.perf_counter()
        if name == "synflow":
            values = {name: synflow(model, imgsz)}
        elif name == "naswot":
            values = {name: naswot(model, batch["img"].float() / 255)}
        elif name in ("grad_norm", "snip"):
            values = loss_gradients(model, batch)  # both from one backward pass
        elif name == "params":
            values = {name: float(sum(p.numel() for p in model.parameters()))}
        else:
            values = {name: flops(model, imgsz) / 1e9}
        seconds = (time.perf_counter() - start) / len(values)
        for key, value in values.items():
            if not math.isfinite(value):
                raise ProxyError(
                    f"zero-cost proxy {key} is {value} on this subnet and batch (non-finite weights or images?)"
                )
            out[key], out[f"{key}_seconds"] = value, seconds
    return out
