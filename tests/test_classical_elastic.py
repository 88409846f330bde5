"""Elastic depth and width of the ELAN blocks: weight sharing, subnets and their export, scope caps, the
progressive-shrinking phases."""

from collections import Counter

import numpy as np
import pytest
import torch

from hybrid_nas.classical import network
from hybrid_nas.classical import supernet as sn
from hybrid_nas.classical.block import ElasticConv, SearchableELAN
from hybrid_nas.classical.ops import BlockChoice
from hybrid_nas.classical.space import NeckSpace, hidden_channels
from hybrid_nas.engine.errors import ConfigError, SpaceError
from hybrid_nas.engine.space import Architecture

ELASTIC = dict(depths=[1, 2, 3], widths=[50, 75, 100])


def randomise_norms(model: torch.nn.Module, seed: int = 0) -> None:
    """BatchNorm statistics and affine terms away from their identity start, so that a wrong channel would show."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
            m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(c, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(c, generator=g))


def copy_conv(dst: ElasticConv, src: ElasticConv, rows: list[int], cols: list[int]) -> None:
    """The test's own copy of a conv's weights: output channels ``rows``, input channels ``cols``, the kernel
    centre-cropped to the destination's."""
    w = src.conv.weight[rows][:, cols]
    off = (w.shape[-1] - dst.conv.weight.shape[-1]) // 2
    dst.conv.weight.data.copy_(w[..., off : w.shape[-1] - off, off : w.shape[-1] - off])
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst.bn, name).data.copy_(getattr(src.bn, name)[rows])


def first(n: int, at: int = 0) -> list[int]:
    return list(range(at, at + n))


