"""The hybrid run's report: the best model beside its controls (a table in ``summary.md``) and the
Pareto front of test accuracy against parameters with the controls marked (``report/hybrid_pareto.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hybrid_nas.engine.report import figure, save
from hybrid_nas.engine.results import StudyView

COLUMNS = (
    ("test_accuracy", "test acc", ".3f"),
    ("noisy_test_accuracy", "noisy test acc", ".3f"),
    ("params", "params", ".0f"),
    ("classical_params", "classical", ".0f"),
    ("circuit_params", "circuit", ".0f"),
    ("flops", "FLOPs", ".0f"),
    ("two_qubit_gates", "2q gates", ".0f"),
)
MARKERS = {
    "classical_only": ("s", "tab:green"),
    "circuit_only": ("^", "tab:purple"),
    "no_entanglement": ("D", "tab:orange"),
}


def _models(doc: dict) -> dict[str, dict]:
    """The best model's figures and its controls', by name."""
    if not doc.get("best") or "best_figures" not in doc:
        return {}
    return {"best hybrid": doc["best_figures"], **doc.get("controls", {})}


def controls_rows(doc: dict, markdown: bool = True) -> list[str]:
    """The best model and its controls, one row each (a markdown table, or aligned text)."""
    models = _models(doc)
    if not models:
        return []
    columns = [c for c in COLUMNS if any(c[0] in m for m in models.values())]
    cells = [["model", *(c[1] for c in columns)]]
    for name, m in models.items():
        cells.append([name, *(format(m[k], f) if k in m else "-" for k, _, f in columns)])
    if markdown:
        return (
            [f"| {' | '.join(row)} |" for row in cells[:1]]
            + ["|" + "---|" * len(cells[0])]
            + [f"| {' | '.join(row)} |" for row in cells[1:]]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]


def plot_hybrid_pareto(view: StudyView, doc: dict, path: Path) -> None:
    """Test accuracy against parameters of every completed trial; the objective's front (chosen on
    validation figures) drawn through, the best starred, the controls marked."""
    ok = [t for t in view.ok if "test_accuracy" in t.metrics]
    fig, ax = figure(6.4, 4.4)
    ax.scatter(
        [t.metrics["params"] for t in ok],
        [t.metrics["test_accuracy"] for t in ok],
        s=10,
        alpha=0.4,
        color="tab:gray",
        label="trial",
    )
    front = sorted((t for t in view.front() if "test_accuracy" in t.metrics), key=lambda t: t.metrics["params"])
    ax.plot(
        [t.metrics["params"] for t in front],
        [t.metrics["test_accuracy"] for t in front],
        "o-",
        color="tab:red",
        ms=4,
        label=f"front ({view.quality} vs {view.cost})",
    )
    models, best = _models(doc), None
    if "best hybrid" in models:
        best = models.pop("best hybrid")
        ax.plot(best["params"], best["test_accuracy"], "*", color="gold", mec="k", ms=15, label="best hybrid")
    for name, m in models.items():
        marker, colour = MARKERS.get(name, ("x", "k"))
        ax.plot(m["params"], m["test_accuracy"], marker, color=colour, mec="k", ms=8, label=name.replace("_", " "))
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (classical + circuit)")
    ax.set_ylabel("test accuracy")
    trials = [t.metrics["test_accuracy"] for t in ok]
    marked = [m["test_accuracy"] for m in models.values()] + ([best["test_accuracy"]] if best else [])
    if trials or marked:  # a few collapsed trials would squash the axis; a control is always shown
        lo = min(([np.percentile(trials, 5)] if trials else []) + marked)
        ax.set_ylim(max(0.0, lo - 0.05), min(1.0, max(trials + marked)) + 0.03)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{view.meta.get('evaluator', {}).get('task', '')}: hybrid models and controls")
    save(fig, path)


def write_controls(run_dir: Path, view: StudyView, doc: dict) -> None:
    """Add the controls table to ``summary.md`` and draw ``report/hybrid_pareto.png``."""
    (run_dir / "report").mkdir(exist_ok=True)
    plot_hybrid_pareto(view, doc, run_dir / "report" / "hybrid_pareto.png")
    rows = controls_rows(doc)
    if not rows:
        return
    from hybrid_nas.hybrid.training import KINDS

    notes = [f"- {name}: {what}" for name, what in KINDS.items() if name != "hybrid"]
    section = [
        "## Best hybrid and its controls",
        "",
        "Same data, split, seed and epochs for every model; accuracy on the test split, which chose nothing.",
        "",
        *rows,
        "",
        *notes,
        "",
        "![hybrid models and controls](report/hybrid_pareto.png)",
        "",
    ]
    summary = run_dir / "summary.md"
    summary.write_text(summary.read_text() + "\n" + "\n".join(section))
