"""What may be typed at the cursor, read from the declarations: block kinds and statements at the top
level, the fields a kind accepts (with their dimension) inside a block, units after a number (those
of the field's dimension first), the records of an imported module after `alias.`, a block's
quantities after `block.`, the methods after `method =`, blocks of the kind a field or a map key
names, the jobs and figures in `expect`, `check` and `figure` lines, the arguments of `group(` in
turn, and modules in an import path.

The context comes from the text before the cursor, not the syntax tree: a file being typed rarely
parses, and the innermost open `{` says whether the cursor is in a block (and of which kind) or
in a map.
"""

from __future__ import annotations

import functools
import re

import attrs

from nnci.formulas import all_formulas
from nnci.lsp.analysis import Analysis
from nnci.schema import BLOCK_KINDS, METHODS, QUANTITIES, SCHEMA, Spec
from nnci.units import UNITS, Dimension, UnitError, display_unit, parse_unit

STATEMENTS = ("import", "expect", "figure", "check")  # the top-level statements besides blocks


@attrs.frozen
class Item:
    label: str
    kind: str  # keyword, field, unit, module, record, method, block, quantity
    detail: str = ""
    documentation: str = ""
    insert: str | None = None  # the text to insert, when not the label


_HEADER = re.compile(r"^\s*(?:@\w+\([^)]*\)\s*)*([A-Za-z_]\w*)\s+([A-Za-z_]\w*)(?:\s*=\s*[\w.]+)?\s*$")
_FIELD_START = re.compile(r"^\s*([A-Za-z_]\w*)?$")
_DOTTED = re.compile(r"([A-Za-z_][\w.]*)\.(\w*)$")
_AFTER_NUMBER = re.compile(r"(?:^|[\s=(,*/+-])\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\s+([^\s]*)$")
_IMPORT = re.compile(r'^\s*import\s+"([^"]*)$')
_TOP_EXPRESSION = re.compile(r"^\s*(?:expect|check|figure\s+\w+\s*=)\s(?:.*[\s(*/+-])?\w*$")
_VALUE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([\w.]*)$")
# inside `group(job.figure, alias.column, "name"`: which argument is being typed
_GROUP = re.compile(r'\bgroup\(\s*(?:([\w.]+)\s*,\s*(?:([\w.]+)\s*,\s*"([^"]*)|[\w.]*)|[\w.]*)$')


def complete(analysis: Analysis | None, text: str, line: int, column: int) -> list[Item]:
    """The completions at an nnci line and column of `text` (the document as the editor holds it)."""
    lines = text.split("\n")
    before_line = lines[line - 1][: column - 1] if 0 < line <= len(lines) else ""
    before = "\n".join([*lines[: line - 1], before_line])
    kind, in_map, field = _context(before)
    if kind is None and (match := _IMPORT.match(before_line)) is not None:
        return _imports(analysis, match.group(1))
    if (match := _AFTER_NUMBER.search(before_line)) is not None:
        return _units(_field_dimension(kind, field or _field_name(before_line)), match.group(1))
    if kind is None and (match := _GROUP.search(before_line)) is not None:
        return _group_arguments(analysis, match.group(1), match.group(2), match.group(3) is not None)
    if (match := _DOTTED.search(before_line)) is not None:
        return _members(analysis, match.group(1))
    if (match := _VALUE.match(before_line)) is not None and kind is not None:
        return _values(analysis, kind, match.group(1))
    if in_map and kind is not None and field is not None and re.search(r"(?:^|[{,])\s*(\w*)$", before_line):
        return _keys(analysis, kind, field)
    if kind is None and not in_map and (match := _TOP_EXPRESSION.match(before_line)) is not None:
        return _names(analysis)
    if _FIELD_START.match(before_line):
        if kind is None and not in_map:
            return _top_level()
        if kind is not None and not in_map:
            written = _written_fields(lines, line)
            return [item for item in _fields(kind) if item.label not in written]
    return []


