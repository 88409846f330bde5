"""Selection bias of the quantum search: the exported best's reported figure against its test accuracy, over
seeds, before (``--rescore-top 0``: the best of the search on the whole validation split) and after
(``--rescore-top K``: the search on half of it, its top K re-scored on the other half, the best there).

    python benchmarks/quantum_selection_bias.py --seeds 0 1 2 3 4            # the default search per seed
    python benchmarks/quantum_selection_bias.py --lock /tmp/bench.lock       # hold a lock per seed only

Per seed, both runs of ``hybrid-nas quantum`` on its defaults (digits4, 60 candidates by evolution,
FakeManilaV2 noise); the "after" run re-scores its top ``--k-max``, and the test figures of all of them are
computed here, so every K up to it is read off one run (the best of the first K by the held-out reward is
what ``--rescore-top K`` exports). Each seed's result is saved to the ndjson as it finishes; a rerun skips
the seeds there.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from hybrid_nas.engine.rescore import top
from hybrid_nas.quantum import search
from hybrid_nas.quantum.command import QuantumSettings, setup
from hybrid_nas.quantum.data import search_task

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "quantum_selection_bias.ndjson"
REPEAT_K, REPEAT_SEEDS = 5, 2  # the repeated-validation alternative: the top 5, each on 2 more training seeds
TEST_KEYS = {"accuracy": "test_accuracy", "noisy_accuracy": "noisy_test_accuracy"}  # best_test.json's names


@contextlib.contextmanager
def held(lock: str | None):
    if lock is None:
        yield
        return
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def measure(seed: int, k_max: int, given: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        before = search(out=Path(tmp, "before"), progress=False, seed=seed, rescore_top=0, **given)
        before_s = time.perf_counter() - start
        start = time.perf_counter()
        after = search(out=Path(tmp, "after"), progress=False, seed=seed, rescore_top=k_max, **given)
        after_s = time.perf_counter() - start
        rescored = json.loads(Path(tmp, "after", "rescore.json").read_text())
        trials = {t.number: t for t in after.view().ok}
        b, a = before.result, after.result  # read now: the directories go with the block
        before_view = before.view()
    settings = QuantumSettings.resolve(seed=seed, rescore_top=k_max, **given)
    space, evaluator, _ = setup(settings)
    task = search_task(settings.task, settings.label_column)
    candidates, start = [], time.perf_counter()
    for row in rescored["candidates"]:
        t = trials[row["trial"]]
        test = evaluator.score_on(t.arch, t.seed, task.x_test, task.y_test)
        candidates.append(
            {
                "trial": t.number,
                "search": {k: t.metrics[k] for k in ("accuracy", "noisy_accuracy") if k in t.metrics},
                "held_out": row["held_out"],
                "test": test,
                "search_reward": row["search_reward"],
                "reward": row["reward"],
            }
        )
    per_candidate = (time.perf_counter() - start) / len(candidates)
    return {
        "repeated": repeated(before_view, seed, given),
        "seed": seed,
        "settings": given,
        "quality": rescored["quality"],
        "before": {
            "trial": b["best"]["trial"],
            "search": {k: b["best"]["metrics"][k] for k in ("accuracy", "noisy_accuracy") if k in b["best"]["metrics"]},
            "test": {k: b["test"][t] for k, t in TEST_KEYS.items() if t in b["test"]},
            "study_s": b["seconds"],
            "wall_s": before_s,
        },
        "after": {"candidates": candidates, "study_s": a["seconds"], "wall_s": after_s},
        "rescore_s_per_candidate": per_candidate,
    }


def repeated(view, seed: int, given: dict) -> list[dict]:
    """The alternative of repeating the validation: the "before" search's top REPEAT_K retrained with
    REPEAT_SEEDS more seeds each and scored on the whole validation split; the test figure is the trial's own
    seed's (the model an export would write)."""
    settings = QuantumSettings.resolve(seed=seed, rescore_top=0, **given)
    _, evaluator, objective = setup(settings)
    task = search_task(settings.task, settings.label_column)
    out = []
    for t in top(view, REPEAT_K):
        scores = [t.metrics] + [
            evaluator.score_on(t.arch, t.seed + 7919 * (i + 1), task.x_val, task.y_val) for i in range(REPEAT_SEEDS)
        ]
        mean = {k: float(np.mean([m[k] for m in scores])) for k in ("accuracy", "noisy_accuracy") if k in t.metrics}
        out.append(
            {
                "trial": t.number,
                "validation": [{k: m[k] for k in mean} for m in scores],
                "mean": mean,
                "reward": objective.reward({**t.metrics, **mean}),
                "test": evaluator.score_on(t.arch, t.seed, task.x_test, task.y_test),
            }
        )
    return out


def pick(row: dict, k: int) -> dict:
    """What ``--rescore-top k`` exports: the highest held-out reward of the first k (ties: the first)."""
    first = row["after"]["candidates"][:k]
    return max(first, key=lambda c: (c["reward"], -first.index(c)))


