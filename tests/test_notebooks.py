"""The example notebooks (examples/*.ipynb): each runs top to bottom in a fresh kernel as a user would run it,
shows the same kinds of output (text, a table, a plot) in every cell as its committed copy, and leaves nothing
behind; the committed copies stay small, clean and free of machine-specific paths."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
MAX_BYTES = 160_000  # a few tables and a plot or two
# where a machine's own paths would show: home and temporary directories, the installed packages
MACHINE_PATH = re.compile(r"/(root|home|Users|tmp|var/folders)/|site-packages")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _kinds(cell) -> list[str]:
    """What a cell shows: stdout text, a result's richest MIME type; warnings (stderr) are left out."""
    kinds = []
    for o in cell.outputs:
        if o.output_type == "stream" and o.name == "stdout":
            kinds.append("stdout")
        elif o.output_type in ("execute_result", "display_data"):
            kinds.append(next((k for k in ("image/png", "text/html") if k in o.data), "text/plain"))
        elif o.output_type == "error":
            kinds.append(f"error {o.ename}")
    return sorted(set(kinds))


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return "\n".join(v for k, v in output.get("data", {}).items() if k.startswith("text/"))


def test_there_are_example_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {"quantum_search", "classical_search", "hybrid_model", "live_dashboard"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_committed_notebook_is_one_clean_run_small_and_without_machine_paths(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes; keep outputs small"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        "a notebook opens with its title"
    )
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # outputs from one top-to-bottom run (or none at all), so that they belong to the code beside them
    counts = [c.execution_count for c in cells]
    assert counts in ([None] * len(cells), list(range(1, len(cells) + 1))), f"{path.name}: execution counts {counts}"
    for i, cell in enumerate(cells):
        for output in cell.outputs:
            where = f"{path.name}, code cell {i + 1}"
            assert output.output_type != "error", f"{where} holds an error"
            assert not (output.output_type == "stream" and output.name == "stderr"), f"{where} holds warnings"
            found = MACHINE_PATH.search(_text(output))
            assert found is None, f"{where} shows a machine-specific path ({found.group(0)!r}...)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_runs_and_shows_what_its_committed_copy_shows(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    committed = [_kinds(c) for c in _code_cells(nb)]
    work, tmp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    failure = None
    try:
        client.execute(env={**os.environ, "TMPDIR": str(tmp)})  # the notebook's temporary directory goes there
    except CellExecutionError as e:  # the failing cell and its traceback, without the kernel's colours
        failure = ANSI.sub("", str(e))
    if failure:
        pytest.fail(f"{path.name} failed: {failure}", pytrace=False)
    ran = [_kinds(c) for c in _code_cells(nb)]
    if any(committed):  # a notebook committed without outputs has nothing to compare
        changed = [(i + 1, c, r) for i, (c, r) in enumerate(zip(committed, ran)) if c != r]
        assert not changed, f"{path.name}: (code cell, committed, now) shows other kinds of output: {changed}"
    assert not list(work.iterdir()), f"{path.name} wrote into its working directory: {list(work.iterdir())}"
    left = [p.name for p in tmp.iterdir() if p.name.startswith("hybrid-nas-")]  # (torch keeps caches there too)
    assert not left, f"{path.name} left its temporary directory: {left}"
