"""A cache of compiled programs: the resolved, planned and checked form of a scenario, by its files.

Parsing, resolving, planning and checking cost nearly all of a run over a large file, and they
depend only on the text of the files involved (and the options that decide which files those
are). An entry holds what they produced: the program's blocks, the plan (which jobs are stacked
into which columns) and the warnings. A run whose files are all unchanged evaluates the stored
plan at once.

The compiled form is columnar: the blocks that the plan stacked (thousands of jobs of one shape,
and their grids, devices and datacenters) are not written one by one. Each is its stacked
block's *lane*: the stacked block is the template, and a lane adds only what differs between the
blocks of one shape and is not already a column of the template, namely its name, where each part
of it was written (spans, as 32-bit integers in one array) and the text of each number. Every other
block is written whole, as tagged JSON lists (see `encode`).

Entries are data, never code. An entry is used only if its header names this format and the key
it was asked for and its sha256 matches; it decodes only into `nnci.ir` classes with fields of the
right types. A hit is proved, not assumed: the loader runs again with all its rules (the project,
the size limit, regular files only), reading every file, and each file's text must hash to what
the entry recorded, with the same imports, or the entry is not used. Programs with tables, series
or distributions, and runs with `--set` or `--samples`, are not cached. Entries live beside the
module cache, in the subfolder `programs-v1/` (same privacy and pruning rules, own suffix).
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from nnci import ast, cache, ir
from nnci.diagnostics import Diagnostic, Span
from nnci.load import Program as LoadedProgram
from nnci.plan import Group, Plan
from nnci.quantity import Quantity
from nnci.resources import PACKAGE, grammar_path
from nnci.units import BASES, Dimension, _interned

FORMAT = 1
SUBFOLDER = f"programs-v{FORMAT}"
SUFFIX = ".nnci-program"
MAGIC = b"nnci-program-cache"
MAX_ENTRY_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 16  # an entry of a large program runs to tens of MB: few are kept (the oldest pruned)


class Unusable(Exception):
    """An entry that cannot be used, or a program that cannot be stored."""


@attrs.frozen
class Compiled:
    program: ir.Program
    plan: Plan
    warnings: tuple[Diagnostic, ...]
    # what the engine found while checking (a figure no output shows may still fault): a hit's engine
    # starts with them, so the run reports what it reports without the cache, in the same order
    found: tuple[Diagnostic, ...] = ()


# -- the key ---------------------------------------------------------------------------------------


@functools.cache
def _salt() -> bytes:
    """Everything besides the files that decides the compiled form: nnci's version and its whole code."""
    from nnci import __version__

    digest = hashlib.sha256(f"{__version__}\0{FORMAT}\0{sys.version_info[:2]}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(
        b"grammar\0" + grammar_path().read_bytes()
    )  # inside the package once installed, beside it in a checkout
    return digest.digest()


def key_of(paths: Sequence[str | Path], everything: bool, allowed: Sequence[str | Path], max_bytes: int | None) -> str:
    """The files named and every option that decides which files are read and how they resolve."""
    from nnci.load import max_file_bytes

    limit = max_file_bytes() if max_bytes is None else max_bytes
    # Absolute paths, not the working folder: the hit's loader run finds every file's name again, so
    # a run from another folder that would name the files otherwise (relative paths) is a miss.
    what = [[os.path.abspath(p) for p in paths], everything, [os.path.abspath(a) for a in allowed], limit]
    text = json.dumps(what, ensure_ascii=True)  # lone surrogates (odd file names) escaped, never an error
    return hashlib.sha256(_salt() + text.encode("ascii")).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# -- encoding values that are written whole: tagged JSON lists ------------------------------------

TUPLE, KEY, DIM, ARRAY, DICT, SPAN, NOTHING = range(7)  # tags of what is not an attrs class of the registry
CLASSES: tuple[type, ...] = (
    ir.Block, ir.Field, ir.Const, ir.Text, ir.SelfRef, ir.QuantityRef, ir.BlockRef, ir.Entry, ir.Map,
    ir.Binary, ir.Negate, ir.Call, ir.Comparison, ir.Check, ir.Expect, ir.Figure, Quantity, Diagnostic,
)  # fmt: skip
FIRST_CLASS_TAG = 10
TAGS = {cls: FIRST_CLASS_TAG + index for index, cls in enumerate(CLASSES)}
LEAVES = (str, int, float, bool)


