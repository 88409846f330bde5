"""Classification tasks for hybrid models: the raw features (a front-end learns what the circuit reads),
standardised by the training split's mean and spread. Offline: scikit-learn's bundled data, generated
moons, or a CSV."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybrid_nas.engine.errors import DataError, unknown
from hybrid_nas.quantum.data import Splits, _csv, split


def _sklearn(loader: str):
    def load():
        import sklearn.datasets

        d = getattr(sklearn.datasets, loader)()
        return d.data.astype(float), d.target

    return load


def _moons():
    from sklearn.datasets import make_moons

    return make_moons(n_samples=400, noise=0.1, random_state=0)


TASKS = {
    "digits10": _sklearn("load_digits"),  # 8x8 images, 64 features, 10 classes
    "breast-cancer": _sklearn("load_breast_cancer"),  # 30 features, 2 classes
    "wine": _sklearn("load_wine"),  # 13 features, 3 classes
    "iris": _sklearn("load_iris"),  # 4 features, 3 classes
    "moons": _moons,  # 2 features, 2 classes
}
TASK_NAMES = " | ".join([*TASKS, "csv:PATH"])


@dataclass(frozen=True)
class Features(Splits):
    """Splits of standardised features (float32), with the standardisation: an exported model takes raw features."""

    mean: np.ndarray
    scale: np.ndarray


def load_features(name: str, seed: int = 0, label_column: str | None = None) -> Features:
    """Task ``name`` (see ``TASKS``, or ``csv:PATH``) with stratified train/val/test splits fixed by ``seed``."""
    if name.startswith("csv:"):
        x, y = _csv(name[4:], label_column)[:2]
    elif name in TASKS:
        x, y = TASKS[name]()
    else:
        raise DataError(unknown("hybrid task", name, [*TASKS, "csv:PATH"]))
    x_train, y_train, x_val, y_val, x_test, y_test = split(np.asarray(x, float), np.asarray(y), seed)
    mean, scale = x_train.mean(0), x_train.std(0)
    scale = np.where(scale > 0, scale, 1.0)  # a constant feature (digits' border pixels) stays 0

    def standard(a):
        return ((a - mean) / scale).astype(np.float32)

    return Features(
        name,
        standard(x_train),
        y_train,
        standard(x_val),
        y_val,
        standard(x_test),
        y_test,
        int(y.max()) + 1,
        mean,
        scale,
    )
