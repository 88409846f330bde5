"""Quality on digits4: the best searched circuit with <= 40 parameters (noise-aware search under
FakeManilaV2, constrained reward on the parameter count, T = 40) vs fixed hand-designed baselines
(QuantumNAS's U3 + CU3 ring blocks, trained the same way), test accuracy noiseless and under the same
noise, over search seeds.

    python benchmarks/quantum_quality.py --seeds 3 --budget 100 --scope full --layers 4 --epochs 30 --lr 0.05
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.hardware import fake_backend
from hybrid_nas.quantum.noise import noisy_accuracy
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, accuracy, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--scope", default="full")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    training = ["--layers", str(args.layers), "--epochs", str(args.epochs), "--lr", str(args.lr)]
    task, backend = load_task("digits4"), fake_backend("FakeManilaV2")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            out = Path(tmp, f"s{seed}")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hybrid_nas.cli",
                    "quantum",
                    "--scope",
                    args.scope,
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
                    *training,
                ],
                check=True,
                capture_output=True,
            )
            best = json.loads((out / "best.json").read_text())
            test = best["test"]
            rows.append(
                (
                    f"searched, seed {seed}",
                    best["best"]["metrics"]["params"],
                    test["test_accuracy"],
                    test["noisy_test_accuracy"],
                    best["best"]["description"],
                )
            )
    searched = rows[:]
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="u3cu3")
    baselines = {
        "1 x (U3 + CU3 ring)": space.uniform(1, "u3", "cu3_ring"),
        "U3 + CU3 ring + U3": space.uniform(2, "u3", "cu3_ring").replace(**{"L1.ent": "none"}),
        "2 x (U3 + CU3 ring), QuantumNAS's human design": space.uniform(2, "u3", "cu3_ring"),
    }
    for name, arch in baselines.items():
        circuit = space.build(arch)
        clean, noisy = [], []
        for seed in range(args.seeds):
            w = train(circuit, task, TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed)).weights
            clean.append(accuracy(circuit, w, task.x_test, task.y_test, 4))
            noisy.append(noisy_accuracy(circuit, w, task.x_test, task.y_test, 4, backend, seed=seed))
        rows.append(
            (
                f"baseline {name}, median of {args.seeds} seeds",
                circuit.n_params,
                statistics.median(clean),
                statistics.median(noisy),
                "hand-designed",
            )
        )
    print("| circuit | params | test accuracy | noisy test accuracy (FakeManilaV2) | architecture |")
    print("|---|---|---|---|---|")
    for name, params, clean, noisy, desc in rows:
        desc = desc.replace("|", "\\|")  # a bare | would end the markdown cell
        print(f"| {name} | {params:g} | {clean:.3f} | {noisy:.3f} | `{desc}` |")
    print(
        f"searched, median of {args.seeds}: test {statistics.median(r[2] for r in searched):.3f}, "
        f"noisy test {statistics.median(r[3] for r in searched):.3f}"
    )


if __name__ == "__main__":
    main()
