"""A real NNI experiment (local training service, TPE) whose trials are `python -m hybrid_nas.tuning.nni_trial`,
on the packaged NNI-format search space; prints what every trial reported. Needs NNI:
pip install 'hybrid-nas[nni]'.

    python benchmarks/nni_experiment.py --trials 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workdir", default="runs/nni")
    args = ap.parse_args()
    from nni.experiment import Experiment

    exp = Experiment("local")
    exp.config.experiment_name = "hybrid-nas-quantum-hpo"
    exp.config.search_space = json.loads((ROOT / "hybrid_nas" / "configs" / "hpo_quantum_space.json").read_text())
    exp.config.trial_command = f"{sys.executable} -m hybrid_nas.tuning.nni_trial quantum"
    exp.config.trial_code_directory = str(ROOT)
    exp.config.trial_concurrency = 1
    exp.config.max_trial_number = args.trials
    exp.config.tuner.name = "TPE"
    exp.config.tuner.class_args = {"optimize_mode": "maximize"}
    exp.config.experiment_working_directory = str(Path(args.workdir).resolve())
    exp.run(args.port, wait_completion=True, debug=False)
    for t in exp.export_data():
        print(json.dumps({"parameters": t.parameter, "reported": t.value}))
    exp.stop()


if __name__ == "__main__":
    main()
