"""The fast front end (generated LALR tables, one-regexp lexer, reductions that build the AST)
against lark's path (parse + lower): the same modules, spans, comments and diagnostics.

Spans take no part in AST equality, so modules are compared as `attrs.asdict`, which holds every
field, spans, comments and the header line included.
"""

from __future__ import annotations

import gc
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import BASE, arbitrary_text, mutated, programs, token_soup

from nnci import ast
from nnci.diagnostics import Diagnostic
from nnci.lower import MAX_DEPTH, lower
from nnci.parse import _fast_parser, _FastParser, _prepare, parse, parse_module, parser
from nnci.resources import std_dir

ROOT = Path(__file__).resolve().parent.parent
FILE = "case.nnci"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Result = tuple[ast.Module | None, tuple[Diagnostic, ...]]


def lark_path(text: str, file: str = FILE) -> Result:
    """What nnci did before the fast path: lark's tree, lowered."""
    parsed = parse(text, file)
    if parsed.tree is None:
        return None, parsed.diagnostics
    module, problems = lower(parsed.tree, file, parsed.comments)
    return module, (*parsed.diagnostics, *problems)


def fast_path(text: str, file: str = FILE) -> Result | None:
    """The fast path alone: None where it gives up (and lark's path decides)."""
    fast = _fast_parser()
    assert fast is not None, "the fast parser is disabled: is nnci/_parse_table.py stale?"
    result = fast.parse(_prepare(text), file)
    return result if isinstance(result, tuple) else None


def everything(result: Result) -> tuple[Any, tuple[Diagnostic, ...]]:
    module, diagnostics = result
    return (attrs.asdict(module) if module is not None else None), diagnostics


def assert_same(text: str, file: str = FILE) -> bool:
    """parse_module gives exactly what lark's path gives where lark parses; where it does not, lark's
    one diagnostic is among those it gives (the recovering parse finds more: tests/test_recover.py).
    Returns whether the fast path accepted."""
    expected = everything(lark_path(text, file))
    got = everything(parse_module(text, file))
    if expected[0] is not None:
        assert got == expected
    else:
        (lark,) = expected[1]  # (recovering may add a note: a second error at that place)
        assert lark in [attrs.evolve(d, notes=d.notes[: len(lark.notes)]) for d in got[1]], "lark's error is missing"
    fast = fast_path(text, file)
    if fast is not None:
        assert expected[0] is not None, "the fast path accepts a text lark rejects"
        assert everything(fast) == expected
    return fast is not None


