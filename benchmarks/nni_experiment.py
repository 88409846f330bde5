"""`hybrid-nas hpo quantum --tuner nni:TPE` (a real NNI experiment: NNI's manager, its TPE, one trial process per
trial) against the same HPO with SMAC3 in the study's own worker processes, on the same small space: wall time,
seconds per trial, best validation accuracy. Needs NNI: pip install 'hybrid-nas[nni]'.

    python benchmarks/nni_experiment.py --trials 10 --workers 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import hybrid_nas as hn

# 1-3 epochs on 64 training samples: a trial's cost is mostly its process and imports, which NNI's adds
SPACE = {
    "lr": {"_type": "loguniform", "_value": [0.01, 0.5]},
    "epochs": {"_type": "randint", "_value": [1, 4]},
    "n_train": {"_type": "choice", "_value": [64]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="runs/bench-nni")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    space = out / "space.json"
    space.write_text(json.dumps(SPACE))
    walls = {}
    for tuner in ("nni:TPE", "smac"):
        start = time.perf_counter()
        run = hn.tune(
            "quantum",
            tuner=tuner,
            space=str(space),
            trials=args.trials,
            workers=args.workers,
            repeats=1,
            seeds=1,
            out=out / tuner.replace(":", "-"),
            progress=False,
        )
        walls[tuner] = wall = time.perf_counter() - start
        trials = run.view().trials
        in_trials = sum(t.duration or 0.0 for t in trials)
        best = max((t.reward for t in trials if t.ok), default=float("nan"))
        print(
            f"{tuner:8s} {len(trials)} trials ({sum(not t.ok for t in trials)} failed) in {wall:.1f} s "
            f"({wall / len(trials):.1f} s per trial; {in_trials:.1f} s evaluating), best validation accuracy "
            f"{best:.4f}, study's own search {run.result['seconds']:.1f} s"
        )
    print(f"NNI / SMAC3 wall time: {walls['nni:TPE'] / walls['smac']:.2f}x")


if __name__ == "__main__":
    main()
