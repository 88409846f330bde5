"""NAS-Bench-201 as a search space: 6 cell edges x 5 ops, scored by table look-up (no training).

The table (CIFAR-10/100 and ImageNet16-120 accuracy, latency on 27 device settings for all 15,625
cells) ships with the package; provenance in ``hybrid_nas/nb201/data/NB201.md``.
"""

from __future__ import annotations

import csv
import gzip
from functools import lru_cache
from importlib import resources

import numpy as np

from hybrid_nas.engine.errors import ConfigError, DataError, SpaceError, unknown
from hybrid_nas.engine.evaluator import Evaluator
from hybrid_nas.engine.space import Architecture, Decision, SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to node, from node) in the order of NB201's arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
DATASETS = {"cifar10": "cifar10_test_acc", "cifar100": "cifar100_test_acc", "imagenet16-120": "imagenet16_120_test_acc"}


class NB201Table:
    """The table as arrays: column name -> float array indexed by NB201 index, and arch string -> index."""

    def __init__(self, rows: list[dict[str, str]]):
        if len(rows) != len(OPS) ** len(EDGES):
            raise DataError(f"the NB201 table has {len(rows)} rows, expected {len(OPS) ** len(EDGES)}")
        self.arch_strings = [r["arch_string"] for r in rows]
        self.index = {s: i for i, s in enumerate(self.arch_strings)}
        self.columns = {
            k: np.array([float(r[k]) for r in rows]) for k in rows[0] if k not in ("nb201_index", "arch_string")
        }
        self.devices = sorted(k.removeprefix("lat_ms_") for k in self.columns if k.startswith("lat_ms_"))

    def accuracy(self, dataset: str) -> np.ndarray:
        return self.columns[DATASETS[dataset]]

    def latency(self, device: str) -> np.ndarray:
        return self.columns[f"lat_ms_{device}"]


@lru_cache(maxsize=1)
def load_table() -> NB201Table:
    try:
        with (
            resources.files("hybrid_nas.nb201").joinpath("data/nb201.csv.gz").open("rb") as raw,
            gzip.open(raw, "rt", newline="") as f,
        ):
            return NB201Table(list(csv.DictReader(f)))
    except (OSError, KeyError, ValueError) as e:
        raise DataError(
            f"cannot read the packaged NB201 table (hybrid_nas/nb201/data/nb201.csv.gz): {e}; reinstall hybrid-nas"
        ) from None


class NB201Space(SearchSpace):
    """Decisions ``edge_<to>_<from>``, each choosing one of NB201's five ops."""

    name = "nb201"

    def __init__(self):
        super().__init__([Decision(f"edge_{to}_{src}", OPS) for to, src in EDGES])

    def describe(self, arch: Architecture) -> str:
        """NB201's own notation, e.g. ``|nor_conv_3x3~0|+|...~0|...~1|+|...~0|...~1|...~2|``."""
        nodes = []
        for to in (1, 2, 3):
            nodes.append("|" + "|".join(f"{arch[f'edge_{to}_{src}']}~{src}" for src in range(to)) + "|")
        return "+".join(nodes)

    def parse(self, arch_string: str) -> Architecture:
        """The architecture of an NB201 arch string; a clear error for a malformed one."""
        try:
            choices = {}
            for to, node in enumerate(arch_string.strip().split("+"), start=1):
                for src, item in enumerate(node.strip("|").split("|")):
                    op, _, from_node = item.partition("~")
                    if int(from_node) != src:
                        raise ValueError
                    choices[f"edge_{to}_{src}"] = op
        except ValueError:
            raise SpaceError(
                f"malformed NB201 arch string {arch_string!r}; expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
            ) from None
        return self.validate(choices)

    def index(self, arch: Architecture) -> int:
        return load_table().index[self.describe(self.validate(arch))]


def check_devices(devices, what: str = "NB201 latency device") -> tuple[str, ...]:
    """The device names, each checked against the table's (one clear line for an unknown one)."""
    known = load_table().devices
    for d in devices:
        if d not in known:
            raise ConfigError(unknown(what, d, known))
    return tuple(devices)


class NB201Evaluator(Evaluator):
    """Looks up test accuracy (as a fraction) on ``dataset`` and latency (ms) on ``device``."""

    name = "nb201"
    quality = "accuracy"

    def __init__(self, dataset: str = "cifar100", device: str = "titan_rtx_256"):
        if dataset not in DATASETS:
            raise ConfigError(unknown("NB201 dataset", dataset, DATASETS))
        check_devices([device])
        self.dataset, self.device = dataset, device
        self.space = NB201Space()

    def meta(self):
        return {"name": self.name, "dataset": self.dataset, "device": self.device}

    def evaluate(self, arch, seed=0):
        table = load_table()
        i = table.index[self.space.describe(arch)]
        return {
            "accuracy": float(table.accuracy(self.dataset)[i]) / 100.0,
            "latency_ms": float(table.latency(self.device)[i]),
        }

    def oracle(self, T: float | None = None) -> tuple[int, float, float]:
        """(index, accuracy, latency) of the most accurate cell with latency <= T (any latency if None)."""
        table = load_table()
        acc, lat = table.accuracy(self.dataset), table.latency(self.device)
        ok = np.ones_like(acc, bool) if T is None else lat <= T
        if not ok.any():
            raise ConfigError(
                f"no NB201 cell has latency <= {T} ms on {self.device}; the fastest takes {lat.min():.3g} ms"
            )
        i = int(np.flatnonzero(ok)[np.argmax(acc[ok])])
        return i, acc[i] / 100.0, float(lat[i])
