"""Where a training step of the package's simulator goes, and how fast it is, by size and precision.

The scaling benchmark's circuit (RX encoding + 2 x (U3 on every qubit + CRX ring)), batch 64, Adam, one
thread. Each (size, precision) runs in its own process: samples/s of ``training.train`` over a few
batches after a warm-up run, with the plan it chose. ``--against DIR`` measures the same with the package
imported from another checkout in the same run (before/after); ``--profile N`` prints torch.profiler's
top ops and the op count of one step at N qubits.

    python benchmarks/quantum_step_speed.py --qubits 4,8,12,16 --against /path/to/other/checkout
    python benchmarks/quantum_step_speed.py --profile 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


def _steps(n: int) -> int:
    return 40 if n <= 8 else 12 if n <= 12 else 4 if n <= 16 else 2


def _setup(n: int, batch: int, steps: int, precision: str, gradient: str):
    import numpy as np
    import torch
    from sklearn.datasets import make_classification

    from hybrid_nas.quantum.data import Task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig

    torch.set_num_threads(1)
    classes = min(n, 4)
    x, y = make_classification(
        batch * steps, n, n_informative=min(n, 4), n_redundant=0, n_classes=classes, random_state=0
    )
    x = (x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi
    task = Task("generated", x, y, x[:1], y[:1], x[:1], y[:1], classes, n, "rx")
    space = CircuitSpace(n_qubits=n, max_layers=2, scope="full", encoders=("rx",))
    circuit = space.build(space.uniform(2, "u3", "crx_ring"))
    return circuit, task, TrainConfig(epochs=1, batch=batch, precision=precision, gradient=gradient)


def measure(n: int, batch: int, steps: int, precision: str, gradient: str) -> dict:
    from hybrid_nas.quantum.training import train

    circuit, task, cfg = _setup(n, batch, steps, precision, gradient)
    train(circuit, task, cfg, max_steps=1)  # warm-up: lazy imports, caches, the first buffers
    result = train(circuit, task, cfg)
    return {"samples_per_second": result.samples_per_second, "plan": cfg.package_simulator(circuit).describe()}


def profile(n: int, batch: int, precision: str, gradient: str) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from hybrid_nas.quantum.training import train

    steps = 10 if n <= 8 else 3
    circuit, task, cfg = _setup(n, batch, steps, precision, gradient)
    train(circuit, task, cfg, max_steps=2)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        result = train(circuit, task, cfg)
    events = prof.key_averages()
    ops = sum(e.count for e in events if e.key.startswith("aten::"))
    print(f"{cfg.package_simulator(circuit).describe()}; {result.samples_per_second:.1f} samples/s under the profiler")
    print(f"aten ops per step (every level, nested ones included): {ops / steps:.0f}")
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))


def _run(tree: Path, n: int, batch: int, precision: str, gradient: str, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--one", str(n), precision, gradient, "--batch", str(batch)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tree)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode:
        print(f"  {tree} at {n} qubits failed: {out.stderr.strip().splitlines()[-1]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="4,6,8,10,12,14,16")
    ap.add_argument("--precisions", default="double,single")
    ap.add_argument("--gradient", default="auto", help="auto | backprop | buffered | adjoint")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--against", default=None, help="another checkout of the package: its figures and the ratio")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--profile", type=int, default=None, metavar="QUBITS", help="profile one size instead")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n, precision, gradient = int(args.one[0]), args.one[1], args.one[2]
        print(json.dumps(measure(n, args.batch, _steps(n), precision, gradient)))
        return
    if args.profile is not None:
        for precision in args.precisions.split(","):
            profile(args.profile, args.batch, precision, args.gradient)
        return
    trees = [ROOT] + ([Path(args.against).resolve()] if args.against else [])
    print(f"{'qubits':>6} {'precision':>9} {'this tree/s':>12} {'other/s':>10} {'ratio':>6}  this tree's plan")
    for n in [int(q) for q in args.qubits.split(",")]:
        for precision in args.precisions.split(","):
            rows = [_run(tree, n, args.batch, precision, args.gradient, args.timeout) for tree in trees]
            ours, other = rows[0], rows[1] if len(rows) > 1 else None
            rate = [f"{r['samples_per_second']:.1f}" if r else "-" for r in (ours, other)]
            ratio = ours["samples_per_second"] / other["samples_per_second"] if ours and other else float("nan")
            print(f"{n:>6} {precision:>9} {rate[0]:>12} {rate[1]:>10} {ratio:>5.2f}x  {ours['plan'] if ours else ''}")


if __name__ == "__main__":
    main()