def stats(values, sign: str = "") -> str:
    v = np.asarray(values, float)
    return f"{v.mean():{sign}.3f} +- {v.std(ddof=1) if len(v) > 1 else 0.0:.3f}"


def report(rows: list[dict], ks: list[int]) -> None:
    quality, budget = rows[0]["quality"], rows[0]["settings"]["budget"]
    names = (
        [("accuracy", "noiseless"), ("noisy_accuracy", "noisy")]
        if quality == "noisy_accuracy"
        else [("accuracy", "noiseless")]
    )
    print(f"{len(rows)} seeds ({', '.join(str(r['seed']) for r in rows)}); quality {quality}; mean +- sd over seeds")
    print("| run | reported figure | what it was chosen on | reported | test | gap (reported - test) |")
    print("|---|---|---|---|---|---|")
    for key, label in names:
        lines = [
            (
                "before (--rescore-top 0)",
                f"search validation ({label})",
                f"best of {budget} on it",
                [r["before"]["search"][key] for r in rows],
                [r["before"]["test"][key] for r in rows],
            )
        ]
        for k in ks:
            chosen = [pick(r, k) for r in rows]
            lines.append(
                (
                    f"after (--rescore-top {k})",
                    f"search validation, half ({label})",
                    f"best of {budget} on it" if k == 1 else f"top {k} on it",
                    [c["search"][key] for c in chosen],
                    [c["test"][key] for c in chosen],
                )
            )
            lines.append(
                (
                    f"after (--rescore-top {k})",
                    f"held-out selection split ({label})",
                    "not chosen on" if k == 1 else f"best of {k} on it",
                    [c["held_out"][key] for c in chosen],
                    [c["test"][key] for c in chosen],
                )
            )
        if all("repeated" in r for r in rows):
            chosen = [max(r["repeated"], key=lambda c: c["reward"]) for r in rows]
            lines.append(
                (
                    f"repeated validation (top {REPEAT_K}, {REPEAT_SEEDS + 1} seeds each)",
                    f"mean search validation ({label})",
                    f"best of {REPEAT_K} on it",
                    [c["mean"][key] for c in chosen],
                    [c["test"][key] for c in chosen],
                )
            )
        for run, figure, chosen_on, reported, test in lines:
            gap = np.subtract(reported, test)
            print(f"| {run} | {figure} | {chosen_on} | {stats(reported)} | {stats(test)} | {stats(gap, '+')} |")
    study = [r["before"]["study_s"] for r in rows]
    per = [r["rescore_s_per_candidate"] for r in rows]
    print(
        f"\ncost: the search {np.mean(study):.1f} +- {np.std(study, ddof=1) if len(rows) > 1 else 0:.1f} s; "
        f"re-scoring one candidate (retrain + noisy score) {np.mean(per):.2f} s, so --rescore-top K adds "
        f"~{100 * np.mean(per) / np.mean(study):.1f} % of the search per candidate"
    )
    # the splits' own offset, apart from any choosing: every re-scored candidate's held-out figure (none of
    # them was chosen on it) against its test figure
    for key, label in names:
        offset = [np.mean([c["held_out"][key] - c["test"][key] for c in r["after"]["candidates"]]) for r in rows]
        n = len(rows[0]["after"]["candidates"])
        print(f"held-out - test over all {n} re-scored, {label}: {stats(offset, '+')}")
    # how much the selection itself gains: the test figure of each export, paired by seed
    for key, label in names:
        base = np.array([r["before"]["test"][key] for r in rows])
        for k in ks:
            diff = np.array([pick(r, k)["test"][key] for r in rows]) - base
            print(f"test {label}: after K={k} minus before: {stats(diff, '+')}")
        if all("repeated" in r for r in rows):
            diff = np.array([max(r["repeated"], key=lambda c: c["reward"])["test"][key] for r in rows]) - base
            print(f"test {label}: repeated validation minus before: {stats(diff, '+')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--k-max", type=int, default=10)
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 3, 5, 10])
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--task", default="digits4")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--lock", default=None, help="a file lock taken for each seed's measurement")
    args = ap.parse_args()
    given = {"budget": args.budget, "epochs": args.epochs, "task": args.task}
    path = Path(args.results)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []
    done = {r["seed"] for r in rows if r["settings"] == given}
    for seed in args.seeds:
        if seed in done:
            continue
        with held(args.lock):
            row = measure(seed, args.k_max, given)
        with path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        print(f"seed {seed}: saved ({row['before']['wall_s'] + row['after']['wall_s']:.0f} s)", flush=True)
    report(
        [r for r in rows if r["settings"] == given and r["seed"] in args.seeds], [k for k in args.ks if k <= args.k_max]
    )


if __name__ == "__main__":
    main()
