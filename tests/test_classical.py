"""The classical half: searchable ELAN block, op space and scopes, supernet paths, export, latency, data."""

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

from hybrid_nas.classical import network
from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.block import SearchableELAN
from hybrid_nas.classical.data import digits_detection, resolve_data
from hybrid_nas.classical.latency import LatencyTable, Timing, build_table, measure_ms
from hybrid_nas.classical.ops import all_ops, parse_op
from hybrid_nas.classical.space import NeckSpace, scope_opset, stage_opset
from hybrid_nas.engine.errors import ConfigError, DataError, SpaceError
from hybrid_nas.engine.space import Architecture

ALL_KERNELS, ALL_ACTS = {3, 5, 7}, {"relu", "silu", "leaky", "mish"}


def ops_of(kernels, acts):
    return {f"{k}x{k}_{a}" for k in kernels for a in acts}


@pytest.mark.parametrize("op", all_ops())
def test_block_output_shape_for_every_op(op):
    block = SearchableELAN(24, 16, 16, 8, n=1, ops=op).eval()
    assert block(torch.randn(2, 24, 20, 18)).shape == (2, 16, 20, 18)
    k, act = parse_op(op)
    spatial = [m for m in block.modules() if getattr(m, "kernels", (1,)) != (1,)]
    assert spatial and all(m.conv.weight.shape[-1] == k and m.k == k for m in spatial)
    assert all(
        type(m.act).__name__.lower().startswith({"leaky": "leaky", "relu": "relu", "mish": "mish", "silu": "silu"}[act])
        for m in spatial
    )


def test_bad_op_names_are_refused():
    for bad, needle in (
        ("4x4_relu", "kernel 4x4"),
        ("3x5_relu", "<k>x<k>"),
        ("3x3_gelu", "activation"),
        ("conv", "<k>x<k>"),
    ):
        with pytest.raises(SpaceError, match=needle):
            parse_op(bad)
    with pytest.raises(SpaceError, match="did you mean '5x5_silu'"):
        SearchableELAN(8, 8, 8, 4, ops=("3x3_silu", "5x5_silu")).set_op("5x5_sil")


def test_scope_and_stage_op_sets_are_the_seeds():
    scopes = {
        "small": ops_of({3}, {"relu", "silu"}),
        "medium": ops_of({3, 5}, {"relu", "silu"}),
        "large": ops_of({3, 5}, {"relu", "silu", "leaky"}),
        "full": ops_of(ALL_KERNELS, ALL_ACTS),
    }
    stage = {
        0: ops_of({3}, {"relu", "silu"}),
        1: ops_of({3}, {"relu", "silu"}),
        2: ops_of({3, 5}, {"relu", "silu", "leaky"}),
        3: ops_of(ALL_KERNELS, ALL_ACTS),
        5: ops_of(ALL_KERNELS, ALL_ACTS),
    }
    for name, expected_scope in scopes.items():
        assert set(scope_opset(name, 3).ops()) == expected_scope
        for s, expected_stage in stage.items():
            assert set((scope_opset(name, 3) & stage_opset(s, 3)).ops()) == expected_scope & expected_stage


def test_positions_and_stages_of_the_yolov9_models():
    neck = NeckSpace("yolov9t", "full")
    assert [d.name for d in neck.decisions] == ["m12", "m15", "m18", "m21"]
    assert neck.stages == {12: 4, 15: 3, 18: 4, 21: 5}  # P4, P3, P4, P5
    assert neck.size() == 12**4
    c = NeckSpace("yolov9c", "full", positions="all")
    assert c.layers == (2, 4, 6, 8, 12, 15, 18, 21) and c.stages[2] == 2
    assert set(c["m2"].options) == ops_of({3, 5}, {"relu", "silu", "leaky"})  # stage 2's preference
    assert NeckSpace("yolov9t", "small,large")["m12"].options == NeckSpace("yolov9t", "large")["m12"].options


