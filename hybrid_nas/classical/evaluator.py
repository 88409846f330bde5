"""The supernet evaluator: a candidate is scored with inherited weights, no training of its own."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.latency import LatencyTable, Timing, measure_ms
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.devices import resolve_device
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture

LATENCY_SOURCES = ("measure", "table", "file:PATH")


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class SupernetEvaluator(Evaluator):
    """Metrics: ``map50``, ``map50_95``, ``precision``, ``recall`` (ultralytics' validator on the val split,
    after BatchNorm recalibration on training images), ``latency_ms`` (measured here, or predicted by the
    lookup table) and ``params``.

    Holds paths, not tensors: ``setup`` loads the supernet and the calibration images once per worker, so
    the evaluator pickles small for worker processes and Dask. ``supernet`` states how the weights were
    trained (with their hash), so a resume against another supernet is refused, not mixed.
    """

    name = "supernet"
    quality = "map50"

    def __init__(
        self,
        space: NeckSpace,
        weights: Path,
        data: Path,
        imgsz: int,
        latency: str = "table",
        table: LatencyTable | None = None,
        timing: Timing = Timing(),
        calibration_images: int = 64,
        quality: str = "map50",
        supernet: dict | None = None,
        workdir: Path | None = None,
        device: str = "cpu",
    ):
        if latency not in ("measure", "table"):
            raise ConfigError(
                f"latency source {latency!r}: expected 'measure' or 'table' (a file is loaded as a table)"
            )
        if latency == "table" and table is None:
            raise ConfigError("latency source 'table' needs a latency table")
        if quality not in ("map50", "map50_95"):
            raise ConfigError(f"quality {quality!r}: expected 'map50' or 'map50_95'")
        self.space, self.weights, self.data, self.imgsz = space, Path(weights), Path(data), imgsz
        self.latency, self.table, self.timing = latency, table, timing
        self.calibration_images, self.quality = calibration_images, quality
        self.supernet = dict(supernet or {}, sha256=file_hash(self.weights))
        self.workdir = Path(workdir) if workdir else self.weights.parent / "validation"
        self.device = device  # where subnets are recalibrated and validated; not in meta: the figures agree
        self._loaded: tuple[Any, Any] | None = None  # (supernet, calibration batches), set up per worker

    def __getstate__(self):
        return {**self.__dict__, "_loaded": None}

    def setup(self):
        if self._loaded is None:
            self._loaded = (
                sn.load_supernet(self.weights).to(resolve_device(self.device)),
                sn.calibration_batches(self.data, self.imgsz, self.calibration_images),
            )

    def _load(self):
        self.setup()
        return self._loaded

    def meta(self):
        return {
            "name": self.name,
            "weights": str(self.weights),
            "data": str(self.data),
            "imgsz": self.imgsz,
            "latency": self.latency,
            "timing": asdict(self.timing),
            "calibration_images": self.calibration_images,
            "table_device": self.table.device if self.table else None,
            "supernet": self.supernet,
        }

    def subnet(self, arch: Architecture):
        """The candidate with inherited, BN-recalibrated weights (a standalone ultralytics model)."""
        supernet, batches = self._load()
        sub = sn.extract(supernet, self.space.path(self.space.validate(arch))).to(resolve_device(self.device))
        sn.recalibrate_bn(sub, batches)
        return sub

    def evaluate(self, arch, seed):
        sub = self.subnet(arch)
        metrics = sn.validate(sub, self.data, self.imgsz, self.workdir, device=self.device)
        metrics["params"] = sum(p.numel() for p in sub.parameters())
        if self.latency == "table":
            assert self.table is not None  # __init__ refuses a table source without one
            metrics["latency_ms"] = self.table.predict(self.space.block_keys(arch))
        else:
            metrics["latency_ms"] = measure_ms(sub, (1, 3, self.imgsz, self.imgsz), self.timing)
        return metrics
