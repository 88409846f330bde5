"""Every command's bad input: exit status 2, one line on stderr naming the mistake, no traceback, and no file
left behind (the run directory is not made, and nothing beside the inputs appears)."""

import json

import pytest

from hybrid_nas.cli import main

CSV_HEADER = "a,b,label\n"


def rows(n_per_class: int, classes=("x", "y")) -> str:
    return "".join(f"{i % 7}.5,{i % 3}.25,{c}\n" for c in classes for i in range(n_per_class))


CSVS = {
    "nan.csv": CSV_HEADER + rows(6) + "nan,1,x\n",
    "inf.csv": CSV_HEADER + rows(6) + "1,inf,y\n",
    "short.csv": CSV_HEADER + rows(6) + "1,x\n",
    "long.csv": CSV_HEADER + rows(6) + "1,2,3,x\n",
    "one.csv": CSV_HEADER + rows(6) + "1,2,z\n",
    "four.csv": CSV_HEADER + rows(2),
    "text.csv": CSV_HEADER + rows(6) + "one,2,x\n",
    "single.csv": CSV_HEADER + rows(6, classes=("x",)),
    "empty.csv": "",
    "labelonly.csv": "label\n" + "x\ny\n" * 6,
    "tiny.csv": CSV_HEADER + rows(6),  # valid, but one sample of each class in its validation split
}
QUICK = ["--noise", "none", "--budget", "2", "--epochs", "1"]

