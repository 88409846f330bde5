"""One-shot quality of the SuperCircuit: Kendall tau between the validation accuracy a circuit gets with
weights inherited from the trained SuperCircuit and with its own training from scratch, over sampled
circuits of the digits4 u3cu3 space (up to 2 layers), and the cost of the two ways of scoring.

    python benchmarks/quantum_supercircuit.py --circuits 12 --supercircuit-epochs 30
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import kendalltau

from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.supercircuit import inherited_accuracy, train_supercircuit
from hybrid_nas.quantum.training import TrainConfig, accuracy, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--circuits", type=int, default=12)
    ap.add_argument("--supercircuit-epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task, space = load_task("digits4"), CircuitSpace(n_qubits=4, max_layers=2, scope="u3cu3")
    start = time.perf_counter()
    bank = train_supercircuit(space, task, TrainConfig(epochs=args.supercircuit_epochs, lr=0.05, seed=args.seed)).weights
    super_seconds = time.perf_counter() - start

    rng, archs, keys = np.random.default_rng(args.seed + 1), [], set()
    while len(archs) < args.circuits:  # distinct circuits with something to train
        a = space.sample(rng)
        if space.key(a) not in keys and space.build(a).n_params > 0:
            keys.add(space.key(a))
            archs.append(a)
    inherited, scratch, t_inherit, t_scratch = [], [], 0.0, 0.0
    for a in archs:
        start = time.perf_counter()
        inherited.append(inherited_accuracy(space, bank, a, task.x_val, task.y_val, task.n_classes))
        t_inherit += time.perf_counter() - start
        start = time.perf_counter()
        circuit = space.build(a)
        weights = train(circuit, task, TrainConfig(seed=args.seed)).weights
        scratch.append(accuracy(circuit, weights, task.x_val, task.y_val, task.n_classes))
        t_scratch += time.perf_counter() - start
    tau, p = kendalltau(inherited, scratch)
    n = len(archs)
    print(f"SuperCircuit: {args.supercircuit_epochs} epochs in {super_seconds:.1f} s; {n} sampled circuits")
    print("inherited:", " ".join(f"{x:.3f}" for x in inherited))
    print("scratch:  ", " ".join(f"{x:.3f}" for x in scratch))
    print(f"Kendall tau (inherited vs trained from scratch): {tau:.2f} (p = {p:.3f})")
    print(f"scoring one circuit: inherited {1000 * t_inherit / n:.1f} ms, from scratch {1000 * t_scratch / n:.0f} ms "
          f"({t_scratch / t_inherit:.0f}x); with the SuperCircuit's training shared by these {n}: "
          f"{t_scratch / (t_inherit + super_seconds):.1f}x")


if __name__ == "__main__":
    main()
