"""NAS-Bench-201 latency on a device from a few measurements there: the cells' encodings, their FLOPs
and parameter counts, and the transfer predictor fitted for one target device of the table.

The encoding is the count of each op in the cell: NB201's network repeats one cell 15 times, so its
latency is close to additive in its ops (an op-count ridge fitted on a whole table ranks the held-out
cells of most devices at Spearman >= 0.99). A one-hot of the six edges is there for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.latency_transfer import LatencyPredictor, Measurements, spearman
from hybrid_nas.nb201.table import EDGES, OPS, NB201Evaluator, NB201Space, check_devices, load_table

# HELP's reference cells ("HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via
# Meta-Learning", 2021): the ten NB201 indices whose latencies are its hardware embedding.
REFERENCE_CELLS = (11982, 431, 55, 9, 14451, 8636, 9881, 13479, 6196, 1462)
# HELP's protocol: the extra samples come from the first 900 cells, the query cells are 900-1899.
SAMPLE_POOL = 900
QUERY = (900, 1900)
# HELP's split of its devices (meta-train, meta-validation, meta-test).
HELP_SPLIT = {
    "train": (
        "1080ti_1",
        "1080ti_32",
        "1080ti_256",
        "silver_4114",
        "silver_4210r",
        "samsung_a50",
        "pixel3",
        "essential_ph_1",
        "samsung_s7",
    ),
    "valid": ("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
    "test": ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"),
}
CANDIDATES = (("encoding",), ("devices",), ("encoding", "devices"))

# The CIFAR NB201 network: a 3x3 stem to 16 channels at 32x32, three stages of five cells at
# (16, 32x32), (32, 16x16), (64, 8x8), a residual reduction block between stages, a linear head.
_STAGES = ((16, 32 * 32), (32, 16 * 16), (64, 8 * 8))
_CELLS_PER_STAGE = 5


@lru_cache(maxsize=1)
def _op_matrix() -> np.ndarray:
    """(15,625, 6) op index per edge, row = NB201 index."""
    ops = []
    for arch in load_table().arch_strings:
        ops.append([OPS.index(item.split("~")[0]) for node in arch.split("+") for item in node.strip("|").split("|")])
    return np.array(ops, dtype=int)


def op_counts(indices: np.ndarray | None = None) -> np.ndarray:
    """(n, 5) count of each op of ``OPS`` in each cell."""
    m = _op_matrix() if indices is None else _op_matrix()[np.asarray(indices)]
    return np.stack([(m == k).sum(1) for k in range(len(OPS))], 1).astype(float)


def one_hot(indices: np.ndarray | None = None) -> np.ndarray:
    """(n, 30) one-hot op per edge."""
    m = _op_matrix() if indices is None else _op_matrix()[np.asarray(indices)]
    return (m[:, :, None] == np.arange(len(OPS))).reshape(len(m), len(EDGES) * len(OPS)).astype(float)


def flops_and_params(indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multiply-accumulates and parameters of the cells' whole CIFAR-100 network, counted from the
    network's definition (ReLU-conv-BN ops; the stem, reductions and head are the same for every cell
    and add a constant, left out: only the ranking is used)."""
    n = op_counts(indices)
    conv1, conv3 = n[:, OPS.index("nor_conv_1x1")], n[:, OPS.index("nor_conv_3x3")]
    pool = n[:, OPS.index("avg_pool_3x3")]
    per_cell = [(conv1 * c * c + conv3 * 9 * c * c + pool * 9 * c) * hw for c, hw in _STAGES]
    macs = _CELLS_PER_STAGE * sum(per_cell)
    params = _CELLS_PER_STAGE * sum(conv1 * (c * c + 2 * c) + conv3 * (9 * c * c + 2 * c) for c, _ in _STAGES)
    return macs, params


@dataclass
class DevicePrediction:
    """A predictor fitted for one target device: predicted latency (ms) of every cell, the cells
    measured, and the groups and penalties the fit chose."""

    device: str
    latency_ms: np.ndarray
    measured: np.ndarray
    groups: tuple[str, ...]
    penalties: dict[str, float]
    loo_rmse: float


def sample_cells(measurements: int, seed: int) -> np.ndarray:
    """HELP's ten reference cells first, then cells drawn at random (by ``seed``) from the first 900."""
    if measurements < 3:
        raise ConfigError(f"measurements must be >= 3, got {measurements}")
    ref = np.array(REFERENCE_CELLS[:measurements])
    pool = np.setdiff1d(np.arange(SAMPLE_POOL), ref)
    extra = np.random.default_rng(seed).choice(pool, measurements - len(ref), replace=False)
    return np.r_[ref, extra].astype(int)


