"""The same search on each --simulator: ``hybrid-nas quantum --simulator S --task moons --budget 5`` (the
packaged settings otherwise: 15 epochs, FakeManilaV2 noise) for each S, compared trial by trial with the
first: the same architectures, and the largest |difference| of every metric (noisy ones included), of the
best circuit's test accuracies and of its trained weights; then each run's wall time, and its ratio to the
first's. A simulator that is not installed (or cannot train these circuits) is skipped with a note.

    python benchmarks/quantum_simulators.py --simulators hybrid_nas,default.qubit,lightning.qubit,hybrid_nas.qubit
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import hybrid_nas as hn

TIMINGS = {"seconds", "train_seconds"}  # measured, not computed: they differ by design


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulators", default="hybrid_nas,default.qubit,lightning.qubit,hybrid_nas.qubit")
    ap.add_argument("--task", default="moons")
    ap.add_argument("--budget", type=int, default=5)
    ap.add_argument("--noise", default="FakeManilaV2", help="none: noiseless figures only")
    ap.add_argument("--out", type=Path, help="keep the runs here (default: a temporary directory)")
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="quantum-simulators-"))
    # imports and first-use caches (Qiskit, the noise model, matplotlib) are paid here, not by the first run timed
    hn.quantum.search(out=root / "warm-up", task=args.task, budget=1, epochs=1, noise=args.noise, progress=False)
    runs, seconds = {}, {}
    for name in [s.strip() for s in args.simulators.split(",") if s.strip()]:
        start = time.perf_counter()
        try:
            run = hn.quantum.search(
                out=root / name, task=args.task, budget=args.budget, noise=args.noise, simulator=name, progress=False
            )
        except hn.ConfigError as e:
            print(f"skipped {name}: {e}")
            continue
        seconds[name], runs[name] = time.perf_counter() - start, run
    if not runs:
        raise SystemExit("no simulator ran")
    base_name, base = next(iter(runs.items()))
    a = base.trials()
    decisions = [c for c in a.columns if c == "layers" or c == "encoder" or c.startswith("L")]
    metrics = [c for c in a.columns if c not in decisions and c not in TIMINGS and a[c].dtype.kind == "f"]
    print(f"{args.task}, budget {args.budget}, noise {args.noise}; runs in {root}")
    print(f"{base_name}: {len(a)} trials in {seconds[base_name]:.1f} s")
    for m in metrics:
        if "accuracy" in m:
            print(f"  {m} per trial: " + " ".join(f"{v:.4f}" for v in a[m]))
    for name, run in list(runs.items())[1:]:
        b = run.trials()
        same = len(a) == len(b) and a[decisions].equals(b[decisions])
        gaps = {m: float(np.abs(a[m].to_numpy() - b[m].to_numpy()).max()) for m in metrics} if same else {}
        tests = {k: abs(base.result["test"][k] - run.result["test"][k]) for k in base.result["test"]}
        print(
            f"{name}: {len(b)} trials in {seconds[name]:.1f} s ({seconds[name] / seconds[base_name]:.1f}x "
            f"{base_name}'s); same architectures as {base_name}: {same}"
        )
        if same:
            print("  max |difference| per metric: " + ", ".join(f"{m} {g:.1e}" for m, g in gaps.items()))
            print("  best circuit's test figures: " + ", ".join(f"{k} {g:.1e}" for k, g in tests.items()))
            weights = [np.load(r.dir / "best_weights.npy") for r in (base, run)]
            print(f"  best circuit's trained weights: {np.abs(np.subtract(*weights)).max():.1e}")


if __name__ == "__main__":
    main()
