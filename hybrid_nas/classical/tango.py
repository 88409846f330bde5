"""TANGO's architecture format for the YOLOv9 neck search, read and written.

TANGO writes an architecture as ``{"m_<layer>": index}`` over its 8 ops (``TANGO_OPS``: 3x3 then 5x5, each
with relu, leaky, mish, silu). Its YOLOv9 YAML (WongKinYiu's) starts with a Silence layer, so its layer
``m_<j>`` is ultralytics' (our) layer ``j - 1``: ``m_13, m_16, m_19, m_22`` are ``m12, m15, m18, m21``.
Its layers past the main branch (``m_23`` on; its ELAN blocks ``m_28 ... m_37``) are the PGI auxiliary
branch, used only in training and absent from ultralytics' YOLOv9 models: they are reported as skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hybrid_nas.classical import network
from hybrid_nas.engine.errors import ConfigError

TANGO_OPS = ("3x3_relu", "3x3_leaky", "3x3_mish", "3x3_silu", "5x5_relu", "5x5_leaky", "5x5_mish", "5x5_silu")
_KEY = re.compile(r"m_(\d+)")


def to_tango(ops: dict[int, str]) -> tuple[dict[str, int] | None, str | None]:
    """(TANGO's dict of layer -> op, ``None``) for our ``{layer: op}``, or ``(None, why)`` when an op is
    not among TANGO's 8 (a 7x7 kernel)."""
    missing = [f"m{i}={op}" for i, op in ops.items() if op not in TANGO_OPS]
    if missing:
        return None, f"{', '.join(missing)} not among TANGO's 8 ops (3x3/5x5 x relu/leaky/mish/silu)"
    return {f"m_{i + 1}": TANGO_OPS.index(op) for i, op in ops.items()}, None


def read(source: str | dict) -> dict:
    """A TANGO architecture from a dict, inline JSON, or a JSON file."""
    if isinstance(source, dict):
        return source
    text = Path(source).read_text() if not source.lstrip().startswith("{") and Path(source).is_file() else source
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        where = "" if text is source else f" in {source}"
        raise ConfigError(
            f"a TANGO architecture must be JSON like '{{\"m_13\": 6}}' or a JSON file; {e}{where}"
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"a TANGO architecture is a JSON object of m_<layer>: op index, got {type(value).__name__}")
    return value


def from_tango(source: str | dict, model: str = "yolov9t") -> tuple[dict[int, str], list[str]]:
    """(our ``{layer: op}``, TANGO keys skipped because ``model`` has no such layer: the PGI branch)."""
    arch = read(source)
    d = network.stock_yaml(model)
    main, elan = len(network.rows(d)) - 1, set(network.elan_layers(d))  # the last row is Detect
    ops, skipped = {}, []
    for key, index in arch.items():
        m = _KEY.fullmatch(str(key))
        if not m:
            raise ConfigError(f"TANGO key {key!r} is not 'm_<layer>' (e.g. 'm_13')")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(TANGO_OPS):
            raise ConfigError(f"TANGO {key}: op index {index!r} given, expected 0-7 ({', '.join(TANGO_OPS)})")
        layer = int(m[1]) - 1
        if layer >= main:
            skipped.append(key)
        elif layer in elan:
            ops[layer] = TANGO_OPS[index]
        else:
            raise ConfigError(
                f"TANGO {key} is our layer {layer}, not an ELAN block of {model}; its ELAN blocks are "
                f"{', '.join(f'm_{i + 1}' for i in sorted(elan))}"
            )
    return ops, skipped
