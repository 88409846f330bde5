"""The steps of a classical run: the supernet, the latency source, exported subnets, the scope table."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import yaml

from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.latency import LatencyTable, Timing, build_table
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.devices import ultralytics_device
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.space import Architecture

TABLE_COLUMNS = ("precision", "recall", "map50", "map50_95", "latency_ms", "params")


def supernet_weights(space: NeckSpace, data: Path, run_dir: Path, s, reuse: bool) -> tuple[Path, dict]:
    """``run_dir/supernet.pt`` (trained now, or kept from this directory's earlier run when resuming) and what
    it was trained with, which the evaluator's meta carries so a resume against another supernet is refused."""
    path = run_dir / "supernet.pt"
    trained_with = {
        "scopes": space.scope,
        "data": s.data,
        "n_images": s.n_images,
        "imgsz": s.imgsz,
        "batch": s.batch,
        "epochs": s.supernet_epochs,
        "sampling": s.sampling,
        "seed": s.seed,
    }
    if s.sampling in ("sandwich", "progressive"):
        trained_with["distill"] = s.distill
    if reuse and path.is_file():
        print(f"supernet: reusing {path}")
        return path, trained_with
    trained = sn.train_supernet(
        space,
        data,
        run_dir,
        s.supernet_epochs,
        s.imgsz,
        s.batch,
        s.seed,
        s.sampling,
        device=s.device,
        distill=s.distill,
    )
    shutil.copy(trained.weights, path)
    rarest = min(trained.path_counts[d.name][op] for d in space.decisions for op in d.options)
    print(
        f"supernet: {s.supernet_epochs} epochs ({s.sampling} paths over {space.size()} subnets, "
        f"every op trained on >= {rarest} batches) in {trained.seconds:.0f} s"
    )
    return path, trained_with


def run_table(space: NeckSpace, s, run_dir: Path, nc: int) -> LatencyTable:
    """The run's own table (``--latency table``): measured here, once per run directory."""
    path = run_dir / "latency_table.json"
    table = LatencyTable.load(path) if path.is_file() else None
    if table is None or table.imgsz != s.imgsz or table.timing != asdict(timing(s)) or missing(table, space):
        table, _ = build_table(space, s.imgsz, timing(s), seed=s.seed, nc=nc)
        table.save(path)
    return covering(table, space)


def table_from_file(space: NeckSpace, source: str) -> LatencyTable | None:
    """The table of ``--latency file:PATH``, read and checked before any work; None for ``measure`` and for
    ``table`` (the run measures its own: ``run_table``)."""
    if source == "measure":
        return None
    if not str(source).startswith("file:") and source != "table":
        raise ConfigError(f"--latency {source!r}: expected measure, table or file:PATH")
    return covering(LatencyTable.load(source[5:]), space) if source != "table" else None


def missing(table: LatencyTable, space: NeckSpace) -> list[str]:
    """The blocks ``space`` offers that ``table`` has no entry for, as ``m<i>=<key>``."""
    return [
        f"m{i}={key}"
        for i, options in space.block_options().items()
        for key in options
        if key not in table.entries.get(f"m{i}", {})
    ]


def covering(table: LatencyTable, space: NeckSpace) -> LatencyTable:
    """``table``, if it has an entry for every block ``space`` offers."""
    lacking = missing(table, space)
    if not lacking:
        return table
    elastic = f" --depths {','.join(map(str, space.depths or []))}" * bool(space.depths)
    elastic += f" --widths {','.join(map(str, space.widths or []))}" * bool(space.widths)
    elastic += " --compound" * space.compound
    elastic += " --positions all" * (space.positions == "all")
    how = f"`hybrid-nas latency-table --model {space.model} --scope {space.scope}{elastic}`"
    if space.elastic and not any("/" in key for entries in table.entries.values() for key in entries):
        raise ConfigError(
            "latency table holds ops only, and this search also chooses depth or width: measure one with "
            f"{how}, or search ops alone with --depths none --widths none"
        )
    raise ConfigError(f"latency table lacks {lacking[:4]}{' ...' if len(lacking) > 4 else ''}: measure it with {how}")


def timing(s) -> Timing:
    return Timing(threads=s.threads, statistic=s.latency_stat, backend=s.latency_backend, device=s.latency_device)


def export(sub, arch: Architecture, space: NeckSpace, out: Path, train_args: dict) -> None:
    """``best.yaml`` (an ultralytics model YAML naming our block) and ``best.pt`` (an ultralytics checkpoint
    with the inherited weights): ``YOLO("best.yaml")`` / ``YOLO("best.pt")`` after importing
    ``hybrid_nas.classical``."""
    import copy
    from datetime import datetime

    import torch
    from ultralytics import __version__ as ul_version

    d = write_model_yaml(out / "best.yaml", sub.yaml, [f"hybrid-nas subnet of {space.model}: {space.describe(arch)}"])
    model = copy.deepcopy(sub).float().cpu()
    model.yaml = d
    torch.save(
        {
            "model": model,
            "ema": None,
            "train_args": train_args,
            "date": datetime.now().isoformat(),
            "version": ul_version,
            "hybrid_nas": {"architecture": dict(arch)},
        },
        out / "best.pt",
    )


def write_model_yaml(path: Path, d: dict, comments: list[str]) -> dict:
    """Write the model dictionary ``d`` as an ultralytics model YAML headed by ``comments`` and the line that
    says how to load it; returns the dictionary written (without ultralytics' build-time keys)."""
    d = {k: v for k, v in d.items() if k not in ("yaml_file", "scale")}
    header = [
        *comments,
        "Load with `import hybrid_nas.classical` first (it teaches ultralytics' parser the SearchableELAN row).",
    ]
    path.write_text("".join(f"# {line}\n" for line in header) + model_yaml_text(d))
    return d


def model_yaml_text(d: dict) -> str:
    """A model dictionary in ultralytics' own layout: one flow-style row per layer."""
    lines = [yaml.safe_dump({k: v}, sort_keys=False).rstrip() for k, v in d.items() if k not in ("backbone", "head")]
    for part in ("backbone", "head"):
        lines += [
            f"{part}:",
            *(
                f"  - {json.dumps(row)}  # {i}"
                for i, row in enumerate(d[part], start=0 if part == "backbone" else len(d["backbone"]))
            ),
        ]
    return "\n".join(lines) + "\n"


def finetune(weights: Path, data: Path, s, out: Path, **overrides) -> dict[str, float]:
    """Fine-tune an exported subnet with ultralytics' own ``train`` (``overrides``: more of its arguments) and
    validate it."""
    from ultralytics import YOLO

    from hybrid_nas.classical.assign import ScaleAwareTrainer

    with sn.quiet():
        model = YOLO(str(weights))
        model.train(
            trainer=ScaleAwareTrainer,
            data=str(data),
            epochs=s.finetune_epochs,
            imgsz=s.imgsz,
            batch=s.batch,
            device=ultralytics_device(s.device),
            workers=0,
            plots=False,
            project=str(out.resolve()),
            name="finetune",
            exist_ok=True,
            seed=s.seed,
            amp=False,
            verbose=False,
            **overrides,
        )
    tuned = sn.load_supernet(out / "finetune" / "weights" / "last.pt")
    return sn.validate(tuned, data, s.imgsz, out / "finetune" / "val", device=s.device)


def scope_table(rows: list[dict]) -> str:
    """TANGO's table: Scope | Architecture | Precision | Recall | mAP50 | mAP50-95 | latency | params."""
    lines = [
        "| Scope | Architecture | Precision | Recall | mAP50 | mAP50-95 | latency (ms) | params |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("map50") is None:
            lines.append(f"| {r['scope']} | no feasible subnet | | | | | | |")
            continue
        lines.append(
            f"| {r['scope']} | `{r['architecture']}` | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['map50']:.3f} | {r['map50_95']:.3f} | {r['latency_ms']:.1f} | {r['params'] / 1e6:.2f} M |"
        )
        if "finetuned" in r:
            f = r["finetuned"]
            lines.append(
                f"| {r['scope']} (fine-tuned) | same | {f['precision']:.3f} | {f['recall']:.3f} | "
                f"{f['map50']:.3f} | {f['map50_95']:.3f} | | |"
            )
    return "\n".join(lines)


def write_scope_table(rows: list[dict], run_dir: Path, latency: dict) -> str:
    """``scopes.json`` (the rows and the latency source and limit used) and the table in ``summary.md``."""
    table = scope_table(rows)
    doc = {**latency, "scopes": rows}
    (run_dir / "scopes.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")
    summary = run_dir / "summary.md"
    head = summary.read_text() + "\n" if summary.is_file() and len(rows) == 1 else "# Classical search\n\n"
    summary.write_text(head + "## Best subnet per scope\n\n" + table + "\n")
    return table