class _Encoder:
    def __init__(self) -> None:
        self.files: dict[str, int] = {}

    def file(self, name: str) -> int:
        return self.files.setdefault(name, len(self.files))

    def value(self, value: object) -> object:
        cls = type(value)
        if value is None:
            return [NOTHING]
        if cls in LEAVES:
            return value
        if cls is ir.BlockKey:
            return [KEY, value[0], value[1]]  # type: ignore[index]
        if cls is tuple:
            return [TUPLE, *[self.value(v) for v in value]]  # type: ignore[attr-defined]
        if cls is dict:
            items = list(value.items())  # type: ignore[attr-defined]
            return [DICT, [self.value(k) for k, _ in items], [self.value(v) for _, v in items]]
        if cls is Span:
            span: Span = value  # type: ignore[assignment]
            return [SPAN, self.file(span.file), span.line, span.column, span.end_line, span.end_column]
        if cls is Dimension:
            dimension: Dimension = value  # type: ignore[assignment]
            return [DIM, dimension._denominator, *dimension._numerators]
        if cls.__module__ == "numpy" and cls.__name__ == "ndarray":
            if value.dtype != "float64" or value.ndim != 1:  # type: ignore[attr-defined]
                raise Unusable("an array other than one column of floats")
            return [ARRAY, *value.tolist()]  # type: ignore[attr-defined]
        tag = TAGS.get(cls)
        if tag is None:
            raise Unusable(f"cannot store a {cls.__name__}")
        if cls is Quantity and getattr(value.magnitude, "is_series", False):  # type: ignore[attr-defined]
            raise Unusable("a series")
        return [tag, *[self.value(getattr(value, f.name)) for f in attrs.fields(cls)]]  # type: ignore[arg-type]


def _types(annotation: object) -> tuple[type, ...]:
    """The runtime types a field annotation allows (shallow: items are checked where they are decoded)."""
    if annotation is Any:
        return (object,)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for option in typing.get_args(annotation) for t in _types(option))
    if origin is not None:
        return (origin,)
    if annotation is float:
        return (float, int)
    if annotation is type(None):
        return (type(None),)
    assert isinstance(annotation, type), annotation
    return (annotation,)


@functools.cache
def _checks() -> dict[int, tuple[type, tuple[tuple[type, ...], ...]]]:
    namespace = {**vars(ir), "Quantity": Quantity, "Dimension": Dimension, "Span": Span, "Any": Any}
    out = {}
    for cls, tag in TAGS.items():
        hints = typing.get_type_hints(cls, globalns=namespace, localns=namespace)
        out[tag] = (cls, tuple(_types(hints[f.name]) for f in attrs.fields(cls)))  # type: ignore[arg-type]
    return out


class _Decoder:
    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.checks = _checks()

    def value(self, data: object) -> Any:
        if type(data) is not list:
            if data is None or type(data) not in LEAVES:
                raise Unusable("not a value")
            return data
        tag = data[0]
        if tag == TUPLE:
            return tuple([self.value(v) for v in data[1:]])
        if tag == NOTHING:
            return None
        if tag == KEY:
            module, name = data[1:]
            if type(module) is not str or type(name) is not str:
                raise Unusable("malformed block key")
            return ir.BlockKey(module, name)
        if tag == DICT:
            keys, values = data[1:]
            return dict(zip([self.value(k) for k in keys], [self.value(v) for v in values], strict=True))
        if tag == SPAN:
            file, *where = data[1:]
            if len(where) != 4 or not all(type(v) is int for v in where):
                raise Unusable("malformed span")
            return Span(self.files[file], *where)
        if tag == DIM:
            denominator, *numerators = data[1:]
            if len(numerators) != len(BASES) or not all(type(v) is int for v in (denominator, *numerators)):
                raise Unusable("malformed dimension")
            if denominator < 1:
                raise Unusable("malformed dimension")
            return _interned(tuple(numerators), denominator)
        if tag == ARRAY:
            import numpy

            if not set(map(type, data[1:])) <= {float}:
                raise Unusable("malformed column")
            return numpy.array(data[1:], dtype=float)
        found = self.checks.get(tag) if type(tag) is int else None
        if found is None:
            raise Unusable(f"unknown tag {tag!r}")
        cls, allowed = found
        values = [self.value(v) for v in data[1:]]
        if len(values) != len(allowed) or not all(map(isinstance, values, allowed)):
            raise Unusable(f"malformed {cls.__name__}")
        if cls is Quantity and not isinstance(values[1], Dimension):
            raise Unusable("malformed quantity")
        return cls(*values)


