import math

import numpy as np
import pytest

from hybrid_nas import ConfigError
from hybrid_nas.engine.objectives import crowding_distance, dominates, make_objective, non_dominated_sort, pareto_front


def m(acc, lat):
    return {"accuracy": acc, "latency_ms": lat}


# Table 1 of TANGO's constrained-reward paper, T = 17 ms
@pytest.mark.parametrize(
    "acc, lat, expected",
    [
        (0.80, 8, 0.82102),
        (0.84, 16, 0.83546),
        (0.80, 12, 0.81186),
        (0.84, 24, 0.77031),
        (0.83, 16, 0.82646),
    ],
)
def test_constrained_reward_reproduces_table_1(acc, lat, expected):
    assert make_objective("constrained", T=17).reward(m(acc, lat)) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    "acc, lat, expected",
    [
        (0.80, 8, 0.84334),
        (0.84, 16, 0.84357),
        (0.80, 12, 0.81974),
        (0.84, 24, 0.81997),
    ],
)
def test_mnasnet_soft_reproduces_table_1(acc, lat, expected):
    assert make_objective("mnasnet-soft", T=17).reward(m(acc, lat)) == pytest.approx(expected, abs=1e-4)


def test_constrained_latency_term_is_zero_past_its_cutoff():
    obj = make_objective("constrained", T=17)
    assert obj.latency_term(24.49) > 0
    for lat in (24.5, 25.0, 25.4, 100.0):  # 1.5 T - 1 = 24.5: the log would go negative, then undefined
        assert obj.latency_term(lat) == 0.0
        assert obj.reward(m(0.7, lat)) == pytest.approx(0.63)


def test_mnasnet_hard_is_accuracy_under_T_and_penalised_over_it():
    obj = make_objective("mnasnet-hard", T=10)
    assert obj.reward(m(0.8, 5)) == pytest.approx(0.8)
    assert obj.reward(m(0.8, 20)) == pytest.approx(0.4)


def test_weighted_and_pareto_rewards():
    assert make_objective("weighted").reward(m(0.8, 10)) == pytest.approx(0.7)
    pareto = make_objective("pareto", T=10)
    assert pareto.reward(m(0.8, 5)) > pareto.reward(m(0.9, 11))  # over T ranks below any feasible one
    assert pareto.vector(m(0.8, 5)) == (-0.8, 5.0)


@pytest.mark.parametrize("T", [0, -1, math.nan])
def test_bad_T_is_refused(T):
    with pytest.raises(ConfigError, match="T must be"):
        make_objective("mnasnet-soft", T=T)


def test_unknown_objective_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'constrained'"):
        make_objective("constrainted", T=17)


def test_unknown_metric_names_what_exists():
    with pytest.raises(ConfigError, match="unknown metric 'accuracy'"):
        make_objective("constrained", T=17).reward({"map50": 0.5, "latency_ms": 3})


def test_pareto_dominance_and_fronts():
    pts = [(0, 5), (1, 1), (2, 0), (2, 2), (3, 3), (1, 4)]
    assert dominates((1, 1), (2, 2)) and not dominates((0, 5), (1, 1)) and not dominates((1, 1), (1, 1))
    assert sorted(pareto_front(pts)) == [0, 1, 2]
    fronts = non_dominated_sort(pts)
    assert [sorted(f) for f in fronts] == [[0, 1, 2], [3, 5], [4]]
    # every point of a later front is dominated by some point of an earlier one
    for later in range(1, len(fronts)):
        for j in fronts[later]:
            assert any(dominates(pts[i], pts[j]) for i in fronts[later - 1])


def test_crowding_distance_keeps_the_extremes():
    d = crowding_distance([(0, 4), (1, 3), (3, 1), (4, 0)])
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(d[2]) and np.isfinite(d[1])


class Rec:
    """The fields a trial record offers ``Objective.best``."""

    def __init__(self, number, acc, lat, objective, ok=True):
        self.number, self.ok, self.metrics = number, ok, m(acc, lat)
        self.reward = objective.reward(self.metrics)


def records(objective, rows):
    return [Rec(i, acc, lat, objective) for i, (acc, lat) in enumerate(rows)]


ROWS = [(0.70, 10.0), (0.84, 30.0), (0.80, 12.0), (0.80, 9.0), (0.60, 2.0), (0.80, 9.0)]


def test_a_trade_off_objective_picks_the_highest_reward():
    for name, kw in (("weighted", {}), ("mnasnet-soft", {"T": 17})):
        objective = make_objective(name, **kw)
        trials = records(objective, ROWS)
        assert objective.rule == "trade-off"
        assert objective.best(trials) is max(trials, key=lambda t: t.reward)
    weighted = make_objective("weighted")  # accuracy - 0.01 * latency: the 84 % at 30 ms is not the best
    assert weighted.best(records(weighted, ROWS)).number == 3


def test_a_limit_objective_picks_the_most_accurate_within_T_cheaper_then_first_on_ties():
    for name in ("constrained", "mnasnet-hard"):
        objective = make_objective(name, T=17)
        trials = records(objective, ROWS)
        assert objective.rule == "limit"
        assert objective.best(trials).number == 3  # 80 % ties thrice: 9 ms beats 12 ms; trial 3 before 5
        assert objective.best(records(objective, [(0.9, 20.0)])) is None  # nothing within T: no best


def test_the_constrained_rewards_argmax_can_be_over_T_but_its_best_never_is():
    from hybrid_nas.nb201.table import load_table

    table, objective = load_table(), make_objective("constrained", T=17)
    acc, lat = table.accuracy("cifar100") / 100, table.latency("titan_rtx_256")
    trials = [Rec(i, a, t, objective) for i, (a, t) in enumerate(zip(acc, lat))]
    top = max(trials, key=lambda t: t.reward)
    assert top.metrics["latency_ms"] > 17  # the reward alone would export an infeasible cell
    best = objective.best(trials)
    assert best.metrics["latency_ms"] <= 17 and best.metrics["accuracy"] == acc[lat <= 17].max()


def test_pareto_states_its_front_and_picks_its_most_accurate_member_within_T():
    from hybrid_nas.engine.objectives import front_of

    objective = make_objective("pareto", T=17)
    trials = records(objective, ROWS) + [Rec(6, 0.99, 1.0, objective, ok=False)]  # a failed trial is no member
    assert objective.rule == "front"
    assert [t.number for t in front_of(trials, "accuracy", "latency_ms")] == [1, 3, 4, 5]
    assert objective.best(trials).number == 3
    assert make_objective("pareto").best(trials).number == 1  # no T: the front's most accurate


def test_an_objective_is_rebuilt_from_its_meta():
    from hybrid_nas.engine.objectives import objective_from_meta

    for name in ("weighted", "mnasnet-soft", "mnasnet-hard", "constrained", "pareto"):
        objective = make_objective(name, T=15)
        again = objective_from_meta(objective.meta())
        assert again.meta() == objective.meta() and again.reward(m(0.8, 12)) == objective.reward(m(0.8, 12))
