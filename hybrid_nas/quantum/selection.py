"""The quantum search's re-score (``hybrid_nas.engine.rescore``): its top candidates, retrained with their
seeds (the search's weights), scored on the selection split held out of the validation split
(``data.selection_split``), noiselessly and, with ``--noise``, under the device's noise."""

from __future__ import annotations

from hybrid_nas.engine.jobs import StudyResult
from hybrid_nas.engine.rescore import rescore
from hybrid_nas.quantum.data import selection_split
from hybrid_nas.quantum.evaluator import QNNEvaluator


def rescore_study(result: StudyResult, evaluator: QNNEvaluator, k: int) -> dict:
    """``rescore`` of the study's top ``k`` on the selection split; what ``best.json`` adds."""
    x, y = selection_split(evaluator.task_name, evaluator.label_column)
    return rescore(
        result.dir,
        result.view,
        k,
        lambda t: evaluator.score_on(t.arch, t.seed, x, y),
        result.spec.space.describe,
        f"selection split: {len(y)} samples held out of the validation split",
    )
