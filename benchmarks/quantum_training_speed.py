"""Training speed: the same 4-qubit, 32-parameter digits4 candidate (2 x (U3 on every qubit + CRX ring)),
5 epochs x 512 samples, batch 64, one thread, through (a) a plain PennyLane default.qubit QNode with torch
backprop and the batch broadcast and (b) the package's simulator (hybrid_nas.quantum.training.train).
Both run the same batches from the same initial weights; their losses are printed side by side as a check
that they compute the same thing. Then noisy evaluation of the validation set (FakeManilaV2 noise model,
density matrix, Aer) as one batched job vs one job per sample.

    python benchmarks/quantum_training_speed.py --repeats 6
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.hardware import fake_backend
from hybrid_nas.quantum.noise import noisy_expvals
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.training import TrainConfig, train, train_pennylane


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = load_task("digits4")
    space = CircuitSpace(n_qubits=4, max_layers=2, scope="full")
    circuit = space.build(space.uniform(2, "u3", "crx_ring"))
    assert circuit.n_weights == 32
    cfg = TrainConfig(epochs=5, batch=64, n_train=512)
    runs = {"pennylane": [], "fused": []}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        a, b = train_pennylane(circuit, task, cfg), train(circuit, task, cfg)
        runs["pennylane"].append(a.samples_per_second)
        runs["fused"].append(b.samples_per_second)
    loss_gap = max(abs(x - y) for x, y in zip(a.losses, b.losses))
    pl, fused = statistics.median(runs["pennylane"]), statistics.median(runs["fused"])
    print(f"(a) PennyLane default.qubit, torch backprop, broadcast: {pl:8.0f} samples/s (median of {args.repeats})")
    print(f"(b) hybrid-nas simulator:                              {fused:8.0f} samples/s (median of {args.repeats})")
    print(f"ratio (b)/(a): {fused / pl:.1f}x; largest per-step loss difference: {loss_gap:.1e}")

    backend, x = fake_backend("FakeManilaV2"), task.x_val
    noisy_expvals(circuit, b.weights, x[:4], backend)  # warm-up: noise model and transpiler caches
    timings = {}
    for batched in (True, False):
        start = time.perf_counter()
        evs = noisy_expvals(circuit, b.weights, x, backend, batched=batched)
        timings[batched] = (time.perf_counter() - start, evs)
    gap = abs(timings[True][1] - timings[False][1]).max()
    print(
        f"noisy validation ({len(x)} samples, FakeManilaV2, density matrix): one batched job "
        f"{timings[True][0]:.2f} s, one job per sample {timings[False][0]:.2f} s "
        f"({timings[False][0] / timings[True][0]:.0f}x); largest difference {gap:.1e}"
    )


if __name__ == "__main__":
    main()
