"""Names, references and units → the resolved program (nnci.ir).

Blocks of the root files share one namespace; an imported module's blocks are reached through
its alias (`hw.v100_sxm2`). Imported blocks are resolved only when something refers to them, so
importing a large catalog costs little more than parsing it. Every unknown name or field comes
back with a "did you mean".
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nnci import arrays, ast, ir, resolve_time
from nnci.diagnostics import Diagnostic, Span, source_lines
from nnci.load import PRELUDE
from nnci.load import Program as Loaded
from nnci.quantity import Quantity
from nnci.schema import (
    ADDITIVE,
    FIELD_SYNONYMS,
    FORMER_NAMES,
    JOB_KINDS,
    METHODS,
    QUANTITIES,
    RESERVED_NAMES,
    SCHEMA,
    Spec,
    article,
)
from nnci.slots import setters
from nnci.uncertain import STATISTICS
from nnci.uncertain.distributions import DISTRIBUTIONS
from nnci.units import DIMENSIONLESS, UNITS, UnitError, in_si

if TYPE_CHECKING:
    from nnci.table import Column

FUNCTIONS = ("min", "max", "sum")
# every function a value may call, as the unknown-function hint lists them (the highlighters read it too)
CALLABLE = (*FUNCTIONS, ir.GROUP, *DISTRIBUTIONS, resolve_time.SERIES_FUNCTION)
GROUP_EXAMPLE = 'group(month.energy, jobs.account, "nlp")'
ROOT = ""


def resolve(loaded: Loaded, everything: bool = False) -> tuple[ir.Program, list[Diagnostic]]:
    """`everything` also resolves the imported blocks nothing refers to (for `nnci explain`)."""
    resolver = _Resolver(loaded)
    program = resolver.run(everything)
    return program, resolver.diagnostics


def resolve_with_fields(
    loaded: Loaded, fields: Sequence[tuple[str, str, ast.Field]]
) -> tuple[ir.Program, list[ir.Field | None], list[Diagnostic]]:
    """Like `resolve`, and each (module, block, field) resolved as if written in that block, without
    putting it there: the values a sweep varies over (None where a value has errors, reported)."""
    resolver = _Resolver(loaded)
    program = resolver.run(extra=fields)
    return program, resolver.extra_fields, resolver.diagnostics


def did_you_mean(name: str, candidates: object) -> str | None:
    import difflib  # only on the error path: it costs start-up time

    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)  # type: ignore[call-overload]
    return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else None


def field_hint(name: str, kind: str) -> str:
    """What a misspelt or foreign field name probably means: the field people call so elsewhere
    (`max_power` → `tdp`, `mfu` → `efficiency`), then the names spelt alike, else every field."""
    fields = SCHEMA[kind]
    meant = [f for f in FIELD_SYNONYMS.get(name.lower(), ()) if f in fields]
    close = did_you_mean(name, fields)
    if meant:
        spelt = [c for c in (close or "").split("`")[1::2] if c not in meant]
        shown = [f"`{f}` ({fields[f].doc})" for f in meant] + [f"`{c}`" for c in spelt]
        return "did you mean " + " or ".join(shown) + "?"
    return close or f"fields of {article(kind)}: " + ", ".join(fields)


def described_as(name: str, alias: str, module: str, scope: dict[str, ast.Block]) -> str | None:
    """The blocks of an imported module that `name` describes: by their label, zone (a country's ISO code)
    or description, the newest first (`g.germany` → `deu_2023`), then the names spelt alike."""
    from nnci.catalog import BY_NAME_PART, rank, record

    ranked = rank(name.replace("_", " "), [record(module, block) for block in scope.values()])
    meant = [r for tier, r in ranked if tier <= BY_NAME_PART]
    spelt = [c for c in (did_you_mean(name, scope) or "").split("`")[1::2] if c not in {r.name for r in meant[:3]}]
    if not meant:
        return did_you_mean(name, scope)
    shown = [f"`{alias}.{r.name}` ({', '.join(x for x in (r.label, f'{r.year:g}' if r.year else '') if x)})"
             for r in meant[:3]] + [f"`{alias}.{c}`" for c in spelt[:1]]  # fmt: skip
    more = f" (`nnci catalog {name.replace('_', ' ')}` lists all {len(meant)})" if len(meant) > 3 else ""
    return "did you mean " + " or ".join(shown) + "?" + more


class _Resolver:
    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.uncertain = False  # some field holds a distribution
        self.diagnostics: list[Diagnostic] = []
        self.scopes: dict[str, dict[str, ast.Block]] = {}
        self.blocks: dict[ir.BlockKey, ir.Block] = {}
        self.keys: dict[str, dict[str, ir.BlockKey]] = {}  # one key object per block, by namespace and name
        self.column_groups: dict[int, tuple[Column, dict[str, str]]] = {}
        self.in_progress: set[ir.BlockKey] = set()
        self.roots: list[ir.BlockKey] = []
        self.rows: str | None = None  # the table of the job being resolved (`rows = jobs`), if any
        self.constants: dict[tuple[str, str | None], tuple[Quantity, str]] = {}
        self.instants: dict[tuple[str, str], Any] = {}  # (table, column) → its cells as instants (`start`)
        self.series_used: set[str] = set()  # series files some reference reads
        self.aliases_used: set[tuple[str, str]] = set()  # (file, alias) of the imports a reference names
        self.columns_read: set[tuple[str, str]] = set()  # (table, column) some field reads
        self.figure_names: set[str] = set()
        self.figure_spans: dict[str, Span] = {}
        self.figures: dict[str, ir.Figure] = {}
        self.extra_fields: list[ir.Field | None] = []

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
        related: tuple[tuple[str, Span], ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, notes=notes, help=help, related=related))

    # -- scopes ---------------------------------------------------------------------------

    def module_of(self, key: str) -> str:
        """Root files share the namespace ROOT; other modules are their own namespace."""
        return ROOT if key in self.loaded.roots else key

    def build_scopes(self) -> None:
        for key, module in self.loaded.modules.items():
            scope = self.scopes.setdefault(self.module_of(key), {})
            for block in module.blocks:
                if block.name in RESERVED_NAMES:
                    self.error("E202", f"`{block.name}` is reserved", block.name_span,
                               help=f"`{block.name}.energy` etc. name the sum over all jobs; choose another name")  # fmt: skip
                    continue
                if block.name in scope:
                    first = scope[block.name]
                    self.error("E202", f"`{block.name}` is defined twice", block.name_span,
                               notes=(f"first defined at {first.name_span}",), help="rename one of them",
                               related=(("first defined here", first.name_span),))  # fmt: skip
                    continue
                scope[block.name] = block

    def unused_imports(self) -> None:
        """An import that changes nothing is said, not ignored: a table no job has the rows of, a series
        nothing reads, a module none of whose blocks is named."""
        used = {
            f.expr.table for b in self.blocks.values() for f in b.fields.values() if isinstance(f.expr, ir.TableRef)
        }
        # a module import is unused only where every reference was resolved: not beside an error, which
        # may have stopped before a reference to it, a failed import or a statement dropped for one
        unbroken = (
            not any(self.loaded.failed.values())
            and not any(m.dropped for m in self.loaded.modules.values())
            and not any(d.severity == "error" for d in self.diagnostics)
        )
        for key in self.loaded.roots:
            for stmt in self.loaded.modules[key].imports:
                table = self.aliases(key).get(stmt.alias)
                if table in self.loaded.tables and table in used and unbroken:
                    self.unread_fields(stmt, table)
                if table in self.loaded.tables and table not in used:
                    self.diagnostics.append(Diagnostic(
                        "E204", f"table `{stmt.alias}` is imported, but no job has its rows", stmt.span,
                        severity="warning", help=f"give a training or inference block `rows = {stmt.alias}`, "
                        "or remove the import"))  # fmt: skip
                if table in self.loaded.modules and unbroken and (key, stmt.alias) not in self.aliases_used:
                    self.diagnostics.append(Diagnostic(
                        "E204", f"`{stmt.alias}` is imported, but nothing here names a block of it", stmt.span,
                        severity="warning", help=f"name one of its blocks (`{stmt.alias}.<block>`), or remove the import"))  # fmt: skip
                if table in self.loaded.series and table not in self.series_used:
                    self.diagnostics.append(Diagnostic(
                        "E204", f"series file `{stmt.alias}` is imported, but nothing reads it", stmt.span,
                        severity="warning", help=f"write e.g. `intensity = {stmt.alias}.<column>` in a grid, or remove "
                        "the import"))  # fmt: skip

    def unread_fields(self, stmt: ast.Import, table: str) -> None:
        """A column named like a field of a job (`energy [kWh]`, `pue`) that no field reads: the figure
        is derived, not taken from it, and a reader of the table would think otherwise."""
        fields = {name for kind in JOB_KINDS for name in SCHEMA[kind]}
        for name, column in self.loaded.tables[table].columns.items():
            if name in fields and (table, name) not in self.columns_read:
                self.diagnostics.append(Diagnostic(
                    "E204", f"column `{name}` of `{stmt.alias}` is named like a field of a job, but no field reads it",
                    column.span, severity="warning", related=((f"the import of `{stmt.alias}`", stmt.span),),
                    help=f"write `{name} = {stmt.alias}.{name}` in the job to take it from the table, or rename the "
                    "column"))  # fmt: skip

    def check_aliases(self) -> None:
        """An alias is a name of its file: it may not be `total`, nor the name of a block there."""
        for key, module in self.loaded.modules.items():
            scope = self.scopes.get(self.module_of(key), {})
            for stmt in module.imports:
                if stmt.alias in RESERVED_NAMES:
                    self.error("E202", f"`{stmt.alias}` is reserved", stmt.span,
                               help=f"`{stmt.alias}.energy` etc. name the sums over all jobs; choose another alias")  # fmt: skip
                elif stmt.alias in scope and scope[stmt.alias].span.file == key:
                    self.error("E202", f"alias `{stmt.alias}` is also the name of a block of this file", stmt.span,
                               notes=(f"the block is at {scope[stmt.alias].name_span}",),
                               help="rename the alias or the block",
                               related=(("the block", scope[stmt.alias].name_span),))  # fmt: skip

    def run(self, everything: bool = False, extra: Sequence[tuple[str, str, ast.Field]] = ()) -> ir.Program:
        self.build_scopes()
        self.check_aliases()
        for key in self.loaded.roots:
            for block in self.loaded.modules[key].blocks:
                if self.scopes[ROOT].get(block.name) is block:
                    self.roots.append(self.resolve_block(ROOT, block.name, key))
        if everything:
            for key, module in self.loaded.modules.items():
                namespace = self.module_of(key)
                for block in module.blocks:
                    if self.scopes.get(namespace, {}).get(block.name) is block:
                        self.resolve_block(namespace, block.name, key)
        self.declare_figures()
        for key in self.loaded.roots:
            for figure in self.loaded.modules[key].figures:
                expr = self.resolve_expr(figure.value, None, key)
                if expr is not None and figure.name in self.figure_names:
                    self.figures[figure.name] = ir.Figure(figure.name, expr, figure.span)
        checks = []
        for key in self.loaded.roots:
            for check_line in self.loaded.modules[key].checks:
                condition = self.resolve_comparison(check_line.condition, None, key)
                if condition is not None:
                    checks.append(ir.Check(condition, check_line.message, check_line.span))
        expects = []
        for key in self.loaded.roots:
            for stmt in self.loaded.modules[key].expects:
                resolved = self.resolve_expect(stmt, key)
                if resolved is not None:
                    expects.append(resolved)
        for module_key, block_name, field in extra:
            self.extra_fields.append(self.resolve_extra(module_key, block_name, field))
        self.unused_imports()
        aliases = {
            alias: self.module_of(module) for root in self.loaded.roots for alias, module in self.aliases(root).items()
        }
        return ir.Program(
            dict(self.blocks), tuple(self.roots), tuple(expects), dict(self.loaded.sources), aliases,
            dict(self.loaded.tables), instants={k: v for k, v in self.instants.items() if v is not None},
            figures=dict(self.figures), checks=tuple(checks), uncertain=self.uncertain,
        )  # fmt: skip

    def declare_figures(self) -> None:
        """The names of the figures of the root files, before any expression may refer to one; a name
        that is a block's, an alias or another figure's is an error."""
        for key in self.loaded.roots:
            for figure in self.loaded.modules[key].figures:
                earlier = self.figure_spans.get(figure.name)
                taken = figure.name in self.scopes.get(ROOT, {}) or figure.name in self.aliases(key)
                if earlier is not None or taken or figure.name in RESERVED_NAMES:
                    block = self.scopes.get(ROOT, {}).get(figure.name)
                    where = (f"first defined at {earlier}",) if earlier else (
                        (f"the {block.kind} `{figure.name}` is at {block.name_span}",) if block else ())  # fmt: skip
                    other = earlier or (block.name_span if block else None)
                    self.error("E202", f"`{figure.name}` is defined twice", figure.span, notes=where,
                               help="a figure needs a name no block, alias or other figure has",
                               related=(("first defined here", other),) if other else ())  # fmt: skip
                    continue
                self.figure_spans[figure.name] = figure.span
                self.figure_names.add(figure.name)

    def resolve_extra(self, module: str, name: str, field: ast.Field) -> ir.Field | None:
        """A field for block `name` of `module`, resolved in that block's file as one of its fields."""
        namespace = self.module_of(module)
        block = self.scopes[namespace][name]
        key = self.resolve_block(namespace, name, block.span.file)
        rows = self.blocks[key].fields.get("rows") if key in self.blocks else None
        outer_rows, self.rows = self.rows, rows.expr.table if rows and isinstance(rows.expr, ir.TableRef) else None
        try:
            return self.resolve_field(block, key, field, block.span.file)
        finally:
            self.rows = outer_rows

    def key(self, namespace: str, name: str) -> ir.BlockKey:
        names = self.keys.get(namespace)
        if names is None:
            names = self.keys[namespace] = {}
        found = names.get(name)
        if found is None:
            found = names[name] = ir.BlockKey(namespace, name)
        return found

    def aliases(self, file: str) -> dict[str, str]:
        return self.loaded.imports.get(file, {})

    def find_block(
        self, parts: tuple[str, ...], file: str, span: Span, standalone: bool = True
    ) -> tuple[ir.BlockKey, ast.Block, str] | None:
        """A block named `name` or `alias.name`, seen from `file`; None (with a diagnostic) if absent."""
        if len(parts) == 1:  # most: a block of the same namespace
            namespace = self.module_of(file)
            block = self.scopes.get(namespace, {}).get(parts[0])
            if block is not None:
                return self.key(namespace, parts[0]), block, block.span.file
            self.unknown_name(parts[0], file, span, unit_hint=standalone)
            return None
        aliases = self.aliases(file)
        if parts[0] in self.loaded.failed.get(file, ()):
            return None  # the import itself failed and was reported
        if len(parts) == 2 and parts[0] in aliases:
            self.aliases_used.add((file, parts[0]))
            target = aliases[parts[0]]
            scope = self.scopes.get(self.module_of(target), {})
            if parts[1] in scope:
                return self.key(self.module_of(target), parts[1]), scope[parts[1]], target
            if self.dropped(target, parts[1]):
                return None
            self.error("E300", f"`{parts[1]}` is not defined in `{parts[0]}` ({target})", span,
                       help=described_as(parts[1], parts[0], target, scope))  # fmt: skip
            return None
        self.unknown_name(".".join(parts), file, span, unit_hint=standalone)
        return None

    def find_map_key(
        self, parts: tuple[str, ...], spec: Spec, file: str, span: Span
    ) -> tuple[ir.BlockKey, ast.Block, str] | None:
        """A map key names a block; a generation source not defined here comes from std/sources."""
        scope = self.scopes.get(self.module_of(file), {})
        prelude = self.scopes.get(self.module_of(PRELUDE), {})
        if spec.target == "source" and len(parts) == 1 and parts[0] not in scope and parts[0] in prelude:
            return self.key(self.module_of(PRELUDE), parts[0]), prelude[parts[0]], PRELUDE
        if spec.target == "source" and len(parts) == 1 and parts[0] not in scope:
            self.unknown_name(parts[0], file, span, extra=tuple(prelude), unit_hint=False)  # std/sources too
            return None
        return self.find_block(parts, file, span)

    def dropped(self, file: str, name: str) -> bool:
        """Whether `name` is that of a statement of `file` dropped for a syntax error (already reported)."""
        module = self.loaded.modules.get(file)
        return module is not None and name in module.dropped

    def unknown_name(
        self, name: str, file: str, span: Span, extra: tuple[str, ...] = (), unit_hint: bool = True
    ) -> None:
        if self.dropped(file, name.split(".")[0]):
            return
        scope = self.scopes.get(self.module_of(file), {})
        hint = did_you_mean(name, [*scope, *self.aliases(file), *extra])
        if hint is None and unit_hint and name in UNITS and "." not in name:
            hint = (f"`{name}` is a unit, not a name: a unit follows its number, and a compound unit "
                    f"has no spaces inside (`1 {name}`, `300 W/{name}`)")  # fmt: skip
        self.error("E300", f"unknown name `{name}`", span, help=hint)

    # -- blocks ---------------------------------------------------------------------------

    def resolve_block(self, namespace: str, name: str, file: str) -> ir.BlockKey:
        return self.resolve_found(self.key(namespace, name), self.scopes[namespace][name], file)

    def resolve_found(self, key: ir.BlockKey, block: ast.Block, file: str) -> ir.BlockKey:
        """The block `find_block` found, resolved once."""
        if key in self.blocks or key in self.in_progress:
            return key
        self.in_progress.add(key)
        outer_rows, self.rows = self.rows, self.table_of_rows(block, file)
        try:
            return self._resolve_block(key, block, key.name, file)
        finally:
            self.rows = outer_rows

    def inherit_rows(
        self, block: ast.Block, key: ir.BlockKey, base: ir.Block, fields: dict[str, ir.Field]
    ) -> dict[str, ir.Field]:
        """An amend of a job over a table keeps the table unless it names another; then every cell the
        base reads is read, by column name, from the new table (values are late-bound)."""
        inherited = base.fields.get("rows")
        if inherited is None or not isinstance(inherited.expr, ir.TableRef):
            return fields
        if self.rows is None:
            self.rows = inherited.expr.table
            return fields
        if self.rows == inherited.expr.table:
            return fields
        own = {f.name for f in block.fields}
        rebound: dict[str, ir.Field] = {}
        for name, field in fields.items():
            if name in own:
                continue
            expr = self.rebind(field.expr, base.key, key, field.span)
            if expr is not None:
                rebound[name] = ir.Field(name, expr, field.span)
        return rebound

    def rebind(self, expr: ir.Expr, base: ir.BlockKey, key: ir.BlockKey, span: Span) -> ir.Expr | None:
        """The same expression over the current table: each column by name (None, reported, if absent)."""
        table = self.loaded.tables[self.rows or ""]
        if isinstance(expr, ir.ColumnRef):
            column = table.columns.get(expr.column)
            text = self.loaded.tables[expr.table].columns[expr.column].dimension is None
            if column is None or (column.dimension is None) != text:
                kind = "text" if text else "numeric"
                self.error("E301", f"`{key}` reads column `{expr.column}` (from `{base}`), which its table "
                           f"`{table.file}` does not have as a {kind} column", span,
                           help=f"give `{table.file}` a column `{expr.column}`, or set the field in `{key}`")  # fmt: skip
                return None
            return ir.ColumnRef(self.rows or "", expr.column, expr.span)
        if isinstance(expr, ir.RowIndicator):
            self.error("E304", f"`{key}` has the rows of another table than `{base}`, so it must choose its blocks "
                       "per row again", span, help=f"write the field again in `{key}`, e.g. `<alias>.{expr.column}`")  # fmt: skip
            return None
        if isinstance(expr, ir.BlockRef) and expr.block == ir.BlockKey(base.module, f"{base.name}.fleet"):
            fleet = self.blocks[expr.block]
            devices = self.rebind(fleet.fields["devices"].expr, base, key, span)
            if devices is None:
                return None
            copy = ir.BlockKey(key.module, f"{key.name}.fleet")
            field = ir.Field("devices", devices, fleet.fields["devices"].span)
            self.blocks[copy] = ir.Block(copy, "fleet", {"devices": field}, (), (), None, fleet.span)
            return ir.BlockRef(copy, expr.span)
        if isinstance(expr, ir.Map):
            values = [self.rebind(e.value, base, key, span) for e in expr.entries]
            if any(v is None for v in values):
                return None
            entries = tuple(ir.Entry(e.block, v, e.span) for e, v in zip(expr.entries, values, strict=True) if v)
            return ir.Map(entries, expr.span)
        if isinstance(expr, ir.Binary):
            left, right = self.rebind(expr.left, base, key, span), self.rebind(expr.right, base, key, span)
            return ir.Binary(expr.op, left, right, expr.span) if left is not None and right is not None else None
        if isinstance(expr, ir.Negate):
            operand = self.rebind(expr.operand, base, key, span)
            return ir.Negate(operand, expr.span) if operand is not None else None
        if isinstance(expr, (ir.Call, ir.Distribution)):
            args = [self.rebind(a, base, key, span) for a in expr.args]
            if not all(args):
                return None
            if isinstance(expr, ir.Distribution):
                return ir.Distribution(expr.name, tuple(a for a in args if a), expr.span)
            return ir.Call(expr.func, tuple(a for a in args if a), expr.span)
        return expr

    def resolve_distribution(self, expr: ast.Call, kind: str | None, file: str) -> ir.Expr | None:
        distribution = DISTRIBUTIONS[expr.func]
        if len(expr.args) != len(distribution.params) and not (distribution.variadic and expr.args):
            self.error("E305", f"`{expr.func}` takes {_count(len(distribution.params), 'argument')}, found {len(expr.args)}",
                       expr.span, help=f"write `{distribution.signature}`")  # fmt: skip
            return None
        for arg in expr.args:
            if _has_distribution(arg):
                self.error("E305", "a distribution's parameters are plain values, not distributions", arg.span,
                           help=f"write `{distribution.signature}` with numbers (and units)")  # fmt: skip
                return None
        args = [self.resolve_expr(a, kind, file) for a in expr.args]
        if not all(args):
            return None
        self.uncertain = True
        return ir.Distribution(expr.func, tuple(a for a in args if a), expr.span)

    def table_of_rows(self, block: ast.Block, file: str) -> str | None:
        """The table named by the block's `rows` field, so its other fields may read the row's cells."""
        if block.kind not in JOB_KINDS:
            return None
        field = next((f for f in block.fields if f.name == "rows"), None)
        if field is None:
            return None
        value = field.value
        if isinstance(value, ast.Ref) and len(value.parts) == 1:
            target = self.aliases(file).get(value.parts[0])
            if target in self.loaded.tables:
                return target
        return None

    def _resolve_block(self, key: ir.BlockKey, block: ast.Block, name: str, file: str) -> ir.BlockKey:
        fields: dict[str, ir.Field] = {}
        checks: tuple[ir.Check, ...] = ()
        citations: tuple[str, ...] = ()
        base_key = None
        if block.base is not None:
            base = self.resolve_base(block, file)
            if base is not None:
                base_key = base.key
                fields, checks, citations = dict(base.fields), base.checks, base.citations
                fields = self.inherit_rows(block, key, base, fields)
        seen: dict[str, ast.Field] = {}
        specs = SCHEMA[block.kind]
        for field in block.fields:
            if field.name in seen:
                self.error("E203", f"field `{field.name}` is set twice in `{name}`", field.span,
                           notes=(f"first set at {seen[field.name].span}",), help="remove one of them",
                           related=(("first set here", seen[field.name].span),))  # fmt: skip
                continue
            seen[field.name] = field
            spec = specs.get(field.name)
            if spec is not None and field.value.__class__ is ast.Number and spec.type == "quantity":
                expr = self.constant(field.value)  # type: ignore[arg-type]  # most fields: a number
                resolved = None if expr is None else _field(field.name, expr, field.span)
            else:
                resolved = self.resolve_field(block, key, field, file)
            if resolved is not None:
                fields[field.name] = resolved
        for check_line in block.checks:
            condition = self.resolve_comparison(check_line.condition, block.kind, file)
            if condition is not None:
                checks += (ir.Check(condition, check_line.message, check_line.span),)
        if block.annotations:
            own = tuple(self.citation(a, file) for a in block.annotations)
            citations = tuple(c for c in own if c) or citations
        self.blocks[key] = _block(key, block.kind, fields, checks, citations, block.doc, block.span, base_key)
        self.in_progress.discard(key)
        return key

    def resolve_base(self, block: ast.Block, file: str) -> ir.Block | None:
        assert block.base is not None
        found = self.find_block(block.base.parts, file, block.base.span)
        if found is None:
            return None
        key, base, base_file = found
        if key in self.in_progress:
            self.error("E304", f"`{block.name}` amends itself through `{block.base.dotted}`", block.base.span)
            return None
        if base.kind != block.kind:
            self.error("E304", f"{article(block.kind)} cannot amend `{block.base.dotted}`, which is {article(base.kind)}",
                       block.base.span, help=f"write `{base.kind} {block.name} = {block.base.dotted} {{ ... }}`")  # fmt: skip
            return None
        self.resolve_found(key, base, base_file)
        return self.blocks.get(key)

    def citation(self, annotation: ast.Annotation, file: str) -> str | None:
        if annotation.name != "source":
            self.error("E305", f"unknown annotation `@{annotation.name}`", annotation.span,
                       help="the annotation nnci knows is `@source(\"...\")`")  # fmt: skip
            return None
        texts = [a.value for a in annotation.args if isinstance(a, ast.String)]
        if len(texts) != len(annotation.args) or not texts:
            self.error("E305", "`@source` takes one or more strings", annotation.span,
                       help='write `@source("Patterson et al. 2021, Table 4")`')  # fmt: skip
            return None
        return "; ".join(texts)

    def resolve_field(self, block: ast.Block, key: ir.BlockKey, field: ast.Field, file: str) -> ir.Field | None:
        spec = SCHEMA[block.kind].get(field.name)
        if spec is None:
            span = Span(field.span.file, field.span.line, field.span.column, field.span.line,
                        field.span.column + len(field.name))  # fmt: skip
            self.error("E301", f"{article(block.kind)} has no field `{field.name}`", span,
                       help=FORMER_NAMES.get(field.name) or field_hint(field.name, block.kind))  # fmt: skip
            return None
        expr = self.resolve_value(spec, field.value, block.kind, key, file)
        return None if expr is None else _field(field.name, expr, field.span)

    def resolve_value(self, spec: Spec, value: ast.Expr, kind: str, key: ir.BlockKey, file: str) -> ir.Expr | None:
        if value.__class__ is ast.Number and spec.type == "quantity":  # most fields: a number with its unit
            return self.constant(value)  # type: ignore[arg-type]
        if spec.type == "ref" and value.__class__ is ast.Ref:  # then a block named: `site = dc`
            return self.resolve_reference(spec, value, file)  # type: ignore[arg-type]
        if spec.type == "instant":
            return resolve_time.start(self, value, file)
        if spec.type == "profile":
            return resolve_time.profile(self, self.resolve_expr(value, kind, file), value)
        if spec.type == "rows":
            if self.rows is not None:
                return ir.TableRef(self.rows, value.span)
            tables = [a for a, m in self.aliases(file).items() if m in self.loaded.tables]
            if (
                isinstance(value, ast.Ref)
                and len(value.parts) == 1
                and value.parts[0] in self.loaded.failed.get(file, ())
            ):
                return None  # the table's import failed and was reported
            written = value.dotted if isinstance(value, ast.Ref) else "this"
            hint = did_you_mean(written, tables) if isinstance(value, ast.Ref) else None
            self.error("E303", f"`rows` names an imported table, and `{written}` is not one", value.span,
                       help=hint or (f"write `rows = {tables[0]}`" if tables else
                       'import a CSV table first: `import "jobs.csv" as jobs`, then `rows = jobs`'))  # fmt: skip
            return None
        if spec.type == "map" and isinstance(value, ast.Ref) and self.table_alias(value, file) is not None:
            return self.row_choice(spec, value, file)
        if spec.type == "fleet" and isinstance(value, ast.Ref) and self.table_alias(value, file) is not None:
            return self.row_fleet(spec, value, key, file)
        if spec.type == "method":
            if isinstance(value, ast.Ref) and len(value.parts) == 1 and value.parts[0] in METHODS:
                return ir.Text(value.parts[0], value.span)
            if isinstance(value, ast.String) and value.value in METHODS:
                self.error("E305", "a method is a name, not a string", value.span,
                           help=f"write `method = {value.value}` without quotes")  # fmt: skip
                return None
            shown = value.dotted if isinstance(value, ast.Ref) else None
            hint = did_you_mean(shown.lower(), METHODS) if shown else None
            message = f"unknown method `{shown}`" if shown else "a method is a name, one of those below"
            self.error("E300", message, value.span,
                       help=(hint + " " if hint else "") + "the methods are " + ", ".join(METHODS))  # fmt: skip
            return None
        if spec.type == "string":
            if isinstance(value, ast.String) and spec.choices and value.value not in spec.choices:
                self.error("E305", f"`{spec.name}` is one of " + ", ".join(f'"{c}"' for c in spec.choices),
                           value.span, help=did_you_mean(value.value, spec.choices)
                           or f'write e.g. `{spec.name} = "{spec.choices[0]}"`')  # fmt: skip
                return None
            if isinstance(value, ast.String):
                return ir.Text(value.value, value.span)
            self.error("E305", f"`{spec.name}` takes a string", value.span, help=f'write `{spec.name} = "..."`')
            return None
        if spec.type in ("fleet", "map") and isinstance(value, ast.Ref):
            return self.resolve_reference(spec, value, file)
        if spec.type == "fleet" and isinstance(value, ast.MapExpr):
            return self.inline_fleet(value, key, file)
        if spec.type == "map" and isinstance(value, ast.MapExpr):
            return self.resolve_map(value, spec, kind, file)
        if spec.type != "quantity":
            expected = {"ref": article(spec.target or ""), "fleet": "a fleet or a map of device counts",
                        "map": f"a map of {spec.target}s to shares"}[spec.type]  # fmt: skip
            self.error("E303", f"`{spec.name}` needs {expected}", value.span,
                       help=f"write `{spec.name} = <{spec.target} name>`")  # fmt: skip
            return None
        return self.resolve_expr(value, kind, file)

    def resolve_reference(self, spec: Spec, value: ast.Ref, file: str) -> ir.Expr | None:
        """A field naming a block: `site = dc`, `fleet = pod` (a map field: the block has all of it)."""
        found = self.find_block(value.parts, file, value.span)
        if found is None:
            return None
        target, block, target_file = found
        if block.kind != spec.target:
            help = f"name a `{spec.target}` block here"
            if spec.type == "fleet" and block.kind == "device":
                help = (
                    f"give counts, `fleet = {{ {value.dotted} = 8 }}`; or, for device-hours of one kind of "
                    f"device without a count, `device = {value.dotted}` and `device_hours = ...`"
                )
            self.error("E303", f"`{spec.name}` needs {article(spec.target or '')}, but `{value.dotted}` is "
                       f"{article(block.kind)}",
                       value.span, help=help)  # fmt: skip
            return None
        self.resolve_found(target, block, target_file)
        if spec.type == "map":  # a single datacenter stands for all of the work
            one = ir.Const(_WHOLE, "100 %", value.span)
            return ir.Map((ir.Entry(target, one, value.span),), value.span)
        return _block_ref(target, value.span)

    def inline_fleet(self, value: ast.MapExpr, job: ir.BlockKey, file: str) -> ir.Expr | None:
        key = ir.BlockKey(job.module, f"{job.name}.fleet")
        devices = self.resolve_map(value, SCHEMA["fleet"]["devices"], "fleet", file, shown="fleet")
        if devices is None:
            return None
        field = ir.Field("devices", devices, value.span)
        self.blocks[key] = ir.Block(key, "fleet", {"devices": field}, (), (), None, value.span)
        return ir.BlockRef(key, value.span)

    def resolve_map(
        self, value: ast.MapExpr, spec: Spec, kind: str, file: str, shown: str | None = None
    ) -> ir.Map | None:
        """`shown` is the field as the user wrote it (an inline `fleet = { ... }` is a map of `devices`)."""
        shown = shown or spec.name
        entries = []
        seen: set[str] = set()
        for entry in value.entries:
            if entry.key in seen:
                self.error("E203", f"`{entry.key}` appears twice in `{shown}`", entry.span)
                continue
            seen.add(entry.key)
            found = self.find_map_key(tuple(entry.key.split(".")), spec, file, entry.span)
            expr = self.resolve_expr(entry.value, kind, file)
            if found is None or expr is None:
                continue
            target, block, target_file = found
            if block.kind != spec.target:
                self.error("E303", f"`{shown}` maps {spec.target}s to {'shares' if spec.shares else 'counts'}, "
                           f"but `{entry.key}` is {article(block.kind)}", entry.span,
                           help=f"name {article(spec.target or '')} block here")  # fmt: skip
                continue
            self.resolve_found(target, block, target_file)
            entries.append(_entry(target, expr, entry.span))
        return ir.Map(tuple(entries), value.span) if len(entries) == len(value.entries) else None

    # -- expressions ----------------------------------------------------------------------

    def resolve_expr(self, expr: ast.Expr, kind: str | None, file: str) -> ir.Expr | None:
        """A quantity expression inside a block of `kind` (None outside any block)."""
        if isinstance(expr, ast.Number):
            return self.constant(expr)
        if isinstance(expr, ast.Ref):
            return self.resolve_ref(expr, kind, file)
        if isinstance(expr, ast.BinOp):
            if self.spaced_unit(expr, kind, file):
                return None
            left, right = self.resolve_expr(expr.left, kind, file), self.resolve_expr(expr.right, kind, file)
            return ir.Binary(expr.op, left, right, expr.span) if left and right else None
        if isinstance(expr, ast.Neg):
            operand = self.resolve_expr(expr.operand, kind, file)
            return ir.Negate(operand, expr.span) if operand else None
        if isinstance(expr, ast.DateTime):
            resolve_time.misplaced(self, expr)
            return None
        if isinstance(expr, ast.Call) and expr.func == resolve_time.SERIES_FUNCTION:
            return resolve_time.inline(self, expr)
        if isinstance(expr, ast.Call) and expr.func == ir.GROUP:
            return self.resolve_group(expr, kind, file)
        if isinstance(expr, ast.Call):
            if expr.func in DISTRIBUTIONS:
                return self.resolve_distribution(expr, kind, file)
            if expr.func not in FUNCTIONS:
                self.error("E300", f"unknown function `{expr.func}`", expr.span,
                           help=did_you_mean(expr.func, CALLABLE) or "functions: " + ", ".join(CALLABLE))  # fmt: skip
                return None
            if not expr.args:
                self.error("E305", f"`{expr.func}` needs at least one argument", expr.span)
                return None
            args = [self.resolve_expr(a, kind, file) for a in expr.args]
            return ir.Call(expr.func, tuple(a for a in args if a), expr.span) if all(args) else None
        if isinstance(expr, ast.String):
            self.error("E305", "a string cannot stand where a quantity is expected", expr.span,
                       help="strings are for fields such as `label`; quantities are numbers with units")  # fmt: skip
            return None
        self.error(
            "E305",
            "a map cannot stand here",
            expr.span,
            help="maps are the values of fields like `mix`, `devices` and `site`",
        )
        return None

    def resolve_group(self, call: ast.Call, kind: str | None, file: str) -> ir.Expr | None:
        """`group(month.energy, jobs.account, "nlp")`: the sum of a job's figure over the rows of its table
        whose `account` cell is "nlp" (what `nnci run --by jobs.account` shows for that group)."""
        usage = f"write e.g. `{GROUP_EXAMPLE}`: a figure of a job over a table, a text column of it, a group"
        if kind is not None:
            self.error("E305", "`group(...)` is a sum over rows of a job; it stands outside blocks", call.span,
                       help="use it in an `expect`, a `figure` or a top-level `check`")  # fmt: skip
            return None
        if len(call.args) != 3:
            self.error("E305", f"`group` takes 3 arguments, not {len(call.args)}", call.span, help=usage)
            return None
        figure, column_ref, value = call.args
        if not isinstance(figure, ast.Ref):
            self.error("E305", "the first argument of `group` is a figure of a job over a table", figure.span,
                       help=usage)  # fmt: skip
            return None
        resolved = self.resolve_expr(figure, None, file)
        if resolved is None:
            return None
        job = self.blocks.get(resolved.block) if isinstance(resolved, ir.QuantityRef) else None
        rows = job.fields.get("rows") if job is not None else None
        if not isinstance(resolved, ir.QuantityRef) or rows is None or not isinstance(rows.expr, ir.TableRef):
            written = None
            if job is not None and isinstance(resolved, ir.QuantityRef):
                written = self.scopes.get(resolved.block.module, {}).get(resolved.block.name)
            if written is not None and any(f.name == "rows" for f in written.fields):
                return None  # its `rows` (the table, or its import) is wrong, and was reported
            self.error("E305", f"`{figure.dotted}` is not a figure of a job over a table", figure.span,
                       help="`group` sums a figure of a job with `rows = <table>` over some of its rows")  # fmt: skip
            return None
        if resolved.name not in QUANTITIES or not QUANTITIES[resolved.name].summed:
            self.error("E305", f"`{figure.dotted}` is not a sum over rows, so it has no total per group",
                       figure.span, help=f"group a figure that adds up over rows, such as `{'.'.join(figure.parts[:-1])}.energy`")  # fmt: skip
            return None
        table = self.loaded.tables[rows.expr.table]
        column = self.group_column(column_ref, file, rows.expr.table, str(resolved.block), usage)
        if column is None:
            return None
        if not isinstance(value, ast.String):
            bare = isinstance(value, ast.Ref) and len(value.parts) == 1
            self.error("E305", "the third argument of `group` is the group's name, as a string", value.span,
                       help=f'write `"{value.dotted}"`, in quotes' if bare else usage)  # type: ignore[union-attr]  # fmt: skip
            return None
        groups = self.groups_of(column)
        cell = groups.get(unicodedata.normalize("NFC", value.value))  # `é` written either way is one name
        if cell is None:
            shown = ", ".join(ast.string_literal(g) for g in list(groups.values())[:10]) + (
                " …" if len(groups) > 10 else ""
            )
            hint = did_you_mean(value.value, list(groups.values()))
            if value.value == "(empty)" and "" in groups:
                hint = '`--by` shows the rows whose cell is empty as "(empty)"; here they are the group `""`'
            self.error("E300", f"no row of `{table.file}` has {column.name} {ast.string_literal(value.value)}",
                       value.span, help=hint or f"the groups: {shown}")  # fmt: skip
            return None
        rows_of_group = ir.RowIndicator(rows.expr.table, column.name, cell, value.span)
        return ir.Call(ir.GROUP, (resolved, rows_of_group), call.span)

    def groups_of(self, column: Column) -> dict[str, str]:
        """A text column's distinct cells, keyed by their NFC form (read once however many `group`s name it)."""
        found = self.column_groups.get(id(column))
        if found is None or found[0] is not column:
            cells = dict.fromkeys(column.labels)
            found = self.column_groups[id(column)] = (column, {unicodedata.normalize("NFC", c): c for c in cells})
        return found[1]

    def group_column(self, ref: ast.Expr, file: str, table_key: str, job: str, usage: str) -> Column | None:
        """The text column `group` groups by: `jobs.account`, or `log.jobs.account` for a table an
        imported file imports; it must be a column of the job's own table (None: reported)."""
        table = self.loaded.tables[table_key]
        parts = ref.parts if isinstance(ref, ast.Ref) else ()
        found = None
        if len(parts) == 2:
            found = self.aliases(file).get(parts[0])
        elif len(parts) == 3 and parts[0] in self.aliases(file):
            found = self.aliases(self.aliases(file)[parts[0]]).get(parts[1])
        if found not in self.loaded.tables:
            self.error("E305", f"the second argument of `group` is a text column of `{table.file}`", ref.span,
                       help=usage)  # fmt: skip
            return None
        if found != table_key:
            self.error("E305", f"`{ref.dotted}` is a column of `{self.loaded.tables[found].file}`, but `{job}`'s "  # type: ignore[union-attr]
                       f"rows are those of `{table.file}`", ref.span,
                       help="group by a column of the job's own table")  # fmt: skip
            return None
        column = table.columns.get(parts[-1])
        if column is None:
            self.error("E301", f"table `{'.'.join(parts[:-1])}` has no column `{parts[-1]}`", ref.span,
                       help=did_you_mean(parts[-1], table.columns) or "columns: " + ", ".join(table.columns))  # fmt: skip
            return None
        if column.problems:
            self.diagnostics.extend(column.problems)
            return None
        if not column.groups_by:
            self.error("E303", f"`{ref.dotted}` holds quantities ({column.unit}); groups are the names in a text "  # type: ignore[union-attr]
                       "column, or plain numbers without a unit such as an id", ref.span,
                       help="group by a column of names or ids, such as an account or a project")  # fmt: skip
            return None
        return column

    def spaced_unit(self, expr: ast.BinOp, kind: str | None, file: str) -> bool:
        """`300 W / h`: a unit after `/` or `*` (not a name here) belongs to the number; said, and True."""
        right, left = expr.right, expr.left
        if expr.op not in "*/" or not isinstance(right, ast.Ref) or len(right.parts) != 1:
            return False
        name = right.parts[0]
        defined = name in self.scopes.get(self.module_of(file), {}) or name in self.aliases(file)
        if defined or name in (SCHEMA[kind] if kind else {}) or name not in UNITS or not isinstance(left, ast.Number):
            return False
        written = f"{left.text} {left.unit}{expr.op}{name}" if left.unit else f"{left.text} {name}"
        self.error("E300", f"`{name}` is a unit, and units touch their number", right.span,
                   help=f"write `{written}` (no spaces inside a unit)")  # fmt: skip
        return True

    def constant(self, number: ast.Number) -> ir.Const | None:
        """A number with its unit in SI; the same spelling is converted once (a large file repeats them)."""
        known = self.constants.get((number.text, number.unit))
        if known is None:
            made = self.new_constant(number)
            if made is None:
                return None  # reported at every place it is written
            known = self.constants[number.text, number.unit] = (made.value, made.text)
        made = _new(ir.Const)  # hundreds of thousands in a large file: set without `__init__`
        _const_value(made, known[0])
        _const_text(made, known[1])
        _const_span(made, number.span)
        return made

    def new_constant(self, number: ast.Number) -> ir.Const | None:
        if _out_of_range(number.text, number.value):
            small = not _exponent_too_large(number.text)  # `1e-400` would become 0; `1e400` has no float
            self.error("E305", f"`{number.text}` is out of the range of numbers nnci holds", number.span,
                       help=("write it with an exponent of at least -308, or use a smaller unit prefix (`nW`, `mg`)"
                             if small else "write it with an exponent of at most 308, or use a unit prefix"))  # fmt: skip
            return None
        if not math.isfinite(number.value):
            self.error("E305", f"`{number.text}` is too large a number", number.span,
                       help="numbers must be finite; use a larger unit prefix (`TWh`, `PFLOP`)")  # fmt: skip
            return None
        if number.unit is None:
            return ir.Const(Quantity(number.value, DIMENSIONLESS), number.text, number.span)
        try:
            value, dimension = in_si(number.value, number.unit)
        except UnitError as error:
            span = number.span
            start = span.end_column - len(number.unit)
            self.error("E302", str(error), Span(span.file, span.end_line, start, span.end_line, span.end_column),
                       help=error.hint)  # fmt: skip
            return None
        if not math.isfinite(value):
            self.error("E305", f"`{number.text} {number.unit}` is too large a number", number.span,
                       help="numbers must be finite in SI units; is the prefix right?")  # fmt: skip
            return None
        return ir.Const(Quantity(value, dimension), f"{number.text} {number.unit}", number.span)

    def resolve_ref(self, ref: ast.Ref, kind: str | None, file: str) -> ir.Expr | None:
        parts = ref.parts
        own = SCHEMA[kind] if kind else {}
        if len(parts) == 1 and parts[0] in own and own[parts[0]].type == "quantity":
            return ir.SelfRef(parts[0], ref.span)
        if kind is None and len(parts) == 1 and parts[0] in self.figure_names:  # a figure, outside any block
            return ir.QuantityRef(ir.FIGURE, parts[0], ref.span)
        aliases = self.aliases(file)
        if self.table_alias(ref, file) is not None:
            return self.column_ref(ref, file)
        if len(parts) >= 2 and aliases.get(parts[0]) in self.loaded.series:
            self.series_used.add(aliases[parts[0]])
            return resolve_time.series_column(self, ref, self.loaded.series[aliases[parts[0]]])
        if len(parts) >= 2 and parts[0] in self.loaded.failed.get(file, ()):
            return None  # the import itself failed and was reported
        if parts[0] in aliases:
            block_parts, rest = parts[:2], parts[2:]
        else:
            block_parts, rest = parts[:1], parts[1:]
        if parts == ("total",) or (parts[0] == "total" and len(parts) == 2):
            if len(parts) == 2 and parts[1] not in ADDITIVE:
                self.error("E301", f"`total.{parts[1]}` is not a sum over jobs", ref.span,
                           help="total names a sum: " + ", ".join(ADDITIVE))  # fmt: skip
                return None
            return self.quantity_ref(ir.TOTAL, "inference", rest, ref)
        if len(parts) == 1 and parts[0] not in self.scopes.get(self.module_of(file), {}):
            self.unknown_name(parts[0], file, ref.span, extra=tuple(n for n, s in own.items() if s.type == "quantity"))
            return None
        found = self.find_block(block_parts, file, ref.span, standalone=not rest)
        if found is None:
            return None
        key, block, block_file = found
        self.resolve_found(key, block, block_file)
        resolved = self.blocks.get(key)
        rows = resolved.fields.get("rows") if resolved is not None else None
        over_table = rows is not None and isinstance(rows.expr, ir.TableRef) and rows.expr.table != self.rows
        if over_table and rest and kind is not None:  # (an expectation of a job over a table is of its sum)
            assert rows is not None and isinstance(rows.expr, ir.TableRef)
            self.error("E305", f"`{ref.dotted}` differs by row: `{key}` is a job over the table "
                       f"`{self.loaded.tables[rows.expr.table].file}`", ref.span,
                       help=f"refer to it from a job over the same table, or use a sum such as `total.{rest[0]}`")  # fmt: skip
            return None
        return self.quantity_ref(key, block.kind, rest, ref)

    def quantity_ref(self, key: ir.BlockKey, kind: str, rest: tuple[str, ...], ref: ast.Ref) -> ir.Expr | None:
        if key == ir.TOTAL and len(rest) != 1:
            self.error("E305", "`total` alone is not a quantity", ref.span,
                       help="name one of its sums, e.g. `total.energy` or `total.operational`")  # fmt: skip
            return None
        if len(rest) != 1:
            self.error("E305", f"`{ref.dotted}` names {article(kind)} block, not a quantity", ref.span,
                       help=f"name one of its quantities, e.g. `{ref.dotted}.{next(iter(_quantities(kind)), 'x')}`")  # fmt: skip
            return None
        spec = SCHEMA[kind].get(rest[0])
        if spec is None or spec.type != "quantity":
            self.error("E301", f"{article(kind)} has no quantity `{rest[0]}`", ref.span,
                       help=did_you_mean(rest[0], _quantities(kind)))  # fmt: skip
            return None
        return ir.QuantityRef(key, rest[0], ref.span)

    # -- tables -----------------------------------------------------------------------------

    def table_alias(self, ref: ast.Ref, file: str) -> str | None:
        """The table's key when `ref` starts with the alias of an imported table (`jobs.gpus`; a name
        alone, `dc`, is a block of the file)."""
        if len(ref.parts) < 2:
            return None
        target = self.aliases(file).get(ref.parts[0])
        return target if target in self.loaded.tables else None

    def column(self, ref: ast.Ref, file: str) -> Column | None:
        """The column `alias.name` of the table the current job has rows of; None (reported) otherwise."""
        key = self.table_alias(ref, file)
        assert key is not None
        table = self.loaded.tables[key]
        alias = ref.parts[0]
        if len(ref.parts) != 2:
            self.error("E305", f"`{ref.dotted}`: a table is read one column at a time", ref.span,
                       help=f"write `{alias}.<column>`; columns: " + ", ".join(table.columns))  # fmt: skip
            return None
        column = table.columns.get(ref.parts[1])
        self.columns_read.add((key, ref.parts[1]))
        if column is None:
            self.error("E301", f"table `{alias}` has no column `{ref.parts[1]}`", ref.span,
                       help=did_you_mean(ref.parts[1], table.columns) or "columns: " + ", ".join(table.columns))  # fmt: skip
            return None
        if column.problems:
            self.diagnostics.extend(column.problems)
            return None
        if self.rows is not None and self.rows != key:
            self.error("E305", f"`{ref.dotted}` is a column of `{table.file}`, but this job's rows are those of "
                       f"`{self.loaded.tables[self.rows].file}`", ref.span,
                       help="a job reads the cells of its own table's rows")  # fmt: skip
            return None
        if self.rows != key:
            self.error("E305", f"`{ref.dotted}` is a cell of a row of `{alias}`, and only a job over that table has "
                       "rows", ref.span, help=f"write it in a training or inference block with `rows = {alias}`")  # fmt: skip
            return None
        return column

    def column_ref(self, ref: ast.Ref, file: str) -> ir.Expr | None:
        column = self.column(ref, file)
        if column is None:
            return None
        if column.dimension is None:
            if _mostly_numbers(column.values):  # then the cells that are not numbers are the mistake
                self.diagnostics.extend(column.number_problems())
                return None
            self.error("E303", f"`{ref.dotted}` is a text column; a number is expected here", ref.span,
                       help="a text column may name datacenters for `site` or fleets for `fleet`; numbers need a "
                       "numeric column")  # fmt: skip
            return None
        return ir.ColumnRef(self.rows or "", column.name, ref.span)

    def row_choice(self, spec: Spec, ref: ast.Ref, file: str) -> ir.Map | None:
        """`site = jobs.cluster`: each row's cell names the block; as a map whose weights are 1 in the rows
        that name it, so every formula over shares applies unchanged."""
        column = self.column(ref, file)
        if column is None:
            return None
        if column.dimension is not None:
            self.error("E303", f"`{ref.dotted}` is a numeric column; `{spec.name}` needs the names of {spec.target}s",
                       ref.span, help=f"use a text column whose cells name {spec.target} blocks")  # fmt: skip
            return None
        names = dict.fromkeys(column.values)
        scope = self.scopes.get(self.module_of(file), {})
        unknown = [n for n in names if scope.get(n) is None or scope[n].kind != spec.target]
        if unknown:
            shown = set(unknown[:10])
            rows: dict[str, list[int]] = {}
            for row, cell in enumerate(column.values):
                if cell in shown:
                    rows.setdefault(cell, []).append(row)
            cells = {n: _first_cell(column, rows[n][0]) for n in shown}  # where each is first written
            listed = [(f"`{n}`" if n else "an empty cell") + f" in {arrays.rows_text(rows[n])}"
                      + (f", first at {cells[n]}" if cells[n] else "") for n in unknown[:10]]  # fmt: skip
            related = tuple((f"`{n}`" if n else "an empty cell", cells[n]) for n in unknown[:10] if cells[n])
            self.error("E300", f"`{ref.dotted}` names {len(unknown)} unknown {spec.target}(s)", ref.span,
                       notes=tuple(listed) + ((f"and {len(unknown) - 10} more",) if len(unknown) > 10 else ()),
                       help=did_you_mean(next(iter(unknown)), [n for n, b in scope.items() if b.kind == spec.target])
                       or f"each cell must name {article(spec.target or '')} block of this file",
                       related=related)  # type: ignore[arg-type]  # fmt: skip
            return None
        entries = []
        for name in names:
            target = self.resolve_block(self.module_of(file), name, file)
            entries.append(ir.Entry(target, ir.RowIndicator(self.rows or "", column.name, name, ref.span), ref.span))
        return ir.Map(tuple(entries), ref.span)

    def row_fleet(self, spec: Spec, ref: ast.Ref, job: ir.BlockKey, file: str) -> ir.Expr | None:
        """`fleet = jobs.partition`: each row's cell names a fleet block. The job's fleet counts each
        device as the fleet its row names does (the count times 1 in those rows, times 0 elsewhere)."""
        choice = self.row_choice(spec, ref, file)
        if choice is None:
            return None
        counts: dict[ir.BlockKey, list[ir.Expr]] = {}
        for entry in choice.entries:
            fleet = self.blocks[entry.block]
            devices = fleet.fields.get("devices")
            if set(fleet.fields) != {"devices"} or devices is None or not isinstance(devices.expr, ir.Map):
                self.error("E303", f"fleet `{entry.block}` is named in `{ref.dotted}`, so it must list its devices "
                           "and nothing else", fleet.span, help="give it `devices = { ... }` only")  # fmt: skip
                return None
            for count in devices.expr.entries:
                counts.setdefault(count.block, []).append(ir.Binary("*", entry.value, count.value, ref.span))
        entries = []
        for device, terms in counts.items():
            total = terms[0]
            for term in terms[1:]:
                total = ir.Binary("+", total, term, ref.span)
            entries.append(ir.Entry(device, total, ref.span))
        key = ir.BlockKey(job.module, f"{job.name}.fleet")
        field = ir.Field("devices", ir.Map(tuple(entries), ref.span), ref.span)
        self.blocks[key] = ir.Block(key, "fleet", {"devices": field}, (), (), None, ref.span)
        return ir.BlockRef(key, ref.span)

    def resolve_comparison(self, comparison: ast.Comparison, kind: str | None, file: str) -> ir.Comparison | None:
        """None when a side does not resolve (already reported): a placeholder would only add noise."""
        left = self.resolve_expr(comparison.left, kind, file)
        right = self.resolve_expr(comparison.right, kind, file)
        return ir.Comparison(comparison.op, left, right, comparison.span) if left and right else None

    def resolve_expect(self, stmt: ast.Expect, file: str) -> ir.Expect | None:
        if stmt.statistic is not None:
            return self.resolve_bound(stmt, file)
        """An expectation of a quantity, or of any expression of quantities (an anonymous figure, named by
        its text: `expect serve.total / train.total = 0.94 within 1 %`)."""
        if isinstance(stmt.target, ast.Ref):
            target = self.resolve_ref(stmt.target, None, file)
            text = stmt.target.dotted
        else:
            expr = self.resolve_expr(stmt.target, None, file)
            text = self.written(stmt.target.span)
            target = ir.QuantityRef(ir.FIGURE, text, stmt.target.span) if expr is not None else None
            if expr is not None and text not in self.figures:
                self.figures[text] = ir.Figure(text, expr, stmt.target.span, named=False)
        value = self.expected_constant(stmt.value, file)
        tolerance = self.expected_constant(stmt.tolerance, file) if stmt.tolerance else None
        if value is not None and stmt.tolerance is None and not isinstance(stmt.value, ast.Number):
            self.error("E305", "an expected value that is not a plain number needs `within`", stmt.value.span,
                       help="without `within`, the tolerance comes from the digits written, e.g. `552.1 tCO2e` ± 0.05")  # fmt: skip
            return None
        if not isinstance(target, ir.QuantityRef) or value is None or (stmt.tolerance and tolerance is None):
            return None
        return ir.Expect(target.block, target.name, value, tolerance, text, stmt.span)

    def written(self, span: Span) -> str:
        """The text at a span (one expression, on one line), spaces collapsed."""
        lines = source_lines(self.loaded.sources.get(span.file, ""))  # split once per file, not per expect
        if span.line != span.end_line or span.line > len(lines):
            return " ".join("\n".join(lines[span.line - 1 : span.end_line]).split())
        return " ".join(lines[span.line - 1][span.column - 1 : span.end_column - 1].split())

    def resolve_bound(self, stmt: ast.Expect, file: str) -> ir.Expect | None:
        """`expect p95(gpt3.operational) <= 600 tCO2e`: a bound on a statistic of the figure's samples."""
        assert stmt.statistic is not None
        if not isinstance(stmt.target, ast.Ref):  # `expect a.x / b.x <= 2`: not a statistic of one figure
            self.error("E305", f"`{stmt.op}` in an expect line bounds a statistic of one figure's samples", stmt.span,
                       help="write e.g. `expect p95(train.total) <= 600 tCO2e`; a figure's value is expected "
                       "with `=`: `expect train.total = 500 tCO2e within 5 %`")  # fmt: skip
            return None
        if stmt.statistic == "":  # `expect total.energy <= 1 GWh`: a bound, but on no statistic
            self.error("E305", f"`{stmt.op}` in an expect line bounds a statistic of the figure's samples", stmt.span,
                       help=f"write `expect p50({stmt.target.dotted}) {stmt.op} …` (or p5, p95, mean, sd: without "
                       "uncertain inputs p50 is the figure's value), or expect a value with `=`: "
                       f"`expect {stmt.target.dotted} = … within 5 %`")  # fmt: skip
            return None
        if stmt.statistic not in STATISTICS:
            self.error("E300", f"unknown statistic `{stmt.statistic}`", stmt.span,
                       help=did_you_mean(stmt.statistic, STATISTICS) or "statistics: " + ", ".join(STATISTICS))  # fmt: skip
            return None
        if stmt.op not in ("<=", "<", ">=", ">"):
            self.error("E305", f"a statistic is bounded with <=, <, >= or >, not `{stmt.op}`", stmt.span,
                       help=f"write e.g. `expect {stmt.statistic}({stmt.target.dotted}) <= 600 tCO2e`")  # fmt: skip
            return None
        target = self.resolve_ref(stmt.target, None, file)
        value = self.expected_constant(stmt.value, file)
        if not isinstance(target, ir.QuantityRef) or value is None:
            return None
        text = f"{stmt.statistic}({stmt.target.dotted})"
        return ir.Expect(target.block, target.name, value, None, text, stmt.span, stmt.statistic, stmt.op)

    def expected_constant(self, expr: ast.Expr, file: str) -> ir.Expr | None:
        """An expected value or tolerance: a number with its unit, or arithmetic on such numbers."""
        if _has_reference(expr):
            self.error("E305", "an expected value is a number with its unit, not a reference", expr.span,
                       help="write the published figure, e.g. `expect gpt3.energy = 1287 MWh within 1 %`")  # fmt: skip
            return None
        return self.resolve_expr(expr, None, file)


_new = object.__new__
_WHOLE = Quantity(1.0, DIMENSIONLESS)  # the share of a datacenter named alone (`site = dc`)
_block_key, _block_kind, _block_fields, _block_checks, _block_citations, _block_doc, _block_span, _block_base = setters(
    ir.Block
)


def _block(
    key: ir.BlockKey,
    kind: str,
    fields: dict[str, ir.Field],
    checks: tuple[ir.Check, ...],
    citations: tuple[str, ...],
    doc: str | None,
    span: Span,
    base: ir.BlockKey | None,
) -> ir.Block:
    """An `ir.Block`, set without `__init__`."""
    made = _new(ir.Block)
    _block_key(made, key)
    _block_kind(made, kind)
    _block_fields(made, fields)
    _block_checks(made, checks)
    _block_citations(made, citations)
    _block_doc(made, doc)
    _block_span(made, span)
    _block_base(made, base)
    return made


_field_name, _field_expr, _field_span = setters(ir.Field)


_ref_block, _ref_span = setters(ir.BlockRef)
_entry_block, _entry_value, _entry_span = setters(ir.Entry)


def _block_ref(block: ir.BlockKey, span: Span) -> ir.BlockRef:
    """An `ir.BlockRef`, set without `__init__` (one per reference to a block)."""
    made = _new(ir.BlockRef)
    _ref_block(made, block)
    _ref_span(made, span)
    return made


def _entry(block: ir.BlockKey, value: ir.Expr, span: Span) -> ir.Entry:
    """An `ir.Entry` of a map, set without `__init__`."""
    made = _new(ir.Entry)
    _entry_block(made, block)
    _entry_value(made, value)
    _entry_span(made, span)
    return made


def _first_cell(column: Column, row: int) -> Span | None:
    """Where a table's cell stands (None for a table not read from a file)."""
    try:
        return column.cell_span(row)
    except ValueError:
        return None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _field(name: str, expr: ir.Expr, span: Span) -> ir.Field:
    """An `ir.Field`, set without `__init__` (hundreds of thousands in a large file)."""
    made = _new(ir.Field)
    _field_name(made, name)
    _field_expr(made, expr)
    _field_span(made, span)
    return made


_const_value, _const_text, _const_span = setters(ir.Const)


def _mostly_numbers(cells: tuple[str, ...]) -> bool:
    from nnci.table import NUMBER

    return 2 * sum(1 for cell in cells if NUMBER.fullmatch(cell.strip())) >= len(cells)


def _out_of_range(text: str, value: float) -> bool:
    """A literal that a float cannot hold as written: `0e400` (its last digit has no size a float can
    hold, so neither has its tolerance) or `1e-400` (it would silently become 0)."""
    if _exponent_too_large(text):
        return True
    mantissa = text.replace("_", "").lower().partition("e")[0]
    return value == 0 and any(digit in mantissa for digit in "123456789")


def _exponent_too_large(text: str) -> bool:
    exponent = text.replace("_", "").lower().partition("e")[2]
    return bool(exponent) and int(exponent) > 308


def _has_distribution(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Call):
        return expr.func in DISTRIBUTIONS or any(_has_distribution(a) for a in expr.args)
    if isinstance(expr, ast.BinOp):
        return _has_distribution(expr.left) or _has_distribution(expr.right)
    if isinstance(expr, ast.Neg):
        return _has_distribution(expr.operand)
    return False


def _has_reference(expr: ast.Expr) -> bool:
    if isinstance(expr, (ast.Ref, ast.MapExpr, ast.String)):
        return True
    if isinstance(expr, ast.BinOp):
        return _has_reference(expr.left) or _has_reference(expr.right)
    if isinstance(expr, ast.Neg):
        return _has_reference(expr.operand)
    if isinstance(expr, ast.Call):
        return any(_has_reference(a) for a in expr.args)
    return False


def _quantities(kind: str) -> list[str]:
    return [name for name, spec in SCHEMA[kind].items() if spec.type == "quantity"]
