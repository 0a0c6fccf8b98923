"""Checks before anything is reported: dimensions, plausible ranges, shares and `check` lines.

Dimensions are inferred statically from the schema, so `power = 300 Wh` is caught without
evaluating anything. Ranges and `check` lines need values: they are evaluated through the engine
once the dimensions are right (before that, only fields written as plain constants are checked).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nnci import arrays, ir
from nnci.diagnostics import Diagnostic
from nnci.engine import CYCLE, Engine, Unknown, exponent_fraction, source_text, static_exponent
from nnci.formulas.registry import all_formulas
from nnci.quantity import Quantity, format_number
from nnci.schema import COUNTED, JOB_KINDS, SCHEMA, Spec
from nnci.uncertain.distributions import DISTRIBUTIONS, TAIL, BadParameters
from nnci.units import DIMENSIONLESS, UNITS, Dimension, display_unit, parse_unit

SHARE_TOLERANCE = 1e-6


class _DimensionProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def check(program: ir.Program, engine: Engine | None = None, constants_only: bool = False) -> list[Diagnostic]:
    """Every problem found; with `constants_only` (earlier stages failed) only literal values are judged."""
    engine = engine or Engine(program)
    diagnostics = [*program.warnings, *check_dimensions(program, engine.lanes)]
    constants_only = constants_only or any(d.severity == "error" for d in diagnostics)
    diagnostics += check_values(program, engine, constants_only)
    if not constants_only:  # a job in time: whether the data covers its interval is known only by reading it
        diagnostics += _check_time(program, engine)
    # a fault in some rows of a table only is the evaluation's to report, after the rows that stand
    diagnostics += [d for d in engine.diagnostics if d not in diagnostics and d not in engine.row_faults]
    if not constants_only and not any(d.severity == "error" for d in diagnostics):
        from nnci.inputs import check_inputs

        # Faults met deriving the figures here (a division by zero in some rows) stay the evaluation's to
        # report: the figures they touch are unknown, the others stand.
        diagnostics += check_inputs(program, engine)
    return diagnostics


def _check_time(program: ir.Program, engine: Engine) -> list[Diagnostic]:
    """Each job's interval against its series (E411, from the engine); a `start` or `profile` on a job
    whose sites' intensities are all constant changes nothing, and is said (E204)."""
    found = []
    for job in program.jobs:
        block = program.blocks[job]
        given = [name for name in ("start", "profile") if name in block.fields]
        if not given:
            continue
        result = engine.quantity(job, "intensity")
        if isinstance(result, Unknown) or result.formula is None or result.formula.takes_series:
            continue
        for name in given:
            found.append(Diagnostic("E204", f"`{job}.{name}` changes nothing: no site of `{job}` has an intensity "
                                    "that varies in time", block.fields[name].span, severity="warning",
                                    help="give its grid an hourly intensity (`intensity = data.<column>` of an "
                                    "imported series file), or remove the field"))  # fmt: skip
    return found


# -- dimensions -------------------------------------------------------------------------


def kind_of(program: ir.Program, key: ir.BlockKey) -> str:
    """The kind whose schema describes a block's quantities (`total` sums jobs of either kind)."""
    return "inference" if key == ir.TOTAL else program.blocks[key].kind


def infer(program: ir.Program, expr: ir.Expr, kind: str | None) -> Dimension:
    """The dimension of an expression; raises _DimensionProblem with a located diagnostic."""
    if isinstance(expr, ir.Const):
        return expr.value.dimension
    if isinstance(expr, ir.SelfRef):
        assert kind is not None
        return _spec_dim(SCHEMA[kind][expr.name])
    if isinstance(expr, ir.QuantityRef):
        if expr.block == ir.FIGURE:
            return _figure_dim(program, expr.name)
        return _spec_dim(SCHEMA[kind_of(program, expr.block)][expr.name])
    if isinstance(expr, ir.Negate):
        return infer(program, expr.operand, kind)
    if isinstance(expr, ir.Binary):
        left, right = infer(program, expr.left, kind), infer(program, expr.right, kind)
        if expr.op in "+-":
            if left != right:
                raise _DimensionProblem(Diagnostic(
                    "E401", f"cannot {'add' if expr.op == '+' else 'subtract'} {right.describe()} "
                    f"{'to' if expr.op == '+' else 'from'} {left.describe()}", expr.span,
                    help="both sides of + and - need the same dimension"))  # fmt: skip
            return left
        if expr.op == "*":
            return left * right
        if expr.op == "/":
            return left / right
        exponent = static_exponent(expr.right)
        if not right.is_dimensionless or exponent is None:
            raise _DimensionProblem(Diagnostic("E401", "an exponent must be a plain number", expr.right.span,
                                               help="write e.g. `^ 2` or `^ -0.5`; a dimension cannot depend on a value"))  # fmt: skip
        fraction = exponent_fraction(exponent)
        if not left.is_dimensionless and (fraction.denominator > 12 or abs(float(fraction) - exponent) > 1e-9):
            raise _DimensionProblem(Diagnostic(
                "E401", f"{left.describe()} to the power {exponent:g} has no unit nnci can name", expr.right.span,
                help="a value with a unit takes a whole or simple fractional exponent (`^ 2`, `^ 0.5`, `^ (1/3)`)"))  # fmt: skip
        return left**fraction
    if isinstance(expr, ir.ColumnRef):
        return program.tables[expr.table].columns[expr.column].dimension or DIMENSIONLESS
    if isinstance(expr, ir.RowIndicator):
        return DIMENSIONLESS
    if isinstance(expr, ir.Call) and expr.func == ir.GROUP:  # a figure summed over some rows
        return infer(program, expr.args[0], kind)
    if isinstance(expr, ir.Call):
        dims = [infer(program, a, kind) for a in expr.args]
        for arg, dim in zip(expr.args[1:], dims[1:], strict=True):
            if dim != dims[0]:
                raise _DimensionProblem(Diagnostic(
                    "E401", f"`{expr.func}` of {dims[0].describe()} and {dim.describe()}", arg.span,
                    help=f"every argument of `{expr.func}` needs the same dimension"))  # fmt: skip
        return dims[0]
    if isinstance(expr, ir.Distribution):
        return _distribution_dim(program, expr, kind)
    raise _DimensionProblem(Diagnostic("E305", "this expression has no numeric value", expr.span))


