"""``hybrid-nas``: the command line. Every user mistake ends in one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .errors import ConfigError, HybridNasError


def _describer(meta: dict):
    """The notation of a stored study's space, for reports (identity JSON for unknown spaces)."""
    space = meta.get("space", {})
    if space.get("name") == "nb201":
        from .nasbench201 import NB201Space

        return NB201Space().describe
    if space.get("name") == "yolo":
        from .yolo.space import NeckSpace

        return NeckSpace(space["model"], space["scope"], space["positions"]).describe
    if space.get("name") == "pqc":
        from .pqc.space import CircuitSpace

        layers = space["decisions"]["layers"]
        return CircuitSpace(space["n_qubits"], max(layers), space["scope"], tuple(space["decisions"]["encoder"]),
                            min(layers), space.get("n_features")).describe
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


def _resolve(name: str, args: argparse.Namespace, keys: tuple[str, ...], **extra) -> dict:
    """A study's settings: ``_resolve_plain``, then the checks every study shares."""
    cfg = _resolve_plain(name, args, keys, **extra)
    if not isinstance(cfg["strategy_options"] or {}, dict):
        raise ConfigError(f"strategy_options must be a mapping, got {cfg['strategy_options']!r}")
    if cfg["budget"] is not None and cfg["budget"] < 1:
        raise ConfigError(f"--budget must be at least 1 trial, got {cfg['budget']}")
    return cfg


def _resolve_plain(name: str, args: argparse.Namespace, keys: tuple[str, ...], **extra) -> dict:
    """Packaged YAML ``name`` <- ``--config`` file <- the flags in ``keys`` that were given."""
    from . import config as cfgmod

    flags = {k: getattr(args, k) for k in keys} | extra
    return cfgmod.resolve(cfgmod.packaged(name), cfgmod.read_yaml(args.config) if args.config else None, flags)


STUDY_KEYS = ("strategy", "objective", "budget", "seconds", "seed", "workers", "dask_scheduler")


def _run_study(space, evaluator, objective, cfg: dict, args: argparse.Namespace, run_dir: Path):
    """Build the strategy and the study in ``run_dir``, run it, and return (study, view, seconds)."""
    from . import config as cfgmod
    from .results import StudyView
    from .store import SQLiteStore
    from .strategies import make_strategy
    from .study import Study

    strategy = make_strategy(cfg["strategy"], space, seed=cfg["seed"], **(cfg["strategy_options"] or {}))
    study = Study(space, evaluator, objective, strategy, store=SQLiteStore(run_dir / "trials.sqlite"),
                  seed=cfg["seed"], count_repeats=cfg.get("count_repeats", False), resume=args.resume,
                  workers=cfg["workers"], dask_scheduler=cfg["dask_scheduler"], progress=not args.no_progress)
    cfgmod.save(cfg, run_dir)
    start = time.perf_counter()
    study.optimize(cfg["budget"], cfg["seconds"])
    return study, StudyView(study.meta, study.trials), time.perf_counter() - start


def cmd_nb201(args: argparse.Namespace) -> int:
    from .nasbench201 import NB201Evaluator, NB201Space, load_table
    from .objectives import make_objective
    from .report import write_report
    from .results import write_best

    if args.list_devices:
        print("\n".join(load_table().devices))
        return 0
    cfg = _resolve("nb201.yaml", args, (*STUDY_KEYS, "dataset", "device", "T"),
                   count_repeats=True if args.count_repeats else None)
    space = NB201Space()
    evaluator = NB201Evaluator(cfg["dataset"], cfg["device"])
    objective = make_objective(cfg["objective"], T=cfg["T"])
    run_dir = Path(args.out or f"runs/nb201-{cfg['strategy']}-{cfg['objective']}-s{cfg['seed']}")
    study, view, elapsed = _run_study(space, evaluator, objective, cfg, args, run_dir)

    i, acc, lat = evaluator.oracle(objective.T)
    best = view.best_feasible()
    extra = {"oracle": {"nb201_index": i, "arch_string": load_table().arch_strings[i], "accuracy": acc, "latency_ms": lat}}
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


QUANTUM_KEYS = (*STUDY_KEYS, "task", "label_column", "qubits", "encoder", "scope", "layers", "cost", "T", "noise",
                "epochs", "batch", "lr", "n_train", "supercircuit_epochs", "finetune_steps", "shots",
                "optimization_level", "hpo_trials", "device", "precision")


