"""The noisy prescreen: RepCap weighed by the Clifford noise score, Elivagar's RepCap x CNR^alpha."""

import pytest

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.quantum.data import load_task
from hybrid_nas.quantum.layout import best_layouts
from hybrid_nas.quantum.prescreen import NoisyRepCapEvaluator
from hybrid_nas.quantum.space import space_for_task

BACKEND = "FakeSherbrooke"


def device_space():
    return space_for_task(load_task("moons"), layers=3, scope="rxyz", device=best_layouts(BACKEND, 2, 4))


def test_the_stage_one_metrics_hold_both_tiers_and_their_product_with_repcap():
    space = device_space()
    bare = space.uniform(1, "rx", "none")
    entangled = space.uniform(3, "rx", "cnot_ring")  # three couplers' worth of ECRs more
    screen = NoisyRepCapEvaluator(space, "moons", BACKEND, alpha=0.5, per_class=4, draws=4, replicas=4, shots=128)
    m = screen.evaluate(entangled, seed=3)
    for name in ("repcap", "kta", "clifford_score", "est_fidelity", "infidelity", "transpiled_depth", "repcap_cnr"):
        assert name in m
    assert 0.5 < m["clifford_score"] < 1 and 0 < m["est_fidelity"] < 1
    assert m["repcap_cnr"] == pytest.approx(m["repcap"] * m["clifford_score"] ** 0.5)
    assert m["repcap_cnr"] < m["repcap"]  # a score below 1 can only lower RepCap
    assert screen.evaluate(bare, seed=3)["est_fidelity"] > m["est_fidelity"]
    plain = NoisyRepCapEvaluator(space, "moons", BACKEND, alpha=0, per_class=4, draws=4, replicas=2, shots=64)
    assert plain.evaluate(entangled, seed=3)["repcap_cnr"] == m["repcap"]  # alpha 0: RepCap alone, same draws
    assert screen.quality == "repcap_cnr" and screen.meta()["alpha"] == 0.5


def test_a_negative_alpha_or_a_backend_too_small_is_one_line():
    space = device_space()
    with pytest.raises(ConfigError, match="--cnr-alpha must be at least 0"):
        NoisyRepCapEvaluator(space, "moons", BACKEND, alpha=-0.1)
    wide = space_for_task(load_task("digits10"))
    with pytest.raises(ConfigError, match="FakeManilaV2 has 5"):
        NoisyRepCapEvaluator(wide, "digits10", "FakeManilaV2")


@pytest.mark.slow
def test_a_noisy_prescreen_through_the_command_ranks_by_repcap_cnr_and_trains_only_top_k(tmp_path):
    from hybrid_nas.cli import main
    from hybrid_nas.engine.run import load

    args = ["quantum", "--task", "moons", "--noise", BACKEND, "--layout", "device", "--scope", "rxyz"]
    args += ["--epochs", "1", "--layers", "2", "--shots", "256", "--cnr-alpha", "1"]
    assert main([*args, "--prescreen", "6", "--top-k", "2", "--out", str(tmp_path / "R"), "--no-progress"]) == 0
    run = load(tmp_path / "R")
    screened, trained = run.view("prescreen"), run.view()
    assert len(screened.trials) == 6 and screened.quality == "repcap_cnr"
    for t in screened.ok:
        m = t.metrics
        assert m["repcap_cnr"] == pytest.approx(m["repcap"] * m["clifford_score"])
    assert len(trained.trials) == 2
    best = sorted(screened.ok, key=lambda t: (-t.reward, t.number))[:2]
    assert [t.arch for t in trained.trials] == [t.arch for t in best]
    assert all(t.metrics["prescreen_repcap_cnr"] > 0 and "noisy_accuracy" in t.metrics for t in trained.trials)
