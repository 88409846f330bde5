"""The ``hybrid_nas.qubit`` PennyLane device against ``default.qubit`` and ``lightning.qubit``: one QNode
(AngleEmbedding + StronglyEntanglingLayers, 8 qubits) trained by torch Adam on the same batches of
breast-cancer8 (8 features, one RX per qubit) from the same initial weights, one thread, on

(a) ``default.qubit``, torch backprop, the batch broadcast (the reference the ratios are against);
(b) ``hybrid_nas.qubit``, torch backprop, the batch broadcast (one batched simulator run per step);
(c) ``hybrid_nas.qubit``, adjoint with ``device_vjp=True`` (one reverse sweep per step);
(d) ``lightning.qubit``, adjoint (it runs a broadcast tape one sample at a time);
(e) the package's own path, ``hybrid_nas.quantum.training.train``, on the same circuit as a ``Circuit``
    (no PennyLane: what the device's translation costs on top).

All paths run the same training loop (``hybrid_nas.quantum.training``'s: cross-entropy of the readout
logits, Adam); the first batch's loss and gradient are compared across paths before anything is timed,
and every timed step's loss against (a).

    python benchmarks/pennylane_device.py --layers 3 --steps 20 --repeats 3
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # lightning's threads: read when it is first loaded

import argparse
import statistics
from dataclasses import replace

import numpy as np
import pennylane as qml
import torch

from hybrid_nas.quantum.circuit import Circuit, Op
from hybrid_nas.quantum.data import load_task, readout_matrix
from hybrid_nas.quantum.training import TrainConfig, _fit, train

N_QUBITS = 8


def qnode(device: str, layers: int, **kwargs):
    """``f(flat_weights, x) -> (batch, n)`` <Z_q>, the weights in StronglyEntanglingLayers' order."""
    n = N_QUBITS
    diff_method = kwargs.pop("diff_method", "backprop")
    node = qml.QNode(
        lambda w, x: (
            qml.AngleEmbedding(x, wires=range(n)),
            qml.StronglyEntanglingLayers(w.reshape(layers, n, 3), wires=range(n)),
            [qml.expval(qml.PauliZ(q)) for q in range(n)],
        )[-1],
        qml.device(device, wires=n),
        interface="torch",
        diff_method=diff_method,
        **kwargs,
    )
    # lightning's results reach torch as float32 (computed in double): cast, so the loss is float64 on every path
    return lambda w, x: torch.stack(node(w, x), -1).double()


def circuit(layers: int) -> Circuit:
    """The same circuit in the package's terms: RX(x_q) on every qubit, then per layer Rot = RZ RY RZ on
    every qubit and a CNOT ring of range l mod (n - 1) + 1 (StronglyEntanglingLayers' default)."""
    n, ops = N_QUBITS, [Op("rx", (q,), (("x", q),)) for q in range(N_QUBITS)]
    for layer in range(layers):
        for q in range(n):
            k = 3 * (layer * n + q)
            ops += [Op("rz", (q,), (("w", k),)), Op("ry", (q,), (("w", k + 1),)), Op("rz", (q,), (("w", k + 2),))]
        r = layer % (n - 1) + 1
        ops += [Op("cnot", (q, (q + r) % n)) for q in range(n)]
    return Circuit(n, tuple(ops), n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per path (lightning: a quarter)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = load_task("breast-cancer8")
    assert task.n_qubits == N_QUBITS and task.encoder == "rx"
    cfg = TrainConfig(epochs=10, batch=64)
    n_weights = 3 * N_QUBITS * args.layers
    x = torch.as_tensor(task.x_train, dtype=torch.float64)
    paths = {
        "(a) default.qubit, backprop": qnode("default.qubit", args.layers),
        "(b) hybrid_nas.qubit, backprop": qnode("hybrid_nas.qubit", args.layers),
        "(c) hybrid_nas.qubit, adjoint (device vjp)": qnode(
            "hybrid_nas.qubit", args.layers, diff_method="adjoint", device_vjp=True
        ),
        "(d) lightning.qubit, adjoint": qnode("lightning.qubit", args.layers, diff_method="adjoint"),
    }
    package = "(e) hybrid_nas.quantum.training.train"

    # the check: the first batch's loss and gradient on every path, from the same weights
    g = torch.Generator().manual_seed(0)
    w0 = (torch.rand(n_weights, generator=g, dtype=torch.float64) * 2 - 1) * np.pi
    index = torch.arange(cfg.batch)
    R = torch.tensor(readout_matrix(N_QUBITS, task.n_classes)) * cfg.logit_scale
    y = torch.as_tensor(task.y_train[: cfg.batch])
    sim = cfg.simulator(circuit(args.layers))
    first = {**paths, package: lambda w, xb: sim.expvals(w, sim.encode(xb))}
    reference = None
    for name, f in first.items():
        w = w0.clone().requires_grad_()
        loss = torch.nn.functional.cross_entropy(f(w, x[index]) @ R, y)
        loss.backward()
        assert w.grad is not None
        got = (loss.item(), w.grad.numpy().copy())
        reference = reference or got
        print(
            f"first batch {name}: loss {got[0]:.12f}, |loss - (a)| {abs(got[0] - reference[0]):.1e}, "
            f"max |grad - (a)| {np.abs(got[1] - reference[1]).max():.1e}"
        )

    runs: dict[str, list[float]] = {name: [] for name in [*paths, package]}
    losses: dict[str, list[float]] = {}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit every path alike
        for name, f in paths.items():
            steps = args.steps // 4 if name.startswith("(d)") else args.steps
            result = _fit(
                n_weights, N_QUBITS, task, cfg, lambda w, i, f=f: f(w, x[i]), init=w0.numpy(), max_steps=steps
            )
            runs[name].append(result.samples_per_second)
            losses[name] = result.losses
        result = train(circuit(args.layers), task, replace(cfg), init=w0.numpy(), max_steps=args.steps)
        runs[package].append(result.samples_per_second)
        losses[package] = result.losses
    base = statistics.median(runs["(a) default.qubit, backprop"])
    ref = losses["(a) default.qubit, backprop"]
    print(
        f"\n{N_QUBITS} qubits, {args.layers} layers ({n_weights} weights), batch {cfg.batch}, one thread; "
        f"samples/s, median of {args.repeats}:"
    )
    for name, speeds in runs.items():
        gap = max(abs(a - b) for a, b in zip(losses[name], ref))
        print(
            f"{name:45s} {statistics.median(speeds):8.0f} samples/s  {statistics.median(speeds) / base:5.2f}x (a)"
            f"  (largest per-step loss difference to (a): {gap:.1e})"
        )


if __name__ == "__main__":
    main()
