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

import lark
import pytest

from nnci.highlight import vocabulary
from nnci.parse import _uncaptured, parse
from nnci.resources import grammar_path

REPO = Path(__file__).resolve().parent.parent
EXTENSION = REPO / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "nnci.tmLanguage.json"
CASES = REPO / "tests" / "cases" / "tmgrammar"
TOKENIZE = REPO / "tests" / "tmgrammar" / "tokenize.js"
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


def _files_that_parse() -> list[Path]:
    sources = [*(REPO / "models").glob("*.nnci"), *(REPO / "nnci" / "std").glob("*.nnci")]
    golden = [
        p for p in (REPO / "tests" / "cases").rglob("*.nnci") if parse(p.read_text(encoding="utf-8"), str(p)).tree
    ]
    return sorted([*sources, *golden])


# The scope each terminal of the grammar must have in VS Code (NAME: none of the scopes of the others).
SCOPES = {
    "KIND": "storage.type.kind.nnci",
    "UNIT": "keyword.other.unit.nnci",
    "NUMBER": "constant.numeric.nnci",
    "DATETIME": "constant.other.datetime.nnci",
    "STRING": "string.quoted.double.nnci",
    "FIGURE": "storage.type.figure.nnci",
    "IMPORT": "keyword.control.import.nnci",
    "AS": "keyword.control.as.nnci",
    **{word.upper(): f"keyword.other.{word}.nnci" for word in ("nnci", "expect", "check", "within")},
}
NOT_A_NAME = ("storage.type", "keyword", "constant", "string", "invalid")


def test_vs_code_scopes_every_token_as_the_grammar_lexes_it(tmgrammar_test: str) -> None:
    """Every model, std file and parsing golden case, tokenized by vscode-textmate: nothing is invalid, and
    each token lark's lexer finds has the scope of its terminal (a kind is a kind, a unit a unit, ...)."""
    files = _files_that_parse()
    node_modules = Path(tmgrammar_test).parent.parent  # <prefix>/node_modules/.bin/vscode-tmgrammar-test
    result = subprocess.run(["node", str(TOKENIZE), str(GRAMMAR), *map(str, files)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "NODE_PATH": str(node_modules)}, check=True)  # fmt: skip
    tokenized = json.loads(result.stdout)
    keeping = lark.Lark.open(str(grammar_path()), parser="lalr", strict=True, keep_all_tokens=True)
    checked = 0
    for path in files:
        lines = tokenized[str(path)]
        invalid = [(n + 1, start) for n, line in enumerate(lines) for start, _, scopes in line if any("invalid" in s for s in scopes)]  # fmt: skip
        assert invalid == [], path
        text = path.read_text(encoding="utf-8")
        source_lines = text.split("\n")
        for token in keeping.parse(text if text.endswith("\n") else text + "\n").scan_values(
            lambda v: isinstance(v, lark.Token)
        ):
            if token.type not in SCOPES and token.type != "NAME":
                continue
            line, column = (token.line or 1) - 1, (token.column or 1) - 1
            column = len(source_lines[line][:column].encode("utf-16-le")) // 2  # vscode-textmate counts UTF-16 units
            scopes = next(s for start, end, s in lines[line] if start <= column < end)
            where = f"{path.relative_to(REPO)}:{token.line}:{token.column} {token.type} `{token}`: {scopes}"
            if token.type == "NAME":
                assert not any(s.startswith(NOT_A_NAME) for s in scopes), where
            else:
                assert SCOPES[token.type] in scopes, where
            checked += 1
    assert checked > 10_000