def test_bad_scopes_and_models_are_one_line_errors(monkeypatch):
    with pytest.raises(ConfigError, match="did you mean 'medium'"):
        NeckSpace("yolov9t", "medum")
    with pytest.raises(ConfigError, match="unknown model"):
        NeckSpace("yolov8t", "small")
    from hybrid_nas.classical import space as space_mod

    config = space_mod.scopes_config()
    config["scopes"]["huge"] = {"kernels": [7], "activations": ["mish"]}
    monkeypatch.setattr(space_mod, "scopes_config", lambda: config)
    with pytest.raises(SpaceError, match="scope removed them all"):  # stage 2 allows no 7x7 and no mish
        NeckSpace("yolov9c", "huge", positions="all")


@pytest.mark.parametrize("sampling", sn.SAMPLINGS)
def test_path_sampling_reaches_every_op(sampling):
    space = NeckSpace("yolov9t", "full")
    rng, seen = np.random.default_rng(0), {d.name: Counter() for d in space.decisions}
    epochs, batches = 4, 150
    for b in range(epochs * batches):
        for name, op in sn.draw_path(space, sampling, rng, b, b // batches, epochs).items():
            seen[name][op] += 1
    for d in space.decisions:
        assert set(seen[d.name]) == set(d.options)
    if sampling == "sandwich":  # the student is the all-smallest path on every other batch
        assert (
            seen["m12"]["3x3_relu"] + seen["m12"]["3x3_silu"] + seen["m12"]["3x3_leaky"] + seen["m12"]["3x3_mish"] > 250
        )


@pytest.mark.slow
def test_a_subnet_extracted_from_the_supernet_computes_what_its_path_computes():
    space = NeckSpace("yolov9t", "full")
    supernet = network.build(space.supernet_yaml(nc=3)).eval()
    x = torch.randn(1, 3, 64, 64)
    for arch in (space.sample(np.random.default_rng(1)), space.extreme(largest=False)):
        network.set_path(supernet, space.ops(arch))
        sub = sn.extract(supernet, space.ops(arch))
        assert {i: b.ops for i, b in network.blocks(sub).items()} == {i: (op,) for i, op in space.ops(arch).items()}
        with torch.no_grad():
            torch.testing.assert_close(sub(x)[0], supernet(x)[0], rtol=1e-4, atol=1e-4)
    assert sum(p.numel() for p in sub.parameters()) < sum(p.numel() for p in supernet.parameters())


def test_stock_yaml_rows_are_untouched_by_the_parser_hook():
    from ultralytics.nn.modules import RepNCSPELAN4

    model = network.build({**network.stock_yaml("yolov9t"), "nc": 2})
    assert isinstance(model.model[12], RepNCSPELAN4) and not network.blocks(model)


def test_generated_data_is_deterministic_and_well_formed(tmp_path):
    a = digits_detection(imgsz=64, n_images=10, seed=3, root=tmp_path / "a")
    b = digits_detection(imgsz=64, n_images=10, seed=3, root=tmp_path / "b")
    c = digits_detection(imgsz=64, n_images=10, seed=4, root=tmp_path / "c")
    labels = lambda p: [f.read_text() for f in sorted(p.parent.glob("labels/*/*.txt"))]  # noqa: E731
    assert labels(a) == labels(b) != labels(c)
    rows = np.array([line.split() for text in labels(a) for line in text.splitlines()], float)
    assert len(rows) >= 10 and set(rows[:, 0]) <= set(range(10))
    cx, cy, w, h = rows[:, 1:].T
    assert (w > 0).all() and (h > 0).all() and (cx - w / 2 >= 0).all() and (cx + w / 2 <= 1).all()
    assert (cy - h / 2 >= 0).all() and (cy + h / 2 <= 1).all()
    assert [len(list(a.parent.glob(f"images/{s}/*.png"))) for s in ("train", "val", "test")] == [7, 2, 1]


def test_generated_objects_span_the_three_detection_scales(tmp_path):
    """At 160 px the P3/P4/P5 heads (strides 8/16/32) each need objects of their size: boxes under 32 px,
    32-64 px and over 64 px, several objects per image, every band in most images."""
    data = digits_detection(imgsz=160, n_images=20, seed=5, root=tmp_path)
    per_image = [
        np.array([line.split() for line in f.read_text().splitlines()], float)
        for f in sorted(data.parent.glob("labels/*/*.txt"))
    ]
    sides = [160 * np.maximum(rows[:, 3], rows[:, 4]) for rows in per_image]
    bands = [((s < 32).sum(), ((s >= 32) & (s <= 64)).sum(), (s > 64).sum()) for s in sides]
    totals = np.sum(bands, axis=0)
    assert (totals >= 10).all(), totals
    assert np.mean([len(rows) for rows in per_image]) >= 3 and min(len(rows) for rows in per_image) >= 2
    assert sum(all(b) for b in bands) >= len(bands) // 2  # most images hold all three sizes at once
    assert max(s.max() for s in sides) <= 160 * 0.75


def test_missing_data_is_a_clear_error_and_never_a_download(tmp_path):
    with pytest.raises(DataError, match="not found.*nothing is downloaded"):
        resolve_data("coco8.yaml")
    doc = tmp_path / "data.yaml"
    doc.write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: a}\n")
    with pytest.raises(DataError, match="train images .* not on disk"):
        resolve_data(str(doc))


