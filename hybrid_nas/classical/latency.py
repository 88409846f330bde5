"""Latency: measured on this machine, or predicted by a lookup table with a whole-network correction.

Measurement: a fused copy of the network, batch 1, fixed thread count, warm-up runs, then the median (or
minimum) of repeated runs. The table holds, per position and block the space offers there (its op, and in a
space of elastic depth or width its repeats and hidden channels: keys ``<op>/d<repeats>/w<percent>``, from
``NeckSpace.block_keys``), the latency of that block alone at its input shape;
the blocks' sum misses everything the whole network adds (the rest of the layers, memory traffic between
layers, framework overhead), so a prediction is ``intercept + slope * sum`` with both fitted by least
squares to whole-network measurements of random subnets. A table is JSON, so one measured on another
device (a phone, with the same format) can stand in for this machine's (``--latency file:PATH``).
"""

from __future__ import annotations

import copy
import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hybrid_nas.classical.block import SearchableELAN
from hybrid_nas.classical.ops import BlockChoice
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.devices import describe, resolve_device, synchronize
from hybrid_nas.engine.errors import ConfigError, DataError, unknown
from hybrid_nas.engine.scoped import torch_threads
from hybrid_nas.engine.space import Architecture

STATISTICS: dict[str, Callable[[list[float]], Any]] = {"median": np.median, "min": np.min}
BACKENDS = ("torch", "onnxruntime")


@dataclass(frozen=True)
class Timing:
    """How a latency is measured: CPU threads, warm-up runs, timed runs, and the statistic of the timed runs.

    The minimum by default: on the build machine (a shared 2-core VM) single runs of one subnet spread from
    28 to 44 ms and the median of 20 runs moved by 15 % between repetitions, while the minimum moved by
    ~4 %; the median measures the neighbours as much as the network (benchmarks/README.md).
    ``backend`` torch runs the fused PyTorch model; onnxruntime runs its ONNX export (optional packages)."""

    threads: int = 1
    warmup: int = 5
    repeats: int = 50
    statistic: str = "min"
    backend: str = "torch"
    device: str = "cpu"  # cpu (``threads`` of it) or cuda[:N] (synchronised around each timed run)

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise ConfigError(unknown("latency statistic", self.statistic, STATISTICS))
        if self.backend not in BACKENDS:
            raise ConfigError(unknown("latency backend", self.backend, BACKENDS))
        if self.backend == "onnxruntime" and self.device != "cpu":
            raise ConfigError(f"latency backend onnxruntime times on the CPU here; got latency device {self.device!r}")
        if self.threads < 1 or self.repeats < 1:
            raise ConfigError(f"latency timing needs threads >= 1 and repeats >= 1, got {self.threads}, {self.repeats}")


@torch.no_grad()
def measure_ms(module: torch.nn.Module, shape: tuple[int, ...], timing: Timing = Timing()) -> float:
    """Wall time of one forward pass (ms) of a fused, eval-mode copy of ``module``, batch of ``shape``."""
    device = resolve_device(timing.device)
    model = copy.deepcopy(module).float().cpu().eval()
    if (fuse := getattr(model, "fuse", None)) is not None:
        model = fuse(verbose=False)
    x = torch.zeros(shape)
    if timing.backend == "onnxruntime":
        forward = _onnxruntime(model, x, timing.threads)
    else:
        model, x = model.to(device), x.to(device)

        def forward():
            return model(x)

    with torch_threads(timing.threads):
        for _ in range(timing.warmup):
            forward()
        times = []
        for _ in range(timing.repeats):
            synchronize(device)
            start = time.perf_counter()
            forward()
            synchronize(device)
            times.append(time.perf_counter() - start)
    return 1000 * float(STATISTICS[timing.statistic](times))


