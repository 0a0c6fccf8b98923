"""Inputs that disagree, and inputs that change nothing (checked after the figures are derived).

A job may give a quantity that its other inputs also derive (`device_hours` beside `duration` and a
fleet; a published `energy` beside the fleet that draws it). The given value wins, so when the two
differ by more than `TOLERANCE` one of them is wrong: an error showing both. A field that no reported
figure (nor an `expect` line) reads, under the job's method, would change nothing: a warning naming
the formulas that would read it.

Jobs stacked by the plan are judged once, through the job standing for them (every job of a group
gives the same fields), and their rows named.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from nnci import arrays, ir
from nnci.diagnostics import Diagnostic
from nnci.engine import Derivation, Engine
from nnci.formulas import Formula, all_formulas, formulas_for
from nnci.quantity import Quantity
from nnci.schema import JOB_KINDS, QUANTITIES, REPORTED, REPORTED_IF_KNOWN, SCHEMA

TOLERANCE = 0.01  # relative: published figures are rounded, so agreeing inputs differ by less than this
# The figures a job reports: the headline ones, and those per query and per token (`expect`, `explain`).
FIGURES = (
    *REPORTED,
    *REPORTED_IF_KNOWN,
    "energy_per_query",
    "carbon_per_query",
    "energy_per_token",
    "carbon_per_token",
)


def check_inputs(program: ir.Program, engine: Engine) -> list[Diagnostic]:
    """E420 for given quantities their other inputs contradict; E421 for fields nothing reads."""
    out: list[Diagnostic] = []
    judged = _judged_jobs(program, engine)
    used: set[tuple[ir.BlockKey, str]] = set()
    for key in judged:
        kind = engine.program.blocks[key].kind
        for name, spec in SCHEMA[kind].items():
            if spec.type == "quantity":
                _collect(engine, key, name, used, closure=name in FIGURES)
    for expect in program.expects:  # an expectation reads the figure it names, given or derived
        used.add((expect.block, expect.quantity))
        _collect(engine, expect.block, expect.quantity, used)
    for name in program.figures:  # `figure ratio = serve.total / train.total`
        used.add((ir.FIGURE, name))
        _collect(engine, ir.FIGURE, name, used)
    for key, lanes in judged.items():
        involved: set[tuple[ir.BlockKey, str]] = set()
        out += _disagreements(engine, key, lanes, involved)
        out += _unused(engine, key, lanes, (used, involved))  # not `used | involved`: a copy per job
    return out


def _judged_jobs(program: ir.Program, engine: Engine) -> dict[ir.BlockKey, tuple[ir.BlockKey, ...]]:
    """Each job to judge (a stacked job stands for its lanes) and the jobs of the program it stands for."""
    standing: dict[ir.BlockKey, ir.BlockKey] = {}
    for stacked, lanes in engine.lanes.items():
        block = engine.program.blocks.get(stacked)
        if block is not None and block.kind in JOB_KINDS:
            standing.update((lane, stacked) for lane in lanes)
    judged: dict[ir.BlockKey, list[ir.BlockKey]] = {}
    for job in program.jobs:
        judged.setdefault(standing.get(job, job), []).append(job)
    return {key: tuple(jobs) for key, jobs in judged.items()}


def _collect(
    engine: Engine, key: ir.BlockKey, name: str, used: set[tuple[ir.BlockKey, str]], closure: bool = True
) -> None:
    """The fields a figure reads: beneath it when it is known (a given field does not read itself);
    when a reported figure is unknown, every field of the job its formulas would read (they wait for
    the input that is missing, they are not silent)."""
    result = engine.quantity(key, name)
    if isinstance(result, Derivation):
        stack: list[Derivation] = list(result.inputs)
        while stack:
            node = stack.pop()
            used.add((node.block, node.name.partition("[")[0]))
            stack.extend(node.inputs)
        return
    if key not in engine.program.blocks or not closure:
        return
    block = engine.program.blocks[key]
    method = engine.method_of(key, None)
    todo, seen = [name], {name}
    while todo:
        for formula in formulas_for(block.kind, todo.pop(), method):
            if not all(n in block.fields for n in formula.needs):
                continue
            for item in formula.inputs:
                head = item.path.partition(".")[0].partition("[")[0]
                used.add((key, head))
                if head not in seen and head not in block.fields and head in SCHEMA[block.kind]:
                    seen.add(head)
                    todo.append(head)


# -- disagreeing inputs ---------------------------------------------------------------------


def _disagreements(
    engine: Engine, key: ir.BlockKey, lanes: tuple[ir.BlockKey, ...], reported: set[tuple[ir.BlockKey, str]]
) -> Iterable[Diagnostic]:
    """`reported` gathers the fields compared (the given side and the inputs of the other)."""
    block = engine.program.blocks[key]
    for name, field in block.fields.items():
        spec = QUANTITIES.get(name)
        if spec is None or not spec.agrees or SCHEMA[block.kind][name].type != "quantity":
            continue
        if (key, name) in reported:
            continue  # compared already, from the other side
        given = engine.quantity(key, name)
        if not isinstance(given, Derivation) or _uncertain(field.expr):
            continue
        derived = _derived_without(engine, block, name)
        if derived is None:
            continue
        sides_of = {(d.block, d.name) for d in _given_leaves(derived)}
        reported.add((key, name))  # compared, so read: agreeing or not, it is not an input that changes nothing
        reported.update(sides_of)
        rows = _differing_rows(given.value, derived.value)
        if not rows:
            continue
        lane = rows[0]
        job = lanes[lane] if len(lanes) > 1 else lanes[0]
        span = engine.program.blocks[job].fields[name].span if job in engine.program.blocks else field.span
        shown_given = Quantity(arrays.lane(given.value.magnitude, lane), given.value.dimension).format()
        shown_derived = Quantity(arrays.lane(derived.value.magnitude, lane), derived.value.dimension).format()
        where = _where(rows, lanes, given.value.magnitude)
        sides = [f"`{d.label}` given at {d.span}" for d in _given_leaves(derived)]
        yield Diagnostic(
            "E420",
            f"`{job}.{name}` = {shown_given}, but its other inputs give {shown_derived}{where}",
            span,
            notes=(f"{derived.formula.name if derived.formula else name}: {derived.formula.equation if derived.formula else ''}",
                   *sides[:6]),
            help=f"inputs that derive the same figure must agree within {TOLERANCE:.0%}: correct one of them, or "
            f"remove `{name}` (it is derived from the others)",
            related=tuple((f"`{d.label}` given here", d.span) for d in _given_leaves(derived) if d.span)[:6],
        )  # fmt: skip


def _uncertain(expr: ir.Expr) -> bool:
    """A distribution states a range, not one figure to hold the others to."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Distribution):
            return True
        if isinstance(node, ir.Call):
            stack.extend(node.args)
        elif isinstance(node, ir.Binary):
            stack += [node.left, node.right]
        elif isinstance(node, ir.Negate):
            stack.append(node.operand)
    return False


