"""Which cheap score predicts a trained circuit's accuracy under device noise? Random device-layout circuits
(no SWAP) at 4 qubits (digits4) and 8 qubits (breast-cancer8), 1-4 layers, scopes ``full`` and ``u3cu3``,
each trained as the QNN evaluator trains it and scored by:

- tier 3, the target: validation accuracy in Aer under the fake backend's full noise model (``noisy_accuracy``);
- tier 1: ``est_fidelity``, the calibration's estimated success probability of the transpiled circuit;
- tier 2: ``clifford_noise_score`` of the trained, transpiled circuit (kinds ``round`` and ``random``) and
  Elivagar's CNR (``elivagar_cnr``, 2^n histograms);
- RepCap of the untrained circuit, and RepCap x CNR^alpha ("Elivagar: Efficient Quantum Circuit Search for
  Classification", 2024; its code's default alpha is 0.5, alpha 1 beside it);
- the transpiled two-qubit gate count, negated, and the noiseless validation accuracy (not training-free).

``--layout-candidates 100`` places circuits on any sampled connected subset, good or bad, rather than on
the 16 best-scored: the noise then varies far more between circuits.

Each circuit's record is appended to the results file as it finishes; a rerun skips the circuits done.

    python benchmarks/quantum_noise_ranking.py              # measure (resumes)
    python benchmarks/quantum_noise_ranking.py --report     # the rank correlations of the file
    python benchmarks/quantum_noise_ranking.py --count4 40 --count8 8 --layout-candidates 100 \
        --out benchmarks/results/quantum_noise_ranking_any_layout.ndjson
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "quantum_noise_ranking.ndjson"
TASKS = {4: "digits4", 8: "breast-cancer8"}
SCOPES = ("full", "u3cu3")
MAX_LAYERS = 4
# (column, label, training-free)
SCORES = (
    ("est_fidelity", "tier 1: est_fidelity (calibration)", True),
    ("clifford_round", "tier 2: Clifford score, round (trained weights)", False),
    ("clifford_random", "tier 2: Clifford score, random", True),
    ("cnr", "tier 2: Elivagar CNR (random Cliffords, 2^n histograms)", True),
    ("repcap", "RepCap (untrained)", True),
    ("repcap_cnr_0.5", "RepCap x CNR^0.5 (Elivagar's default)", True),
    ("repcap_cnr_1", "RepCap x CNR^1", True),
    ("neg_two_qubit", "- transpiled two-qubit gates", True),
    ("accuracy", "noiseless validation accuracy (trained)", False),
    ("accuracy_x_round", "noiseless accuracy x Clifford round (trained)", False),
)


def plan(count4: int, count8: int) -> list[dict]:
    """The circuits, fixed by their index: scope alternates, layers cycle 1..MAX_LAYERS."""
    out = []
    for n, count in ((4, count4), (8, count8)):
        for i in range(count):
            out.append(
                {
                    "id": f"q{n}-{i}",
                    "n_qubits": n,
                    "task": TASKS[n],
                    "scope": SCOPES[i % 2],
                    "layers": 1 + (i // 2) % MAX_LAYERS,
                    "seed": i,
                }
            )
    return out


def measure(spec: dict, args) -> dict:
    from hybrid_nas.quantum.clifford import clifford_noise_score, elivagar_cnr
    from hybrid_nas.quantum.data import search_task
    from hybrid_nas.quantum.evaluator import QNNEvaluator
    from hybrid_nas.quantum.hardware import fake_backend, transpiled_figures
    from hybrid_nas.quantum.layout import best_layouts
    from hybrid_nas.quantum.repcap import circuit_scores
    from hybrid_nas.quantum.space import space_for_task
    from hybrid_nas.quantum.training import TrainConfig, accuracy

    task, backend = search_task(spec["task"]), fake_backend(args.backend)
    device = best_layouts(args.backend, spec["n_qubits"], args.layout_candidates, seed=0)
    layers = spec["layers"]
    space = space_for_task(task, None, layers, spec["scope"], None, layers, device)
    # the quantum command's training defaults (configs/quantum.yaml)
    training = TrainConfig(epochs=args.epochs, batch=64, lr=0.1, optimizer="adam")
    evaluator = QNNEvaluator(space, spec["task"], training, noise=args.backend, shots=args.shots)
    arch = space.sample(np.random.default_rng(1000 + spec["seed"]))
    seconds = {}

    start = time.perf_counter()
    circuit, result = evaluator.trained(arch, spec["seed"])
    acc = accuracy(circuit, result.weights, task.x_val, task.y_val, task.n_classes, training)
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    run = evaluator.device_run(circuit, result.weights, spec["seed"])
    noisy = run.accuracy(task.x_val, task.y_val, task.n_classes)
    seconds["noisy"] = time.perf_counter() - start
    figures = transpiled_figures(run.tqc, backend, circuit.n_qubits)

    record = {**spec, "circuit": space.describe(arch), "accuracy": acc, "noisy_accuracy": noisy}
    record |= {"two_qubit_gates": circuit.figures()["two_qubit_gates"], **figures}
    for kind in ("round", "random"):
        start = time.perf_counter()
        score = clifford_noise_score(
            run.tqc, backend, kind=kind, replicas=args.replicas, shots=256, seed=0, method="stabilizer"
        )
        record[f"clifford_{kind}"] = score.score
        seconds[f"clifford_{kind}"] = time.perf_counter() - start
    start = time.perf_counter()
    record["cnr"] = elivagar_cnr(run.tqc, backend, replicas=args.cnr_replicas, shots=1024, seed=0)
    seconds["cnr"] = time.perf_counter() - start
    start = time.perf_counter()
    record["repcap"] = circuit_scores(circuit, task, per_class=16, draws=32, seed=0)["repcap"]
    seconds["repcap"] = time.perf_counter() - start
    return record | {"seconds": seconds}


def done_ids(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()}


def run_all(args) -> None:
    import warnings

    import torch

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = done_ids(args.out)
    todo = [s for s in plan(args.count4, args.count8) if s["id"] not in done]
    print(f"{len(done)} circuits done, {len(todo)} to go; {args.backend}, shots {args.shots or 'exact'}", flush=True)
    for spec in todo:
        start = time.perf_counter()
        record = measure(spec, args)
        record["settings"] = {
            "backend": args.backend,
            "shots": args.shots,
            "epochs": args.epochs,
            "replicas": args.replicas,
            "cnr_replicas": args.cnr_replicas,
            "layout_candidates": args.layout_candidates,
        }
        with args.out.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        print(
            f"{spec['id']:6s} {spec['scope']:5s} L{spec['layers']}  acc {record['accuracy']:.3f} "
            f"noisy {record['noisy_accuracy']:.3f}  fid {record['est_fidelity']:.3f} "
            f"round {record['clifford_round']:.3f} random {record['clifford_random']:.3f} cnr {record['cnr']:.3f} "
            f"repcap {record['repcap']:.3f}  2q {record['transpiled_two_qubit_gates']:.0f}  "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )


# ---- the report ---------------------------------------------------------------------------------------


def derived(rows: list[dict]) -> dict[str, np.ndarray]:
    col = {k: np.array([r[k] for r in rows], float) for k in rows[0] if isinstance(rows[0][k], (int, float))}
    col["neg_two_qubit"] = -col["transpiled_two_qubit_gates"]
    col["repcap_cnr_0.5"] = col["repcap"] * col["cnr"] ** 0.5
    col["repcap_cnr_1"] = col["repcap"] * col["cnr"]
    col["accuracy_x_round"] = col["accuracy"] * col["clifford_round"]
    col["loss"] = col["accuracy"] - col["noisy_accuracy"]
    return col


def report(path: Path) -> None:
    from scipy.stats import kendalltau, spearmanr

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        print(f"{path}: no records yet")
        return
    groups = {"all": rows} | {f"{n} qubits": [r for r in rows if r["n_qubits"] == n] for n in TASKS}
    cols = {name: derived(g) for name, g in groups.items() if len(g) >= 3}
    c = cols["all"]
    s = rows[0]["settings"]
    print(
        f"{len(rows)} circuits ({', '.join(f'{len(g)} at {k}' for k, g in groups.items() if k != 'all')}) on "
        f"{s['backend']} (layout among the {s['layout_candidates']} best-scored distinct of 100 sampled), "
        f"noisy accuracy of {s['shots'] or 'exact'} shots; noiseless - noisy accuracy: mean "
        f"{c['loss'].mean():.3f}, median {np.median(c['loss']):.3f}, max {c['loss'].max():.3f}; noisy accuracy "
        f"{c['noisy_accuracy'].min():.3f}-{c['noisy_accuracy'].max():.3f}; est_fidelity "
        f"{c['est_fidelity'].min():.3f}-{c['est_fidelity'].max():.3f}"
    )
    print()
    names = [k for k in cols if k != "all"]
    print(
        "| score | training-free | Kendall tau (p) | Spearman rho (p) | "
        + " | ".join(f"tau (p), {k}" for k in names)
        + " | tau vs the noise loss (neg.) |"
    )
    print("|---|---|---|---|" + "---|" * len(names) + "---|")
    for key, label, free in SCORES:
        tau, tp = kendalltau(c[key], c["noisy_accuracy"])
        rho, rp = spearmanr(c[key], c["noisy_accuracy"])
        per = [kendalltau(cols[k][key], cols[k]["noisy_accuracy"]) for k in names]
        loss_tau = kendalltau(c[key], -c["loss"])[0]
        print(
            f"| {label} | {'yes' if free else 'no'} | {tau:+.2f} ({tp:.1g}) | {rho:+.2f} ({rp:.1g}) | "
            + " | ".join(f"{t:+.2f} ({p:.1g})" for t, p in per)
            + f" | {loss_tau:+.2f} |"
        )
    seconds = {k: np.mean([r["seconds"][k] for r in rows]) for k in rows[0]["seconds"]}
    print()
    print("mean seconds per circuit: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="FakeCusco")
    parser.add_argument("--count4", type=int, default=40, help="circuits at 4 qubits (digits4)")
    parser.add_argument("--count8", type=int, default=20, help="circuits at 8 qubits (breast-cancer8)")
    parser.add_argument("--shots", type=int, default=1024, help="shots of the noisy accuracy (0: exact)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--replicas", type=int, default=16, help="replicas of each Clifford score")
    parser.add_argument("--cnr-replicas", type=int, default=32)
    parser.add_argument("--layout-candidates", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="print the table of --out and stop")
    args = parser.parse_args()
    args.shots = args.shots or None
    if args.report:
        report(args.out)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
