"""--rescore-top: the search's top K re-scored on a selection split that no candidate was chosen on, the best
there exported, its figure reported beside the search's."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import hybrid_nas as hn
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.objectives import objective_from_meta
from hybrid_nas.engine.rescore import top
from hybrid_nas.quantum.command import QuantumJob, QuantumSettings, rebuild_space
from hybrid_nas.quantum.data import holdout_indices, search_task, selection_split
from hybrid_nas.quantum.hardware import fake_backend
from hybrid_nas.quantum.noise import DeviceRun
from hybrid_nas.quantum.training import accuracy, train

FAST = dict(task="moons", scope="zz_ry", layers=1, budget=5, epochs=2, noise="FakeManilaV2")


def rows(a: np.ndarray) -> set:
    return {tuple(r) for r in np.round(a, 12)}


def test_the_selection_split_is_half_the_validation_split_and_nothing_else_the_search_sees():
    full, searched = search_task("moons"), search_task("moons", None, True)
    keep, held = holdout_indices(full.y_val)
    assert not set(keep) & set(held) and sorted([*keep, *held]) == list(range(len(full.y_val)))
    x, y = selection_split("moons")
    np.testing.assert_array_equal(x, full.x_val[held])
    np.testing.assert_array_equal(searched.x_val, full.x_val[keep])
    np.testing.assert_array_equal(searched.y_val, full.y_val[keep])
    assert np.abs(np.bincount(y) - np.bincount(searched.y_val)).max() <= 1  # each class halved
    # training and test data are the search's own: a re-score reuses its weights, the test stays comparable
    np.testing.assert_array_equal(searched.x_train, full.x_train)
    np.testing.assert_array_equal(searched.x_test, full.x_test)
    # moons has no repeated points, so the rows say the same: none is trained, searched or tested on
    assert not rows(x) & (rows(searched.x_val) | rows(searched.x_train) | rows(full.x_test))


@pytest.fixture(scope="module")
def rescored_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rescore") / "q"
    run = hn.quantum.search(out=out, rescore_top=3, progress=False, **FAST)
    return run, json.loads((out / "rescore.json").read_text())


def test_the_exported_best_is_the_best_of_the_top_k_by_its_noisy_held_out_reward(rescored_run):
    run, rescored = rescored_run
    view, doc = run.view(), run.result
    ranked = top(view, 3)
    assert ranked[0].number == view.best().number and len(ranked) == 3
    assert [r["trial"] for r in rescored["candidates"]] == [t.number for t in ranked]
    assert rescored["quality"] == "noisy_accuracy"  # noise-aware: chosen on the noisy figure
    objective = objective_from_meta(view.meta["objective"])
    for row, t in zip(rescored["candidates"], ranked):
        assert row["reward"] == pytest.approx(objective.reward({**t.metrics, **row["held_out"]}))
    chosen = max(rescored["candidates"], key=lambda r: (r["reward"], -r["trial"]))
    assert doc["best"]["trial"] == chosen["trial"] == rescored["chosen"]
    assert doc["best"]["held_out"] == chosen["held_out"] and doc["search_best"]["trial"] == view.best().number


def test_the_held_out_figure_recomputes_independently_on_data_the_search_did_not_score(rescored_run):
    run, _ = rescored_run
    view, best = run.view(), run.result["best"]
    trial = next(t for t in view.ok if t.number == best["trial"])
    circuit = rebuild_space(view.meta["space"]).build(trial.arch)
    settings = QuantumSettings.resolve(**FAST)
    task = search_task("moons")
    weights = train(circuit, task, replace(settings.training(), seed=trial.seed)).weights
    np.testing.assert_allclose(np.load(run.dir / "best_weights.npy"), weights)  # the exported one is it
    keep, held = holdout_indices(task.y_val)
    x, y = task.x_val[held], task.y_val[held]
    assert best["held_out"]["accuracy"] == accuracy(circuit, weights, x, y, task.n_classes, settings.training())
    noisy = DeviceRun(circuit, weights, fake_backend("FakeManilaV2"), 1, trial.seed).accuracy(x, y, task.n_classes)
    assert best["held_out"]["noisy_accuracy"] == noisy
    # the search scored the trial on the other half only
    searched = accuracy(circuit, weights, task.x_val[keep], task.y_val[keep], task.n_classes, settings.training())
    assert trial.metrics["accuracy"] == searched


def test_the_summaries_label_each_figure_with_what_it_was_chosen_on(rescored_run):
    run, rescored = rescored_run
    printed = QuantumJob(QuantumSettings.resolve(**FAST), "quantum").summary(run)
    best = run.result["best"]
    assert f"held-out accuracy {best['held_out']['accuracy']:.3f}" in printed
    assert "chosen among 5 on it: optimistic" in printed and "(never chosen on)" in printed
    assert "the best of the search's top 3 on it" in printed
    md = (run.dir / "summary.md").read_text()
    assert "## Re-scored on held-out data" in md and f"| {best['trial']} (exported) |" in md


def test_a_resume_trains_no_trial_again_and_keeps_the_held_out_scores(tmp_path):
    quick = {**FAST, "noise": None, "budget": 4}
    first = hn.quantum.search(out=tmp_path / "q", rescore_top=2, progress=False, **quick)
    path = tmp_path / "q" / "rescore.json"
    doc = json.loads(path.read_text())
    runner_up = doc["candidates"][1]
    runner_up["held_out"]["accuracy"] = 2.0  # a score no circuit earns: kept only if it is not recomputed
    path.write_text(json.dumps(doc))
    numbers = [(t.number, t.started) for t in first.view().trials]
    again = hn.quantum.search(out=tmp_path / "q", rescore_top=2, resume=True, progress=False, **quick)
    assert [(t.number, t.started) for t in again.view().trials] == numbers
    assert again.result["best"]["trial"] == runner_up["trial"]  # chosen by the kept held-out score
    assert again.result["best"]["held_out"]["accuracy"] == 2.0


def test_the_default_is_10_at_most_the_budget_and_off_where_validation_cannot_be_halved(tmp_path):
    assert QuantumSettings.resolve().rescore_k() == 10
    assert QuantumSettings.resolve(budget=3).rescore_k() == 3
    assert QuantumSettings.resolve(prescreen=20, top_k=2).rescore_k() == 2
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("a,b,label\n" + "".join(f"{i % 7}.5,{i % 3}.25,{c}\n" for c in "xy" for i in range(6)))
    assert QuantumSettings.resolve(task=f"csv:{tiny}").rescore_k() == 0


def test_a_bad_k_is_one_line_before_any_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^--rescore-top 4 is more than the 3 candidates the search trains$"):
        hn.quantum.search(out=tmp_path / "x", budget=3, rescore_top=4, noise=None, progress=False)
    with pytest.raises(ConfigError, match=r"^--rescore-top must be at least 0 \(0: off\), got -2$"):
        hn.quantum.search(out=tmp_path / "x", rescore_top=-2, noise=None, progress=False)
    assert not (tmp_path / "x").exists()


def test_a_depth_sweep_rows_each_depths_re_scored_best_with_its_held_out_figure(tmp_path):
    hn.quantum.depth_sweep(out=tmp_path / "s", **{**FAST, "noise": None, "layers": 2, "budget": 3}, progress=False)
    rows = json.loads((tmp_path / "s" / "depth_sweep.json").read_text())
    for r in rows:
        best = json.loads((tmp_path / "s" / f"depth{r['layers']}" / "best.json").read_text())["best"]
        rescored = json.loads((tmp_path / "s" / f"depth{r['layers']}" / "rescore.json").read_text())
        assert r["trial"] == best["trial"] == rescored["chosen"] and len(rescored["candidates"]) == 3
        assert r["held_out_accuracy"] == best["held_out"]["accuracy"] and r["accuracy"] == best["metrics"]["accuracy"]
    assert "| held-out accuracy |" in (tmp_path / "s" / "depth_sweep.md").read_text()
