"""``docs/connectors.md`` cannot rot: every code block in it is checked.

- ``python run`` blocks are executed;
- ``<lang> file=PATH`` blocks must be verbatim excerpts of that file in a package freshly made
  by ``sadakat connector new acme`` (the package itself is proven by ``test_scaffold``);
- every ``$ sadakat ...`` command in ``console`` blocks must be a valid command line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.sdk.scaffold import scaffold
from integration.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    return [(lang, info.strip(), body) for lang, info, body in BLOCK.findall(DOC.read_text())]


def test_the_doc_has_each_kind_of_checked_block():
    kinds = {(lang, info.split("=")[0]) for lang, info, _ in blocks()}
    assert {("python", "run"), ("python", "file"), ("console", "")} <= kinds


@pytest.mark.parametrize("code", [body for lang, info, body in blocks() if info == "run"])
def test_python_examples_run(code):
    exec(compile(code, str(DOC), "exec", dont_inherit=True), {"__name__": "docs_example"})


def test_excerpts_match_the_scaffolded_package(tmp_path):
    root = scaffold("acme", tmp_path)
    excerpts = [(info.removeprefix("file="), body) for _, info, body in blocks() if info.startswith("file=")]
    assert len(excerpts) >= 5
    for path, body in excerpts:
        assert body in (root / path).read_text(), f"docs/connectors.md shows code that {path} does not have"


def test_sadakat_commands_in_the_doc_exist():
    commands = [
        line.removeprefix("$ ") for lang, _, body in blocks() if lang == "console"
        for line in body.splitlines() if line.startswith("$ sadakat ")
    ]
    assert len(commands) >= 3
    for command in commands:
        result = CliRunner().invoke(main, [*shlex.split(command)[1:], "--help"])
        assert result.exit_code == 0, f"{command!r}: {result.output}"