_WRITTEN_FIELD = re.compile(r"^\s*([A-Za-z_]\w*)\s*=")


def _written_fields(lines: list[str], line: int) -> set[str]:
    """The fields already written in the block around line `line` (1-based), up to its header above and
    its closing brace below: a field is given once, so completion leaves those out."""
    names: set[str] = set()
    for number in range(line - 2, -1, -1):
        content = lines[number]
        if "{" in content and _HEADER.match(content.split("{", 1)[0]):
            break
        if (found := _WRITTEN_FIELD.match(content)) is not None:
            names.add(found.group(1))
    for content in lines[line:]:
        if content.lstrip().startswith("}"):
            break
        if (found := _WRITTEN_FIELD.match(content)) is not None:
            names.add(found.group(1))
    return names


def _context(before: str) -> tuple[str | None, bool, str | None]:
    """The kind of the innermost block open at the end of `before`, whether the innermost `{` is a
    map's, and the field that map is the value of."""
    stack: list[tuple[str | None, bool, str | None]] = []
    line_start = 0
    in_string = in_comment = False
    for index, char in enumerate(before):
        if in_comment:
            if char == "\n":
                in_comment = False
                line_start = index + 1
            continue
        if in_string:
            in_string = char != '"' or before[index - 1] == "\\"
            continue
        if char == '"':
            in_string = True
        elif char == "#":
            in_comment = True
        elif char == "\n":
            line_start = index + 1
        elif char == "{":
            head = before[line_start:index]
            header = _HEADER.match(head)
            if header is not None and header.group(1) in BLOCK_KINDS:
                stack.append((header.group(1), False, None))
            else:
                name = re.search(r"([A-Za-z_]\w*)\s*=\s*$", head)
                outer = stack[-1][0] if stack else None
                stack.append((outer, True, name.group(1) if name else None))
        elif char == "}" and stack:
            stack.pop()
    return stack[-1] if stack else (None, False, None)


def _field_name(before_line: str) -> str | None:
    match = re.match(r"^\s*([A-Za-z_]\w*)\s*=", before_line)
    return match.group(1) if match else None


def _field_dimension(kind: str | None, field: str | None) -> Dimension | None:
    spec = SCHEMA.get(kind or "", {}).get(field or "")
    if spec is not None and spec.dim is not None:
        return spec.dim
    quantity = QUANTITIES.get(field or "")
    return quantity.dim if quantity is not None else None


def _top_level() -> list[Item]:
    kinds = [Item(name, "keyword", "block kind", kind.doc, f"{name} ") for name, kind in BLOCK_KINDS.items()]
    return kinds + [Item(word, "keyword", "statement") for word in STATEMENTS]


def _dimension_text(spec: Spec) -> str:
    if spec.type != "quantity" or spec.dim is None:
        return spec.type if spec.type != "ref" else f"a {spec.target}"
    unit = display_unit(spec.dim)
    return spec.dim.describe() + (f" ({unit})" if unit else "")


def _fields(kind: str) -> list[Item]:
    return [Item(spec.name, "field", _dimension_text(spec), spec.doc, f"{spec.name} = ")
            for spec in BLOCK_KINDS[kind].fields]  # fmt: skip


COMMON_UNITS = ("W", "kW", "MW", "Wh", "kWh", "MWh", "GWh", "J", "MJ", "s", "h", "day", "days", "year", "years", "g",
                "kg", "t", "gCO2e", "kgCO2e", "tCO2e", "FLOP", "TFLOP", "PFLOP", "GB", "TB", "mm2", "cm2", "nm", "L",
                "m3", "query", "queries", "token", "tokens", "%")  # fmt: skip