CASES = {
    "bench nb201": [
        (["--strategy", "evoluton"], "unknown strategy 'evoluton' (did you mean 'evolution'?)"),
        (["--objective", "mnasnet"], "unknown objective 'mnasnet' (did you mean 'mnasnet-soft'?)"),
        (["--device", "pixel4"], "unknown NB201 latency device 'pixel4' (did you mean 'pixel3'?)"),
        (["--T", "0"], "T must be a positive number"),
        (["--T", "-5", "--objective", "pareto"], "T must be a positive number"),
        (["--budget", "0"], "--budget must be at least 1, got 0"),
        (["--seconds", "0"], "--seconds must be a number above 0"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--seed", "x"], "seed must be an integer"),
        (["--strategy-options", "{populaton: 5}"], "unknown option of strategy 'evolution' 'populaton'"),
        (["--strategy-options", "{population: 0}"], "strategy 'evolution'"),
        (["--strategy-options", "[1, 2]"], "strategy_options must be a mapping"),
        (["--storage", "foo://bar"], "cannot open the Optuna storage 'foo://bar'"),
        (["--storage", "IN/missing/x.journal"], "missing does not exist"),
        (["--storage", "IN"], "is not a file"),
        (["--config", "IN/missing.yaml"], "missing.yaml"),
        (["--config", "IN/bad.yaml"], "bad.yaml"),
        (["--latency", "guess"], "unknown latency 'guess'"),
        (["--latency", "predicted", "--verify", "18"], "must leave >= 3 cells to fit the predictor"),
        (["--latency", "predicted", "--verify", "-1"], "--verify must be at least 0"),
        (["--latency", "predicted", "--latency-margin", "-1"], "--latency-margin must be at least 0"),
    ],
    "quantum": [
        (["--task", "moonz"], "unknown task 'moonz' (did you mean 'moons'?)"),
        (["--task", "csv:IN/missing.csv"], "does not exist"),
        (["--task", "csv:IN/nan.csv"], "line 14, column 'a' is nan"),
        (["--task", "csv:IN/inf.csv"], "column 'b' is inf"),
        (["--task", "csv:IN/short.csv"], "line 14 has 2 fields, the header has 3"),
        (["--task", "csv:IN/long.csv"], "line 14 has 4 fields, the header has 3"),
        (["--task", "csv:IN/one.csv"], "class 'z' has 1 row(s)"),
        (["--task", "csv:IN/four.csv"], "has 2 row(s); the stratified"),
        (["--task", "csv:IN/text.csv"], "a feature is not numeric"),
        (["--task", "csv:IN/single.csv"], "has a single class"),
        (["--task", "csv:IN/empty.csv"], "has no rows"),
        (["--task", "csv:IN/labelonly.csv"], "has no feature column"),
        (["--task", "csv:IN/nan.csv", "--label-column", "lable"], "unknown label column 'lable'"),
        (["--qubits", "0"], "--qubits must be at least 2, got 0"),
        (["--qubits", "1"], "--qubits must be at least 2, got 1"),
        (["--scope", "u3cu"], "unknown quantum scope 'u3cu' (did you mean 'u3cu3'?)"),
        (["--noise", "FakeManila"], "unknown fake backend 'FakeManila' (did you mean 'FakeManilaV2'?)"),
        (["--optimization-level", "4"], "unknown optimization level '4'; expected one of '0', '1', '2', '3'"),
        (["--encoder", "ryzxy,ryzxy_interleave"], "unknown encoder 'ryzxy_interleave' (did you mean 'ryzxy_inter"),
        (["--precision", "half"], "unknown precision 'half'; expected one of 'double', 'single'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--task", "digits10", "--noise", "FakeManilaV2"], "the circuit needs 10 qubits, FakeManilaV2 has 5"),
        (["--task", "digits4", "--qubits", "3"], "the task has 4 classes"),
        (["--lr", "-1"], "--lr must be a number above 0, got -1"),
        (["--lr", "nan"], "--lr must be a number above 0, got nan"),
        (["--n-train", "0"], "--n-train must be at least 1, got 0"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--shots", "0"], "--shots must be at least 1"),
        (["--layers", "0"], "--layers must be at least 1"),
        (["--momentum", "-0.5"], "--momentum must be at least 0"),
        (["--scope", "u3cu4"], "unknown quantum scope 'u3cu4'"),
        (["--encoder", "ryz"], "unknown encoder 'ryz'"),
        (["--optimizer", "adamw"], "unknown optimizer 'adamw'"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--hpo-trials", "-1"], "--hpo-trials must be at least 0"),
        (["--simulator", "foo"], "unknown --simulator 'foo': hybrid_nas (the package's own) or an installed"),
        (["--simulator", "lightning.qbit"], "unknown --simulator 'lightning.qbit' (did you mean 'lightning.qubit'?)"),
        (["--simulator", "default.qutrit"], "--simulator 'default.qutrit' cannot train these circuits"),
        (["--simulator", "null.qubit", "--scope", "rxyz"], "computes other <Z> than the package's simulator"),
        (["--simulator", "default.qubit", "--precision", "single"], "runs in double precision"),
        (["--simulator", "default.qubit", "--supercircuit-epochs", "2"], "leave --simulator hybrid_nas"),
        (["--prescreen", "-1"], "--prescreen must be at least 0 (0: off), got -1"),
        (["--prescreen", "5", "--top-k", "6"], "--top-k 6 is more than --prescreen 5"),
        (["--prescreen", "5", "--top-k", "0"], "--top-k must be at least 1, got 0"),
        (["--prescreen", "5", "--top-k", "x"], "top_k must be an integer"),
        (["--prescreen", "5", "--cnr-alpha", "-1"], "--cnr-alpha must be at least 0, got -1"),
        (["--prescreen", "20", "--cost", "infidelity"], "--cost infidelity is not a figure they have without --noise"),
        (["--rescore-top", "-1"], "--rescore-top must be at least 0 (0: off), got -1"),
        (["--rescore-top", "3"], "--rescore-top 3 is more than the 2 candidates the search trains"),
        (["--prescreen", "20", "--top-k", "2", "--rescore-top", "3"], "--rescore-top 3 is more than the 2"),
        (["--task", "csv:IN/tiny.csv", "--rescore-top", "1"], "too small to hold out a selection split"),
        (["--layout", "devise"], "layout 'devise' is not auto, device or a comma-separated list of qubits"),
        (["--layout", "device"], "--layout device places the circuit on the --noise device's qubits: give --noise"),
        (["--layout-candidates", "0"], "--layout-candidates must be at least 1, got 0"),
        (["--noise", "FakeManilaV2", "--layout", "device", "--task", "digits10"], "FakeManilaV2 has 5"),
        (["--noise", "FakeSherbrooke", "--layout", "0,1,2,5"], "layout 0,1,2,5: these qubits of FakeSherb"),
        (["--noise", "FakeSherbrooke", "--layout", "0,1,1,2"], "layout 0,1,1,2 names a qubit twice"),
        (["--noise", "FakeSherbrooke", "--layout", "0,1,2,127"], "FakeSherbrooke has qubits 0..126, not 127"),
        (["--noise", "FakeSherbrooke", "--layout", "0,1,2"], "--layout 0,1,2 names 3 qubits, the circuit has 4"),
        (
            ["--noise", "FakeTorino", "--layout", "device", "--task", "iris", "--encoder", "zz"],
            "encoder 'zz' entangles neighbouring logical qubits, which a device layout may not couple",
        ),
    ],
    "depth-sweep": [
        (["--layers", "0"], "--layers must be at least 1"),
        (["--task", "csv:IN/nan.csv"], "is nan"),
        (["--simulator", "foo.qubit"], "unknown --simulator 'foo.qubit'"),
        (["--noise", "FakeSherbrooke", "--layout", "0,2,4,6"], "these qubits of FakeSherbrooke are not connected"),
    ],
    "hybrid": [
        (["--task", "moonz"], "unknown hybrid task 'moonz'"),
        (["--task", "csv:IN/inf.csv"], "is inf"),
        (["--qubits", "0"], "--qubits must be at least 1 each"),
        (["--widths", "8,0"], "--widths must be at least 1 each"),
        (["--hidden", "x"], "--hidden must be whole numbers"),
        (["--readouts", "densy"], "unknown readout 'densy'"),
        (["--lr", "0"], "--lr must be a number above 0"),
    ],
    "classical": [
        (["--data", "IN/missing.yaml"], "data set 'IN/missing.yaml' not found"),
        (["--data", "IN/bad.yaml"], "not valid YAML"),
        (["--latency", "file:IN/missing.json"], "latency table IN/missing.json not found"),
        (["--latency", "file:IN/bad.yaml"], "is not a hybrid-nas latency table"),
        (["--latency", "guess"], "--latency 'guess': expected measure, table or file:PATH"),
        (["--imgsz", "0"], "--imgsz must be at least 32, got 0"),
        (["--n-images", "0"], "--n-images must be at least 10, got 0"),
        (["--batch", "0"], "--batch must be at least 1"),
        (["--supernet-epochs", "0"], "--supernet-epochs must be at least 1"),
        (["--calibration-images", "0"], "--calibration-images must be at least 1"),
        (["--latency-limit", "0"], "--latency-limit must be a number above 0"),
        (["--scope", "medum"], "unknown classical scope 'medum' (did you mean 'medium'?)"),
        (["--profile", "phone"], "unknown device profile 'phone'"),
        (["--sampling", "sandwitch"], "did you mean 'sandwich'?"),
        (["--sampling", "sandwich", "--distill", "-0.5"], "--distill must be at least 0, got -0.5"),
        (["--model", "yolov8n"], "unknown model 'yolov8n'"),
        (["--latency", "measure", "--workers", "2"], "use --workers 1"),
        (["--depths", "0,1", "--latency", "measure"], "--depths must list positive integers, got [0, 1]"),
        (["--latency", "file:IN/ops.json"], "latency table holds ops only, and this search also chooses depth"),
        (["--latency", "file:IN/part.json"], "latency table lacks ['m12=3x3_relu/d1/w75', 'm12=3x3_relu/d1/w100'"),
        (["--widths", "50,100", "--compound", "--latency", "measure"], "--compound ties each depth to one width"),
    ],
    "latency-table": [
        (["--calibration", "0"], "--calibration must be at least 2, got 0"),
        (["--imgsz", "16"], "--imgsz must be at least 32"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--scope", "huge"], "huge"),
        (["--from-tables", "IN/missing.json"], "latency table IN/missing.json not found"),
        (["--from-tables", "IN/bad.yaml"], "is not a hybrid-nas latency table"),
        (["--from-tables", ","], "--from-tables names no table"),
        (["--from-tables", "IN/ops.json"], "latency table holds ops only, and this search also chooses depth"),
    ],
    "hpo quantum": [
        (["--trials", "0"], "--trials must be at least 1"),
        (["--space", "IN/missing.json"], "search space file IN/missing.json does not exist"),
        (["--method", "bayes"], "unknown method 'bayes'"),
        (["--run-dir", "IN/missing"], "IN/missing"),
        (["--method", "multi-fidelity"], "the fidelity SMAC's Hyperband sets"),
        (["--method", "multi-fidelity", "--min-epochs", "9", "--max-epochs", "3"], "--max-epochs (3) must be at least"),
        (["--tuner", "nni:SMAC"], "smac4nni, an old SMAC fork that does not install beside smac 2.x; SMAC3 is"),
        (["--tuner", "nni:Foo"], "unknown NNI tuner 'Foo'; the built-in ones that run here: TPE, Random"),
        (["--tuner", "smac3"], "--tuner 'smac3': expected smac or nni:NAME"),
        (["--tuner", "nni:TPE", "--method", "multi-fidelity"], "--method multi-fidelity is SMAC3's"),
        (["--tuner", "nni:TPE", "--dask-scheduler", "tcp://127.0.0.1:1"], "NNI's trial processes, not on Dask"),
    ],
    "hpo classical": [
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--imgsz", "0"], "--imgsz must be at least 32"),
        (["--data", "IN/missing.yaml"], "not found"),
        (["--tuner", "nni:Hyperband"], "--tuner smac --method multi-fidelity"),
    ],
}
SWEEP = [(cmd, args, message) for cmd, cases in CASES.items() for args, message in cases]


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "IN"
    folder.mkdir()
    for name, text in CSVS.items():
        (folder / name).write_text(text)
    (folder / "bad.yaml").write_text("a: [1, 2\n")
    # latency tables of yolov9t's neck at medium scope: ops only (the format before depth and width), and one
    # of the elastic format with a single block
    ops = {f"m{i}": dict.fromkeys(("3x3_relu", "3x3_silu", "5x5_relu", "5x5_silu"), 1.0) for i in (12, 15, 18, 21)}
    for name, entries in (("ops.json", ops), ("part.json", {"m12": {"3x3_relu/d1/w50": 1.0}})):
        (folder / name).write_text(json.dumps({"model": "yolov9t", "imgsz": 160, "timing": {}, "entries": entries}))
    return folder


def files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def refused(argv, capsys) -> str:
    """The one line a refused command prints; fails the test on any other outcome."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit status {code}, stderr: {err}"
    assert err.startswith("hybrid-nas: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    return err


@pytest.mark.parametrize("command, args, message", SWEEP, ids=[f"{c}:{' '.join(a)}" for c, a, _ in SWEEP])
def test_every_command_refuses_bad_input_in_one_line_and_writes_nothing(
    command, args, message, inputs, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # relative paths (IN/..., the default run directory) resolve here
    before = files(tmp_path)
    quick = QUICK if command in ("quantum", "depth-sweep", "hybrid") and "--epochs" not in args else []
    err = refused([*command.split(), *quick, *args, "--out", str(tmp_path / "R"), "--no-progress"], capsys)
    assert message in err
    assert files(tmp_path) == before


OUT_COMMANDS = ["bench nb201", "quantum", "depth-sweep", "hybrid", "classical", "hpo quantum", "hpo classical"]


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_an_out_that_is_a_file_or_cannot_be_written_is_one_line(command, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("mine\n")
    assert "is a file, not a directory" in refused([*command.split(), "--out", str(a_file)], capsys)
    assert "is a file, not a directory" in refused([*command.split(), "--out", str(a_file / "R")], capsys)
    assert a_file.read_text() == "mine\n"
    # /proc takes no new directory, whoever asks (root included)
    assert "cannot write" in refused([*command.split(), "--out", "/proc/hybrid-nas-test/R"], capsys)
    assert files(tmp_path) == ["file"]


def test_a_latency_table_out_that_is_a_directory_is_one_line(tmp_path, capsys):
    assert "is a directory; give the JSON file" in refused(["latency-table", "--out", str(tmp_path)], capsys)
    assert "cannot write" in refused(["latency-table", "--out", "/proc/hybrid-nas-test/t.json"], capsys)


def test_report_and_dashboard_refuse_what_is_not_a_run(tmp_path, capsys):
    assert "is not a run directory" in refused(["report", str(tmp_path / "missing")], capsys)
    assert "is not a run directory" in refused(["report", str(tmp_path)], capsys)
    assert "neither a run directory" in refused(["dashboard", str(tmp_path)], capsys)
    assert files(tmp_path) == []
