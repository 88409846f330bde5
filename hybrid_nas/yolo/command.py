"""``hybrid-nas classical`` and ``hybrid-nas latency-table``: their settings and the runs they make."""

from __future__ import annotations

from pathlib import Path

from hybrid_nas.commands import Command, register
from hybrid_nas.errors import ConfigError
from hybrid_nas.settings import Settings, StudyFields, defaults_from, setting


@defaults_from("classical.yaml")
class ClassicalSettings(StudyFields, Settings):
    model: str = setting("detector whose ELAN blocks are searched", choices=("yolov9t", "yolov9s", "yolov9m", "yolov9c"))
    data: str = setting("builtin:digits (generated offline) or an ultralytics data.yaml on disk")
    n_images: int = setting("size of the generated builtin:digits set (a fifth of it is the val split)")
    positions: str = setting("neck: layers 12, 15, 18, 21; all: the backbone's ELAN blocks too", choices=("neck", "all"))
    profile: str = setting("device profile of configs/classical_scopes.yaml: cloud | mobile | tiny")
    scope: str | None = setting("small | medium | large | full (null: the profile's)")
    scopes: list[str] | None = setting("comma-separated scopes searched from one supernet, e.g. small,medium,large,full")
    ops: str | None = setting("tango8: every position offers exactly TANGO's 8 ops instead of its scope's (null)",
                              choices=("tango8",))
    from_tango: str | None = setting("a TANGO architecture ({\"m_13\": 6, ...} or a JSON file): write it as "
                                     "<out>/best.yaml and stop (no search)")
    latency: str | None = setting("measure | table | file:PATH (null: the profile's)")
    latency_limit: float | None = setting("latency limit T in ms (null: the profile's)")
    device: str = setting("where the supernet trains and subnets are validated: cpu | cuda | cuda:N | mps")
    latency_device: str = setting("where candidates' latency is measured: cpu (with --threads) | cuda | cuda:N")
    threads: int = setting("CPU threads for latency measurement")
    latency_backend: str = setting("torch, or onnxruntime (pip install 'hybrid-nas[onnx]')",
                                   choices=("torch", "onnxruntime"))
    latency_stat: str = setting("statistic of the timed runs", choices=("min", "median"))
    imgsz: int = setting("image size")
    batch: int = setting("batch size of supernet training and fine-tuning")
    supernet_epochs: int = setting("supernet training epochs")
    sampling: str = setting("how the supernet draws a path per batch: uniform; sandwich (the largest path on the "
                            "labels and, distilling it in place, a smaller one); progressive",
                            choices=("uniform", "sandwich", "progressive"))
    distill: float = setting("weight of the in-place distillation of --sampling sandwich (0: the labels only)")
    calibration_images: int = setting("training images for BatchNorm recalibration of each subnet")
    finetune_epochs: int = setting("fine-tune the exported best subnet this many epochs (0: no)")
    quality: str = setting("quality figure", choices=("map50", "map50_95"))
    hpo_trials: int = setting("then tune the best subnet's training with SMAC, into <out>/hpo (0: no)")

    def check(self):
        self.check_study()
        if self.distill < 0:
            raise ConfigError(f"--distill must be >= 0, got {self.distill}")
        if self.supernet_epochs < 1:
            raise ConfigError(f"--supernet-epochs must be at least 1, got {self.supernet_epochs}")
        from hybrid_nas.devices import resolve_device

        resolve_device(self.device)  # a missing GPU is refused here, before any work
        resolve_device(self.latency_device, "--latency-device")
        if self.profile_values()["latency"] == "measure" and (self.workers > 1 or self.dask_scheduler):
            raise ConfigError("--latency measure times candidates on cores that parallel trials share, which skews "
                              "every figure: use --workers 1, or a latency table (--latency table)")

    def profile_values(self) -> dict:
        """Scope, latency source and limit: the settings', or the profile's where the settings leave them null."""
        from .space import profile

        prof = profile(self.profile)
        return {"scope": self.scope or prof.get("scope"), "latency": self.latency or prof.get("latency"),
                "latency_limit": self.latency_limit if self.latency_limit is not None else prof.get("latency_limit")}

    def searched_scopes(self) -> list[str]:
        return self.scopes or [self.profile_values()["scope"]]

    def default_dir(self) -> Path:
        return Path(f"runs/classical-{self.model}-{'-'.join(self.searched_scopes())}-s{self.seed}")