def test_latency_table_correction_and_file_round_trip(tmp_path):
    table = LatencyTable("yolov9t", 160, {}, {"m12": {"3x3_relu": 1.0, "5x5_relu": 2.0}, "m15": {"3x3_relu": 0.5}})
    archs = [Architecture(m12=op, m15="3x3_relu") for op in ("3x3_relu", "5x5_relu")]
    sums = [table.block_sum(a) for a in archs]
    table.fit(sums, [10 + 1.5 * s for s in sums])
    assert table.predict(archs[1]) == pytest.approx(10 + 1.5 * 2.5) and table.predict(archs[1], corrected=False) == 2.5
    table.save(tmp_path / "t.json")
    assert LatencyTable.load(tmp_path / "t.json") == table
    with pytest.raises(ConfigError, match="no entry for 'm18'"):
        table.predict(Architecture(m12="3x3_relu", m15="3x3_relu", m18="3x3_relu"))
    with pytest.raises(ConfigError, match="unknown latency statistic 'mean'"):
        Timing(statistic="mean")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not a hybrid-nas latency table"):
        LatencyTable.load(tmp_path / "bad.json")


def test_built_latency_table_covers_the_space():
    space = NeckSpace("yolov9t", "medium")
    table, pairs = build_table(space, imgsz=64, timing=Timing(repeats=15), calibration=3)
    assert {k: set(v) for k, v in table.entries.items()} == {d.name: set(d.options) for d in space.decisions}
    assert all(v > 0 for e in table.entries.values() for v in e.values()) and len(pairs) == 3
    assert math.isfinite(table.slope) and all(s > 0 and m > 0 for s, m in pairs)
    # how kernels and whole networks order by time is a measurement (benchmarks/classical_latency.py), not a test


def test_an_elastic_table_covers_every_op_depth_and_width_and_predicts_from_their_entries():
    from hybrid_nas.classical.run import covering

    space = NeckSpace("yolov9t", "small", depths=[1, 2], widths=[50, 75, 100])  # small: depth 1, widths 50, 75
    table, pairs = build_table(space, imgsz=64, timing=Timing(repeats=3, warmup=1), calibration=2)
    expected = {f"{op}/d1/w{w}" for op in ("3x3_relu", "3x3_silu") for w in (50, 75)}
    assert {k: set(v) for k, v in table.entries.items()} == {f"m{i}": expected for i in (12, 15, 18, 21)}
    assert covering(table, space) is table and len(pairs) == 2
    # predict sums the entry of each block's own op, depth and width: distinct digits per entry and position
    digit = {key: 2**j for j, key in enumerate(sorted(expected))}  # relu/w50 1, relu/w75 2, silu/w50 4, silu/w75 8
    table.entries = {f"m{i}": {k: float(10**p * digit[k]) for k in expected} for p, i in enumerate((12, 15, 18, 21))}
    arch = Architecture(
        {f"m{i}": op for i, op in zip((12, 15, 18, 21), ("3x3_relu", "3x3_relu", "3x3_silu", "3x3_silu"))}
        | {f"m{i}_depth": 1 for i in (12, 15, 18, 21)}
        | {"m12_width": 50, "m15_width": 75, "m18_width": 50, "m21_width": 75}
    )
    keys = space.block_keys(space.validate(arch))
    assert keys == {
        "m12": "3x3_relu/d1/w50",
        "m15": "3x3_relu/d1/w75",
        "m18": "3x3_silu/d1/w50",
        "m21": "3x3_silu/d1/w75",
    }
    assert table.predict(keys, corrected=False) == 1 + 20 + 400 + 8000
    # a space that does not search the width keys it as the stock 100 %, which this table lacks
    deeper = NeckSpace("yolov9t", "full", depths=[1, 2])
    assert deeper.block_keys(deeper.extreme(largest=True))["m12"] == "7x7_relu/d2/w100"
    with pytest.raises(ConfigError, match=r"latency table lacks \['m12=3x3_relu/d1/w100'.*--depths 1,2`$"):
        covering(table, NeckSpace("yolov9t", "small", depths=[1, 2]))
    # a table of the format before depth and width (ops only) is refused for an elastic space, and serves an op-only one
    ops_only = LatencyTable("yolov9t", 64, {}, {f"m{i}": {"3x3_relu": 1.0, "3x3_silu": 1.0} for i in (12, 15, 18, 21)})
    assert covering(ops_only, NeckSpace("yolov9t", "small")) is ops_only
    with pytest.raises(ConfigError, match="holds ops only, and this search also chooses depth or width") as e:
        covering(ops_only, space)
    assert "\n" not in str(e.value) and "--depths none --widths none" in str(e.value)