def _onnxruntime(model: torch.nn.Module, x: torch.Tensor, n_threads: int):
    """A forward pass of the model's ONNX export in an ONNX Runtime CPU session. Exported by torch itself:
    ultralytics' exporter would pip-install missing packages at run time."""
    import io

    try:
        import onnxruntime as ort

        buffer = io.BytesIO()
        # torch's annotation names paths only; a file object is documented and works
        torch.onnx.export(model, (x,), buffer, dynamo=False, opset_version=17)  # type: ignore[arg-type]
    except ImportError as e:
        raise ConfigError(
            f"latency backend onnxruntime needs onnx and onnxruntime ({e}): pip install 'hybrid-nas[onnx]'"
        ) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = n_threads, 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    return lambda: session.run(None, feed)


def block_inputs(model, imgsz: int) -> dict[int, tuple[int, ...]]:
    """Input shape of every searchable block of a built model at ``imgsz``."""
    shapes, hooks = {}, []

    def record(module, args):  # a pre-hook must return None, or it replaces the input
        shapes[module.i] = tuple(args[0].shape)

    for m in model.model:
        if isinstance(m, SearchableELAN):
            hooks.append(m.register_forward_pre_hook(record))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, imgsz, imgsz))
    for h in hooks:
        h.remove()
    return shapes


def _fused_block(block: SearchableELAN, choice: BlockChoice) -> SearchableELAN:
    """The plain block of ``choice`` (its op, repeats and hidden channels, as a subnet builds it) at
    ``block``'s input and output channels, BN folded as ultralytics' fuse() folds it."""
    from ultralytics.utils.torch_utils import fuse_conv_and_bn

    from hybrid_nas.classical.block import ElasticConv

    c1, c2, c3, c4, n = block.channels
    hidden = choice.hidden or (c3, c4)
    alone = SearchableELAN(c1, c2, *hidden, choice.depth or n, ops=(choice.op,)).eval()
    for m in alone.modules():
        if isinstance(m, ElasticConv):
            m.conv = fuse_conv_and_bn(m.conv, m.bn)
            delattr(m, "bn")
            m.forward = m.forward_fuse  # type: ignore[method-assign]  # as ultralytics' own fuse() does
    return alone


