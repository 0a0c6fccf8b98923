"""`nnci sweep`: every combination of `--vary` values, evaluated as one program.

Each `--vary block.field=a,b,c` is an axis. Its values are resolved once, in the block's own file,
as the field would be (so they are checked as in a file). The swept program holds, for every
combination, a copy of each block that depends on a varied one (the varied blocks themselves and
everything that refers to them, up to the jobs), its references pointing at the copies of the
same combination; jobs that depend on nothing varied are evaluated once and shared. The compiled
plan then stacks the copies of one shape as numpy columns, so a thousand combinations are one
array run, not a thousand runs.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from nnci import api, ir
from nnci import overrides as whatif
from nnci.check import check as check_program
from nnci.deep import with_deep_stack
from nnci.diagnostics import Diagnostic, NnciError, Span, has_errors
from nnci.engine import Derivation, Result, Unknown
from nnci.output import Tabular
from nnci.quantity import Quantity
from nnci.resolve import ROOT, resolve_with_fields
from nnci.schema import ADDITIVE, REPORTED, REPORTED_IF_KNOWN, SCHEMA

SWEEP_MODULE = "<sweep>"  # the module of the copies; no file has this name


@attrs.frozen
class Axis:
    label: str  # as written: `dc.grid`
    block: ir.BlockKey
    field: str
    values: tuple[ir.Field, ...]
    texts: tuple[str, ...]  # each value as written
    span: Span | None = None  # the `--vary` argument's target


@attrs.frozen
class Combination:
    choice: tuple[int, ...]  # per axis, the index of its value
    jobs: dict[str, dict[str, Result]]  # job name → its figures
    total: dict[str, Result]  # sums over the jobs

    def texts(self, axes: Sequence[Axis]) -> list[str]:
        return [axis.texts[i] for axis, i in zip(axes, self.choice, strict=True)]


@attrs.frozen
class Sweep:
    axes: tuple[Axis, ...]
    combinations: tuple[Combination, ...]  # sorted by total carbon, unknown last
    program: ir.Program  # the scenario with its `--set` fields, before any `--vary`
    jobs_evaluated: int  # jobs in the swept program
    jobs_stacked: int  # of those, evaluated as array columns
    warnings: tuple[Diagnostic, ...] = ()


def run(
    paths: Sequence[str | Path],
    vary: Sequence[str],
    overrides: Sequence[str] = (),
    show: Sequence[str] = (),
    allow_imports: Sequence[str | Path] = (),
    max_file_bytes: int | None = None,
) -> Sweep:
    """Load, check and evaluate every combination; raises NnciError with every diagnostic found."""
    return with_deep_stack(_run, paths, vary, overrides, show, allow_imports, max_file_bytes)


def _run(
    paths: Sequence[str | Path],
    vary: Sequence[str],
    overrides: Sequence[str],
    show: Sequence[str],
    allow_imports: Sequence[str | Path],
    max_file_bytes: int | None,
) -> Sweep:
    loaded, diagnostics = api.load_with_overrides(paths, overrides, allow_imports, max_file_bytes, vary)
    parsed = whatif.parse(vary, whatif.VARY)
    wanted: list[tuple[str, str, whatif.Override]] = []
    for argument in parsed.arguments:
        for override in argument:
            found = whatif.locate(loaded, override)
            if not isinstance(found, Diagnostic):  # else reported by load_with_overrides
                wanted.append((found.module, found.block.name, override))
    seen_axes: dict[tuple[str, str, str], whatif.Override] = {}
    for module, name, override in wanted:
        identity = (module, name, override.field.name)
        first = seen_axes.setdefault(identity, override)
        if first.target_span != override.target_span:
            diagnostics.append(Diagnostic("E203", f"`{override.label}` is varied twice", override.target_span,
                                          notes=(f"first varied at {first.target_span}",),
                                          help="give all its values in one --vary"))  # fmt: skip
    if has_errors(diagnostics):
        raise NnciError(diagnostics, loaded.sources)
    program, fields, problems = resolve_with_fields(loaded, [(m, n, o.field) for m, n, o in wanted])
    diagnostics += problems
    if has_errors(diagnostics):
        raise NnciError(diagnostics + check_program(program, constants_only=True), loaded.sources)
    axes = _axes(set(loaded.roots), wanted, fields)
    warnings = _checked(program, axes, diagnostics)
    figures = _figures(program, show)
    if isinstance(figures, str):
        raise NnciError([Diagnostic("E306", f"--show: {figures}", None)], program.sources)
    swept, lanes = _swept(program, axes)
    plan, engine = api.compile(swept)
    results = api.evaluate(swept, engine, plan)
    by_key = {job.key: job for job in results.jobs}
    combinations = []
    for choice, keys in lanes:
        jobs = {}
        for original, key in keys.items():
            quantities = dict(by_key[key].quantities)
            for name in figures:
                if name not in quantities and name in SCHEMA[program.blocks[original].kind]:
                    quantities[name] = engine.quantity(key, name)
            jobs[str(original)] = quantities
        combinations.append(Combination(choice, jobs, _total(jobs, figures)))
    if not show:
        optional = [
            n for n in REPORTED_IF_KNOWN if not all(isinstance(c.total.get(n), Derivation) for c in combinations)
        ]
        for combination in combinations:
            for name in optional:
                del combination.total[name]
    combinations.sort(key=_carbon_order)
    stacked = sum(len(g.jobs) for g in plan.groups if g.stacked is not None)
    late = [d for d in engine.diagnostics if d not in warnings] + _idle_axes(axes, combinations)
    return Sweep(tuple(axes), tuple(combinations), program, len(swept.jobs), stacked, (*warnings, *late))


def _axes(roots: set[str], wanted: list[tuple[str, str, whatif.Override]], fields: list[ir.Field | None]) -> list[Axis]:
    axes: dict[tuple[ir.BlockKey, str], Axis] = {}
    for (module, name, override), field in zip(wanted, fields, strict=True):
        assert field is not None  # a value with errors stopped the run
        key = ir.BlockKey(ROOT if module in roots else module, name)
        axis = axes.get((key, field.name))
        if axis is None:
            axes[key, field.name] = Axis(override.label, key, field.name, (field,), (override.text,),
                                         override.target_span)  # fmt: skip
        else:
            axes[key, field.name] = attrs.evolve(axis, values=(*axis.values, field), texts=(*axis.texts, override.text))
    return list(axes.values())


def _checked(program: ir.Program, axes: list[Axis], diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The scenario is checked as it is, and once with each value of each axis in place (so a value out of
    range, or one that breaks a `check` line, is reported where it was written)."""
    found = [*diagnostics, *check_program(program)]
    for axis in axes:
        for value in axis.values:
            found += check_program(_with_fields(program, {(axis.block, axis.field): value}))
    found = list(dict.fromkeys(found))
    if has_errors(found):
        raise NnciError(found, program.sources)
    return found


