"""Training speed against qubit count: the package's simulator beside the fastest peers, 4 to 16 qubits.

The same circuit at every size (RX angle encoding, then 2 layers of U3 on every qubit + a CRX ring), the
same generated data (360 training samples), batches (64; an epoch is 5 of 64 and one of 40), initial
weights and Adam (lr 0.05) on the cross-entropy of the same readout, trained by

- ``ours``, ``ours-single``: ``hybrid_nas.quantum.training.train`` (its plan chosen per circuit),
  complex128 / complex64;
- ``tcng``, ``tcng-single``: TensorCircuit-NG on JAX (one ``jax.jit`` step of ``jax.value_and_grad`` over
  ``jax.vmap``), complex128 / complex64 (``peers/tcng_train.py``);
- ``torchquantum``: torchquantum's ``QuantumDevice`` and functional gates, complex64, its only precision
  (``peers/torchquantum_train.py``);
- ``pennylane``: a PennyLane default.qubit QNode (torch backprop, batch broadcast);
- ``lightning``: PennyLane lightning.qubit with adjoint gradients (it loops over the batch), to ``--lightning-max``.

Each (implementation, size) runs in its own process, pinned to one core, with one thread asked of every
library (``torch.set_num_threads(1)``; OMP/MKL/OpenBLAS at 1 thread;
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``); the CPU seconds per wall
second are recorded to show it (unpinned, JAX used 1.2-1.6 cores, and its steady rate at 4 qubits was
~20 % lower from the threads' hand-offs; its compiling ~40 % faster). It first trains a 2-qubit circuit for 3
steps (imports, JAX's set-up, torch's first calls), then the measured circuit for a number of epochs
(30 up to 8 qubits, 15 to 12, 3 at 14, 2 beyond; ``--epochs``). Two figures:

- **steady samples/s**: the median over the epochs after the first (compiled, warm);
- **candidate seconds**: the wall time to train one candidate as a search does, 15 epochs of 360
  samples from a new circuit, plan building or compiling included (the first 15 epochs; where fewer
  were run, the first epoch plus 14 of the later epochs' mean).

Each point is measured in up to ``--rounds`` processes (3; one where a round takes over a minute) and
the best kept: the highest steady rate, the shortest candidate time (on a shared machine, other work
only slows a round down). Peak memory is the resident set above the process before the measured
circuit, sampled every 2 ms. Each implementation's first 5 losses are checked against ours (to 1e-10
in complex128; 1e-5 in complex64 and for lightning, whose torch interface returns float32 expectation
values). Results are appended one JSON line per (implementation, size) to ``--results``; a rerun
measures only what is missing there or was contended (CPU seconds per wall second below
``--contended``, 0.95: other work shared the core); ``--remeasure`` replaces the selected points; the
tables and figure always come from all saved lines.

    python benchmarks/quantum_scaling.py --tcng-python T/bin/python --torchquantum-python Q/bin/python
    python benchmarks/quantum_scaling.py --implementations ours,ours-single --remeasure   # after a change
    python benchmarks/quantum_scaling.py --report            # tables and figure from the saved results

The peers live in their own virtual environments (not the project's: torchquantum needs Qiskit < 1):

    python -m venv T && T/bin/pip install tensorcircuit-ng jax jaxlib        # CPU jax
    python -m venv Q && Q/bin/pip install torch==2.14.1 torchvision==0.29.1 "qiskit<1.0" \\
        "qiskit-ibm-runtime==0.20.*" "qiskit-aer==0.13.*" "setuptools<80" dill==0.3.4 matplotlib \\
        opt-einsum pathos pylatexenc scipy torchdiffeq torchpack tqdm \\
      && Q/bin/pip install --no-deps torchquantum==0.1.8

(torchquantum imports torchvision when imported, so its torch must be the build torchvision's wheel was
made for; the rest of its declared dependencies, TensorFlow and PySCF among them, are not needed here.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "peers"))
from measure import Clock, PeakMemory, report  # noqa: E402

SAMPLES, BATCH, CANDIDATE_EPOCHS, CHECKED_STEPS = 360, 64, 15, 5
THREADS = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


@dataclass(frozen=True)
class Implementation:
    label: str
    precision: str  # double | single
    peer: str | None = None  # the peer environment it runs in (None: this one)
    loss_bar: float | None = None  # largest gap of its first losses to ours' (default: by precision)

    @property
    def bar(self) -> float:
        return self.loss_bar or {"double": 1e-10, "single": 1e-5}[self.precision]


IMPLEMENTATIONS = {
    "ours": Implementation("hybrid-nas", "double"),
    "ours-single": Implementation("hybrid-nas c64", "single"),
    "tcng": Implementation("TC-NG", "double", "tcng"),
    "tcng-single": Implementation("TC-NG c64", "single", "tcng"),
    "torchquantum": Implementation("torchquantum c64", "single", "torchquantum"),
    "pennylane": Implementation("PennyLane default.qubit", "double"),
    # complex128 states, but its torch interface returns float32 expectation values (so a float32 loss)
    "lightning": Implementation("lightning.qubit adjoint", "double", loss_bar=1e-5),
}
TRAINERS = {"tcng": HERE / "peers" / "tcng_train.py", "torchquantum": HERE / "peers" / "torchquantum_train.py"}


def _epochs(n: int) -> int:
    """Epochs measured: many where an epoch takes milliseconds (a stable median), few where it takes minutes."""
    return 30 if n <= 8 else 15 if n <= 12 else 3 if n <= 14 else 2


def _problem(n: int, epochs: int):
    """The circuit, data, settings and initial weights of the ``n``-qubit measurement."""
    import numpy as np
    import torch
    from sklearn.datasets import make_classification

    from hybrid_nas.quantum.data import Task
    from hybrid_nas.quantum.space import CircuitSpace
    from hybrid_nas.quantum.training import TrainConfig

    space = CircuitSpace(n_qubits=n, max_layers=2, scope="full", encoders=("rx",))
    circuit = space.build(space.uniform(2, "u3", "crx_ring"))
    classes = min(n, 4)
    x, y = make_classification(SAMPLES, n, n_informative=min(n, 4), n_redundant=0, n_classes=classes, random_state=0)
    x = (x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi
    task = Task("generated", x, y, x[:1], y[:1], x[:1], y[:1], classes, n, "rx")
    cfg = TrainConfig(epochs=epochs, batch=BATCH)
    g = torch.Generator().manual_seed(cfg.seed)
    init = ((torch.rand(circuit.n_weights, generator=g, dtype=torch.float64) * 2 - 1) * cfg.init_scale).numpy()
    return circuit, task, cfg, init


def _job(n: int, epochs: int, max_steps: int | None = None) -> dict:
    """The ``n``-qubit measurement as a peer's trainer reads it (``peers/measure.py``)."""
    from hybrid_nas.quantum.data import readout_matrix
    from hybrid_nas.quantum.training import batches

    circuit, task, cfg, init = _problem(n, epochs)
    return {
        "n_qubits": n,
        "ops": [[op.gate, list(op.wires), [list(p) for p in op.params]] for op in circuit.ops],
        "x": task.x_train.tolist(),
        "y": task.y_train.tolist(),
        "readout": (readout_matrix(n, task.n_classes) * cfg.logit_scale).tolist(),
        "lr": cfg.lr,
        "init": init.tolist(),
        "batches": [b.tolist() for b in batches(SAMPLES, cfg)][:max_steps],
        "steps_per_epoch": -(-SAMPLES // BATCH),
    }


def measure_here(implementation: str, n: int, epochs: int) -> None:
    """One measurement of ours, PennyLane or lightning in this process; prints its JSON line."""
    from dataclasses import replace

    import torch

    from hybrid_nas.quantum.circuit import to_pennylane
    from hybrid_nas.quantum.training import TrainConfig, _fit, train

    torch.set_num_threads(1)
    clock: list[Clock] = []

    class Timed(TrainConfig):
        """The optimizer stamps the clock at the end of each step: ``train`` itself runs unchanged."""

        def make_optimizer(self, params):
            opt = super().make_optimizer(params)
            if clock:
                opt.register_step_post_hook(clock[0].step)
            return opt

    def run(problem, max_steps: int | None = None):
        circuit, task, cfg, init = problem
        n = circuit.n_qubits
        cfg = Timed(**{**cfg.__dict__, "precision": IMPLEMENTATIONS[implementation].precision})
        if implementation.startswith("ours"):
            return train(circuit, task, cfg, init, max_steps), cfg.package_simulator(circuit).describe()
        if implementation == "pennylane":
            cfg = replace(cfg, simulator="default.qubit")
            return train(circuit, task, cfg, init, max_steps), "default.qubit, backprop, broadcast"
        qnode = to_pennylane(circuit, device="lightning.qubit", interface="torch", diff_method="adjoint")
        x = torch.as_tensor(task.x_train, dtype=torch.float64)
        return (
            _fit(circuit.n_weights, n, task, cfg, lambda w, i: torch.stack(qnode(w, x[i]), -1), init, max_steps),
            "lightning.qubit, adjoint",
        )

    run(_problem(2, 1), max_steps=3)  # warm-up: lazy imports, torch's first calls
    problem = _problem(n, epochs)
    with PeakMemory() as memory:
        clock.append(Clock())
        result, plan = run(problem)
        timing = clock[0].stop(-(-SAMPLES // BATCH))
    report(result.losses, timing, memory, plan)


def _command(implementation: str, n: int, epochs: int, pythons: dict[str, str | None], jobs: Path) -> list[str]:
    impl = IMPLEMENTATIONS[implementation]
    if impl.peer is None:
        return [sys.executable, __file__, "--one", implementation, str(n), "--epochs", str(epochs)]
    job = jobs / f"{n}_{epochs}.json"
    if not job.exists():
        job.write_text(json.dumps({**_job(n, epochs), "warmup": _job(2, 1, max_steps=3)}))
    cmd = [str(pythons[impl.peer]), str(TRAINERS[impl.peer]), str(job)]
    return cmd + (["--precision", impl.precision] if impl.peer == "tcng" else [])


def _one_core() -> None:
    """Pin the trainer to one core: threads a library starts beside its own (XLA's compiler, JAX's
    dispatch) share that core instead of borrowing a second one."""
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


def _measure(cmd: list[str], timeout: float) -> dict | str:
    """The trainer's JSON line, or why there is none."""
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **THREADS}, preexec_fn=_one_core
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if out.returncode:
        lines = (out.stderr.strip() or out.stdout.strip() or "no output").splitlines()
        return f"failed: {lines[-1]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(implementation: str, n: int, rounds: list[dict]) -> dict:
    """The saved line of a measurement: the best round's figures (the highest steady rate, the shortest
    candidate time: other work on the machine only slows a round down), the others' beside them."""
    kept = ("first_step_seconds", "peak_mib", "first_epoch_cpu_per_wall", "cpu_per_wall", "plan", "epoch_seconds")
    each = [figures(raw) for raw in rounds]
    best = max(range(len(rounds)), key=lambda k: each[k]["steady_samples_per_second"])
    return {
        "implementation": implementation,
        "qubits": n,
        **each[best],
        "candidate_seconds": min(f["candidate_seconds"] for f in each),
        **{k: rounds[best][k] for k in kept},
        "losses": rounds[best]["losses"][:CHECKED_STEPS],
        "rounds": [{k: f[k] for k in ("steady_samples_per_second", "candidate_seconds")} for f in each],
        "measured": time.strftime("%Y-%m-%d"),
    }


def figures(raw: dict) -> dict:
    """Steady samples/s and candidate seconds from a trainer's per-epoch seconds."""
    epochs = raw["epoch_seconds"]
    later = epochs[1:]
    candidate = sum(epochs[:CANDIDATE_EPOCHS])
    if len(epochs) < CANDIDATE_EPOCHS:
        candidate = epochs[0] + (CANDIDATE_EPOCHS - 1) * statistics.mean(later)
    return {
        "steady_samples_per_second": statistics.median(SAMPLES / s for s in later),
        "candidate_seconds": candidate,
        "candidate_measured": len(epochs) >= CANDIDATE_EPOCHS,
    }


# ---- saved results --------------------------------------------------------------------------------


def load(path: Path) -> dict[tuple[str, int], dict]:
    """Saved results by (implementation, qubits); a later line replaces an earlier one."""
    rows: dict[tuple[str, int], dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["implementation"], row["qubits"]] = row
    return rows


def save(path: Path, rows: dict[tuple[str, int], dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows.values(), key=lambda r: (r["qubits"], list(IMPLEMENTATIONS).index(r["implementation"])))
    path.write_text("".join(json.dumps(r) + "\n" for r in ordered))


def loss_gap(rows: dict, implementation: str, n: int) -> float | None:
    """The largest gap of the first losses to ours' at that size (None where either is missing)."""
    ours, other = rows.get(("ours", n)), rows.get((implementation, n))
    if not ours or not other or implementation == "ours":
        return None
    return max(abs(a - b) for a, b in zip(ours["losses"], other["losses"]))


def check(rows: dict, implementation: str, n: int) -> str:
    """The loss check in words: the gap to ours' first losses, flagged where it passes the bar."""
    gap = loss_gap(rows, implementation, n)
    if gap is None:
        return ""
    bar = IMPLEMENTATIONS[implementation].bar
    return f"{implementation} {gap:.1e}" + ("" if gap <= bar else f" *** MISMATCH (bar {bar:.0e}) ***")


# ---- tables and figure ----------------------------------------------------------------------------


def _num(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{max(digits - len(str(int(v))), 0)}f}" if v >= 1 else f"{v:.{digits}f}"


def _ratio(ours: float | None, peer: float | None) -> str:
    return f"**{ours / peer:.2f}x**" if ours and peer else "-"


def tables(rows: dict) -> str:
    """Markdown: steady samples/s, candidate seconds (ratios: how many times faster ours is; below 1:
    slower), peak memory and the loss check."""
    impls = [i for i in IMPLEMENTATIONS if any(k[0] == i for k in rows)]
    sizes = sorted({n for _, n in rows})
    head = "| qubits | " + " | ".join(IMPLEMENTATIONS[i].label for i in impls)
    out = []

    def get(i, n, key):
        r = rows.get((i, n))
        return r[key] if r else None

    for title, key, faster in (
        ("Steady samples/s (after the first epoch; higher is better)", "steady_samples_per_second", lambda v: v),
        (
            "Seconds to train one candidate (15 epochs of 360 samples, compile/plan included)",
            "candidate_seconds",
            lambda v: 1 / v,
        ),
    ):
        out += [f"{title}:", "", head + " | ours / TC-NG | ours c64 / TC-NG c64 | ours / PennyLane |"]
        out.append("|---" * (len(impls) + 4) + "|")
        for n in sizes:
            cells = [_num(get(i, n, key)) for i in impls]
            if key == "candidate_seconds":
                cells = [
                    c + ("" if get(i, n, "candidate_measured") in (True, None) else " ~") for c, i in zip(cells, impls)
                ]

            speed = {i: faster(get(i, n, key)) if get(i, n, key) else None for i in IMPLEMENTATIONS}
            pairs = (("ours", "tcng"), ("ours-single", "tcng-single"), ("ours", "pennylane"))
            ratios = [_ratio(speed[a], speed[b]) for a, b in pairs]
            out.append(f"| {n} | " + " | ".join(cells + ratios) + " |")
        out.append("")
    out += [
        "Peak MiB above the set-up / seconds to the end of the first step (plan or compile + one step) / CPU "
        "seconds per wall second after the first epoch:",
        "",
        head + " |",
    ]
    out.append("|---" * (len(impls) + 1) + "|")
    for n in sizes:
        cells = [
            f"{r['peak_mib']:.0f} / {_num(r['first_step_seconds'])} / {r['cpu_per_wall']:.2f}" if r else "-"
            for r in (rows.get((i, n)) for i in impls)
        ]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    out += [
        "",
        f"Largest gap of the first {CHECKED_STEPS} losses to ours' (bar 1e-10 in c128, 1e-5 in c64 and for "
        "lightning's float32 expectation values):",
        "",
    ]
    for n in sizes:
        checks = [c for c in (check(rows, i, n) for i in impls) if c]
        out.append(f"- {n} qubits: " + (", ".join(checks) or "no pair measured"))
    return "\n".join(out)


def plot(rows: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for impl in IMPLEMENTATIONS:
        points = sorted((n, r) for (i, n), r in rows.items() if i == impl)
        if not points:
            continue
        style = {"marker": "o", "label": IMPLEMENTATIONS[impl].label, "ls": "-" if impl.startswith("ours") else "--"}
        axes[0].plot([n for n, _ in points], [r["steady_samples_per_second"] for _, r in points], **style)
        axes[1].plot([n for n, _ in points], [r["candidate_seconds"] for _, r in points], **style)
    for ax, label in zip(axes, ("training samples / s (one thread, batch 64)", "seconds to train one candidate")):
        ax.set_yscale("log")
        ax.set_xlabel("qubits")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("steady state (after compile / warm-up)")
    axes[1].set_title("one candidate: 15 epochs of 360, compile included")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("U3 + CRX ring, 2 layers, RX encoding")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"figure: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="4,6,8,10,12,14,16", help="sizes for every implementation")
    ap.add_argument("--ours-only", default="", help="further sizes for ours alone (20 qubits: ~2.5 min an epoch)")
    ap.add_argument("--implementations", default=",".join(IMPLEMENTATIONS), help="which to measure")
    ap.add_argument("--lightning-max", type=int, default=12, help="largest size for lightning.qubit (slow)")
    ap.add_argument("--tcng-python", help="the Python of TensorCircuit-NG's environment (tcng, tcng-single)")
    ap.add_argument("--torchquantum-python", help="the Python of torchquantum's environment")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per measurement (default: by size)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per point, the best kept (default 3)")
    ap.add_argument("--round-seconds", type=float, default=60, help="no further round after one longer than this")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per measurement before it is dropped")
    ap.add_argument("--results", default=str(HERE / "results" / "quantum_scaling.ndjson"))
    ap.add_argument("--figure", default=str(HERE / "figures" / "quantum_scaling.png"))
    ap.add_argument("--remeasure", action="store_true", help="measure the selected points even where saved")
    ap.add_argument(
        "--contended",
        type=float,
        default=0.95,
        help="measure a saved point again where its CPU seconds per wall second were below this (its core "
        "was shared with other work)",
    )
    ap.add_argument("--report", action="store_true", help="tables and figure from --results, measure nothing")
    ap.add_argument("--one", nargs=2, metavar=("IMPLEMENTATION", "QUBITS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n = int(args.one[1])
        measure_here(args.one[0], n, args.epochs or _epochs(n))
        return
    if args.epochs is not None and args.epochs < 2:
        ap.error(f"--epochs must be at least 2 (the first one compiles), got {args.epochs}")
    chosen = [i.strip() for i in args.implementations.split(",") if i.strip()]
    unknown = [i for i in chosen if i not in IMPLEMENTATIONS]
    if unknown:
        ap.error(f"unknown implementation {unknown[0]!r}: choose from {', '.join(IMPLEMENTATIONS)}")
    pythons = {"tcng": args.tcng_python, "torchquantum": args.torchquantum_python}
    path = Path(args.results)
    rows = load(path)
    if not args.report:
        for peer, python in pythons.items():
            users = [i for i in chosen if IMPLEMENTATIONS[i].peer == peer]
            if users and not (python and Path(python).exists()):
                why = "no --" + peer + "-python given" if not python else f"{python} not found"
                print(f"skipping {', '.join(users)}: {why} (the module docstring says how to make its environment)")
                chosen = [i for i in chosen if i not in users]
        shared = [int(q) for q in args.qubits.split(",") if q]
        alone = [int(q) for q in args.ours_only.split(",") if q]
        with tempfile.TemporaryDirectory() as tmp:
            for n in sorted({*shared, *alone}):
                for impl in chosen:
                    if n not in shared and not impl.startswith("ours"):
                        continue
                    if impl == "lightning" and n > args.lightning_max:
                        continue
                    saved = rows.get((impl, n))
                    contended = saved is not None and saved["cpu_per_wall"] < args.contended
                    if saved and not args.remeasure and not contended:
                        continue
                    start = time.perf_counter()
                    cmd = _command(impl, n, args.epochs or _epochs(n), pythons, Path(tmp))
                    rounds: list[dict] = []
                    while len(rounds) < args.rounds:  # more rounds only where one is short
                        began = time.perf_counter()
                        raw = _measure(cmd, args.timeout)
                        if isinstance(raw, str):
                            print(f"  {impl} at {n} qubits {raw}", flush=True)
                            break
                        rounds.append(raw)
                        if time.perf_counter() - began > args.round_seconds:
                            break
                    if not rounds:
                        continue
                    rows[impl, n] = r = _row(impl, n, rounds)
                    save(path, rows)  # point by point: a stopped run continues where it was
                    print(
                        f"  {impl} at {n} qubits: {r['steady_samples_per_second']:,.1f} samples/s, candidate "
                        f"{r['candidate_seconds']:.2f} s, {r['peak_mib']:.0f} MiB, CPU/wall "
                        f"{r['first_epoch_cpu_per_wall']:.2f} (first epoch), {r['cpu_per_wall']:.2f} (after); "
                        f"{check(rows, impl, n) or 'no loss check'}; best of {len(rounds)} "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )
    print(tables(rows))
    plot(rows, Path(args.figure))


if __name__ == "__main__":
    main()
