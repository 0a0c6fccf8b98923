"""The resolved program: names bound to blocks, units converted, inline fleets made explicit.

Produced by `resolve`, read by `check` and the engine. Unqualified references to a block's own
quantities stay late-bound (`SelfRef`), so an amend's override flows into what its base derives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from nnci.diagnostics import Diagnostic, Span
from nnci.quantity import Quantity

if TYPE_CHECKING:
    from nnci.table import Table


class BlockKey(NamedTuple):
    """A block's identity. A tuple: the engine hashes millions of them, and a tuple's hash is cheap."""

    module: str  # "" for the files named on the command line, else the module's path
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name


TOTAL = BlockKey("", "total")  # the pseudo-block that sums every job
FIGURE = BlockKey("<figure>", "")  # the pseudo-block of figures derived from others (`figure x = a / b`)
PLAN_MODULE = "<plan>"  # the module of the compiled plan's stacked blocks; no file has this name


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


GROUP = "group"  # `group(month.energy, jobs.account, "nlp")`: Call(GROUP, (QuantityRef, RowIndicator)), a figure
# of a job over a table summed over the rows of one group, as `nnci run --by jobs.account` shows it


@attrs.frozen
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False)


@attrs.frozen
class Distribution:
    """`uniform(280 W, 330 W)`: an uncertain value (nnci/uncertain/distributions.py declares the names).
    Its median without `--samples`; with them, the same draws wherever this one is read."""

    name: str
    args: tuple[Expr, ...]
    span: Span = attrs.field(eq=False)


@attrs.frozen
class TableRef:
    """`rows = jobs`: the job stands for one job per row of the table."""

    table: str  # the table's module key
    span: Span = attrs.field(eq=False)


@attrs.frozen
class ColumnRef:
    """`jobs.gpus` inside a job with `rows = jobs`: that row's value of the column."""

    table: str
    column: str
    span: Span = attrs.field(eq=False)
    instants: bool = False  # a column of date-times (`start = jobs.start`): read from `Program.instants`


@attrs.frozen
class RowIndicator:
    """1 in the rows whose text cell in `column` is `value`, else 0: how `site = jobs.cluster` becomes
    a map of datacenters to shares that differ by row."""

    table: str
    column: str
    value: str
    span: Span = attrs.field(eq=False)


Expr = (
    Const
    | Text
    | SelfRef
    | QuantityRef
    | BlockRef
    | Map
    | Binary
    | Negate
    | Call
    | Distribution
    | TableRef
    | ColumnRef
    | RowIndicator
)


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
    statistic: str | None = None  # a bound on a statistic of the figure's samples (`p95`), judged by `op`
    op: str = "="


@attrs.frozen
class Figure:
    """A figure derived from others: `figure ratio = serve.total / train.total` (named), or the
    expression an `expect` line states a value for (anonymous: named by its text)."""

    name: str
    expr: Expr
    span: Span = attrs.field(eq=False)
    named: bool = True


class Lanes:
    """Blocks built on demand, a stacked block's lanes at a time (see LazyBlocks)."""

    def __init__(
        self,
        pending: dict[BlockKey, int],
        kinds: dict[int, str],
        build: Callable[[int], dict[BlockKey, Block]],
        written: Callable[[int], dict[BlockKey, Written]],
        cited: Callable[[int], dict[BlockKey, tuple[str, ...]]],
    ) -> None:
        self.built: dict[BlockKey, Block] = {}
        self.pending = pending  # a lane not built yet → its template
        self.kinds = kinds  # template → the kind of its lanes
        self.build = build  # template → all its lanes
        self.read_written = written  # template → each lane's citations and where its fields were written
        self.written: dict[int, dict[BlockKey, Written]] = {}
        self.read_citations = cited  # template → each lane's citations
        self.citations: dict[int, dict[BlockKey, tuple[str, ...]]] = {}

    def get(self, key: BlockKey) -> Block | None:
        block = self.built.get(key)
        if block is None and key in self.pending:
            lanes = self.build(self.pending[key])
            self.built.update(lanes)
            for lane in lanes:
                self.pending.pop(lane, None)
            block = self.built[key]
        return block


Written = tuple[tuple[str, ...], Mapping[str, Span]]  # a block's citations, and where each field was written