@pytest.mark.parametrize("depth,c3,c4", [(1, 8, 4), (2, 12, 6), (3, 16, 8), (2, 16, 4)])
def test_an_elastic_block_computes_a_standalone_block_of_its_first_repeats_and_channels(depth, c3, c4):
    big = SearchableELAN(12, 10, 16, 8, n=3, ops=("3x3_silu", "5x5_mish")).eval()
    randomise_norms(big)
    big.set_choice(BlockChoice("3x3_silu", depth, (c3, c4)))
    alone = SearchableELAN(12, 10, c3, c4, n=depth, ops="3x3_silu").eval()
    h, q = c3 // 2, c4 // 2
    copy_conv(alone.cv1, big.cv1, first(h) + first(h, 8), first(12))  # the first channels of each half
    for part, c_in in ((0, h), (1, c4)):  # cv2 runs on cv1's second half, cv3 on cv2's output
        src, dst = getattr(big, f"cv{part + 2}"), getattr(alone, f"cv{part + 2}")
        copy_conv(dst[0].cv1, src[0].cv1, first(q), first(c_in))
        copy_conv(dst[0].cv2, src[0].cv2, first(q), first(c_in))
        for b in range(depth):  # the first repeats
            copy_conv(dst[0].m[b].cv1, src[0].m[b].cv1, first(q), first(q))
            copy_conv(dst[0].m[b].cv2, src[0].m[b].cv2, first(q), first(q))
        copy_conv(dst[0].cv3, src[0].cv3, first(c4), first(q) + first(q, 4))
        copy_conv(dst[1], src[1], first(c4), first(c4))
    copy_conv(alone.cv4, big.cv4, first(10), first(h) + first(h, 8) + first(c4, 16) + first(c4, 24))
    x = torch.randn(2, 12, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(big(x), alone(x), rtol=1e-5, atol=1e-5)
        big.set_choice(BlockChoice("3x3_silu"))  # back to all of it: another network
        assert (big(x) - alone(x)).abs().max() > 1e-3 or (depth, c3, c4) == (3, 16, 8)
    # the block's own extraction gives the same weights as the test's copy
    big.set_choice(BlockChoice("3x3_silu", depth, (c3, c4)))
    mine = alone.state_dict()
    assert big.active_state().keys() == mine.keys()
    for k, v in big.active_state().items():
        torch.testing.assert_close(v, mine[k])


def test_elastic_training_updates_only_the_running_statistics_of_the_channels_it_ran():
    block = SearchableELAN(8, 8, 16, 8, n=2, ops="3x3_relu").train()
    block.set_choice(BlockChoice("3x3_relu", 1, (8, 4)))
    before = block.cv1.bn.running_mean.clone()
    block(torch.randn(4, 8, 6, 6))
    moved = (block.cv1.bn.running_mean - before).abs() > 0
    assert moved.tolist() == [True] * 4 + [False] * 4 + [True] * 4 + [False] * 4
    with pytest.raises(SpaceError, match="depth 3 given for a block of 2 repeats"):
        block.set_depth(3)
    with pytest.raises(SpaceError, match="expected even and no more"):
        block.set_hidden(18, 8)


@pytest.mark.slow
def test_elastic_subnets_equal_the_supernet_path_and_export_as_ultralytics_models(tmp_path):
    from ultralytics import YOLO

    from hybrid_nas.classical.run import export

    space = NeckSpace("yolov9t", "full", positions="all", **ELASTIC)
    supernet = network.build(space.supernet_yaml(nc=3)).eval()
    randomise_norms(supernet)
    x = torch.randn(1, 3, 64, 64)
    rng = np.random.default_rng(4)
    for arch in (space.sample(rng), space.extreme(largest=False), space.sample(rng)):
        sub = sn.extract(supernet, space.path(arch))
        with torch.no_grad():
            torch.testing.assert_close(sub(x)[0], supernet(x)[0], rtol=1e-5, atol=1e-5)
        for i, block in network.blocks(sub).items():
            c3, c4, _ = space.stock[i]
            width = arch[f"m{i}_width"]
            assert block.channels[2:] == (hidden_channels(c3, width), hidden_channels(c4, width), arch[f"m{i}_depth"])
            assert block.ops == (arch[f"m{i}"],)
    assert sum(p.numel() for p in sub.parameters()) < sum(p.numel() for p in supernet.parameters())
    export(sub, arch, space, tmp_path, {"imgsz": 64})
    from_yaml, from_pt = YOLO(str(tmp_path / "best.yaml")), YOLO(str(tmp_path / "best.pt"))
    for model in (from_yaml, from_pt):  # the chosen depth and width are in both files
        assert {i: b.channels for i, b in network.blocks(model.model).items()} == {
            i: b.channels for i, b in network.blocks(sub).items()
        }
    from_yaml.model.load_state_dict(from_pt.model.state_dict())
    with torch.no_grad():
        for model in (from_yaml.model.eval(), from_pt.model.eval()):
            torch.testing.assert_close(model(x)[0], supernet(x)[0], rtol=1e-5, atol=1e-5)
    assert "/d" in (tmp_path / "best.yaml").read_text().splitlines()[0]  # the header names depth and width


def test_a_deeper_and_wider_supernet_holds_the_stock_block_as_a_subnet():
    space = NeckSpace("yolov9t", "full", depths=[2, 4], widths=[100, 150])
    supernet = network.build(space.supernet_yaml(nc=2))
    assert network.blocks(supernet)[12].channels == (224, 96, 144, 72, 4)  # yolov9t m12: 96, 48, 3 repeats
    stock = Architecture({**space.extreme(largest=False), "m12_depth": 2, "m12_width": 100})
    assert space.path(stock)[12] == BlockChoice("3x3_relu", 2, (96, 48))


def test_scopes_cap_the_searched_depths_and_widths():
    def options(scope, **kw):
        space = NeckSpace("yolov9t", scope, **kw)
        widths = [d.options for d in space.decisions if d.name == "m12_width"]
        return space["m12_depth"].options, widths[0] if widths else None

    assert options("small", **ELASTIC) == ((1,), (50, 75))  # small: max_depth 1, max_width 75
    assert options("medium", **ELASTIC) == ((1, 2, 3), (50, 75, 100))  # medium: the stock block's 3 repeats
    assert options("medium", depths=[1, 2, 3, 4], widths=[50, 100, 150]) == ((1, 2, 3), (50, 100))
    assert options("full", depths=[1, 2, 3, 4], widths=[50, 100, 150]) == ((1, 2, 3, 4), (50, 100, 150))
    assert options("small,full", **ELASTIC) == ((1, 2, 3), (50, 75, 100))  # a union's cap is the loosest
    assert options("medium", depths=[1, 2, 4], widths=[50, 75, 100], compound=True) == (
        (1, 2),
        None,
    )  # (4, 100): past stock
    assert options("small", **ELASTIC, compound=True) == ((1,), None)
    space = NeckSpace("yolov9t", "medium", depths=[1, 2, 4], widths=[50, 75, 100], compound=True)
    path = space.path(space.extreme(largest=True))[15]  # m15 stock: c3 64, c4 32; depth 2 pairs with 75 %
    assert path.depth == 2 and path.hidden == (48, 24)
    # the cap is the stock block's own depth: yolov9c's blocks repeat once, so medium keeps them at one
    assert NeckSpace("yolov9c", "medium", **ELASTIC)["m15_depth"].options == (1,)
    assert NeckSpace("yolov9c", "full", **ELASTIC)["m15_depth"].options == (1, 2, 3)
    with pytest.raises(SpaceError, match="scope removed them all"):
        NeckSpace("yolov9t", "small", depths=[2, 3])
    assert [d.name for d in NeckSpace("yolov9t", "small").decisions] == ["m12", "m15", "m18", "m21"]


def test_bad_elastic_settings_are_one_line_errors(monkeypatch):
    from hybrid_nas.classical import space as space_mod
    from hybrid_nas.classical.command import ClassicalSettings

    for given, needle in (
        (dict(depths="0,1"), "--depths must list positive integers"),
        (dict(depths="1.5"), "depths must be a list of integers"),
        (dict(widths="50,50"), "--widths lists an option twice"),
        (dict(depths="1,2", compound=True), "--compound ties each depth to one width"),
    ):
        with pytest.raises(ConfigError, match=needle):
            ClassicalSettings.resolve(**given)
    s = ClassicalSettings.resolve(depths="1, 2", widths=[50, "75"])  # with the mobile profile's table
    assert s.depths == [1, 2] and s.widths == [50, 75] and s.profile_values()["latency"] == "table"
    op_only = ClassicalSettings.resolve(depths="none", widths="None")  # the defaults search depth and width too
    assert op_only.depths is None and op_only.widths is None and ClassicalSettings.resolve().depths == [1, 2, 3]
    config = space_mod.scopes_config()
    config["scopes"]["odd"] = {"kernels": [3], "activations": ["relu"], "max_depth": 0}
    monkeypatch.setattr(space_mod, "scopes_config", lambda: config)
    with pytest.raises(ConfigError, match="max_depth must be a positive integer"):
        NeckSpace("yolov9t", "odd")
    config["scopes"]["odd"]["max_depth"] = "stocky"
    with pytest.raises(ConfigError, match="max_depth must be a positive integer or null or stock, got 'stocky'"):
        NeckSpace("yolov9t", "odd")


def test_an_old_runs_space_is_rebuilt_unchanged_and_an_elastic_one_with_its_options():
    from hybrid_nas.classical.command import rebuild_space

    old = NeckSpace("yolov9t", "medium")
    assert "depths" not in old.to_json()  # the fingerprint of a space without depth or width is as before
    assert rebuild_space(old.to_json()).to_json() == old.to_json()
    new = NeckSpace("yolov9t", "medium", **ELASTIC, compound=True)
    assert rebuild_space(new.to_json()).to_json() == new.to_json() != old.to_json()


def progressive_draws(space, epochs=8, batches=40):
    """Per epoch: the options drawn per dimension, and whether the epoch distils."""
    rng = np.random.default_rng(0)
    seen = []
    for epoch in range(epochs):
        per = {"kernel": Counter(), "activation": Counter(), "depth": Counter(), "width": Counter()}
        for b in range(batches):
            arch = sn.draw_path(space, "progressive", rng, epoch * batches + b, epoch, epochs)
            for name, option in arch.items():
                if space.dimension(name) == "kernel":
                    per["kernel"][int(option[0])] += 1
                    per["activation"][option.split("_")[1]] += 1
                else:
                    per[space.dimension(name)][option] += 1
        seen.append((per, sn.distils(space, "progressive", epoch, epochs)))
    return seen


def test_progressive_phases_shrink_kernel_then_depth_then_width_each_in_its_turn():
    space = NeckSpace("yolov9t", "full", **ELASTIC)
    assert sn.phases(space) == ("largest", "kernel", "depth", "width")
    seen = progressive_draws(space)  # 8 epochs: two per phase
    for epoch, (per, distils) in enumerate(seen):
        now = sn.PHASES[epoch // 2]
        assert set(per["kernel"]) == ({7} if now == "largest" else {3, 5, 7})
        assert set(per["depth"]) == ({3} if now in ("largest", "kernel") else {1, 2, 3})
        assert set(per["width"]) == ({50, 75, 100} if now == "width" else {100})
        assert len(per["activation"]) == 4  # parameter-free: drawn in every phase
        assert distils == (now != "largest")  # the largest path teaches from the kernel phase on


def test_progressive_phases_follow_the_dimensions_the_space_searches():
    ops_only = NeckSpace("yolov9t", "full")
    assert sn.phases(ops_only) == ("largest", "kernel")
    assert [sn.phase(ops_only, e, 25) for e in (0, 11, 12, 24)] == ["largest", "largest", "kernel", "kernel"]
    compound = NeckSpace("yolov9t", "full", **ELASTIC, compound=True)
    assert sn.phases(compound) == ("largest", "kernel", "depth")  # the width moves with the depth
    seen = progressive_draws(compound, epochs=3)
    assert [set(per["depth"]) for per, _ in seen] == [{3}, {3}, {1, 2, 3}]
    assert not any(seen[-1][0]["width"])
    assert not sn.distils(ops_only, "uniform", 10, 25) and sn.distils(ops_only, "sandwich", 0, 25)


@pytest.mark.slow
def test_progressive_supernet_training_runs_every_phase_through_ultralytics(tmp_path):
    from hybrid_nas.classical.data import digits_detection

    data = digits_detection(imgsz=64, n_images=12, seed=0, root=tmp_path / "data")
    space = NeckSpace("yolov9t", "medium", depths=[1, 2], widths=[50, 100])
    trained = sn.train_supernet(space, data, tmp_path, epochs=4, imgsz=64, batch=2, sampling="progressive")
    depth, width = trained.path_counts["m12_depth"], trained.path_counts["m12_width"]
    # 4 epochs x 5 batches; from the second epoch on each batch adds the largest path as the teacher
    assert sum(depth.values()) == 5 + 15 * 2 and depth[1] > 0 and width[50] > 0
    assert width[50] <= 5  # only the last epoch (the width phase) draws a narrower block
    sub = sn.extract(trained.model, space.path(space.extreme(largest=False)))
    assert network.blocks(sub)[12].channels[2:] == (48, 24, 1)


@pytest.mark.slow
def test_an_elastic_search_exports_its_chosen_depths_and_widths(tmp_path, capsys, monkeypatch):
    import json

    from ultralytics import YOLO

    from hybrid_nas.cli import main

    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    args = ["classical", "--scope", "medium", "--depths", "1,2,3,4", "--widths", "50,100"]  # the run's own table
    args += ["--sampling", "progressive", "--supernet-epochs", "4", "--imgsz", "64", "--n-images", "12"]
    args += ["--batch", "4", "--calibration-images", "4", "--budget", "3", "--out", "e", "--no-progress"]
    assert main(args) == 0
    doc = json.loads((tmp_path / "e" / "best.json").read_text())
    arch = doc["best"]["architecture"]
    assert {arch[f"m{i}_depth"] for i in (12, 15, 18, 21)} <= {1, 2, 3}  # medium caps it at the stock's 3
    space = NeckSpace("yolov9t", "medium", depths=[1, 2, 3, 4], widths=[50, 100])
    table = json.loads((tmp_path / "e" / "latency_table.json").read_text())
    assert len(table["entries"]["m12"]) == 4 * 3 * 2  # (op, depth, width) of medium
    assert doc["best"]["metrics"]["latency_ms"] == pytest.approx(
        table["intercept"]
        + table["slope"] * sum(table["entries"][k][v] for k, v in space.block_keys(Architecture(arch)).items())
    )
    model = YOLO(str(tmp_path / "e" / "best.pt"))
    assert {i: b.choice() for i, b in network.blocks(model.model).items()} == space.path(Architecture(arch))
    assert "depths and widths are in best.yaml" in doc["tango_note"]
    capsys.readouterr()
    assert main([*args[:-5], "--widths", "50,75,100", "--out", "e", "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot resume" in err and len(err.splitlines()) == 1 and "Traceback" not in err
