"""The resolver's part for time: a job's `start`, series columns (`uk.carbon_intensity`) and the
inline `series(START, STEP, v1, v2, ...)`.

An instant resolves to a constant of seconds since 1970 (UTC), a series to a constant whose
magnitude is a `SeriesValue`: the engine and the plan treat both as constants, and only the
formulas that integrate over a job's interval read a series (`nnci.series`). A date and time
stands only where one is meant: a job's `start` and the first argument of `series(...)`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from nnci import ast, ir
from nnci.quantity import Quantity
from nnci.series import STEPS, Series, SeriesValue
from nnci.timeparse import TimeError, format_duration, parse_instant
from nnci.units import TIME, UnitError, in_si

if TYPE_CHECKING:
    from nnci.resolve import _Resolver
    from nnci.series_read import SeriesTable

SERIES_FUNCTION = "series"
_UTC_CELL = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z"
_UTC_COLUMN = re.compile(rf"{_UTC_CELL}(?:\n{_UTC_CELL})*")
MAX_INLINE = 10_000  # values an inline series may list (a longer profile belongs in a file)


def instant(resolver: _Resolver, expr: ast.DateTime) -> ir.Const | None:
    try:
        seconds = parse_instant(expr.text)
    except TimeError as error:
        resolver.error("E305", str(error), expr.span, help=error.hint)
        return None
    return ir.Const(Quantity(seconds, TIME), expr.text, expr.span)


def start(resolver: _Resolver, value: ast.Expr, file: str) -> ir.Expr | None:
    """`start = 2024-03-04T09:00Z`, or `start = jobs.start` (a column of date-times) in a job over a table."""
    if isinstance(value, ast.DateTime):
        return instant(resolver, value)
    if isinstance(value, ast.Ref) and resolver.table_alias(value, file) is not None:
        column = resolver.column(value, file)
        if column is None:
            return None
        key = (resolver.rows or "", column.name)
        if key not in resolver.instants:
            resolver.instants[key] = _instant_column(resolver, column)
        if resolver.instants[key] is None:
            return None
        return ir.ColumnRef(resolver.rows or "", column.name, value.span, instants=True)
    resolver.error("E303", "`start` needs a date and time with a timezone", value.span,
                   help="write e.g. `start = 2024-03-04T09:00Z`, or name a column of them: `start = jobs.start`")  # fmt: skip
    return None


def profile(resolver: _Resolver, resolved: ir.Expr | None, value: ast.Expr) -> ir.Expr | None:
    """`profile = series(...)` or `profile = data.utilisation`: a series of utilisation or power."""
    from nnci.units import DIMENSIONLESS, POWER

    if resolved is None:
        return None
    magnitude = resolved.value.magnitude if isinstance(resolved, ir.Const) else None
    if not getattr(magnitude, "is_series", False):
        resolver.error("E303", "`profile` needs a series of utilisation or power", value.span,
                       help="write e.g. `profile = series(2024-03-04T00:00Z, 1 h, 60 %, 95 %, 90 %)`, or name a "
                       "column of an imported series file")  # fmt: skip
        return None
    assert isinstance(resolved, ir.Const)
    if resolved.value.dimension not in (DIMENSIONLESS, POWER):
        resolver.error("E400", f"`profile` expects a utilisation or a power, found "
                       f"{resolved.value.dimension.describe()}", value.span,
                       help="a profile's values are shares (`%`) or powers (`W`): only their shape is used")  # fmt: skip
        return None
    assert magnitude is not None  # a series, checked above
    low, high = magnitude.extremes()
    share = resolved.value.dimension == DIMENSIONLESS
    lowest = f"{low * 100:,.6g} %" if share else Quantity(low, resolved.value.dimension).format()
    problem = (f"reaches {lowest}" if low < 0
               else f"reaches {high * 100:,.6g} %" if share and high > 1 + 1e-9
               else "is zero throughout" if high <= 0 else None)  # fmt: skip
    if problem is not None:  # the hours' weights would give a carbon no real job can have
        resolver.error("E402", f"the profile {problem}", value.span,
                       help="a profile is the share of peak (0 to 100 %) or the power (≥ 0 W) of each interval, "
                       "and not zero throughout")  # fmt: skip
        return None
    # only the shape matters: as a pure number, so the formula's inputs keep one dimension
    return ir.Const(Quantity(magnitude, DIMENSIONLESS), resolved.text, resolved.span)


def _instant_column(resolver: _Resolver, column: Any) -> Any:
    """The cells of a text column as instants; each cell that is not a date-time with a timezone is
    reported at file:line:column."""
    import numpy as np

    if not column.is_text:
        resolver.error("E303", f"column `{column.name}` holds numbers; `start` needs dates and times",
                       column.span, help="write its cells like `2024-03-04T09:00Z`")  # fmt: skip
        return None
    cells = column.values
    joined = "\n".join(cells)
    if _UTC_COLUMN.fullmatch(joined):  # every cell `YYYY-MM-DDTHH:MM[:SS]Z`: numpy reads them in one call
        try:
            return np.array([cell[:-1] for cell in cells], dtype="datetime64[s]").astype(np.int64).astype(float)
        except ValueError:  # a date no calendar has: each cell is read below, and the bad ones located
            pass
    values = np.empty(len(column.values))
    bad = 0
    for row, cell in enumerate(column.values):
        try:
            values[row] = parse_instant(cell)
        except TimeError as error:
            bad += 1
            if bad <= 20:
                resolver.error("E305", f"row {row + 1}, column `{column.name}`: {error}", column.cell_span(row),
                               help=error.hint)  # fmt: skip
    return None if bad else values


def series_column(resolver: _Resolver, ref: ast.Ref, table: SeriesTable) -> ir.Const | None:
    """`uk.carbon_intensity`: one series of an imported file, as a constant."""
    alias = ref.parts[0]
    if len(ref.parts) != 2:
        resolver.error("E305", f"`{ref.dotted}`: a series file is read one column at a time", ref.span,
                       help=f"write `{alias}.<column>`; columns: " + ", ".join(table.columns))  # fmt: skip
        return None
    name = ref.parts[1]
    found = table.column(name)
    if found is None:
        from nnci.resolve import did_you_mean
        from nnci.series_read import ALIAS

        if name == ALIAS and table.ambiguous:
            resolver.error("E301", f"`{ref.dotted}` could mean {len(table.ambiguous)} columns of `{table.file}`",
                           ref.span, help="choose one: " + ", ".join(f"`{alias}.{c}`" for c in table.ambiguous))  # fmt: skip
        elif name in table.text:
            resolver.error("E303", f"`{ref.dotted}` is a text column; a series holds numbers", ref.span,
                           help="series: " + ", ".join(table.columns))  # fmt: skip
        else:
            resolver.error("E301", f"`{table.file}` has no series `{name}`", ref.span,
                           help=did_you_mean(name, table.columns) or "series: " + ", ".join(table.columns))  # fmt: skip
        return None
    value = SeriesValue(found, label=ref.dotted)
    return ir.Const(Quantity(value, found.dimension), ref.dotted, ref.span)


def inline(resolver: _Resolver, call: ast.Call) -> ir.Const | None:
    """`series(2024-03-04T00:00Z, 1 h, 420 gCO2e/kWh, 380 gCO2e/kWh, ...)`: a small profile written out."""
    import numpy as np

    usage = "write `series(2024-03-04T00:00Z, 1 h, 420 gCO2e/kWh, 380 gCO2e/kWh, ...)`: a start, an interval, values"
    if len(call.args) < 3 or not isinstance(call.args[0], ast.DateTime):
        resolver.error("E305", "`series` takes a start, an interval and at least one value", call.span, help=usage)
        return None
    first = instant(resolver, call.args[0])
    step_expr = call.args[1]
    step = _number(resolver, step_expr)
    if first is None or step is None:
        return None
    if step[1] != TIME or step[0] not in STEPS:
        resolver.error("E305", "the interval of a series is 5, 15, 30 or 60 minutes", step_expr.span,
                       help="write e.g. `1 h` or `30 min`")  # fmt: skip
        return None
    if len(call.args) - 2 > MAX_INLINE:
        resolver.error("E305", f"an inline series of more than {MAX_INLINE:,} values", call.span,
                       help="put a long profile in a CSV file with a `timestamp` column and import it")  # fmt: skip
        return None
    values = []
    dimension = None
    for arg in call.args[2:]:
        number = _number(resolver, arg)
        if number is None:
            return None
        if dimension is not None and number[1] != dimension:
            resolver.error("E401", f"this value is {number[1].describe()}, the first {dimension.describe()}",
                           arg.span, help="every value of a series has the same dimension")  # fmt: skip
            return None
        dimension = number[1]
        values.append(number[0])
    assert dimension is not None and isinstance(first.value.magnitude, float)
    unit = call.args[2].unit if isinstance(call.args[2], ast.Number) else None
    data = Series("series(...)", call.span.file, first.value.magnitude, step[0], np.array(values), dimension,
                  unit or "", call.span, None, f"{len(values)} values every {format_duration(step[0])}")  # fmt: skip
    return ir.Const(Quantity(SeriesValue(data, label="series(...)"), dimension), "series(...)", call.span)


def _number(resolver: _Resolver, expr: ast.Expr) -> tuple[float, Any] | None:
    """A number with its unit (or a negated one), in SI units, with its dimension."""
    sign = 1.0
    if isinstance(expr, ast.Neg):
        sign, expr = -1.0, expr.operand
    if not isinstance(expr, ast.Number):
        resolver.error("E305", "a series lists numbers with units", expr.span, help="write e.g. `420 gCO2e/kWh`")
        return None
    try:
        return in_si(sign * expr.value, expr.unit)
    except UnitError as error:
        resolver.error("E302", str(error), expr.span, help=error.hint)
        return None


def misplaced(resolver: _Resolver, expr: ast.DateTime) -> None:
    resolver.error("E305", "a date and time stands only as a job's `start` or the start of `series(...)`", expr.span,
                   help="an amount of time is written with a unit: `2 h`, `14 days`")  # fmt: skip
