"""Issue 15: the parser recovers after a syntax error, so a file with several mistakes reports each,
located, and the rest of the file is still lowered, resolved and checked (nnci.recover).

Expected modules are computed independently: the valid file parsed as it was, less the field or
block that the test broke (the AST compares without spans, so the rest must be identical).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import DEMO, ONE_JOB, arbitrary_text, mutated, programs, token_soup

import nnci
from nnci import api, ast, recover
from nnci.diagnostics import Diagnostic, NnciError
from nnci.parse import parse, parse_module
from nnci.recover import MAX_SYNTAX_ERRORS

ROOT = Path(__file__).resolve().parent.parent
FILE = "case.nnci"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def syntax_errors(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code in ("E100", "E101")]


def lines_of(diagnostics: list[Diagnostic]) -> list[int]:
    return [d.span.line for d in diagnostics if d.span is not None]


def without_field(module: ast.Module, block: str, field: str) -> ast.Module:
    blocks = tuple(
        attrs.evolve(b, fields=tuple(f for f in b.fields if f.name != field)) if b.name == block else b
        for b in module.blocks
    )
    return attrs.evolve(module, blocks=blocks)


def without_block(module: ast.Module, block: str) -> ast.Module:
    return attrs.evolve(module, blocks=tuple(b for b in module.blocks if b.name != block), dropped=(block,))


def valid(text: str) -> ast.Module:
    module, diagnostics = parse_module(text, FILE)
    assert module is not None and diagnostics == ()
    return module


# -- the golden case, read back: what was kept ----------------------------------------------------


def test_three_broken_fields_keep_the_good_fields_of_their_blocks() -> None:
    path = ROOT / "tests" / "cases" / "diagnostics" / "e100_three_broken_fields.nnci"
    text = path.read_text(encoding="utf-8")
    module, diagnostics = parse_module(text, FILE)
    assert lines_of(syntax_errors(diagnostics)) == [5, 10, 16]
    assert module is not None
    fields = {b.name: [f.name for f in b.fields] for b in module.blocks}
    assert fields == {"g": ["transport"], "dc": ["grid"], "gpu": ["power"], "x": ["fleet", "site", "duration"]}
    assert module.dropped == ()


# -- one field broken in a valid program: one error, and exactly that field gone -------------------

BREAKS = {
    "missing =": lambda line: line.replace(" = ", " ", 1),
    "stray token": lambda line: line + " )",
    "stray @": lambda line: line.replace(" = ", " = @ ", 1),
    "unit with a space": lambda line: line + " W",
    "one line too many": lambda line: line + " x = 1",
    "trailing operator": lambda line: line + " /",
    "plus-minus": lambda line: line + " +- 1",
}


@SETTINGS
@given(programs(), st.sampled_from(sorted(BREAKS)), st.integers(0, 100))
def test_a_broken_field_is_reported_and_only_it_is_dropped(case: tuple[str, dict], how: str, pick: int) -> None:
    text, _ = case
    lines = text.split("\n")
    # single-line fields directly inside a block (a map's field, `fleet = { ... }`, is one too)
    candidates = [i for i, line in enumerate(lines) if re.match(r"  [a-z_]+ = [^{#]*$", line)]
    index = candidates[pick % len(candidates)]
    field = lines[index].split()[0]
    block = next(line.split()[1] for line in reversed(lines[:index]) if re.match(r"[a-z]+ \w+ \{$", line))
    broken = "\n".join([*lines[:index], BREAKS[how](lines[index]), *lines[index + 1 :]])
    assume(parse(broken, FILE).tree is None)  # (`grid = g W` parses; resolving reports the unit)
    module, diagnostics = parse_module(broken, FILE)
    # (`grid x` in a datacenter reads as a block inside a block: E101, missing `}`)
    assert len(diagnostics) == 1 and diagnostics[0].code in ("E100", "E101"), diagnostics
    assert lines_of(list(diagnostics)) == [index + 1]
    assert module == without_field(valid(text), block, field)


@SETTINGS
@given(programs(), st.lists(st.sampled_from(sorted(BREAKS)), min_size=2, max_size=4), st.randoms())
def test_several_broken_fields_each_reported_and_dropped(case: tuple[str, dict], hows: list[str], rng: Any) -> None:
    text, _ = case
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if re.match(r"  [a-z_]+ = [^{#]*$", line)]
    chosen = sorted(rng.sample(candidates, min(len(hows), len(candidates))))
    expected = valid(text)
    broken = list(lines)
    for index, how in zip(chosen, hows, strict=False):
        block = next(line.split()[1] for line in reversed(lines[:index]) if re.match(r"[a-z]+ \w+ \{$", line))
        expected = without_field(expected, block, lines[index].split()[0])
        broken[index] = BREAKS[how](lines[index])
    joined = "\n".join(broken)
    for index in chosen:  # each line alone is a syntax error (`grid = g W` is not: resolving reports it)
        assume(parse("\n".join([*lines[:index], broken[index], *lines[index + 1 :]]), FILE).tree is None)
    module, diagnostics = parse_module(joined, FILE)
    assert lines_of(list(diagnostics)) == [index + 1 for index in chosen], diagnostics
    assert module == expected


# -- a block that cannot be read is dropped whole, and its name is not reported as unknown ----------


@SETTINGS
@given(programs(), st.sampled_from(("grid", "device", "datacenter")), st.sampled_from(("no {", "no }", "bad kind")))
def test_a_broken_block_is_dropped_and_references_to_it_are_not_unknown(
    case: tuple[str, dict], kind: str, how: str
) -> None:
    text, params = case
    name = params[kind]
    header = f"{kind} {name} {{\n"
    if how == "no {":
        broken = text.replace(header, f"{kind} {name}\n")
    elif how == "bad kind":
        broken = text.replace(header, f"grdi {name} {{\n")
    else:  # the block's closing brace: the first `}` line after its header
        start = text.index(header)
        close = text.index("\n}\n", start)
        broken = text[:close] + "\n\n" + text[close + 3 :]
    module, diagnostics = parse_module(broken, FILE)
    assert len(diagnostics) == 1, diagnostics
    assert module == without_block(valid(text), name)
    assert module is not None and module.dropped == (name,)
    with pytest.raises(NnciError) as caught:
        api.loads(broken, FILE)
    assert [d.code for d in caught.value.diagnostics] == [diagnostics[0].code], "nothing about the dropped name"


def test_an_unclosed_block_is_one_error_not_one_a_line() -> None:
    blocks = "".join(f"device d{i} {{\n  power = {100 + i} W\n}}\n\n" for i in range(20))
    module, diagnostics = parse_module("device broken {\n  power = 1 W\n\n" + blocks, FILE)
    assert [d.code for d in diagnostics] == ["E101"]
    assert module is not None and [b.name for b in module.blocks] == [f"d{i}" for i in range(20)]
    at_end = "device ok {\n  power = 1 W\n}\n\ndevice broken {\n" + "  power = 1 W\n" * 20
    module, diagnostics = parse_module(at_end, FILE)
    assert [d.code for d in diagnostics] == ["E101"] and "end of file" in diagnostics[0].message
    assert module is not None and [b.name for b in module.blocks] == ["ok"] and module.dropped == ("broken",)


def test_an_unclosed_map_drops_its_block_once() -> None:
    text = ONE_JOB.replace("fleet = { gpu = 8 }", "fleet = { gpu = 8") + "\ndevice cpu {\n  power = 5 W\n}\n"
    module, diagnostics = parse_module(text, FILE)
    assert [d.code for d in diagnostics] == ["E101"]
    assert module is not None and [b.name for b in module.blocks] == ["g", "dc", "gpu", "cpu"]


def test_junk_between_blocks_and_a_stray_brace() -> None:
    text = ONE_JOB.replace("device gpu {", "oops here\n\ndevice gpu {").replace(
        "  power = 300 W\n}", "  power = 300 W\n}}"
    )
    module, diagnostics = parse_module(text, FILE)
    assert len(diagnostics) == 2, diagnostics
    assert module == valid(ONE_JOB)


def test_errors_in_imports_expectations_and_annotations() -> None:
    text = (
        'import "std/hardware" hw\n'  # missing `as`
        + ONE_JOB
        + "expect x.energy = = 288 kWh\n"
        + '@source("a"\ndevice kept {\n  power = 1 W\n}\n'  # the annotation is broken: the block is read without it
        + "expect x.energy = 288 kWh\n"
    )
    module, diagnostics = parse_module(text, FILE)
    assert len(syntax_errors(diagnostics)) == 3, diagnostics
    assert module is not None and module.imports == () and len(module.expects) == 1
    assert [b.name for b in module.blocks] == ["g", "dc", "gpu", "x", "kept"] and module.blocks[-1].annotations == ()
    assert module.dropped == ("hw",)


def test_the_number_of_errors_is_bounded() -> None:
    fields = "".join(f"  f{i} 1\n" for i in range(MAX_SYNTAX_ERRORS + 10))
    text = "device ok {\n  power = 1 W\n}\n\ndevice d {\n" + fields + "}\n\ndevice after {\n  power = 2 W\n}\n"
    module, diagnostics = parse_module(text, FILE)
    assert len(diagnostics) == MAX_SYNTAX_ERRORS
    assert "there are more (the next at line 56)" in diagnostics[-1].notes[-1]
    assert module is not None and [b.name for b in module.blocks] == ["ok"]  # the rest is not read


def test_the_cli_shows_every_error_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.cli import main

    path = tmp_path / "m.nnci"
    path.write_text(ONE_JOB.replace("pue = 1.2", "pue 1.2").replace("power = 300 W", "power = 300 W W"))
    for command in ("check", "run"):
        assert main([command, str(path)]) == 1
        output = capsys.readouterr().err
        assert output.count("error[E100]") == 2 and "2 errors" in output, output


# -- the happy path never comes here --------------------------------------------------------------


def test_a_file_without_errors_never_takes_the_recovery_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str, file: str) -> None:
        raise AssertionError("the recovering parse ran on a valid file")

    monkeypatch.setattr(recover, "recovering_parse", refuse)
    for path in sorted((ROOT / "models").glob("*.nnci")):
        module, diagnostics = parse_module(path.read_text(encoding="utf-8"), path.name)
        assert module is not None and diagnostics == ()
    module, diagnostics = parse_module('# 350 W +- 50 W\ndevice d {\n  power = 350 W\n  note = "+-"\n}\n', FILE)
    assert module is not None and diagnostics == (), "a `+-` in a comment or a string is no error"


# -- anything: located errors, bounded, the first of them lark's ----------------------------------


def assert_recovers(text: str) -> None:
    module, diagnostics = parse_module(text, FILE)
    errors = syntax_errors(diagnostics)
    lark = parse(text, FILE)
    if lark.tree is not None:
        assert errors == [] and module is not None
        return
    (expected,) = lark.diagnostics  # lark's single error is among them (a note may follow: `also: ...`)
    assert expected in [attrs.evolve(e, notes=e.notes[: len(expected.notes)]) for e in errors]
    assert len(errors) <= MAX_SYNTAX_ERRORS
    keys = [(d.span.line, d.span.column) for d in errors if d.span is not None]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "in order, and never the same place twice"


@SETTINGS
@given(mutated())
def test_mutated_demo_recovers(text: str) -> None:
    assert_recovers(text)


@SETTINGS
@given(token_soup(80))
def test_token_soup_recovers(text: str) -> None:
    assert_recovers(text)


@SETTINGS
@given(arbitrary_text())
def test_arbitrary_text_recovers(text: str) -> None:
    assert_recovers(text)


def test_the_pipeline_goes_on_after_a_syntax_error() -> None:
    """Resolving and checking the rest: a dimension error in an intact block is still found."""
    text = ONE_JOB.replace("pue = 1.2", "pue 1.2").replace("power = 300 W", "power = 300 Wh")
    with pytest.raises(nnci.NnciError) as caught:
        api.loads(text, FILE)
    codes = [d.code for d in caught.value.diagnostics]
    assert codes[0] == "E100" and "E400" in codes, codes


def test_a_dropped_block_of_an_imported_file_is_not_reported_unknown(tmp_path: Path) -> None:
    (tmp_path / "parts.nnci").write_text("device gpu\n  power = 300 W\n}\n\ndevice cpu {\n  power = 5 W\n}\n")
    main = tmp_path / "main.nnci"
    main.write_text(
        'import "parts" as p\n\ntraining x {\n  fleet = { p.gpu = 8, p.cpu = 1, p.tpu = 1 }\n  duration = 1 h\n}\n'
    )
    with pytest.raises(NnciError) as caught:
        api.load(main)
    found = [(d.code, d.span.file if d.span else None, d.message) for d in caught.value.diagnostics]
    # the broken `gpu` is reported once, in its file; `p.tpu` was never there, and is reported
    assert sorted((code, Path(file or "").name) for code, file, _ in found) == [
        ("E100", "parts.nnci"),
        ("E300", "main.nnci"),
    ]
    assert any("`tpu` is not defined in `p`" in message for _, _, message in found)


def test_an_annotation_after_an_unclosed_block_says_the_block_is_open() -> None:
    text = 'device gpu {\n  power = 300 W\n\n@source("a")\n@source("b")\ndevice cpu {\n  power = 5 W\n}\n'
    module, diagnostics = parse_module(text, FILE)
    assert [(d.code, d.message) for d in diagnostics] == [("E101", "missing `}` before this `@source`")]
    assert module is not None and [b.name for b in module.blocks] == ["cpu"] and len(module.blocks[0].annotations) == 2
    # an annotation written inside a block, as if it were a field, is not that
    module, diagnostics = parse_module('device gpu {\n  @source("x")\n  power = 300 W\n}\n', FILE)
    assert [(d.code, d.message) for d in diagnostics] == [("E100", "unexpected `@`")]
    assert module is not None and [f.name for f in module.blocks[0].fields] == ["power"]


def test_a_block_after_a_stray_brace_is_dropped_without_its_name_called_unknown() -> None:
    """`}device gpu {`: one error at the brace; the jobs that name `gpu` are not said to name nothing."""
    text = DEMO.read_text(encoding="utf-8").replace("device gpu {", "}device gpu {")
    module, diagnostics = parse_module(text, "demo.nnci")
    assert module is not None and "gpu" in module.dropped
    assert [d.code for d in diagnostics] == ["E100"]