def predict_device(
    target: str,
    known: tuple[str, ...],
    measurements: Measurements,
    cells: np.ndarray,
    groups: tuple[str, ...] = ("encoding",),
) -> DevicePrediction:
    """Measure ``cells`` on ``target`` (through ``measurements``, the only access to its column), fit
    the predictor on them with the ``known`` devices' columns, and predict every cell."""
    if target in known:
        raise ConfigError(f"the target device {target!r} is also among the known devices")
    table = load_table()
    features = {"encoding": op_counts()}
    if "devices" in groups:
        if not known:
            raise ConfigError("the 'devices' feature group needs at least one known device")
        features["devices"] = np.stack([table.latency(d) for d in known], 1)
    y = measurements.measure(cells)
    model = LatencyPredictor(groups).fit({g: f[cells] for g, f in features.items()}, y)
    assert model.fit_ is not None
    return DevicePrediction(target, model.predict(features), cells, groups, model.fit_.penalties, model.fit_.loo_rmse)


def table_measurements(device: str, budget: int) -> Measurements:
    """Measurements of ``device`` read from the table, at most ``budget`` distinct cells."""
    check_devices([device])
    return Measurements(lambda idx: load_table().latency(device)[idx], budget)


def query_cells(device: str, protocol: str) -> np.ndarray:
    """The cells a device is scored on: HELP's (900-1899 without the device's fastest and slowest
    10 %) or NASFLAT's (all cells)."""
    if protocol == "nasflat":
        return np.arange(len(load_table().arch_strings))
    lo, hi = QUERY
    q = np.arange(lo, hi)
    lat = load_table().latency(device)[q]
    order = np.argsort(lat, kind="stable")
    k = len(q) // 10
    return np.sort(q[order[k : len(q) - k]])


def choose_groups(known: tuple[str, ...], validation: tuple[str, ...], measurements: int, seeds: int = 3):
    """Meta-validation: the candidate groups with the best mean Spearman (HELP's protocol) over the
    ``validation`` devices, each playing the target with ``measurements`` cells, the other ``known``
    devices known."""
    from hybrid_nas.engine.latency_transfer import select_groups

    table = load_table()

    def score(groups: tuple[str, ...]) -> float:
        rhos = []
        for d in validation:
            q = query_cells(d, "help")
            for s in range(seeds):
                cells = sample_cells(measurements, s)
                others = tuple(k for k in known if k != d)
                p = predict_device(d, others, table_measurements(d, measurements), cells, groups)
                rhos.append(spearman(p.latency_ms[q], table.latency(d)[q]))
        return float(np.mean(rhos))

    return select_groups(CANDIDATES, score)


class NB201PredictedEvaluator(NB201Evaluator):
    """Accuracy from the table, latency from a predictor fitted on a few true measurements of the device
    (plus ``margin`` ms, so that a cell predicted within T is within T in truth): what a search on a
    device never measured sees. The device's true column is not read here."""

    name = "nb201-predicted"

    def __init__(self, dataset: str, device: str, prediction: DevicePrediction, margin: float, seed: int):
        super().__init__(dataset, device)
        self.predicted = prediction.latency_ms + margin
        self.measured, self.margin, self.seed = prediction.measured, margin, seed

    def meta(self):
        return super().meta() | {"measurements": len(self.measured), "margin_ms": self.margin, "seed": self.seed}

    def evaluate(self, arch, seed=0):
        table = load_table()
        i = table.index[self.space.describe(arch)]
        return {
            "accuracy": float(table.accuracy(self.dataset)[i]) / 100.0,
            "latency_ms": float(self.predicted[i]),
        }


def predicted_evaluator(
    dataset: str, device: str, measurements: int, fit: int, margin: float, seed: int
) -> tuple[NB201PredictedEvaluator, DevicePrediction, Measurements]:
    """The evaluator of a search on ``device`` allowed ``measurements`` true cells, the predictor fitted
    on ``fit`` of them (HELP's reference cells, then random ones by ``seed``; the rest are left for
    verification): every other device of the table is known. ``margin`` is in units of the fit's
    leave-one-out RMSE. The feature groups are chosen by meta-validation on the known devices."""
    target = check_devices([device])[0]
    known = tuple(d for d in load_table().devices if d != target)
    groups, _ = choose_groups(known, known, fit, seeds=1)
    meter = table_measurements(target, measurements)
    prediction = predict_device(target, known, meter, sample_cells(fit, seed), groups)
    return NB201PredictedEvaluator(dataset, target, prediction, margin * prediction.loo_rmse, seed), prediction, meter


def verified_search_result(
    trials, prediction: DevicePrediction, meter: Measurements, T: float, limit: int, accuracy: np.ndarray
) -> tuple[int, float, float] | None:
    """The search's result checked on the device: its most accurate cells predicted within ``T``
    measured in turn (at most ``limit`` new measurements) until one is within T in truth; the cells the
    predictor was fitted on compete too, at no cost. (index, accuracy, true latency) or None."""
    from hybrid_nas.engine.latency_transfer import verify_best

    space = NB201Space()
    candidates = {}
    for t in trials:
        if t.ok:
            i = space.index(t.arch)
            candidates[i] = (i, float(accuracy[i]), float(prediction.latency_ms[i]))
    measured = meter.measure(prediction.measured)  # already read: free
    for i, lat in zip(prediction.measured, measured):
        candidates[int(i)] = (int(i), float(accuracy[i]), float(lat))
    return verify_best(list(candidates.values()), meter, T, limit)
