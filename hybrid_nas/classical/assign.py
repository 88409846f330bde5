"""Scale-aware label assignment: an object is a training target only for the heads whose stride suits its size.

ultralytics' task-aligned assigner (TOOD, 2021) lets every head compete for every object, and its box
regression reaches 15 strides each way (reg_max 16). At small image sizes the stride-8 head therefore covers
even the largest objects and, having the most anchors, wins them all: the stride-16 and -32 heads learn only
background, and the neck blocks that feed them stop mattering to the detections. Gating the candidates by
object size per stride, as FCOS ("FCOS: Fully Convolutional One-Stage Object Detection", 2019) does by
regression range, gives each head the objects of its scale; the task-aligned choice among them is unchanged.

``ScaleAwareTrainer`` is ultralytics' detection trainer with this loss; ``YOLO(...).train(trainer=...)`` takes it.
"""

from __future__ import annotations

import torch
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils.loss import v8DetectionLoss
from ultralytics.utils.tal import TaskAlignedAssigner, make_anchors


class ScaleAwareAssigner(TaskAlignedAssigner):
    """TaskAlignedAssigner whose candidates for an object are the anchors inside it on the heads of stride ``s``
    with ``lo * s <= longer side <= hi * s`` (the finest head open below, the coarsest open above). An object
    the gate would leave with no candidate keeps its ungated ones."""

    # At strides 8/16/32: P3 up to 64 px, P4 32-128 px, P5 from 64 px. Overlapping ranges (two heads per size
    # beyond 32 px) trained best on builtin:digits at 160 px: a 25-epoch yolov9t reached 0.30 mAP50 against
    # 0.17 with ultralytics' assignment, where disjoint ranges (2, 4) reached 0.11 (each head alone learns
    # its objects slowly).
    level_range = (2.0, 8.0)

    # one argument more than ultralytics' assigner: the anchors' strides, passed by ScaleAwareLoss below
    def forward(  # type: ignore[override]
        self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, anc_strides, **extra
    ):
        self.anc_strides = anc_strides
        return super().forward(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, **extra)

    def select_candidates_in_gts(self, xy_centers, gt_bboxes, mask_gt, eps=1e-9):
        inside = super().select_candidates_in_gts(xy_centers, gt_bboxes, mask_gt, eps)
        side = (gt_bboxes[..., 2:] - gt_bboxes[..., :2]).amax(-1, keepdim=True)  # (b, objects, 1)
        s, (lo, hi) = self.anc_strides, self.level_range
        gated = inside & ((side >= lo * s) | (s == s.min())) & ((side <= hi * s) | (s == s.max()))
        return torch.where(gated.any(-1, keepdim=True), gated, inside)


class ScaleAwareLoss(v8DetectionLoss):
    """ultralytics' detection loss with the scale-aware assigner (same top-k, alpha and beta)."""

    def __init__(self, model, tal_topk: int = 10, tal_topk2: int | None = None):
        super().__init__(model, tal_topk, tal_topk2)
        a = self.assigner
        self.assigner = ScaleAwareAssigner(
            topk=a.topk,
            num_classes=a.num_classes,
            alpha=a.alpha,
            beta=a.beta,
            stride=self.stride.tolist(),  # type: ignore[union-attr]  # a tensor
            topk2=a.topk2,
        )

    def get_assigned_targets_and_loss(self, preds, batch, **assign_kwargs):
        _, strides = make_anchors(preds["feats"], self.stride, 0.5)
        return super().get_assigned_targets_and_loss(preds, batch, anc_strides=strides.view(-1), **assign_kwargs)


class ScaleAwareModel(DetectionModel):
    """ultralytics' DetectionModel trained with ``ScaleAwareLoss``; identical at inference."""

    def init_criterion(self):
        return ScaleAwareLoss(self)


class ScaleAwareTrainer(DetectionTrainer):
    """ultralytics' detection trainer building a ``ScaleAwareModel``."""

    model_class = ScaleAwareModel

    def get_model(self, cfg=None, weights=None, verbose=True):
        model = self.model_class(cfg, nc=self.data["nc"], ch=self.data["channels"], verbose=False)
        if weights:
            model.load(weights)
        return self.set_model_names_for_load(model)