def _distribution_dim(program: ir.Program, expr: ir.Distribution, kind: str | None) -> Dimension:
    """The value's dimension is its first parameter's; the others share it, but for plain-number ones
    (a lognormal's geometric standard deviation)."""
    distribution = DISTRIBUTIONS[expr.name]
    dims = [infer(program, a, kind) for a in expr.args]
    for index, (arg, dim) in enumerate(zip(expr.args, dims, strict=True)):
        name = distribution.param(index)
        if index in distribution.plain:
            if not dim.is_dimensionless:
                raise _DimensionProblem(Diagnostic(
                    "E401", f"the `{name}` of `{expr.name}` is a plain number, found {dim.describe()}", arg.span,
                    help=f"write `{distribution.signature}`; e.g. `lognormal(150 kgCO2e, 1.5)`"))  # fmt: skip
        elif index and dim != dims[0] and distribution.variadic:
            first, this = (_shown(program, a, d) for a, d in ((expr.args[0], dims[0]), (arg, dim)))
            raise _DimensionProblem(Diagnostic(
                "E401", f"the alternatives of `{expr.name}` must have one dimension: {first}, {this}", arg.span,
                help=f"write every alternative of `{distribution.signature}` in the same kind of unit, "
                "e.g. `choice(300 W, 350 W)`"))  # fmt: skip
        elif index and dim != dims[0]:
            first, this = (_shown(program, a, d) for a, d in ((expr.args[0], dims[0]), (arg, dim)))
            raise _DimensionProblem(Diagnostic(
                "E401", f"the `{name}` of `{expr.name}` must have the dimension of its `{distribution.param(0)}`: "
                f"{first}, {this}", arg.span,
                help=f"every parameter of `{distribution.signature}` but a plain-number one takes the value's unit"))  # fmt: skip
    return dims[0]


def _shown(program: ir.Program, expr: ir.Expr, dim: Dimension) -> str:
    """`` `300 W` is a power ``: an argument as written, and what it measures."""
    described = dim.describe()
    if not described.startswith("a "):
        described = ("an " if described[0] in "aeiou" else "a ") + described
    text = source_text(program.sources, expr.span)
    return f"`{text}` is {described}" if text else described


_INFERRING: set[str] = set()  # the figures whose dimension is being inferred (a circle has none)


def _figure_dim(program: ir.Program, name: str) -> Dimension:
    """A figure's dimension is its expression's."""
    figure = program.figures[name]
    if name in _INFERRING:
        raise _DimensionProblem(Diagnostic("E406", f"figure `{name}` depends on itself", figure.span,
                                           help="a figure may use other figures, but not itself"))  # fmt: skip
    _INFERRING.add(name)
    try:
        return infer(program, figure.expr, None)
    finally:
        _INFERRING.discard(name)


def _spec_dim(spec: Spec) -> Dimension:
    assert spec.dim is not None
    return spec.dim


def _accepts(expected: Dimension, found: Dimension) -> bool:
    return found == expected or (expected in COUNTED and found == DIMENSIONLESS)