def _quantum_setup(cfg: dict, min_layers: int = 1, max_layers: int | None = None):
    """(space, evaluator, objective) of a quantum configuration."""
    from .objectives import make_objective
    from .pqc.data import load_task
    from .pqc.evaluator import QNNEvaluator
    from .pqc.simulator import PRECISIONS, resolve_device
    from .pqc.space import space_for_task
    from .pqc.training import TrainConfig

    if str(cfg["noise"]).lower() in ("none", "off", "false"):
        cfg["noise"] = None
    resolve_device(cfg["device"])  # a missing GPU is one line now, not a failed trial per candidate
    if cfg["precision"] not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {cfg['precision']!r}")
    task = load_task(cfg["task"], label_column=cfg["label_column"])
    space = space_for_task(task, cfg["qubits"], max_layers or cfg["layers"], cfg["scope"], cfg["encoder"], min_layers)
    training = TrainConfig(epochs=cfg["epochs"], batch=cfg["batch"], lr=cfg["lr"], n_train=cfg["n_train"],
                           precision=cfg["precision"], device=cfg["device"])
    evaluator = QNNEvaluator(space, cfg["task"], training, noise=cfg["noise"], label_column=cfg["label_column"],
                             optimization_level=cfg["optimization_level"], shots=cfg["shots"])
    return space, evaluator, make_objective(cfg["objective"], quality=evaluator.quality, cost=cfg["cost"], T=cfg["T"])


def _quantum_dir(cfg: dict, kind: str) -> Path:
    return Path(f"runs/{kind}-{cfg['task'].replace(':', '_').replace('/', '_')}-{cfg['scope']}-s{cfg['seed']}")


def cmd_quantum(args: argparse.Namespace) -> int:
    from .report import write_report
    from .results import write_best

    cfg = _resolve("quantum.yaml", args, QUANTUM_KEYS)
    space, evaluator, objective = _quantum_setup(cfg)
    run_dir = Path(args.out) if args.out else _quantum_dir(cfg, "quantum")
    searched = evaluator
    if cfg["supercircuit_epochs"]:
        searched, objective = _one_shot(cfg, space, evaluator)
    study, view, elapsed = _run_study(space, searched, objective, cfg, args, run_dir)

    best = view.best_feasible() or view.best_reward()
    test = evaluator.artefacts(best.arch, best.seed, run_dir) if best is not None else {}
    write_best(run_dir, view, space.describe, {"test": test})
    write_report(run_dir, space.describe)
    print(f"{cfg['task']} on {space.n_qubits} qubits, scope {cfg['scope']}, noise {cfg['noise'] or 'off'}: "
          f"{len(view.trials)} trials ({len(view.failed)} failed) in {elapsed:.1f} s, stopped by {study.stop_reason}")
    if best is None:
        print("no trial completed; see summary.md for the errors")
        return 1
    m = best.metrics
    print(f"best circuit: {space.describe(best.arch)}  (trial {best.number})")
    print("  validation accuracy {:.3f}{}  test accuracy {:.3f}{}".format(
        m["accuracy"], f"  noisy {m['noisy_accuracy']:.3f}" if "noisy_accuracy" in m else "",
        test["test_accuracy"], f"  noisy {test['noisy_test_accuracy']:.3f}" if "noisy_test_accuracy" in test else ""))
    print("  " + "  ".join(f"{k} {m[k]:g}" for k in ("params", "gates", "two_qubit_gates", "depth", "transpiled_depth",
                                                    "transpiled_two_qubit_gates", "est_fidelity") if k in m))
    print(f"run directory: {run_dir}  (trials.sqlite, best.json, best.qasm, best_circuit.png, best_weights.npy, summary.md, report/)")
    if cfg["hpo_trials"]:
        _hpo_after_search("quantum", run_dir, cfg)
    return 0


def _one_shot(cfg: dict, space, evaluator):
    """Train a SuperCircuit once and return (its evaluator, the noiseless objective): candidates are then
    scored by inherited weights; the chosen circuit is still trained from scratch for its artefacts."""
    from .objectives import make_objective
    from .pqc.supercircuit import SuperCircuitEvaluator, train_supercircuit

    task = evaluator.task
    training = replace(evaluator.training, epochs=cfg["supercircuit_epochs"], seed=cfg["seed"])
    start = time.perf_counter()
    bank = train_supercircuit(space, task, training).weights
    print(f"SuperCircuit trained: {cfg['supercircuit_epochs']} epochs in {time.perf_counter() - start:.1f} s")
    searched = SuperCircuitEvaluator(space, task, bank, {"task": cfg["task"], "epochs": cfg["supercircuit_epochs"],
                                                         "lr": training.lr, "seed": cfg["seed"]},
                                     finetune_steps=cfg["finetune_steps"], training=evaluator.training)
    return searched, make_objective(cfg["objective"], quality="accuracy", cost=cfg["cost"], T=cfg["T"])


