"""In-place distillation of the supernet (BigNAS, "BigNAS: Scaling Up Neural Architecture Search with Big
Single-Stage Models", 2020; Once-for-All, 2020): in one training step the largest path learns from the labels
and a smaller path from the labels and from the largest path's detached outputs, through shared weights.

ultralytics' trainer runs one ``model(batch)`` per step and backpropagates what it returns, so both paths run
inside the model's ``loss``: the loop, optimiser, EMA and checkpoints stay ultralytics' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F

from hybrid_nas.classical import network
from hybrid_nas.classical.assign import ScaleAwareModel
from hybrid_nas.classical.ops import BlockChoice


class Sandwich(NamedTuple):
    """One step's paths (layer index -> op, or op with depth and width) and the weight of the student's
    distillation term."""

    teacher: Mapping[int, str | BlockChoice]
    student: Mapping[int, str | BlockChoice]
    weight: float


def distillation_loss(student: dict, teacher: dict) -> torch.Tensor:
    """KL(teacher || student) of the Detect head's raw outputs, the teacher's detached.

    Per anchor and class, the Bernoulli of the sigmoid class score; per anchor and box side, the distribution
    over the distance bins (what ultralytics' DFL decodes), weighted by the teacher's best class score there,
    since the boxes of anchors it calls background mean nothing. Normalised by the teacher's soft count of
    objects (the sum of those scores), as ultralytics normalises its losses by the assigned targets. Zero
    exactly when the outputs agree."""
    t_scores, s_scores = teacher["scores"].detach(), student["scores"]  # (B, nc, anchors), logits
    t_prob = t_scores.sigmoid()
    cls = F.binary_cross_entropy_with_logits(s_scores, t_prob, reduction="none") - F.binary_cross_entropy_with_logits(
        t_scores, t_prob, reduction="none"
    )
    b, _, a = s_scores.shape
    t_box = teacher["boxes"].detach().view(b, 4, -1, a).log_softmax(2)  # (B, 4 sides, bins, anchors)
    s_box = student["boxes"].view(b, 4, -1, a).log_softmax(2)
    box = (t_box.exp() * (t_box - s_box)).sum((1, 2))  # (B, anchors)
    confidence = t_prob.amax(1)
    return (cls.sum() + (box * confidence).sum()) / confidence.sum().clamp(min=1)


class SupernetModel(ScaleAwareModel):
    """The detection model (scale-aware assignment, ``assign.py``) that, while training with a ``sandwich``
    set, computes its loss on two paths: the teacher's on the labels plus the student's on the labels and
    ``weight`` x ``distillation_loss``
    (scaled by the batch size, as ultralytics scales its loss). Without a sandwich it is the plain model."""

    sandwich: Sandwich | None = None  # set per batch by the trainer

    def loss(self, batch, preds=None):
        if self.sandwich is None or not self.training or preds is not None:
            return super().loss(batch, preds)
        if getattr(self, "criterion", None) is None:
            self.criterion = self.init_criterion()
        teacher, student, weight = self.sandwich
        network.set_path(self, teacher)
        t_preds = self.forward(batch["img"])
        t_loss, t_items = self.criterion(t_preds, batch)
        network.set_path(self, student)
        s_preds = self.forward(batch["img"])
        s_loss, s_items = self.criterion(s_preds, batch)
        kd = weight * distillation_loss(s_preds, t_preds)
        items = {k: t_items[k] + s_items[k] for k in t_items} | {"distill": kd.detach()}  # per image, as theirs
        return t_loss.sum() + s_loss.sum() + kd * len(batch["img"]), items