def check_dimensions(
    program: ir.Program, lanes: Mapping[ir.BlockKey, tuple[ir.BlockKey, ...]] | None = None
) -> list[Diagnostic]:
    """With a plan's `lanes`, the fields of the blocks of one stacked group are judged by the first
    block's: their dimensions follow from its shape (the dimension of each constant, the shapes it
    refers to), which the group's blocks share. A group whose first block has a problem is judged
    block by block. A block's `check` lines are not part of its shape: each block's are judged."""
    diagnostics: list[Diagnostic] = []
    alike = _alike_to_a_sound_one(program, lanes) if lanes else set()
    for block in program.blocks.values():
        if block.key not in alike:
            _check_field_dimensions(program, block, diagnostics)
        for check_line in block.checks:
            _check_comparison(program, check_line.condition, block.kind, diagnostics)
    for check_line in program.checks:
        _check_comparison(program, check_line.condition, None, diagnostics)
    for figure in program.figures.values():
        try:
            infer(program, figure.expr, None)
        except _DimensionProblem as problem:
            if problem.diagnostic not in diagnostics:
                diagnostics.append(problem.diagnostic)
    for expect in program.expects:
        _check_expect(program, expect, diagnostics)
    return diagnostics


def _alike_to_a_sound_one(
    program: ir.Program, lanes: Mapping[ir.BlockKey, tuple[ir.BlockKey, ...]]
) -> set[ir.BlockKey]:
    """The blocks of stacked groups whose first block's fields have the right dimensions, but that
    first block."""
    alike: set[ir.BlockKey] = set()
    for keys in lanes.values():
        found: list[Diagnostic] = []
        first = program.blocks.get(keys[0])
        if first is not None:
            _check_field_dimensions(program, first, found)
            if not found:
                alike.update(keys[1:])
    return alike


def _check_field_dimensions(program: ir.Program, block: ir.Block, diagnostics: list[Diagnostic]) -> None:
    for field in block.fields.values():
        spec = SCHEMA[block.kind][field.name]
        if spec.type == "quantity":
            expr = field.expr
            if expr.__class__ is ir.Const and _accepts(spec.dim, expr.value.dimension):  # type: ignore[union-attr, arg-type]
                continue  # most fields: a number of the right dimension
            _check_expr(program, expr, block.kind, spec, diagnostics)
        elif isinstance(field.expr, ir.Map):
            for entry in field.expr.entries:
                _check_expr(program, entry.value, block.kind, spec, diagnostics)


def _check_expr(program: ir.Program, expr: ir.Expr, kind: str, spec: Spec, out: list[Diagnostic]) -> None:
    try:
        found = infer(program, expr, kind)
    except _DimensionProblem as problem:
        out.append(problem.diagnostic)
        return
    assert spec.dim is not None
    if not _accepts(spec.dim, found):
        out.append(wrong_dimension(spec.name, spec.dim, found, expr))


def wrong_dimension(name: str, expected: Dimension, found: Dimension, expr: ir.Expr) -> Diagnostic:
    unit = display_unit(expected)
    example = unit if unit else "a plain number"
    if isinstance(expr, ir.Const):
        number, _, written = expr.text.partition(" ")
        if found == DIMENSIONLESS:
            hint = f"missing unit? e.g. `{number} {unit}`"
        elif unit:
            hint = f"write `{number} {suggest_unit(written, expected)}`"
        else:
            hint = f"write `{number}` without a unit"
    elif isinstance(expr, ir.ColumnRef) and unit:
        hint = f"give the column its unit in the header, e.g. `{expr.column} [{unit}]`"
    else:
        hint = f"`{name}` is measured in {example}"
    message = f"`{name}` expects {expected.describe()}, found {found.describe()}"
    return Diagnostic("E400", message, expr.span, help=hint)


def suggest_unit(written: str, expected: Dimension) -> str:
    """The unit of the expected dimension closest to what was written: `kWh` → `kW`, `g` → `gCO2e`."""
    candidates = [symbol for symbol, unit in UNITS.items() if unit.dimension == expected and "CO₂" not in symbol]
    if not candidates:
        return display_unit(expected)

    def shared(symbol: str) -> int:
        count = 0
        for a, b in zip(symbol, written, strict=False):
            if a != b:
                break
            count += 1
        return count

    best = max(candidates, key=lambda symbol: (shared(symbol), -len(symbol)))
    return best if shared(best) else display_unit(expected)


def _check_comparison(program: ir.Program, comparison: ir.Comparison, kind: str | None, out: list[Diagnostic]) -> None:
    try:
        left, right = infer(program, comparison.left, kind), infer(program, comparison.right, kind)
    except _DimensionProblem as problem:
        out.append(problem.diagnostic)
        return
    if left != right:
        out.append(Diagnostic("E401", f"cannot compare {left.describe()} with {right.describe()}", comparison.span))


