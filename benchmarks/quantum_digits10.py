"""All ten digits on 10 qubits: `hybrid-nas quantum --task digits10 --noise none` on its defaults, timed,
and its best circuit's test accuracy beside three references on the same split:

- the hand-designed U3 + CU3 ring (QuantumNAS's human baseline) with the layer count whose parameter
  count is nearest the best circuit's, trained the same way (same epochs, lr, batch, seed), with the
  ryzxy encoder and with the searched circuit's;
- a logistic regression on the same 36 pooled pixels (an honest classical reference: the QML benchmark
  literature, "Better than classical?" (Bowles et al., 2024), finds classical models often win);
- QuantumNAS's published MNIST-10 figure on real IBM machines (32 %; "QuantumNAS", Wang et al., HPCA 2022).

    python benchmarks/quantum_digits10.py --out runs/digits10
    python benchmarks/quantum_digits10.py --out runs/digits10-noisy --noise FakeGuadalupeV2 --shots 1024 --budget 10
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

QUANTUMNAS_MNIST10_REAL = 0.32


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/digits10")
    ap.add_argument("--noise", default="none")
    ap.add_argument("--shots", type=int)
    ap.add_argument("--budget", type=int, help="trials (default: the command's)")
    ap.add_argument("--reuse", action="store_true", help="read an existing run in --out instead of running it")
    args = ap.parse_args()
    out = Path(args.out)
    if not args.reuse:
        cmd = ["hybrid-nas", "quantum", "--task", "digits10", "--noise", args.noise, "--out", str(out), "--no-progress"]
        cmd += ["--shots", str(args.shots)] if args.shots else []
        cmd += ["--budget", str(args.budget)] if args.budget else []
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"`{' '.join(cmd)}`: {time.perf_counter() - start:.0f} s wall")

    import numpy as np
    import yaml
    from sklearn.linear_model import LogisticRegression

    from hybrid_nas.quantum.data import load_task
    from hybrid_nas.quantum.space import space_for_task
    from hybrid_nas.quantum.training import TrainConfig, accuracy, train

    cfg = yaml.safe_load((out / "config.yaml").read_text())
    best = json.loads((out / "best.json").read_text())
    test = json.loads((out / "best_test.json").read_text())
    task = load_task("digits10")
    params = best["best"]["metrics"]["params"]
    training = TrainConfig(epochs=cfg["epochs"], batch=cfg["batch"], lr=cfg["lr"], seed=cfg["seed"])

    per_layer = 60  # 10 U3 + 10 CU3, 3 parameters each
    layers = max(1, round(params / per_layer))
    baselines = []
    for encoder in dict.fromkeys(("ryzxy", best["best"]["architecture"]["encoder"])):  # and the searched one's
        space = space_for_task(task, layers=layers, scope="u3cu3", encoder=encoder)
        baseline = space.build(space.uniform(layers, "u3", "cu3_ring"))
        weights = train(baseline, task, training).weights
        baselines.append(
            (
                f"hand baseline {layers} x (U3 + CU3 ring), {encoder}",
                baseline.n_params,
                accuracy(baseline, weights, task.x_test, task.y_test, task.n_classes),
                None,
            )
        )

    logistic = LogisticRegression(max_iter=5000).fit(task.x_train, task.y_train)
    logistic_acc = float(np.mean(logistic.predict(task.x_test) == task.y_test))

    rows = [
        (f"searched: {best['best']['description']}", params, test["test_accuracy"], test.get("noisy_test_accuracy")),
        *baselines,
        (
            "logistic regression on the 36 pooled pixels",
            task.n_features * task.n_classes + task.n_classes,
            logistic_acc,
            None,
        ),
        ("QuantumNAS MNIST-10, real IBM machines (published)", None, QUANTUMNAS_MNIST10_REAL, None),
    ]
    print("| model | parameters | test accuracy | noisy test accuracy |\n|---|---|---|---|")
    for name, p, acc, noisy in rows:
        print(f"| {name} | {'-' if p is None else int(p)} | {acc:.3f} | {'-' if noisy is None else f'{noisy:.3f}'} |")


if __name__ == "__main__":
    sys.exit(main())
