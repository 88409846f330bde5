"""``hybrid-nas``: the command line. Every user mistake ends in one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .errors import ConfigError, HybridNasError


def _describer(meta: dict):
    """The notation of a stored study's space, for reports (identity JSON for unknown spaces)."""
    if meta.get("space", {}).get("name") == "nb201":
        from .nb201 import NB201Space

        return NB201Space().describe
    return None


def _add_study_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("study")
    g.add_argument("--config", help="YAML file of settings (flags override it)")
    g.add_argument("--strategy", help="random | evolution | nsga2 | reinforce | smac")
    g.add_argument("--objective", help="constrained | mnasnet-soft | mnasnet-hard | weighted | pareto")
    g.add_argument("--budget", type=int, help="number of trials")
    g.add_argument("--seconds", type=float, help="wall-time budget in seconds")
    g.add_argument("--seed", type=int)
    g.add_argument("--workers", type=int, help="evaluate in N local worker processes")
    g.add_argument("--dask-scheduler", dest="dask_scheduler", metavar="ADDRESS", help="evaluate on this Dask cluster")
    g.add_argument("--out", help="run directory (default runs/<space>-<strategy>-<objective>-s<seed>)")
    g.add_argument("--resume", action="store_true", help="continue the study stored in --out")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_nb201(args: argparse.Namespace) -> int:
    from . import config as cfgmod
    from .nb201 import NB201Evaluator, NB201Space, load_table
    from .objectives import make_objective
    from .report import write_report
    from .results import StudyView, write_best
    from .store import SQLiteStore
    from .strategies import make_strategy
    from .study import Study

    if args.list_devices:
        print("\n".join(load_table().devices))
        return 0
    flags = {k: getattr(args, k) for k in ("strategy", "objective", "dataset", "device", "T", "budget", "seconds",
                                           "seed", "workers", "dask_scheduler")}
    flags["count_repeats"] = True if args.count_repeats else None
    cfg = cfgmod.resolve(cfgmod.packaged("nb201.yaml"), cfgmod.read_yaml(args.config) if args.config else None, flags)
    if not isinstance(cfg["strategy_options"] or {}, dict):
        raise ConfigError(f"strategy_options must be a mapping, got {cfg['strategy_options']!r}")
    if cfg["budget"] is not None and cfg["budget"] < 1:
        raise ConfigError(f"--budget must be at least 1 trial, got {cfg['budget']}")

    space = NB201Space()
    evaluator = NB201Evaluator(cfg["dataset"], cfg["device"])
    objective = make_objective(cfg["objective"], T=cfg["T"])
    strategy = make_strategy(cfg["strategy"], space, seed=cfg["seed"], **(cfg["strategy_options"] or {}))
    run_dir = Path(args.out or f"runs/nb201-{cfg['strategy']}-{cfg['objective']}-s{cfg['seed']}")
    study = Study(space, evaluator, objective, strategy, store=SQLiteStore(run_dir / "trials.sqlite"),
                  seed=cfg["seed"], count_repeats=cfg["count_repeats"], resume=args.resume,
                  workers=cfg["workers"], dask_scheduler=cfg["dask_scheduler"], progress=not args.no_progress)
    cfgmod.save(cfg, run_dir)
    start = time.perf_counter()
    study.optimize(cfg["budget"], cfg["seconds"])
    elapsed = time.perf_counter() - start

    view = StudyView(study.meta, study.trials)
    i, acc, lat = evaluator.oracle(objective.T)
    oracle = {"nb201_index": i, "arch_string": load_table().arch_strings[i], "accuracy": acc, "latency_ms": lat}
    best = view.best_feasible()
    extra = {"oracle": oracle}
    if best is not None:
        extra.update(arch_string=space.describe(best.arch), nb201_index=space.index(best.arch))
    write_best(run_dir, view, space.describe, extra)
    write_report(run_dir, space.describe)

    limit = f"{objective.T:g} ms" if objective.T is not None else "none"
    print(f"NB201 {cfg['dataset']}, latency on {cfg['device']}, limit {limit}: {len(view.trials)} trials "
          f"({len(view.failed)} failed) in {elapsed:.1f} s, stopped by {study.stop_reason}")
    if best is None:
        print("no feasible cell found; raise --T or the budget")
    else:
        m = best.metrics
        print(f"best feasible: {space.describe(best.arch)}  accuracy {100 * m['accuracy']:.2f} %  "
              f"latency {m['latency_ms']:.3f} ms  reward {best.reward:.5f}  (trial {best.number})")
        print(f"oracle (whole table): {100 * acc:.2f} % at {lat:.3f} ms  ->  gap {100 * (acc - m['accuracy']):.2f} pt")
    print(f"run directory: {run_dir}  (trials.sqlite, best.json, config.yaml, summary.md, report/)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import load_view, write_report

    summary = write_report(args.run_dir, _describer(load_view(args.run_dir).meta))
    print(f"wrote {summary} and {Path(args.run_dir, 'report')}/*.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybrid-nas", description="Quantum-classical hybrid neural architecture search.")
    parser.add_argument("--version", action="version", version=f"hybrid-nas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = sub.add_parser("bench", help="search a tabular benchmark (no training): nb201")
    bench_sub = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    nb = bench_sub.add_parser("nb201", help="NAS-Bench-201: CIFAR/ImageNet16 accuracy x latency on 27 devices",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    nb.add_argument("--dataset", help="cifar10 | cifar100 | imagenet16-120")
    nb.add_argument("--device", help="latency column, e.g. titan_rtx_256, pixel3, raspi4 (see --list-devices)")
    nb.add_argument("--T", type=float, help="latency target in ms")
    nb.add_argument("--count-repeats", action="store_true", help="every sample counts, repeats too (MnasNet-paper protocol)")
    nb.add_argument("--list-devices", action="store_true", help="print the latency devices and exit")
    _add_study_flags(nb)
    nb.set_defaults(func=cmd_nb201)

    rep = sub.add_parser("report", help="plots and summary.md for a run directory")
    rep.add_argument("run_dir", help="a run directory (holds trials.sqlite)")
    rep.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HybridNasError as e:
        print(f"hybrid-nas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hybrid-nas: interrupted; finished trials are stored: run again with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