def run_classical(settings: ClassicalSettings, out=None, resume: bool = False, progress: bool = True):
    """Train one supernet over every requested scope, then search each scope with inherited weights."""
    from hybrid_nas.objectives import make_objective
    from hybrid_nas.report import write_report
    from hybrid_nas.results import write_best
    from hybrid_nas.run import Run, search

    from . import run as steps
    from .data import class_count, resolve_data
    from .evaluator import SupernetEvaluator
    from .space import NeckSpace
    from .tango import to_tango

    s = settings
    if s.from_tango:
        return export_tango(s, out, resume)
    resolved = s.profile_values()
    scopes = s.searched_scopes()
    spaces = {scope: NeckSpace(s.model, scope, s.positions, s.ops) for scope in scopes}
    union = NeckSpace(s.model, ",".join(scopes), s.positions, s.ops)
    objective = make_objective(s.objective, quality=s.quality, cost="latency_ms", T=resolved["latency_limit"])
    run = Run.start(out or s.default_dir(), "classical", s, resume)  # before any training
    data = resolve_data(s.data, s.imgsz, s.n_images, s.seed)
    weights, trained_with = steps.supernet_weights(union, data, run.dir, s, reuse=resume)
    table = steps.latency_table(union, s, resolved["latency"], run.dir, class_count(data))
    latency = "measure" if table is None else "table"
    train_args = {"data": str(data), "imgsz": s.imgsz, "batch": s.batch, "task": "detect"}

    rows = []
    for scope, space in spaces.items():
        scope_dir = run.dir if len(spaces) == 1 else run.dir / scope
        scope_dir.mkdir(exist_ok=True)
        evaluator = SupernetEvaluator(space, weights, data, s.imgsz, latency, table, steps.timing(s),
                                      s.calibration_images, s.quality, supernet=trained_with,
                                      workdir=run.dir / "validation", device=s.device)
        study, view, seconds = search(scope_dir, space, evaluator, objective, s, resume=resume, progress=progress)
        best = view.best()
        row = {"scope": scope, "trials": len(view.trials), "seconds": seconds, "stop_reason": study.stop_reason}
        if best is not None:
            steps.export(evaluator.subnet(best.arch), best.arch, space, scope_dir, train_args)
            row |= {"architecture": space.describe(best.arch), **{k: best.metrics[k] for k in steps.TABLE_COLUMNS}}
            if s.finetune_epochs:
                row["finetuned"] = steps.finetune(scope_dir / "best.pt", data, s, scope_dir)
        tango, why = to_tango(space.ops(best.arch)) if best is not None else (None, "no best subnet")
        write_best(scope_dir, view, space.describe, {"scope": scope, "finetuned": row.get("finetuned"), "tango": tango,
                                                     **({"tango_note": why} if why else {})})
        write_report(scope_dir, space.describe)
        rows.append(row)
    steps.write_scope_table(rows, run.dir, {"latency": latency, **resolved})
    if s.hpo_trials and any("architecture" in r for r in rows):
        from hybrid_nas.tuning.command import tune_after_search

        tune_after_search("classical", run, s, progress, resume)
    return run


def export_tango(s: ClassicalSettings, out=None, resume: bool = False):
    """``--from-tango``: TANGO's architecture as ``best.yaml`` (our block at each given position, ultralytics'
    stock block elsewhere) and ``tango.json`` (what was read, what it became, what was skipped)."""
    import json

    from hybrid_nas.run import Run

    from . import network
    from .run import write_model_yaml
    from .tango import from_tango, read

    ops, skipped = from_tango(s.from_tango, s.model)  # a bad architecture fails before the directory is claimed
    run = Run.start(out or Path(f"runs/tango-{s.model}"), "classical", s, resume)
    described = " ".join(f"m{i}={op}" for i, op in sorted(ops.items()))
    comments = [f"TANGO architecture on {s.model}: {described}"]
    if skipped:
        comments.append(f"skipped (PGI auxiliary branch, not in ultralytics' models): {', '.join(skipped)}")
    write_model_yaml(run.dir / "best.yaml", network.searchable_yaml(s.model, ops), comments)
    doc = {"tango": read(s.from_tango), "architecture": {f"m{i}": op for i, op in sorted(ops.items())},
           "skipped": skipped, "model": s.model}
    (run.dir / "tango.json").write_text(json.dumps(doc, indent=2) + "\n")
    return run