@dataclass
class LatencyTable:
    """Per-position block latencies (ms; position -> block key -> ms) and the whole-network correction
    fitted to measurements. ``predict`` takes the block keys of an architecture (``NeckSpace.block_keys``;
    an op-only architecture is its own keys)."""

    model: str
    imgsz: int
    timing: dict  # Timing's fields
    entries: dict[str, dict[str, float]]
    intercept: float = 0.0
    slope: float = 1.0
    device: str = field(default_factory=lambda: f"{platform.machine()} {platform.processor() or ''}".strip())

    def block_sum(self, keys: Mapping[str, str]) -> float:
        try:
            return sum(self.entries[name][key] for name, key in keys.items())
        except KeyError as e:
            raise ConfigError(
                f"latency table has no entry for {e.args[0]!r}; build it for this space's model and scope"
            ) from None

    def predict(self, keys: Mapping[str, str], corrected: bool = True) -> float:
        s = self.block_sum(keys)
        return self.intercept + self.slope * s if corrected else s

    def fit(self, sums: Sequence[float], measured: Sequence[float]) -> None:
        """Least-squares ``measured = intercept + slope * sum`` (a pure offset when all sums are equal)."""
        s, m = np.asarray(sums, float), np.asarray(measured, float)
        if np.ptp(s) < 1e-9:
            self.slope, self.intercept = 1.0, float(np.mean(m - s))
        else:
            self.slope, self.intercept = (float(v) for v in np.polyfit(s, m, 1))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"latency table {path} not found; build one with `hybrid-nas latency-table`")
        try:
            return cls(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as e:
            raise DataError(f"latency table {path} is not a hybrid-nas latency table: {e}") from None


def build_table(
    space: NeckSpace,
    imgsz: int,
    timing: Timing = Timing(),
    calibration: int = 12,
    seed: int = 0,
    supernet=None,
    nc: int = 10,
) -> tuple[LatencyTable, list[tuple[float, float]]]:
    """Measure every block the space offers at every position alone (``NeckSpace.block_options``), then
    ``calibration`` random whole subnets to fit the correction. Returns the table and the calibration pairs
    (block sum, measured ms)."""
    from hybrid_nas.classical import network

    model = supernet if supernet is not None else network.build(space.supernet_yaml(nc=nc))
    shapes = block_inputs(model, imgsz)
    found = network.blocks(model)
    entries = {
        f"m{i}": {key: measure_ms(_fused_block(found[i], c), shapes[i], timing) for key, c in options.items()}
        for i, options in space.block_options().items()
    }
    table = LatencyTable(space.model, imgsz, asdict(timing), entries, device=describe(resolve_device(timing.device)))
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(calibration):
        arch = space.sample(rng)
        pairs.append((table.block_sum(space.block_keys(arch)), measure_subnet(space, arch, imgsz, timing, nc)))
    table.fit(*zip(*pairs))
    return table, pairs


def measure_subnet(space: NeckSpace, arch: Architecture, imgsz: int, timing: Timing = Timing(), nc: int = 10) -> float:
    """Whole-network latency of a freshly built subnet with ``nc`` classes (weights do not change the time of
    dense convs)."""
    from hybrid_nas.classical import network

    return measure_ms(network.build(space.subnet_yaml(arch, nc=nc)), (1, 3, imgsz, imgsz), timing)


def transfer_table(
    space: NeckSpace,
    known: Sequence[LatencyTable],
    archs: Sequence[Architecture],
    measured: Sequence[float],
    template: LatencyTable,
    groups: tuple[str, ...] | None = None,
) -> tuple[LatencyTable, dict]:
    """A latency table for a device where only the whole subnets ``archs`` were measured (``measured`` ms),
    from the ``known`` tables of other devices: the transfer ridge (hybrid_nas.engine.latency_transfer) on
    the subnets' one-hot decisions and the known tables' predictions. Both are additive over the blocks, so
    the fit is a table again: per (position, op) entry plus an intercept, slope 1. ``template`` gives the
    model, image size and timing; ``groups`` restricts the feature groups (default: both, or the one-hot
    alone without known tables). Returns the table and what the fit chose. In an elastic space the one-hot
    columns are per decision (op, depth, width), so a block's entry is the sum of its decisions' weights."""
    from hybrid_nas.engine.latency_transfer import LatencyPredictor

    columns = [(d.name, op) for d in space.decisions for op in d.options]

    def one_hot(arch: Architecture) -> list[float]:
        return [1.0 if arch[name] == op else 0.0 for name, op in columns]

    if groups is None:
        groups = ("encoding", "devices") if known else ("encoding",)
    features = {"encoding": np.array([one_hot(a) for a in archs])}
    if "devices" in groups:
        features["devices"] = np.array([[t.predict(space.block_keys(a)) for t in known] for a in archs])
    model = LatencyPredictor(groups).fit(features, np.asarray(measured, float))
    bias, weights = model.coefficients()
    v = weights.get("devices", np.zeros(0))
    u = dict(zip(columns, weights.get("encoding", np.zeros(len(columns))).tolist()))
    entries: dict[str, dict[str, float]] = {}
    for i in space.layers:
        name = f"m{i}"
        entries[name] = {
            key: sum(u[c] for c in partial.items())
            + sum(float(vd) * t.slope * t.entries[name][key] for vd, t in zip(v, known))
            for key, partial in space.block_decisions(i).items()
        }
    intercept = bias + sum(float(vd) * t.intercept for vd, t in zip(v, known))
    table = LatencyTable(template.model, template.imgsz, template.timing, entries, intercept, 1.0, template.device)
    assert model.fit_ is not None
    return table, {"penalties": model.fit_.penalties, "loo_rmse_ms": model.fit_.loo_rmse, "weights": v.tolist()}
