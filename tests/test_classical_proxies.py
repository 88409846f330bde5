"""Zero-cost proxies on real yolov9t subnets of the elastic space and one batch of the built-in data."""

import math

import pytest
import torch

from hybrid_nas.classical import proxies as px
from hybrid_nas.classical.data import digits_detection
from hybrid_nas.classical.space import NeckSpace
from hybrid_nas.engine.errors import ConfigError

SPACE = NeckSpace("yolov9t", "full", "all", depths=[1, 2, 3], widths=[50, 75, 100])


@pytest.fixture(scope="module")
def batch():
    return px.proxy_batch(digits_detection(64, 40, seed=0), 64, n_images=6, seed=0)


def arch(width: int):
    a = SPACE.extreme(largest=False)
    return a.replace(**{d.name: width for d in SPACE.decisions if d.name.endswith("_width")})


def test_every_proxy_is_finite_and_deterministic(batch):
    model = px.init_subnet(SPACE, arch(75), nc=10, seed=1)
    first, again = px.zero_cost(model, batch), px.zero_cost(px.init_subnet(SPACE, arch(75), nc=10, seed=1), batch)
    assert set(px.PROXIES) <= set(first) and all(math.isfinite(first[k]) for k in px.PROXIES)
    assert all(first[k] == again[k] for k in px.PROXIES)


def test_a_wider_subnet_has_more_synflow_params_and_flops(batch):
    narrow, wide = (
        px.zero_cost(px.init_subnet(SPACE, arch(w), 10), batch, ["synflow", "params", "gflops"]) for w in (50, 100)
    )
    assert all(wide[k] > narrow[k] for k in ("synflow", "params", "gflops"))


def test_naswot_does_not_depend_on_the_order_of_the_batch(batch):
    model, images = px.init_subnet(SPACE, arch(50), 10), batch["img"].float() / 255
    score = px.naswot(model, images)
    assert px.naswot(model, images.flip(0)) == pytest.approx(score, rel=1e-6)
    assert px.naswot(model, images[:3]) != pytest.approx(score, rel=1e-3)  # it does depend on the images


def test_a_nan_input_is_a_one_line_proxy_error(batch):
    bad = {**batch, "img": batch["img"].float()}
    bad["img"][0, 0, 0, 0] = float("nan")
    with pytest.raises(px.ProxyError, match=r"^zero-cost proxy grad_norm is nan on this subnet") as e:
        px.zero_cost(px.init_subnet(SPACE, arch(50), 10), bad, ["grad_norm"])
    assert "\n" not in str(e.value)


def test_an_unknown_proxy_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="unknown zero-cost proxy 'synflw' \\(did you mean 'synflow'\\?\\)"):
        px.zero_cost(torch.nn.Identity(), {}, ["synflw"])
