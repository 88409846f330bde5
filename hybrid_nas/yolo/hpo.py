"""The classical HPO target: a detector (a classical run's ``best.yaml``, or a stock YOLOv9) trained from
scratch by ultralytics with a trial's training arguments (lr0, momentum, weight_decay, batch, ...)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from hybrid_nas.errors import ConfigError, unknown
from hybrid_nas.evaluator import Evaluator

from . import supernet as sn
from .network import MODELS

# What the trainer must not take from a trial: where it runs and what it trains on are the study's.
_FIXED = ("data", "model", "device", "project", "name", "exist_ok", "imgsz", "seed", "val", "plots", "workers")


def model_of_run(run_dir: Path) -> tuple[Path, dict]:
    """The exported subnet of a ``hybrid-nas classical`` run; of a multi-scope run, the first scope directory in
    name order (give that scope's directory to choose)."""
    run_dir = Path(run_dir)
    for candidate in [run_dir, *sorted(p for p in run_dir.iterdir() if p.is_dir())] if run_dir.is_dir() else []:
        if (candidate / "best.yaml").is_file():
            best = json.loads((candidate / "best.json").read_text()) if (candidate / "best.json").is_file() else {}
            return candidate / "best.yaml", best
    raise ConfigError(f"{run_dir} is not a classical run directory with an exported best.yaml")


class DetectorTraining(Evaluator):
    """Metrics of one training run: ``map50``, ``map50_95``, ``precision``, ``recall`` on the val split (what
    HPO maximises), the same as ``test_*`` on the test split when the data set has one, ``train_seconds``."""

    name = "detector-training"

    def __init__(self, model: str, data: Path, imgsz: int, epochs: int, base: dict | None = None,
                 quality: str = "map50", workdir: Path | None = None):
        from ultralytics.cfg import DEFAULT_CFG_DICT

        import hybrid_nas.yolo  # noqa: F401  (a best.yaml names our block)

        if not (model in MODELS or Path(model).is_file()):
            raise ConfigError(f"model {model!r}: expected one of {list(MODELS)} or a model YAML / .pt on disk")
        self.model = f"{model}.yaml" if model in MODELS else str(model)
        self.data, self.imgsz, self.epochs, self.quality = Path(data), imgsz, epochs, quality
        self.base = dict(base or {})
        self.workdir = Path(workdir or tempfile.gettempdir()).resolve()  # ultralytics nests a relative project
        self._valid = set(DEFAULT_CFG_DICT) - set(_FIXED)
        self.check(self.base)

    def check(self, names) -> None:
        for name in names:
            if name not in self._valid:
                raise ConfigError(unknown("ultralytics training argument", name, sorted(self._valid)))

    def defaults(self, names) -> dict:
        from ultralytics.cfg import DEFAULT_CFG_DICT

        return {name: self.base.get(name, self.epochs if name == "epochs" else DEFAULT_CFG_DICT[name]) for name in names}

    def meta(self):
        return {"name": self.name, "model": self.model, "data": str(self.data), "imgsz": self.imgsz,
                "epochs": self.epochs, "base": self.base}

    def evaluate(self, params, seed):
        from ultralytics import YOLO

        self.check(params)
        args = {"epochs": self.epochs, **self.base, **dict(params)}
        self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="trial-") as tmp, sn.quiet():
            start = time.perf_counter()
            YOLO(self.model).train(data=str(self.data), imgsz=self.imgsz, seed=seed, deterministic=True, device="cpu",
                        workers=0, amp=False, plots=False, val=False, project=tmp, name="train", exist_ok=True,
                        verbose=False, **args)
            seconds = time.perf_counter() - start
            trained = sn.load_supernet(Path(tmp) / "train" / "weights" / "last.pt")
            metrics = sn.validate(trained, self.data, self.imgsz)
            if _has_test_split(self.data):
                metrics |= {f"test_{k}": v for k, v in sn.validate(trained, self.data, self.imgsz, split="test").items()}
        return {**metrics, "train_seconds": seconds}


def _has_test_split(data: Path) -> bool:
    import yaml

    return bool((yaml.safe_load(Path(data).read_text()) or {}).get("test"))


def target_from_config(cfg: dict, workdir: Path) -> DetectorTraining:
    """The target of ``hybrid-nas hpo classical`` (and of the NNI trial entry point)."""
    from .data import resolve_data

    model, data, imgsz = cfg["model"], cfg["data"], cfg["imgsz"]
    if cfg.get("run_dir"):
        best_yaml, _ = model_of_run(cfg["run_dir"])
        model = str(best_yaml)
        run_cfg_path = Path(cfg["run_dir"], "config.yaml")
        if run_cfg_path.is_file():  # tune on the data the architecture was searched on
            import yaml

            run_cfg = yaml.safe_load(run_cfg_path.read_text())
            data, imgsz = run_cfg.get("data", data), run_cfg.get("imgsz", imgsz)
            cfg = {**cfg, "n_images": run_cfg.get("n_images", cfg["n_images"])}
    data_yaml = resolve_data(data, imgsz, cfg["n_images"], seed=0)
    return DetectorTraining(model, data_yaml, imgsz, cfg["epochs"], cfg.get("defaults"), cfg.get("quality", "map50"),
                            workdir)
