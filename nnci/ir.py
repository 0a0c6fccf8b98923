"""The resolved program: names bound to blocks, units converted, inline fleets made explicit.

Produced by `resolve`, read by `check` and the engine. Unqualified references to a block's own
quantities stay late-bound (`SelfRef`), so an amend's override flows into what its base derives.
"""

from __future__ import annotations

import attrs

from nnci.diagnostics import Span
from nnci.quantity import Quantity


@attrs.frozen(order=True)
class BlockKey:
    module: str  # "" for the files named on the command line, else the module's path
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name


TOTAL = BlockKey("", "total")  # the pseudo-block that sums every job


@attrs.frozen
class Const:
    value: Quantity
    text: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Text:
    value: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class SelfRef:
    name: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class QuantityRef:
    block: BlockKey
    name: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class BlockRef:
    block: BlockKey
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Entry:
    block: BlockKey
    value: Expr
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Map:
    entries: tuple[Entry, ...]
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Negate:
    operand: Expr
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False)


Expr = Const | Text | SelfRef | QuantityRef | BlockRef | Map | Binary | Negate | Call


def is_percentage(expr: Expr) -> bool:
    """Written as a percentage (`1 %`, `-1 %`): how a tolerance says it is relative."""
    if isinstance(expr, Negate):
        return is_percentage(expr.operand)
    return isinstance(expr, Const) and expr.text.endswith(" %")


@attrs.frozen
class Comparison:
    op: str
    left: Expr
    right: Expr
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Field:
    name: str
    expr: Expr
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Check:
    condition: Comparison
    message: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Block:
    key: BlockKey
    kind: str
    fields: dict[str, Field]
    checks: tuple[Check, ...]
    citations: tuple[str, ...]
    doc: str | None
    span: Span = attrs.field(eq=False)
    base: BlockKey | None = None


@attrs.frozen
class Expect:
    block: BlockKey
    quantity: str
    value: Expr
    tolerance: Expr | None
    target_text: str
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Program:
    blocks: dict[BlockKey, Block]
    roots: tuple[BlockKey, ...]  # blocks of the root files, in source order
    expects: tuple[Expect, ...]
    sources: dict[str, str]
    aliases: dict[str, str] = attrs.field(factory=dict)  # the root files' import aliases → module keys

    @property
    def jobs(self) -> tuple[BlockKey, ...]:
        return tuple(key for key in self.roots if self.blocks[key].kind in ("training", "inference"))