def _idle_axes(axes: list[Axis], combinations: list[Combination]) -> list[Diagnostic]:
    """An axis whose values change none of the figures (with the other axes held) is said, not ignored."""
    found = []
    for index, axis in enumerate(axes):
        groups: dict[tuple[int, ...], set[tuple[object, ...]]] = {}
        for combination in combinations:
            rest = combination.choice[:index] + combination.choice[index + 1 :]
            figures = tuple(
                r.value.magnitude if isinstance(r, Derivation) else None for r in combination.total.values()
            )
            groups.setdefault(rest, set()).add(figures)
        if all(len(seen) == 1 for seen in groups.values()):
            found.append(Diagnostic("E205", f"`--vary {axis.label}` changes none of the figures shown", axis.span,
                                    severity="warning", help="no job's figures are derived from it, or a value "
                                    "given further down the derivation stands in for it; see `nnci explain`"))  # fmt: skip
    return found


def _with_fields(program: ir.Program, fields: dict[tuple[ir.BlockKey, str], ir.Field]) -> ir.Program:
    blocks = dict(program.blocks)
    for (key, name), field in fields.items():
        blocks[key] = attrs.evolve(blocks[key], fields={**blocks[key].fields, name: field})
    return attrs.evolve(program, blocks=blocks)


def _figures(program: ir.Program, show: Sequence[str]) -> list[str] | str:
    """The figures a row shows: the reported ones, or those named by --show (sums over jobs)."""
    if not show:  # the optional figures (net operational) are added where every combination has them
        return [*REPORTED, *(n for n in REPORTED_IF_KNOWN if n in ADDITIVE)]
    figures = []
    for name in show:
        figure = program.figures.get(name)
        if name not in ADDITIVE and figure is not None and figure.named:
            return (f"`{name}` is a named figure (`figure {name} = …` at {figure.span}), not a sum over jobs: a "
                    f"sweep's rows show sums over jobs ({', '.join(REPORTED)} …); to see `{name}` for one "
                    f"combination, `nnci run FILE --set …` prints it under the table")  # fmt: skip
        if name not in ADDITIVE:
            return f"`{name}` is not a figure that adds up over jobs (figures: {', '.join(ADDITIVE)})"
        figures.append(name)
    if "total" not in figures:
        figures.append("total")  # the rows are sorted by it
    return figures


