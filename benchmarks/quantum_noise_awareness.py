"""Noise-awareness: do searches scored under device noise choose shallower circuits with fewer two-qubit
gates than searches scored noiselessly? digits4, scope u3cu3, up to 3 layers, regularised evolution, the
default objective (quality - 0.01 x two-qubit gates), same seeds and budget; with noise the quality is the
accuracy under FakeManilaV2's noise model. Compares the top-k circuits (by reward) of each run.

    python benchmarks/quantum_noise_awareness.py --seeds 3 --budget 40 --top 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hybrid_nas.report import load_view

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    chosen: dict[str, list[dict]] = {"noiseless": [], "FakeManilaV2": []}
    with tempfile.TemporaryDirectory() as tmp:
        for noise in chosen:
            for seed in range(args.seeds):
                out = Path(tmp, f"{noise}-{seed}")
                subprocess.run([sys.executable, "-m", "hybrid_nas.cli", "quantum", "--noise",
                                "none" if noise == "noiseless" else noise, "--budget", str(args.budget),
                                "--seed", str(seed), "--workers", str(args.workers), "--out", str(out),
                                "--no-progress"], check=True, capture_output=True)
                view = load_view(out)
                top = sorted(view.ok, key=lambda t: -t.reward)[: args.top]
                chosen[noise] += [t.metrics for t in top]
    print(f"top {args.top} circuits by reward of each of {args.seeds} searches x {args.budget} trials (digits4, u3cu3)")
    print("| scored | two-qubit gates: median (mean) | depth: median (mean) | params: median | noiseless val acc: median |")
    print("|---|---|---|---|---|")
    for noise, ms in chosen.items():
        col = {k: [m[k] for m in ms] for k in ("two_qubit_gates", "depth", "params", "accuracy")}
        print(f"| {noise} | {statistics.median(col['two_qubit_gates']):g} ({np.mean(col['two_qubit_gates']):.1f}) | "
              f"{statistics.median(col['depth']):g} ({np.mean(col['depth']):.1f}) | {statistics.median(col['params']):g} | "
              f"{statistics.median(col['accuracy']):.3f} |")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key in zip(axes, ("two_qubit_gates", "depth")):
        values = [[m[key] for m in ms] for ms in chosen.values()]
        bins = np.arange(min(map(min, values)) - 0.5, max(map(max, values)) + 1.5)
        ax.hist(values, bins=bins, label=[f"scored {n}" for n in chosen], alpha=0.8)
        ax.set_xlabel(key.replace("_", " "))
        ax.set_ylabel("chosen circuits")
        ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "figures" / "quantum_noise_awareness.png", dpi=120)


if __name__ == "__main__":
    main()