def cmd_depth_sweep(args: argparse.Namespace) -> int:
    """One study per depth 1..layers (the budget is per depth); the best circuit of each, side by side."""
    from .pqc.depth_sweep import write_depth_sweep
    from .report import write_report
    from .results import write_best

    cfg = _resolve("quantum.yaml", args, QUANTUM_KEYS)
    run_dir = Path(args.out) if args.out else _quantum_dir(cfg, "depth-sweep")
    rows = []
    for depth in range(1, cfg["layers"] + 1):
        space, evaluator, objective = _quantum_setup(cfg, min_layers=depth, max_layers=depth)
        _, view, _ = _run_study(space, evaluator, objective, cfg, args, run_dir / f"depth{depth}")
        write_best(run_dir / f"depth{depth}", view, space.describe)
        write_report(run_dir / f"depth{depth}", space.describe)
        best = view.best_feasible() or view.best_reward()
        if best is not None:
            rows.append({"layers": depth, "circuit": space.describe(best.arch), "trial": best.number, **best.metrics})
    table = write_depth_sweep(rows, run_dir)
    print(table)
    print(f"run directory: {run_dir}  (depth_sweep.md, depth_sweep.png, depth<k>/ one study per depth)")
    return 0


CLASSICAL_KEYS = (*STUDY_KEYS, "model", "data", "n_images", "positions", "profile", "scope", "scopes", "latency",
                  "latency_limit", "threads", "latency_stat", "latency_backend", "imgsz", "batch", "supernet_epochs", "sampling", "calibration_images",
                  "finetune_epochs", "quality", "hpo_trials")


def cmd_classical(args: argparse.Namespace) -> int:
    """Train one supernet over every requested scope, then search each scope with inherited weights."""
    from .yolo import run
    from .yolo.data import resolve_data
    from .yolo.evaluator import SupernetEvaluator
    from .yolo.space import NeckSpace
    from .objectives import make_objective
    from .report import write_report
    from .results import write_best

    cfg = run.settle(_resolve("classical.yaml", args, CLASSICAL_KEYS))
    spaces = {s: NeckSpace(cfg["model"], s, cfg["positions"]) for s in cfg["scopes"]}
    union = NeckSpace(cfg["model"], ",".join(cfg["scopes"]), cfg["positions"])
    data = resolve_data(cfg["data"], cfg["imgsz"], cfg["n_images"], cfg["seed"])
    run_dir = Path(args.out or f"runs/classical-{cfg['model']}-{'-'.join(cfg['scopes'])}-s{cfg['seed']}")
    run_dir.mkdir(parents=True, exist_ok=True)
    weights = run.supernet_weights(union, data, run_dir, cfg, reuse=args.resume)
    table = run.latency_table(union, cfg, run_dir)
    latency = "measure" if table is None else "table"
    train_args = {"data": str(data), "imgsz": cfg["imgsz"], "batch": cfg["batch"], "task": "detect"}

    rows = []
    for scope, space in spaces.items():
        scope_dir = run_dir if len(spaces) == 1 else run_dir / scope
        scope_dir.mkdir(exist_ok=True)
        evaluator = SupernetEvaluator(space, weights, data, cfg["imgsz"], latency, table, run.timing(cfg),
                                      cfg["calibration_images"], cfg["quality"])
        objective = make_objective(cfg["objective"], quality=cfg["quality"], cost="latency_ms", T=cfg["latency_limit"])
        study, view, elapsed = _run_study(space, evaluator, objective, cfg, args, scope_dir)
        best = view.best_feasible() or view.best_reward()
        row = {"scope": scope, "trials": len(view.trials), "seconds": elapsed}
        if best is not None:
            run.export(evaluator.subnet(best.arch), best.arch, space, scope_dir, train_args)
            row |= {"architecture": space.describe(best.arch), "feasible": view.feasible(best),
                    **{k: best.metrics[k] for k in run.TABLE_COLUMNS}}
            if cfg["finetune_epochs"]:
                row["finetuned"] = run.finetune(scope_dir / "best.pt", data, cfg, scope_dir)
        write_best(scope_dir, view, space.describe, {"scope": scope, "finetuned": row.get("finetuned")})
        write_report(scope_dir, space.describe)
        rows.append(row)
        print(f"scope {scope}: {len(view.trials)} trials ({len(view.failed)} failed) in {elapsed:.0f} s, "
              f"stopped by {study.stop_reason}")
    print(run.write_scope_table(rows, run_dir))
    limit = f"{cfg['latency_limit']:g} ms" if cfg["latency_limit"] is not None else "none"
    print(f"latency: {latency} ({cfg['threads']} thread(s), {cfg['imgsz']} px), limit {limit}")
    print(f"run directory: {run_dir}  (supernet.pt, latency_table.json, trials.sqlite, best.json, best.yaml, "
          "best.pt, summary.md, report/)")
    if cfg["hpo_trials"]:
        _hpo_after_search("classical", run_dir, cfg)
    return 0