def _check_expect(program: ir.Program, expect: ir.Expect, out: list[Diagnostic]) -> None:
    if expect.block == ir.FIGURE:  # an expression of quantities: its dimension is inferred
        try:
            dim = _figure_dim(program, expect.quantity)
        except _DimensionProblem:
            return  # reported with the figures
        spec = Spec(expect.quantity, "", "quantity", dim)
    else:
        spec = SCHEMA[kind_of(program, expect.block)][expect.quantity]
    assert spec.dim is not None
    _check_expr(program, expect.value, "training", spec, out)
    if expect.tolerance is None or ir.is_percentage(expect.tolerance):
        return
    try:
        tolerance = infer(program, expect.tolerance, None)
    except _DimensionProblem as problem:
        out.append(problem.diagnostic)
        return
    if not _accepts(spec.dim, tolerance):
        unit = display_unit(spec.dim) or "a plain number"
        out.append(Diagnostic("E400", f"a tolerance is a percentage or an amount of {spec.dim.describe()}, "
                              f"found {tolerance.describe()}", expect.tolerance.span,
                              help=f"write e.g. `within 1 %` or `within 0.5 {unit}`"))  # fmt: skip


# -- values -----------------------------------------------------------------------------


def check_values(program: ir.Program, engine: Engine, constants_only: bool) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    # a constant (one object per spelling, shared by every field that writes it) found in range for a
    # field: the same value in the same field of another block is too (10,000 jobs repeat a few)
    in_range: set[tuple[int, str, str]] = set()
    as_columns = _judged_as_columns(engine, constants_only)
    # Every resolved block: the files' own, and the imported ones they use (an imported PUE of 0.5
    # is as wrong as a local one). Imported blocks nothing refers to are never resolved.
    for block in program.blocks.values():
        for field in () if block.key in as_columns else block.fields.values():
            spec = SCHEMA[block.kind][field.name]
            if spec.type == "quantity":
                expr = field.expr
                if expr.__class__ is not ir.Const or (
                    expr.value.magnitude.__class__ is not float and arrays.is_array(expr.value.magnitude)  # type: ignore[union-attr]
                ):
                    _check_range(engine, block, spec, expr, constants_only, diagnostics)
                    continue
                judged = (id(expr.value), block.kind, field.name)  # type: ignore[union-attr]
                if judged in in_range:
                    continue
                found = len(diagnostics)
                _check_range(engine, block, spec, expr, constants_only, diagnostics)
                if len(diagnostics) == found:
                    in_range.add(judged)
            elif isinstance(field.expr, ir.Map):
                _check_map(engine, block, spec, field.expr, constants_only, diagnostics)
        if not constants_only:
            for check_line in block.checks:
                _check_line(engine, block, check_line, diagnostics)
            if block.key not in as_columns:
                _zero_divisors(engine, block)
            if block.kind in JOB_KINDS:
                _check_hosts_only(engine, block, diagnostics)
            if "idle_power" in block.fields:
                _check_idle_below_peak(engine, block, diagnostics)
    if not constants_only:
        for check_line in program.checks:  # constraints between blocks
            _check_line(engine, None, check_line, diagnostics)
        for name in program.figures:  # a named figure's faults (a zero divisor) are found here, as `run` finds them
            engine.quantity(ir.FIGURE, name)
    for expect in program.expects:  # arithmetic errors in expected values surface as E405
        for stated in (expect.value, expect.tolerance):
            value = engine.try_evaluate(stated, None) if stated is not None and _is_constant(stated) else None
            if (
                stated is not None
                and stated is expect.tolerance
                and isinstance(value, Quantity)
                and value.magnitude < 0
            ):
                diagnostics.append(Diagnostic("E402", "a tolerance cannot be negative", stated.span,
                                              help="write e.g. `within 1 %`"))  # fmt: skip
    return diagnostics


def _judged_as_columns(engine: Engine, constants_only: bool) -> set[ir.BlockKey]:
    """The blocks of stacked groups whose every constant column is in range and free of zeros: judged
    once, as the group's columns. A group with a value out of range, a zero (which a formula may
    divide by) or a field that is not a constant is judged block by block, so that each problem is
    reported at the block that has it."""
    judged: set[ir.BlockKey] = set()
    blocks = engine.program.blocks
    for key, keys in engine.lanes.items():
        if _columns_sound(engine, blocks[key], constants_only):  # (a block's `check` lines are its own)
            judged.update(keys)
    return judged


def _columns_sound(engine: Engine, block: ir.Block, constants_only: bool) -> bool:
    found: list[Diagnostic] = []
    for field in block.fields.values():
        spec = SCHEMA[block.kind][field.name]
        expr = field.expr
        if spec.type == "quantity":
            if expr.__class__ is not ir.Const or _has_zero(expr.value.magnitude):  # type: ignore[union-attr]
                return False
            _check_range(engine, block, spec, expr, constants_only, found)
        elif isinstance(expr, ir.Map):
            if not all(entry.value.__class__ is ir.Const for entry in expr.entries):
                return False
            _check_map(engine, block, spec, expr, constants_only, found)
        elif expr.__class__ is ir.Const and _has_zero(expr.value.magnitude):  # type: ignore[union-attr]
            return False
        if found:
            return False
    return True


def _has_zero(magnitude: Any) -> bool:
    if magnitude.__class__ is float:
        return bool(magnitude == 0)
    if arrays.is_array(magnitude):
        return bool((magnitude == 0).any())
    return True  # a series or anything else: judged block by block


