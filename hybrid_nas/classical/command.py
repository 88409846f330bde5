"""``hybrid-nas classical`` and ``hybrid-nas latency-table``: their settings and the runs they make."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.jobs import Job, SearchJob, StudyResult, StudySpec
from hybrid_nas.engine.registry import Command, HPOTarget, SpaceKind, register, register_hpo_target, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields, at_least, defaults_from, positive, setting

if TYPE_CHECKING:
    from hybrid_nas.classical.evaluator import SupernetEvaluator
    from hybrid_nas.classical.latency import LatencyTable
    from hybrid_nas.classical.space import NeckSpace


MIN_IMGSZ = 32  # the detector's largest stride: a smaller image has no cell to detect in
MIN_IMAGES = 10  # builtin:digits keeps a fifth for validation: at least two images there


def check_images(s) -> None:
    """Image size and the size of a generated data set, for every command that trains a detector."""
    at_least(s, MIN_IMGSZ, "imgsz")
    if getattr(s, "data", None) == "builtin:digits":
        at_least(s, MIN_IMAGES, "n_images")


@defaults_from("classical.yaml")
class ClassicalSettings(StudyFields, Settings):
    model: str = setting(
        "detector whose ELAN blocks are searched", choices=("yolov9t", "yolov9s", "yolov9m", "yolov9c")
    )
    data: str = setting("builtin:digits (generated offline) or an ultralytics data.yaml on disk")
    n_images: int = setting("size of the generated builtin:digits set (a fifth of it is the val split)")
    positions: str = setting(
        "neck: layers 12, 15, 18, 21; all: the backbone's ELAN blocks too", choices=("neck", "all")
    )
    profile: str = setting("device profile of configs/classical_scopes.yaml: cloud | mobile | tiny")
    scope: str | None = setting("small | medium | large | full (null: the profile's)")
    scopes: list[str] | None = setting(
        "comma-separated scopes searched from one supernet, e.g. small,medium,large,full"
    )
    ops: str | None = setting(
        "tango8: every position offers exactly TANGO's 8 ops instead of its scope's (null)", choices=("tango8",)
    )
    depths: list[int] | None = setting(
        "RepCSP repeats each ELAN block may choose, e.g. 1,2,3 (more than the stock's: a deeper supernet; "
        "null: the stock block's, not searched)"
    )
    widths: list[int] | None = setting(
        "hidden channels each ELAN block may choose, in percent of the stock block's, e.g. 50,75,100 "
        "(null: the stock's, not searched)"
    )
    compound: bool = setting(
        "tie width to depth: no width decision, the k-th smallest --depths option comes with the k-th "
        "smallest --widths option (compound scaling)"
    )
    from_tango: str | None = setting(
        'a TANGO architecture ({"m_13": 6, ...} or a JSON file): write it as <out>/best.yaml and stop (no search)'
    )
    latency: str | None = setting("measure | table | file:PATH (null: the profile's)")
    latency_limit: float | None = setting("latency limit T in ms (null: the profile's)")
    device: str = setting("where the supernet trains and subnets are validated: cpu | cuda | cuda:N | mps")
    latency_device: str = setting("where candidates' latency is measured: cpu (with --threads) | cuda | cuda:N")
    threads: int = setting("CPU threads for latency measurement")
    latency_backend: str = setting(
        "torch, or onnxruntime (pip install 'hybrid-nas[onnx]')", choices=("torch", "onnxruntime")
    )
    latency_stat: str = setting("statistic of the timed runs", choices=("min", "median"))
    imgsz: int = setting("image size")
    batch: int = setting("batch size of supernet training and fine-tuning")
    supernet_epochs: int = setting("supernet training epochs")
    sampling: str = setting(
        "how the supernet draws a path per batch: uniform; sandwich (the largest path on the "
        "labels and, distilling it in place, a smaller one); progressive (the largest network, then "
        "kernel, depth and width made elastic in turn, distilling the largest in place)",
        choices=("uniform", "sandwich", "progressive"),
    )
    distill: float = setting(
        "weight of the in-place distillation of --sampling sandwich and progressive (0: the labels only)"
    )
    calibration_images: int = setting("training images for BatchNorm recalibration of each subnet")
    finetune_epochs: int = setting("fine-tune the exported best subnet this many epochs (0: no)")
    quality: str = setting("quality figure", choices=("map50", "map50_95"))
    hpo_trials: int = setting("then tune the best subnet's training with SMAC, into <out>/hpo (0: no)")

    def check(self):
        self.check_study()
        check_images(self)
        at_least(self, 1, "batch", "supernet_epochs", "threads", "calibration_images")
        at_least(self, 0, "distill", "finetune_epochs", "hpo_trials")
        positive(self, "latency_limit")
        from hybrid_nas.engine.devices import resolve_device

        resolve_device(self.device)  # a missing GPU is refused here, before any work
        resolve_device(self.latency_device, "--latency-device")
        from hybrid_nas.classical.space import check_elastic

        check_elastic(self.depths, self.widths, self.compound)
        if self.profile_values()["latency"] == "measure" and (self.workers > 1 or self.dask_scheduler):
            raise ConfigError(
                "--latency measure times candidates on cores that parallel trials share, which skews "
                "every figure: use --workers 1, or a latency table (--latency table)"
            )

    def profile_values(self) -> dict:
        """Scope, latency source and limit: the settings', or the profile's where the settings leave them null."""
        from hybrid_nas.classical.space import profile

        prof = profile(self.profile)
        return {
            "scope": self.scope or prof.get("scope"),
            "latency": self.latency or prof.get("latency"),
            "latency_limit": self.latency_limit if self.latency_limit is not None else prof.get("latency_limit"),
        }

    def searched_scopes(self) -> list[str]:
        return self.scopes or [self.profile_values()["scope"]]

    def default_dir(self) -> Path:
        return Path(f"runs/classical-{self.model}-{'-'.join(self.searched_scopes())}-s{self.seed}")


class ClassicalJob(SearchJob):
    """``hybrid-nas classical``: one supernet trained over every requested scope, then a study per scope with
    inherited weights; the best subnet of each exported as a plain ultralytics model."""

    settings: ClassicalSettings

    def __init__(self, settings: ClassicalSettings, command: str):
        from hybrid_nas.classical.space import NeckSpace
        from hybrid_nas.engine.objectives import make_objective

        super().__init__(settings, command)
        s = settings
        self.resolved = s.profile_values()
        elastic = dict(depths=s.depths, widths=s.widths)
        self.spaces = {
            scope: NeckSpace(s.model, scope, s.positions, s.ops, **elastic, compound=s.compound)
            for scope in s.searched_scopes()
        }
        self.union = self.space = NeckSpace(
            s.model, ",".join(self.spaces), s.positions, s.ops, **elastic, compound=s.compound
        )
        self.objective = make_objective(
            s.objective, quality=s.quality, cost="latency_ms", T=self.resolved["latency_limit"]
        )
        from hybrid_nas.classical import run as steps
        from hybrid_nas.classical.data import check_data

        check_data(s.data)  # the data and a --latency file are read now, not after the supernet's training
        self.table = steps.table_from_file(self.union, self.resolved["latency"])

    def default_dir(self) -> Path:
        return self.settings.default_dir()

    def prepare(self, run: Run) -> None:
        from hybrid_nas.classical import run as steps
        from hybrid_nas.classical.data import class_count, resolve_data

        s = self.settings
        self.data = resolve_data(s.data, s.imgsz, s.n_images, s.seed)
        self.weights, self.trained_with = steps.supernet_weights(self.union, self.data, run.dir, s, reuse=self.resume)
        if self.resolved["latency"] == "table":
            self.table = steps.run_table(self.union, s, run.dir, class_count(self.data))
        self.latency = "measure" if self.table is None else "table"

    def studies(self, run: Run) -> Iterator[StudySpec]:
        from hybrid_nas.classical import run as steps
        from hybrid_nas.classical.evaluator import SupernetEvaluator

        s = self.settings
        for scope, space in self.spaces.items():
            evaluator = SupernetEvaluator(
                space,
                self.weights,
                self.data,
                s.imgsz,
                self.latency,
                self.table,
                steps.timing(s),
                s.calibration_images,
                s.quality,
                supernet=self.trained_with,
                workdir=run.dir / "validation",
                device=s.device,
            )
            yield StudySpec("" if len(self.spaces) == 1 else scope, space, evaluator, self.objective)

    def artefacts(self, result: StudyResult) -> dict:
        from hybrid_nas.classical import run as steps
        from hybrid_nas.classical.tango import to_tango

        s, best, space = self.settings, result.best, cast("NeckSpace", result.spec.space)
        evaluator = cast("SupernetEvaluator", result.spec.evaluator)
        if best is None:
            return {"scope": space.scope, "finetuned": None, "tango": None, "tango_note": "no best subnet"}
        train_args = {"data": str(self.data), "imgsz": s.imgsz, "batch": s.batch, "task": "detect"}
        steps.export(evaluator.subnet(best.arch), best.arch, space, result.dir, train_args)
        finetuned = steps.finetune(result.dir / "best.pt", self.data, s, result.dir) if s.finetune_epochs else None
        tango, why = to_tango(space.ops(best.arch))
        if space.elastic and tango is not None:
            why = "TANGO's format holds the ops only; the chosen depths and widths are in best.yaml"
        return {"scope": space.scope, "finetuned": finetuned, "tango": tango, **({"tango_note": why} if why else {})}

    def finish(self, run: Run, results: list[StudyResult]) -> None:
        from hybrid_nas.classical import run as steps

        rows = []
        for r in results:
            row = {
                "scope": r.extra["scope"],
                "trials": len(r.view.trials),
                "seconds": r.seconds,
                "stop_reason": r.stop_reason,
            }
            if r.best is not None:
                row |= {
                    "architecture": r.spec.space.describe(r.best.arch),
                    **{k: r.best.metrics[k] for k in steps.TABLE_COLUMNS},
                }
                if r.extra["finetuned"] is not None:
                    row["finetuned"] = r.extra["finetuned"]
            rows.append(row)
        steps.write_scope_table(rows, run.dir, {"latency": self.latency, **self.resolved})
        if self.settings.hpo_trials and any("architecture" in r for r in rows):
            from hybrid_nas.tuning.command import tune_after_search

            tune_after_search("classical", run, self.settings, self.progress, self.resume)

    def summary(self, run: Run) -> str:
        import json

        from hybrid_nas.classical.run import scope_table
        from hybrid_nas.tuning.command import after_search_summary

        s, doc = run.settings, json.loads((run.dir / "scopes.json").read_text())
        lines = [
            f"scope {r['scope']}: {r['trials']} trials in {r['seconds']:.0f} s, stopped by {r['stop_reason']}"
            for r in doc["scopes"]
        ]
        limit = doc["latency_limit"]
        lines += [
            scope_table(doc["scopes"]),
            f"latency: {doc['latency']} ({s['threads']} thread(s), {s['imgsz']} px), limit "
            f"{f'{limit:g} ms' if limit is not None else 'none'}",
            run.listing(
                "supernet.pt",
                "latency_table.json",
                "best.json",
                "best.yaml",
                "best.pt",
                "summary.md",
                "report/",
                *(f"{r['scope']}/" for r in doc["scopes"] if len(doc["scopes"]) > 1),
            ),
        ]
        return "\n".join(lines + after_search_summary(run))


class TangoExportJob(Job[Run]):
    """``hybrid-nas classical --from-tango``: TANGO's architecture as ``best.yaml`` (our block at each given
    position, ultralytics' stock block elsewhere) and ``tango.json`` (what was read, what it became, what was
    skipped); no search."""

    settings: ClassicalSettings

    def __init__(self, settings: ClassicalSettings, command: str):
        from hybrid_nas.classical.tango import from_tango

        super().__init__(settings, command)
        assert settings.from_tango is not None  # classical_job makes this job only with --from-tango
        self.source: str = settings.from_tango
        self.ops, self.skipped = from_tango(self.source, settings.model)  # a bad architecture fails here

    def execute(self, out: str | Path | None, *, resume: bool, progress: bool) -> Run:
        import json

        from hybrid_nas.classical import network
        from hybrid_nas.classical.run import write_model_yaml
        from hybrid_nas.classical.tango import read

        s, ops, skipped = self.settings, self.ops, self.skipped
        with Run.claim(out or Path(f"runs/tango-{s.model}"), self.command, s, resume) as run:
            described = " ".join(f"m{i}={op}" for i, op in sorted(ops.items()))
            comments = [f"TANGO architecture on {s.model}: {described}"]
            if skipped:
                comments.append(f"skipped (PGI auxiliary branch, not in ultralytics' models): {', '.join(skipped)}")
            write_model_yaml(run.dir / "best.yaml", network.searchable_yaml(s.model, ops), comments)
            doc = {
                "tango": read(self.source),
                "architecture": {f"m{i}": op for i, op in sorted(ops.items())},
                "skipped": skipped,
                "model": s.model,
            }
            (run.dir / "tango.json").write_text(json.dumps(doc, indent=2) + "\n")
        return run

    def summary(self, run: Run) -> str:
        import json

        doc = json.loads((run.dir / "tango.json").read_text())
        arch = " ".join(f"{k}={v}" for k, v in doc["architecture"].items())
        return "\n".join(
            [
                f"TANGO architecture on {doc['model']}: {arch}",
                f"skipped (PGI auxiliary branch, not in ultralytics' models): {', '.join(doc['skipped']) or 'none'}",
                f'run directory: {run.dir}  (best.yaml: `import hybrid_nas.classical`, then YOLO("best.yaml"))',
            ]
        )


def classical_job(settings: ClassicalSettings, command: str) -> Job[Run]:
    """The search, or with ``--from-tango`` the export of a given architecture."""
    return TangoExportJob(settings, command) if settings.from_tango else ClassicalJob(settings, command)


@defaults_from("latency_table.yaml")
class LatencyTableSettings(Settings):
    model: str = setting("detector", choices=("yolov9t", "yolov9s", "yolov9m", "yolov9c"))
    scope: str = setting("small | medium | large | full, or several comma-separated")
    positions: str = setting("neck | all", choices=("neck", "all"))
    depths: list[int] | None = setting(
        "RepCSP repeats of the blocks measured, e.g. 1,2,3, as `classical --depths` (null: the stock block's)"
    )
    widths: list[int] | None = setting(
        "hidden channels of the blocks measured, in percent of the stock's, as `classical --widths` (null: 100)"
    )
    compound: bool = setting("each depth with one width, as `classical --compound`")
    imgsz: int = setting("image size")
    device: str = setting("cpu (with --threads) | cuda | cuda:N")
    threads: int = setting("CPU threads")
    stat: str = setting("statistic of the timed runs", choices=("min", "median"))
    backend: str = setting("torch | onnxruntime", choices=("torch", "onnxruntime"))
    calibration: int = setting("random whole subnets measured for the correction")
    seed: int = setting("seed of the calibration subnets")
    from_tables: str | None = setting(
        "comma-separated latency tables of other devices: measure only --measurements whole subnets here "
        "and fit this device's table from them and those tables, instead of measuring every block"
    )
    measurements: int = setting("whole subnets measured here for --from-tables")
    holdout: int = setting("further subnets measured here to report the --from-tables table's error (0: none)")

    def check(self):
        from hybrid_nas.engine.devices import resolve_device

        at_least(self, MIN_IMGSZ, "imgsz")
        at_least(self, 1, "threads")
        at_least(self, 2, "calibration")  # the whole-network correction is a line: two subnets at least
        resolve_device(self.device)
        from hybrid_nas.classical.space import check_elastic

        check_elastic(self.depths, self.widths, self.compound)
        if self.from_tables is not None:
            at_least(self, 3, "measurements")  # the fit's leave-one-out choice needs a few points
            at_least(self, 0, "holdout")
            self.known_tables()

    def known_tables(self) -> list[LatencyTable]:
        """The --from-tables tables, each checked against this command's model and image size."""
        from hybrid_nas.classical.latency import LatencyTable

        tables = []
        for path in (p for p in (self.from_tables or "").split(",") if p):
            t = LatencyTable.load(path)
            if (t.model, t.imgsz) != (self.model, self.imgsz):
                raise ConfigError(
                    f"latency table {path} is for {t.model} at {t.imgsz} px, not {self.model} at {self.imgsz} px; "
                    "pass --model and --imgsz to match, or another table"
                )
            tables.append(t)
        if not tables:
            raise ConfigError(
                "--from-tables names no table; give one or more JSON files from `hybrid-nas latency-table`"
            )
        return tables


