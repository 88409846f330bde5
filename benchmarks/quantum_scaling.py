"""Training speed against qubit count: the package's simulator vs PennyLane, 4 to 16 qubits (20 for ours).

The same circuit at every size (RX angle encoding, then 2 layers of U3 on every qubit + a CRX ring),
the same generated data, batches (64) and initial weights, one thread, trained by
(a) a plain PennyLane default.qubit QNode (torch backprop, batch broadcast: ``training.train_pennylane``),
(b) ``hybrid_nas.quantum.training.train`` (its plan chosen per circuit), also in single precision, and
(c) PennyLane lightning.qubit with adjoint gradients (it loops over the batch), up to ``--lightning-max``.
Each (implementation, size) runs in its own process, so its peak memory (RSS above the process after
set-up) is its own. Losses of (a) and (b) are compared step by step.

    python benchmarks/quantum_scaling.py                  # the table and figures/quantum_scaling.png
    python benchmarks/quantum_scaling.py --qubits 4,10 --ours-only 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).parent
IMPLEMENTATIONS = ("pennylane", "ours", "ours-single", "lightning")


def _steps(n: int) -> int:
    """Batches per measurement: enough for a stable rate, few where PennyLane takes seconds a batch."""
    return 20 if n <= 10 else 6 if n <= 12 else 2


def _task(n: int, samples: int):
    import numpy as np
    from sklearn.datasets import make_classification

    from hybrid_nas.quantum.data import Task

    classes = min(n, 4)
    x, y = make_classification(samples, n, n_informative=min(n, 4), n_redundant=0, n_classes=classes, random_state=0)
    x = (x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi
    return Task("generated", x, y, x[:1], y[:1], x[:1], y[:1], classes, n, "rx")


def _rss() -> int:
    """Resident memory of this process now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """The peak resident memory above the level at entry, sampled every 2 ms while the block runs."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def measure(implementation: str, n: int, batch: int, steps: int) -> dict:
    """One measurement in this process: samples/s, losses and peak memory above the set-up."""
    import torch

    from hybrid_nas.quantum.circuit import to_pennylane
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig, _fit, train, train_pennylane

    torch.set_num_threads(1)
    space = CircuitSpace(n_qubits=n, max_layers=2, scope="full", encoders=("rx",))
    circuit = space.build(space.uniform(2, "u3", "crx_ring"))
    task = _task(n, batch * steps)
    cfg = TrainConfig(epochs=1, batch=batch)

    def run(circuit, task):
        if implementation.startswith("ours"):
            ours = replace(cfg, precision="single" if implementation == "ours-single" else "double")
            return train(circuit, task, ours), ours.package_simulator(circuit).describe()
        if implementation == "pennylane":
            return train_pennylane(circuit, task, cfg), "default.qubit, backprop, broadcast"
        qnode = to_pennylane(circuit, device="lightning.qubit", interface="torch", diff_method="adjoint")
        x = torch.as_tensor(task.x_train, dtype=torch.float64)
        return (
            _fit(circuit.n_weights, circuit.n_qubits, task, cfg, lambda w, i: torch.stack(qnode(w, x[i]), -1)),
            "lightning.qubit, adjoint",
        )

    small = CircuitSpace(n_qubits=2, max_layers=2, scope="full", encoders=("rx",))
    run(small.build(small.uniform(2, "u3", "crx_ring")), _task(2, batch))  # warm-up: lazy imports and caches
    with PeakMemory() as memory:
        result, plan = run(circuit, task)
    return {
        "samples_per_second": result.samples_per_second,
        "losses": result.losses,
        "peak_mib": memory.mib,
        "plan": plan,
    }


def _run(implementation: str, n: int, batch: int, steps: int, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--one", implementation, str(n), "--batch", str(batch), "--steps", str(steps)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode:
        print(f"  {implementation} at {n} qubits failed: {out.stderr.strip().splitlines()[-1]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="4,6,8,10,12,14,16", help="sizes for every implementation")
    ap.add_argument("--ours-only", default="18,20", help="further sizes for ours alone")
    ap.add_argument("--lightning-max", type=int, default=12, help="largest size for lightning.qubit (slow)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=None, help="batches per measurement (default: by size)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per measurement before it is dropped")
    ap.add_argument("--figure", default=str(HERE / "figures" / "quantum_scaling.png"))
    ap.add_argument(
        "--results",
        default=str(HERE / "results" / "quantum_scaling.json"),
        help="the measured rows, written after the run (and read by --plot-only)",
    )
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from --results, measure nothing")
    ap.add_argument("--one", nargs=2, metavar=("IMPLEMENTATION", "QUBITS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n = int(args.one[1])
        print(json.dumps(measure(args.one[0], n, args.batch, args.steps or _steps(n))))
        return

    if args.plot_only:
        _plot({int(n): row for n, row in json.loads(Path(args.results).read_text()).items()}, Path(args.figure))
        return
    shared = [int(q) for q in args.qubits.split(",") if q]
    alone = [int(q) for q in args.ours_only.split(",") if q]
    rows: dict[int, dict] = {}
    print(
        f"{'qubits':>6} {'PennyLane/s':>12} {'ours/s':>10} {'ratio':>7} {'single/s':>9} {'lightning/s':>12} "
        f"{'PL MiB':>8} {'ours MiB':>9} {'loss gap':>9}  ours' plan"
    )
    for n in sorted({*shared, *alone}):
        steps = args.steps or _steps(n)
        row = {
            impl: _run(impl, n, args.batch, steps, args.timeout)
            for impl in IMPLEMENTATIONS
            if impl.startswith("ours") or (n in shared and (impl == "pennylane" or n <= args.lightning_max))
        }
        rows[n] = row
        pl, ours, lq, single = row.get("pennylane"), row.get("ours"), row.get("lightning"), row.get("ours-single")
        gap = (
            max((abs(a - b) for a, b in zip(pl["losses"], ours["losses"])), default=float("nan"))
            if pl and ours
            else None
        )

        def rate(r):
            return f"{r['samples_per_second']:.1f}" if r else "-"

        print(
            f"{n:>6} {rate(pl):>12} {rate(ours):>10} "
            f"{(ours['samples_per_second'] / pl['samples_per_second']) if pl and ours else float('nan'):>6.1f}x "
            f"{rate(single):>9} {rate(lq):>12} {pl['peak_mib'] if pl else float('nan'):>8.0f} "
            f"{ours['peak_mib'] if ours else float('nan'):>9.0f} {gap if gap is not None else float('nan'):>9.1e}  "
            f"{ours['plan'] if ours else ''}",
            flush=True,
        )
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(
        json.dumps(
            {n: {k: v and {**v, "losses": v["losses"][:4]} for k, v in r.items()} for n, r in rows.items()}, indent=1
        )
    )
    _plot(rows, Path(args.figure))


def _plot(rows: dict[int, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    labels = {
        "ours": "hybrid-nas (plan per circuit)",
        "ours-single": "hybrid-nas, complex64",
        "pennylane": "PennyLane default.qubit (backprop, broadcast)",
        "lightning": "PennyLane lightning.qubit (adjoint)",
    }
    for impl in ("ours", "ours-single", "pennylane", "lightning"):
        points = [(n, r[impl]["samples_per_second"]) for n, r in sorted(rows.items()) if r.get(impl)]
        if points:
            ax.plot(*zip(*points), marker="o", label=labels[impl])
    ax.set_yscale("log")
    ax.set_xlabel("qubits")
    ax.set_ylabel("training samples / s (one thread, batch 64)")
    ax.set_title("U3 + CRX ring, 2 layers, RX encoding")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