def _zero_divisors(engine: Engine, block: ir.Block) -> None:
    """A field given as 0 may be what a formula divides by (`queries = 0` for energy per query): the
    figures built on it are derived here, so the engine locates the zero (E405) before anything runs."""
    for field in block.fields.values():
        if field.expr.__class__ is not ir.Const:
            continue
        magnitude = field.expr.value.magnitude  # type: ignore[union-attr]
        if magnitude.__class__ is float:
            if magnitude != 0:
                continue
        elif arrays.is_array(magnitude) or magnitude != 0:
            continue
        for formula in all_formulas():
            if formula.kind == block.kind and any(i.path == field.name for i in formula.inputs):
                engine.quantity(block.key, formula.output)


def _value(
    engine: Engine, expr: ir.Expr, block: ir.Block, constants_only: bool, dim: Dimension | None
) -> Quantity | None:
    """The value to judge, or None when it is unknown or its dimension is already wrong."""
    if isinstance(expr, ir.Const):  # most fields: nothing to derive
        return expr.value if dim is None or _accepts(dim, expr.value.dimension) else None
    if constants_only and not _is_constant(expr):
        return None
    try:
        if dim is not None and not _accepts(dim, infer(engine.program, expr, block.kind)):
            return None
    except _DimensionProblem:
        return None
    result = engine.try_evaluate(expr, block.key)
    if isinstance(result, Unknown) and any(m.endswith(CYCLE) for m in result.missing):
        _circular(engine, block, expr, result)
    return result if isinstance(result, Quantity) else None


def _circular(engine: Engine, block: ir.Block, expr: ir.Expr, result: Unknown) -> None:
    cycle = next(m for m in result.missing if m.endswith(CYCLE)).removesuffix(CYCLE)
    help = "give one of the values in the circle as a number"
    if block.base is not None:
        field = cycle.rsplit(".", 1)[-1]
        help = f"in an amend, `{field}` means this block's own value; for the base's, write `{block.base.name}.{field}`"
    diagnostic = Diagnostic("E406", f"circular definition: `{cycle}` depends on itself through this value",
                            expr.span, help=help)  # fmt: skip
    if diagnostic not in engine.diagnostics:
        engine.diagnostics.append(diagnostic)


def _is_constant(expr: ir.Expr) -> bool:
    if isinstance(expr, ir.Const):
        return True
    if isinstance(expr, ir.Negate):
        return _is_constant(expr.operand)
    if isinstance(expr, ir.Binary):
        return _is_constant(expr.left) and _is_constant(expr.right)
    return False


def _check_range(
    engine: Engine, block: ir.Block, spec: Spec, expr: ir.Expr, constants_only: bool, out: list[Diagnostic]
) -> None:
    drawn = isinstance(expr, ir.Distribution) and bool(spec.ranges) and not constants_only
    if drawn and isinstance(expr, ir.Distribution) and _check_support(engine, block, spec, expr, out):
        return  # said of the distribution; its draws would only repeat it
    value = _value(engine, expr, block, constants_only, spec.dim)
    if value is None or not spec.ranges:
        return
    if getattr(value.magnitude, "is_series", False):  # an hourly series: judged by its lowest and highest
        for extreme in value.magnitude.extremes():
            rule = next((r for r in spec.ranges if r.violated(extreme)), None)
            if rule is not None:
                out.append(Diagnostic("E402", f"`{spec.name}` reaches {Quantity(extreme, value.dimension).format()}: "
                                      f"{rule.reason}", expr.span, severity=rule.severity,
                                      help=_range_help(spec, extreme, expr)))  # fmt: skip
        return
    if not arrays.is_array(value.magnitude) and not any(rule.violated(value.magnitude) for rule in spec.ranges):
        return  # the common case, decided without building row lists
    for rule in spec.ranges:
        rows = arrays.true_rows(rule.violated(value.magnitude))
        if not rows:
            continue
        count = arrays.length(value.magnitude)
        if count is not None and _sampled(engine, block):
            first = Quantity(value.magnitude[rows[0]], value.dimension)
            out.append(Diagnostic("E402", f"`{spec.name}` is out of range in {len(rows):,} of {count:,} samples: "
                                  f"{rule.reason}", expr.span, severity=rule.severity,
                                  notes=(f"sample {rows[0] + 1} gives {first.format()}",),
                                  help="give its uncertain inputs distributions that stay in range "
                                  "(bounded: `uniform`, `triangular`)"))  # fmt: skip
        elif count is None:
            shown = expr.text if isinstance(expr, ir.Const) else value.format()  # `0 years`, as written
            out.append(Diagnostic("E402", f"`{spec.name}` = {shown}: {rule.reason}", expr.span,
                                  severity=rule.severity, help=_range_help(spec, value.magnitude, expr)))  # fmt: skip
        else:
            first = Quantity(value.magnitude[rows[0]], value.dimension)
            out.append(Diagnostic("E402", f"`{spec.name}` is out of range in {arrays.rows_text(rows, count)}: {rule.reason}",
                                  expr.span, severity=rule.severity, notes=_cell_notes(engine, expr, rows, first),
                                  help=_range_help(spec, float(first.magnitude), expr)))  # fmt: skip
        return


