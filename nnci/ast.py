"""The abstract syntax tree: frozen attrs classes, each with a span that takes no part in equality.

Two trees that differ only in layout compare equal, which is what the formatter's round trip and
the tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from nnci.diagnostics import Span


@attrs.frozen
class Number:
    """A number with an optional unit, as written: `300 W`, `10_000`, `62 %`."""

    value: float
    text: str
    unit: str | None
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Ref:
    """A dotted name: `pue`, `gpt3.energy`, `hw.v100_sxm2.power`."""

    parts: tuple[str, ...]
    span: Span = attrs.field(eq=False, repr=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@attrs.frozen
class String:
    value: str
    span: Span = attrs.field(eq=False, repr=False)


_WRITTEN = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def string_literal(value: str) -> str:
    """`value` as a string literal the grammar reads back to it (its escapes: \\" \\\\ \\n \\t \\xXX)."""
    return (
        '"'
        + "".join(_WRITTEN.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c) for c in value)
        + '"'
    )


@attrs.frozen
class DateTime:
    """An ISO 8601 date and time as written: `2024-03-04T09:00Z` (read into an instant by `resolve`)."""

    text: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class MapEntry:
    key: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class MapExpr:
    entries: tuple[MapEntry, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Neg:
    operand: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)


Expr = Number | Ref | String | DateTime | MapExpr | BinOp | Neg | Call


@attrs.frozen
class Comparison:
    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Field:
    name: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Check:
    condition: Comparison
    message: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Annotation:
    name: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Block:
    kind: str
    name: str
    base: Ref | None
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]
    annotations: tuple[Annotation, ...]
    doc: str | None
    span: Span = attrs.field(eq=False, repr=False)
    name_span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Import:
    path: str
    alias: str
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Expect:
    target: Expr  # a quantity (`gpt3.energy`) or any expression of quantities (`serve.total / train.total`)
    value: Expr
    tolerance: Expr | None
    span: Span = attrs.field(eq=False, repr=False)
    statistic: str | None = None  # `expect p95(x) <= v`: a statistic of the figure's samples, bounded by `op`
    op: str = "="


@attrs.frozen
class Figure:
    """`figure serving_vs_training = serve.total / train.total`: a named figure derived from others."""

    name: str
    value: Expr
    span: Span = attrs.field(eq=False, repr=False)


@attrs.frozen
class Comment:
    text: str
    line: int
    column: int


@attrs.frozen
class Module:
    file: str
    version: str | None
    imports: tuple[Import, ...]
    blocks: tuple[Block, ...]
    expects: tuple[Expect, ...]
    comments: tuple[Comment, ...] = attrs.field(default=(), eq=False)
    header_line: int | None = attrs.field(default=None, eq=False)
    checks: tuple[Check, ...] = ()  # `check` lines outside any block: constraints between blocks
    figures: tuple[Figure, ...] = ()
    # names (blocks, aliases, figures) of statements dropped for a syntax error, already reported:
    # references to them are not reported again as unknown
    dropped: tuple[str, ...] = ()


def subexpressions(expr: Expr) -> Iterator[Expr]:
    """`expr` and every expression inside it (operands, call arguments, map values), depth first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, BinOp):
            stack += [node.right, node.left]
        elif isinstance(node, Neg):
            stack.append(node.operand)
        elif isinstance(node, Call):
            stack.extend(reversed(node.args))
        elif isinstance(node, MapExpr):
            stack.extend(entry.value for entry in reversed(node.entries))