@functools.lru_cache(maxsize=64)
def units_for(dimension: Dimension | None) -> tuple[str, ...]:
    """The units of a dimension: its display unit, the table's symbols of it, then ratios of common units."""
    if dimension is None:
        return tuple(UNITS)
    found = [display_unit(dimension)] if display_unit(dimension) else []
    found += [symbol for symbol, unit in UNITS.items() if unit.dimension == dimension]
    if len(found) < 3:
        for top in COMMON_UNITS:
            for bottom in COMMON_UNITS:
                if top == bottom or "%" in (top, bottom):
                    continue
                try:
                    if parse_unit(f"{top}/{bottom}").dimension == dimension:
                        found.append(f"{top}/{bottom}")
                except UnitError:
                    continue
    return tuple(dict.fromkeys(u for u in found if u))


def _units(dimension: Dimension | None, typed: str) -> list[Item]:
    detail = dimension.describe() if dimension is not None else "unit"
    return [Item(symbol, "unit", detail) for symbol in units_for(dimension) if symbol.startswith(typed)]


def _members(analysis: Analysis | None, dotted: str) -> list[Item]:
    """After `alias.`: the records of that module; after `block.` (or `alias.block.`): its quantities."""
    if analysis is None:
        return []
    loaded = analysis.loaded
    parts = dotted.split(".")
    aliases = loaded.imports.get(analysis.key, {})
    module_key, names = analysis.key, parts
    if parts[0] in aliases:
        module_key, names = aliases[parts[0]], parts[1:]
    module = loaded.modules.get(module_key)
    if module is None:
        table = loaded.tables.get(module_key)
        if table is not None and not names:
            return [Item(column, "field", "column") for column in table.columns]
        return []
    if not names:
        from nnci.catalog import record

        items = []
        for block in module.blocks:
            found = record(module_key, block)
            figures = ", ".join(f"{n} {v}" for n, v in found.figures[:3])
            items.append(Item(block.name, "record", f"{block.kind}: {found.label}" if found.label else block.kind,
                              figures))  # fmt: skip
        return items
    if len(names) == 1:
        named = next((b for b in module.blocks if b.name == names[0]), None)
        if named is None and names[0] == "total":
            from nnci.schema import ADDITIVE

            return [Item(name, "quantity", QUANTITIES[name].dim.describe(), QUANTITIES[name].doc) for name in ADDITIVE]
        if named is not None:
            return [Item(spec.name, "quantity", _dimension_text(spec), spec.doc)
                    for spec in BLOCK_KINDS[named.kind].fields if spec.type == "quantity"]  # fmt: skip
    return []


def _values(analysis: Analysis | None, kind: str, field: str) -> list[Item]:
    """After `method =`, the methods (each with what its formulas cite); after a field naming a kind of
    block, the blocks of that kind this file has and its import aliases."""
    spec = SCHEMA[kind].get(field)
    if spec is None:
        return []
    if spec.type == "method":
        items = []
        for method in METHODS:
            formulas = [f for f in all_formulas() if f.method == method]
            cited = sorted({f.citation for f in formulas})
            items.append(Item(method, "method", f"{len(formulas)} formulas", "\n".join(cited)))
        return items
    if spec.choices:
        return [Item(choice, "keyword", spec.name) for choice in spec.choices]
    if spec.target is None or analysis is None:
        return []
    module = analysis.module()
    local = [Item(b.name, "block", b.kind) for b in (module.blocks if module else ()) if b.kind == spec.target]
    aliases = [Item(a, "module", m) for a, m in analysis.loaded.imports.get(analysis.key, {}).items()]
    return local + aliases


def _keys(analysis: Analysis | None, kind: str, field: str) -> list[Item]:
    """The keys of a map that names blocks (`fleet = { gpu = 8 }`, `site = { dc = 60 % }`, `mix = {
    coal = 45 % }`): the blocks of that kind in this file, and for a mix the generation sources of
    std/sources too."""
    spec = SCHEMA[kind].get(field)
    if spec is None or spec.target is None or analysis is None:
        return []
    from nnci.load import PRELUDE

    target = "device" if spec.type == "fleet" else spec.target  # an inline fleet counts devices
    module = analysis.module()
    items = [Item(b.name, "block", b.kind) for b in (module.blocks if module else ()) if b.kind == target]
    prelude = analysis.loaded.modules.get(PRELUDE) if spec.target == "source" else None
    items += [Item(b.name, "record", f"{b.kind} ({PRELUDE})") for b in (prelude.blocks if prelude else ())]
    return items


