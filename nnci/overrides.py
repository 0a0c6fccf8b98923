"""What-ifs from the command line: `--set block.field=value` and `--vary block.field=a,b,c`.

Each argument is parsed as the field would be in a file (same parser, same resolver, same
checks); its spans point into a pseudo-file named after the option (`--set`, `--vary`) whose
line N is the Nth argument, so a diagnostic shows the argument with a caret under the problem.
An override replaces the field in the syntax tree of the file that defines the block, before
names are resolved: values stay late-bound, so it flows into everything derived from it.

A value may name a standard-library module that the file does not import (`grids.fra_2023`):
`std/grids` is then imported as `grids` for that file, as `import "std/grids" as grids` would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from nnci import ast, ir
from nnci.diagnostics import Diagnostic, Span
from nnci.engine import Derivation, Engine
from nnci.load import STD_PREFIX
from nnci.load import Program as Loaded
from nnci.resources import std_dir
from nnci.schema import JOB_KINDS, REPORTED

SET = "--set"
VARY = "--vary"
TARGET = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){1,2}")
FAKE_PREFIX = "device _ {\n  "  # the value is parsed as a field of a block: line 2, after this indent


@attrs.frozen
class Override:
    """One field to replace: `target` is (block, field) or (alias, block, field)."""

    target: tuple[str, ...]
    field: ast.Field  # spans in the pseudo-file of the option
    target_span: Span
    text: str  # the value as written

    @property
    def block_parts(self) -> tuple[str, ...]:
        return self.target[:-1]

    @property
    def label(self) -> str:
        return ".".join(self.target)


@attrs.frozen
class Parsed:
    """The arguments of one option: per argument its overrides (one for --set, one per value for --vary)."""

    option: str
    source: str  # the pseudo-file: one argument per line
    arguments: tuple[tuple[Override, ...], ...]
    diagnostics: tuple[Diagnostic, ...]


def parse(arguments: Sequence[str], option: str = SET) -> Parsed:
    """`block.field=value` (for --vary, `block.field=v1,v2,...`) → overrides, or located diagnostics."""
    lines = [a.replace("\r", " ").replace("\n", " ") for a in arguments]
    problems: list[Diagnostic] = []
    parsed: list[tuple[Override, ...]] = []
    for number, argument in enumerate(lines, 1):
        overrides = _argument(argument, number, option, problems)
        if overrides is not None:
            parsed.append(overrides)
    return Parsed(option, "\n".join(lines), tuple(parsed), tuple(problems))


def _argument(argument: str, line: int, option: str, problems: list[Diagnostic]) -> tuple[Override, ...] | None:
    example = "dc.pue=1.2" if option == SET else "dc.pue=1.1,1.2,1.3"

    def at(start: int, end: int) -> Span:
        return Span(option, line, start + 1, line, max(end, start + 1) + 1)

    target_text, equals, rest = argument.partition("=")
    stripped = target_text.strip()
    start = len(target_text) - len(target_text.lstrip())
    if not equals:
        problems.append(Diagnostic("E306", f"`{option}` takes `block.field=value`", at(0, len(argument)),
                                   help=f"write e.g. `{option} {example}`"))  # fmt: skip
        return None
    if not TARGET.fullmatch(stripped):
        problems.append(Diagnostic("E306", f"`{stripped}` is not `block.field` (or `alias.block.field`)",
                                   at(start, start + len(stripped)), help=f"write e.g. `{option} {example}`"))  # fmt: skip
        return None
    target = tuple(stripped.split("."))
    target_span = at(start, start + len(stripped))
    rest = _without_comment(rest)  # `--set 'gpu.power=300 W # measured'`: the value is `300 W`
    values = _split(rest) if option == VARY else [(0, rest)]
    offset = len(target_text) + 1
    overrides = []
    for position, raw in values:
        text = raw.strip()
        begin = offset + position + len(raw) - len(raw.lstrip())
        if not text:
            problems.append(Diagnostic("E306", f"`{stripped}` has an empty value", at(begin, begin),
                                       help=f"write e.g. `{option} {example}`"))  # fmt: skip
            continue
        field = _field(target[-1], text, line, begin + 1, start + len(stripped) - len(target[-1]) + 1, option,
                       problems)  # fmt: skip
        if field is not None:
            overrides.append(Override(target, field, target_span, text))
    if len(overrides) != len(values):
        return None
    if option == VARY and len(overrides) < 2 and overrides:
        problems.append(Diagnostic("E306", f"`{option} {stripped}` gives one value; a sweep varies over several",
                                   target_span, help=f"separate values with commas: `{option} {example}`, "
                                   "or use `--set` for one value"))  # fmt: skip
        return None
    return tuple(overrides)


def _without_comment(value: str) -> str:
    """The value before a `#` comment (one outside a "quoted" text), as in a file; the comment is dropped
    so that messages quote the value alone."""
    quoted = False
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return value[:index].rstrip()
    return value


def _split(values: str) -> list[tuple[int, str]]:
    """Comma-separated values, commas inside `{ }` or `( )` kept: `{a = 1, b = 2},{a = 2}`."""
    pieces, depth, begin = [], 0, 0
    for index, char in enumerate(values):
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth <= 0:
            pieces.append((begin, values[begin:index]))
            begin = index + 1
    pieces.append((begin, values[begin:]))
    return pieces


def _field(
    name: str, text: str, line: int, column: int, name_column: int, option: str, problems: list[Diagnostic]
) -> ast.Field | None:
    """The value parsed as `name = text` in a block, its spans moved onto the argument."""
    from nnci.parse import parse_module

    prefix = f"{FAKE_PREFIX}{name} = "
    module, diagnostics = parse_module(f"{prefix}{text}\n}}\n", option)
    shift = column - (len(prefix) - len("device _ {\n")) - 1
    moved = [_moved_diagnostic(d, line, shift, len(text), column) for d in diagnostics]
    problems.extend(moved)
    if module is None or any(d.severity == "error" for d in moved):
        return None
    if len(module.blocks) != 1 or len(module.blocks[0].fields) != 1:
        problems.append(Diagnostic("E306", "the value is not one expression", Span(option, line, column, line,
                                   column + len(text)), help="quote the whole argument in the shell"))  # fmt: skip
        return None
    field = module.blocks[0].fields[0]
    value = _moved(field.value, line, shift, len(text), column)
    return ast.Field(name, value, Span(option, line, name_column, line, column + len(text)))


def _moved_diagnostic(diagnostic: Diagnostic, line: int, shift: int, width: int, column: int) -> Diagnostic:
    span = diagnostic.span
    return attrs.evolve(diagnostic, span=_moved(span, line, shift, width, column)) if span else diagnostic


def _moved(node: Any, line: int, shift: int, width: int, column: int) -> Any:
    """A copy of a syntax node (or diagnostic) with every span moved from the fake block onto the argument."""
    if isinstance(node, Span):
        if node.line != 2:  # past the value (an unclosed brace, the end of the text): its end
            return Span(node.file, line, column + width, line, column + width + 1)
        end = node.end_column + shift if node.end_line == 2 else column + width
        return Span(node.file, line, max(column, node.column + shift), line, max(end, column + 1))
    if isinstance(node, tuple):
        return tuple(_moved(item, line, shift, width, column) for item in node)
    if attrs.has(type(node)):
        changes = {
            a.name: _moved(getattr(node, a.name), line, shift, width, column)
            for a in attrs.fields(type(node))
            if isinstance(getattr(node, a.name), (Span, tuple)) or attrs.has(type(getattr(node, a.name)))
        }
        return attrs.evolve(node, **changes)
    return node


# -- applying overrides to the loaded syntax trees -------------------------------------------


def std_modules_named(overrides: Iterable[Override]) -> list[str]:
    """Standard-library modules that override values name by their first part (`grids.fra_2023`)."""
    available = {p.stem for p in std_dir().glob("*.nnci")}
    found: list[str] = []
    for override in overrides:
        for ref in _refs(override.field.value):
            if len(ref.parts) >= 2 and ref.parts[0] in available and ref.parts[0] not in found:
                found.append(ref.parts[0])
    return found


def _refs(node: ast.Expr) -> Iterable[ast.Ref]:
    if isinstance(node, ast.Ref):
        yield node
    elif isinstance(node, ast.BinOp):
        yield from _refs(node.left)
        yield from _refs(node.right)
    elif isinstance(node, ast.Neg):
        yield from _refs(node.operand)
    elif isinstance(node, ast.Call):
        for arg in node.args:
            yield from _refs(arg)
    elif isinstance(node, ast.MapExpr):
        for entry in node.entries:
            yield ast.Ref(tuple(entry.key.split(".")), entry.span)
            yield from _refs(entry.value)


@attrs.frozen
class Located:
    """Where an override's block is defined: the module key and the block's syntax tree."""

    module: str
    block: ast.Block


def locate(loaded: Loaded, override: Override) -> Located | Diagnostic:
    """The block an override names: a block of the files given, or `alias.block` of an import of theirs."""
    parts = override.block_parts
    span = override.target_span
    head = Span(span.file, span.line, span.column, span.line, span.column + len(parts[0]))
    if len(parts) == 1:
        for root in loaded.roots:
            for block in loaded.modules[root].blocks:
                if block.name == parts[0]:
                    return Located(root, block)
        names = [b.name for root in loaded.roots for b in loaded.modules[root].blocks]
        return Diagnostic("E300", f"no block `{parts[0]}` in the files given", head,
                          help=_did_you_mean(parts[0], names) or "blocks: " + ", ".join(names[:20]))  # fmt: skip
    aliases = {alias: module for root in loaded.roots for alias, module in loaded.imports.get(root, {}).items()}
    module = aliases.get(parts[0])
    if module is None or module not in loaded.modules:
        return Diagnostic("E300", f"no import `{parts[0]}` in the files given", head,
                          help=_did_you_mean(parts[0], aliases) or "write `block.field` for a block of the files")  # fmt: skip
    for block in loaded.modules[module].blocks:
        if block.name == parts[1]:
            return Located(module, block)
    names = [b.name for b in loaded.modules[module].blocks]
    second = Span(span.file, span.line, head.end_column + 1, span.line, head.end_column + 1 + len(parts[1]))
    return Diagnostic("E300", f"`{parts[1]}` is not defined in `{parts[0]}` ({module})", second,
                      help=_did_you_mean(parts[1], names))  # fmt: skip


def _did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    from nnci.resolve import did_you_mean

    return did_you_mean(name, list(candidates))


def apply(loaded: Loaded, parsed: Sequence[Parsed], std_keys: dict[str, str]) -> tuple[Loaded, list[Diagnostic]]:
    """The loaded program with each `--set` field put into its block (`--vary` values are not applied
    here: a sweep resolves them beside the program). `std_keys`: std module name → its loaded key."""
    problems: list[Diagnostic] = [d for p in parsed for d in p.diagnostics]
    modules = dict(loaded.modules)
    imports = {key: dict(aliases) for key, aliases in loaded.imports.items()}
    sources = dict(loaded.sources)
    seen: dict[tuple[str, str, str], Override] = {}
    for group in parsed:
        sources[group.option] = group.source
        for argument in group.arguments:
            for override in argument:
                found = locate(loaded, override)
                if isinstance(found, Diagnostic):
                    problems.append(found)
                    continue
                _import_std(override, found.module, modules, imports, std_keys)
                if group.option != SET:
                    continue
                identity = (found.module, found.block.name, override.field.name)
                if identity in seen:
                    problems.append(Diagnostic("E203", f"`{override.label}` is set twice", override.field.span,
                                               notes=(f"first set at {seen[identity].field.span}",),
                                               help="give each field one --set"))  # fmt: skip
                    continue
                seen[identity] = override
                module = modules[found.module]
                block = next(b for b in module.blocks if b.name == found.block.name)
                replaced, same = _with_field(block, override.field)
                if same is not None:
                    problems.append(Diagnostic("E205", f"`{override.label}` is already `{_written(same.value, override.text)}`: "
                                               "this --set changes nothing", override.field.span, severity="warning",
                                               notes=(f"written at {same.span}",),
                                               help="remove it, or give another value"))  # fmt: skip
                blocks = tuple(replaced if b is block else b for b in module.blocks)
                modules[found.module] = attrs.evolve(module, blocks=blocks)
    return attrs.evolve(loaded, modules=modules, imports=imports, sources=sources), problems


def _with_field(block: ast.Block, field: ast.Field) -> tuple[ast.Block, ast.Field | None]:
    """The block with the field replaced (or added); the old field when it was the same value."""
    old = next((f for f in block.fields if f.name == field.name), None)
    fields = tuple(field if f is old else f for f in block.fields) if old else (*block.fields, field)
    return attrs.evolve(block, fields=fields), old if old is not None and _same_value(old.value, field.value) else None


def _same_value(old: ast.Expr, new: ast.Expr) -> bool:
    """The same expression, or numbers of the same value in any units (`1.10` and `1.1`, `0.3 kW` and
    `300 W`: up to a relative 1e-12, what converting between units may round)."""
    if old == new:
        return True
    if not (isinstance(old, ast.Number) and isinstance(new, ast.Number)):
        return False
    a, b = _in_si(old), _in_si(new)
    if a is None or b is None or a[1] != b[1]:
        return False
    return abs(a[0] - b[0]) <= 1e-12 * max(abs(a[0]), abs(b[0]))


def _in_si(number: ast.Number) -> tuple[float, object] | None:
    from nnci.units import UnitError, in_si

    try:
        return in_si(number.value, number.unit)
    except UnitError:
        return None  # said where the value is resolved


def _written(value: ast.Expr, otherwise: str) -> str:
    """A number as the file writes it (`300 W`, where --set wrote `300W`); else `otherwise`."""
    if isinstance(value, ast.Number):
        return f"{value.text} {value.unit}" if value.unit else value.text
    return otherwise


def _import_std(
    override: Override,
    module: str,
    modules: dict[str, ast.Module],
    imports: dict[str, dict[str, str]],
    std_keys: dict[str, str],
) -> None:
    """`grids.fra_2023` in a value, where the file has no `grids`: std/grids, imported as `grids` for it."""
    names = {b.name for b in modules[module].blocks}
    for ref in _refs(override.field.value):
        head = ref.parts[0]
        own = imports.setdefault(module, {})
        if len(ref.parts) >= 2 and head in std_keys and head not in own and head not in names:
            own[head] = std_keys[head]


def std_key(name: str) -> str:
    return STD_PREFIX + name


def unused(
    program: ir.Program, engine: Engine, lanes: Mapping[ir.BlockKey, tuple[ir.BlockKey, ...]]
) -> list[Diagnostic]:
    """A `--set` field that no job's reported figure is derived from changes nothing: said, not ignored.
    `lanes` (the compiled plan's) name the blocks each stacked block stands for."""
    if SET not in program.sources:  # no `--set` this run (and no block need be looked at)
        return []
    given = [(key, field) for key, block in program.blocks.items() for field in block.fields.values()
             if field.span.file == SET]  # fmt: skip
    if not given:
        return []
    used: set[tuple[ir.BlockKey, str]] = set()
    blocks: set[ir.BlockKey] = set()
    seen: set[int] = set()
    stack = [r for (key, name, _), r in engine.memo.items() if name in REPORTED and isinstance(r, Derivation)
             and key in engine.program.blocks and engine.program.blocks[key].kind in JOB_KINDS]  # fmt: skip
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for block in lanes.get(node.block, (node.block,)):
            used.add((block, node.name.partition("[")[0]))
            blocks.add(block)
        stack.extend(node.inputs)
    return [
        Diagnostic(
            "E205",
            f"`--set {key}.{field.name}` changes none of the figures reported: no job's derivation uses it",
            field.span,
            severity="warning",
            help=f"see `nnci explain` of a job for the inputs it uses; `{key}` may be unused, or a "
            "value given further down the derivation may stand in for it",
        )
        for key, field in given
        if not isinstance(field.expr, (ir.Text, ir.TableRef))  # a method or a label acts without a node of its own
        and (key, field.name) not in used
        and not _refers_to_used(field.expr, blocks)
    ]


def _refers_to_used(expr: ir.Expr, blocks: set[ir.BlockKey]) -> bool:
    """A reference field (`grid = ...`, `site = {...}`) is used when a block it names is."""
    if isinstance(expr, ir.BlockRef):
        return expr.block in blocks
    if isinstance(expr, ir.Map):
        return any(entry.block in blocks for entry in expr.entries)
    return False