def test_latency_is_timed_on_its_device_and_the_table_uses_the_data_sets_class_count(tmp_path):
    from hybrid_nas.classical.data import class_count

    with pytest.raises(ConfigError, match="onnxruntime times on the CPU"):
        Timing(backend="onnxruntime", device="cuda")
    space = NeckSpace("yolov9t", "small")
    table, _ = build_table(space, imgsz=64, timing=Timing(repeats=1, warmup=1, device="cpu"), calibration=1, nc=3)
    assert table.timing["device"] == "cpu" and table.device  # the device is part of how it was measured
    (tmp_path / "list.yaml").write_text("names: [a, b, c]\n")
    (tmp_path / "map.yaml").write_text("names: {0: a, 1: b}\n")
    assert class_count(tmp_path / "list.yaml") == 3 and class_count(tmp_path / "map.yaml") == 2


def test_onnxruntime_latency_backend_measures_or_says_what_to_install():
    block = SearchableELAN(16, 16, 16, 8, ops="3x3_relu")
    timing = Timing(repeats=3, backend="onnxruntime")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'hybrid-nas\[onnx\]'"):
            measure_ms(block, (1, 16, 20, 20), timing)
    else:
        assert measure_ms(block, (1, 16, 20, 20), timing) > 0
    with pytest.raises(ConfigError, match="unknown latency backend 'tensorrt'"):
        Timing(backend="tensorrt")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return digits_detection(imgsz=64, n_images=12, seed=0, root=tmp_path_factory.mktemp("data"))