def cmd_latency_table(args: argparse.Namespace) -> int:
    """Measure a latency table on this machine, for ``--latency file:PATH`` on another."""
    from .yolo.latency import Timing, build_table
    from .yolo.space import NeckSpace

    space = NeckSpace(args.model, args.scope, args.positions)
    timing = Timing(args.threads, statistic=args.stat, backend=args.backend)
    table, pairs = build_table(space, args.imgsz, timing, args.calibration, args.seed)
    table.save(Path(args.out))
    print(f"{len(space.decisions)} positions x ops measured, correction fitted to {len(pairs)} subnets: "
          f"latency = {table.intercept:.2f} ms + {table.slope:.3f} x block sum; wrote {args.out}")
    return 0


HPO_KEYS = ("run_dir", "space", "method", "trials", "repeats", "n_initial", "min_epochs", "max_epochs", "seeds", "seed",
            "workers", "dask_scheduler")
HPO_CLASSICAL_KEYS = (*HPO_KEYS, "model", "data", "n_images", "imgsz", "epochs", "quality")


def _hpo_space(name: str):
    """A search-space file: a path, or a file of the packaged configs/."""
    from importlib import resources

    from .tuning import HPOSpace

    if Path(name).is_file():
        return HPOSpace.from_file(name)
    packaged = resources.files("hybrid_nas.configs").joinpath(name)
    if packaged.is_file():
        return HPOSpace.from_file(Path(str(packaged)))
    raise ConfigError(f"search space file {name} does not exist (neither a path nor a file of configs/)")


def run_hpo_study(target: str, cfg: dict, out: Path, resume: bool = False) -> int:
    """SMAC over the target's training hyperparameters, then default vs tuned on held-out data."""
    from . import config as cfgmod
    from .tuning.report import compare, write_hpo_summary
    from .tuning.runner import run_hpo
    from .report import write_report

    if cfg["seeds"] < 1:
        raise ConfigError(f"--seeds must be at least 1, got {cfg['seeds']}")
    space = _hpo_space(cfg["space"])
    if target == "quantum":
        from .pqc.hpo import target_from_config
        evaluator = target_from_config(cfg)
    else:
        from .yolo.hpo import target_from_config
        evaluator = target_from_config(cfg, out / "work")
    fidelity = "epochs" if cfg["method"] == "multi-fidelity" else None
    evaluator.check(space.names)
    out.mkdir(parents=True, exist_ok=True)
    cfgmod.save(cfg, out)
    result = run_hpo(evaluator, space, out, trials=cfg["trials"], seed=cfg["seed"], kind=cfg["method"],
                     budgets=(cfg["min_epochs"], cfg["max_epochs"]), fidelity=fidelity, n_initial=cfg["n_initial"],
                     repeats=cfg["repeats"], workers=cfg["workers"], scheduler=cfg["dask_scheduler"], resume=resume)
    ok = [t for t in result.trials if t.ok]
    print(f"hpo {target}: {len(result.trials)} trials ({len(result.trials) - len(ok)} failed) in {result.seconds:.0f} s "
          f"with {cfg['method']}; best validation {evaluator.quality} "
          f"{max((t.reward for t in ok), default=float('nan')):.4f}")
    write_report(out)
    names = list(result.incumbent)
    default = evaluator.defaults(names)
    comparison = compare(evaluator, default, result.incumbent, cfg["seeds"])
    print(write_hpo_summary(out, comparison, evaluator.quality, cfg["seeds"]))
    print(f"run directory: {out}  (trials.sqlite, smac/, hpo.json, summary.md, report/)")
    return 0


