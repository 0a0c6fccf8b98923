"""The VS Code extension folder (editors/vscode/): its TextMate grammar is valid JSON whose words are
nnci's declarations and whose number, unit and date patterns are the grammar's terminals, and it
scopes source as `vscode-tmgrammar-test` (the engine VS Code runs, offline) checks in
tests/cases/tmgrammar/ and in a test file written here from the declarations."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nnci.highlight import vocabulary
from nnci.parse import _uncaptured

REPO = Path(__file__).resolve().parent.parent
EXTENSION = REPO / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "nnci.tmLanguage.json"
CASES = REPO / "tests" / "cases" / "tmgrammar"
TMGRAMMAR_TEST_VERSION = "0.1.3"  # .ci/run installs the same (checked below)


def grammar() -> dict[str, Any]:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


def _regexes(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("match", "begin", "end") and isinstance(v, str)]
        return found + [r for v in node.values() for r in _regexes(v)]
    if isinstance(node, list):
        return [r for v in node for r in _regexes(v)]
    return []


def _scopes(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["name"]] if isinstance(node.get("name"), str) else []
        return found + [s for v in node.values() for s in _scopes(v)]
    if isinstance(node, list):
        return [s for v in node for s in _scopes(v)]
    return []


def _alternation(regex: str) -> tuple[str, ...]:
    """The first group of bare words in a pattern: `(grid|source|...)`."""
    found = re.search(r"\((\w+(?:\|\w+)+)\)", regex)
    assert found is not None, regex
    return tuple(found.group(1).split("|"))


def test_the_word_lists_are_nncis_declarations() -> None:
    words, repository = vocabulary(), grammar()["repository"]
    assert _alternation(repository["block-header"]["match"]) == words.kinds
    builtin = next(p for p in repository["expression"]["patterns"] if "support.function.builtin.nnci" in str(p))
    assert _alternation(builtin["match"]) == words.builtins
    assert _alternation(repository["method"]["match"]) == words.methods
    # each keyword has a scope named after it: keyword.other.expect.nnci, storage.type.figure.nnci, ...
    named = {
        m[2]
        for s in _scopes(grammar())
        if (m := re.fullmatch(r"(keyword\.(?:other|control)|storage\.type)\.(\w+)\.nnci", s))
    }
    assert named - {"kind", "unit"} == set(words.keywords)


def test_numbers_units_and_dates_are_the_grammars_terminals() -> None:
    regexes = "\n".join(_regexes(grammar()))
    for terminal in ("NUMBER", "UNIT", "DATETIME"):
        assert _uncaptured(vocabulary().terminals[terminal]) in regexes, terminal


def test_the_extension_declares_the_language_grammar_and_client() -> None:
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    contributes = package["contributes"]
    (language,) = contributes["languages"]
    assert language["id"] == "nnci" and language["extensions"] == [".nnci"]
    (entry,) = contributes["grammars"]
    assert entry["language"] == "nnci" and entry["scopeName"] == grammar()["scopeName"] == "source.nnci"
    assert (EXTENSION / entry["path"]).resolve() == GRAMMAR
    configuration = json.loads((EXTENSION / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"] == {"lineComment": "#"}
    assert configuration["brackets"] == [["{", "}"], ["(", ")"]]
    assert {(p["open"], p["close"]) for p in configuration["autoClosingPairs"]} == {("{", "}"), ("(", ")"), ('"', '"')}
    assert contributes["configuration"]["properties"]["nnci.server.path"]["default"] == "nnci"
    assert "vscode-languageclient" in package["dependencies"]
    client = (EXTENSION / package["main"]).read_text(encoding="utf-8")
    assert 'require("vscode-languageclient/node")' in client and "TransportKind.stdio" in client
    assert '"server.path", "nnci"' in client and '["lsp"]' in client


def test_ci_installs_the_pinned_tester() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"vscode-tmgrammar-test@{TMGRAMMAR_TEST_VERSION}" in ci and "NNCI_TMGRAMMAR_TEST=" in ci


@pytest.fixture(scope="module")
def tmgrammar_test(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The `vscode-tmgrammar-test` command: CI's (NNCI_TMGRAMMAR_TEST), else installed here with npm."""
    given = os.environ.get("NNCI_TMGRAMMAR_TEST")
    if given:
        return given
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: vscode-tmgrammar-test runs on node (CI installs both)")
    prefix = tmp_path_factory.mktemp("tmgrammar")
    subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
                    f"vscode-tmgrammar-test@{TMGRAMMAR_TEST_VERSION}"], check=True, capture_output=True, timeout=300)  # fmt: skip
    return str(prefix / "node_modules" / ".bin" / "vscode-tmgrammar-test")


def _run(command: str, *files: Path) -> subprocess.CompletedProcess[str]:
    config = str(EXTENSION / "package.json")
    return subprocess.run([command, "--compact", "--config", config, *map(str, files)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _declared_cases() -> str:
    """A syntax test from the declarations: each kind starts a block, each builtin is called, each method named."""
    words = vocabulary()
    lines = ['# SYNTAX TEST "source.nnci" "every declared kind, function and method"']
    for kind in words.kinds:
        lines += [f"{kind} b_{kind} {{", "# <" + "-" * len(kind) + " storage.type.kind.nnci", "}"]
        lines += [f"  {kind} = x", "# " + "^" * len(kind) + " variable.other.property.nnci - storage.type.kind.nnci"]
    for function in words.builtins:
        lines += [f"x = {function}(1 W)", "#   " + "^" * len(function) + " support.function.builtin.nnci"]
    for method in words.methods:
        lines += [f"method = {method}", "#        " + "^" * len(method) + " support.constant.method.nnci"]
    return "\n".join(lines) + "\n"


def test_the_grammar_scopes_the_syntax_tests(tmgrammar_test: str, tmp_path: Path) -> None:
    cases = sorted(CASES.glob("*.nnci"))
    assert cases
    declared = tmp_path / "declared.nnci"
    declared.write_text(_declared_cases(), encoding="utf-8")
    result = _run(tmgrammar_test, *cases, declared)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("run successfuly") == len(cases) + 1  # (sic: the tool's spelling)


def test_a_wrong_scope_fails_the_syntax_test(tmgrammar_test: str, tmp_path: Path) -> None:
    """The tester does fail: a case asserting `grid = g` is a kind is refused."""
    wrong = tmp_path / "wrong.nnci"
    wrong.write_text('# SYNTAX TEST "source.nnci" "a field is not a kind"\ngrid = g\n# <---- storage.type.kind.nnci\n')
    result = _run(tmgrammar_test, wrong)
    assert result.returncode != 0 and "storage.type.kind.nnci" in result.stdout + result.stderr