def summary(run) -> str:
    import json

    s = run.settings
    if (run.dir / "tango.json").is_file():
        doc = json.loads((run.dir / "tango.json").read_text())
        arch = " ".join(f"{k}={v}" for k, v in doc["architecture"].items())
        return "\n".join([f"TANGO architecture on {doc['model']}: {arch}",
                          f"skipped (PGI auxiliary branch, not in ultralytics' models): {', '.join(doc['skipped']) or 'none'}",
                          f"run directory: {run.dir}  (best.yaml: `import hybrid_nas.yolo`, then YOLO(\"best.yaml\"))"])
    doc = json.loads((run.dir / "scopes.json").read_text())
    lines = [f"scope {r['scope']}: {r['trials']} trials in {r['seconds']:.0f} s, stopped by {r['stop_reason']}"
             for r in doc["scopes"]]
    from .run import scope_table

    limit = doc["latency_limit"]
    lines += [scope_table(doc["scopes"]),
              f"latency: {doc['latency']} ({s['threads']} thread(s), {s['imgsz']} px), limit "
              f"{f'{limit:g} ms' if limit is not None else 'none'}",
              f"run directory: {run.dir}  (supernet.pt, latency_table.json, {run.trial_files}, best.json, best.yaml, "
              "best.pt, summary.md, report/)"]
    from hybrid_nas.tuning.command import after_search_summary

    return "\n".join(lines + after_search_summary(run))


@defaults_from("latency_table.yaml")
class LatencyTableSettings(Settings):
    model: str = setting("detector", choices=("yolov9t", "yolov9s", "yolov9m", "yolov9c"))
    scope: str = setting("small | medium | large | full, or several comma-separated")
    positions: str = setting("neck | all", choices=("neck", "all"))
    imgsz: int = setting("image size")
    device: str = setting("cpu (with --threads) | cuda | cuda:N")
    threads: int = setting("CPU threads")
    stat: str = setting("statistic of the timed runs", choices=("min", "median"))
    backend: str = setting("torch | onnxruntime", choices=("torch", "onnxruntime"))
    calibration: int = setting("random whole subnets measured for the correction")
    seed: int = setting("seed of the calibration subnets")

    def check(self):
        from hybrid_nas.devices import resolve_device

        resolve_device(self.device)


def run_latency_table(settings: LatencyTableSettings, out=None, resume: bool = False, progress: bool = True):
    """Measure a latency table on this machine, for ``--latency file:PATH`` on another; ``out`` is the JSON file."""
    from .latency import Timing, build_table
    from .space import NeckSpace

    s = settings
    space = NeckSpace(s.model, s.scope, s.positions)
    table, pairs = build_table(space, s.imgsz, Timing(s.threads, statistic=s.stat, backend=s.backend,
                                                      device=s.device), s.calibration, s.seed)
    path = Path(out or "latency_table.json")
    table.save(path)
    return path, table, len(pairs), len(space.decisions)


def latency_summary(result) -> str:
    path, table, pairs, positions = result
    return (f"{positions} positions x ops measured, correction fitted to {pairs} subnets: latency = "
            f"{table.intercept:.2f} ms + {table.slope:.3f} x block sum; wrote {path}")


register(Command(("classical",), "one-shot, target-adaptive op search over a YOLOv9 neck (ultralytics)",
                 ClassicalSettings, run_classical, summary))
register(Command(("latency-table",), "measure a per-block latency table (JSON) on this machine",
                 LatencyTableSettings, run_latency_table, latency_summary))