# -- lanes: the blocks a stacked block stands for, as what differs from it -------------------------

USUAL = ["", None, [], [TUPLE], [NOTHING]]  # a lane's module, doc, citations, checks and base, nearly always


def _same_float(a: float, b: float) -> bool:
    """The same float, bit for bit as far as printing goes: -0.0 is not 0.0, and NaN is NaN."""
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b


class _LaneWriter:
    """Writes a lane block as the walk of its template: spans into `ints`, texts into `texts`."""

    def __init__(self, encoder: _Encoder, lanes: dict[ir.BlockKey, tuple[ir.BlockKey, ...]]) -> None:
        self.encoder = encoder
        self.lanes = lanes
        self.ints: list[int] = []
        self.names: list[str] = []
        self.texts: list[str] = []  # the text of each number, lane after lane
        self.rare: list[list[object]] = []  # [lane, module, doc, citations, checks, base] where not the usual
        self.columns: dict[int, list[float] | None] = {}  # a template's number → its column as floats, if one
        self.field_names: dict[int, tuple[str, ...]] = {}

    def block(self, template: ir.Block, block: ir.Block, lane: int) -> None:
        file = block.span.file
        if block.key.module or block.doc is not None or block.citations or block.checks or block.base is not None:
            rest = [block.key.module, block.doc, list(block.citations), self.encoder.value(block.checks),
                    self.encoder.value(block.base)]  # fmt: skip
            self.rare.append([len(self.names), *rest])
        self.names.append(block.key.name)
        self.ints.append(self.encoder.file(file))
        self.span(block.span, file)
        names = self.field_names.get(id(template))
        if names is None:
            names = self.field_names[id(template)] = tuple(template.fields)
        if block.kind != template.kind or tuple(block.fields) != names:
            raise Unusable("a lane unlike its template")
        for name, field in block.fields.items():
            self.span(field.span, file)
            self.expr(template.fields[name].expr, field.expr, lane, file)

    def span(self, span: Span, file: str) -> None:
        if span.file != file:
            self.ints.append(~self.encoder.file(span.file))
        self.ints += (span.line, span.column, span.end_line, span.end_column)

    def target(self, template: ir.BlockKey, actual: ir.BlockKey, lane: int) -> None:
        expected = self.lanes[template][lane] if template in self.lanes else template
        if actual != expected:
            raise Unusable("a lane refers elsewhere than its template says")

    def expr(self, template: ir.Expr, expr: ir.Expr, lane: int, file: str) -> None:
        cls = type(template)
        if type(expr) is not cls:
            raise Unusable("a lane unlike its template")
        self.span(expr.span, file)
        if cls is ir.Const:
            assert isinstance(template, ir.Const) and isinstance(expr, ir.Const)
            if id(template) not in self.columns:
                column = template.value.magnitude
                self.columns[id(template)] = column.tolist() if type(column).__name__ == "ndarray" else None
            values = self.columns[id(template)]
            written = values[lane] if values is not None else template.value.magnitude
            magnitude = expr.value.magnitude
            if type(magnitude) is not float or type(written) is not float or not _same_float(written, magnitude):
                raise Unusable("a number unlike its column")
            if expr.value.dimension is not template.value.dimension:
                raise Unusable("a lane unlike its template")
            self.texts.append(expr.text)
        elif cls is ir.Text or cls is ir.SelfRef:
            if expr != template:
                raise Unusable("a lane unlike its template")
        elif cls is ir.QuantityRef:
            assert isinstance(template, ir.QuantityRef) and isinstance(expr, ir.QuantityRef)
            if expr.name != template.name:
                raise Unusable("a lane unlike its template")
            self.target(template.block, expr.block, lane)
        elif cls is ir.BlockRef:
            assert isinstance(template, ir.BlockRef) and isinstance(expr, ir.BlockRef)
            self.target(template.block, expr.block, lane)
        elif cls is ir.Map:
            assert isinstance(template, ir.Map) and isinstance(expr, ir.Map)
            if len(expr.entries) != len(template.entries):
                raise Unusable("a lane unlike its template")
            for model, entry in zip(template.entries, expr.entries, strict=True):
                self.span(entry.span, file)
                self.target(model.block, entry.block, lane)
                self.expr(model.value, entry.value, lane, file)
        elif cls is ir.Binary:
            assert isinstance(template, ir.Binary) and isinstance(expr, ir.Binary)
            if expr.op != template.op:
                raise Unusable("a lane unlike its template")
            self.expr(template.left, expr.left, lane, file)
            self.expr(template.right, expr.right, lane, file)
        elif cls is ir.Negate:
            assert isinstance(template, ir.Negate) and isinstance(expr, ir.Negate)
            self.expr(template.operand, expr.operand, lane, file)
        elif cls is ir.Call:
            assert isinstance(template, ir.Call) and isinstance(expr, ir.Call)
            if expr.func != template.func or len(expr.args) != len(template.args):
                raise Unusable("a lane unlike its template")
            for model_arg, arg in zip(template.args, expr.args, strict=True):
                self.expr(model_arg, arg, lane, file)
        else:
            raise Unusable(f"cannot store a lane with a {cls.__name__}")


