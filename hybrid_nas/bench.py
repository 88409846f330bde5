"""``hybrid-nas bench nb201``: a search of NAS-Bench-201 by table look-up (no training)."""

from __future__ import annotations

from pathlib import Path

from .commands import Command, register
from .errors import ConfigError, unknown
from .settings import Settings, StudyFields, defaults_from, setting


@defaults_from("nb201.yaml")
class NB201Settings(StudyFields, Settings):
    dataset: str = setting("accuracy column", choices=("cifar10", "cifar100", "imagenet16-120"))
    device: str = setting("latency column, e.g. titan_rtx_256, pixel3, raspi4 (see --list-devices)")
    T: float | None = setting("latency target in ms")
    count_repeats: bool = setting("every sample counts, repeats too (the MnasNet-paper protocol)")

    def check(self):
        self.check_study()
        from .nasbench201 import load_table

        if self.device not in load_table().devices:
            raise ConfigError(unknown("NB201 latency device", self.device, load_table().devices))


def run_nb201(settings: NB201Settings, out=None, resume: bool = False, progress: bool = True):
    from .nasbench201 import NB201Evaluator, NB201Space, load_table
    from .objectives import make_objective
    from .report import write_report
    from .results import write_best
    from .run import Run, search

    s = settings
    run = Run.start(out or f"runs/nb201-{s.strategy}-{s.objective}-s{s.seed}", "bench nb201", s, resume)
    space, evaluator = NB201Space(), NB201Evaluator(s.dataset, s.device)
    objective = make_objective(s.objective, T=s.T)
    study, view, seconds = search(run.dir, space, evaluator, objective, s, resume=resume, progress=progress,
                                  count_repeats=s.count_repeats)
    i, acc, lat = evaluator.oracle(objective.T)
    best = view.best()
    extra = {"oracle": {"nb201_index": i, "arch_string": load_table().arch_strings[i], "accuracy": acc,
                        "latency_ms": lat},
             "seconds": seconds, "stop_reason": study.stop_reason}
    if best is not None:
        extra |= {"arch_string": space.describe(best.arch), "nb201_index": space.index(best.arch)}
    write_best(run.dir, view, space.describe, extra)
    write_report(run.dir, space.describe)
    return run


def summary(run) -> str:
    s, doc = run.settings, run.result
    limit = f"{s['T']:g} ms" if s["T"] is not None else "none"
    lines = [f"NB201 {s['dataset']}, latency on {s['device']}, limit {limit}: {doc['trials']} trials "
             f"({doc['failed']} failed) in {doc['seconds']:.1f} s, stopped by {doc['stop_reason']}",
             f"best ({doc['rule']}):"]
    best, oracle = doc["best"], doc["oracle"]
    if best is None:
        lines.append("  none; raise --T or the budget")
    else:
        m = best["metrics"]
        lines += [f"  {best['description']}  accuracy {100 * m['accuracy']:.2f} %  latency {m['latency_ms']:.3f} ms  "
                  f"reward {best['reward']:.5f}  (trial {best['trial']})",
                  f"oracle (whole table): {100 * oracle['accuracy']:.2f} % at {oracle['latency_ms']:.3f} ms  ->  "
                  f"gap {100 * (oracle['accuracy'] - m['accuracy']):.2f} pt"]
    lines.append(f"run directory: {run.dir}  ({run.trial_files}, best.json, config.yaml, summary.md, report/)")
    return "\n".join(lines)


def _devices() -> str:
    from .nasbench201 import load_table

    return "\n".join(load_table().devices)


register(Command(("bench", "nb201"), "NAS-Bench-201: CIFAR/ImageNet16 accuracy x latency on 27 devices (no training)",
                 NB201Settings, run_nb201, summary, listings=(("--list-devices", "print the latency devices and exit",
                                                               _devices),)))