# -- the swept program ---------------------------------------------------------------------


def _swept(program: ir.Program, axes: list[Axis]) -> tuple[ir.Program, list[tuple[tuple[int, ...], dict]]]:
    """The program with a copy of every affected block per combination, and per combination which job
    stands for each of the scenario's jobs."""
    varied = {axis.block for axis in axes}
    affected = _dependents(program, varied)
    jobs = program.jobs
    blocks = dict(program.blocks)
    roots = [job for job in jobs if job not in affected]  # the same in every combination: evaluated once
    lanes = []
    choices = itertools.product(*(range(len(axis.values)) for axis in axes))
    for number, choice in enumerate(choices):
        mapping = {key: ir.BlockKey(SWEEP_MODULE, f"{number}/{key}") for key in affected}
        replaced = {(axis.block, axis.field): axis.values[i] for axis, i in zip(axes, choice, strict=True)}
        for key in affected:
            block = program.blocks[key]
            fields = {}
            for name, field in block.fields.items():
                field = replaced.get((key, name), field)
                fields[name] = ir.Field(name, _rewrite(field.expr, mapping), field.span)
            for (target, name), field in replaced.items():
                if target == key and name not in fields:
                    fields[name] = ir.Field(name, _rewrite(field.expr, mapping), field.span)
            blocks[mapping[key]] = ir.Block(mapping[key], block.kind, fields, (), block.citations, block.doc,
                                            block.span, block.base)  # fmt: skip
        roots += [mapping[job] for job in jobs if job in affected]
        lanes.append((choice, {job: mapping.get(job, job) for job in jobs}))
    swept = ir.Program(blocks, tuple(roots), (), program.sources, program.aliases, program.tables,
                       uncertain=program.uncertain)  # fmt: skip
    return swept, lanes


def _dependents(program: ir.Program, varied: set[ir.BlockKey]) -> set[ir.BlockKey]:
    """The varied blocks and every block that refers to one of them, directly or not."""
    users: dict[ir.BlockKey, set[ir.BlockKey]] = {}
    for key, block in program.blocks.items():
        for field in block.fields.values():
            for target in _targets(field.expr):
                users.setdefault(target, set()).add(key)
    found, stack = set(varied), list(varied)
    while stack:
        for user in users.get(stack.pop(), ()):
            if user not in found:
                found.add(user)
                stack.append(user)
    if ir.TOTAL in users:  # a figure built on `total` would sum every combination's jobs
        raise NnciError([Diagnostic("E306", "a sweep cannot vary a scenario whose blocks refer to `total`",
                                    program.blocks[next(iter(users[ir.TOTAL]))].span,
                                    help="write the sum over jobs out, or use --set one value at a time")])  # fmt: skip
    return found


def _targets(expr: ir.Expr) -> Iterable[ir.BlockKey]:
    if isinstance(expr, (ir.QuantityRef, ir.BlockRef)):
        yield expr.block
    elif isinstance(expr, ir.Map):
        for entry in expr.entries:
            yield entry.block
            yield from _targets(entry.value)
    elif isinstance(expr, ir.Binary):
        yield from _targets(expr.left)
        yield from _targets(expr.right)
    elif isinstance(expr, ir.Negate):
        yield from _targets(expr.operand)
    elif isinstance(expr, ir.Call):
        for arg in expr.args:
            yield from _targets(arg)


def _rewrite(expr: ir.Expr, mapping: dict[ir.BlockKey, ir.BlockKey]) -> ir.Expr:
    """The expression with references to copied blocks pointing at the copies."""
    if isinstance(expr, ir.QuantityRef):
        return ir.QuantityRef(mapping[expr.block], expr.name, expr.span) if expr.block in mapping else expr
    if isinstance(expr, ir.BlockRef):
        return ir.BlockRef(mapping[expr.block], expr.span) if expr.block in mapping else expr
    if isinstance(expr, ir.Map):
        entries = tuple(
            ir.Entry(mapping.get(e.block, e.block), _rewrite(e.value, mapping), e.span) for e in expr.entries
        )
        return ir.Map(entries, expr.span)
    if isinstance(expr, ir.Binary):
        return ir.Binary(expr.op, _rewrite(expr.left, mapping), _rewrite(expr.right, mapping), expr.span)
    if isinstance(expr, ir.Negate):
        return ir.Negate(_rewrite(expr.operand, mapping), expr.span)
    if isinstance(expr, ir.Call):
        return ir.Call(expr.func, tuple(_rewrite(a, mapping) for a in expr.args), expr.span)
    return expr