def _setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a frozen attrs class, in field order (as nnci.lower builds the AST)."""
    return tuple(cls.__dict__[f.name].__set__ for f in attrs.fields(cls))  # type: ignore[arg-type]


Build = Callable[[int], Any]  # lane → the part of a lane block, reading its spans and texts in order
BlockBuild = Callable[[ir.BlockKey, int, int], ir.Block]  # (key, index among the lanes stored, lane) → block


class _LaneReader:
    """Builds lane blocks back from their templates, the inverse of `_LaneWriter`. Each template is
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
_span_file, _span_line, _span_column, _span_end_line, _span_end_column = _setters(Span)
_field_name, _field_expr, _field_span = _setters(ir.Field)
_const_value, _const_text, _const_span = _setters(ir.Const)
_quantity_magnitude, _quantity_dimension = _setters(Quantity)
_block_setters = _setters(ir.Block)


# -- the whole compiled program --------------------------------------------------------------------


def _storable(program: ir.Program) -> bool:
    return not program.tables and not program.instants


def encode(compiled: Compiled) -> tuple[dict[str, object], bytes]:
    """The compiled program as JSON data and 32-bit integers: where each block is, then the lanes'
    spans, one stream per stacked block (so that its lanes can be built apart from the others')."""
    program, plan = compiled.program, compiled.plan
    if not _storable(program):
        raise Unusable("a program with tables or series")
    encoder = _Encoder()
    stacked_keys = list(plan.lanes)
    writers = [_LaneWriter(encoder, plan.lanes) for _ in stacked_keys]
    templates = [plan.program.blocks[key] for key in stacked_keys]
    lane_of: dict[ir.BlockKey, tuple[int, int]] = {}
    for index, key in enumerate(stacked_keys):
        for lane, member in enumerate(plan.lanes[key]):
            lane_of.setdefault(member, (index, lane))
    order = list(program.blocks)
    position = {key: at for at, key in enumerate(order)}
    placement: list[int] = []  # per block in order: template index and lane, or -1 and its index among whole blocks
    whole: list[object] = []
    for key in order:
        block = program.blocks[key]
        found = lane_of.get(key)
        if found is None:
            placement += (-1, len(whole))
            whole.append(encoder.value(block))
        else:
            placement += found
            writers[found[0]].block(templates[found[0]], block, found[1])
    data: dict[str, object] = {
        "stacked": [encoder.value(template) for template in templates],
        "lanes": [[position[member] for member in plan.lanes[key]] for key in stacked_keys],
        "groups": [
            [[position[job] for job in group.jobs], stacked_keys.index(group.stacked) if group.stacked else -1]
            for group in plan.groups
        ],
        "whole": whole,
        "lane_names": [writer.names for writer in writers],
        "lane_texts": [writer.texts for writer in writers],
        "lane_rare": [writer.rare for writer in writers],
        "lane_ints": [len(writer.ints) for writer in writers],
        "roots": [position[key] for key in program.roots],
        "expects": encoder.value(program.expects),
        "aliases": encoder.value(program.aliases),
        "figures": encoder.value(program.figures),
        "checks": encoder.value(program.checks),
        "program_warnings": encoder.value(program.warnings),
        "warnings": encoder.value(compiled.warnings),
        "found": encoder.value(compiled.found),
    }
    data["files"] = list(encoder.files)  # last: every value above has named its files
    packed = array.array("i")
    try:
        packed.fromlist(placement)
        for writer in writers:
            packed.fromlist(writer.ints)
    except OverflowError as error:
        raise Unusable("a position too large to store") from error
    return data, len(placement).to_bytes(8, "little") + packed.tobytes()