def _sampled(engine: Engine, block: ir.Block | None) -> bool:
    """Whether a block's arrays are samples (a job over a table, and its inline fleet, have rows)."""
    if block is None:  # a check line outside any block
        return engine.sampler is not None
    job = ir.BlockKey(block.key.module, block.key.name.split(".")[0])
    return engine.sampler is not None and not engine.program.rows_of(block.key) and not engine.program.rows_of(job)


def _check_support(engine: Engine, block: ir.Block, spec: Spec, expr: ir.Distribution, out: list[Diagnostic]) -> bool:
    """A field written as a distribution whose support leaves the field's plausible range is an error
    before anything is drawn (`pue = normal(1.1, 0.2)` reaches below 1); True when reported."""
    distribution = DISTRIBUTIONS[expr.name]
    params = []
    for arg in expr.args:
        value = engine.try_evaluate(arg, block.key)
        if not isinstance(value, Quantity) or arrays.is_array(value.magnitude):
            return False
        params.append(float(value.magnitude))
    try:
        distribution.validate(params)
    except BadParameters:
        return False  # the engine says so when it evaluates the distribution
    low, high = distribution.support(params)
    dim = spec.dim if spec.dim is not None else DIMENSIONLESS
    unit = display_unit(dim)
    for rule in spec.ranges:
        ends = [end for end in (low, high) if rule.violated(end)]
        if not ends:
            continue
        text = source_text(engine.program.sources, expr.span) or expr.name
        reach = _bound_text(ends[0], unit)
        out.append(Diagnostic(
            "E409", f"`{spec.name}` = `{text}` can take values out of range (it reaches {reach}): {rule.reason}",
            expr.span, severity=rule.severity,
            notes=(f"its draws lie in {_bound_text(low, unit)} … {_bound_text(high, unit)}{TAILS.get(expr.name, '')}; "
                   f"`{spec.name}` must {_range_text(rule, unit)}",),
            help=_bounded_hint(distribution.name, params, rule, unit)))  # fmt: skip
        return True
    return False


TAILS = {"normal": f" (mean ± {TAIL:g} sd)", "lognormal": f" (median ×/÷ gsd^{TAIL:g})"}


def _bound_text(value: float, unit: str) -> str:
    if value in (math.inf, -math.inf):
        return "−∞" if value < 0 else "+∞"
    return f"{format_number(value / (parse_unit(unit).factor if unit else 1))} {unit}".rstrip()


def _range_text(rule: Any, unit: str) -> str:
    parts = []
    if rule.low is not None:
        parts.append(f"{'>' if rule.low_open else '≥'} {_bound_text(rule.low, unit)}")
    if rule.high is not None:
        parts.append(f"≤ {_bound_text(rule.high, unit)}")
    return "be " + " and ".join(parts)


def _bounded_hint(name: str, params: list[float], rule: Any, unit: str) -> str:
    """A bounded distribution near the one written, inside the range: `triangular(1, 1.1, 1.5)`."""
    factor = parse_unit(unit).factor if unit else 1.0
    if name == "normal":
        centre, low, high = params[0], params[0] - 2 * params[1], params[0] + 2 * params[1]
    elif name == "lognormal":
        centre, low, high = (
            params[0],
            params[0] / (params[1] * params[1]),
            params[0] * (params[1] * params[1]),
        )  # * never overflows to an error
    else:
        centre, low, high = (params[0] + params[-1]) / 2, params[0], params[-1]
    if rule.low is not None:
        low = max(low, rule.low)
    if rule.high is not None:
        high = min(high, rule.high)
    if not math.isfinite(high):  # a spread so wide it has no upper end: propose one (`inf` cannot be written)
        high = 2 * centre if centre > 0 else centre + 1
    if not math.isfinite(low):
        low = centre / 2 if centre > 0 else centre - 1
    centre = min(max(centre, low), high)

    def shown(value: float) -> str:
        return f"{format_number(value / factor)} {unit}".rstrip()

    return (f"use a distribution bounded inside the range, e.g. `triangular({shown(low)}, {shown(centre)}, "
            f"{shown(high)})` or `uniform({shown(low)}, {shown(high)})`")  # fmt: skip


def _cell_notes(engine: Engine, expr: ir.Expr, rows: list[int], first: Quantity) -> tuple[str, ...]:
    """Where the first offending rows stand in the table, when the field reads a column directly."""
    notes = [f"row {rows[0] + 1} gives {first.format()}"]
    if isinstance(expr, ir.ColumnRef):
        column = engine.program.tables[expr.table].columns[expr.column]
        notes += [f"row {r + 1} is at {column.cell_span(r)}" for r in rows[: arrays.SHOWN_ROWS]]
    return tuple(notes)