def written(program: Program, key: BlockKey) -> Written:
    """A block's citations and where each of its fields was written: what a job of a stacked group
    needs of its own block, read without building it when the program comes from the cache."""
    blocks = program.blocks
    found = blocks.unbuilt_written(key) if isinstance(blocks, LazyBlocks) else None
    if found is not None:
        return found
    block = blocks[key]
    return block.citations, {name: field.span for name, field in block.fields.items()}


def citations(program: Program, key: BlockKey) -> tuple[str, ...]:
    """A block's citations (`written` without the spans, which a job of a stacked group rarely needs)."""
    blocks = program.blocks
    found = blocks.unbuilt_citations(key) if isinstance(blocks, LazyBlocks) else None
    return found if found is not None else blocks[key].citations


class LazyBlocks(Mapping[BlockKey, Block]):
    """The blocks of a program read from the compiled-program cache (nnci.compiled): those written
    whole are here at once; the lanes of each stacked block are built from it when one of them is
    first read (`lanes`, which the plan's program shares). In the program's order, like the dict
    it stands for."""

    def __init__(self, order: list[BlockKey], whole: dict[BlockKey, Block], lanes: Lanes) -> None:
        self._order = order
        self._whole = whole
        self._lanes = lanes

    def __getitem__(self, key: BlockKey) -> Block:
        block = self._whole.get(key) or self._lanes.get(key)
        if block is None:
            raise KeyError(key)
        return block

    def __contains__(self, key: object) -> bool:
        return key in self._whole or key in self._lanes.built or key in self._lanes.pending

    def __iter__(self) -> Iterator[BlockKey]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def unbuilt_written(self, key: BlockKey) -> Written | None:
        """`written` of a lane not built yet, read from its stacked block's stream; None for any other."""
        return self._unbuilt(key, self._lanes.written, self._lanes.read_written)

    def unbuilt_citations(self, key: BlockKey) -> tuple[str, ...] | None:
        """A lane's citations, if it is not built yet (None for any other block)."""
        return self._unbuilt(key, self._lanes.citations, self._lanes.read_citations)

    def _unbuilt(self, key: BlockKey, read: dict[int, dict[BlockKey, Any]], reader: Callable[[int], Any]) -> Any:
        """What `reader` reads of every lane of the stacked block `key` is a lane of, once (kept in
        `read`), for `key`; None if `key` is no lane waiting to be built."""
        template = self._lanes.pending.get(key)
        if template is None:
            return None
        found = read.get(template)
        if found is None:
            found = read[template] = reader(template)
        return found[key]

    def of_kinds(self, kinds: tuple[str, ...]) -> set[BlockKey]:
        """The keys of the blocks of these kinds, without building any."""
        lanes = self._lanes
        found = {key for key, block in self._whole.items() if block.kind in kinds}
        found.update(key for key, block in lanes.built.items() if block.kind in kinds)
        templates = {template for template, kind in lanes.kinds.items() if kind in kinds}
        found.update(key for key, template in lanes.pending.items() if template in templates)
        return found


@attrs.frozen
class Program:
    blocks: Mapping[BlockKey, Block]
    roots: tuple[BlockKey, ...]  # blocks of the root files, in source order
    expects: tuple[Expect, ...]
    sources: dict[str, str]
    aliases: dict[str, str] = attrs.field(factory=dict)  # the root files' import aliases → module keys
    tables: dict[str, Table] = attrs.field(factory=dict)  # imported tables by module key
    warnings: tuple[Diagnostic, ...] = ()  # found while loading and resolving; `check` reports them
    instants: dict[tuple[str, str], Any] = attrs.field(factory=dict)  # date-time columns as seconds since 1970
    figures: dict[str, Figure] = attrs.field(factory=dict)  # by name, in the order written
    checks: tuple[Check, ...] = ()  # `check` lines outside any block
    uncertain: bool = False  # some field holds a distribution (resolve says so: no block need be read)

    def rows_of(self, key: BlockKey) -> str | None:
        """The table a job stands for one row of, if any."""
        block = self.blocks.get(key)
        field = block.fields.get("rows") if block is not None else None
        return field.expr.table if field is not None and isinstance(field.expr, TableRef) else None

    @functools.cached_property
    def jobs(self) -> tuple[BlockKey, ...]:
        blocks, kinds = self.blocks, ("training", "inference")
        if isinstance(blocks, LazyBlocks):
            jobs = blocks.of_kinds(kinds)
            return tuple(key for key in self.roots if key in jobs)
        return tuple(key for key in self.roots if blocks[key].kind in kinds)
