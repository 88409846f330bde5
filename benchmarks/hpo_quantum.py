"""SMAC-tuned vs default training of the digits4 best circuit, and SMAC vs random search at the same
number of trials (medians over search seeds), with the incumbent trajectories plotted.

    python benchmarks/hpo_quantum.py --run-dir runs/q --seeds 5 --trials 30
(without --run-dir it first runs `hybrid-nas quantum` on its defaults to find the circuit)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import hybrid_nas as hn
from hybrid_nas.quantum.hpo import target_from_settings
from hybrid_nas.tuning.command import HPOQuantumSettings, hpo_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", help="a hybrid-nas quantum run (default: run one on the defaults)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--test-seeds", type=int, default=5, help="retrainings per configuration for the test figures")
    ap.add_argument("--out", default="runs/bench-hpo-quantum")
    ap.add_argument("--figure", default="benchmarks/figures/hpo_quantum_trajectory.png")
    args = ap.parse_args()
    out = Path(args.out)
    run_dir = Path(args.run_dir) if args.run_dir else out / "search"
    if not (run_dir / "best.json").is_file():
        hn.quantum.search(out=run_dir, progress=False)
    evaluator = target_from_settings(HPOQuantumSettings.resolve(run_dir=str(run_dir)))
    space = hpo_space("hpo_quantum_space.json")
    print(f"circuit: {evaluator.space.describe(evaluator.arch)}; untuned training {evaluator.defaults(space.names)}")

    curves, tests = {"hpo": [], "random": []}, {"default": [], "hpo": [], "random": []}
    for seed in range(args.seeds):
        for method in ("hpo", "random"):  # `hybrid-nas hpo quantum`: the study, then default vs tuned retrained
            run_out = out / f"{method}-s{seed}"
            run = hn.tune(
                "quantum",
                run_dir=str(run_dir),
                method=method,
                trials=args.trials,
                seed=seed,
                repeats=1,
                seeds=args.test_seeds,
                out=run_out,
                resume=(run_out / "run.json").exists(),
                progress=False,
            )
            rewards = [t.reward if t.ok else -np.inf for t in run.view().trials]
            curves[method].append(np.maximum.accumulate(rewards)[: args.trials])
            c = json.loads((run.dir / "hpo.json").read_text())
            if method == "hpo":
                tests["default"].append(c["default"]["mean"]["test_accuracy"])
            tests[method].append(c["tuned"]["mean"]["test_accuracy"])
        print(
            f"seed {seed}: test accuracy (mean of {args.test_seeds} retrainings) default "
            f"{tests['default'][-1]:.4f}  SMAC {tests['hpo'][-1]:.4f}  random {tests['random'][-1]:.4f}; "
            f"best validation SMAC {curves['hpo'][-1][-1]:.4f}  random {curves['random'][-1][-1]:.4f}",
            flush=True,
        )

    print(f"\nmedian over {args.seeds} seeds, {args.trials} trials each:")
    print("| training | test accuracy (median) | best validation accuracy (median) |\n|---|---|---|")
    print(f"| default | {np.median(tests['default']):.4f} | |")
    for method, label in (("hpo", "SMAC (RF)"), ("random", "random search")):
        print(f"| {label} | {np.median(tests[method]):.4f} | {np.median([c[-1] for c in curves[method]]):.4f} |")
    (out / "hpo_quantum.json").write_text(
        json.dumps(
            {"tests": tests, "curves": {k: [list(map(float, c)) for c in v] for k, v in curves.items()}}, indent=1
        )
    )
    plot(curves, Path(args.figure))


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, colour, label in (("hpo", "tab:blue", "SMAC (random forest)"), ("random", "tab:gray", "random search")):
        c = np.array(curves[method])
        x = np.arange(1, c.shape[1] + 1)
        ax.plot(x, np.median(c, 0), color=colour, lw=2, label=f"{label}, median")
        ax.fill_between(x, c.min(0), c.max(0), color=colour, alpha=0.15)
    ax.set_xlabel("trial")
    ax.set_ylabel("incumbent validation accuracy")
    ax.set_title("digits4 best circuit: training hyperparameters")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