def cmd_hpo(args: argparse.Namespace) -> int:
    keys = HPO_KEYS if args.target == "quantum" else HPO_CLASSICAL_KEYS
    cfg = _resolve_plain(f"hpo_{args.target}.yaml", args, keys)
    out = Path(args.out or f"runs/hpo-{args.target}-{cfg['method']}-s{cfg['seed']}")
    return run_hpo_study(args.target, cfg, out, args.resume)


def _hpo_after_search(target: str, run_dir: Path, cfg: dict) -> None:
    """``--hpo-trials N`` on a search: tune the architecture it found, into ``run_dir/hpo``."""
    from . import config as cfgmod

    hpo_cfg = cfgmod.resolve(cfgmod.packaged(f"hpo_{target}.yaml"), None,
                             {"run_dir": str(run_dir), "trials": cfg["hpo_trials"], "seed": cfg["seed"]})
    run_hpo_study(target, hpo_cfg, run_dir / "hpo")


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

    q = sub.add_parser("quantum", help="search the gate placement of a PQC classifier (PennyLane/Qiskit)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    q.add_argument("--task", help="digits4 | digits10 | digits2 | iris | moons | breast-cancer | breast-cancer8 | "
                   "csv:PATH")
    q.add_argument("--label-column", dest="label_column", help="label column of a csv:PATH task")
    q.add_argument("--qubits", type=int, help="number of qubits (default: the task's; a CSV's from its features "
                   "and classes)")
    q.add_argument("--encoder", help="ryzxy | ryzxy_interleaved | ryzxy_reupload | rx | rx_reupload | zz, or several "
                   "comma-separated for the search to choose (default: the task's, and its interleaved variant)")
    q.add_argument("--scope", help="gate-set scope: u3cu3 | zz_ry | rxyz | zx_xx | ibm_basis | full")
    q.add_argument("--layers", type=int, help="deepest circuit searched")
    q.add_argument("--cost", help="cost figure: params | gates | two_qubit_gates | depth | transpiled_depth | infidelity")
    q.add_argument("--T", type=float, help="cost limit for constrained / mnasnet / pareto objectives")
    q.add_argument("--noise", help="fake IBM backend whose noise also scores the circuits (FakeManilaV2); none: off")
    q.add_argument("--shots", type=int, help="shot noise of N shots in the noisy evaluation (default: exact)")
    q.add_argument("--optimization-level", dest="optimization_level", type=int, help="Qiskit transpiler level 0-3")
    q.add_argument("--epochs", type=int)
    q.add_argument("--batch", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--n-train", dest="n_train", type=int, help="train on the first N samples only")
    q.add_argument("--device", help="where circuits are trained: cpu | cuda | cuda:N | mps")
    q.add_argument("--precision", help="double (complex128) | single (complex64: faster, agrees to ~1e-6)")
    q.add_argument("--supercircuit-epochs", dest="supercircuit_epochs", type=int,
                   help="one-shot: train a SuperCircuit this many epochs and score candidates by inherited weights")
    q.add_argument("--finetune-steps", dest="finetune_steps", type=int,
                   help="one-shot: Adam steps from the inherited weights before a candidate is scored")
    q.add_argument("--hpo-trials", dest="hpo_trials", type=int, help="then tune the best circuit's training with SMAC")
    _add_study_flags(q)
    q.set_defaults(func=cmd_quantum)

    sweep = sub.add_parser("depth-sweep", parents=[q], add_help=False, conflict_handler="resolve",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                           help="best circuit per number of layers 1..--layers: accuracy (noiseless, noisy) and cost per depth")
    sweep.set_defaults(func=cmd_depth_sweep)

    c = sub.add_parser("classical", help="one-shot, target-adaptive op search over a YOLOv9 neck (ultralytics)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    c.add_argument("--model", help="yolov9t | yolov9s | yolov9m | yolov9c")
    c.add_argument("--data", help="builtin:digits (generated offline) or an ultralytics data.yaml on disk")
    c.add_argument("--n-images", dest="n_images", type=int, help="size of the generated builtin:digits set")
    c.add_argument("--positions", help="neck (layers 12, 15, 18, 21) | all (the backbone's ELAN blocks too)")
    c.add_argument("--profile", help="device profile of configs/classical_scopes.yaml: cloud | mobile | tiny")
    c.add_argument("--scope", help="small | medium | large | full (default: the profile's)")
    c.add_argument("--scopes", help="comma-separated scopes searched from one supernet, e.g. small,medium,large,full")
    c.add_argument("--latency", help="measure | table | file:PATH (default: the profile's)")
    c.add_argument("--latency-limit", dest="latency_limit", type=float, help="latency limit T in ms (default: the profile's)")
    c.add_argument("--threads", type=int, help="CPU threads for latency measurement")
    c.add_argument("--latency-stat", dest="latency_stat", help="min | median of the timed runs")
    c.add_argument("--latency-backend", dest="latency_backend",
                   help="torch | onnxruntime (pip install 'hybrid-nas[onnx]')")
    c.add_argument("--imgsz", type=int)
    c.add_argument("--batch", type=int)
    c.add_argument("--supernet-epochs", dest="supernet_epochs", type=int)
    c.add_argument("--sampling", help="supernet path sampling: uniform | sandwich | progressive")
    c.add_argument("--calibration-images", dest="calibration_images", type=int, help="images for BN recalibration")
    c.add_argument("--finetune-epochs", dest="finetune_epochs", type=int, help="fine-tune the exported best subnet")
    c.add_argument("--quality", help="map50 | map50_95")
    c.add_argument("--hpo-trials", dest="hpo_trials", type=int, help="then tune the best subnet's training with SMAC")
    _add_study_flags(c)
    c.set_defaults(func=cmd_classical)

    lt = sub.add_parser("latency-table", help="measure a per-block latency table (JSON) on this machine",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    lt.add_argument("--model", default="yolov9t")
    lt.add_argument("--scope", default="full")
    lt.add_argument("--positions", default="neck")
    lt.add_argument("--imgsz", type=int, default=160)
    lt.add_argument("--threads", type=int, default=1)
    lt.add_argument("--stat", default="min", help="min | median of the timed runs")
    lt.add_argument("--backend", default="torch", help="torch | onnxruntime")
    lt.add_argument("--calibration", type=int, default=12, help="random whole subnets measured for the correction")
    lt.add_argument("--seed", type=int, default=0)
    lt.add_argument("--out", default="latency_table.json")
    lt.set_defaults(func=cmd_latency_table)

    h = sub.add_parser("hpo", help="SMAC over the training hyperparameters of a found circuit or detector",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    h.add_argument("target", choices=("quantum", "classical"))
    h.add_argument("--run-dir", dest="run_dir", help="a quantum / classical run whose best architecture is tuned")
    h.add_argument("--space", help="search space: NNI's format in .json or .yaml (a path or a file of configs/)")
    h.add_argument("--method", help="hpo (SMAC, random forest) | multi-fidelity (+ Hyperband over epochs) | random")
    h.add_argument("--trials", type=int)
    h.add_argument("--repeats", type=int, help="seeds a configuration may be evaluated on (SMAC intensification)")
    h.add_argument("--n-initial", dest="n_initial", type=int, help="SMAC's initial design size")
    h.add_argument("--min-epochs", dest="min_epochs", type=int, help="multi-fidelity: smallest budget")
    h.add_argument("--max-epochs", dest="max_epochs", type=int, help="multi-fidelity: largest budget")
    h.add_argument("--seeds", type=int, help="default vs tuned: retrain each on this many seeds")
    h.add_argument("--model", help="classical: yolov9t | yolov9s | ... or a model YAML / .pt (without --run-dir)")
    h.add_argument("--data", help="classical: builtin:digits or an ultralytics data.yaml")
    h.add_argument("--n-images", dest="n_images", type=int)
    h.add_argument("--imgsz", type=int)
    h.add_argument("--epochs", type=int, help="classical: training epochs per trial")
    h.add_argument("--quality", help="classical: map50 | map50_95")
    h.add_argument("--config", help="YAML file of settings (flags override it)")
    h.add_argument("--seed", type=int)
    h.add_argument("--workers", type=int, help="trials in parallel on a local Dask cluster of N workers")
    h.add_argument("--dask-scheduler", dest="dask_scheduler", metavar="ADDRESS", help="run trials on this Dask cluster")
    h.add_argument("--out", help="run directory (default runs/hpo-<target>-<method>-s<seed>)")
    h.add_argument("--resume", action="store_true", help="continue the SMAC run stored in --out")
    h.set_defaults(func=cmd_hpo)

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
