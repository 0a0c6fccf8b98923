"""Write a scenario as a program: build the syntax tree, print it with the formatter of `nnci fmt`.

Importers (and tools/build_std.py) describe blocks, fields and comments; `Scenario` builds the
`nnci.ast` nodes and `text()` prints them with `nnci.formatting.format_module`, so generated
files have exactly the layout `nnci fmt` gives and are never templates of text. The tree has no
source: the printer gives each node the position it will have in the layout (one line per
field, one per map entry when entries carry comments), which is how the formatter places
comments (`format_module(module, None)`).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence

import attrs

from nnci import ast
from nnci.diagnostics import Span
from nnci.formatting import format_module

GENERATED = "<generated>"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset(
    {"nnci", "import", "as", "expect", "check", "within", "grid", "source", "device", "fleet", "datacenter",
     "training", "inference", "total"}
)  # fmt: skip


@attrs.frozen
class Entry:
    """One `key = value` of a map, with an optional trailing comment."""

    key: str
    value: Value
    comment: str | None = None


@attrs.frozen
class Num:
    value: float
    unit: str | None = None
    text: str | None = None  # as written; by default the shortest form that reads back exactly


@attrs.frozen
class Ref:
    dotted: str


@attrs.frozen
class Str:
    value: str


@attrs.frozen
class Map:
    entries: tuple[Entry, ...]


@attrs.frozen
class Op:
    op: str
    left: Value
    right: Value


@attrs.frozen
class Call:
    """A function of values: a distribution (`uniform(1.1, 1.2)`)."""

    func: str
    args: tuple[Value, ...]


Value = Num | Ref | Str | Map | Op | Call


@attrs.frozen
class Item:
    """A field (`name = value  # comment`) or a check line of a block."""

    name: str
    value: Value
    comment: str | None = None
    check: tuple[str, Value, str] | None = None  # (operator, right side, message): `check name op right, message`


def number_text(value: float) -> str:
    """A number as nnci writes it: integers grouped by `_` from 10,000, others the shortest exact form."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if value == int(value) and abs(value) < 1e15:
        digits = str(abs(int(value)))
        return f"{abs(int(value)):_}" if len(digits) > 4 else digits
    text = repr(abs(float(value)))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    whole, _, fraction = text.partition(".")
    return (f"{int(whole):_}" if len(whole) > 4 else whole) + "." + fraction