def _derived_without(engine: Engine, block: ir.Block, name: str) -> Derivation | None:
    """The quantity as the job's other inputs derive it: the job evaluated without that field."""
    fields = {n: f for n, f in block.fields.items() if n != name}
    program = engine.program
    other = attrs.evolve(program, blocks={**program.blocks, block.key: attrs.evolve(block, fields=fields)})
    alternative = Engine(other, engine.forced, engine.row, engine.sampler).quantity(block.key, name)
    if not isinstance(alternative, Derivation) or alternative.formula is None or _rests_on_an_estimate(alternative):
        return None
    return alternative


def _rests_on_an_estimate(node: Derivation) -> bool:
    """A derivation through a default or an upper bound (TDP as average power) does not contradict a
    measured figure: the given one is the better number."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.formula is not None and current.formula.estimate:
            return True
        stack.extend(current.inputs)
    return False


def _differing_rows(given: Quantity, derived: Quantity) -> list[int]:
    a, b = given.magnitude, derived.magnitude
    with arrays.quiet():
        differs = abs(a - b) > TOLERANCE * abs(b)
    return arrays.true_rows(differs)


def _where(rows: list[int], lanes: tuple[ir.BlockKey, ...], magnitude: object) -> str:
    if len(lanes) > 1:
        names = ", ".join(f"`{lanes[r]}`" for r in rows[:3])
        return f" (in {names}" + (f" and {len(rows) - 3} more jobs" if len(rows) > 3 else "") + ")"
    count = arrays.length(magnitude)
    return f" in {arrays.rows_text(rows, count)}" if count is not None else ""


def _given_leaves(node: Derivation) -> list[Derivation]:
    found: dict[tuple[ir.BlockKey, str], Derivation] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if current.span is not None and current.formula is None:
            found.setdefault((current.block, current.name), current)
            continue
        stack.extend(reversed(current.inputs))
    return list(found.values())


# -- fields that change nothing ---------------------------------------------------------------


def _unused(
    engine: Engine,
    key: ir.BlockKey,
    lanes: tuple[ir.BlockKey, ...],
    used: tuple[set[tuple[ir.BlockKey, str]], ...],
) -> Iterable[Diagnostic]:
    """E421 for the job's quantity fields in none of the `used` sets."""
    block = engine.program.blocks[key]
    method = engine.method_of(key, None) or "nnci"
    for name, field in block.fields.items():
        spec = SCHEMA[block.kind][name]
        if spec.type != "quantity" or any((key, name) in found for found in used):
            continue
        readers = _readers(block.kind, name)
        here = [f for f in readers if f.method in (None, method)]
        elsewhere = [f for f in readers if f.method not in (None, method)]
        if elsewhere and not here:
            what = ", ".join(dict.fromkeys(f"the `{f.method}` method's `{f.output}`" for f in elsewhere))
            help = f"it is read only for {what}: remove it, or choose that method (`method = {elsewhere[0].method}`)"
        elif here:
            what = ", ".join(dict.fromkeys(f"`{f.output}`" for f in here))
            help = (f"it would be read for {what}, but those come from other inputs here (a given value, or "
                    "another formula first); remove it, or remove what takes its place")  # fmt: skip
        else:
            help = "nothing reads it: remove it"
        job = lanes[0]
        span = engine.program.blocks[job].fields[name].span if job in engine.program.blocks else field.span
        more = f" (and {len(lanes) - 1:,} more jobs like it)" if len(lanes) > 1 else ""
        yield Diagnostic("E421", f"`{job}.{name}` changes no other figure under method `{method}`{more}", span,
                         severity="warning", help=help)  # fmt: skip


def _readers(kind: str, name: str) -> list[Formula]:
    """The formulas of a kind that read one of its own fields."""
    return [f for f in all_formulas() if f.kind == kind and any(i.path == name for i in f.inputs)]
