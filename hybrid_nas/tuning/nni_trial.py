"""An NNI trial: ``python -m hybrid_nas.tuning.nni_trial quantum|classical [--config FILE]``.

NNI's experiment launches this once per trial: it asks NNI for the trial's hyperparameters
(``nni.get_next_parameter()``), trains the target of ``hybrid-nas hpo`` with them, and reports the
validation quality (``nni.report_final_result``) with the other metrics alongside. See
hybrid_nas/configs/nni_experiment.yml. NNI stays optional: ``pip install 'hybrid-nas[nni]'``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError, HybridNasError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hybrid_nas.tuning.nni_trial", description=__doc__.splitlines()[0])
    ap.add_argument("target", choices=("quantum", "classical"))
    ap.add_argument("--config", help="settings of `hybrid-nas hpo <target>` (YAML); default: the packaged ones")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        import nni
    except ImportError:
        print("hybrid-nas: error: the NNI trial needs NNI: pip install 'hybrid-nas[nni]'", file=sys.stderr)
        return 2
    from hybrid_nas.engine.registry import hpo_target
    from hybrid_nas.engine.space import Architecture
    from hybrid_nas.tuning.command import HPOClassicalSettings, HPOQuantumSettings

    try:
        cls = HPOQuantumSettings if args.target == "quantum" else HPOClassicalSettings
        target = hpo_target(args.target)
        evaluator = target.build(cls.resolve(args.config), Path(tempfile.gettempdir()) / "hybrid-nas-nni")
        aliases = target.aliases
        params = {aliases.get(k, k): v for k, v in (nni.get_next_parameter() or {}).items()}
        evaluator.prepare(params)
        evaluator.check(params)
        metrics = evaluator.evaluate(Architecture(params), args.seed)
        quality = metrics[evaluator.quality]
        if not math.isfinite(quality):  # NNI would record it as a number: fail the trial instead
            raise ConfigError(f"the trial's {evaluator.quality} is {quality}")
    except HybridNasError as e:
        print(f"hybrid-nas: error: {e}", file=sys.stderr)
        return 2
    nni.report_final_result({"default": quality, **metrics})
    print(f"{evaluator.quality} {quality:.4f} with {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
