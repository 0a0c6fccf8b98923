"""Text → lark tree. Syntax errors become diagnostics with friendly wording.

The parser is LALR with strict=True, built once per process and cached on disk by lark
(keyed by the grammar's hash), so a cold run does not pay for building the tables.
"""

from __future__ import annotations

import functools

import attrs
import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from nnci.ast import Comment
from nnci.diagnostics import Diagnostic, Span
from nnci.resources import grammar_path

# Friendly names for terminals in "expected ..." messages.
TERMINALS = {
    "RBRACE": "`}`", "CLOSE": "`}`", "LBRACE": "`{`", "EQUAL": "`=`", "_NL": "end of line", "NAME": "a name",
    "NUMBER": "a number", "STRING": "a string", "UNIT": "a unit", "COMMA": "`,`",
    "LPAR": "`(`", "RPAR": "`)`", "KIND": "a block kind (grid, device, ...)", "DOT": "`.`",
    "COMPARE": "a comparison (>=, <, ...)", "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`",
    "SLASH": "`/`", "CIRCUMFLEX": "`^`", "AT": "`@`", "$END": "end of file",
    "IMPORT": "`import`", "EXPECT": "`expect`", "CHECK": "`check`", "WITHIN": "`within`",
    "AS": "`as`", "NNCI": "`nnci`",
}  # fmt: skip
VALUE_STARTS = {"NUMBER", "NAME", "STRING", "LPAR", "LBRACE", "MINUS"}


@attrs.frozen
class Parsed:
    tree: lark.Tree | None
    comments: tuple[Comment, ...]
    diagnostics: tuple[Diagnostic, ...]


class _CommentSink:
    """Collects comments from newline tokens while lark lexes (they never reach the tree)."""

    def __init__(self) -> None:
        self.comments: list[Comment] = []

    def __call__(self, token: lark.Token) -> lark.Token:
        line, column = token.line or 1, token.column or 1
        for offset, raw in enumerate(str(token).split("\n")):
            stripped = raw.strip()
            if stripped.startswith("#"):
                col = column + raw.index("#") if offset == 0 else raw.index("#") + 1
                self.comments.append(Comment(stripped, line + offset, col))
        return token


_SINK = _CommentSink()


@functools.cache
def parser() -> lark.Lark:
    return lark.Lark.open(
        str(grammar_path()),
        parser="lalr",
        strict=True,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
        lexer_callbacks={"_NL": _SINK},
    )


def parse(text: str, file: str) -> Parsed:
    """Parse one file. Never raises for bad input: problems come back as diagnostics."""
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    if not text.endswith("\n"):
        text += "\n"
    _SINK.comments = []
    try:
        tree = parser().parse(text)
    except UnexpectedInput as error:
        return Parsed(None, (), (syntax_diagnostic(error, text, file),))
    return Parsed(tree, tuple(_SINK.comments), ())


