"""What hovering a name shows, as Markdown: nnci's figures where the cursor is.

On a field (or a reference to one): its value with its unit, the formula or the line it was
written on, the citation or `@source`, and the derivation tree `nnci explain` prints. On a job's
name: its headline figures. On a catalog record or any other block: its key figures and source.
On a kind keyword: what that kind of block is. On an import: the module. On a number with a
unit: its value in the unit results use for that dimension.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from nnci import ast, ir
from nnci.catalog import record
from nnci.diagnostics import Span
from nnci.engine import Derivation, Result, Unknown
from nnci.lsp.analysis import Analysis
from nnci.lsp.navigation import Occurrence, Target, block_of, index
from nnci.output import explain, unit_for, unknown_reason
from nnci.provenance import data_source
from nnci.quantity import Quantity
from nnci.schema import BLOCK_KINDS, QUANTITIES, REPORTED, SCHEMA
from nnci.units import UnitError, display_unit, parse_unit

TREE_LINES = 24  # a longer derivation is cut, with a pointer to `nnci explain`


@attrs.frozen
class Hover:
    markdown: str
    span: Span  # the name hovered


def hover(analysis: Analysis, line: int, column: int) -> Hover | None:
    """The hover at an nnci line and column of the analysed document, or None where there is nothing."""
    found = index(analysis.loaded, analysis.key, analysis.memo).at(line, column)
    if found is None:
        return _number(analysis, line, column)
    text = describe(analysis, found)
    return Hover(text, found.span) if text else None


def _number(analysis: Analysis, line: int, column: int) -> Hover | None:
    """On a number with a unit: what it is in the unit results use for its dimension (`14.8 days` is
    355.2 h), and the dimension."""
    module = analysis.module()
    if module is None:
        return None
    for number in _numbers(module):
        span = number.span
        if span.line == line and span.column <= column <= span.end_column and number.unit:
            try:
                unit = parse_unit(number.unit)
            except UnitError:
                return None
            value = Quantity(number.value * unit.factor, unit.dimension)
            shown = value.format(display_unit(unit.dimension))
            return Hover(f"`{number.text} {number.unit}` = {shown} ({unit.dimension.describe()})", span)
    return None


def _numbers(module: ast.Module) -> Iterator[ast.Number]:
    roots: list[ast.Expr] = [f.value for b in module.blocks for f in b.fields]
    roots += [e for x in module.expects for e in (x.target, x.value, x.tolerance) if e is not None]
    roots += [f.value for f in module.figures]
    roots += [e for c in (*module.checks, *(c for b in module.blocks for c in b.checks))
              for e in (c.condition.left, c.condition.right)]  # fmt: skip
    for expr in roots:
        yield from (node for node in ast.subexpressions(expr) if isinstance(node, ast.Number))


def describe(analysis: Analysis, found: Occurrence) -> str | None:
    target = found.target
    if found.kind == "kind" and target.block is not None:
        block = block_of(analysis.loaded, target.module, target.block)
        return _kind(block.kind) if block is not None else None
    if target.block is None:
        return _module(analysis, target)
    if found.kind == "total" and target.field is not None:
        return _total(analysis, target.field)
    if target.field is not None:
        return _field(analysis, target)
    return _block(analysis, target)


def readable(name: str, value: Quantity) -> str:
    """A value in the unit results give its quantity in (MWh, tCO2e once large: as `nnci run`)."""
    unit = unit_for(name, value.dimension, {})
    spec = QUANTITIES.get(name)
    if spec is not None and spec.large is not None and spec.dim == value.dimension:
        large, threshold = spec.large
        try:
            if abs(float(value.to(spec.report_unit))) >= threshold:
                unit = large
        except (TypeError, ValueError):  # a series or an array: the default unit
            pass
    return value.format(unit)


def _kind(kind: str) -> str:
    spec = BLOCK_KINDS[kind]
    fields = ", ".join(f"`{s.name}`" for s in spec.fields)
    return f"**{kind}**: {spec.doc}\n\nfields: {fields}"


def _module(analysis: Analysis, target: Target) -> str:
    module = analysis.loaded.modules.get(target.module)
    if module is None:
        table = analysis.loaded.tables.get(target.module)
        return f"**{target.module}**" + (f": a table of {table.rows:,} rows" if table is not None else "")
    kinds: dict[str, int] = {}
    for block in module.blocks:
        kinds[block.kind] = kinds.get(block.kind, 0) + 1
    counted = ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
    return f"**{target.module}**: {len(module.blocks):,} blocks ({counted or 'none'})"


def _field(analysis: Analysis, target: Target) -> str | None:
    assert target.block is not None and target.field is not None
    block = block_of(analysis.loaded, target.module, target.block)
    kind = block.kind if block is not None else None
    spec = SCHEMA.get(kind or "", {}).get(target.field)
    head = f"**`{target.block}.{target.field}`**"
    doc = f"*{spec.doc}*" if spec is not None else None
    if spec is not None and spec.type != "quantity":  # a name, a map, a method, a text
        written = next((f for f in block.fields if f.name == target.field), None) if block else None
        shown = (
            analysis.loaded.sources.get(written.span.file, "").split("\n")[written.span.line - 1].strip()
            if written
            else None
        )
        return "\n\n".join(x for x in (head, doc, f"`{shown}`" if shown else None) if x)
    result = _derive(analysis, target)
    if result is None:
        return "\n\n".join(x for x in (head, doc, "(not evaluated: the file has errors)") if x)
    return "\n\n".join(x for x in (_derivation(analysis, result, head), doc) if x)


def _total(analysis: Analysis, name: str) -> str | None:
    """`total.<quantity>`: the sum over every job, as `nnci run` reports it."""
    results = analysis.results
    head = f"**`total.{name}`** (the sum over every job)"
    if results is None:
        return f"{head}: not evaluated (the file has errors)"
    result = results.total.get(name)
    if result is None and analysis.engine is not None:
        try:
            result = results.engine.quantity(ir.TOTAL, name)
        except Exception:
            return None
    return _derivation(analysis, result, head) if result is not None else None


def _derive(analysis: Analysis, target: Target) -> Result | None:
    assert target.block is not None and target.field is not None
    engine, program = analysis.engine, analysis.program
    key = analysis.block_key(target.module, target.block)
    if engine is None or program is None or key not in program.blocks:
        return None
    try:
        return engine.quantity(key, target.field)
    except Exception:  # a program with errors may hold what the engine was never meant to see
        return None


def _derivation(analysis: Analysis, result: Result, head: str) -> str:
    if isinstance(result, Unknown):
        return f"{head} is unknown: {unknown_reason(result)}"
    lines = [f"{head} = {readable(result.name, result.value)}"]
    if result.formula is not None:
        lines.append(f"formula `{result.formula.name}`: {result.formula.equation}")
        lines.append(f"citation: {result.formula.citation}")
    elif result.span is not None:
        lines.append(f"given at {result.span}")
        program = analysis.program
        sources = data_source(program, result) if program is not None else ()
        if sources:
            lines.append("source: " + "; ".join(sources))
    if result.note:
        lines.append(f"({result.note})")
    if result.inputs:
        tree = explain(result, analysis.loaded.sources, analysis.program).split("\n")
        if len(tree) > TREE_LINES:
            tree = [*tree[:TREE_LINES], f"… ({len(tree) - TREE_LINES} more lines: nnci explain)"]
        lines.append("```text\n" + "\n".join(tree) + "\n```")
    return "\n\n".join(lines)


def _block(analysis: Analysis, target: Target) -> str | None:
    assert target.block is not None
    block = block_of(analysis.loaded, target.module, target.block)
    if block is None:
        return _figure(analysis, target)
    key = analysis.block_key(target.module, target.block)
    where = "" if key.module == "" else f" ({target.module})"
    head = f"**{block.kind} `{target.block}`**{where}"
    parts = [head]
    if block.doc:
        parts.append(block.doc)
    if BLOCK_KINDS[block.kind].job:
        parts.append(_headline(analysis, key))
        return "\n\n".join(parts)
    found = record(target.module, block)
    if found.label:
        parts[0] += f": {found.label}"
    if block.base is not None:
        parts.append(f"amends `{block.base.dotted}`")
    figures = _key_figures(analysis, key, block.kind) or [f"- `{name}` = {value}" for name, value in found.figures]
    if figures:
        parts.append("\n".join(figures))
    resolved = analysis.program.blocks.get(key) if analysis.program is not None else None
    sources = resolved.citations if resolved is not None else found.sources
    if sources:
        parts.append("source: " + "; ".join(sources))
    return "\n\n".join(parts)


def _key_figures(analysis: Analysis, key: ir.BlockKey, kind: str) -> list[str]:
    """The figures `nnci catalog` shows for the kind, as the engine has them (an amend's own and those
    it inherits, in the unit results give them in); none when the block was not resolved."""
    engine, program = analysis.engine, analysis.program
    if engine is None or program is None or key not in program.blocks:
        return []
    shown = []
    for name in BLOCK_KINDS[kind].catalog:
        try:
            result = engine.quantity(key, name)
        except Exception:  # a figure the engine cannot reach in a program with errors: not shown
            continue
        if isinstance(result, Derivation):
            shown.append(f"- `{name}` = {readable(name, result.value)}")
    return shown


def _headline(analysis: Analysis, key: ir.BlockKey) -> str:
    """A job's energy, operational, embodied and total carbon, as `nnci run` reports them."""
    results = analysis.results
    job = next((j for j in results.jobs if j.key == key), None) if results is not None else None
    quantities: dict[str, Result] = dict(job.quantities) if job is not None else {}
    engine = analysis.engine
    rows = []
    for name in REPORTED:
        result = quantities.get(name)
        if result is None and engine is not None and analysis.program is not None and key in analysis.program.blocks:
            result = engine.quantity(key, name)
        if result is None:
            rows.append(f"| {name} | (not evaluated: the file has errors) |")
        elif isinstance(result, Unknown):
            rows.append(f"| {name} | unknown: {unknown_reason(result)} |")
        else:
            rows.append(f"| {name} | {readable(name, result.value)} |")
    return "| figure | value |\n|---|---:|\n" + "\n".join(rows)


def _figure(analysis: Analysis, target: Target) -> str | None:
    assert target.block is not None
    engine = analysis.engine
    if engine is None or analysis.program is None or target.block not in analysis.program.figures:
        return None
    result = engine.quantity(ir.FIGURE, target.block)
    return _derivation(analysis, result, f"**figure `{target.block}`**")


__all__ = ["Hover", "hover", "readable"]
