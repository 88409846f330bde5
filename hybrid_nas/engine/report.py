"""``hybrid-nas report RUN_DIR``: plots and a markdown summary from a run's trial store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hybrid_nas.engine import rescore, two_stage
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.results import StudyView
from hybrid_nas.engine.stats import rank_cells
from hybrid_nas.engine.storages.base import holds_study, open_study
from hybrid_nas.engine.trial import Trial


def _by_reward(t: Trial) -> float:
    """Sort key, the highest reward first (a completed trial always has one)."""
    assert t.reward is not None
    return -t.reward


def load_view(run_dir: str | Path) -> StudyView:
    if not holds_study(Path(run_dir)):
        raise ConfigError(f"{run_dir} is not a run directory: it has no storage.json")
    store = open_study(run_dir)
    try:
        meta, trials = store.get_meta() or {}, store.trials()
    finally:
        store.close()
    return StudyView(meta, trials)


def figure(width: float, height: float, rows: int = 1, cols: int = 1):
    """A figure outside pyplot: drawing it neither needs nor changes the process's (a notebook's) backend."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(rows, cols)


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _best_so_far(values: list[float]) -> np.ndarray:
    return np.fmax.accumulate(np.asarray(values, float)) if values else np.zeros(0)


def _zoom(ax, values) -> None:
    """Keep the y axis on where trials are: a few degenerate cells (1 % accuracy) would squash it."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) > 10:
        lo, hi = np.percentile(v, 2), v.max()
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))


def plot_best_so_far(view: StudyView, path: Path) -> None:
    n = [t.number + 1 for t in view.trials]
    reward = [t.reward if t.ok and t.reward is not None else np.nan for t in view.trials]
    quality = [t.metrics[view.quality] if t.ok and view.feasible(t) else np.nan for t in view.trials]
    fig, axes = figure(10, 3.8, 1, 2)
    for ax, values, label in ((axes[0], reward, "reward"), (axes[1], quality, f"feasible {view.quality}")):
        ax.plot(n, values, ".", ms=3, alpha=0.35, color="tab:gray", label="trial")
        ax.plot(n, _best_so_far(values), color="tab:blue", lw=2, label="best so far")
        _zoom(ax, values)
        ax.set_xlabel("trial")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    title = f"{view.meta.get('strategy', {}).get('name', '?')} / {view.meta.get('objective', {}).get('name', '?')}"
    fig.suptitle(title + (f", {view.cost} <= {view.T:g}" if view.T is not None else ""))
    save(fig, path)


def plot_pareto(view: StudyView, path: Path) -> list[int]:
    """Quality vs cost of every completed trial, the Pareto front drawn and the best starred; returns the
    front's trial numbers, cheapest first."""
    front = sorted(view.front(), key=lambda t: t.metrics[view.cost])
    fig, ax = figure(6, 4.2)
    quality = [t.metrics.get(view.quality, np.nan) for t in view.ok]
    ax.scatter(
        [t.metrics.get(view.cost, np.nan) for t in view.ok], quality, s=8, alpha=0.4, color="tab:gray", label="trial"
    )
    ax.plot(
        [t.metrics[view.cost] for t in front],
        [t.metrics[view.quality] for t in front],
        "o-",
        color="tab:red",
        ms=4,
        label="Pareto front",
    )
    best = view.best()
    if best is not None:
        ax.plot(
            best.metrics[view.cost],
            best.metrics[view.quality],
            "*",
            color="gold",
            mec="k",
            ms=14,
            label=f"best (trial {best.number})",
        )
    if view.T is not None:
        ax.axvline(view.T, ls="--", color="k", lw=1, label=f"T = {view.T:g}")
    _zoom(ax, quality)
    ax.set_xlabel(view.cost)
    ax.set_ylabel(view.quality)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save(fig, path)
    return [t.number for t in front]


def plot_choices(view: StudyView, path: Path, top: float = 0.1) -> bool:
    """Option chosen per decision: the share of the top ``top`` of trials (by reward) choosing each option,
    the objective's best trial boxed. False when the space lists no decisions."""
    from matplotlib.patches import Rectangle

    decisions = view.meta.get("space", {}).get("decisions")
    if not decisions or not view.ok:
        return False
    ranked = sorted(view.ok, key=_by_reward)[: max(5, round(top * len(view.ok)))]
    columns = list(dict.fromkeys(str(o) for options in decisions.values() for o in options))
    share = np.full((len(decisions), len(columns)), np.nan)
    for r, (name, options) in enumerate(decisions.items()):
        for o in options:
            share[r, columns.index(str(o))] = np.mean([str(t.arch.get(name)) == str(o) for t in ranked])
    fig, ax = figure(max(4.5, 1.5 + 0.55 * len(columns)), 1.6 + 0.35 * len(decisions))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    best = view.best()
    if best is not None:
        for r, name in enumerate(decisions):
            c = columns.index(str(best.arch[name]))
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, lw=2, color="tab:red"))
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right")
    ax.set_yticks(range(len(decisions)), list(decisions))
    ax.set_title(
        f"share of the top {len(ranked)} trials by reward choosing each option\n"
        + (f"red: the best trial ({best.number})" if best else "no trial qualifies as best"),
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, fraction=0.04)
    save(fig, path)
    return True


