"""`nnci catalog`: list and search the standard library's records without reading its files.

Reads each std module through the loader (so the parsed-module cache applies) and shows the
figures as written in the catalog, with their source.
"""

from __future__ import annotations

import re

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
    described: str = ""  # what the record says it is (label, zone, vendor, provider, doc), lower case
    zone: str = ""  # a country code or grid zone, lower case
    year: float = 0.0

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
            found += [record(module.file, block) for block in module.blocks]
    return found, problems


def record(module: str, block: ast.Block) -> Record:
    """A block as the catalog shows and searches it."""
    values = {field.name: field.value for field in block.fields}
    figures = tuple(
        (name, _written(values[name]))
        for name in KEY_FIELDS.get(block.kind, ())
        if isinstance(values.get(name), ast.Number) or _is_range(values.get(name))
    )
    boundary = values.get("embodied_boundary")
    if isinstance(boundary, ast.String):  # embodied figures differ by up to ~40x with their boundary
        figures = tuple((n, f"{v} ({boundary.value})" if n == "embodied" else v) for n, v in figures)
    texts = [v.value for n, v in values.items() if n in TEXT_FIELDS and isinstance(v, ast.String)]
    sources = tuple(s.value for a in block.annotations for s in a.args if isinstance(s, ast.String))
    label = next((v.value for n, v in values.items() if n == "label" and isinstance(v, ast.String)), "")
    zone = values.get("zone")
    year = values.get("year") or values.get("release_year")
    words = " ".join([module, block.name, block.kind, *texts, *sources, block.doc or ""]).lower()
    described = " ".join([*texts, block.doc or ""]).lower()
    return Record(module, block.name, block.kind, label, figures, sources, words, described,
                  zone.value.lower() if isinstance(zone, ast.String) else "",
                  float(year.text.replace("_", "")) if isinstance(year, ast.Number) else 0.0)  # fmt: skip


def _is_range(value: ast.Expr | None) -> bool:
    """A figure the catalog gives as a distribution of published values (`uniform(1.14, 1.15)`)."""
    return isinstance(value, ast.Call) and all(isinstance(a, ast.Number) for a in value.args)


def _written(number: ast.Expr) -> str:
    if isinstance(number, ast.Call):
        return f"{number.func}({', '.join(_written(a) for a in number.args)})"
    assert isinstance(number, ast.Number)
    return f"{number.text} {number.unit}" if number.unit else number.text


# How well one word of a query matches a record, best first. A record ranks by its worst word: a
# query matched by names and descriptions comes before one matched only in the text of a source.
BY_NAME, BY_NAME_PART, BY_DESCRIPTION, BY_SOURCE = range(4)
TIERS = ("name", "name", "description", "source text")
_WORD = re.compile(r"[a-z0-9]+")


def word_tier(word: str, found: Record) -> int | None:
    """The tier at which `word` (lower case) matches the record, or None."""
    name_parts = found.name.lower().split("_")
    label_words = _WORD.findall(found.label.lower())
    if word in name_parts or word == found.zone or word in label_words or word == found.name.lower():
        return BY_NAME
    prefix = any(p.startswith(word) for p in name_parts + label_words)
    if prefix or (len(word) >= 3 and word in found.name.lower()):  # `us` is not a match inside `industry`
        return BY_NAME_PART
    if word in _WORD.findall(found.described) or word == found.kind:
        return BY_DESCRIPTION
    if word in found.words:
        return BY_SOURCE
    return None


def rank(query: str, candidates: list[Record]) -> list[tuple[int, Record]]:
    """The records matching every word of the query, best first, each with its tier: the worst of its
    words' tiers. Within a tier: a record whose label or zone is the query itself, then the most
    words matched by name, then the newest."""
    words = query.lower().split()
    phrase = " ".join(words)
    ranked = []
    for found in candidates:
        tiers = [word_tier(w, found) for w in words]
        if any(t is None for t in tiers):
            continue
        known = [t for t in tiers if t is not None]
        exact = phrase in (found.label.lower(), found.zone, found.name.lower())
        key = (max(known, default=BY_NAME), not exact, sum(known), -found.year, found.module, found.name)
        ranked.append((key, found))
    ranked.sort(key=lambda pair: pair[0])
    return [(key[0], found) for key, found in ranked]


@attrs.frozen
class Hits:
    """The records a search shows (the best group, best first) and how many more it found, by how
    they matched: past the limit, by description only, or only in the text of their sources."""

    shown: list[Record]
    more: tuple[tuple[str, int], ...] = ()


SHOWN = 25
GROUPS = {BY_NAME: "by name", BY_NAME_PART: "by name", BY_DESCRIPTION: "by description only",
          BY_SOURCE: "only in the text of their sources"}  # fmt: skip


def search(query: str, kind: str | None = None, everything: bool = False) -> tuple[Hits, list[Diagnostic]]:
    """Records of `kind` (strictly) matching every word of the query: the best group of matches (by name,
    label or zone; else by description; else in source text), best first, and counts of the rest."""
    found, problems = records()
    candidates = [r for r in found if kind is None or r.kind == kind]
    if not query.split():
        return Hits(candidates), problems
    ranked = rank(query, candidates)
    if everything or not ranked:
        return Hits([r for _, r in ranked]), problems
    best = GROUPS[ranked[0][0]]
    shown = [r for tier, r in ranked if GROUPS[tier] == best]
    more: dict[str, int] = {}
    if len(shown) > SHOWN:
        more["of these"] = len(shown) - SHOWN
    for tier, _ in ranked:
        if GROUPS[tier] != best:
            more["matched " + GROUPS[tier]] = more.get("matched " + GROUPS[tier], 0) + 1
    return Hits(shown[:SHOWN], tuple(more.items())), problems


def render(hits: Hits, sources: bool = False) -> str:
    if not hits.shown:
        return "no records match"
    lines = []
    width = max(len(r.reference) for r in hits.shown)
    for found in hits.shown:
        figures = ", ".join(f"{name} {value}" for name, value in found.figures)
        lines.append(f"{found.reference.ljust(width)}  {found.kind:<10}  {found.label}".rstrip())
        if figures:
            lines.append(f"{' ' * width}  {'':<10}  {figures}")
        if sources:
            lines += [f"{' ' * width}  {'':<10}  source: {s}" for s in found.sources]
    count = len(hits.shown)
    lines.append(f'\n{count} record{"s" if count != 1 else ""}; use one as `import "std/..." as x` then `x.name`')
    if hits.more:
        rest = ", ".join(f"{count} more {what}" for what, count in hits.more)
        lines.append(f"{rest} (`--all` lists them; more words narrow the search)")
    return "\n".join(lines)
