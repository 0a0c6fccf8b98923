"""The Pygments lexer (nnci/highlight.py) against the grammar: every file nnci parses is lexed with no
error token, covering its text exactly, and every token lark's own lexer finds in it (with all tokens
kept) is a token of the highlighting class that terminal calls for, at the same place."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import lark
import pytest
import strategies
from hypothesis import given, settings
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Error, Keyword, Literal, Name, Number, Operator, Punctuation, String

from nnci import highlight
from nnci.highlight import NnciLexer
from nnci.parse import parse
from nnci.resources import grammar_path

REPO = Path(__file__).resolve().parent.parent


def _parses(path: Path) -> bool:
    return parse(path.read_text(encoding="utf-8"), str(path)).tree is not None


SOURCES = sorted([*(REPO / "models").glob("*.nnci"), *(REPO / "nnci" / "std").glob("*.nnci")])
GOLDEN = sorted(p for p in (REPO / "tests" / "cases").rglob("*.nnci") if _parses(p))
FILES = [*SOURCES, *GOLDEN]


def tokens(text: str) -> list[tuple[int, object, str]]:
    return list(NnciLexer().get_tokens_unprocessed(text))


def _shown(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_every_source_and_enough_golden_cases_are_lexed() -> None:
    assert len(SOURCES) >= 25 and len(GOLDEN) >= 40  # the globs found the files (models, std, cases that parse)


@pytest.mark.parametrize("path", FILES, ids=_shown)
def test_a_file_that_parses_lexes_without_error_tokens_and_covers_its_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lexed = tokens(text)
    assert "".join(value for _, _, value in lexed) == text
    offset = 0
    for start, _, value in lexed:  # in order, contiguous, no empty pieces
        assert start == offset and value
        offset += len(value)
    errors = [(start, value) for start, token, value in lexed if token in Error]
    assert errors == []


@functools.cache
def _lark_keeping_all_tokens() -> lark.Lark:
    return lark.Lark.open(str(grammar_path()), parser="lalr", strict=True, keep_all_tokens=True)


# The class each terminal of the grammar is highlighted as (a token of it, or of a subclass).
EXPECTED = {
    "KIND": Keyword.Declaration,
    "FIGURE": Keyword.Declaration,
    "IMPORT": Keyword.Namespace,
    "AS": Keyword.Namespace,
    "NNCI": Keyword,
    "EXPECT": Keyword,
    "CHECK": Keyword,
    "WITHIN": Keyword,
    "UNIT": Keyword.Type,
    "NUMBER": Number,
    "STRING": String.Double,
    "DATETIME": Literal.Date,
    "NAME": Name,
    "AT": Name.Decorator,
    **dict.fromkeys(("COMPARE", "EQUAL", "PLUS", "MINUS", "STAR", "SLASH", "CIRCUMFLEX"), Operator),
    **dict.fromkeys(("LPAR", "RPAR", "LBRACE", "RBRACE", "CLOSE", "COMMA", "DOT"), Punctuation),
}
EXACT = {"KIND", "UNIT", "NNCI", "EXPECT", "CHECK", "WITHIN", "FIGURE", "IMPORT", "AS"}  # not a subclass


@pytest.mark.parametrize("path", FILES, ids=_shown)
def test_each_token_lark_lexes_has_the_class_of_its_terminal(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = _lark_keeping_all_tokens().parse(text if text.endswith("\n") else text + "\n")
    lexed = {start: (token, value) for start, token, value in tokens(text)}
    ends = {start + len(value) for start, (_, value) in lexed.items()}
    seen = 0
    for grammar_token in tree.scan_values(lambda v: isinstance(v, lark.Token)):
        if grammar_token.type == "_NL":
            continue
        start, end = grammar_token.start_pos, grammar_token.end_pos
        assert start in lexed and end in ends, (grammar_token.type, str(grammar_token), start)
        token, value = lexed[start]
        expected = EXPECTED[grammar_token.type]
        where = f"{_shown(path)}:{grammar_token.line}:{grammar_token.column} {grammar_token.type} `{grammar_token}`"
        if grammar_token.type == "NAME":
            assert token in Name, where  # and not a keyword, a kind or a unit
        else:
            assert (token is expected) if grammar_token.type in EXACT else (token in expected), (where, token)
        if grammar_token.type != "STRING":
            assert value == str(grammar_token), where
        seen += 1
    assert seen > 0


SNIPPET = """\
nnci 0.1
# a comment
## a doc comment
import "std/hardware" as hw

