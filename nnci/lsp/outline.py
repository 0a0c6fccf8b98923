"""The outline of a document (its blocks with their kind, fields as children; imports, figures and
expectations), and `nnci fmt` as edits to the editor's text."""

from __future__ import annotations

import attrs

from nnci import ast
from nnci.diagnostics import Diagnostic, Span
from nnci.formatting import format_text


@attrs.frozen
class Symbol:
    name: str
    kind: str  # module (an import), block kind (grid, training, ...), field, figure, expect
    detail: str
    span: Span  # the whole statement
    name_span: Span  # what the editor selects
    children: tuple[Symbol, ...] = ()


def outline(module: ast.Module, text: str) -> list[Symbol]:
    lines = text.split("\n")
    symbols = [Symbol(statement.alias, "module", statement.path, statement.span, statement.span)
               for statement in module.imports]  # fmt: skip
    for block in module.blocks:
        fields = tuple(
            Symbol(f.name, "field", _written(lines, f), f.span,
                   Span(f.span.file, f.span.line, f.span.column, f.span.line, f.span.column + len(f.name)))
            for f in block.fields
        )  # fmt: skip
        symbols.append(Symbol(block.name, block.kind, block.kind, block.span, block.name_span, fields))
    for figure in module.figures:
        symbols.append(Symbol(figure.name, "figure", "figure", figure.span, figure.span))
    for expect in module.expects:
        shown = lines[expect.span.line - 1].strip() if expect.span.line <= len(lines) else "expect"
        symbols.append(Symbol(shown.removeprefix("expect ").split("=")[0].strip() or "expect", "expect", shown,
                              expect.span, expect.span))  # fmt: skip
    return sorted(symbols, key=lambda s: (s.span.line, s.span.column))


def _written(lines: list[str], field: ast.Field) -> str:
    """The value as written (the rest of the field's first line after `=`)."""
    if field.span.line > len(lines):
        return ""
    line = lines[field.span.line - 1]
    value = line[field.span.column - 1 :].partition("=")[2]
    return value.split(" #")[0].strip()


@attrs.frozen
class Edit:
    """Replace the text between two offsets of the document."""

    start: int
    end: int
    text: str


def formatting_edits(text: str, key: str) -> tuple[list[Edit], tuple[Diagnostic, ...]]:
    """`nnci fmt` as edits: none when the text is canonical or does not parse (the diagnostics say why).
    One edit covers the lines that differ, so the editor keeps its cursor and marks elsewhere."""
    formatted = format_text(text, key)
    if formatted.diagnostics or formatted.formatted == text:
        return [], formatted.diagnostics
    new = formatted.formatted
    prefix = 0
    limit = min(len(text), len(new))
    while prefix < limit and text[prefix] == new[prefix]:
        prefix += 1
    prefix = text.rfind("\n", 0, prefix) + 1  # whole lines
    suffix = 0
    while suffix < limit - prefix and text[len(text) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    end_old, end_new = len(text) - suffix, len(new) - suffix
    return [Edit(prefix, end_old, new[prefix:end_new])], ()
