"""Screenshots of optuna-dashboard on two runs, taken with headless Chromium (Debian's `chromium` package):
the quantum default run and an NB201 Pareto run (NSGA-II, 300 trials). A run directory that exists is shown
as it is; one that does not is made first.

    python benchmarks/dashboard_screenshots.py --quantum runs/q --nb201 runs/nb201-pareto
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import hybrid_nas as hn

FIGURES = Path(__file__).parent / "figures"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1100",
    "--virtual-time-budget=15000",
]


def screenshot(run_dir: Path, png: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("headless Chromium is needed: apt-get install chromium")
    board = hn.dashboard(run_dir, port=0)  # served from a thread of this process, on a free port
    try:
        with urllib.request.urlopen(board.url + "api/studies", timeout=30) as response:
            (study,) = json.load(response)["study_summaries"]
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    browser,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--screenshot={png}",
                    f"{board.url}dashboard/studies/{study['study_id']}",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
    finally:
        board.stop()
    print(f"wrote {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quantum", default="runs/q", help="a quantum run directory (made with the defaults if absent)")
    ap.add_argument("--nb201", default="runs/nb201-pareto", help="an NB201 Pareto run (made if absent)")
    args = ap.parse_args()
    quantum, nb201 = Path(args.quantum), Path(args.nb201)
    if not quantum.is_dir():
        hn.quantum.search(out=quantum)
    if not nb201.is_dir():
        hn.nb201.search(out=nb201, objective="pareto", strategy="nsga2", budget=300)
    FIGURES.mkdir(exist_ok=True)
    screenshot(quantum, FIGURES / "dashboard_quantum.png")
    screenshot(nb201, FIGURES / "dashboard_nb201_pareto.png")


if __name__ == "__main__":
    main()
