import hashlib
import json
import subprocess
import sys

import pytest

from hybrid_nas.cli import main
from hybrid_nas.engine.stats import wilson_halfwidth
from hybrid_nas.engine.storages.base import open_study
from hybrid_nas.nb201.table import NB201Space, load_table


def stored(study_dir):
    """(configuration, trials) of the study in ``study_dir``, read from its store."""
    store = open_study(study_dir)
    try:
        return store.get_meta(), store.trials()
    finally:
        store.close()


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_nb201_writes_the_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run(
        ["bench", "nb201", "--budget", "80", "--seed", "1", "--out", str(out), "--no-progress"], capsys
    )
    assert code == 0
    best = json.loads((out / "best.json").read_text())
    trials = stored(out)[1]
    assert len(trials) == 80 and (out / "optuna.journal").is_file()
    feasible = [t.metrics for t in trials if t.metrics["latency_ms"] <= 17]
    assert best["rule"].startswith("the highest accuracy with latency_ms <= 17")  # constrained: a hard limit
    assert best["best"]["metrics"]["accuracy"] == max(m["accuracy"] for m in feasible)
    # the arch string and index name the same table row as the metrics
    i = best["nb201_index"]
    assert load_table().arch_strings[i] == best["arch_string"] == best["best"]["description"]
    assert NB201Space().parse(best["arch_string"]) == best["best"]["architecture"]
    assert best["best"]["metrics"]["accuracy"] == pytest.approx(load_table().accuracy("cifar100")[i] / 100)
    assert best["oracle"]["nb201_index"] == 3487
    assert best["arch_string"] in stdout and "oracle (whole table): 70.09 %" in stdout
    for f in ("config.yaml", "summary.md", "report/best_so_far.png", "report/pareto.png"):
        assert (out / f).stat().st_size > 0


