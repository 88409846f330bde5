"""The documentation's generated pages (docs/hooks/generate.py): the command-line page holds every command and
flag the parser has, the API reference every module of the package, the notebook index every notebook. CI
builds the whole site with ``mkdocs build --strict``; these catch a page that silently leaves something out."""

import argparse
import importlib.util
import re
from pathlib import Path

from hybrid_nas.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _hook():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "hooks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ("hybrid-nas",)):
    """(words, parser) of every command, nested ones too (``hybrid-nas bench nb201``)."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


def test_the_cli_page_holds_every_command_and_every_flag():
    page = _hook()._cli_page()
    sections = {line[3:]: i for i, line in enumerate(page.splitlines()) if line.startswith("## ")}
    commands = list(_commands(build_parser()))
    assert {"hybrid-nas quantum", "hybrid-nas bench nb201", "hybrid-nas hpo classical"} <= set(sections)
    assert set(sections) == {" ".join(words) for words, _ in commands}
    lines = page.splitlines()
    for words, parser in commands:
        start = sections[" ".join(words)]
        end = min([i for i in sections.values() if i > start], default=len(lines))
        body = "\n".join(lines[start:end])
        for action in parser._actions:
            for flag in action.option_strings:
                assert re.search(rf"(`|, ){re.escape(flag)}[ `,]", body), (" ".join(words), flag)


def test_the_api_reference_has_a_page_for_every_module_and_the_notebook_index_every_notebook():
    hook = _hook()
    modules = hook._modules()
    on_disk = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "hybrid_nas").rglob("*.py")
        if not p.name.startswith("_") or p.name == "__init__.py"
    }
    assert set(modules) == on_disk and "hybrid_nas.engine.study" in modules
    assert modules.index("hybrid_nas.engine") < modules.index("hybrid_nas.engine.study")  # a package first

    def pages(nav) -> list[str]:
        out = []
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            out += pages(value) if isinstance(value, list) else [value]
        return out

    assert sorted(pages(hook._api_nav(modules))) == sorted(["api/index.md", *(f"api/{m}.md" for m in modules)])
    index = hook._examples_index()
    for notebook in (ROOT / "examples").glob("*.ipynb"):
        assert f"]({notebook.name})" in index
