"""Bad input gives diagnostics, never a Python exception or a traceback.

Hypothesis feeds the parser and the whole pipeline (load, check, evaluate) arbitrary text, soups
of nnci tokens, damaged copies of a valid file and generated valid programs. Whatever comes in,
the only exception allowed out is `NnciError`, each of its diagnostics points into the file, and
the rendered message shows the line it points at.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import BASE, DEMO, arbitrary_text, mutated, programs, token_soup

import nnci
from nnci import api
from nnci.cli import main
from nnci.diagnostics import CODES, Diagnostic, render
from nnci.parse import parse

FILE = "x.nnci"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Inputs found to escape as Python exceptions (each is also an @example below and a plain test).
CRASHERS = {
    "exponent overflows a fraction": BASE.replace("power = 300 W", "power = 300 W ^ 1e999"),
    "exponent is not a number": BASE.replace("power = 300 W", "power = 300 W ^ (1e999 - 1e999)"),
    "complex power": BASE.replace("pue = 1.1", "pue = (0 - 1) ^ 0.5"),
    "truncated \\u escape": BASE.replace("training j {", '@source("\\u12")\ntraining j {'),
    "\\x escape of a non-UTF-8 byte": BASE.replace("training j {", '@source("\\xff")\ntraining j {'),
    "malformed \\N escape": BASE.replace("training j {", '@source("\\N")\ntraining j {'),
    "expect of an unknown quantity": BASE + "expect j.embodied = j.embodied\n",
    "expect dividing by zero": BASE + "expect j.energy = 1 kWh / 0\n",
    "tolerance dividing by zero": BASE + "expect j.energy = 1 kWh within 1 kWh / 0\n",
    "valid \\u escape outside latin-1": BASE.replace("training j {", '@source("\\u20ac")\ntraining j {'),
    "valid \\u escape of a latin-1 letter": BASE.replace("training j {", '@source("M\\u00fcller")\ntraining j {'),
    "a 1000-term sum": BASE.replace("power = 300 W", "power = " + " + ".join(["0.3 W"] * 1000)),
}


def lines_in(text: str) -> int:
    """Lines as the lexer counts them (only `\\n` ends a line)."""
    return text.count("\n") + 1


def assert_located(diagnostics: list[Diagnostic], sources: dict[str, str], file: str) -> None:
    for diagnostic in diagnostics:
        assert diagnostic.code in CODES, diagnostic
        assert diagnostic.message, diagnostic
        span = diagnostic.span
        assert span is not None, diagnostic
        text = sources[span.file]
        assert 1 <= span.line <= lines_in(text), (diagnostic, text)
        assert span.column >= 1, diagnostic
        assert (span.line, span.column) <= (span.end_line, span.end_column), diagnostic


def pipeline(text: str) -> list[Diagnostic]:
    """load → check → evaluate; returns the diagnostics (warnings, or the errors raised)."""
    try:
        program = api.loads(text, FILE)
        warnings = api.check(program)
        api.evaluate(program)
    except nnci.NnciError as error:
        assert error.diagnostics, "an NnciError without diagnostics"
        assert_located(error.diagnostics, error.sources, FILE)
        assert str(error)  # renders
        return error.diagnostics
    assert_located(warnings, program.sources, FILE)
    return warnings


# -- the parser ---------------------------------------------------------------------------


def check_parse(text: str) -> None:
    parsed = parse(text, FILE)
    assert (parsed.tree is None) == bool(parsed.diagnostics)
    assert_located(list(parsed.diagnostics), {FILE: text}, FILE)
    assert all(d.code in ("E100", "E101") for d in parsed.diagnostics)


@FAST
@given(arbitrary_text())
@example("{")
@example("grid g {\n")
@example('"')
@example("\x00")
@example("\r")
@example("")
def test_parse_arbitrary_text(text: str) -> None:
    check_parse(text)


@FAST
@given(token_soup())
def test_parse_token_soup(text: str) -> None:
    check_parse(text)


@FAST
@given(mutated())
def test_parse_mutated_demo(text: str) -> None:
    check_parse(text)


@FAST
@given(programs())
def test_generated_programs_parse(case: tuple[str, dict]) -> None:
    text, _ = case
    parsed = parse(text, FILE)
    assert parsed.diagnostics == ()
    assert parsed.tree is not None


# -- the whole pipeline -------------------------------------------------------------------


@SLOW
@given(arbitrary_text())
def test_pipeline_arbitrary_text(text: str) -> None:
    pipeline(text)


@SLOW
@given(token_soup())
@example("grid g {\n  intensity = 1 gCO2e/kWh ^ 1e999\n}\n")
def test_pipeline_token_soup(text: str) -> None:
    pipeline(text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_pipeline_mutated_demo(text: str) -> None:
    pipeline(text)


@SLOW
@given(mutated(sources=(CRASHERS["exponent overflows a fraction"], BASE)))
@example(CRASHERS["complex power"])
@example(CRASHERS["expect of an unknown quantity"])
@example(CRASHERS["truncated \\u escape"])
def test_pipeline_mutated_small_program(text: str) -> None:
    pipeline(text)


@SLOW
@given(programs())
def test_pipeline_generated_programs_have_no_diagnostics(case: tuple[str, dict]) -> None:
    text, _ = case
    assert pipeline(text) == []


@pytest.mark.parametrize("name", list(CRASHERS))
def test_known_crashers_give_diagnostics(name: str) -> None:
    """Each input here once escaped as a Python exception; it must come back as diagnostics (or none)."""
    pipeline(CRASHERS[name])


def test_the_demo_has_no_diagnostics() -> None:
    assert pipeline(DEMO.read_text(encoding="utf-8")) == []


# -- rendering --------------------------------------------------------------------------


def shown_line(diagnostic: Diagnostic, sources: dict[str, str]) -> str | None:
    """The source line the renderer prints under the header (`12 | ...`), or None."""
    assert diagnostic.span is not None
    prefix = f"{diagnostic.span.line} | "
    for line in render(diagnostic, sources).split("\n"):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return None


def assert_renders_its_line(text: str) -> None:
    try:
        api.check(api.loads(text, FILE))
        return
    except nnci.NnciError as error:
        diagnostics, sources = error.diagnostics, error.sources
    for diagnostic in diagnostics:
        if diagnostic.span is None or diagnostic.span.file != FILE:
            continue
        # control characters are shown as `?` (one column each, so the caret still lines up)
        raw = text.split("\n")[diagnostic.span.line - 1].rstrip("\r").replace("\t", " ")
        expected = "".join(c if c.isprintable() else "?" for c in raw)
        # a long line is shown as a window around the caret, marked with `…` where it is cut
        shown = shown_line(diagnostic, sources)
        assert shown.removeprefix("…").removesuffix("…") in expected, (diagnostic, render(diagnostic, sources))
        assert shown == expected or len(expected) > 120


@FAST
@given(mutated())
@example("grid g { # a\x0cb\n  intensity = 1 W\n}\n")
@example('@source("a\x85b")\ngrid g {\n  intensity = 1 W\n}\n')
@example("# a\u2028b\ngrid g {\n  intensity = 1 W\n}\n")
@example("# a\rb\ngrid g {\n  intensity = 1 W\n}\n")
def test_rendered_source_line_is_the_line_the_span_names(text: str) -> None:
    assert_renders_its_line(text)


@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\r"])
def test_line_separators_inside_comments_do_not_shift_the_shown_line(separator: str) -> None:
    """Python's str.splitlines() also breaks at these characters; the lexer does not."""
    assert_renders_its_line(f"# a{separator}b\ngrid g {{\n  intensity = 1 W\n}}\n")


