"""``hybrid-nas``: the command line. It builds its parser from the registered commands, runs the same
functions as the Python API, and prints; every user mistake ends in one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys

from hybrid_nas import __version__
from hybrid_nas.engine.errors import HybridNasError
from hybrid_nas.engine.jobs import make_job
from hybrid_nas.engine.registry import Command, commands
from hybrid_nas.engine.settings import add_flags, given_flags


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--config", help="YAML file of settings, e.g. a run's config.yaml to repeat it (flags override it)")
    g.add_argument("--out", help="run directory (default: runs/<command>-...-s<seed>)")
    g.add_argument("--resume", action="store_true", help="continue the run stored in --out")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_command(sub, command: Command) -> None:
    p = sub.add_parser(command.path[-1], help=command.help, description=command.help)
    for flag, text, _ in command.listings:
        p.add_argument(flag, action="store_true", help=text)
    add_flags(p, command.settings)
    _add_run_flags(p)
    p.set_defaults(command=command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybrid-nas", description="Quantum-classical hybrid neural architecture search."
    )
    parser.add_argument("--version", action="version", version=f"hybrid-nas {__version__}")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for command in commands().values():
        if len(command.path) == 1:
            _add_command(sub, command)
            continue
        head = command.path[0]
        if head not in groups:
            group = sub.add_parser(
                head,
                help={
                    "bench": "search a tabular benchmark (no training): nb201",
                    "hpo": "SMAC3 or an NNI tuner over the training hyperparameters of a found circuit or detector",
                }.get(head, head),
            )
            groups[head] = group.add_subparsers(dest=f"{head}_command", metavar="TARGET", required=True)
        _add_command(groups[head], command)
    report = sub.add_parser("report", help="plots and summary.md for a run directory")
    report.add_argument("run_dir", help="a run directory (holds storage.json, or one per study)")
    report.add_argument("--out", help="write the report here instead of into the run directory (which is only read)")
    dash = sub.add_parser(
        "dashboard",
        help="optuna-dashboard on a run (live), several runs side by side, or a storage URL",
        description="optuna-dashboard on a run (live), several "
        "runs side by side (a snapshot), a journal file or a storage URL",
    )
    dash.add_argument(
        "targets", nargs="+", metavar="RUN_DIR|URL", help="run directories, journal files or Optuna storage URLs"
    )
    dash.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    dash.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.subcommand == "report":
        from hybrid_nas.engine.run import load

        summary = load(args.run_dir).report(args.out)
        print(f"wrote {summary} and its report/*.png")
        return 0
    if args.subcommand == "dashboard":
        from hybrid_nas.dashboard import Dashboard

        Dashboard(args.targets, host=args.host, port=args.port).serve_forever()
        return 0
    command: Command = args.command
    for flag, _, text in command.listings:
        if getattr(args, flag.lstrip("-").replace("-", "_")):
            print(text())
            return 0
    job = make_job(command, config=args.config, **given_flags(args, command.settings))
    result = job.execute(args.out, resume=args.resume, progress=not args.no_progress)
    print(job.summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except HybridNasError as e:
        print(f"hybrid-nas: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hybrid-nas: interrupted; finished trials are stored: run again with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
