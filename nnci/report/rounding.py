"""Numbers rounded to what their inputs justify.

The rule (stated in every report): a figure is shown to the fewest significant figures among the
numbers written in the scenario that it is derived from (the leaves of its explain tree). Written
digits count as significant, trailing zeros of a whole number included (`300 W` is three figures,
`1.1` two); a whole number written without a unit or exponent is a count (`10_000` devices, `230_768`
queries) and is exact; defaults the formulas supply (τ = 1) are exact. A figure is never shown to
fewer than two significant figures, nor more than six.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from nnci import ir
from nnci.engine import Derivation
from nnci.quantity import Quantity, format_number
from nnci.units import CARBON, ENERGY, POWER, VOLUME, Dimension, display_unit

FEWEST, MOST = 2, 6
RULE = (
    "Figures are rounded to the fewest significant figures among the numbers written in the scenario "
    "that they are derived from (trailing zeros of whole numbers count; counts of devices or queries and "
    "the formulas' defaults are exact), and to no fewer than 2 and no more than 6."
)
INTERVAL_RULE = (
    "Each figure is the median of the Monte Carlo samples, with its 5th–95th percentile interval; both are "
    "rounded to the decimal place of the second significant figure of the interval's half-width, keeping "
    f"the median to no fewer than 1 and no more than {MOST + 2} significant figures."
)
NUMBER = re.compile(r"[+-]?(?P<whole>\d[\d_]*)?(?:\.(?P<fraction>\d[\d_]*)?)?(?:[eE][+-]?\d+)?")


def significant(text: str) -> int | None:
    """The significant figures of a number as written (`"300 W"` → 3, `"0.95"` → 2); None for an exact count."""
    number, _, unit = text.strip().partition(" ")
    match = NUMBER.fullmatch(number)
    if match is None:
        return None
    whole = (match["whole"] or "").replace("_", "")
    fraction = (match["fraction"] or "").replace("_", "")
    if not unit and "." not in number and "e" not in number.lower():
        return None  # a count
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return 1  # zero written as 0 or 0.0
    return len(digits)


def _written(expr: ir.Expr) -> int | None:
    """The fewest significant figures among the constants of an expression (None: only exact ones)."""
    if isinstance(expr, ir.Const):
        return significant(expr.text)
    children: list[ir.Expr] = []
    if isinstance(expr, ir.Binary):
        children = [expr.left, expr.right]
    elif isinstance(expr, ir.Negate):
        children = [expr.operand]
    elif isinstance(expr, ir.Call):
        children = list(expr.args)
    found = [d for d in (_written(c) for c in children) if d is not None]
    return min(found) if found else None


def _leaf_digits(program: ir.Program, node: Derivation) -> int | None:
    block = program.blocks.get(node.block)
    if block is None:
        return None
    name, _, entry = node.name.partition("[")
    field = block.fields.get(name)
    if field is None:
        return None  # a default a formula supplies
    if entry and isinstance(field.expr, ir.Map):
        target = entry.rstrip("]")
        found = next((e for e in field.expr.entries if str(e.block) == target), None)
        return _written(found.value) if found is not None else None
    return _written(field.expr)


def justified(program: ir.Program, result: Derivation) -> int:
    """How many significant figures the figure's inputs justify (see RULE)."""
    fewest: int | None = None
    seen: set[int] = set()
    stack = [result]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.inputs:
            stack.extend(node.inputs)
            continue
        digits = _leaf_digits(program, node)
        if digits is not None:
            fewest = digits if fewest is None else min(fewest, digits)
    return MOST if fewest is None else max(FEWEST, min(MOST, fewest))


def from_interval(median: float, low: float, high: float) -> int:
    """Significant figures of `median` that put its last digit at the second significant figure of the
    interval's half-width (INTERVAL_RULE): 575.2 in [540.1, 610.3] (half-width 35) → 575 → 3 figures."""
    half = (high - low) / 2
    if not (half > 0 and math.isfinite(half)) or median == 0 or not math.isfinite(median):
        return MOST
    place = math.floor(math.log10(half)) - 1  # the decimal place of half's second figure
    return max(1, min(MOST + 2, math.floor(math.log10(abs(median))) - place + 1))


def interval_digits(dimension: Dimension, median: float, low: float, high: float) -> int:
    """`from_interval` in the unit the figure is shown in (`readable_unit`): the rule counts the digits
    a reader sees, and a unit that is not the SI one times a power of ten (kWh of joules, h of
    seconds) moves them."""
    per_si = float(Quantity(1.0, dimension).to(readable_unit(Quantity(median, dimension))))
    return from_interval(median * per_si, low * per_si, high * per_si)


def readable_unit(value: Quantity) -> str:
    """kWh, MWh or GWh; gCO2e, kgCO2e or tCO2e; else the dimension's display unit."""
    if value.dimension == ENERGY:
        kwh = abs(float(value.to("kWh")))
        return "kWh" if kwh < 1e4 else "MWh" if kwh < 1e7 else "GWh"
    if value.dimension == POWER:
        watts = abs(float(value.to("W")))
        return "W" if watts < 1e4 else "kW" if watts < 1e7 else "MW"
    if value.dimension == VOLUME:
        litres = abs(float(value.to("L")))
        return "L" if litres < 1e4 else "m3"
    if value.dimension == CARBON:
        kg = abs(float(value.to("kgCO2e")))
        return "gCO2e" if 0 < kg < 1 else "kgCO2e" if kg < 1e3 else "tCO2e"
    return display_unit(value.dimension)


def round_to(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return float(number_text(value, digits).replace(",", ""))


def number_text(value: float, digits: int) -> str:
    """`value` to `digits` significant figures, halves rounded up, with thousands separators
    (`1,300`, `0.0042`, `3,830,000`)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    exact = Decimal(repr(value))
    exponent = exact.adjusted()
    if exponent >= 15 or exponent < -4:
        return f"{exact:.{digits - 1}e}"
    decimals = digits - 1 - exponent
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{max(decimals, 0)}f}"


def shown(value: Quantity, digits: int, unit: str | None = None, scale: Quantity | None = None) -> str:
    """`value` in `unit` to `digits` significant figures; with `scale`, to the decimal place those digits
    give `scale` (the ends of an interval are rounded at its median's last digit)."""
    unit = unit or readable_unit(value)
    magnitude = float(value.to(unit))
    if digits >= MOST and scale is None:  # nothing written limits it (counts, table cells): no padding zeros
        return f"{format_number(magnitude, MOST)} {unit}".rstrip()
    if scale is not None:
        reference = abs(float(scale.to(unit)))
        if reference > 0 and magnitude != 0:
            digits = digits - math.floor(math.log10(reference)) + math.floor(math.log10(abs(magnitude)))
        digits = max(1, digits)
    return f"{number_text(magnitude, digits)} {unit}".rstrip()
