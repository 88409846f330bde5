"""Two-stage search vs training every candidate: ``hybrid-nas quantum --prescreen N --top-k K`` against the same
search training N candidates (wall time, the best's test accuracy), and how RepCap and kernel-target alignment
rank the N trained circuits of the baseline (Spearman, Kendall tau against their validation accuracy).

    python benchmarks/quantum_two_stage.py --task digits4 --candidates 60 --top-k 6
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hybrid_nas.engine.latency_transfer import kendall_tau, spearman
from hybrid_nas.quantum import search
from hybrid_nas.quantum.command import rebuild_space
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.repcap import RepCapEvaluator
from hybrid_nas.quantum.space import space_for_task


def timed(out: Path, **settings):
    start = time.perf_counter()
    run = search(out=out, progress=False, **settings)
    return run, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="digits4")
    ap.add_argument("--candidates", type=int, default=60)
    ap.add_argument("--top-k", type=int, default=6)
    ap.add_argument("--noise", default="none")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    common = dict(task=args.task, noise=args.noise, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        full, full_s = timed(Path(tmp, "full"), budget=args.candidates, **common)
        two, two_s = timed(Path(tmp, "two"), prescreen=args.candidates, top_k=args.top_k, **common)
        view = full.view()
        trained = view.ok
        evaluator = RepCapEvaluator(rebuild_space(view.meta["space"]), args.task)
        start = time.perf_counter()
        scores = [evaluator.evaluate(t.arch, t.seed) for t in trained]
        per_candidate = (time.perf_counter() - start) / len(trained)
        quality = np.array([t.metrics[view.quality] for t in trained])
        rows = [
            ("train all", full_s, args.candidates, full.result["best"]["metrics"], full.result["test"]),
            ("prescreen + top k", two_s, args.top_k, two.result["best"]["metrics"], two.result["test"]),
        ]
    print(f"{args.task}, noise {args.noise}, seed {args.seed}: {args.candidates} candidates, top {args.top_k}")
    print("| run | wall s | trained | best validation | best test | best params |\n|---|---|---|---|---|---|")
    for name, seconds, n, best, test in rows:
        print(
            f"| {name} | {seconds:.1f} | {n} | {best[view.quality]:.3f} | {test['test_accuracy']:.3f} | "
            f"{best['params']:g} |"
        )
    print(f"time ratio (train all / two-stage): {full_s / two_s:.1f}x; RepCap {per_candidate * 1e3:.0f} ms per circuit")
    print(f"\nranking the {len(trained)} trained circuits of 'train all' by {view.quality}:")
    print("| figure | Spearman | Kendall tau |\n|---|---|---|")
    for name in ("repcap", "kta", "params"):
        figure = np.array([s[name] for s in scores])
        print(f"| {name} | {spearman(figure, quality):.3f} | {kendall_tau(figure, quality):.3f} |")
    wide = space_for_task(load_task("digits10"))  # 10 qubits: the cost of RepCap at the widest task
    archs = [wide.sample(np.random.default_rng(i)) for i in range(5)]
    evaluator = RepCapEvaluator(wide, "digits10")
    start = time.perf_counter()
    for i, arch in enumerate(archs):
        evaluator.evaluate(arch, i)
    seconds = (time.perf_counter() - start) / len(archs)
    print(f"\nRepCap on digits10 (10 qubits, 160 samples x 32 draws): {seconds:.2f} s per circuit")


if __name__ == "__main__":
    main()
