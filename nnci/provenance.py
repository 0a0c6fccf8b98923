"""Where the numbers come from: the data source of each given value and the bibliography of a report.

A value written in a block with `@source(...)` (every catalog record has one) carries that source;
a formula carries its citation. `explain` shows both beside each node, `run --sources` lists every
source and citation the reported figures rest on: what a paper's carbon statement must cite.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from nnci import ir
from nnci.diagnostics import Span
from nnci.engine import Derivation, Result


def _contains(outer: Span, inner: Span) -> bool:
    return outer.file == inner.file and (outer.line, outer.column) <= (inner.line, inner.column) <= (
        outer.end_line,
        outer.end_column,
    )


def _own_citations(program: ir.Program, block: ir.Block) -> tuple[str, ...]:
    """The block's own `@source`: an amend without one inherits its base's, which cites the base's values only."""
    base = program.blocks.get(block.base) if block.base is not None else None
    if base is not None and block.citations == base.citations:
        return ()
    return block.citations


def data_source(program: ir.Program, node: Derivation) -> tuple[str, ...]:
    """The `@source` of the block a given value was written in (an amend's base, for a value it inherits;
    the job, for the counts of an inline fleet); () for a formula's result or a value without a source."""
    if node.formula is not None or node.span is None:
        return ()
    key: ir.BlockKey | None = node.block
    seen: set[ir.BlockKey] = set()
    while key is not None and key not in seen:
        seen.add(key)
        block = program.blocks.get(key)
        if block is None:
            return ()
        owner, dot, _ = key.name.partition(".")
        if dot and not block.citations:  # `job.fleet`, an inline map of the job
            key = ir.BlockKey(key.module, owner)
            continue
        if _contains(block.span, node.span):
            return _own_citations(program, block)
        key = block.base
    return ()


@attrs.frozen
class Reference:
    """One entry of a bibliography: the text cited, whether it is a data source or a formula's
    citation, and the figures that rest on it."""

    text: str
    kind: str  # "data" or "formula"
    used_by: tuple[str, ...]


def bibliography(program: ir.Program, figures: Iterable[Result]) -> list[Reference]:
    """Every data source and formula citation beneath the figures, in the order first met."""
    used: dict[tuple[str, str], dict[str, None]] = {}
    seen: set[tuple[ir.BlockKey, str]] = set()
    stack = [f for f in figures if isinstance(f, Derivation)][::-1]
    while stack:
        node = stack.pop()
        if (node.block, node.name) in seen:
            continue
        seen.add((node.block, node.name))
        if node.formula is not None:
            used.setdefault((node.formula.citation, "formula"), {})[f"{node.formula.name}"] = None
        for text in data_source(program, node):
            used.setdefault((text, "data"), {})[node.label] = None
        stack.extend(reversed(node.inputs))
    return [Reference(text, kind, tuple(by)) for (text, kind), by in used.items()]


def render(references: list[Reference]) -> str:
    """The bibliography as text: data sources first, then formula citations, each with what used it."""
    if not references:
        return "sources: none (no figure rests on a value with `@source` or on a formula)"
    lines = ["sources:"]
    ordered = [r for r in references if r.kind == "data"] + [r for r in references if r.kind == "formula"]
    for number, reference in enumerate(ordered, 1):
        shown = ", ".join(reference.used_by[:4]) + (
            f" and {len(reference.used_by) - 4} more" if len(reference.used_by) > 4 else ""
        )
        what = "data for" if reference.kind == "data" else "formula"
        lines.append(f"  [{number}] {reference.text}")
        lines.append(f"      {what}: {shown}")
    return "\n".join(lines)