def tour() -> str:
    found = re.search(r"```\n(nnci 0\.1\n.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert found is not None
    return found.group(1)


FILES = sorted(
    [
        *ROOT.joinpath("models").glob("*.nnci"),
        *std_dir().glob("*.nnci"),
        *ROOT.joinpath("tests", "cases").rglob("*.nnci"),
    ]
)


def shown(path: Path) -> str:
    """The path from the repository, or `std/<name>` (the package may be installed elsewhere)."""
    return f"std/{path.name}" if path.parent == std_dir() else path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", FILES, ids=shown)
def test_files_parse_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    accepted = assert_same(text, shown(path))
    if lark_path(text)[0] is not None:
        assert accepted, "the fast path gave up on a file lark parses"


def test_the_readme_tour_parses_the_same() -> None:
    assert assert_same(tour())


def test_every_file_parses_the_same_through_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lexer works chunk by chunk; tiny chunks put boundaries everywhere they may fall."""
    monkeypatch.setattr(_FastParser, "CHUNK", 40)
    for path in [*FILES[:8], ROOT / "models" / "nnci-demo.nnci"]:
        assert_same(path.read_text(encoding="utf-8"))


# Texts the fast path must accept, each parsed exactly as lark parses it.
ACCEPTED = {
    "grid field inside a datacenter": "datacenter dc {\n  grid = dcgt0\n  pue = 1.1\n}\n",
    "fields named like kinds": "training t {\n  device = 3\n  source = x\n  fleet = { a = 1 }\n  grid = g\n}\n",
    "fields named like keywords": "device d {\n  within = 1\n  as = 2\n  import = 3\n  expect = 4\n  nnci = 5\n}\n",
    "keywords and kinds as names": 'import "x" as as\ndevice grid = grid.check {\n  m = { check = 1, within = 2, grid = 3 }\n}\n@check("x")\n@grid()\nsource expect {\n}\nexpect expect.as = 1\n',
    "keyword-like words in expressions": "device d {\n  x = within + as * grid\n  y = training.energy\n}\n",
    "within after a number": BASE + "expect j.energy = 3 kWh within 1 %\n",
    "within right after a number": BASE + "expect j.energy = 3 within 1 %\n",
    "within after a parenthesis": BASE + "expect j.energy = (3 kWh) within 0.5 kWh\n",
    "a unit that starts like within": BASE + "expect j.energy = 3 withinx\n",
    "compound unit": "device d {\n  x = 300 W/h\n  y = 5 kg*m^2/s^3\n  z = 2 tCO2e/MWh\n}\n",
    "division by a name": "device d {\n  x = 300 W / h\n  y = 300 / h\n}\n",
    "exponents": "device d {\n  a = 1e5\n  b = 1E5 W\n  c = 2.5e-3 kWh\n  d = .5\n  e = 1_000.000_1e+2\n}\n",
    "a unit e": "device d {\n  a = 1e\n  b = 1e+2\n}\n",
    "multiplication by a name": "device d {\n  x = 2 * x\n  y = 2 x\n}\n",
    "unit touching its number": "device d {\n  power = 300W\n  share = 62%\n  p = 62 %\n}\n",
    "unicode units": "device d {\n  t = 5 µs\n  c = 20 °C\n  e = 1 kgCO₂e\n}\n",
    "powers": "device d {\n  a = 2 ^ -1\n  b = 3 m^2\n  c = 3 W ^ 2\n  d = x ^ y ^ z\n}\n",
    "check lines": 'datacenter dc {\n  pue = 1.1\n  check pue >= 1, "PUE below 1"\n  check pue < 3, "x"\n  check a == b, "y"\n  check a != b, "z"\n  check (a) <= -b, "w"\n}\n',
    "checker is a name": "device d {\n  checker = 1\n  checks = 2\n}\n",
    "annotations": '@source("a")\n@note("b", 1, 2 W)\n@flag()\ndevice d {\n  power = 1 W\n}\n@source("c") device e {\n}\n',
    "annotation before a comment": '@source("a") # why\n\n# more\ndevice d {\n}\n',
    "one-line blocks": "device d = hw.v100 { power = 330 W }\ndevice e {}\ndevice f { }\n",
    "maps over several lines": "training t {\n  fleet = {\n    a = 1,\n    b = 2\n    c = 3,\n  }\n  site = { x = 60 %, y = 40 % }\n  m = {}\n  n = {\n  }\n}\n",
    "map with comments inside": "training t {\n  fleet = { # the fleet\n    a = 1, # one\n    # nothing\n    b.c = 2\n  }\n}\n",
    "backslash continuation": "device d {\n  power = 300 \\\n    W\n  x = 1 + \\\n      2\n  y = \\\n 3\n}\n",
    "continuation between number and unit, in an expect": BASE + "expect j.energy = 3 \\\n within 1 %\n",
    "continuations between number and unit": "device d {\n  power = 300\\\n\\\r\n  \\\n W\n}\n",
    "CRLF": BASE.replace("\n", "\r\n") + "# a comment\r\n",
    "byte-order mark": "\ufeff" + BASE,
    "no final newline": BASE.rstrip("\n"),
    "tabs and form feeds": "device d {\n\tpower =\t300\tW\x0c\n}\x0c\n",
    "comments everywhere": "# top\n\n## doc of g\n## more doc\ngrid g { # open\n  intensity = 1 gCO2e/kWh # α\n  # inside\n\n}  # close\n# end",
    "doc comments": '## one\ndevice a {\n}\n\n## two\n\n## three\ndevice b {\n}\n## four\n@source("x")\ndevice c {\n}\n',
    "doc comment with code before it on the line": "device c { x = 1 } ## for d\ndevice d {\n}\n",
    "header and imports": 'nnci 0.1\n\nimport "std/hardware" as hw\nimport "common" as c # why\ngrid g = c.base {\n}\n',
    "header after blank lines": "\n\n# c\nnnci 0.1\ndevice d {\n}\n",
    "expects": BASE
    + "expect j.energy = 1 kWh\nexpect total.operational = 536.5 tCO2e within 0.1 %\nexpect j.x = 3 within 1 kWh / 2\n",
    "strings with escapes": 'device d {\n  label = "a \\"quoted\\" \\\\ \\n \\t \\u20ac \\x41 word"\n  s = ""\n}\n',
    "calls": "device d {\n  a = min(1 W, 2 W)\n  b = max(x)\n  c = sum()\n  d = min(1, max(2, 3), -4)\n}\n",
    "negations and parentheses": "device d {\n  a = -1\n  b = --x\n  c = -(1 + 2) * (3)\n  d = ((x))\n  e = (1 + 2) * -(-3)\n}\n",
    "an empty file": "",
    "only comments": "# nothing here\n## nor here\n",
    "only blank lines": "\n\n   \n\t\n",
    "the version diagnostic": "nnci 9.9\ndevice d {\n}\n",
    "many blocks": BASE * 20,
}

# Texts lark's path decides (the fast path gives up, or both reject); either way the same result.
DECIDED_BY_LARK = {
    "a keyword glued to a name": BASE + "expectj.energy = 1 kWh\n",
    "a kind glued to a name": "griddcgt0 {\n  intensity = 1 gCO2e/kWh\n}\n",
    "check used as a field name": "device d {\n  check = 1\n}\n",
    "within as a unit outside an expect": "device d {\n  power = 3 within\n}\n",
    "a unit after a name": "device d {\n  power = x W\n}\n",
    "two fields on one line": "device d { power = 1 W transport = 2 }\n",
    "a missing brace": "device d {\n  power = 1 W\n",
    "a lone carriage return": "device d {\r  power = 1 W\r}\r",
    "single quotes": "device d {\n  label = 'x'\n}\n",
    "a stray character": "device d {\n  power = 1 W $\n}\n",
    "a number glued to a dot": "device d {\n  power = 1.5.3\n}\n",
    "nnci glued to its version": "nnci0.1\ndevice d {\n}\n",
    "a unit on the header": "nnci 0.1 W\n",
    "a unit after a parenthesis": "device d {\n  e = (1 + 2) W\n}\n",
    "a unit after a unit": "device d {\n  power = 1e W\n}\n",
    "equals twice": "device d {\n  power == 1\n}\n",
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_cases(name: str) -> None:
    assert assert_same(ACCEPTED[name]), "the fast path gave up"


@pytest.mark.parametrize("name", list(DECIDED_BY_LARK))
def test_cases_lark_decides(name: str) -> None:
    assert_same(DECIDED_BY_LARK[name])


def test_the_contextual_cases_mean_what_they_should() -> None:
    module, _ = fast_path(ACCEPTED["grid field inside a datacenter"]) or (None, ())
    assert module is not None and [f.name for f in module.blocks[0].fields] == ["grid", "pue"]
    module, _ = fast_path(ACCEPTED["within right after a number"]) or (None, ())
    assert module is not None
    (expect,) = module.expects
    assert expect.value == ast.Number(3.0, "3", None, None) and expect.tolerance == ast.Number(1.0, "1", "%", None)
    module, _ = fast_path(ACCEPTED["division by a name"]) or (None, ())
    assert module is not None
    x = module.blocks[0].fields[0].value
    assert isinstance(x, ast.BinOp) and x.op == "/" and x.right == ast.Ref(("h",), None)
    module, _ = fast_path(ACCEPTED["unit touching its number"]) or (None, ())
    assert module is not None and module.blocks[0].fields[0].value == ast.Number(300.0, "300", "W", None)


def test_too_deep_expressions_give_the_same_diagnostics() -> None:
    long_sum = " + ".join(["0.3 W"] * (MAX_DEPTH + 50))
    nested = "(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5)
    negations = "-" * (MAX_DEPTH + 3) + "1"
    calls = "min(" * (MAX_DEPTH + 2) + "1" + ")" * (MAX_DEPTH + 2)
    maps = "{ a = " * (MAX_DEPTH + 2) + "1" + " }" * (MAX_DEPTH + 2)
    texts = [
        BASE.replace("power = 300 W", f"power = {long_sum}"),
        BASE.replace("power = 300 W", f"power = {nested}\n  x = {long_sum}"),
        BASE.replace("power = 300 W", f"x = {negations}"),
        BASE.replace("power = 300 W", f"x = {calls}"),
        BASE.replace("power = 300 W", f"x = {maps}"),
        BASE.replace("power = 300 W", f'check {long_sum} > {long_sum}, "x"'),
        f"@source({long_sum})\n" + BASE,
        BASE + f"expect j.energy = {long_sum} within {long_sum}\n",
        BASE + f"expect j.energy = {long_sum}\nexpect j.energy = 1 kWh within {negations}\n",
        BASE.replace("power = 300 W", "x = " + " + ".join(["x"] * (MAX_DEPTH + 1))) + "expect j.energy = 1 kWh\n",
        BASE.replace("power = 300 W", "x = " + " + ".join(["x"] * (MAX_DEPTH + 2))) + "expect j.energy = 1 kWh\n",
        BASE.replace("power = 300 W", "x = " + "-" * MAX_DEPTH + "1\n  y = " + "-" * MAX_DEPTH + "1"),
    ]
    for text in texts:
        assert assert_same(text)
    assert any(d.code == "E305" for d in lark_path(texts[0])[1])
    assert not any(d.code == "E305" for d in lark_path(texts[-3])[1])
    assert any(d.code == "E305" for d in lark_path(texts[-2])[1])


def test_a_large_file_parses_the_same() -> None:
    """Several lexer chunks, thousands of blocks."""
    text = "nnci 0.1\n" + "".join(BASE.replace("device d {", f"device d{i} {{") for i in range(1000))
    assert len(text) > 2 * _FastParser.CHUNK
    assert assert_same(text)


@SETTINGS
@given(programs())
def test_generated_programs(case: tuple[str, dict]) -> None:
    assert assert_same(case[0]), "the fast path gave up on a valid program"


MODEL_TEXTS = tuple(p.read_text(encoding="utf-8") for p in sorted(ROOT.joinpath("models").glob("*.nnci")))


@SETTINGS
@given(mutated())
@example("device d {\n  power = 3 within\n}\n")
def test_mutated_demo(text: str) -> None:
    assert_same(text)


@SETTINGS
@given(mutated(sources=(*MODEL_TEXTS, tour(), BASE, *ACCEPTED.values()), max_mutations=3))
def test_mutated_models_and_cases(text: str) -> None:
    assert_same(text)


@SETTINGS
@given(token_soup())
def test_token_soup(text: str) -> None:
    assert_same(text)


@SETTINGS
@given(arbitrary_text())
@example("\ufeff\ufeffdevice d {\n}\n")
@example("device d {\n}\n\x00")
def test_arbitrary_text(text: str) -> None:
    assert_same(text)


@SETTINGS
@given(st.lists(st.sampled_from(list(ACCEPTED.values()) + list(DECIDED_BY_LARK.values())), min_size=1, max_size=4))
def test_concatenated_cases(parts: list[str]) -> None:
    assert_same("\n".join(parts))


def test_the_garbage_collector_is_left_as_it_was() -> None:
    assert gc.isenabled()
    fast_path(BASE)
    assert gc.isenabled()
    gc.disable()
    try:
        fast_path(BASE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_fast_path_does_not_import_lark() -> None:
    code = (
        "import sys\n"
        "from nnci.load import read_module\n"
        f"module, problems = read_module(open({str(ROOT / 'models' / 'nnci-demo.nnci')!r}).read(), 'demo.nnci')\n"
        "assert module is not None and not problems\n"
        "assert 'lark' not in sys.modules, 'lark was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_lark_is_built_without_a_disk_cache() -> None:
    assert not parser().options.cache


def test_the_parse_table_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_parser.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_build_parser_check_reports_a_stale_table(tmp_path: Path) -> None:
    stale = tmp_path / "_parse_table.py"
    stale.write_text(
        (ROOT / "nnci" / "_parse_table.py").read_text(encoding="utf-8").replace("START_STATE = 0", "START_STATE = 1")
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_parser.py"), "--check", "-o", str(stale)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
