"""Lanes: the blocks a stacked block stands for, written as what differs from it (its name, the text
of each number, where each part was written as 32-bit integers) and built back from it."""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable, Iterator
from typing import Any

from nnci import ir
from nnci.compiled.values import NOTHING, TUPLE, Decoder, Encoder, Unusable
from nnci.diagnostics import Span
from nnci.quantity import Quantity
from nnci.slots import setters

USUAL = ["", None, [], [TUPLE], [NOTHING]]  # a lane's module, doc, citations, checks and base, nearly always


def _same_float(a: float, b: float) -> bool:
    """The same float, bit for bit as far as printing goes: -0.0 is not 0.0, and NaN is NaN."""
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b


_where = operator.attrgetter("line", "column", "end_line", "end_column")  # a span's four integers, in order
Write = Callable[[Any, int, str], None]  # (the lane's part, lane, its block's file) → its spans and texts written


class LaneWriter:
    """Writes a lane block as the walk of its template: spans into `ints`, texts into `texts`. Each
    template is turned once into nested writers (one per part), which check each lane against it."""

    def __init__(self, encoder: Encoder, lanes: dict[ir.BlockKey, tuple[ir.BlockKey, ...]]) -> None:
        self.encoder = encoder
        self.lanes = lanes
        self.ints: list[int] = []
        self.names: list[str] = []
        self.texts: list[str] = []  # the text of each number, lane after lane
        self.rare: list[list[object]] = []  # [lane, module, doc, citations, checks, base] where not the usual
        self.writers: dict[int, Callable[[ir.Block, int], None]] = {}
        self.extend = self.ints.extend

    def block(self, template: ir.Block, block: ir.Block, lane: int) -> None:
        write = self.writers.get(id(template))
        if write is None:
            write = self.writers[id(template)] = self._block_writer(template)
        write(block, lane)

    def span(self, span: Span, file: str) -> None:
        if span.file != file:
            self.ints.append(~self.encoder.file(span.file))
        self.extend(_where(span))

    def _block_writer(self, template: ir.Block) -> Callable[[ir.Block, int], None]:
        encoder, span, names_out, ints = self.encoder, self.span, self.names, self.ints
        kind, names = template.kind, tuple(template.fields)
        fields = [(name, self._expr_writer(field.expr)) for name, field in template.fields.items()]

        def write(block: ir.Block, lane: int) -> None:
            file = block.span.file
            key = block.key
            if key.module or block.doc is not None or block.citations or block.checks or block.base is not None:
                rest = [key.module, block.doc, list(block.citations), encoder.value(block.checks),
                        encoder.value(block.base)]  # fmt: skip
                self.rare.append([len(names_out), *rest])
            names_out.append(key.name)
            ints.append(encoder.file(file))
            span(block.span, file)
            if block.kind != kind or tuple(block.fields) != names:
                raise Unusable("a lane unlike its template")
            written = block.fields
            for name, expr in fields:
                field = written[name]
                span(field.span, file)
                expr(field.expr, lane, file)

        return write

    def _target(self, template: ir.BlockKey) -> Callable[[ir.BlockKey, int], None]:
        keys = self.lanes.get(template)

        def check(actual: ir.BlockKey, lane: int) -> None:
            if actual != (template if keys is None else keys[lane]):
                raise Unusable("a lane refers elsewhere than its template says")

        return check

    def _expr_writer(self, template: ir.Expr) -> Write:
        span, texts = self.span, self.texts
        cls = type(template)

        def same_kind(expr: Any) -> None:
            if type(expr) is not cls:
                raise Unusable("a lane unlike its template")

        if cls is ir.Const:
            assert isinstance(template, ir.Const)
            dimension, column = template.value.dimension, template.value.magnitude
            values = column.tolist() if type(column).__name__ == "ndarray" else None

            def const(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                written = values[lane] if values is not None else column
                magnitude = expr.value.magnitude
                if type(magnitude) is not float or type(written) is not float or not _same_float(written, magnitude):
                    raise Unusable("a number unlike its column")
                if expr.value.dimension is not dimension:
                    raise Unusable("a lane unlike its template")
                texts.append(expr.text)

            return const
        if cls is ir.Text or cls is ir.SelfRef:

            def leaf(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                if expr != template:
                    raise Unusable("a lane unlike its template")

            return leaf
        if cls is ir.QuantityRef or cls is ir.BlockRef:
            assert isinstance(template, ir.QuantityRef | ir.BlockRef)
            target, name = self._target(template.block), getattr(template, "name", None)

            def reference(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                if getattr(expr, "name", None) != name:
                    raise Unusable("a lane unlike its template")
                target(expr.block, lane)

            return reference
        if cls is ir.Map:
            assert isinstance(template, ir.Map)
            entries = [(self._target(e.block), self._expr_writer(e.value)) for e in template.entries]

            def mapping(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                if len(expr.entries) != len(entries):
                    raise Unusable("a lane unlike its template")
                for (target, value), entry in zip(entries, expr.entries, strict=True):
                    span(entry.span, file)
                    target(entry.block, lane)
                    value(entry.value, lane, file)

            return mapping
        if cls is ir.Binary:
            assert isinstance(template, ir.Binary)
            op, left, right = template.op, self._expr_writer(template.left), self._expr_writer(template.right)

            def binary(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                if expr.op != op:
                    raise Unusable("a lane unlike its template")
                left(expr.left, lane, file)
                right(expr.right, lane, file)

            return binary
        if cls is ir.Negate:
            assert isinstance(template, ir.Negate)
            operand = self._expr_writer(template.operand)

            def negate(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                operand(expr.operand, lane, file)

            return negate
        if cls is ir.Call:
            assert isinstance(template, ir.Call)
            func, args = template.func, [self._expr_writer(a) for a in template.args]

            def call(expr: Any, lane: int, file: str) -> None:
                same_kind(expr)
                span(expr.span, file)
                if expr.func != func or len(expr.args) != len(args):
                    raise Unusable("a lane unlike its template")
                for write, arg in zip(args, expr.args, strict=True):
                    write(arg, lane, file)

            return call
        raise Unusable(f"cannot store a lane with a {cls.__name__}")


Build = Callable[[int], Any]  # lane → the part of a lane block, reading its spans and texts in order
BlockBuild = Callable[[ir.BlockKey, int, int], ir.Block]  # (key, index among the lanes stored, lane) → block


class LaneReader:
    """Builds lane blocks back from their templates, the inverse of `LaneWriter`. Each template is
    turned once into nested builders (one per part), which then build each of its lanes."""

    def __init__(
        self, files: list[str], ints: Iterator[int], texts: Iterator[str], lanes: dict[Any, Any], rare: dict[int, Any]
    ) -> None:
        self.files = files
        self.next_int = functools.partial(next, ints)
        self.texts = texts
        self.lanes = lanes
        self.rare = rare  # claimed index → [module, doc, citations, checks, base], checked
        self.file = ""  # the file of the lane block being built: its spans' file unless marked otherwise
        self.builders: dict[int, BlockBuild] = {}
        self.skips: dict[int, list[tuple[str, int]]] = {}

    def block(self, template: ir.Block, key: ir.BlockKey, index: int, lane: int) -> ir.Block:
        build = self.builders.get(id(template))
        if build is None:
            build = self.builders[id(template)] = self._block_builder(template)
        return build(key, index, lane)

    def span(self) -> Span:
        next_int = self.next_int
        line = next_int()
        file = self.file
        if line < 0:
            file = self.files[~line]
            line = next_int()
        made = _new(Span)
        _span_file(made, file)
        _span_line(made, line)
        _span_column(made, next_int())
        _span_end_line(made, next_int())
        _span_end_column(made, next_int())
        return made

    def _block_builder(self, template: ir.Block) -> BlockBuild:
        files, span, next_int = self.files, self.span, self.next_int
        kind = template.kind
        fields = [(name, self._expr_builder(field.expr)) for name, field in template.fields.items()]

        def build(key: ir.BlockKey, index: int, lane: int) -> ir.Block:
            doc, citations, checks, base = None, (), (), None
            rare = self.rare.get(index)
            if rare is not None:
                _, doc, citations, checks, base = rare
            self.file = files[next_int()]
            block_span = span()
            made = {}
            for field_name, expr in fields:
                field = _new(ir.Field)
                _field_name(field, field_name)
                _field_span(field, span())
                _field_expr(field, expr(lane))
                made[field_name] = field
            block = _new(ir.Block)
            for setter, value in zip(
                _block_setters, (key, kind, made, checks, citations, doc, block_span, base), strict=True
            ):
                setter(block, value)
            return block

        return build

    def field_spans(self, template: ir.Block) -> dict[str, Span]:
        """Where each field of the next lane was written, reading past the rest of it without building
        it (what a job's figures given in a field need: evaluating a stacked group builds no block)."""
        skips = self.skips.get(id(template))
        if skips is None:
            skips = self.skips[id(template)] = [
                (name, _spans_in(field.expr)) for name, field in template.fields.items()
            ]
        self.file = self.files[self.next_int()]
        self.skip(1)
        spans = {}
        for name, count in skips:
            spans[name] = self.span()
            self.skip(count)
        return spans

    def skip(self, count: int) -> None:
        """Read past `count` spans."""
        next_int = self.next_int
        for _ in range(count):
            if next_int() < 0:  # a span in another file: its file, then its line
                next_int()
            next_int()
            next_int()
            next_int()

    def _target(self, template: ir.BlockKey) -> Callable[[int], ir.BlockKey]:
        keys = self.lanes.get(template)
        if keys is None:
            return lambda lane: template
        return keys.__getitem__  # type: ignore[no-any-return]

    def _expr_builder(self, template: ir.Expr) -> Build:
        span, texts = self.span, self.texts
        cls = type(template)
        if cls is ir.Const:
            assert isinstance(template, ir.Const)
            dimension, column = template.value.dimension, template.value.magnitude
            is_column = type(column).__name__ == "ndarray"
            values = column.tolist() if is_column else None

            def const(lane: int) -> ir.Const:
                made, quantity = _new(ir.Const), _new(Quantity)
                _const_span(made, span())
                text = next(texts)
                _quantity_magnitude(quantity, values[lane] if values is not None else column)
                _quantity_dimension(quantity, dimension)
                _const_value(made, quantity)
                _const_text(made, text)
                return made

            return const
        if cls is ir.Text:
            assert isinstance(template, ir.Text)
            value = template.value
            return lambda lane: ir.Text(value, span())
        if cls is ir.SelfRef:
            assert isinstance(template, ir.SelfRef)
            self_name = template.name
            return lambda lane: ir.SelfRef(self_name, span())
        if cls is ir.QuantityRef:
            assert isinstance(template, ir.QuantityRef)
            target, quantity_name = self._target(template.block), template.name
            return lambda lane: ir.QuantityRef(target(lane), quantity_name, span())
        if cls is ir.BlockRef:
            assert isinstance(template, ir.BlockRef)
            block_target = self._target(template.block)
            return lambda lane: ir.BlockRef(block_target(lane), span())
        if cls is ir.Map:
            assert isinstance(template, ir.Map)
            entries = [(self._target(e.block), self._expr_builder(e.value)) for e in template.entries]

            def mapping(lane: int) -> ir.Map:
                at = span()
                made = []
                for block, value in entries:
                    entry_span = span()
                    made.append(ir.Entry(block(lane), value(lane), entry_span))
                return ir.Map(tuple(made), at)

            return mapping
        if cls is ir.Binary:
            assert isinstance(template, ir.Binary)
            op, left, right = template.op, self._expr_builder(template.left), self._expr_builder(template.right)

            def binary(lane: int) -> ir.Binary:
                at = span()
                first = left(lane)
                return ir.Binary(op, first, right(lane), at)

            return binary
        if cls is ir.Negate:
            assert isinstance(template, ir.Negate)
            operand = self._expr_builder(template.operand)

            def negate(lane: int) -> ir.Negate:
                at = span()
                return ir.Negate(operand(lane), at)

            return negate
        if cls is ir.Call:
            assert isinstance(template, ir.Call)
            func, args = template.func, [self._expr_builder(a) for a in template.args]

            def call(lane: int) -> ir.Call:
                at = span()
                return ir.Call(func, tuple([arg(lane) for arg in args]), at)

            return call
        raise Unusable("malformed lane")


_new = object.__new__
_span_file, _span_line, _span_column, _span_end_line, _span_end_column = setters(Span)
_field_name, _field_expr, _field_span = setters(ir.Field)
_const_value, _const_text, _const_span = setters(ir.Const)
_quantity_magnitude, _quantity_dimension = setters(Quantity)
_block_setters = setters(ir.Block)


def all_text(*columns: list[Any]) -> bool:
    return all(all(map(isinstance, column, itertools.repeat(str))) for column in columns)


def read_rare(lanes: object, decoder: Decoder) -> dict[int, tuple[str, str | None, tuple[str, ...], Any, Any]]:
    """The lanes whose module, doc, citations, checks or base are not the usual ones, checked."""
    if type(lanes) is not list:
        raise Unusable("malformed lanes")
    out = {}
    for item in lanes:
        if type(item) is not list or len(item) != 6 or type(item[0]) is not int:
            raise Unusable("malformed lane")
        index, module, doc, citations, checks, base = item
        checks, base = decoder.value(checks), decoder.value(base)
        if type(module) is not str or not (doc is None or type(doc) is str) or type(citations) is not list:
            raise Unusable("malformed lane")
        if not all_text(citations) or type(checks) is not tuple or not all(type(c) is ir.Check for c in checks):
            raise Unusable("malformed lane")
        if not (base is None or type(base) is ir.BlockKey):
            raise Unusable("malformed lane")
        out[index] = (module, doc, tuple(citations), checks, base)
    return out


def _spans_in(expr: ir.Expr) -> int:
    """How many spans the walk of an expression writes: one per part, one per map entry besides."""
    if isinstance(expr, ir.Map):
        return 1 + sum(1 + _spans_in(e.value) for e in expr.entries)
    if isinstance(expr, ir.Binary):
        return 1 + _spans_in(expr.left) + _spans_in(expr.right)
    if isinstance(expr, ir.Negate):
        return 1 + _spans_in(expr.operand)
    if isinstance(expr, ir.Call):
        return 1 + sum(_spans_in(a) for a in expr.args)
    return 1


def texts_of(template: ir.Block) -> int:
    """How many texts a lane of `template` has after its head: one per number."""
    return sum(_consts(field.expr) for field in template.fields.values())


def _consts(expr: ir.Expr) -> int:
    if isinstance(expr, ir.Const):
        return 1
    if isinstance(expr, ir.Map):
        return sum(_consts(e.value) for e in expr.entries)
    if isinstance(expr, ir.Binary):
        return _consts(expr.left) + _consts(expr.right)
    if isinstance(expr, ir.Negate):
        return _consts(expr.operand)
    if isinstance(expr, ir.Call):
        return sum(_consts(a) for a in expr.args)
    return 0
