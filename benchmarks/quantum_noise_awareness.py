"""Noise-awareness: do searches scored under device noise choose circuits with fewer two-qubit gates and
less depth than searches scored noiselessly? digits4, regularised evolution, the same objective, seeds
and budget in every arm (accuracy, under a limit of 40 parameters: no cost pressure on two-qubit gates or
depth, so any difference comes from the noise); an arm's quality is its validation accuracy under that
fake backend's noise model with the shot noise of --shots shots (none: noiseless). Compares the top-k
circuits (by reward) of each search, and transpiles every chosen circuit to the last arm's device so
their hardware costs compare.

    python benchmarks/quantum_noise_awareness.py --seeds 3 --budget 60 --top 5 --scope full \
        --noise none,FakeManilaV2,FakeQuitoV2 --shots 256
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hybrid_nas.engine.report import load_view
from hybrid_nas.quantum.hardware import fake_backend, hardware_figures
from hybrid_nas.quantum.space import CircuitSpace

HERE = Path(__file__).parent
FIGURES = ("two_qubit_gates", "depth", "transpiled_two_qubit_gates", "noiseless_accuracy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--noise", default="none,FakeManilaV2,FakeQuitoV2", help="arms: fake backends, none = noiseless")
    ap.add_argument("--shots", type=int, default=256, help="noisy arms: shot noise of this many shots; 0: exact")
    ap.add_argument("--scope", default="full")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    arms = args.noise.split(",")
    device = fake_backend(arms[-1] if arms[-1] != "none" else "FakeManilaV2")  # where every chosen circuit is costed
    space = CircuitSpace(4, args.layers, args.scope, ("ryzxy", "ryzxy_interleaved"))
    chosen: dict[str, list[dict]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        for arm in arms:
            for seed in range(args.seeds):
                out = Path(tmp, f"{arm}-{seed}")
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "hybrid_nas.cli",
                        "quantum",
                        "--noise",
                        arm,
                        "--scope",
                        args.scope,
                        "--layers",
                        str(args.layers),
                        "--objective",
                        "constrained",
                        "--cost",
                        "params",
                        "--T",
                        "40",
                        "--budget",
                        str(args.budget),
                        "--seed",
                        str(seed),
                        "--workers",
                        str(args.workers),
                        "--out",
                        str(out),
                        "--no-progress",
                        *(["--shots", str(args.shots)] if args.shots and arm != "none" else []),
                    ],
                    check=True,
                    capture_output=True,
                )
                for t in sorted(load_view(out).ok, key=lambda t: -t.reward)[: args.top]:
                    circuit = space.build(t.arch)
                    chosen[arm].append(
                        {
                            **circuit.figures(),
                            "noiseless_accuracy": t.metrics["accuracy"],
                            **hardware_figures(circuit, device),
                        }
                    )
    print(
        f"top {args.top} circuits by reward of each of {args.seeds} searches x {args.budget} trials "
        f"(digits4, scope {args.scope}, <= {args.layers} layers); transpiled to {device.name}"
    )
    print(
        "| scored under | two-qubit gates: median (mean) | depth: median (mean) | "
        f"transpiled two-qubit gates on {device.name}: median (mean) | noiseless val accuracy: median |"
    )
    print("|---|---|---|---|---|")
    for arm, ms in chosen.items():
        col = {k: [m[k] for m in ms] for k in FIGURES}
        print(
            f"| {arm} | "
            + " | ".join(f"{statistics.median(col[k]):g} ({np.mean(col[k]):.1f})" for k in FIGURES[:3])
            + f" | {statistics.median(col['noiseless_accuracy']):.3f} |"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key in zip(axes, FIGURES[:3]):
        values = [[m[key] for m in ms] for ms in chosen.values()]
        ax.boxplot(values, showmeans=True)
        shots = f"\n{args.shots} shots" if args.shots else ""
        ax.set_xticks(range(1, len(arms) + 1), [a + shots if a != "none" else "noiseless" for a in arms])
        ax.set_title(key.replace("_", " "))
    axes[0].set_ylabel(f"top {args.top} circuits of {args.seeds} searches")
    fig.tight_layout()
    fig.savefig(HERE / "figures" / "quantum_noise_awareness.png", dpi=120)


if __name__ == "__main__":
    main()