def _lanes_text(lanes: list[int], magnitude: Any, sampled: bool) -> str:
    """` in rows 3 and 17 (of 40)` of a table, ` in 995 of 1,000 samples (sample 1 shown)` of a Monte Carlo
    run, or nothing for one value."""
    if not arrays.is_array(magnitude):
        return ""
    count = arrays.length(magnitude)
    if sampled:
        return f" in {len(lanes):,} of {count:,} samples (sample {lanes[0] + 1} shown)"
    return f" in {arrays.rows_text(lanes, count)}"


def _range_help(spec: Spec, value: float, expr: ir.Expr) -> str | None:
    if any(r.whole for r in spec.ranges) and value % 1 != 0:
        return f"write a whole number, e.g. `{math.floor(value)}` or `{math.ceil(value)}`"
    share = spec.dim == DIMENSIONLESS and any(r.high == 1 for r in spec.ranges)
    if share and value > 1 and isinstance(expr, ir.Const) and expr.text.endswith("%"):  # `400 %`: % was written
        return (f"`{expr.text}` is {format_number(value)} times the whole; a share is at most `100 %` "
                f"(`0.4` and `40 %` are the same share)")  # fmt: skip
    if share and 1 < value <= 100:
        return f"a share is written with its unit: `{format_number(value)} %`"
    if spec.name == "transport":
        return "τ is the share of generated electricity that reaches the site, e.g. `transport = 0.95`"
    if spec.name == "pue":
        return "PUE is facility energy ÷ IT energy; efficient hyperscale sites reach 1.1"
    return None


def _check_map(
    engine: Engine, block: ir.Block, spec: Spec, expr: ir.Map, constants_only: bool, out: list[Diagnostic]
) -> None:
    if not expr.entries:
        what = "shares" if spec.shares else "counts"
        shown = "fleet" if block.key.name.endswith(".fleet") else spec.name  # an inline `fleet = { ... }`
        out.append(Diagnostic("E403" if spec.shares else "E402", f"`{shown}` is empty", expr.span,
                              help=f"name at least one {spec.target} with its {what[:-1]}"))  # fmt: skip
        return
    weights: list[Any] = []
    for entry in expr.entries:
        value = _value(engine, entry.value, block, constants_only, spec.dim)
        if value is None:
            return
        sampled = arrays.is_array(value.magnitude) and _sampled(engine, block)
        negative = arrays.true_rows(value.magnitude < 0)
        if negative:
            where = _lanes_text(negative, value.magnitude, sampled)
            out.append(Diagnostic("E402", f"`{entry.block.name}` in `{spec.name}` is negative{where}", entry.value.span,
                                  help="counts and shares cannot be negative"))  # fmt: skip
        for rule in (r for r in spec.ranges if r.whole):
            fractional = arrays.true_rows(rule.violated(value.magnitude))
            if fractional:
                first = float(arrays.lane(value.magnitude, fractional[0]))
                where = _lanes_text(fractional, value.magnitude, sampled)
                help = (
                    "a continuous distribution draws fractions; draw a count from whole numbers, e.g. "
                    f"`choice({math.floor(first)}, {math.ceil(first)})`"
                    if sampled
                    else _range_help(spec, first, entry.value)
                )
                out.append(Diagnostic("E402", f"the count of `{entry.block.name}` is {format_number(first)}{where}: {rule.reason}",
                                      entry.value.span, help=help))  # fmt: skip
        for rule in (r for r in spec.ranges if r.high is not None and not r.whole and not spec.shares):
            above = arrays.true_rows(rule.violated(value.magnitude))
            if above:
                first = float(arrays.lane(value.magnitude, above[0]))
                where = _lanes_text(above, value.magnitude, sampled)
                out.append(Diagnostic("E402", f"the count of `{entry.block.name}` is {format_number(first)}{where}: "
                                      f"{rule.reason}", entry.value.span, severity=rule.severity,
                                      help="check the count (a typo in its exponent?)"))  # fmt: skip
        weights.append(value.magnitude)
    if not spec.shares or not weights:
        return
    total = weights[0]
    for weight in weights[1:]:
        total = total + weight
    off = arrays.true_rows(abs(total - 1) > SHARE_TOLERANCE)
    if off:
        shown = format_number(arrays.lane(total, off[0]) * 100)
        if arrays.is_array(total) and _sampled(engine, block):
            count = arrays.length(total)
            message = (f"the shares of `{spec.name}` do not sum to 100 % in {len(off):,} of {count:,} samples "
                       f"(sample {off[0] + 1}: {shown} %)")  # fmt: skip
        elif arrays.is_array(total):
            where = arrays.rows_text(off, arrays.length(total))
            message = f"the shares of `{spec.name}` do not sum to 100 % in {where} (row {off[0] + 1}: {shown} %)"
        else:
            message = f"the shares of `{spec.name}` sum to {shown} %, not 100 %"
        out.append(Diagnostic("E403", message, expr.span,
                              help=f"make the shares add up to 100 %, e.g. with a `{spec.target}` for the rest"))  # fmt: skip