def _total(jobs: dict[str, dict[str, Result]], figures: Sequence[str]) -> dict[str, Result]:
    """Each figure summed over the jobs that have it (queries only over inference); unknown if any is."""
    total: dict[str, Result] = {}
    for name in figures:
        results = [q[name] for q in jobs.values() if name in q]
        known = [r for r in results if isinstance(r, Derivation)]
        if not results or len(known) != len(results):
            missing = tuple(m for r in results if isinstance(r, Unknown) for m in r.missing)
            total[name] = Unknown(ir.TOTAL, name, missing or ("a job with this figure",))
            continue
        value = math.fsum(float(r.value.magnitude) for r in known)
        total[name] = Derivation(ir.TOTAL, name, Quantity(value, known[0].value.dimension), None, tuple(known))
    return total


def _carbon_order(combination: Combination) -> tuple[int, float, tuple[int, ...]]:
    """Lowest total carbon first; where the total is unknown (no embodied figure), by operational carbon."""
    for rank, name in enumerate(("total", "operational")):
        figure = combination.total.get(name)
        if isinstance(figure, Derivation):
            return (rank, float(figure.value.magnitude), combination.choice)
    return (2, 0.0, combination.choice)


# -- output ----------------------------------------------------------------------------------


def figure_names(result: Sweep) -> list[str]:
    return list(result.combinations[0].total) if result.combinations else []


def tabular(result: Sweep, readable: bool = True) -> Tabular:
    """A row per combination: its rank, the value of each axis, then the figures summed over jobs
    (in MWh/tCO2e where they are large when `readable`, else in the JSON contract's kWh/kgCO2e)."""
    from nnci.output import unit_for

    names = figure_names(result)
    units: list[str | None] = []
    for name in names:
        unit: str
        known = [c.total[name] for c in result.combinations if isinstance(c.total[name], Derivation)]
        dimension = SCHEMA["inference"][name].dim
        assert dimension is not None
        unit = unit_for(name, dimension, {})
        largest = max((abs(float(r.value.to(unit))) for r in known if isinstance(r, Derivation)), default=0.0)
        if readable and unit == "kWh" and largest >= 1e4:
            unit = "MWh"
        elif readable and unit == "kgCO2e" and largest >= 1e3:
            unit = "tCO2e"
        units.append(unit)
    body: list[list[object]] = []
    for rank, combination in enumerate(result.combinations, 1):
        cells: list[object] = [rank, *combination.texts(result.axes)]
        for name, shown_in in zip(names, units, strict=True):
            value = combination.total[name]
            cells.append(float(value.value.to(shown_in or "")) if isinstance(value, Derivation) else None)
        body.append(cells)
    header = ["rank", *(axis.label for axis in result.axes), *names]
    first = result.combinations[0].total if result.combinations else {}
    by_total = isinstance(first.get("total"), Derivation) or not isinstance(first.get("operational"), Derivation)
    title = f"{len(result.combinations):,} combinations, sorted by " + (
        "total carbon" if by_total else "operational carbon (the total is unknown)"
    )
    return Tabular(header, [None, *(None for _ in result.axes), *units], body, title,
                   range(1, 1 + len(result.axes)), "values")  # fmt: skip


def render(result: Sweep, form: str, files: Sequence[str] = ()) -> str:
    from nnci.output import render_tabular

    if form == "json":  # {"vary": [...], "combinations": [{"rank", "values": {...}, "energy": {"value", "unit"}, ...}]}
        table = tabular(result, readable=False)
        rows = json.loads(render_tabular([table], "json"))[table.title]
        document = {"files": list(files), "vary": [a.label for a in result.axes], "combinations": rows,
                    "jobs_evaluated": result.jobs_evaluated, "jobs_stacked": result.jobs_stacked}  # fmt: skip
        return json.dumps(document, indent=2, ensure_ascii=False)
    text = render_tabular([tabular(result, readable=True)], form)
    if form == "table":
        text += (f"\n\n{result.jobs_evaluated:,} jobs evaluated in one run"
                 f"{f', {result.jobs_stacked:,} of them as array columns' if result.jobs_stacked else ''}")  # fmt: skip
    return text