def _row(t, view: StudyView, describe) -> str:
    arch = (describe(t.arch) if describe else t.arch.key).replace("|", "\\|")  # a | would end the cell
    return (
        f"| {t.number} | `{arch}` | {t.metrics.get(view.quality, float('nan')):.4f} | "
        f"{t.metrics.get(view.cost, float('nan')):.4g} | {t.reward:.5f} |"
    )


def write_report(run_dir: str | Path, describe=None, out: str | Path | None = None) -> Path:
    """Writes ``report/best_so_far.png``, ``report/pareto.png``, ``report/choices.png``, the plots the space
    adds (its ``SpaceKind.plots``) and ``summary.md`` into ``out`` (default: the study's own directory, which
    is only read otherwise); returns the summary. ``describe`` defaults to the notation of the stored study's
    space."""
    from hybrid_nas.engine.registry import space_kind

    view, source = load_view(Path(run_dir)), Path(run_dir)
    run_dir = Path(out or run_dir)
    kind = space_kind(view.meta.get("space") or {})
    if describe is None and kind is not None:
        describe = getattr(kind.rebuild(view.meta["space"]), "describe", None)
    report = run_dir / "report"
    report.mkdir(parents=True, exist_ok=True)
    plot_best_so_far(view, report / "best_so_far.png")
    front = plot_pareto(view, report / "pareto.png")
    figures = [("best so far", "best_so_far.png"), ("Pareto front", "pareto.png")]
    figures += [(p.caption, p.file) for p in (kind.plots if kind else ()) if p.draw(view, report / p.file)]
    if plot_choices(view, report / "choices.png"):
        figures.append(("option chosen per decision", "choices.png"))
    summary = run_dir / "summary.md"
    lines = summary_lines(view, run_dir.name, front, figures, describe) + rescore.summary_lines(source)
    summary.write_text("\n".join(lines))
    return summary


def agreement_lines(view: StudyView) -> list[str]:
    """``summary.md``'s rank agreement (Spearman, Kendall tau) between each pair of the figures the evaluator
    names in its ``agreement`` (e.g. cheap and exact scores of one property), over the completed trials."""
    names = (view.meta.get("evaluator") or {}).get("agreement") or []
    if len(names) < 2:
        return []
    lines = [
        "## Agreement of " + ", ".join(f"`{n}`" for n in names),
        "",
        "Rank correlation over the completed trials holding both figures:",
        "",
        "| figure | figure | trials | Spearman | Kendall tau |\n|---|---|---|---|---|",
    ]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pairs = [(t.metrics[a], t.metrics[b]) for t in view.ok if a in t.metrics and b in t.metrics]
            lines.append(f"| {a} | {b} | {len(pairs)} | {rank_cells(pairs)} |")
    return [*lines, ""]


def summary_lines(
    view: StudyView, name: str, front: list[int], figures: list[tuple[str, str]], describe=None
) -> list[str]:
    """``summary.md``: the study's configuration, its best, its top 10, its front, its figures, its failures."""
    by_number = {t.number: t for t in view.trials}
    header = f"| trial | architecture | {view.quality} | {view.cost} | reward |\n|---|---|---|---|---|"
    best = view.best()
    lines = [
        f"# Study summary: {name}",
        "",
        f"- strategy: `{json.dumps(view.meta.get('strategy'))}`",
        f"- objective: `{json.dumps(view.meta.get('objective'))}`",
        f"- evaluator: `{json.dumps(view.meta.get('evaluator'))}`",
        f"- trials: {len(view.trials)} ({len(view.ok)} complete, {len(view.failed)} failed); "
        f"seed {view.meta.get('seed')}",
        "",
        "## Best",
        "",
        f"By the objective's rule: {view.rule_text()}.",
        "",
        header,
        _row(best, view, describe) if best else "| - | no trial qualifies | | | |",
        "",
        "## Top 10 by reward",
        "",
        header,
        *[_row(t, view, describe) for t in sorted(view.ok, key=_by_reward)[:10]],
        "",
        f"## Pareto front ({view.quality} vs {view.cost})",
        "",
        header,
        *[_row(by_number[n], view, describe) for n in front],
        "",
        *[line for caption, file in figures for line in (f"![{caption}](report/{file})", "")],
    ]
    lines += agreement_lines(view)
    lines += two_stage.summary_lines(view)
    if view.failed:
        lines += ["## Failed trials", "", *[f"- trial {t.number}: {t.error_line}" for t in view.failed[:20]], ""]
    return lines
