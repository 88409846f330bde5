"""Circuit depth against accuracy: the table and plot of ``hybrid-nas depth-sweep``."""

from __future__ import annotations

import json
from pathlib import Path

# (header, metric, format); the noisy ones only when the sweep ran with --noise
COLUMNS = [
    ("layers", "layers", "{:d}"),
    ("val accuracy", "accuracy", "{:.3f}"),
    ("noisy val accuracy", "noisy_accuracy", "{:.3f}"),
    # --rescore-top: on the selection split, which the sweep did not choose on
    ("held-out accuracy", "held_out_accuracy", "{:.3f}"),
    ("noisy held-out accuracy", "held_out_noisy_accuracy", "{:.3f}"),
    ("params", "params", "{:g}"),
    ("2q gates", "two_qubit_gates", "{:g}"),
    ("circuit depth", "depth", "{:g}"),
    ("transpiled depth", "transpiled_depth", "{:g}"),
    ("est. fidelity", "est_fidelity", "{:.3f}"),
]


def write_depth_sweep(rows: list[dict], run_dir: Path) -> str:
    """``depth_sweep.md`` (returned), ``depth_sweep.json`` and ``depth_sweep.png`` from one row per depth
    (``layers``, ``circuit`` and the best trial's metrics; a depth with no successful trial has ``failed``, the
    line that says why, instead)."""
    from hybrid_nas.engine.report import figure, save

    run_dir.mkdir(parents=True, exist_ok=True)
    found = [r for r in rows if "failed" not in r]
    cols = [c for c in COLUMNS if found and c[1] in found[0]]
    lines = ["| " + " | ".join(h for h, _, _ in cols) + " | circuit |", "|" + "---|" * (len(cols) + 1)]
    for r in rows:
        if "failed" in r:
            cells = [str(r["layers"])] + ["-"] * (len(cols) - 1)
            lines.append("| " + " | ".join(cells) + f" | no successful trial: {r['failed']} |")
            continue
        circuit = r["circuit"].replace("|", "\\|")  # a bare | would end the markdown cell
        lines.append("| " + " | ".join(f.format(r[k]) for _, k, f in cols) + f" | `{circuit}` |")
    table = "\n".join(lines)
    (run_dir / "depth_sweep.md").write_text("# Depth sweep\n\n" + table + "\n\n![depth vs accuracy](depth_sweep.png)\n")
    (run_dir / "depth_sweep.json").write_text(json.dumps(rows, indent=2))
    fig, ax = figure(6, 4)
    layers = [r["layers"] for r in found]
    ax.plot(layers, [r["accuracy"] for r in found], "o-", label="noiseless")
    if found and "noisy_accuracy" in found[0]:
        ax.plot(layers, [r["noisy_accuracy"] for r in found], "s-", label="noisy")
    ax.set_xlabel("layers")
    ax.set_ylabel("validation accuracy of the best circuit")
    ax.set_xticks(layers)
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, run_dir / "depth_sweep.png")
    return table


def plot_depth(view, path: Path) -> bool:
    """Quality (and noisy quality) against circuit depth, best per depth drawn; False when no trial
    reports a ``depth``."""
    import numpy as np

    from hybrid_nas.engine.report import figure, save

    ok = [t for t in view.ok if "depth" in t.metrics and ("accuracy" in t.metrics or "noisy_accuracy" in t.metrics)]
    if not ok:
        return False
    fig, ax = figure(6, 4.2)
    for key, marker, colour in (("accuracy", "o", "tab:blue"), ("noisy_accuracy", "s", "tab:orange")):
        pts = [(t.metrics["depth"], t.metrics[key]) for t in ok if key in t.metrics]
        if not pts:
            continue
        d, q = np.array(pts).T
        ax.scatter(d, q, s=10, alpha=0.35, color=colour, marker=marker)
        depths = np.unique(d)
        ax.plot(depths, [q[d == x].max() for x in depths], marker + "-", color=colour, label=f"best {key} per depth")
    ax.set_xlabel("circuit depth")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save(fig, path)
    return True