# Fields that describe a job by its accelerators' work: meaningless for a fleet of hosts only.
BY_ACCELERATORS = ("device_hours", "compute", "throughput", "peak", "efficiency")


def _check_idle_below_peak(engine: Engine, block: ir.Block, out: list[Diagnostic]) -> None:
    """The linear power model runs from idle to peak: an idle power above the peak (`tdp`, else `power`)
    would make a busier device draw less."""
    peak_name = next((n for n in ("tdp", "power") if n in block.fields), None)
    if peak_name is None:
        return
    idle, peak = (engine.try_evaluate(block.fields[n].expr, block.key) for n in ("idle_power", peak_name))
    if not isinstance(idle, Quantity) or not isinstance(peak, Quantity) or idle.dimension != peak.dimension:
        return
    above = arrays.true_rows(idle.magnitude > peak.magnitude)
    if above:
        first = above[0]
        shown = (
            Quantity(arrays.lane(idle.magnitude, first), idle.dimension).format(),
            Quantity(arrays.lane(peak.magnitude, first), peak.dimension).format(),
        )
        out.append(Diagnostic("E402", f"`idle_power` ({shown[0]}) is above `{peak_name}` ({shown[1]})",
                              block.fields["idle_power"].span,
                              notes=(f"`{peak_name}` is given at {block.fields[peak_name].span}",),
                              help="a device idles below its peak power; check the two values",
                              related=((f"`{peak_name}`", block.fields[peak_name].span),)))  # fmt: skip


def _check_hosts_only(engine: Engine, block: ir.Block, out: list[Diagnostic]) -> None:
    """A job described by its accelerators' work on a fleet whose devices are all hosts; a job with
    both a fleet and one device kind."""
    fleet = block.fields.get("fleet")
    if fleet is not None and "device" in block.fields and "rows" not in block.fields:
        out.append(Diagnostic("E303", "a job has a `fleet` (devices with counts) or one `device` (for "
                              "device-hours without a count), not both", block.fields["device"].span,
                              help="keep `fleet` and give `device_hours` beside it, or remove `fleet`"))  # fmt: skip
    given = [name for name in BY_ACCELERATORS if name in block.fields]
    if fleet is None or not given or "accelerators" in block.fields or not isinstance(fleet.expr, ir.BlockRef):
        return
    devices = engine.program.blocks[fleet.expr.block].fields.get("devices")
    if devices is None or not isinstance(devices.expr, ir.Map) or not devices.expr.entries:
        return
    if all(engine.role_of(entry.block) == "host" for entry in devices.expr.entries):
        hosts = ", ".join(f"`{entry.block.name}`" for entry in devices.expr.entries)
        out.append(Diagnostic("E303", f"the fleet holds only hosts ({hosts}), but the job is described by its "
                              f"accelerators' work (`{given[0]}`)", fleet.span,
                              help="add the accelerators to the fleet, or give `accelerators = N` (their number)"))  # fmt: skip


def _check_line(engine: Engine, block: ir.Block | None, check_line: ir.Check, out: list[Diagnostic]) -> None:
    """A block's `check` line, or one outside any block (`block` None)."""
    condition = check_line.condition
    key = block.key if block is not None else None
    left = engine.try_evaluate(condition.left, key)
    right = engine.try_evaluate(condition.right, key)
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        missing = (left if isinstance(left, Unknown) else right).missing  # type: ignore[union-attr]
        out.append(Diagnostic("E404", f"check could not be evaluated: {check_line.message}", check_line.span,
                              severity="warning", notes=("missing: " + ", ".join(missing),)))  # fmt: skip
        return
    if left is None or right is None:
        return
    holds = arrays.compare(condition.op, left.magnitude, right.magnitude)
    failed = arrays.true_rows(~holds if arrays.is_array(holds) else not holds)
    if not failed:
        return
    row = failed[0]
    shown_left = Quantity(arrays.lane(left.magnitude, row), left.dimension).format()
    shown_right = Quantity(arrays.lane(right.magnitude, row), right.dimension).format()
    count = arrays.length(left.magnitude) or arrays.length(right.magnitude)
    where = f" in {arrays.rows_text(failed, count)}" if count is not None else ""
    which = ""
    if count is not None and (
        _sampled(engine, block) if block is not None else engine.sampler is not None
    ):  # an uncertain input: said of its samples
        where, which = f" in {len(failed):,} of {count:,} samples", f" (sample {row + 1})"
    out.append(Diagnostic("E404", f"check failed{where}: {check_line.message}", check_line.span,
                          notes=(f"{shown_left} {condition.op} {shown_right} is false{which}",)))  # fmt: skip