@pytest.mark.slow
def test_supernet_trains_through_ultralytics_with_every_op_sampled(tiny_data, tmp_path):
    space = NeckSpace("yolov9t", "medium")
    trained = sn.train_supernet(space, tiny_data, tmp_path, epochs=2, imgsz=64, batch=2)
    assert sum(trained.path_counts["m12"].values()) == 10  # 2 epochs x 5 batches of the 10 training images
    assert all(set(trained.path_counts[d.name]) == set(d.options) for d in space.decisions)
    assert len(network.blocks(trained.model)) == 4 and trained.weights.is_file()
    arch = space.sample(np.random.default_rng(0))
    sub = sn.extract(trained.model, space.ops(arch))
    before = [m.running_mean.clone() for m in sub.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    sn.recalibrate_bn(sub, sn.calibration_batches(tiny_data, 64, n_images=4, batch=2))
    after = [m.running_mean for m in sub.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert any(not torch.allclose(a, b) for a, b in zip(after, before)) and not sub.training
    metrics = sn.validate(sub, tiny_data, 64, tmp_path / "val")
    assert set(metrics) == {"precision", "recall", "map50", "map50_95"}
    assert all(0 <= v <= 1 for v in metrics.values())


def test_scale_aware_assignment_gives_each_head_the_objects_of_its_size():
    from ultralytics.utils.tal import TaskAlignedAssigner, make_anchors

    from hybrid_nas.classical.assign import ScaleAwareAssigner

    strides = torch.tensor([8.0, 16.0, 32.0])
    feats = [torch.zeros(1, 1, 160 // int(s), 160 // int(s)) for s in strides]
    points, stride = make_anchors(feats, strides, 0.5)
    assigner = ScaleAwareAssigner(topk=10, num_classes=10, stride=strides.tolist())
    assigner.anc_strides = stride.view(-1)
    sides = (20, 48, 100, 140)
    boxes = torch.tensor([[[10, 10, 10 + s, 10 + s * 0.6] for s in sides]], dtype=torch.float)  # longer side s
    inside = TaskAlignedAssigner.select_candidates_in_gts(assigner, points * stride, boxes, torch.ones(1, 4, 1))
    gated = assigner.select_candidates_in_gts(points * stride, boxes, torch.ones(1, 4, 1))
    heads = [set(stride.view(-1)[gated[0, k]].tolist()) for k in range(len(sides))]
    assert heads == [{8.0}, {8.0, 16.0}, {16.0, 32.0}, {32.0}]  # up to 64 px, 32-128 px, from 64 px
    p3 = stride.view(-1) == 8  # ultralytics' own assigner offers the large objects to the stride-8 head too
    assert all(inside[0, k, p3].sum() > 0 == gated[0, k, p3].sum() for k in (2, 3))


def test_distillation_is_zero_for_an_identical_student_and_never_reaches_the_teacher():
    from hybrid_nas.classical.distill import distillation_loss

    g = torch.Generator().manual_seed(0)
    teacher = {
        "scores": torch.randn(2, 3, 50, generator=g, requires_grad=True),
        "boxes": torch.randn(2, 4 * 16, 50, generator=g, requires_grad=True),
    }
    same = {k: v.detach().clone().requires_grad_() for k, v in teacher.items()}
    assert abs(float(distillation_loss(same, teacher).detach())) < 1e-5
    for key in teacher:  # each output on its own moves the loss
        other = dict(same, **{key: same[key] + 0.5 * torch.randn(same[key].shape, generator=g)})
        assert float(distillation_loss(other, teacher).detach()) > 1e-3
    student = {k: (v + 0.3 * torch.randn(v.shape, generator=g)).detach().requires_grad_() for k, v in same.items()}
    distillation_loss(student, teacher).backward()
    assert all(v.grad is None for v in teacher.values())  # the teacher's target is detached
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in student.values())


def test_sandwich_step_trains_the_largest_path_and_distils_into_the_student(tiny_data, tmp_path):
    from ultralytics.cfg import get_cfg

    from hybrid_nas.classical.distill import Sandwich, SupernetModel

    space = NeckSpace("yolov9t", "medium")
    model = SupernetModel(space.supernet_yaml(nc=10), nc=10, verbose=False)
    model.args = get_cfg()
    batch = sn.labelled_batches(tiny_data, 64, "train", n_images=4, batch=4)[0]
    batch["img"] = batch["img"].float() / 255
    model.train()
    largest, smallest = space.ops(space.extreme(largest=True)), space.ops(space.extreme(largest=False))
    network.set_path(model, largest)
    plain, plain_items = model.loss(batch)
    assert "distill" not in plain_items
    model.sandwich = Sandwich(largest, largest, 1.0)
    loss, items = model.loss(batch)
    assert abs(float(items["distill"])) < 1e-3  # the student is the teacher: nothing to distil
    torch.testing.assert_close(loss, 2 * plain.sum(), rtol=1e-3, atol=1e-3)  # labels twice, plain path = largest
    model.sandwich = Sandwich(largest, smallest, 1.0)
    loss, items = model.loss(batch)
    assert float(items["distill"]) > 0 and {b.op for b in network.blocks(model).values()} == {"3x3_relu"}
    model.sandwich = Sandwich(largest, smallest, 0.0)
    assert float(model.loss(batch)[1]["distill"]) == 0


@pytest.mark.slow
def test_sandwich_supernet_training_counts_teacher_and_student_paths(tiny_data, tmp_path):
    space = NeckSpace("yolov9t", "medium")
    trained = sn.train_supernet(space, tiny_data, tmp_path, epochs=1, imgsz=64, batch=2, sampling="sandwich")
    counts = trained.path_counts["m12"]
    assert sum(counts.values()) == 10  # 5 batches, two paths each
    assert counts["5x5_relu"] + counts["5x5_silu"] >= 5  # the teacher is the largest kernel on every batch
    with pytest.raises(ConfigError, match="distillation weight"):
        sn.SupernetTrainer(space, "sandwich", {"data": str(tiny_data)}, distill=-1)


@pytest.mark.slow
def test_exported_subnet_loads_trains_and_validates_with_ultralytics(tiny_data, tmp_path):
    from ultralytics import YOLO

    from hybrid_nas.classical.run import export

    space = NeckSpace("yolov9t", "full")
    arch = Architecture(m12="5x5_mish", m15="7x7_relu", m18="3x3_leaky", m21="5x5_silu")
    sub = network.build(space.subnet_yaml(arch, nc=10)).eval()
    export(sub, arch, space, tmp_path, {"data": str(tiny_data), "imgsz": 64})
    from_yaml, from_pt = YOLO(str(tmp_path / "best.yaml")), YOLO(str(tmp_path / "best.pt"))
    for model in (from_yaml, from_pt):
        assert {f"m{i}": b.op for i, b in network.blocks(model.model).items()} == dict(arch)
    for k, v in sub.state_dict().items():
        torch.testing.assert_close(from_pt.model.state_dict()[k], v)
    from_pt.train(
        data=str(tiny_data),
        epochs=1,
        imgsz=64,
        batch=4,
        device="cpu",
        workers=0,
        plots=False,
        project=str(tmp_path),
        name="ft",
        exist_ok=True,
        verbose=False,
        amp=False,
    )
    stats = from_pt.val(data=str(tiny_data), imgsz=64, batch=4, device="cpu", plots=False, verbose=False)
    assert 0 <= stats.box.map50 <= 1
    tuned = YOLO(str(tmp_path / "ft" / "weights" / "last.pt"))
    assert {f"m{i}": b.op for i, b in network.blocks(tuned.model).items()} == dict(arch)


@pytest.mark.slow
def test_a_tango_architecture_becomes_a_yaml_that_ultralytics_trains(tiny_data, tmp_path):
    from ultralytics import YOLO

    import hybrid_nas as hn
    from hybrid_nas.classical.tango import TANGO_OPS, to_tango

    tango = {"m_13": 6, "m_16": 2, "m_19": 1, "m_22": 2, "m_28": 0, "m_37": 7}
    run = hn.classical.search(out=tmp_path / "t", from_tango=json.dumps(tango), progress=False)
    doc = json.loads((run.dir / "tango.json").read_text())
    assert doc["skipped"] == ["m_28", "m_37"]  # the PGI branch: reported, not silently dropped
    model = YOLO(str(run.dir / "best.yaml"))
    ops = {i: b.op for i, b in network.blocks(model.model).items()}
    assert ops == {12: "5x5_mish", 15: "3x3_mish", 18: "3x3_leaky", 21: "3x3_mish"}
    assert to_tango(ops) == ({k: v for k, v in tango.items() if k not in doc["skipped"]}, None)
    model.train(
        data=str(tiny_data),
        epochs=1,
        imgsz=64,
        batch=4,
        device="cpu",
        workers=0,
        plots=False,
        val=False,
        project=str(tmp_path),
        name="t1",
        exist_ok=True,
        verbose=False,
        amp=False,
    )
    trained = YOLO(str(tmp_path / "t1" / "weights" / "last.pt"))
    assert {i: b.op for i, b in network.blocks(trained.model).items()} == ops
    # the other way: 7x7 has no TANGO index; tango8 offers exactly TANGO's ops everywhere
    assert to_tango({12: "7x7_silu"})[0] is None and "7x7_silu" in to_tango({12: "7x7_silu"})[1]
    assert all(d.options == TANGO_OPS for d in NeckSpace("yolov9t", "small", ops="tango8").decisions)
    with pytest.raises(ConfigError, match="not an ELAN block"):
        hn.classical.search(out=tmp_path / "bad", from_tango='{"m_14": 1}', progress=False)
    assert not (tmp_path / "bad").exists()
