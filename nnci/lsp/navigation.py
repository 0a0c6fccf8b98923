"""What each name in a module stands for: the index behind go to definition, find references and hover.

Every block name, field name, dotted reference (each of its parts), map key that names a block,
amend base and import path of a module becomes an `Occurrence` pointing at a `Target`: a block of
some module, or one field (quantity) of it, or a module. Names are bound as `nnci.resolve` binds
them (a one-part name inside a block is its own quantity, `alias.name` a block of the imported
module, a `mix` key a generation source of std/sources), from the syntax trees alone, so the
index holds also when the program has errors.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from nnci import ast
from nnci.diagnostics import Span, source_lines
from nnci.load import PRELUDE
from nnci.load import Program as Loaded
from nnci.schema import SCHEMA

TOTAL = "total"  # the pseudo-block of sums over jobs (`total.operational`)


@attrs.frozen
class Target:
    """A block (`field` None) or one of its fields, in the module it is written in; or a module
    (`block` None): what an import names."""

    module: str
    block: str | None = None
    field: str | None = None


@attrs.frozen
class Occurrence:
    span: Span  # the characters of the name itself
    target: Target
    definition: bool = False  # where the target is defined (a block's name, a field's name)
    kind: str = ""  # block, field, reference, key, base, import, alias, kind


@attrs.frozen
class Index:
    module: str
    occurrences: tuple[Occurrence, ...]

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under an nnci line and column (the innermost; a name's end counts too)."""
        best: Occurrence | None = None
        for item in self.occurrences:
            span = item.span
            here = span.line == line and span.column <= column <= span.end_column
            if here and (best is None or span.end_column - span.column < best.span.end_column - best.span.column):
                best = item
        return best


def index(loaded: Loaded, module_key: str, memo: dict[object, object] | None = None) -> Index:
    """The occurrences of one module of a loaded program (kept in `memo`, an analysis's, when given)."""
    if memo is not None and ("index", module_key) in memo:
        found = memo["index", module_key]
        assert isinstance(found, Index)
        return found
    built = _index(loaded, module_key, loaded.modules.get(module_key))
    if memo is not None:
        memo["index", module_key] = built
    return built


def _index(loaded: Loaded, module_key: str, module: ast.Module | None) -> Index:
    if module is None:
        return Index(module_key, ())
    binder = _Binder(loaded, module_key)
    found: list[Occurrence] = []
    for statement in module.imports:
        found.extend(binder.import_path(statement))
    for block in module.blocks:
        found.append(Occurrence(block.name_span, Target(module_key, block.name), True, "block"))
        found.append(Occurrence(binder.kind_span(block), Target(module_key, block.name), False, "kind"))
        if block.base is not None:
            found.extend(binder.reference(block.base, None, "base"))
        for annotation in block.annotations:
            for arg in annotation.args:
                found.extend(binder.expression(arg, block))
        for field in block.fields:
            found.append(Occurrence(_head(field.span, len(field.name)), Target(module_key, block.name, field.name),
                                    True, "field"))  # fmt: skip
            spec = SCHEMA.get(block.kind, {}).get(field.name)
            if isinstance(field.value, ast.MapExpr) and spec is not None and spec.target is not None:
                found.extend(binder.map_keys(field.value, spec.target, block))
            elif isinstance(field.value, ast.Ref) and spec is not None and spec.type in ("ref", "fleet", "map"):
                found.extend(binder.reference(field.value, None, "reference"))
            else:
                found.extend(binder.expression(field.value, block))
        for check in block.checks:
            found.extend(binder.expression(check.condition.left, block))
            found.extend(binder.expression(check.condition.right, block))
    for figure in module.figures:
        found.append(Occurrence(_figure_name(figure), Target(module_key, figure.name), True, "block"))
        found.extend(binder.expression(figure.value, None))
    for expect in module.expects:
        for expr in (expect.target, expect.value, expect.tolerance):
            if expr is not None:
                found.extend(binder.expression(expr, None))
    for check in module.checks:
        found.extend(binder.expression(check.condition.left, None))
        found.extend(binder.expression(check.condition.right, None))
    return Index(module_key, tuple(found))


def _head(span: Span, width: int) -> Span:
    """The first `width` characters of a span: a field's name, a block's kind keyword."""
    return Span(span.file, span.line, span.column, span.line, span.column + width)


def _figure_name(figure: ast.Figure) -> Span:
    column = figure.span.column + len("figure ")
    return Span(figure.span.file, figure.span.line, column, figure.span.line, column + len(figure.name))


