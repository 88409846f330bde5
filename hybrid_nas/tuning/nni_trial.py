"""An NNI trial: ``python -m hybrid_nas.tuning.nni_trial quantum|classical [--run-dir RUN | --config FILE]``.

NNI's experiment launches this once per trial: it takes the trial's hyperparameters from NNI
(``nni.get_next_parameter()``), trains the target of ``hybrid-nas hpo`` with them and reports the result
(``nni.report_final_result``: the value NNI's tuner maximises under ``default``, the metrics alongside).

With ``--run-dir`` (what ``hybrid-nas hpo TARGET --tuner nni:NAME`` starts) the trial belongs to that run: it
reads the run's settings and is evaluated and recorded as a new trial of the run's study (its number and seed,
metrics or error, in the run's journal); NNI gets the study's reward and the trial's number. Without it (an
experiment of ``nnictl create --config hybrid_nas/configs/nni_experiment.yml``) the packaged settings of
``hybrid-nas hpo TARGET``, or ``--config``, say what is trained, and only NNI keeps the result.
NNI stays optional: ``pip install 'hybrid-nas[nni]'``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from hybrid_nas.engine.errors import ConfigError, HybridNasError
from hybrid_nas.tuning import TARGETS


def in_run(target: str, run_dir: Path, params: dict):
    """Evaluate ``params`` as a new trial of the study of ``run_dir``, a run of ``hpo TARGET --tuner nni:...``."""
    from hybrid_nas.engine.jobs import make_job
    from hybrid_nas.engine.registry import command
    from hybrid_nas.engine.run import load
    from hybrid_nas.tuning.command import HPOJob
    from hybrid_nas.tuning.nni_experiment import nni_study

    run = load(run_dir)
    if run.command != f"hpo {target}" or not str(run.settings.get("tuner", "")).startswith("nni:"):
        raise ConfigError(f"{run_dir} is not a run of `hybrid-nas hpo {target} --tuner nni:...`")
    job = make_job(command(("hpo", target)), config=run_dir / "config.yaml")
    assert isinstance(job, HPOJob)
    spec, _ = job.spec(run_dir)
    study = nni_study(run_dir, spec, job.settings, resume=True)
    try:
        return study.run_given(params), spec.evaluator.quality
    finally:
        study.store.close()


def standalone(target: str, config: str | None, params: dict, seed: int) -> tuple[float, dict]:
    """Train ``target`` of the packaged settings (or ``config``) with ``params``: its quality and metrics."""
    from hybrid_nas.engine.registry import hpo_target
    from hybrid_nas.engine.space import Architecture
    from hybrid_nas.tuning.command import HPOClassicalSettings, HPOQuantumSettings

    cls = HPOQuantumSettings if target == "quantum" else HPOClassicalSettings
    found = hpo_target(target)
    evaluator = found.build(cls.resolve(config), Path(tempfile.gettempdir()) / "hybrid-nas-nni")
    params = {found.aliases.get(k, k): v for k, v in params.items()}
    evaluator.prepare(params)
    evaluator.check(params)
    metrics = evaluator.evaluate(Architecture(params), seed)
    quality = metrics[evaluator.quality]
    if not math.isfinite(quality):  # NNI would record it as a number: fail the trial instead
        raise ConfigError(f"the trial's {evaluator.quality} is {quality}")
    return quality, metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hybrid_nas.tuning.nni_trial", description=__doc__.splitlines()[0])
    ap.add_argument("target", choices=TARGETS)
    ap.add_argument("--run-dir", help="the run of `hybrid-nas hpo TARGET --tuner nni:NAME` whose study records it")
    ap.add_argument("--config", help="settings of `hybrid-nas hpo TARGET` (YAML), without --run-dir")
    ap.add_argument("--seed", type=int, default=0, help="the training's seed, without --run-dir")
    args = ap.parse_args(argv)
    try:
        import nni
    except ImportError:
        print("hybrid-nas: error: the NNI trial needs NNI: pip install 'hybrid-nas[nni]'", file=sys.stderr)
        return 2
    params = nni.get_next_parameter() or {}
    try:
        if args.run_dir is None:
            quality, metrics = standalone(args.target, args.config, params, args.seed)
            result = {"default": quality, **metrics}
        else:
            trial, name = in_run(args.target, Path(args.run_dir), params)
            if not trial.ok:  # recorded as failed in the study; NNI records a failed trial too
                print(f"hybrid-nas: trial {trial.number} failed: {trial.error}", file=sys.stderr)
                return 1
            quality, result = trial.metrics[name], {"default": trial.reward, **trial.metrics, "trial": trial.number}
    except HybridNasError as e:
        print(f"hybrid-nas: error: {e}", file=sys.stderr)
        return 2
    nni.report_final_result(result)
    print(f"quality {quality:.4f} with {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
