"""Classification tasks for QNNs, all offline: scikit-learn's bundled data sets, generated moons, or a CSV.

Features are scaled to [0, pi] with the training split's range (rotation angles); splits are stratified
and fixed by the seed. ``n_qubits`` and ``encoder`` are what the task suggests for its feature count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybrid_nas.engine.errors import DataError, unknown


@dataclass(frozen=True)
class Splits:
    """A classification data set's train/validation/test features and integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


@dataclass(frozen=True)
class Task(Splits):
    """Splits as a circuit reads them (features scaled to [0, pi]), with the qubits and encoder they suggest."""

    n_qubits: int
    encoder: str


def adaptive_pool(images: np.ndarray, size: int) -> np.ndarray:
    """Average pooling of (samples, h, w) images to (samples, size, size), windows as torch's adaptive
    pooling sets them (they overlap where h is not a multiple of size)."""
    h, w = images.shape[1:]
    rows = [(i * h // size, -(-(i + 1) * h // size)) for i in range(size)]
    cols = [(j * w // size, -(-(j + 1) * w // size)) for j in range(size)]
    return np.stack(
        [np.stack([images[:, r0:r1, c0:c1].mean(axis=(1, 2)) for c0, c1 in cols], -1) for r0, r1 in rows], 1
    )


def _digits(classes: tuple[int, ...], size: int, n_qubits: int):
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.isin(d.target, classes)
    # 8x8 pooled to size x size, one RY/RZ/RX row per image row as in QuantumNAS's 4x4_ryzxy (MNIST-4 on
    # 4 qubits) and 6x6_ryzxy (MNIST-10 on 10 qubits)
    x = adaptive_pool(d.images[keep], size).reshape(-1, size * size)
    y = np.searchsorted(np.array(classes), d.target[keep])
    return x, y, n_qubits, "ryzxy"


def _iris():
    from sklearn.datasets import load_iris

    d = load_iris()
    return d.data, d.target, 4, "rx"


def _moons():
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=400, noise=0.1, random_state=0)  # generated, so deterministic
    return x, y, 2, "rx"


def _breast_cancer(n_features: int | None):
    from sklearn.datasets import load_breast_cancer
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    d = load_breast_cancer()
    x = StandardScaler().fit_transform(d.data)
    if n_features is None:  # all 30 features: enough to feed 8-30 qubits
        return (x, d.target, *qubits_for(x.shape[1], 2))
    # PCA over all rows is unsupervised and leaks no labels; it fixes the feature count to the qubits
    return PCA(n_components=n_features, random_state=0).fit_transform(x), d.target, n_features, "rx"


MIN_PER_CLASS = 5  # a 60/20/20 stratified split puts at least one of each class in every part


def _csv(path: str, label_column: str | None):
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"data file {p} does not exist; give --task csv:PATH with a CSV of numeric features and a label column"
        )
    import csv

    try:
        with p.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [r for r in reader if r]
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"data file {p} is not a readable CSV text file ({str(e).splitlines()[0]})") from None
    if not header or not rows:
        raise DataError(f"data file {p} has no rows")
    for line, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise DataError(f"data file {p}: line {line} has {len(row)} fields, the header has {len(header)}")
    label = label_column or header[-1]
    if label not in header:
        raise DataError(f"data file {p}: {unknown('label column', label, header)}")
    features = [i for i, c in enumerate(header) if c != label]
    try:
        x = np.array([[float(r[i]) for i in features] for r in rows]).reshape(len(rows), len(features))
    except ValueError as e:
        raise DataError(f"data file {p}: a feature is not numeric ({e}); only the label column may hold text") from None
    if not features:
        raise DataError(f"data file {p} has no feature column beside its label column {label!r}")
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        (row, col), count = bad[0], len(bad)
        raise DataError(
            f"data file {p}: line {row + 2}, column {header[features[col]]!r} is {x[row, col]:g} "
            f"({count} cell(s) not finite); remove or fill them"
        )
    names, y = np.unique([r[header.index(label)] for r in rows], return_inverse=True)
    if len(names) < 2:
        raise DataError(f"data file {p}: the label column {label!r} has a single class")
    counts = np.bincount(y)
    if counts.min() < MIN_PER_CLASS:
        raise DataError(
            f"data file {p}: class {str(names[counts.argmin()])!r} has {counts.min()} row(s); the stratified "
            f"train/validation/test split needs at least {MIN_PER_CLASS} per class"
        )
    n_qubits, encoder = qubits_for(x.shape[1], len(names))
    return x, y, n_qubits, encoder


WIDE = 10  # qubits a wide feature set is spread over before it takes more rows (10: QuantumNAS's MNIST-10)


def qubits_for(n_features: int, n_classes: int) -> tuple[int, str]:
    """Qubits and encoder for a feature set: up to 8 features, one RX per qubit; more, RY/RZ/RX rows
    (ryzxy), four features per qubit up to WIDE qubits and more rows beyond. Every class has a readout
    qubit. Any feature count fits; what memory cannot hold is refused by the simulator."""
    if n_features <= 8:
        return max(2, n_classes, n_features), "rx"
    return max(2, n_classes, min(-(-n_features // 4), WIDE)), "ryzxy"


TASKS = {
    "digits4": lambda: _digits((0, 1, 2, 3), 4, 4),
    "digits2": lambda: _digits((3, 6), 4, 4),
    "digits10": lambda: _digits(tuple(range(10)), 6, 10),
    "iris": _iris,
    "moons": _moons,
    "breast-cancer": lambda: _breast_cancer(4),
    "breast-cancer8": lambda: _breast_cancer(8),
    "breast-cancer30": lambda: _breast_cancer(None),
}


def split(x, y, seed: int = 0, val: float = 0.2, test: float = 0.2) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_val, y_val, x_test, y_test): stratified, fixed by ``seed``."""
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=test, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val / (1 - test), random_state=seed, stratify=y_rest
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def load_task(name: str, seed: int = 0, label_column: str | None = None, val: float = 0.2, test: float = 0.2) -> Task:
    """A task by name (``digits4``, ..., or ``csv:PATH``) with stratified train/val/test splits."""
    if name.startswith("csv:"):
        x, y, n_qubits, encoder = _csv(name[4:], label_column)
    elif name in TASKS:
        x, y, n_qubits, encoder = TASKS[name]()
    else:
        raise DataError(unknown("task", name, [*TASKS, "csv:PATH"]))
    n_classes = int(y.max()) + 1
    if n_classes > n_qubits:
        raise DataError(
            f"task {name!r} has {n_classes} classes but {n_qubits} qubits: the readout needs a qubit per class"
        )
    x_train, y_train, x_val, y_val, x_test, y_test = split(x, y, seed, val, test)
    lo, hi = x_train.min(0), x_train.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)

    def scale(a):
        return np.clip((a - lo) / span, 0.0, 1.0) * np.pi

    return Task(name, scale(x_train), y_train, scale(x_val), y_val, scale(x_test), y_test, n_classes, n_qubits, encoder)


@lru_cache(maxsize=4)
def search_task(name: str, label_column: str | None = None, holdout: bool = False) -> Task:
    """``name`` on the one fixed split (seed 0) every trial and seed of a search scores on; loaded once per
    process (the evaluators share it). ``holdout``: its validation split less the selection split
    (``selection_split``), which no trial sees."""
    task = load_task(name, seed=0, label_column=label_column)
    if not holdout:
        return task
    keep = holdout_indices(task.y_val)[0]
    return replace(task, x_val=task.x_val[keep], y_val=task.y_val[keep])


def selection_split(name: str, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the selection split: the part of the search's validation split held out of the search, on
    which its top candidates are re-scored (``holdout_indices``)."""
    task = search_task(name, label_column)
    held = holdout_indices(task.y_val)[1]
    return task.x_val[held], task.y_val[held]


SELECTION = 0.5  # share of the validation split held out as the selection split


def can_hold_out(y_val: np.ndarray) -> bool:
    """Whether every class of a validation split can be halved (two samples or more each)."""
    return bool(np.bincount(y_val).min() >= 2)


def holdout_indices(y_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(search, selection) indices into a validation split: a stratified, fixed halving. Taken from the
    validation split, not from the training or test splits, so every candidate trains on the same data (its
    weights are the search's, so a re-score needs no other training) and the test split stays comparable
    across runs; half, so neither part is too small to rank (72 samples each on digits4)."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y_val))
    try:
        search, held = train_test_split(index, test_size=SELECTION, random_state=0, stratify=y_val)
    except ValueError:
        raise DataError(
            f"the validation split ({len(y_val)} samples, {np.bincount(y_val).min()} of its rarest class) is too "
            "small to hold out a selection split of each class: use --rescore-top 0 or a larger data set"
        ) from None
    return np.sort(search), np.sort(held)


def stratified_head(y: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` samples of ``y`` taking the classes in turn, each in its split order (already
    shuffled), so a subset keeps the classes balanced; all of them when ``n`` covers ``y``."""
    y = np.asarray(y)
    if n >= len(y):
        return np.arange(len(y))
    turn = np.empty(len(y), int)  # the sample's place within its class
    for c in np.unique(y):
        turn[y == c] = np.arange((y == c).sum())
    return np.sort(np.lexsort((np.arange(len(y)), turn))[:n])


def readout_matrix(n_qubits: int, n_classes: int) -> np.ndarray:
    """``logits = expvals @ R``: qubit c scores class c; with 2 classes each half of the qubits is summed,
    so every qubit takes part in the readout."""
    R = np.zeros((n_qubits, n_classes))
    if n_classes == 2:
        R[: n_qubits // 2, 0] = 1.0
        R[n_qubits // 2 : 2 * (n_qubits // 2), 1] = 1.0
    else:
        R[np.arange(n_classes), np.arange(n_classes)] = 1.0
    return R


def readout_accuracy(expvals, y, n_classes: int) -> float:
    """Share of samples whose readout logits (``expvals`` (samples, qubits) @ R) pick the label."""
    logits = np.asarray(expvals) @ readout_matrix(np.asarray(expvals).shape[-1], n_classes)
    return float((logits.argmax(-1) == np.asarray(y)).mean())
