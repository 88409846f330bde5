"""MkDocs hook: the pages that are generated from the repository at build time, so that none of them is a
copy that can fall behind.

- ``cli.md``: every ``hybrid-nas`` command's usage and options, from the argparse parser ``hybrid_nas.cli``
  builds (the spaces register their commands through the ``hybrid_nas.spaces`` entry points);
- ``api/``: one page per module of the package (found on disk, so a new module appears without editing the
  docs), rendered from its docstrings by mkdocstrings, and an index of them;
- ``examples/``: the notebooks of ``examples/`` (rendered by mkdocs-jupyter from their committed outputs)
  and their index;
- ``benchmarks/figures/``: the figures ``benchmarks/README.md`` and ``README.md`` show.

The navigation entries ``api/index.md`` and ``examples/index.md`` of ``mkdocs.yml`` become sections holding
the generated pages.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hybrid_nas"
WIDTH = 100  # of the usage lines
sys.path.insert(0, str(ROOT))  # the CLI page documents this tree, as mkdocstrings does (its `paths`)


# ---------------------------------------------------------------------------------------------- the modules


def _modules() -> list[str]:
    """Every module of the package, dotted, a package before its modules (private ones left out)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1].startswith("_"):
            continue
        names.append(".".join(parts))
    return sorted(names, key=lambda n: n.split("."))


def _summary(module: str) -> str:
    """The first sentence of a module's docstring, read without importing it."""
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".") if first else ""


def _cell(text: str) -> str:
    """Docstring prose for a markdown table cell: its RST-style ``code`` as markdown's `code`."""
    return text.replace("``", "`").replace("|", "\\|")


def _api_page(module: str) -> str:
    return f"api/{module}.md"


def _api_index(modules: list[str]) -> str:
    lines = [
        "# API reference",
        "",
        "Every module of the package, rendered from its docstrings. `import hybrid_nas as hn` gives the searches",
        "(`hn.quantum.search`, ...), `hn.load` and `hn.dashboard`; the engine's classes are in",
        "[`hybrid_nas.engine`](hybrid_nas.engine.md).",
        "",
        "| module | holds |",
        "|---|---|",
    ]
    lines += [f"| [`{m}`]({m}.md) | {_cell(_summary(m))} |" for m in modules]
    return "\n".join(lines) + "\n"


def _api_nav(modules: list[str]) -> list:
    """The modules as nested sections: a package's page first, then its modules and subpackages."""
    tree: dict = {}
    for m in modules:
        node = tree
        for part in m.split(".")[1:]:
            node = node.setdefault(part, {})

    def entries(prefix: str, node: dict) -> list:
        out: list = [{prefix: _api_page(prefix)}]
        for name, child in node.items():
            dotted = f"{prefix}.{name}"
            out.append({name: entries(dotted, child)} if child else {name: _api_page(dotted)})
        return out

    return [{"overview": "api/index.md"}, *entries("hybrid_nas", tree)]


# ---------------------------------------------------------------------------------------------- the CLI


def _escape(text: str) -> str:
    """Plain text for a markdown table cell."""
    for char in "\\`*_[]|":
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _command_section(words: list[str], parser: argparse.ArgumentParser, help_text: str | None) -> list[str]:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH)
    formatter = parser._get_formatter()
    lines = [f"## {' '.join(words)}", ""]
    if parser.description or help_text:
        lines += [_escape(parser.description or help_text or ""), ""]
    lines += ["```text", parser.format_usage().strip(), "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        title = group.title if group.title not in ("options", "optional arguments") else "options"
        lines += [f"**{title}**", "", "| option | description |", "|---|---|"]
        for action in actions:
            invocation = formatter._format_action_invocation(action)
            text = formatter._expand_help(action) if action.help else ""
            lines.append(f"| `{invocation}` | {_escape(text)} |")
        lines.append("")
    return lines


def _cli_page() -> str:
    from hybrid_nas.cli import build_parser

    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "Every `hybrid-nas` command with its usage and options, generated from the parser the program builds",
        "(`hybrid-nas COMMAND --help` prints the same). A command's settings can also come from YAML",
        "(`--config FILE`); each flag is the key of the command's packaged YAML, with hyphens.",
        "",
    ]
    lines += _command_section(["hybrid-nas"], parser, None)

    def walk(words: list[str], parser: argparse.ArgumentParser) -> None:
        helps = {
            a.dest: a.help
            for sub in parser._actions
            if isinstance(sub, argparse._SubParsersAction)
            for a in sub._choices_actions
        }
        for name, sub in _subcommands(parser):
            lines.extend(_command_section([*words, name], sub, helps.get(name)))
            walk([*words, name], sub)

    walk(["hybrid-nas"], parser)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- the notebooks


ORDER = ("quantum_search", "classical_search", "hybrid_model", "live_dashboard")  # a reading order; others follow


def _notebooks() -> list[Path]:
    paths = (ROOT / "examples").glob("*.ipynb")
    return sorted(paths, key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.name))


def _title(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"]) if cells else ""
    return first.splitlines()[0].lstrip("# ").strip() if first.startswith("# ") else path.stem


def _examples_index() -> str:
    lines = [
        "# Notebooks",
        "",
        "The notebooks in `examples/` of the repository, shown here with the outputs of one run on two CPU",
        "cores. Each runs in a minute or less and writes only into a temporary directory; `pytest` runs",
        "every one of them (`tests/test_notebooks.py`).",
        "",
    ]
    lines += [f"- [{_title(p)}]({p.name})" for p in _notebooks()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- the hooks


def on_config(config):
    """Expand the navigation's ``api/index.md`` and ``examples/index.md`` into sections of generated pages."""

    def expand(items):
        out = []
        for item in items:
            ((title, value),) = item.items() if isinstance(item, dict) else ((None, item),)
            if value == "api/index.md":
                value = _api_nav(_modules())
            elif value == "examples/index.md":
                value = [{"overview": "examples/index.md"}, *({_title(p): f"examples/{p.name}"} for p in _notebooks())]
            elif isinstance(value, list):
                value = expand(value)
            out.append({title: value} if title is not None else value)
        return out

    config.nav = expand(config.nav or [])
    return config


@event_priority(100)  # before mkdocs-jupyter and mkdocstrings, which must see the generated files
def on_files(files: Files, config) -> Files:
    def add(uri: str, content: str) -> None:
        files.append(File.generated(config, uri, content=content))

    def add_repository_file(uri: str) -> None:  # served from where it lies in the repository, at the same path
        files.append(File(uri, str(ROOT), config.site_dir, config.use_directory_urls))

    modules = _modules()
    add("api/index.md", content=_api_index(modules))
    for m in modules:
        add(_api_page(m), content=f"# `{m}`\n\n::: {m}\n")
    add("cli.md", content=_cli_page())
    add("examples/index.md", content=_examples_index())
    for path in _notebooks():
        add_repository_file(f"examples/{path.name}")
    for path in sorted((ROOT / "benchmarks" / "figures").glob("*.png")):
        add_repository_file(f"benchmarks/figures/{path.name}")
    return files