# -- the command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


def assert_cli_check_is_clean(folder: Path, text: str) -> None:
    path = folder / "case.nnci"
    path.write_text(text, encoding="utf-8", newline="")
    code, output = run_cli(["check", str(path)])
    assert "Traceback" not in output
    assert code in (0, 1), output
    # exit 1 exactly when an error is shown (a recovered file's warnings may come before its errors)
    assert (code == 0) == (re.search(r"^error\[E\d+\]", output, re.M) is None), output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(mutated(), token_soup(), arbitrary_text()))
def test_cli_check_never_prints_a_traceback(folder: Path, text: str) -> None:
    assert_cli_check_is_clean(folder, text)


@pytest.mark.parametrize("name", list(CRASHERS))
def test_cli_on_known_crashers(folder: Path, name: str) -> None:
    """`check`, `run` and `validate` each end with an exit code, never an exception."""
    assert_cli_check_is_clean(folder, CRASHERS[name])
    path = folder / "case.nnci"
    for command in ("run", "validate"):
        code, output = run_cli([command, str(path)])
        assert "Traceback" not in output
        assert code in (0, 1), (command, output)


def test_cli_check_on_non_utf8_bytes(folder: Path) -> None:
    path = folder / "latin1.nnci"
    path.write_bytes('grid g {\n  label = "Zürich"\n}\n'.encode("latin-1"))
    code, output = run_cli(["check", str(path)])
    assert code == 1
    assert "Traceback" not in output
    assert "E103" in output and "UTF-8" in output


# -- found while fuzzing: values and strings ----------------------------------------------


def diagnostics_of(text: str) -> list[Diagnostic]:
    try:
        return api.check(api.loads(text, FILE))
    except nnci.NnciError as error:
        return error.diagnostics


@pytest.mark.parametrize(
    "field",
    [
        "pue = 1e999 - 1e999",
        "pue = 1e999",
        "power = 1e999 W",
        "pue = 1e200 * 1e200 - 1e200 * 1e200",
        "pue = 1e200 * 1e200",
        "power = 1e200 W * 1e200",
        "power = 1e200 W * 1e200 - 1e200 W * 1e200",
    ],
    ids=[
        "NaN PUE literal",
        "infinite PUE literal",
        "infinite power literal",
        "NaN PUE",
        "infinite PUE",
        "infinite power",
        "NaN power",
    ],
)
def test_values_that_are_not_finite_numbers_are_errors(field: str) -> None:
    """NaN passes every range check (all comparisons are false) and reaches the results as `nan`."""
    name = field.split(" = ")[0]
    text = BASE.replace(f"{name} = {'1.1' if name == 'pue' else '300 W'}", field)
    assert text != BASE
    errors = [d for d in diagnostics_of(text) if d.severity == "error"]
    assert errors, f"`{field}` is accepted"


def test_a_negative_exponent_is_a_plain_number() -> None:
    text = BASE.replace("power = 300 W", "tdp = 600 W\n  power = tdp * 2 ^ -1")
    assert diagnostics_of(text) == []
    results = api.evaluate(api.loads(text, FILE))
    assert results.jobs[0].quantities["energy"].value.to("kWh") == pytest.approx(1.1 * 10 * 300 * 10 / 1000)


@pytest.mark.parametrize(
    ("written", "value"),
    [(r'"a \"quoted\" word"', 'a "quoted" word'), (r'"Zürich"', "Zürich"), (r'"\x41"', "A"),
     (r'"M\u00fcller"', "Müller"), (r'"\u20ac 5"', "€ 5")],
)  # fmt: skip
def test_string_escapes(written: str, value: str) -> None:
    program = api.loads(f"device d {{\n  label = {written}\n}}\n", FILE)
    (block,) = program.blocks.values()
    assert block.fields["label"].expr.value == value