@dataclass(frozen=True)
class LatencyTableResult:
    path: Path
    table: LatencyTable
    pairs: int  # whole subnets the correction was fitted to
    positions: int
    holdout: dict | None = None  # --from-tables: the fit and its error on the held-out subnets


class LatencyTableJob(Job[LatencyTableResult]):
    """``hybrid-nas latency-table``: measure a latency table on this machine, for ``--latency file:PATH`` on
    another; ``out`` is the JSON file."""

    settings: LatencyTableSettings

    def __init__(self, settings: LatencyTableSettings, command: str):
        from hybrid_nas.classical.space import NeckSpace

        super().__init__(settings, command)
        s = settings
        self.space = NeckSpace(s.model, s.scope, s.positions, depths=s.depths, widths=s.widths, compound=s.compound)
        if s.from_tables is not None:
            from hybrid_nas.classical.run import covering

            for t in s.known_tables():  # each must hold every block this space offers, before any measurement
                covering(t, self.space)

    def execute(self, out: str | Path | None, *, resume: bool = False, progress: bool = True) -> LatencyTableResult:
        from hybrid_nas.classical.latency import Timing, build_table
        from hybrid_nas.engine.run import check_writable

        s, path = self.settings, Path(out or "latency_table.json")
        if path.is_dir():
            raise ConfigError(f"--out {path} is a directory; give the JSON file to write")
        check_writable(path.parent)  # before minutes of measurement
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror}; choose another --out") from None
        timing = Timing(s.threads, statistic=s.stat, backend=s.backend, device=s.device)
        if s.from_tables is not None:
            table, doc = self._transfer(timing)
            table.save(path)
            return LatencyTableResult(path, table, s.measurements, len(self.space.layers), doc)
        table, pairs = build_table(self.space, s.imgsz, timing, s.calibration, s.seed)
        table.save(path)
        return LatencyTableResult(path, table, len(pairs), len(self.space.layers))

    def _transfer(self, timing) -> tuple[LatencyTable, dict]:
        """This device's table from --measurements whole subnets and the --from-tables tables; its error
        on --holdout other subnets."""
        from dataclasses import asdict

        import numpy as np

        from hybrid_nas.classical.latency import LatencyTable, measure_subnet, transfer_table
        from hybrid_nas.engine.devices import describe, resolve_device

        s = self.settings
        known = s.known_tables()
        rng = np.random.default_rng(s.seed)
        archs = [self.space.sample(rng) for _ in range(s.measurements + s.holdout)]
        measured = [measure_subnet(self.space, a, s.imgsz, timing) for a in archs]
        template = LatencyTable(s.model, s.imgsz, asdict(timing), {}, device=describe(resolve_device(s.device)))
        n = s.measurements
        table, doc = transfer_table(self.space, known, archs[:n], measured[:n], template)
        if s.holdout:
            keys = [self.space.block_keys(a) for a in archs[n:]]
            err = np.array([table.predict(k) / m - 1.0 for k, m in zip(keys, measured[n:])])
            doc |= {"holdout": s.holdout, "within_10pct": float(np.mean(np.abs(err) <= 0.10))}
            doc |= {"mean_abs_error": float(np.mean(np.abs(err)))}
        return table, doc

    def summary(self, result: LatencyTableResult) -> str:
        if result.holdout is not None:
            h = result.holdout
            error = (
                f"; on {h['holdout']} held-out subnets {100 * h['within_10pct']:.0f} % within +-10 %, mean abs "
                f"error {100 * h['mean_abs_error']:.1f} %"
                if "holdout" in h
                else ""
            )
            return (
                f"table fitted from {result.pairs} whole subnets measured here and {len(h['weights'])} other "
                f"devices' tables (leave-one-out RMSE {h['loo_rmse_ms']:.2f} ms){error}; wrote {result.path}"
            )
        blocks = sum(len(e) for e in result.table.entries.values())
        return (
            f"{blocks} blocks measured at {result.positions} positions, correction fitted to {result.pairs} subnets: "
            f"latency = {result.table.intercept:.2f} ms + {result.table.slope:.3f} x block sum; "
            f"wrote {result.path}"
        )


def rebuild_space(meta: dict):
    from hybrid_nas.classical.space import NeckSpace

    elastic = {k: meta[k] for k in ("depths", "widths", "compound") if k in meta}
    return NeckSpace(meta["model"], meta["scope"], meta["positions"], meta.get("ops"), **elastic)


def hpo_trainer(settings, workdir: Path):
    from hybrid_nas.classical.hpo import target_from_settings

    return target_from_settings(settings, workdir)


register_hpo_target(HPOTarget("classical", hpo_trainer, {"lr": "lr0", "batch_size": "batch"}))
register_space(SpaceKind("yolo", rebuild_space))
register(
    Command(
        ("classical",),
        "one-shot, target-adaptive op, depth and width search over a YOLOv9 neck (ultralytics)",
        ClassicalSettings,
        classical_job,
    )
)
register(
    Command(
        ("latency-table",),
        "measure a per-block latency table (JSON) on this machine",
        LatencyTableSettings,
        LatencyTableJob,
    )
)
