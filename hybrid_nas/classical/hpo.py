"""The classical HPO target: a detector (a classical run's ``best.yaml``, or a stock YOLOv9) trained from
scratch by ultralytics with a trial's training arguments (lr0, momentum, weight_decay, batch, ...)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.assign import ScaleAwareTrainer
from hybrid_nas.classical.network import MODELS
from hybrid_nas.engine.devices import resolve_device, ultralytics_device
from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.evaluator import Evaluator

# What the trainer must not take from a trial: where it runs and what it trains on are the study's.
_FIXED = ("data", "model", "device", "project", "name", "exist_ok", "imgsz", "seed", "val", "plots", "workers")


def model_of_run(run_dir: Path, scope: str | None = None) -> Path:
    """The exported subnet (``best.yaml``) of a ``hybrid-nas classical`` run; a run that searched several
    scopes needs ``scope``."""
    run_dir = Path(run_dir)
    if (run_dir / "best.yaml").is_file() and scope is None:
        return run_dir / "best.yaml"
    scopes = sorted(p.name for p in run_dir.iterdir() if (p / "best.yaml").is_file()) if run_dir.is_dir() else []
    if not scopes:
        raise ConfigError(f"{run_dir} is not a classical run directory with an exported best.yaml")
    if scope is None:
        raise ConfigError(f"{run_dir} searched the scopes {', '.join(scopes)}: choose one with --scope")
    if scope not in scopes:
        raise ConfigError(f"--scope: {unknown('scope of this run', scope, scopes)}")
    return run_dir / scope / "best.yaml"


class DetectorTraining(Evaluator):
    """Metrics of one training run: ``map50``, ``map50_95``, ``precision``, ``recall`` on the val split (what
    HPO maximises), the same as ``test_*`` on the test split when the data set has one, ``train_seconds``."""

    name = "detector-training"

    def __init__(
        self,
        model: str,
        data: Path,
        imgsz: int,
        epochs: int,
        base: dict | None = None,
        quality: str = "map50",
        workdir: Path | None = None,
        device: str = "cpu",
    ):
        from ultralytics.cfg import DEFAULT_CFG_DICT

        import hybrid_nas.classical  # noqa: F401  (a best.yaml names our block)

        if not (model in MODELS or Path(model).is_file()):
            raise ConfigError(f"model {model!r}: expected one of {list(MODELS)} or a model YAML / .pt on disk")
        self.model = f"{model}.yaml" if model in MODELS else str(model)
        self.data, self.imgsz, self.epochs, self.quality = Path(data), imgsz, epochs, quality
        self.base = dict(base or {})
        resolve_device(device)  # a missing GPU is refused now, not by every trial
        self.device = device
        self.workdir = Path(workdir or tempfile.gettempdir()).resolve()  # ultralytics nests a relative project
        self._valid = set(DEFAULT_CFG_DICT) - set(_FIXED)
        self.check(self.base)

    def check(self, names) -> None:
        for name in names:
            if name not in self._valid:
                raise ConfigError(unknown("ultralytics training argument", name, sorted(self._valid)))

    def prepare(self, names) -> list[str]:
        return []

    def defaults(self, names) -> dict:
        from ultralytics.cfg import DEFAULT_CFG_DICT

        return {
            name: self.base.get(name, self.epochs if name == "epochs" else DEFAULT_CFG_DICT[name]) for name in names
        }

    def meta(self):
        return {
            "name": self.name,
            "model": self.model,
            "data": str(self.data),
            "imgsz": self.imgsz,
            "epochs": self.epochs,
            "base": self.base,
        }

    def evaluate(self, params, seed):
        from ultralytics import YOLO

        self.check(params)
        args = {"epochs": self.epochs, **self.base, **dict(params)}
        self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.workdir, prefix="trial-") as tmp, sn.quiet():
            start = time.perf_counter()
            YOLO(self.model).train(
                trainer=ScaleAwareTrainer,
                data=str(self.data),
                imgsz=self.imgsz,
                seed=seed,
                deterministic=True,
                device=ultralytics_device(self.device),
                workers=0,
                amp=False,
                plots=False,
                val=False,
                project=tmp,
                name="train",
                exist_ok=True,
                verbose=False,
                **args,
            )
            seconds = time.perf_counter() - start
            trained = sn.load_supernet(Path(tmp) / "train" / "weights" / "last.pt")
            metrics = sn.validate(trained, self.data, self.imgsz, Path(tmp) / "val", device=self.device)
            if _has_test_split(self.data):
                test = sn.validate(trained, self.data, self.imgsz, Path(tmp) / "test", split="test", device=self.device)
                metrics |= {f"test_{k}": v for k, v in test.items()}
        return {**metrics, "train_seconds": seconds}


def _has_test_split(data: Path) -> bool:
    import yaml

    return bool((yaml.safe_load(Path(data).read_text()) or {}).get("test"))


def target_from_settings(s, workdir: Path) -> DetectorTraining:
    """The target of ``hybrid-nas hpo classical`` (and of the NNI trial entry point). With a run, its exported
    subnet is tuned on the data set and seed that run searched with."""
    import yaml

    from hybrid_nas.classical.data import resolve_data

    model, data, imgsz, n_images, seed = s.model, s.data, s.imgsz, s.n_images, 0
    if s.run_dir:
        model = str(model_of_run(s.run_dir, s.scope))
        config = Path(s.run_dir, "config.yaml")
        if not config.is_file():
            raise ConfigError(f"{s.run_dir} has no config.yaml: the data it searched on is unknown")
        run = yaml.safe_load(config.read_text())
        data, imgsz, n_images, seed = run["data"], run["imgsz"], run["n_images"], run["seed"]
    data_yaml = resolve_data(data, imgsz, n_images, seed=seed)
    return DetectorTraining(model, data_yaml, imgsz, s.epochs, s.defaults, s.quality, workdir, s.device)
