"""Syntax highlighting of `.nnci` for Pygments: `pygmentize -l nnci`, Sphinx and MkDocs code blocks.

`NnciLexer` is registered by the entry point `pygments.lexers: nnci`; only this module imports
Pygments, and nothing in nnci imports this module, so nnci starts without it. The lexer follows
grammar/nnci.lark rather than a copy of it: numbers, units, names, strings, dates and the ignored
gaps are the grammar's own regular expressions (read from the generated table, nnci/_parse_table.py),
and its words are nnci's declarations (keywords from the grammar, block kinds and methods from
nnci/schema.py, functions, distributions and statistics from the modules that define them), read
when the first text is lexed: importing this module adds Pygments' lexer base to `import nnci`.

Like nnci's own lexer it is contextual, because the language is: a unit only right after a number
(`429 gCO2e/kWh`), a kind only where a block starts (`grid g {` declares, `grid = g` is a field), a
keyword only where the grammar takes it (`within` after an expectation's value, `as` after an import).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Generator, Iterator
from typing import Any, ClassVar

import attrs
from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

__all__ = ["NnciLexer", "Vocabulary", "vocabulary"]

TokenType = Any  # a pygments.token class (Pygments ships no type hints)

# The Pygments class of each kind of word and literal (what a style colours).
KIND = Keyword.Declaration  # grid, device, training, ... where a block starts
DECLARATION = Keyword.Declaration  # figure
KEYWORD = Keyword  # nnci (the header), expect, check, within
NAMESPACE_KEYWORD = Keyword.Namespace  # import ... as
BLOCK_NAME = Name.Class  # the name a block declares
FIGURE_NAME = Name.Variable  # the name a figure declares
FIELD = Name.Attribute  # the name before `=`
ALIAS = Name.Namespace  # an import's alias, and where a reference starts with it
BUILTIN = Name.Builtin  # distributions, statistics and functions nnci knows
FUNCTION = Name.Function  # a call of a function nnci does not know (the checker reports it)
RESERVED = Name.Builtin.Pseudo  # `total` in `total.energy`
METHOD = Name.Constant  # `method = patterson`
ANNOTATION = Name.Decorator  # @source
UNIT = Keyword.Type  # as Pygments' CSS lexer classes `px`, `%`
DATETIME = Literal.Date
DOC_COMMENT = String.Doc  # `## ...`, as Pygments' Rust lexer classes `///`
COMMENT = Comment.Single


@attrs.frozen
class Vocabulary:
    """The words nnci gives a meaning, each read from where nnci declares it."""

    keywords: tuple[str, ...]  # words the grammar makes terminals of their own, beside the kinds
    kinds: tuple[str, ...]
    builtins: tuple[str, ...]  # functions, distributions and statistics
    methods: tuple[str, ...]
    reserved: tuple[str, ...]
    terminals: dict[str, str]  # NAME, NUMBER, UNIT, STRING, DATETIME: the grammar's regular expressions
    ignored: tuple[str, ...]  # the grammar's ignored gaps: spaces, a backslash before a line end


@functools.cache
def vocabulary() -> Vocabulary:
    """Read the declarations (first use only: they import the resolver, which nnci loads anyway)."""
    from nnci import _parse_table as table
    from nnci.resolve import CALLABLE
    from nnci.schema import KINDS, METHODS, RESERVED_NAMES
    from nnci.uncertain import STATISTICS

    keywords = tuple(sorted(word for word, terminal in table.KEYWORDS.items() if terminal != "KIND"))
    terminals = {name: table.TERMINALS[name][1] for name in ("NAME", "NUMBER", "UNIT", "STRING", "DATETIME")}
    builtins = (*CALLABLE, *STATISTICS)
    ignored = tuple(table.TERMINALS[name][1] for name in table.IGNORE)
    return Vocabulary(keywords, KINDS, builtins, METHODS, RESERVED_NAMES, terminals, ignored)


@attrs.frozen
class _Scanner:
    token: re.Pattern[str]  # one token at a position: its group says which
    unit: re.Pattern[str]  # the gap and unit right after a number
    escape: re.Pattern[str]
    field_ahead: re.Pattern[str]  # `  = ` (not `==`): the word before it is a field
    name_ahead: re.Pattern[str]  # ` name`: the kind before it starts a block
    call_ahead: re.Pattern[str]  # ` (`: the word before it is called
    vocabulary: Vocabulary


@functools.cache
def _scanner() -> _Scanner:
    words = vocabulary()
    terms = words.terminals
    ignored = "|".join(f"(?:{gap})" for gap in words.ignored)
    gaps = f"(?:{ignored})*+"  # possessive: `(?:[ ]+)*` alone backtracks exponentially before a mismatch
    alternatives = [
        ("gap", ignored),
        ("newline", r"\r?\n"),
        ("doc", r"##[^\r\n]*"),
        ("comment", r"#[^\r\n]*"),
        ("datetime", terms["DATETIME"]),  # before a number: its priority in the grammar
        ("number", terms["NUMBER"]),
        ("string", terms["STRING"]),
        ("bad_string", r'"[^"\r\n]*"?'),  # unterminated, or an escape nnci does not read
        ("word", terms["NAME"]),
        ("compare", r">=|<=|==|!=|>|<"),
        ("operator", r"[=+\-*/^]"),
        ("at", r"@"),
        ("punctuation", r"[(){},.]"),
        ("other", r"."),
    ]
    token = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in alternatives), re.S)
    unit = re.compile(f"({gaps})({terms['UNIT']})")
    return _Scanner(
        token=token,
        unit=unit,
        escape=re.compile(r'\\(["\\nt]|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})'),
        field_ahead=re.compile(rf"{gaps}=(?!=)"),
        name_ahead=re.compile(rf"(?:{ignored})++{terms['NAME']}"),
        call_ahead=re.compile(rf"{gaps}\("),
        vocabulary=words,
    )


@attrs.define
class _Context:
    """What the lexer knows about where it is: enough to tell a keyword, a kind or a unit from a name."""

    at_start: bool = True  # the next word starts a statement, a field or a map entry
    first: bool = True  # nothing but comments and blank lines so far (the header may come)
    statement: str = ""  # the keyword that began this statement (`expect`, `import`, ...)
    after_equals: bool = False  # an `=` at this statement's outer level was seen (`within` may follow)
    braces: int = 0
    parens: int = 0
    annotation_parens: int | None = None  # inside `@source(...)`: the depth its `(` opened at
    declares: str = ""  # the next name is declared: "block" or "figure"
    field: str = ""  # the field this statement gives
    previous: str = ""  # the last significant token: "value", "operator", ".", "=", "as", "(", ...
    aliases: set[str] = attrs.Factory(set)


class NnciLexer(Lexer):
    """nnci scenario files (`.nnci`): blocks, fields with units, imports, expectations and checks."""

    name = "nnci"
    aliases: ClassVar[list[str]] = ["nnci"]
    filenames: ClassVar[list[str]] = ["*.nnci"]
    mimetypes: ClassVar[list[str]] = ["text/x-nnci"]

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, TokenType, str]]:  # type: ignore[override]
        """(offset, token class, text) for every piece of the text, in order, covering all of it."""
        scanner = _scanner()
        context = _Context()
        pos, size = 0, len(text)
        while pos < size:
            match = scanner.token.match(text, pos)
            assert match is not None  # `other` matches any character
            kind, value, end = match.lastgroup or "other", match.group(), match.end()
            if kind == "gap":
                yield pos, Whitespace, value
            elif kind == "newline":
                yield pos, Whitespace, value
                self._line_end(context)
            elif kind in ("doc", "comment"):
                yield pos, DOC_COMMENT if kind == "doc" else COMMENT, value
            elif kind == "datetime":
                yield pos, DATETIME, value
                self._value(context)
            elif kind == "number":
                yield pos, _number_class(value), value
                self._value(context)
                end = yield from self._unit(text, end, scanner, context)
            elif kind == "string":
                yield from _string(pos, value, scanner.escape)
                self._value(context)
            elif kind == "bad_string":
                yield pos, Error, value
                self._value(context)
            elif kind == "word":
                yield pos, self._word(text, value, end, scanner, context), value
            elif kind in ("compare", "operator"):
                yield pos, Operator, value
                if value == "=" and context.parens == 0:
                    context.after_equals = True
                context.previous = "=" if value == "=" else "operator"
                context.at_start = False
            elif kind == "at":
                yield pos, ANNOTATION, value
                context.previous = "@"
                context.at_start = False
            elif kind == "punctuation":
                yield pos, Punctuation, value
                self._punctuation(value, context)
            else:
                yield pos, Error, value
            context.first = context.first and kind in ("gap", "newline", "doc", "comment")
            pos = end

    @staticmethod
    def _line_end(context: _Context) -> None:
        if context.parens:  # a line end inside `( )` is a syntax error: carry on as after it
            context.parens = 0
            context.annotation_parens = None
        context.at_start = True
        context.statement = context.field = context.declares = ""
        context.after_equals = False
        context.previous = "newline"

    @staticmethod
    def _value(context: _Context) -> None:
        context.previous = "value"
        context.at_start = False

    def _unit(
        self, text: str, end: int, scanner: _Scanner, context: _Context
    ) -> Generator[tuple[int, TokenType, str], None, int]:
        """The unit right after a number, as the grammar lexes it there; returns where lexing goes on."""
        match = scanner.unit.match(text, end)
        if match is None:
            return end
        gap, unit = match.group(1), match.group(2)
        if unit == "within" and self._within(context):  # a keyword wins where the grammar takes it
            return end
        if gap:
            yield end, Whitespace, gap
        yield match.start(2), UNIT, unit
        return match.end()

    @staticmethod
    def _within(context: _Context) -> bool:
        return context.statement == "expect" and context.after_equals and context.previous == "value"

    def _word(self, text: str, word: str, end: int, scanner: _Scanner, context: _Context) -> TokenType:
        words = scanner.vocabulary
        previous, at_start = context.previous, context.at_start
        context.at_start = False
        context.previous = "value"
        if previous == "@":
            context.previous = "annotation"
            return ANNOTATION
        if context.declares:
            declared, context.declares = context.declares, ""
            return BLOCK_NAME if declared == "block" else FIGURE_NAME
        if previous == "as" and context.statement == "import":
            context.aliases.add(word)
            return ALIAS
        field = scanner.field_ahead.match(text, end) is not None
        if at_start and not field and context.annotation_parens is None:
            if word == "nnci" and context.first:
                context.statement = word
                return KEYWORD
            if word in words.kinds and context.braces == 0 and scanner.name_ahead.match(text, end):
                context.declares = "block"
                context.previous = "kind"
                return KIND
            statement = word in words.keywords and word not in ("as", "within", "nnci")
            if statement and (context.braces == 0 or word == "check"):  # only `check` is also a block's member
                context.statement = word
                context.previous = "keyword"
                if word == "figure":
                    context.declares = "figure"
                    return DECLARATION
                return NAMESPACE_KEYWORD if word == "import" else KEYWORD
        if word == "as" and context.statement == "import" and previous == "value":
            context.previous = "as"
            return NAMESPACE_KEYWORD
        if word == "within" and self._within(context):
            context.previous = "within"
            return KEYWORD
        if at_start and field:
            context.field = word
            return FIELD
        if previous == ".":
            return Name
        if scanner.call_ahead.match(text, end):
            return BUILTIN if word in words.builtins else FUNCTION
        dotted = text.startswith(".", end)
        if dotted and word in words.reserved:
            return RESERVED
        if dotted and word in context.aliases:
            return ALIAS
        if previous == "=" and context.field == "method" and word in words.methods:
            return METHOD
        return Name

    @staticmethod
    def _punctuation(value: str, context: _Context) -> None:
        if value == "(":
            if context.previous == "annotation":
                context.annotation_parens = context.parens
            context.parens += 1
            context.previous = "("
        elif value == ")":
            context.parens = max(0, context.parens - 1)
            context.previous = "value"
            if context.annotation_parens == context.parens:  # `@source(...)` closed: a block may follow
                context.annotation_parens = None
                context.at_start = True
                return
        elif value == "{":
            context.braces += 1
            context.previous = "{"
            context.at_start = True  # a map's first entry, or a one-line block's field
            return
        elif value == "}":
            context.braces = max(0, context.braces - 1)
            context.previous = "value"
        elif value == ",":
            context.previous = ","
            context.at_start = context.braces > 0 and context.parens == 0  # the next map entry
            return
        else:
            context.previous = "."
        context.at_start = False


def _number_class(number: str) -> Any:
    return Number.Float if any(c in number for c in ".eE") else Number.Integer


def _string(start: int, value: str, escape: re.Pattern[str]) -> Iterator[tuple[int, TokenType, str]]:
    """A string in pieces: its text, and its escapes (`\\"`, `\\n`, `\\u00b5`) apart."""
    pos = 0
    for match in escape.finditer(value):
        if match.start() > pos:
            yield start + pos, String.Double, value[pos : match.start()]
        yield start + match.start(), String.Escape, match.group()
        pos = match.end()
    yield start + pos, String.Double, value[pos:]
