"""`nnci catalog`: list and search the standard library's records without reading its files.

Reads each std module through the loader (so the parsed-module cache applies) and shows the
figures as written in the catalog, with their source.
"""

from __future__ import annotations

import attrs

from nnci import ast
from nnci.diagnostics import Diagnostic
from nnci.load import STD_PREFIX, load
from nnci.resources import std_dir
from nnci.schema import BLOCK_KINDS

# The figures shown per kind, and the text fields a query searches, as the schema declares them.
KEY_FIELDS = {name: kind.catalog for name, kind in BLOCK_KINDS.items()}
TEXT_FIELDS = tuple(dict.fromkeys(s.name for kind in BLOCK_KINDS.values() for s in kind.fields if s.type == "string"))


@attrs.frozen
class Record:
    module: str  # e.g. std/hardware
    name: str
    kind: str
    label: str
    figures: tuple[tuple[str, str], ...]  # (field, value as written)
    sources: tuple[str, ...]
    words: str  # everything a query may match, lower case

    @property
    def reference(self) -> str:
        return f"{self.module}.{self.name}"


def records() -> tuple[list[Record], list[Diagnostic]]:
    found: list[Record] = []
    problems: list[Diagnostic] = []
    for path in sorted(std_dir().glob("*.nnci")):
        program, diagnostics = load([path])
        problems += diagnostics
        module = program.modules.get(STD_PREFIX + path.stem)
        if module is not None:
            found += [_record(module.file, block) for block in module.blocks]
    return found, problems


def _record(module: str, block: ast.Block) -> Record:
    values = {field.name: field.value for field in block.fields}
    figures = tuple(
        (name, _written(values[name]))
        for name in KEY_FIELDS.get(block.kind, ())
        if isinstance(values.get(name), ast.Number)
    )
    boundary = values.get("embodied_boundary")
    if isinstance(boundary, ast.String):  # embodied figures differ by up to ~40x with their boundary
        figures = tuple((n, f"{v} ({boundary.value})" if n == "embodied" else v) for n, v in figures)
    texts = [v.value for n, v in values.items() if n in TEXT_FIELDS and isinstance(v, ast.String)]
    sources = tuple(s.value for a in block.annotations for s in a.args if isinstance(s, ast.String))
    label = next((v.value for n, v in values.items() if n == "label" and isinstance(v, ast.String)), "")
    words = " ".join([module, block.name, block.kind, *texts, *sources, block.doc or ""]).lower()
    return Record(module, block.name, block.kind, label, figures, sources, words)


def _written(number: ast.Expr) -> str:
    assert isinstance(number, ast.Number)
    return f"{number.text} {number.unit}" if number.unit else number.text


def search(query: str, kind: str | None = None) -> tuple[list[Record], list[Diagnostic]]:
    """Records whose name, label, vendor, zone or source contain every word of the query."""
    found, problems = records()
    words = query.lower().split()
    hits = [r for r in found if all(w in r.words for w in words) and (kind is None or r.kind == kind)]
    return hits, problems


def render(hits: list[Record], sources: bool = False) -> str:
    if not hits:
        return "no records match"
    lines = []
    width = max(len(r.reference) for r in hits)
    for record in hits:
        figures = ", ".join(f"{name} {value}" for name, value in record.figures)
        lines.append(f"{record.reference.ljust(width)}  {record.kind:<10}  {record.label}".rstrip())
        if figures:
            lines.append(f"{' ' * width}  {'':<10}  {figures}")
        if sources:
            lines += [f"{' ' * width}  {'':<10}  source: {s}" for s in record.sources]
    lines.append(
        f'\n{len(hits)} record{"s" if len(hits) != 1 else ""}; use one as `import "std/..." as x` then `x.name`'
    )
    return "\n".join(lines)