def decode(entry: Entry, sources: dict[str, str], entry_key: str = "") -> Compiled:
    """The compiled program of an entry; the lanes of each stacked block are built when first read."""
    data, binary = entry[0]["program"], entry[1]
    if type(data) is not dict:
        raise Unusable("malformed entry")
    files = data["files"]
    if type(files) is not list or not all(type(f) is str for f in files):
        raise Unusable("malformed file list")
    decoder = _Decoder(files)
    placed = int.from_bytes(binary[:8], "little")
    packed = array.array("i")
    packed.frombytes(binary[8:])
    placement = packed[: 2 * (placed // 2)].tolist()
    stacked = [decoder.value(b) for b in data["stacked"]]
    if not all(type(b) is ir.Block and b.key.module == ir.PLAN_MODULE for b in stacked):
        raise Unusable("malformed stacked block")
    whole = [decoder.value(b) for b in data["whole"]]
    if not all(type(b) is ir.Block for b in whole):
        raise Unusable("malformed block")
    names, texts, rares, sizes = data["lane_names"], data["lane_texts"], data["lane_rare"], data["lane_ints"]
    if not all(type(v) is list and len(v) == len(stacked) for v in (names, texts, rares, sizes)):
        raise Unusable("malformed lanes")
    if sum(sizes) != len(packed) - placed or not all(type(n) is int and n >= 0 for n in sizes):
        raise Unusable("malformed lanes")
    starts = [placed]
    for size in sizes:
        starts.append(starts[-1] + size)
    for template, block in enumerate(stacked):  # every text a lane reads is there, of the right type
        lane_names, lane_texts = names[template], texts[template]
        if type(lane_names) is not list or type(lane_texts) is not list:
            raise Unusable("malformed lanes")
        if len(lane_texts) != len(lane_names) * _texts_of(block) or not _all_text(lane_names, lane_texts):
            raise Unusable("malformed lanes")
    rare = [_rare(lanes, decoder) for lanes in rares]
    # each stacked block's lanes in the order stored: their keys, then where each block of the program is
    lane_keys = [
        [ir.BlockKey(rare[t][i][0] if i in rare[t] else "", name) for i, name in enumerate(names[t])]
        for t in range(len(stacked))
    ]
    templates, indexes = placement[0::2], placement[1::2]
    next_key = [iter(keys).__next__ for keys in lane_keys]
    order = [whole[i].key if t == -1 else next_key[t]() for t, i in zip(templates, indexes, strict=True)]
    built = {block.key: block for block in whole}
    pending: dict[ir.BlockKey, int] = {}
    for t, keys in enumerate(lane_keys):
        pending.update(dict.fromkeys(keys, t))
    lane_numbers: list[list[int]] = [[] for _ in stacked]
    for t, i in zip(templates, indexes, strict=True):
        if t != -1:
            lane_numbers[t].append(i)
    claimed = [list(zip(keys, numbers, strict=True)) for keys, numbers in zip(lane_keys, lane_numbers, strict=True)]
    if len(order) != len(set(order)) or len(built) + len(pending) != len(order):
        raise Unusable("malformed lanes")
    lanes = {
        block.key: tuple(order[p] for p in positions) for block, positions in zip(stacked, data["lanes"], strict=True)
    }

    def build(template: int) -> dict[ir.BlockKey, ir.Block]:
        ints = iter(packed[starts[template] : starts[template + 1]].tolist())
        reader = _LaneReader(files, ints, iter(texts[template]), lanes, rare[template])
        made = {}
        try:
            for index, (key, lane) in enumerate(claimed[template]):
                made[key] = reader.block(stacked[template], key, index, lane)
            if next(ints, None) is not None:
                raise Unusable("trailing data")
        except (Unusable, StopIteration, IndexError, TypeError, ValueError) as error:
            raise Damaged(entry_key, str(error)) from error
        return made

    kinds = {index: block.kind for index, block in enumerate(stacked)}
    lazy = ir.Lanes(pending, kinds, build)
    program = ir.Program(
        ir.LazyBlocks(order, built, lazy),
        tuple(order[p] for p in data["roots"]),
        _typed(decoder.value(data["expects"]), tuple, ir.Expect),
        sources,
        aliases=_typed(decoder.value(data["aliases"]), dict, str),
        warnings=_typed(decoder.value(data["program_warnings"]), tuple, Diagnostic),
        figures=_typed(decoder.value(data["figures"]), dict, ir.Figure),
        checks=_typed(decoder.value(data["checks"]), tuple, ir.Check),
    )
    groups = tuple(
        Group(tuple(order[p] for p in jobs), stacked[index].key if index >= 0 else None)
        for jobs, index in data["groups"]
    )
    with_stacked = ir.LazyBlocks([*order, *(b.key for b in stacked)], {**built, **{b.key: b for b in stacked}}, lazy)
    planned = attrs.evolve(program, blocks=with_stacked)
    warnings = _typed(decoder.value(data["warnings"]), tuple, Diagnostic)
    found = _typed(decoder.value(data["found"]), tuple, Diagnostic)
    return Compiled(program, Plan(planned, groups, lanes), warnings, found)


def _all_text(*columns: list[Any]) -> bool:
    return all(all(map(isinstance, column, itertools.repeat(str))) for column in columns)


def _rare(lanes: object, decoder: _Decoder) -> dict[int, tuple[str, str | None, tuple[str, ...], Any, Any]]:
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
        if not _all_text(citations) or type(checks) is not tuple or not all(type(c) is ir.Check for c in checks):
            raise Unusable("malformed lane")
        if not (base is None or type(base) is ir.BlockKey):
            raise Unusable("malformed lane")
        out[index] = (module, doc, tuple(citations), checks, base)
    return out


class Damaged(RuntimeError):
    """A lane that cannot be built from an entry whose checksum held (written by something else than
    nnci): found only when the lane is first read, so the command stops, and the entry is removed."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def _texts_of(template: ir.Block) -> int:
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


def _typed(value: Any, container: type, item: type) -> Any:
    if type(value) is not container:
        raise Unusable(f"not a {container.__name__}")
    items: Any = value.values() if isinstance(value, dict) else value
    if not all(type(v) is item for v in items):
        raise Unusable(f"not a {container.__name__} of {item.__name__}")
    return value


# -- entries on disk -------------------------------------------------------------------------------


def entries_dir() -> Path:
    return cache.cache_dir() / SUBFOLDER


def _entry(key: str) -> Path:
    return entries_dir() / f"{key}{SUFFIX}"


def wanted() -> bool:
    return os.environ.get("NNCI_NO_CACHE") is None


def serialise(compiled: Compiled, key: str, loaded: LoadedProgram) -> bytes:
    data, binary = encode(compiled)
    files = {module: _text_digest(text) for module, text in loaded.sources.items()}
    imports = {module: [[i.path, i.alias] for i in loaded.modules[module].imports] for module in loaded.modules}
    stored = {"files_read": files, "imports": imports, "bound": loaded.imports, "roots": list(loaded.roots),
              "program": data}  # fmt: skip
    text = json.dumps(stored, separators=(",", ":"), ensure_ascii=True, allow_nan=True).encode("ascii")
    payload = len(text).to_bytes(8, "little") + text + binary
    header = {"format": FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + b" " + json.dumps(header).encode("ascii") + b"\n" + payload


Entry = tuple[dict[str, Any], bytes]


def stand_in(entry: Entry) -> Callable[[str, str], ast.Module]:
    """What the loader takes instead of parsing: a file's module holding only its imports, provided its
    text hashes as stored (else Unusable: the entry is stale)."""
    files, imports = entry[0]["files_read"], entry[0]["imports"]
    if type(files) is not dict or type(imports) is not dict:
        raise Unusable("malformed entry")

    def module(text: str, key: str) -> ast.Module:
        written = imports.get(key)
        if files.get(key) != _text_digest(text) or type(written) is not list:
            raise Unusable(f"{key} changed")
        nowhere = Span(key, 1, 1, 1, 1)  # a loader diagnostic rejects the entry: no span is shown
        found = []
        for item in written:
            if type(item) is not list or len(item) != 2 or not all(type(v) is str for v in item):
                raise Unusable("malformed entry")
            found.append(ast.Import(item[0], item[1], nowhere))
        return ast.Module(key, None, tuple(found), (), ())

    return module


def same_files(entry: Entry, loaded: LoadedProgram) -> bool:
    """The loader, reading again, found exactly the files, roots and imports stored."""
    data = entry[0]
    return (
        not loaded.tables
        and not loaded.series
        and set(loaded.sources) == set(data["files_read"])
        and list(loaded.roots) == data["roots"]
        and loaded.imports == data["bound"]
    )


def _payload(raw: bytes, key: str) -> tuple[dict[str, Any], bytes]:
    first, newline, payload = raw.partition(b"\n")
    magic, _, header_text = first.partition(b" ")
    if magic != MAGIC or not newline:
        raise Unusable("not an nnci program entry")
    header = json.loads(header_text)
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        raise Unusable("another format or key")
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise Unusable("checksum mismatch")
    size = int.from_bytes(payload[:8], "little")
    data = json.loads(payload[8 : 8 + size])
    if not isinstance(data, dict):
        raise Unusable("malformed entry")
    return data, payload[8 + size :]


def get(key: str) -> Entry | None:
    """The entry stored under `key` (checked, not yet decoded), or None; a damaged entry is removed."""
    if not wanted():
        return None
    path = _entry(key)
    try:
        if not os.path.lexists(path) or not cache._private_folder(entries_dir(), create=False):
            return None
        raw = cache._read_entry(path, MAX_ENTRY_BYTES)
    except Exception:
        return None
    try:
        return _payload(raw, key)
    except Exception:
        cache._remove(path)
        return None


def drop(key: str) -> None:
    cache._remove(_entry(key))


def put(key: str, compiled: Compiled, loaded: LoadedProgram) -> None:
    """Store atomically; anything that cannot be stored (or written) is simply not cached."""
    import tempfile

    temporary: str | None = None
    try:
        if not wanted():
            return
        data = serialise(compiled, key, loaded)
        folder = entries_dir()
        if not cache._private_folder(folder, create=True):
            return
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=SUFFIX + ".tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, _entry(key))
        temporary = None
        cache.prune(folder, SUFFIX, MAX_ENTRIES)
    except Exception:
        return
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
