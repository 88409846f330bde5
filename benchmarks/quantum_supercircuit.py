"""One-shot quality of the SuperCircuit: Kendall tau between the validation accuracy a circuit gets with
weights inherited from the trained SuperCircuit (as they are, and after a few fine-tuning steps) and with
its own training from scratch, over sampled circuits of a digits4 space, and the cost of each way of
scoring.

    python benchmarks/quantum_supercircuit.py --circuits 20 --supercircuit-epochs 100 --finetune-steps 0,10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import kendalltau

from hybrid_nas.quantum.circuit import encoder_choices
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.space import CircuitSpace
from hybrid_nas.quantum.supercircuit import inherit, train_supercircuit
from hybrid_nas.quantum.training import TrainConfig, accuracy, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--circuits", type=int, default=12)
    ap.add_argument("--supercircuit-epochs", type=int, default=30)
    ap.add_argument("--finetune-steps", default="0,10", help="comma-separated: Adam steps after inheriting")
    ap.add_argument("--scope", default="u3cu3")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument(
        "--encoder", help="comma-separated encoder options (default: the task's and its interleaved variant)"
    )
    ap.add_argument("--epochs", type=int, default=15, help="from-scratch training (hybrid-nas quantum's default)")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = load_task("digits4")
    space = CircuitSpace(
        n_qubits=4, max_layers=args.layers, scope=args.scope, encoders=encoder_choices(args.encoder, task.encoder)
    )
    steps = [int(k) for k in args.finetune_steps.split(",")]
    scratch_cfg = TrainConfig(epochs=args.epochs, lr=args.lr, seed=args.seed)
    start = time.perf_counter()
    bank = train_supercircuit(
        space, task, TrainConfig(epochs=args.supercircuit_epochs, lr=0.05, seed=args.seed)
    ).weights
    super_seconds = time.perf_counter() - start

    rng, archs, keys = np.random.default_rng(args.seed + 1), [], set()
    while len(archs) < args.circuits:  # distinct circuits with something to train
        a = space.sample(rng)
        if space.key(a) not in keys and space.build(a).n_params > 0:
            keys.add(space.key(a))
            archs.append(a)
    inherited, scratch = {k: [] for k in steps}, []
    t_inherit, t_scratch = dict.fromkeys(steps, 0.0), 0.0
    for a in archs:
        for k in steps:
            start = time.perf_counter()
            circuit, weights = inherit(space, bank, a, task, k, TrainConfig(lr=0.05, seed=args.seed))
            inherited[k].append(accuracy(circuit, weights, task.x_val, task.y_val, task.n_classes))
            t_inherit[k] += time.perf_counter() - start
        start = time.perf_counter()
        circuit = space.build(a)
        weights = train(circuit, task, scratch_cfg).weights
        scratch.append(accuracy(circuit, weights, task.x_val, task.y_val, task.n_classes))
        t_scratch += time.perf_counter() - start
    n = len(archs)
    print(
        f"SuperCircuit ({args.scope}, <= {args.layers} layers): {args.supercircuit_epochs} epochs in "
        f"{super_seconds:.1f} s; "
        f"{n} sampled circuits"
    )
    print("scratch:              ", " ".join(f"{x:.3f}" for x in scratch))
    print(
        "| scoring | Kendall tau vs scratch (p) | ms per circuit | cheaper than scratch | incl. SuperCircuit training |"
    )
    print("|---|---|---|---|---|")
    for k in steps:
        print(f"inherited, {k:2d} steps:", " ".join(f"{x:.3f}" for x in inherited[k]))
    for k in steps:
        tau, p = kendalltau(inherited[k], scratch)
        print(
            f"| inherited{f' + {k} fine-tuning steps' if k else ''} | {tau:.2f} ({p:.3f}) | "
            f"{1000 * t_inherit[k] / n:.1f} | "
            f"{t_scratch / t_inherit[k]:.0f}x | {t_scratch / (t_inherit[k] + super_seconds):.1f}x |"
        )
    print(f"| trained from scratch ({args.epochs} epochs) | 1 | {1000 * t_scratch / n:.0f} | 1x | |")


if __name__ == "__main__":
    main()