def test_resume_extends_a_run_and_report_rewrites_it(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["bench", "nb201", "--strategy", "random", "--out", out, "--no-progress"]
    assert run(args + ["--budget", "30"], capsys)[0] == 0
    code, _, err = run(args + ["--budget", "60"], capsys)
    assert code == 2 and "pass --resume" in err
    assert run(args + ["--budget", "60", "--resume"], capsys)[0] == 0
    assert json.loads((tmp_path / "run" / "best.json").read_text())["trials"] == 60
    (tmp_path / "run" / "summary.md").unlink()
    code, stdout, _ = run(["report", out], capsys)
    assert code == 0 and "summary.md" in stdout
    assert "| trial | architecture |" in (tmp_path / "run" / "summary.md").read_text()


def test_corrupt_store_and_config_are_one_clear_line(tmp_path, capsys):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "storage.json").write_text('{"storage": null, "study": "r"}\n')
    (run_dir / "optuna.journal").write_bytes(b"\x00garbage\n" * 500)
    code, _, err = run(["bench", "nb201", "--out", str(run_dir), "--resume", "--no-progress"], capsys)
    assert code == 2 and err.count("\n") == 1 and "is not an Optuna journal" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: [evolution\n")
    code, _, err = run(["bench", "nb201", "--config", str(bad), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "is not valid YAML" in err
    bad.write_text("stratgy: random\n")
    code, _, err = run(["bench", "nb201", "--config", str(bad), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and "unknown setting 'stratgy' (did you mean 'strategy'?)" in err
    code, _, err = run(["report", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "is not a run directory" in err


def test_console_script_lists_its_commands():
    out = subprocess.run(["hybrid-nas", "--help"], capture_output=True, text=True, check=True).stdout
    assert "bench" in out and "report" in out
    err = subprocess.run(
        [sys.executable, "-m", "hybrid_nas.cli", "bench", "nb201", "--T", "abc"], capture_output=True, text=True
    ).stderr
    assert err == "hybrid-nas: error: T must be a number or null, got 'abc'\n"


def test_quantum_search_writes_circuit_artefacts(tmp_path, capsys):
    out = tmp_path / "q"
    code, stdout, _ = run(
        [
            "quantum",
            "--task",
            "moons",
            "--scope",
            "zz_ry",
            "--layers",
            "2",
            "--budget",
            "4",
            "--epochs",
            "2",
            "--noise",
            "FakeManilaV2",
            "--noisy-samples",
            "20",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0
    best = json.loads((out / "best.json").read_text())
    metrics = best["best"]["metrics"]
    tiers = {"est_fidelity", "clifford_score", "noisy_accuracy"}
    assert {"accuracy", "params", "two_qubit_gates", "depth", *tiers} <= set(metrics)
    assert 0 <= metrics["noisy_accuracy"] <= 1 and 0 < metrics["est_fidelity"] < 1
    assert 0.5 < metrics["clifford_score"] <= 1  # a readout bit keeps its sign more often than not
    assert metrics["infidelity"] == pytest.approx(1 - metrics["est_fidelity"])
    # tier 3 on 20 balanced validation samples, with its Wilson interval
    assert metrics["noisy_accuracy_samples"] == 20
    assert metrics["noisy_accuracy_ci"] == pytest.approx(wilson_halfwidth(metrics["noisy_accuracy"], 20))
    assert set(best["test"]) == {
        "test_accuracy",
        "noisy_test_accuracy",
        "noisy_test_accuracy_ci",
        "noisy_test_accuracy_samples",
    }
    summary = (out / "summary.md").read_text()
    assert "## Agreement of `est_fidelity`, `clifford_score`, `noisy_accuracy`" in summary
    assert "| est_fidelity | clifford_score | 4 |" in summary and "| clifford_score | noisy_accuracy | 4 |" in summary
    qasm = (out / "best.qasm").read_text()
    assert qasm.startswith("OPENQASM 3.0;") and qasm.count("input float[64]") == 2  # moons: 2 features
    assert len(__import__("numpy").load(out / "best_weights.npy")) == metrics["params"]
    assert (out / "best_circuit.png").stat().st_size > 1000 and (out / "report" / "pareto.png").exists()
    assert best["best"]["description"] in stdout and "noisy" in stdout


def test_a_wide_csv_runs_without_manual_reduction(tmp_path, capsys):
    """100 features and 12 classes: more than 32 features and more classes than 8 qubits hold. The qubit
    count follows the classes (12), the features take 9 RY/RZ/RX rows, and --qubits overrides it."""
    rng = __import__("numpy").random.default_rng(0)
    centres = rng.normal(size=(12, 100))
    labels = rng.integers(0, 12, 240)
    path = tmp_path / "wide.csv"
    path.write_text(
        "\n".join(
            [",".join(f"f{i}" for i in range(100)) + ",label"]
            + [",".join(f"{v:.3f}" for v in centres[k] + 0.3 * rng.normal(size=100)) + f",c{k}" for k in labels]
        )
    )
    out = tmp_path / "wide"
    code, stdout, _ = run(
        [
            "quantum",
            "--task",
            f"csv:{path}",
            "--layers",
            "1",
            "--budget",
            "2",
            "--epochs",
            "1",
            "--noise",
            "none",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0 and "on 12 qubits" in stdout
    assert (out / "best.qasm").read_text().count("input float[64]") == 100  # every feature is encoded
    code, stdout, _ = run(
        [
            "quantum",
            "--task",
            f"csv:{path}",
            "--qubits",
            "14",
            "--layers",
            "1",
            "--budget",
            "1",
            "--epochs",
            "1",
            "--noise",
            "none",
            "--out",
            str(tmp_path / "wide14"),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0 and "on 14 qubits" in stdout


def test_depth_sweep_reports_one_best_circuit_per_depth(tmp_path, capsys):
    out = tmp_path / "sweep"
    code, stdout, _ = run(
        [
            "depth-sweep",
            "--task",
            "moons",
            "--scope",
            "zz_ry",
            "--layers",
            "2",
            "--budget",
            "3",
            "--epochs",
            "2",
            "--rescore-top",
            "0",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0
    rows = json.loads((out / "depth_sweep.json").read_text())
    assert [r["layers"] for r in rows] == [1, 2]
    for r in rows:  # each row is its depth's best trial, read back from that depth's own store
        trials = stored(out / f"depth{r['layers']}")[1]
        assert r["accuracy"] == max(t.metrics["accuracy"] for t in trials)
        assert r["circuit"].count(">") + r["circuit"].count("|") >= 1
    assert (out / "depth_sweep.png").exists() and "| layers | val accuracy |" in stdout
    assert (out / "depth1" / "report" / "depth_vs_accuracy.png").exists()


def test_one_shot_search_scores_by_inherited_weights_and_retrains_the_best(tmp_path, capsys):
    out = tmp_path / "one-shot"
    code, stdout, _ = run(
        [
            "quantum",
            "--task",
            "moons",
            "--scope",
            "zz_ry",
            "--layers",
            "2",
            "--budget",
            "6",
            "--supercircuit-epochs",
            "3",
            "--finetune-steps",
            "2",
            "--noise",
            "none",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0 and "SuperCircuit trained: 3 epochs" in stdout
    meta = stored(out)[0]
    assert meta["evaluator"]["name"] == "supercircuit" and meta["evaluator"]["finetune_steps"] == 2
    assert "test_accuracy" in json.loads((out / "best_test.json").read_text()) and (out / "best.qasm").exists()


def test_classical_searches_two_scopes_from_one_supernet(tmp_path, capsys, monkeypatch):
    from ultralytics import YOLO

    from hybrid_nas.classical import network
    from hybrid_nas.classical.tango import TANGO_OPS

    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # a relative --out (ultralytics would nest a relative project in its own runs/)
    out = tmp_path / "c"
    args = [
        "classical",
        "--scopes",
        "small,medium",
        "--depths",  # the ops alone (the defaults also search depth and width): TANGO's form holds them all
        "none",
        "--widths",
        "none",
        "--supernet-epochs",
        "1",
        "--imgsz",
        "64",
        "--n-images",
        "12",
        "--batch",
        "4",
        "--calibration-images",
        "4",
        "--budget",
        "3",
        "--out",
        "c",
        "--no-progress",
    ]
    code, stdout, _ = run(args, capsys)
    assert code == 0
    rows = json.loads((out / "scopes.json").read_text())["scopes"]
    assert [r["scope"] for r in rows] == ["small", "medium"] and all(r["trials"] == 3 for r in rows)
    assert "| Scope | Architecture | Precision | Recall | mAP50 | mAP50-95 | latency (ms) |" in stdout
    table = json.loads((out / "latency_table.json").read_text())
    assert set(table["entries"]["m12"]) == {"3x3_relu", "3x3_silu", "5x5_relu", "5x5_silu"}
    for scope in ("small", "medium"):
        doc = json.loads((out / scope / "best.json").read_text())
        best = doc["best"]
        assert best["metrics"]["latency_ms"] > 0 and 0 <= best["metrics"]["map50"] <= 1
        # TANGO's form of the same architecture: its m_<i+1>, indices over its 8 ops
        assert {f"m{int(k[2:]) - 1}": TANGO_OPS[v] for k, v in doc["tango"].items()} == best["architecture"]
        model = YOLO(str(out / scope / "best.pt"))
        assert {f"m{i}": b.op for i, b in network.blocks(model.model).items()} == best["architecture"]
        assert (out / scope / "report" / "pareto.png").exists() and (out / scope / "best.yaml").exists()
    small = json.loads((out / "small" / "best.json").read_text())["best"]["architecture"]
    assert all(op.startswith("3x3") for op in small.values())
    assert (out / "supernet" / "weights" / "last.pt").is_file() and not (tmp_path / "runs").exists()
    # resuming reuses the supernet and the latency table, and the stored trials
    code, stdout, _ = run([*args[:-5], "--budget", "4", "--out", "c", "--resume", "--no-progress"], capsys)
    assert code == 0 and "reusing" in stdout
    assert [r["trials"] for r in json.loads((out / "scopes.json").read_text())["scopes"]] == [4, 4]
    # the store knows its supernet: what it was trained with and the hash of its weights
    meta = stored(out / "small")[0]
    supernet = meta["evaluator"]["supernet"]
    assert (
        supernet["epochs"] == 1
        and supernet["sha256"] == hashlib.sha256((out / "supernet.pt").read_bytes()).hexdigest()[:16]
    )
    # ... so a resume against other weights is refused, not mixed into the stored trials
    import torch

    checkpoint = torch.load(out / "supernet.pt", weights_only=False)
    next(checkpoint["model"].parameters()).data.add_(1.0)
    torch.save(checkpoint, out / "supernet.pt")
    code, _, err = run([*args[:-5], "--budget", "5", "--out", "c", "--resume", "--no-progress"], capsys)
    assert code == 2 and "cannot resume" in err and "sha256" in err
    # tuning a run of several scopes needs the scope to tune
    assert (out / "config.yaml").is_file()
    code, _, err = run(["hpo", "classical", "--run-dir", "c", "--trials", "1", "--out", "h"], capsys)
    assert code == 2 and "--scope" in err and not (tmp_path / "h").exists()


def test_classical_into_a_used_directory_is_refused_before_any_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "c"
    out.mkdir()
    (out / "supernet.pt").write_bytes(b"weights of an earlier run")
    code, _, err = run(["classical", "--out", str(out), "--imgsz", "64", "--n-images", "10", "--no-progress"], capsys)
    assert code == 2 and "is not empty; pass --resume" in err
    assert [p.name for p in out.iterdir()] == ["supernet.pt"]
    assert (out / "supernet.pt").read_bytes() == b"weights of an earlier run"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize(
    "args, message",
    [
        (["classical", "--device", "cuda"], "--device cuda: torch sees no CUDA GPU here; use --device cpu"),
        (["classical", "--latency-device", "cuda:1"], "--latency-device cuda:1: torch sees no CUDA GPU here"),
        (["classical", "--device", "npu"], "unknown device 'npu'; expected cpu, cuda, cuda:N or mps"),
        (["hpo", "classical", "--device", "cuda"], "--device cuda: torch sees no CUDA GPU here"),
        (["latency-table", "--device", "cuda"], "--device cuda: torch sees no CUDA GPU here"),
        (["classical", "--latency", "measure", "--workers", "2"], "--latency measure times candidates on cores"),
    ],
)
def test_a_device_that_is_not_here_is_refused_before_any_work(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    code, _, err = run([*args, "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()  # no data made, nothing claimed


def test_classical_nas_then_hpo_in_one_go(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "c"
    code, stdout, _ = run(
        [
            "classical",
            "--scope",
            "small",
            "--supernet-epochs",
            "1",
            "--imgsz",
            "64",
            "--n-images",
            "12",
            "--batch",
            "4",
            "--calibration-images",
            "4",
            "--budget",
            "2",
            "--hpo-trials",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0 and "| tuned |" in stdout
    hpo = json.loads((out / "hpo" / "hpo.json").read_text())
    assert hpo["default"]["params"]["lr0"] == 0.001 and "test_map50" in hpo["tuned"]["mean"]
    meta = stored(out / "hpo")[0]
    assert meta["evaluator"]["model"] == str(out / "best.yaml") and meta["evaluator"]["imgsz"] == 64
