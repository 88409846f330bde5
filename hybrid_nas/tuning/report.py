"""Default vs tuned: both retrained on the same seeds and scored on the same held-out split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hybrid_nas.engine.evaluator import Evaluator, run_evaluation
from hybrid_nas.engine.space import Architecture


def compare(evaluator: Evaluator, default: dict, tuned: dict, seeds: int, first_seed: int = 1000) -> dict:
    """Per configuration: every seed's metrics, and the mean and std of each metric."""
    out = {}
    for name, params in (("default", default), ("tuned", tuned)):
        runs: list[dict] = []
        for k in range(seeds):
            metrics, error, _ = run_evaluation(evaluator, Architecture(params), first_seed + k)
            runs.append(metrics or {"error": error})
        ok = [r for r in runs if "error" not in r]
        keys = sorted({k for r in ok for k in r})
        out[name] = {
            "params": params,
            "runs": runs,
            "mean": {k: float(np.mean([r[k] for r in ok])) for k in keys},
            "std": {k: float(np.std([r[k] for r in ok])) for k in keys},
        }
    return out


def comparison_table(result: dict, quality: str) -> str:
    held_out = f"test_{quality}" if f"test_{quality}" in result["default"]["mean"] else None
    cols = [quality] + ([held_out] if held_out else [])
    lines = [
        "| training | " + " | ".join(f"{c} (mean +- std)" for c in cols) + " | hyperparameters |",
        "|---|" + "---|" * len(cols) + "---|",
    ]
    for name in ("default", "tuned"):
        r = result[name]
        cells = [f"{r['mean'].get(c, float('nan')):.4f} +- {r['std'].get(c, float('nan')):.4f}" for c in cols]
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items())
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {params} |")
    return "\n".join(lines)


def write_hpo_summary(out: Path, result: dict, quality: str, seeds: int) -> str:
    table = comparison_table(result, quality)
    (out / "hpo.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    text = (
        f"\n## Default vs tuned ({seeds} seeds each; validation, and the held-out test split where the data "
        f"has one)\n\n{table}\n"
    )
    with open(out / "summary.md", "a") as f:
        f.write(text)
    return table