@source("Patterson et al., \\"Table 4\\"") training gpt3 = base {
  fleet = { hw.v100 = 10_000, server = 625 }
  grid = g
  power = uniform(1.1 kW, 1.3 kW)
  intensity = 429 gCO2e/kWh
  area = 3.5e-2 kg/m^2
  share = 50 %
  start = 2024-03-04T09:00Z
  method = patterson
  check power >= 1 W, "power"
}
figure ratio = gpt3.total / total.energy
expect gpt3.energy = 1_287 MWh within 5 %
expect p95(gpt3.operational) <= 600 tCO2e
"""


def _classes(text: str) -> list[tuple[object, str]]:
    return [(token, value) for _, token, value in tokens(text) if value.strip()]


def test_the_snippet_parses() -> None:
    assert parse(SNIPPET, "snippet.nnci").diagnostics == ()


@pytest.mark.parametrize(
    ("word", "occurrence", "expected"),
    [
        ("nnci", 0, Keyword),
        ("# a comment", 0, highlight.COMMENT),
        ("## a doc comment", 0, String.Doc),
        ("import", 0, Keyword.Namespace),
        ('"std/hardware"', 0, String.Double),
        ("as", 0, Keyword.Namespace),
        ("hw", 0, Name.Namespace),  # the alias where it is bound
        ("hw", 1, Name.Namespace),  # and where a reference starts with it
        ("@", 0, Name.Decorator),
        ("source", 0, Name.Decorator),
        ('\\"', 0, String.Escape),
        ("training", 0, Keyword.Declaration),  # a kind, after an annotation on the same line
        ("gpt3", 0, Name.Class),  # the name the block declares
        ("base", 0, Name),
        ("fleet", 0, Name.Attribute),
        ("10_000", 0, Number.Integer),
        ("server", 0, Name.Attribute),  # a map entry's key
        ("grid", 0, Name.Attribute),  # a kind's word as a field is a field
        ("uniform", 0, Name.Builtin),  # a distribution
        ("1.1", 0, Number.Float),
        ("kW", 0, Keyword.Type),
        ("gCO2e/kWh", 0, Keyword.Type),
        ("3.5e-2", 0, Number.Float),
        ("kg/m^2", 0, Keyword.Type),
        ("%", 0, Keyword.Type),
        ("2024-03-04T09:00Z", 0, Literal.Date),
        ("patterson", 0, Name.Constant),  # a method
        ("check", 0, Keyword),
        (">=", 0, Operator),
        ("W", 0, Keyword.Type),
        ('"power"', 0, String.Double),
        ("figure", 0, Keyword.Declaration),
        ("ratio", 0, Name.Variable),
        ("total", 0, Name),  # `gpt3.total`: a field of a block
        ("total", 1, Name.Builtin.Pseudo),  # `total.energy`: the sum over jobs
        ("expect", 0, Keyword),
        ("MWh", 0, Keyword.Type),
        ("within", 0, Keyword),
        ("p95", 0, Name.Builtin),  # a statistic
        ("<=", 0, Operator),
        ("tCO2e", 0, Keyword.Type),
    ],
)
def test_snippet_tokens(word: str, occurrence: int, expected: object) -> None:
    found = [token for token, value in _classes(SNIPPET) if value == word]
    assert len(found) > occurrence, word
    assert found[occurrence] is expected, (word, found[occurrence])


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("x = 'a'\n", "'"),  # strings are in double quotes
        ('label = "no end\n', '"no end'),
        ('label = "\\q"\n', '"\\q"'),  # an escape nnci does not read
        ("power = 300 W ± 5 W\n", "±"),
    ],
)
def test_what_nnci_cannot_lex_is_an_error_token(text: str, bad: str) -> None:
    errors = [value for _, token, value in tokens(text) if token in Error]
    assert errors and errors[0] == bad
    assert parse(text, "bad.nnci").diagnostics[0].code == "E100"  # and nnci reports it


def test_a_unit_is_only_lexed_right_after_a_number() -> None:
    # `W / h` is 300 W divided by the block `h` to the grammar (the unit `W/h` has no spaces)
    classes = _classes("device d {\n  power = 300 W / h\n}\n")
    assert (Keyword.Type, "W") in classes and (Name, "h") in classes
    # a backslash continues the line between a number and its unit, as the grammar allows
    assert (Keyword.Type, "kWh") in _classes("x = 3 \\\n  kWh\n")


def test_keywords_and_kinds_are_names_where_the_grammar_takes_a_name() -> None:
    text = 'training t {\n  device = d\n  label = "x"\n}\nexpect t.within = 3 within 1 %\n'
    classes = _classes(text)
    assert classes[0] == (Keyword.Declaration, "training")
    assert (Name.Attribute, "device") in classes
    assert [t for t, v in classes if v == "within"] == [Name, Keyword]


@given(strategies.programs())
@settings(max_examples=50, deadline=None)
def test_generated_programs_lex_without_error_tokens(program: tuple[str, dict[str, object]]) -> None:
    text, params = program
    lexed = tokens(text)
    assert "".join(v for _, _, v in lexed) == text
    assert not [v for _, t, v in lexed if t in Error]
    assert (Keyword.Declaration, params["kind"]) in _classes(text)


@given(strategies.arbitrary_text())
@settings(max_examples=200, deadline=None)
def test_any_text_is_covered_exactly(text: str) -> None:
    assert "".join(v for _, _, v in tokens(text)) == text


def test_the_entry_point_registers_the_lexer() -> None:
    assert isinstance(get_lexer_by_name("nnci"), NnciLexer)
    assert isinstance(get_lexer_for_filename("gpt3.nnci"), NnciLexer)


def test_pygmentize_highlights_a_model(tmp_path: Path) -> None:
    """`pygmentize -l nnci` as a user runs it: the installed script, finding the lexer by its entry point."""
    pygmentize = Path(sys.executable).parent / "pygmentize"
    command = [str(pygmentize)] if pygmentize.exists() else [sys.executable, "-m", "pygments"]
    demo = REPO / "models" / "nnci-demo.nnci"
    out = subprocess.run([*command, "-l", "nnci", "-f", "raw", str(demo)], capture_output=True, text=True, check=True)
    assert "Token.Keyword.Declaration\t'grid'" in out.stdout
    assert "Token.Keyword.Type\t'gCO2e/kWh'" in out.stdout
    assert "Token.Error" not in out.stdout
    html = subprocess.run([*command, "-l", "nnci", "-f", "html", str(demo)], capture_output=True, text=True, check=True)
    assert '<span class="kd">grid</span>' in html.stdout  # kd: Keyword.Declaration in Pygments' HTML


def test_nnci_starts_without_pygments() -> None:
    """Running a model imports neither Pygments nor the lexer; importing the lexer costs only Pygments."""
    script = (
        "import sys\n"
        "from nnci.cli import main\n"
        f"main(['run', {str(REPO / 'models' / 'nnci-demo.nnci')!r}])\n"
        "assert 'pygments' not in sys.modules and 'nnci.highlight' not in sys.modules, 'imported'\n"
        "import nnci.highlight\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    lexer_only = "import sys, nnci.highlight\nassert 'lark' not in sys.modules and 'numpy' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", lexer_only], check=True, capture_output=True)


def _fenced_blocks(markdown: str) -> list[str]:
    """The text of each fenced code block, by pairing fence lines (a closing fence opens nothing)."""
    blocks, current = [], None
    for line in markdown.split("\n"):
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_readme_blocks_that_are_nnci_lex_without_error_tokens() -> None:
    """The README's fences stay plain (GitHub does not know nnci), but what they show is what the lexer reads."""
    blocks = _fenced_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    sources = [b for b in blocks if re.search(r"^(\w+ \w+ \{|expect |import )", b, re.M)]
    sources = [b for b in sources if parse(b, "README.md").tree is not None]
    assert len(sources) >= 3
    for block in sources:
        assert not [v for _, t, v in tokens(block) if t in Error], block


def test_long_runs_of_spaces_lex_in_linear_time() -> None:
    """Spaces before a comment after a name, a number or a kind (where the lexer looks ahead for `=`, a
    unit or a name): a nested repetition of the grammar's gaps once backtracked exponentially, and a
    README line with 30 spaces never finished. Lexed in a subprocess, so a regression fails, not hangs."""
    lines = [f"x = dc{' ' * 3000}# a", f"x = 1{' ' * 3000}# a", f"grid{' ' * 3000}# a", "x = f" + " \\\n" * 500 + "# a"]
    script = (
        "import sys\nfrom nnci.highlight import NnciLexer\n"
        "text = sys.stdin.read()\n"
        "assert ''.join(v for _, _, v in NnciLexer().get_tokens_unprocessed(text)) == text\n"
    )
    subprocess.run([sys.executable, "-c", script], input="\n".join(lines) + "\n", text=True, check=True, timeout=60)