def _names(analysis: Analysis | None) -> list[Item]:
    """In an `expect`, `check` or `figure` line: the jobs and figures of the file, `total`, the aliases."""
    if analysis is None:
        return []
    module = analysis.module()
    if module is None:
        return []
    items = [Item(b.name, "block", b.kind) for b in module.blocks if BLOCK_KINDS[b.kind].job]
    items += [Item(f.name, "quantity", "figure") for f in module.figures]
    items.append(Item("total", "keyword", "the sums over every job"))
    items += [Item(alias, "module", key) for alias, key in analysis.loaded.imports.get(analysis.key, {}).items()]
    return items


def _group_arguments(analysis: Analysis | None, figure: str | None, column: str | None, naming: bool) -> list[Item]:
    """`group(`: the figures that add up over rows of the jobs over a table; then the text columns of
    that job's table; then, in the string, the names in that column."""
    program = analysis.program if analysis is not None else None
    if analysis is None or program is None:
        return []
    jobs = {str(key): key for key in program.blocks if program.rows_of(key) is not None}
    if figure is None:
        summed = [name for name, spec in QUANTITIES.items() if spec.summed]
        return [Item(f"{job}.{name}", "quantity", f"summed over the rows of `{job}`")
                for job, key in jobs.items() for name in summed if name in SCHEMA[program.blocks[key].kind]]  # fmt: skip
    key = jobs.get(figure.rpartition(".")[0])
    table_key = program.rows_of(key) if key is not None else None
    table = program.tables.get(table_key) if table_key is not None else None
    if table is None:
        return []
    aliases = [a for a, t in analysis.loaded.imports.get(analysis.key, {}).items() if t == table_key]
    text_columns = [c for c in table.columns.values() if c.dimension is None]
    if column is None or not naming:
        return [Item(f"{alias}.{c.name}", "field", "a text column") for alias in aliases for c in text_columns]
    found = next((c for c in text_columns if c.name == column.rpartition(".")[2]), None)
    if found is None:
        return []
    return [Item(name, "keyword", f"a group of {column}") for name in dict.fromkeys(found.values) if name]


def _imports(analysis: Analysis | None, typed: str) -> list[Item]:
    """In an import's path: the standard library's modules, and the scenarios and tables beside the
    document (the suffix `.nnci` left out, as imports may)."""
    from nnci.resources import std_dir

    items = [Item(f"std/{path.stem}", "module", "standard library", _records(path))
             for path in sorted(std_dir().glob("*.nnci"))]  # fmt: skip
    if analysis is not None:
        folder = analysis.path.parent
        try:
            beside = sorted(
                p for p in folder.iterdir() if p.suffix in (".nnci", ".csv", ".json") and p != analysis.path
            )
        except OSError:
            beside = []
        items += [Item(p.stem if p.suffix == ".nnci" else p.name, "module", "beside this file") for p in beside]
    return [item for item in items if item.label.startswith(typed)]


@functools.lru_cache(maxsize=16)
def _records(path: object) -> str:
    """What a standard-library module holds: its records counted by kind (`49 device`)."""
    try:
        with open(str(path), encoding="utf-8") as handle:
            kinds = [m.group(1) for m in _RECORD.finditer(handle.read())]
    except OSError:
        return ""
    counted = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    return ", ".join(f"{n} {kind}" for kind, n in counted.items())


_RECORD = re.compile(r"^(" + "|".join(BLOCK_KINDS) + r") \w+", re.M)
