"""The house: the engine knows no space, every command runs through one pipeline, the API is namespaced and
light to import."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hybrid_nas as hn
from hybrid_nas.cli import main
from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.jobs import Job
from hybrid_nas.engine.registry import commands

ROOT = Path(__file__).resolve().parents[1]
SPACES = ("quantum", "classical", "hybrid", "nb201", "tuning")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_engine_module_imports_a_space_package():
    offenders = []
    for path in sorted((ROOT / "hybrid_nas" / "engine").rglob("*.py")):
        for name in imported_modules(path):
            if any(name == f"hybrid_nas.{s}" or name.startswith(f"hybrid_nas.{s}.") for s in SPACES):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders


def loaded_after(code: str, heavy=("torch", "qiskit", "ultralytics", "optuna", "pennylane", "smac", "numpy")):
    """The heavy libraries a fresh interpreter holds after running ``code``."""
    probe = f"import sys; {code}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip()


def test_import_hybrid_nas_loads_no_heavy_library():
    assert loaded_after("import hybrid_nas") == ""


def test_the_command_line_starts_without_torch_or_ultralytics():
    assert loaded_after("from hybrid_nas.cli import build_parser; build_parser()", ("torch", "ultralytics")) == ""


def test_importing_the_classical_package_first_still_teaches_ultralytics_the_block(tmp_path):
    """``import hybrid_nas.classical`` loads no ultralytics; its parser learns our row once ultralytics loads."""
    from hybrid_nas.classical.run import write_model_yaml
    from hybrid_nas.classical.space import NeckSpace
    from hybrid_nas.engine.space import Architecture

    space = NeckSpace("yolov9t", "full")
    arch = Architecture(m12="5x5_mish", m15="7x7_relu", m18="3x3_leaky", m21="5x5_silu")
    write_model_yaml(tmp_path / "best.yaml", space.subnet_yaml(arch, nc=10), [])
    probe = (
        "import sys, hybrid_nas.classical; assert 'ultralytics' not in sys.modules; "
        "from ultralytics import YOLO; model = YOLO(sys.argv[1]); "
        "print(sorted(type(m).__name__ for m in model.model.modules() if type(m).__name__ == 'SearchableELAN'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "best.yaml")], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(["SearchableELAN"] * 4), out.stdout  # m12 m15 m18 m21


@pytest.mark.parametrize("first", ["hybrid_nas.classical.block", "hybrid_nas.classical.latency"])
def test_a_classical_module_imported_first_loads_and_wraps_the_parser(first):
    """The block's own import of ultralytics is what loads the parser: registering then must not need the
    half-imported block (a circular import)."""
    probe = (
        f"import {first}; from ultralytics.nn import tasks; from hybrid_nas.classical import network; "
        "print(tasks.parse_model is network.parse_model)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "True", out.stderr[-2000:]


def test_every_command_has_a_job_and_every_space_its_api():
    from hybrid_nas.classical.command import ClassicalSettings

    for command in commands().values():
        job = command.job
        assert callable(job) and (not isinstance(job, type) or issubclass(job, Job)), command.name
    assert (
        type(commands()[("classical",)].job(ClassicalSettings.resolve(from_tango='{"m_13": 6}'), "c")).__name__
        == "TangoExportJob"
    )
    assert callable(hn.quantum.search) and callable(hn.quantum.depth_sweep) and callable(hn.classical.search)
    assert callable(hn.classical.latency_table) and callable(hn.hybrid.search) and callable(hn.nb201.search)
    assert callable(hn.tune) and callable(hn.load) and hn.Run.__name__ == "Run"
    with pytest.raises(AttributeError, match="no attribute 'quantm'"):
        hn.quantm  # noqa: B018


def test_no_api_function_shares_its_name_with_a_module_of_its_package():
    # importing a submodule sets the package attribute of its name: a function of that name would vanish
    api = {
        "quantum": ("search", "depth_sweep"),
        "classical": ("search", "latency_table"),
        "hybrid": ("search",),
        "nb201": ("search",),
        "tuning": ("tune",),
    }
    for package, functions in api.items():
        modules = {p.stem for p in (ROOT / "hybrid_nas" / package).iterdir() if p.suffix == ".py" or p.is_dir()}
        assert not modules & set(functions), package


def test_a_positional_setting_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="takes its settings as keyword arguments"):
        hn.quantum.search("moons")
    assert not any(tmp_path.iterdir()) and not Path("moons").exists()


def test_a_settings_object_runs_as_its_keywords_do(tmp_path):
    from hybrid_nas.nb201.command import NB201Settings

    settings = NB201Settings.resolve(budget=6, seed=3)
    by_object = hn.nb201.search(settings, out=tmp_path / "a", progress=False)
    by_keywords = hn.nb201.search(out=tmp_path / "b", budget=6, seed=3, progress=False)
    assert [dict(t.arch) for t in by_object.view().trials] == [dict(t.arch) for t in by_keywords.view().trials]
    with pytest.raises(ConfigError, match="not both"):
        hn.nb201.search(settings, out=tmp_path / "c", budget=7)


def test_depth_sweep_through_the_api_writes_one_study_per_depth(tmp_path):
    run = hn.quantum.depth_sweep(
        out=tmp_path / "s", task="moons", scope="zz_ry", layers=2, budget=2, epochs=1, noise=None, progress=False
    )
    assert sorted(run.studies()) == ["depth1", "depth2"]
    rows = json.loads((run.dir / "depth_sweep.json").read_text())
    assert [r["layers"] for r in rows] == [1, 2] and not (run.dir / "depth1" / "best.qasm").exists()


def test_hybrid_command_line_prints_its_controls(tmp_path, capsys):
    code = main(
        [
            "hybrid",
            "--task",
            "moons",
            "--qubits",
            "2",
            "--hidden",
            "0",
            "--budget",
            "2",
            "--epochs",
            "1",
            "--strategy",
            "random",
            "--strategy-options",
            "{}",
            "--out",
            str(tmp_path / "h"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "classical_only" in out and (tmp_path / "h" / "best.pt").is_file()


@pytest.mark.slow
def test_latency_table_command_writes_its_table(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["latency-table", "--scope", "small", "--out", "t.json"]) == 0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert "wrote t.json" in capsys.readouterr().out and doc["entries"] and doc["imgsz"] == 160


@pytest.mark.slow
def test_latency_table_through_the_api_returns_the_table(tmp_path):
    result = hn.classical.latency_table(out=tmp_path / "t.json", scope="small", imgsz=64, calibration=3)
    assert result.path.is_file() and result.pairs == 3 and result.positions == 4
    assert result.table.imgsz == 64 and len(result.table.entries) == 4


@pytest.mark.slow
def test_classical_search_through_the_api_exports_its_best_subnet(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_NAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # ultralytics nests a relative project in its own runs/
    run = hn.classical.search(
        out="c",
        scope="small",
        supernet_epochs=1,
        imgsz=64,
        n_images=12,
        batch=4,
        calibration_images=4,
        budget=2,
        progress=False,
    )
    doc = run.result
    assert run.command == "classical" and doc["scope"] == "small" and doc["best"]["metrics"]["latency_ms"] > 0
    assert (run.dir / "best.yaml").is_file() and (run.dir / "best.pt").is_file()
    assert [r["scope"] for r in json.loads((run.dir / "scopes.json").read_text())["scopes"]] == ["small"]
