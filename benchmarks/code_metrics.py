"""The shape of the code: lines per package, the longest functions, and what ``import hybrid_nas`` costs.

    python benchmarks/code_metrics.py                              # this checkout
    python benchmarks/code_metrics.py --root OTHER --formatted     # another (e.g. a worktree of an older commit)

Lines are non-blank, non-comment source lines; a module directly under ``hybrid_nas/`` counts as the package
``hybrid_nas`` (the top level). ``--formatted`` counts lines and functions on a copy formatted with this
checkout's ruff settings, so that two checkouts formatted differently compare like for like. The import time
is the median of fresh interpreters, each run in ``--root``.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path


def code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def package_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root / "hybrid_nas").parts
    return "hybrid_nas" if len(parts) == 1 else f"hybrid_nas/{parts[0]}"


def longest_functions(files: list[Path], root: Path, n: int) -> list[tuple[int, str]]:
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(root)}:{node.name}"))
    return sorted(found, reverse=True)[:n]


def import_seconds(root: Path, rounds: int) -> tuple[float, list[str]]:
    probe = (
        "import sys, time; t = time.perf_counter(); import hybrid_nas; t = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'qiskit', 'ultralytics', 'optuna', 'pennylane', 'matplotlib', 'smac') "
        "if m in sys.modules]; print(t, ','.join(heavy))"
    )
    times, heavy = [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
        seconds, names = (out.stdout.split() + [""])[:2]
        times.append(float(seconds))
        heavy = [m for m in names.split(",") if m]
    return statistics.median(times), heavy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="checkout to measure")
    p.add_argument("--longest", type=int, default=5, help="how many of the longest functions to list")
    p.add_argument("--rounds", type=int, default=7, help="fresh interpreters timed for the import")
    p.add_argument("--formatted", action="store_true", help="count on a copy formatted with this checkout's ruff")
    args = p.parse_args()
    root = Path(args.root).resolve()
    seconds, heavy = import_seconds(root, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        counted = formatted_copy(root, Path(tmp)) if args.formatted else root
        report(counted, root, seconds, heavy, args)


def formatted_copy(root: Path, tmp: Path) -> Path:
    """``root``'s package in ``tmp``, formatted with the ruff settings of this checkout's pyproject.toml."""
    here = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "hybrid_nas", tmp / "hybrid_nas", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        ["ruff", "format", "-q", "--config", str(here / "pyproject.toml"), str(tmp / "hybrid_nas")], check=True
    )
    return tmp


def report(counted: Path, root: Path, seconds: float, heavy: list[str], args: argparse.Namespace) -> None:
    files = sorted(f for f in (counted / "hybrid_nas").rglob("*.py") if "__pycache__" not in f.parts)
    lines: Counter[str] = Counter()
    for f in files:
        lines[package_of(f, counted)] += code_lines(f.read_text())
    doc = {
        "root": root.name,  # not the path: results are committed
        "formatted": args.formatted,
        "lines": dict(sorted(lines.items())),
        "total_lines": sum(lines.values()),
        "modules": len(files),
        "longest": longest_functions(files, counted, args.longest),
        "import_seconds": round(seconds, 3),
        "heavy_modules_imported": heavy,
    }
    for package, count in doc["lines"].items():
        print(f"{package:28s} {count:6d}")
    print(f"{'total':28s} {doc['total_lines']:6d}  ({doc['modules']} modules)")
    for length, name in doc["longest"]:
        print(f"longest: {length:4d} lines  {name}")
    print(
        f"import hybrid_nas: {1000 * seconds:.0f} ms (median of {args.rounds}); heavy modules imported: "
        f"{', '.join(heavy) or 'none'}"
    )
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