def syntax_diagnostic(error: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        span = Span(file, line, column, line, column + 1)
        hint = "strings are written in double quotes" if char in "'`" else None
        if char == '"':
            hint = 'a string ends on its line; its escapes are \\" \\\\ \\n \\t \\uXXXX \\xXX'
        return Diagnostic("E100", f"unexpected character `{char}`", span, help=hint)
    if isinstance(error, UnexpectedEOF):
        return _end_of_file(file, text)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = set(error.expected)
    if token.type == "$END":
        return _end_of_file(file, text, expected)
    unclosed = _block_start_inside_block(text, file, line)
    if unclosed is not None:
        return unclosed
    width = max(1, len(str(token).split("\n")[0]))
    span = Span(file, line, column, line, column + width)
    shown = "end of line" if token.type == "_NL" else f"`{str(token).strip()}`"
    message, hint = f"unexpected {shown}", None
    before = _text_before(text, line, column)
    if "EQUAL" in expected and token.type in VALUE_STARTS | {"UNIT"}:
        message, hint = f"missing `=` before {shown}", "a field is written `name = value`"
    elif token.type == "_NL" and "LBRACE" in expected and "NAME" not in expected:
        message, hint = "missing `{`", "a block is written `kind name { ... }`, with `{` on its first line"
    elif token.type == "_NL" and expected == {"NUMBER"} and before.strip() == "nnci":
        message, hint = "the header needs its version", "write `nnci 0.1` on the first line"
    elif token.type == "_NL" and expected & VALUE_STARTS:
        operator = before[-1:] if before[-1:] in "+-*/^,(" else "="
        message = f"missing value after `{operator}`"
        hint = "write a value after `=`, e.g. `power = 300 W`" if operator == "=" else (
            "an operator needs a value on each side; a unit is one word without spaces (`gCO2e/kWh`)")  # fmt: skip
    elif token.type == "EQUAL" and "COMMA" in expected:
        word = before.split()[-1] if before.split() else ""
        start = column - len(before) + len(before.rstrip()) - len(word)
        span = Span(file, line, start, line, start + len(word))
        message, hint = f"missing `,` before `{word}`", "separate map entries with `,` or a new line"
    elif token.type in ("CLOSE", "RBRACE") and "_NL" in expected:
        message, hint = f"unexpected {shown}", "each field, and the closing `}` of a block, go on a line of their own"
    elif token.type in ("NAME", "UNIT") and "_NL" in expected and "SLASH" in expected:
        hint = "units touch their number and have no spaces (`300 W`, `429 gCO2e/kWh`); put each field on its own line"
    elif token.type in ("NAME", "UNIT") and expected & {"RBRACE", "CLOSE"} and "COMMA" in expected:
        message, hint = f"missing `,` before {shown}", "separate map entries with `,` or a new line"
    if hint is None:
        hint = "expected " + _expected_text(expected)
    return Diagnostic("E100", message, span, help=hint)


STATEMENT_WORDS = ("grid", "source", "device", "fleet", "datacenter", "training", "inference", "expect", "import")


def _block_start_inside_block(text: str, file: str, line: int) -> Diagnostic | None:
    """A new block (or expect/import) where a field was expected: the block above lacks its `}`."""
    lines = text.split("\n")
    source = lines[line - 1] if line <= len(lines) else ""
    words = source.split()
    if not words or words[0] not in STATEMENT_WORDS or len(words) < 2:
        return None
    opener = _unclosed_brace("\n".join(lines[: line - 1]))
    if opener is None:
        return None
    column = len(source) - len(source.lstrip()) + 1
    span = Span(file, line, column, line, column + len(words[0]))
    notes = (f"the `{{` at line {opener} is never closed",)
    return Diagnostic("E101", f"missing `}}` before this `{words[0]}`", span, notes=notes,
                      help="close the block above with `}`")  # fmt: skip


def _text_before(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line - 1][: column - 1].rstrip() if line <= len(lines) else ""


def _end_of_file(file: str, text: str, expected: set[str] | None = None) -> Diagnostic:
    lines = text.rstrip("\n").split("\n")
    last = len(lines)
    span = Span(file, last, len(lines[-1]) + 1, last, len(lines[-1]) + 2)
    braces = {"RBRACE", "CLOSE"}
    if expected is None or expected & braces or "RPAR" in expected:
        closer = "`)`" if expected and "RPAR" in expected and not expected & braces else "`}`"
        opener = _unclosed_brace(text) if closer == "`}`" else None
        notes = (f"the `{{` at line {opener} is never closed",) if opener else ()
        return Diagnostic("E101", f"missing {closer} at end of file", span, notes=notes,
                          help=f"close the block with {closer}")  # fmt: skip
    return Diagnostic("E100", "unexpected end of file", span, help="expected " + _expected_text(expected))


def _unclosed_brace(text: str) -> int | None:
    stack: list[int] = []
    in_string = False
    for number, line in enumerate(text.split("\n"), 1):
        for char in line:
            if char == '"':
                in_string = not in_string
            elif in_string:
                continue
            elif char == "#":
                break
            elif char == "{":
                stack.append(number)
            elif char == "}" and stack:
                stack.pop()
    return stack[-1] if stack else None  # the innermost: a map left open swallows what follows


def _expected_text(expected: set[str]) -> str:
    names = sorted({TERMINALS.get(t, f"`{t.lower()}`") for t in expected if not t.startswith("__")})
    if len(names) > 6:
        names = [*names[:6], "..."]
    return " or ".join(names) if names else "something else"