def identifier(text: str, taken: set[str] | None = None) -> str:
    """A block or column name made from free text (`power/gpu-training` → `power_gpu_training`),
    made unique against `taken` (which it joins)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "x"
    if name[0].isdigit():
        name = "_" + name
    if name in KEYWORDS:
        name += "_"
    if taken is not None:
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
    return name


def _wrapped(lines: Sequence[str | tuple[str, bool]], lead: str, width: int = 100) -> list[str]:
    """Comment lines no wider than the formatter's width (an empty line stays a bare `#`); a line
    given as (text, False) stays one line."""
    out = []
    for line in lines:
        if isinstance(line, tuple):
            line, wrap = line
            if not wrap:
                out.append((lead + comment_text(line)).rstrip())
                continue
        text = comment_text(line)
        parts = textwrap.wrap(text, width - len(lead), break_long_words=False, break_on_hyphens=False) or [""]
        out += [(lead + part).rstrip() for part in parts]
    return out


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def comment_text(text: str) -> str:
    """A comment body on one line: control characters and newlines become spaces."""
    return " ".join(_printable(text).split())


class Scenario:
    """Statements in the order they are added; comments where they are said to be."""

    def __init__(self, version: str = "0.1") -> None:
        self.version = version
        self.line = 1  # the header
        self.comments: list[ast.Comment] = []
        self.imports: list[ast.Import] = []
        self.blocks: list[ast.Block] = []
        self.expects: list[ast.Expect] = []
        self.pending_doc: list[tuple[str, bool]] = []  # (text, whether to wrap it)

    def _next(self) -> int:
        self.line += 1
        return self.line

    def _span(self, line: int, end: int | None = None) -> Span:
        return Span(GENERATED, line, 1, end or line, 2)

    def _trailing(self, line: int, text: str | None) -> None:
        if text:
            self.comments.append(ast.Comment("# " + comment_text(text), line, 2))

    def comment(self, *lines: str, blank_after: bool = True, wrap: bool = True) -> None:
        """Comment lines on their own (`# ...`), a blank line after them unless told otherwise;
        `wrap=False` keeps each line as written (its spacing too)."""
        self._next()  # a blank line before
        texts = _wrapped(lines, "# ") if wrap else [("# " + _printable(t)).rstrip() for t in lines]
        for text in texts:
            self.comments.append(ast.Comment(text, self._next(), 1))
        if blank_after:
            self._next()

    def doc(self, *lines: str, wrap: bool = True) -> None:
        """`##` lines that document the next block (`wrap=False`: each stays one line, however long)."""
        self.pending_doc += [(line, wrap) for line in lines]

    def import_(self, path: str, alias: str, comment: str | None = None) -> None:
        line = self._next()
        self.imports.append(ast.Import(path, alias, self._span(line)))
        self._trailing(line, comment)

    def block(
        self,
        kind: str,
        name: str,
        items: Sequence[Item],
        *,
        base: str | None = None,
        sources: Sequence[str] = (),
        comment: str | None = None,
    ) -> None:
        self._next()  # the blank line between blocks
        doc = self.pending_doc
        self.pending_doc = []
        wrapped = _wrapped(doc, "## ")
        for text in wrapped:
            self.comments.append(ast.Comment(text, self._next(), 1))
        annotations = []
        for source in sources:
            line = self._next()
            annotations.append(ast.Annotation("source", (self._string(source, line),), self._span(line)))
        head = self._next()
        self._trailing(head, comment)
        fields, checks = [], []
        for item in items:
            if item.check is not None:
                line = self._next()
                op, right, message = item.check
                condition = ast.Comparison(op, self._ref(item.name, line), self._value(right, line), self._span(line))
                checks.append(ast.Check(condition, message, self._span(line)))
                self._trailing(line, item.comment)
                continue
            line = self._next()
            value = self._value(item.value, line)
            fields.append(ast.Field(item.name, value, self._span(line, self.line)))
            self._trailing(line, item.comment)
        close = self._next()
        base_ref = ast.Ref(tuple(base.split(".")), self._span(head)) if base else None
        self.blocks.append(
            ast.Block(
                kind,
                name,
                base_ref,
                tuple(fields),
                tuple(checks),
                tuple(annotations),
                "\n".join(t[2:].strip() for t in wrapped) or None,
                self._span(annotations[0].span.line if annotations else head, close),
                self._span(head),
            )
        )

    def expect(self, target: str, value: Value, tolerance: Value | None = None, comment: str | None = None) -> None:
        if not self.expects:
            self._next()
        line = self._next()
        expr = self._value(value, line)
        within = self._value(tolerance, line) if tolerance is not None else None
        self.expects.append(ast.Expect(self._ref(target, line), expr, within, self._span(line)))
        self._trailing(line, comment)

    def module(self) -> ast.Module:
        return ast.Module(GENERATED, self.version, tuple(self.imports), tuple(self.blocks), tuple(self.expects),
                          tuple(self.comments), 1)  # fmt: skip

    def text(self) -> str:
        return format_module(self.module(), None)

    # -- values

    def _ref(self, dotted: str, line: int) -> ast.Ref:
        return ast.Ref(tuple(dotted.split(".")), self._span(line))

    def _string(self, value: str, line: int) -> ast.String:
        return ast.String(value, self._span(line))

    def _value(self, value: Value, line: int) -> ast.Expr:
        span = self._span(line)
        if isinstance(value, Num):
            text = value.text or number_text(value.value)
            number = ast.Number(abs(value.value), text, value.unit, span)
            return ast.Neg(number, span) if value.value < 0 else number
        if isinstance(value, Ref):
            return self._ref(value.dotted, line)
        if isinstance(value, Str):
            return self._string(value.value, line)
        if isinstance(value, Op):
            return ast.BinOp(value.op, self._value(value.left, line), self._value(value.right, line), span)
        if isinstance(value, Call):
            return ast.Call(value.func, tuple(self._value(a, line) for a in value.args), span)
        # a map: on its own lines when its entries carry comments
        multiline = any(e.comment for e in value.entries)
        entries = []
        for entry in value.entries:
            at = self._next() if multiline else line
            entries.append(ast.MapEntry(entry.key, self._value(entry.value, at), self._span(at)))
            self._trailing(at, entry.comment)
        end = self._next() if multiline else line
        return ast.MapExpr(tuple(entries), self._span(line, end))