class _Binder:
    def __init__(self, loaded: Loaded, module_key: str) -> None:
        self.loaded = loaded
        self.module_key = module_key
        self.module = loaded.modules[module_key]
        self.aliases = loaded.imports.get(module_key, {})
        self.names = {b.name for b in self.module.blocks} | {f.name for f in self.module.figures}
        self.text = loaded.sources.get(module_key, "")

    def line(self, number: int) -> str:
        lines = source_lines(self.text)
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def kind_span(self, block: ast.Block) -> Span:
        """The kind keyword before the block's name (`training` in `training gpt3 {`)."""
        name = block.name_span
        before = self.line(name.line)[: name.column - 1].rstrip()
        return Span(name.file, name.line, len(before) - len(block.kind) + 1, name.line, len(before) + 1)

    def import_path(self, statement: ast.Import) -> Iterator[Occurrence]:
        target = self.aliases.get(statement.alias)
        if target is None:
            return
        span = statement.span
        line = self.line(span.line)
        start = line.find('"', span.column - 1)
        end = line.find('"', start + 1) if start >= 0 else -1
        if start >= 0 and end > start:
            yield Occurrence(Span(span.file, span.line, start + 2, span.line, end + 1), Target(target), False, "import")
        alias_at = line.rfind(statement.alias)
        if alias_at >= 0:
            column = alias_at + 1
            yield Occurrence(Span(span.file, span.line, column, span.line, column + len(statement.alias)),
                             Target(target), True, "alias")  # fmt: skip

    def block_target(self, parts: tuple[str, ...]) -> tuple[list[Target], int]:
        """The targets of the leading parts of a dotted name, and how many parts name a block."""
        if parts[0] in self.aliases:
            module = self.aliases[parts[0]]
            if len(parts) == 1:
                return [Target(module)], 1
            return [Target(module), Target(module, parts[1])], 2
        if parts[0] in self.names:
            return [Target(self.module_key, parts[0])], 1
        return [], 0

    def reference(self, ref: ast.Ref, block: ast.Block | None, kind: str) -> Iterator[Occurrence]:
        parts = ref.parts
        spans = self.part_spans(ref)
        if block is not None and len(parts) == 1 and parts[0] not in self.names:
            spec = SCHEMA.get(block.kind, {}).get(parts[0])
            if spec is not None and spec.type == "quantity":  # its own quantity, late-bound
                yield Occurrence(spans[0], Target(self.module_key, block.name, parts[0]), False, kind)
            return
        if parts[0] == TOTAL and parts[0] not in self.names:  # `total.energy`: the sum over the jobs
            if len(parts) == 2:
                yield Occurrence(spans[1], Target(self.module_key, TOTAL, parts[1]), False, "total")
            return
        targets, used = self.block_target(parts)
        for span, target in zip(spans, targets, strict=False):
            yield Occurrence(span, target, False, "alias" if target.block is None else kind)
        if used and len(parts) > used and targets[-1].block is not None:
            field = Target(targets[-1].module, targets[-1].block, parts[used])
            yield Occurrence(spans[used], field, False, kind)

    def map_keys(self, value: ast.MapExpr, target_kind: str, block: ast.Block) -> Iterator[Occurrence]:
        for entry in value.entries:
            parts = tuple(entry.key.split("."))
            width = len(entry.key)
            ref = ast.Ref(parts, Span(entry.span.file, entry.span.line, entry.span.column, entry.span.line,
                                      entry.span.column + width))  # fmt: skip
            if target_kind == "source" and len(parts) == 1 and parts[0] not in self.names:
                if PRELUDE in self.loaded.modules:
                    yield Occurrence(ref.span, Target(PRELUDE, parts[0]), False, "key")
            else:
                yield from self.reference(ref, None, "key")
            yield from self.expression(entry.value, block)

    def expression(self, expr: ast.Expr, block: ast.Block | None) -> Iterator[Occurrence]:
        for node in ast.subexpressions(expr):
            if isinstance(node, ast.Ref):
                yield from self.reference(node, block, "reference")

    def part_spans(self, ref: ast.Ref) -> list[Span]:
        """The span of each part of a dotted name (written without spaces: `hw.a100.tdp`)."""
        span = ref.span
        spans, column = [], span.column
        for part in ref.parts:
            spans.append(Span(span.file, span.line, column, span.line, column + len(part)))
            column += len(part) + 1
        return spans


# -- definitions and references ----------------------------------------------------------------


def block_of(loaded: Loaded, module: str, name: str) -> ast.Block | None:
    found = loaded.modules.get(module)
    return next((b for b in found.blocks if b.name == name), None) if found is not None else None


def definition(loaded: Loaded, target: Target) -> Span | None:
    """Where a target is written: a block's name; a field as written in the block, else in its amend's
    base (and the base's base), else the block's name (a quantity nnci derives); a module's first line."""
    if target.block is None:
        return Span(target.module, 1, 1, 1, 1) if target.module in loaded.sources else None
    seen: set[tuple[str, str]] = set()
    module, name = target.module, target.block
    while (module, name) not in seen:
        seen.add((module, name))
        block = block_of(loaded, module, name)
        if block is None:
            figure = _figure(loaded, module, name)
            return _figure_name(figure) if figure is not None else None
        if target.field is None:
            return block.name_span
        field = next((f for f in block.fields if f.name == target.field), None)
        if field is not None:
            return _head(field.span, len(field.name))
        if block.base is None:
            return block.name_span
        binder = _Binder(loaded, module)
        targets, used = binder.block_target(block.base.parts)
        if not used or targets[-1].block is None:
            return block.name_span
        module, name = targets[-1].module, targets[-1].block
    return None


def _figure(loaded: Loaded, module: str, name: str) -> ast.Figure | None:
    found = loaded.modules.get(module)
    return next((f for f in found.figures if f.name == name), None) if found is not None else None


def references(indexes: list[Index], target: Target, include_definition: bool = True) -> list[Span]:
    """Every occurrence of a target across the indexes given (kind keywords are not references)."""
    spans = []
    for found in indexes:
        for item in found.occurrences:
            if item.target == target and item.kind != "kind" and (include_definition or not item.definition):
                spans.append(item.span)
    return list(dict.fromkeys(spans))
