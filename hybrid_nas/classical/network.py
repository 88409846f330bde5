"""YOLOv9 networks with searchable ELAN blocks, built by ultralytics' own model parser.

A model YAML row ``[f, 1, SearchableELAN, [c2, c3, c4, n, ops]]`` is a RepNCSPELAN4 row plus its op list
(one op: a plain subnet; several: a supernet position); a subnet of elastic depth or width writes its own
repeats ``n`` and hidden channels ``c3, c4``. ultralytics' parse_model infers channels only for
a fixed set of its own classes, so importing this package wraps parse_model once: our rows are parsed as
RepNCSPELAN4 rows (channel inference, save list, indices unchanged) and the built blocks are then swapped for
ours with the same channels. Stock YAMLs go straight to the original parser. This is the one process-wide
change we make, additive by construction (no stock YAML names our block), and it is what lets
``YOLO("best.yaml")`` and ultralytics' trainer build our networks like any other.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ultralytics.nn import tasks
from ultralytics.nn.modules import RepNCSPELAN4

from hybrid_nas.classical.ops import BlockChoice
from hybrid_nas.engine.errors import ConfigError, unknown

if TYPE_CHECKING:
    # imported where used: the block's own import of ultralytics may be what loads the parser this module wraps
    # (see the package's import hook), and this module must then load without the half-imported block
    from hybrid_nas.classical.block import SearchableELAN

BLOCK = "SearchableELAN"
MODELS = ("yolov9t", "yolov9s", "yolov9m", "yolov9c")
_DOWNSAMPLERS = {"AConv", "ADown"}


def stock_yaml(model: str) -> dict:
    """The model dictionary of ultralytics' packaged ``<model>.yaml`` (never downloaded)."""
    if model not in MODELS:
        raise ConfigError(unknown("model", model, MODELS))
    return tasks.yaml_model_load(f"{model}.yaml")


def rows(d: dict) -> list[list]:
    return d["backbone"] + d["head"]


def elan_layers(d: dict) -> list[int]:
    """Indices of the RepNCSPELAN4 (or already searchable) layers of a model dictionary."""
    return [i for i, row in enumerate(rows(d)) if row[2] in ("RepNCSPELAN4", BLOCK)]


def stages(d: dict) -> list[int]:
    """Per layer, the number of stride-2 layers between the input and its output (log2 of its stride)."""
    out: list[int] = []
    for f, _, module, args in rows(d):
        stage = out[f if isinstance(f, int) else f[0]] if out else 0
        if module in _DOWNSAMPLERS or (module == "Conv" and len(args) > 2 and args[2] == 2):
            stage += 1
        elif module == "nn.Upsample":
            stage -= 1
        out.append(stage)
    return out


def searchable_yaml(
    model: str | dict,
    ops: Mapping[int, Sequence[str] | str | BlockChoice],
    nc: int | None = None,
    sizes: Mapping[int, tuple[tuple[int, int] | None, int | None]] | None = None,
) -> dict:
    """A copy of the model dictionary whose layers in ``ops`` are searchable blocks with those op(s). A
    ``BlockChoice``, or ``sizes`` (layer -> (hidden channels, repeats)), also sets the row's hidden channels
    ``c3, c4`` and repeats ``n`` where it names them."""
    d = copy.deepcopy(stock_yaml(model) if isinstance(model, str) else model)
    if nc is not None:
        d["nc"] = nc
    table = rows(d)
    for i, layer_ops in ops.items():
        if not 0 <= i < len(table) or table[i][2] not in ("RepNCSPELAN4", BLOCK):
            raise ConfigError(
                f"layer {i} of {d.get('yaml_file', 'the model')} is not an ELAN block; "
                f"searchable layers: {elan_layers(d)}"
            )
        args = list(table[i][3][:4])
        hidden, depth = (layer_ops.hidden, layer_ops.depth) if isinstance(layer_ops, BlockChoice) else (None, None)
        if sizes and i in sizes:
            hidden, depth = sizes[i]
        if isinstance(layer_ops, BlockChoice):
            layer_ops = layer_ops.op
        args[1:4] = [*(hidden or args[1:3]), depth or args[3]]
        listed = [layer_ops] if isinstance(layer_ops, str) else list(layer_ops)
        table[i][2], table[i][3] = BLOCK, [*args, listed[0] if len(listed) == 1 else listed]
    return d


_stock_parse_model = tasks.parse_model


def parse_model(d, ch, verbose=True):
    """ultralytics' parse_model, plus our SearchableELAN rows (see the module docstring)."""
    ours = {i: row[3][4] for i, row in enumerate(rows(d)) if row[2] == BLOCK}
    if not ours:
        return _stock_parse_model(d, ch, verbose)
    stock = copy.deepcopy(d)
    for i, row in enumerate(rows(stock)):
        if i in ours:
            row[2], row[3] = "RepNCSPELAN4", row[3][:4]
    layers, save = _stock_parse_model(stock, ch, verbose)
    for i, ops in ours.items():
        layers[i] = swap_block(layers[i], ops)
    return layers, save


def swap_block(old: RepNCSPELAN4, ops) -> SearchableELAN:
    """A searchable block with the channels and graph position of a built RepNCSPELAN4."""
    from hybrid_nas.classical.block import SearchableELAN

    built: Any = old  # ultralytics' parse_model tags every layer with i, f, type and np, unknown to torch's types
    new = SearchableELAN(
        built.cv1.conv.in_channels,
        built.cv4.conv.out_channels,
        built.cv1.conv.out_channels,
        built.cv2[1].conv.out_channels,
        len(built.cv2[0].m),
        ops,
    )
    new.i, new.f = built.i, built.f
    new.type = BLOCK  # type: ignore[method-assign, assignment]  # ultralytics' layer tag shadows nn.Module.type
    new.np = sum(p.numel() for p in new.parameters())
    return new


tasks.parse_model = parse_model


def build(d: dict, verbose: bool = False) -> tasks.DetectionModel:
    return tasks.DetectionModel(copy.deepcopy(d), nc=d.get("nc"), verbose=verbose)


def blocks(model) -> dict[int, SearchableELAN]:
    """The searchable blocks of a built model by layer index."""
    from hybrid_nas.classical.block import SearchableELAN

    return {m.i: m for m in model.model if isinstance(m, SearchableELAN)}


def set_path(model, path: Mapping[int, str | BlockChoice]) -> None:
    """Activate one op (with its depth and width, else the block's all) per searchable layer; layers not
    named keep theirs."""
    found = blocks(model)
    for i, choice in path.items():
        found[i].set_choice(BlockChoice(choice) if isinstance(choice, str) else choice)
