"""The stand-alone ground truth benchmark's bookkeeping: its subnet spread, training order and resume (no
training: the benchmark itself measures that)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from hybrid_nas.classical.space import NeckSpace


@pytest.fixture
def gt(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    yield importlib.import_module("classical_ground_truth")
    sys.modules.pop("classical_ground_truth", None)


@pytest.mark.slow  # builds six yolov9t subnets
def test_spread_spans_the_space_evenly_and_repeats(gt):
    space = NeckSpace("yolov9t", "full", depths=[1, 2, 3], widths=[50, 100])
    archs = gt.spread_subnets(space, 4, seed=0, pool=6)
    sizes = [gt.size_of(space, a) for a in archs]
    assert sizes == sorted(sizes) and len(set(archs)) == 4
    assert sizes[0] == gt.size_of(space, space.extreme(largest=False))  # the smallest and largest subnets
    assert sizes[-1] == gt.size_of(space, space.extreme(largest=True))
    assert [space.describe(a) for a in gt.spread_subnets(space, 4, seed=0, pool=6)] == [
        space.describe(a) for a in archs
    ]


def test_schedule_and_resume(gt, tmp_path):
    plan = gt.schedule(["a", "b", "c", "d", "e"], 3, extra=("stock",))
    assert plan[:6] == [("a", 0), ("a", 1), ("e", 0), ("e", 1), ("c", 0), ("c", 1)]
    assert plan[10:13] == [("stock", 0), ("stock", 1), ("a", 2)]  # the third seed after every pair
    assert len(plan) == len(set(plan)) == 18
    results, config = tmp_path / "gt.ndjson", {"epochs": 2}
    rows = [{"subnet": "a", "seed": 0, "config": config}, {"subnet": "e", "seed": 0, "config": {"epochs": 3}}]
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    stored = gt.load(results, config)
    assert stored == rows[:1] and gt.load(results) == rows and gt.load(tmp_path / "none", config) == []
    assert gt.missing(plan, stored)[:2] == [("a", 1), ("e", 0)]  # another config's training is not reused
