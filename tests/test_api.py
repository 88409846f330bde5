"""The Python API, the settings objects the CLI is generated from, run directories, and the wheel."""

import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import fields
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml

import hybrid_nas as hn
from hybrid_nas.cli import build_parser, main
from hybrid_nas.engine.config import packaged
from hybrid_nas.engine.registry import commands
from hybrid_nas.quantum.command import QuantumSettings

ROOT = Path(__file__).resolve().parents[1]
# a quantum search that takes about a second: 2 qubits, one layer, noiseless
FAST = dict(task="moons", scope="zz_ry", layers=1, budget=4, epochs=2, noise=None, progress=False)


def test_every_packaged_yaml_key_is_a_setting_and_every_flag_shows_its_real_default():
    for command in commands().values():
        values = packaged(command.settings.yaml_name)
        assert {f.name for f in fields(command.settings)} == set(values)
        parser = build_parser()
        sub = parser._subparsers._group_actions[0].choices[command.path[0]]
        if len(command.path) > 1:
            sub = sub._subparsers._group_actions[0].choices[command.path[1]]
        text = " ".join(sub.format_help().split())
        for name, value in values.items():
            shown = "null" if value is None else ",".join(map(str, value)) if isinstance(value, list) else value
            assert f"(default: {shown})" in text, (command.name, name)


def test_a_saved_config_replays_exactly_and_keeps_its_nulls(tmp_path):
    settings = QuantumSettings.resolve(noise="none", shots=None, task="moons")
    assert settings.noise is None and QuantumSettings.resolve().noise == "FakeManilaV2"
    settings.save(tmp_path)
    assert QuantumSettings.resolve(tmp_path / "config.yaml") == settings
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["noise"] is None

    first = hn.quantum.search(out=tmp_path / "first", **FAST)
    code = main(
        ["quantum", "--config", str(first.dir / "config.yaml"), "--out", str(tmp_path / "again"), "--no-progress"]
    )
    again = hn.load(tmp_path / "again")
    assert code == 0 and again.settings == first.settings
    columns = ["number", "reward", "accuracy", "two_qubit_gates"]
    pd.testing.assert_frame_equal(first.trials()[columns], again.trials()[columns])
    assert "noisy_accuracy" not in again.trials()  # noise: null replayed as no noise, not the default backend


def test_a_bad_setting_is_one_line_from_the_api_and_the_cli(tmp_path, capsys):
    with pytest.raises(hn.ConfigError, match="unknown setting 'nosie' .did you mean 'noise'.."):
        hn.quantum.search(out=tmp_path / "q", nosie=None)
    with pytest.raises(hn.ConfigError, match="epochs must be an integer, got 'many'"):
        hn.quantum.search(out=tmp_path / "q", epochs="many")
    assert not (tmp_path / "q").exists()  # refused before the directory was claimed


def test_the_python_api_returns_a_run_that_agrees_with_its_files(tmp_path):
    backend = matplotlib.get_backend()
    matplotlib.use("svg")  # a notebook's backend, as far as the library can tell
    try:
        run = hn.quantum.search(out=tmp_path / "q", **{**FAST, "budget": 6})
        assert matplotlib.get_backend() == "svg"  # drawing the circuit and the report left it alone
    finally:
        matplotlib.use(backend)
    doc = json.loads((run.dir / "best.json").read_text())
    assert run.best == doc["best"] and run.command == "quantum" and run.settings["budget"] == 6
    trials = run.trials()
    assert len(trials) == 6 and {"state", "reward", "layers", "accuracy", "two_qubit_gates"} <= set(trials)
    # the default objective (weighted) is a trade-off: its best is the highest reward, everywhere
    assert doc["rule"].startswith("the highest reward")
    top = trials.loc[trials["reward"].idxmax()]
    assert run.best["trial"] == top["number"] and run.best["reward"] == pytest.approx(top["reward"])
    summary = run.report().read_text()
    best_section = summary.split("## Best")[1].split("##")[0]
    assert f"| {run.best['trial']} |" in best_section
    again = hn.load(run.dir)
    assert again.best == run.best and again.trials().equals(trials)
    with pytest.raises(hn.ConfigError, match="is not a run directory"):
        hn.load(tmp_path / "nowhere")


def test_a_run_directory_is_never_overwritten_and_a_resume_keeps_its_settings(tmp_path):
    before = hn.quantum.search(out=tmp_path / "q", **FAST).trials()
    with pytest.raises(hn.ConfigError, match="is not empty; pass --resume"):
        hn.quantum.search(out=tmp_path / "q", **FAST)
    with pytest.raises(hn.ConfigError, match=r"cannot resume .* with other settings \(epochs: 2 there vs 3 now\)"):
        hn.quantum.search(out=tmp_path / "q", resume=True, **{**FAST, "epochs": 3})
    more = hn.quantum.search(out=tmp_path / "q", resume=True, **{**FAST, "budget": 6})  # a larger budget is a resume
    columns = ["number", "seed", "reward", "accuracy"]
    assert len(more.trials()) == 6 and more.trials()[:4][columns].equals(before[columns])
    assert more.settings["budget"] == 6


def test_hpo_runs_the_nni_space_lr_momentum_and_a_resume_extends_its_budget(tmp_path, capsys):
    space = tmp_path / "nni.json"  # NNI's space as written for the classical detector
    space.write_text(
        json.dumps(
            {
                "lr": {"_type": "loguniform", "_value": [0.0001, 0.1]},
                "momentum": {"_type": "uniform", "_value": [0, 1]},
                "batch_size": {"_type": "choice", "_value": [32, 64]},
            }
        )
    )
    settings = dict(space=str(space), trials=2, repeats=1, seeds=1, progress=False)
    run = hn.tune("quantum", out=tmp_path / "h", **settings)
    out = capsys.readouterr().out
    assert "'batch_size' is taken as the quantum trainer's 'batch'" in out
    assert "the circuits train with sgd (momentum)" in out
    assert set(run.best["hyperparameters"]) == {"lr", "momentum", "batch"}
    assert run.view().meta["evaluator"]["base"]["optimizer"] == "sgd"
    more = hn.tune("quantum", out=tmp_path / "h", resume=True, **{**settings, "trials": 3})
    trials = more.trials()
    assert list(trials["number"]) == [0, 1, 2] and more.result["trials"] == 3
    with pytest.raises(hn.ConfigError, match="unknown hpo target 'quantm'"):
        hn.tune("quantm")


def test_the_wheel_holds_every_package_and_the_packaged_configs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "hybrid_nas", src / "hybrid_nas", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("hybrid_nas-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent for p in (src / "hybrid_nas").rglob("__init__.py")}
    assert {"engine", "storages", "strategies", "quantum", "classical", "hybrid", "nb201", "tuning", "configs"} <= {
        p.name for p in packages
    }
    assert all((d / "__init__.py").is_file() for d in {p.parent for p in src.rglob("*.py")})  # no namespace dirs
    modules = {p.relative_to(src).as_posix() for p in (src / "hybrid_nas").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    data = {
        p.relative_to(src).as_posix()
        for p in (src / "hybrid_nas").rglob("*")
        if p.suffix in (".yaml", ".yml", ".json", ".gz", ".md", ".typed")
    }
    assert data and data <= names, sorted(data - names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "hybrid-nas = hybrid_nas.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
