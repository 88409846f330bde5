"""What an HPO study evaluates: the target trained with an architecture's hyperparameters (and fidelity), on
the architecture's seed when it carries one (a configuration repeated on SMAC's seeds), else the trial's."""

from __future__ import annotations

from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture
from hybrid_nas.tuning.searchspace import HPOSpace


class HPOTrial(Evaluator):
    """``target`` (a ``CircuitTraining``, a ``DetectorTraining``) seen as a study's evaluator; picklable."""

    def __init__(self, target: Evaluator, space: HPOSpace):
        self.target, self.space = target, space
        self.name, self.quality = target.name, target.quality

    def setup(self) -> None:
        self.target.setup()

    def meta(self) -> dict:
        return self.target.meta()

    def evaluate(self, arch, seed):
        own = self.space.seed_of(arch)
        return self.target.evaluate(Architecture(self.space.hyperparameters(arch)), seed if own is None else own)
