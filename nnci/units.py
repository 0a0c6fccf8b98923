"""Dimensions and units: a small algebra written for static checking.

A dimension is a vector of rational exponents over base dimensions. CO2e and counted things
(FLOP, tokens, queries) are base dimensions of their own, so kilograms of CO2e never add to
kilograms of hardware and a query rate times energy per query checks as power.
Magnitudes are kept in SI base units (kg, m, s; kgCO2e for carbon; one FLOP, token, query, byte).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import attrs

BASES = ("m", "kg", "s", "kgCO2e", "FLOP", "token", "query", "B")


@attrs.frozen
class Dimension:
    exponents: tuple[Fraction, ...]

    def __mul__(self, other: Dimension) -> Dimension:
        return Dimension(tuple(a + b for a, b in zip(self.exponents, other.exponents, strict=True)))

    def __truediv__(self, other: Dimension) -> Dimension:
        return Dimension(tuple(a - b for a, b in zip(self.exponents, other.exponents, strict=True)))

    def __pow__(self, power: Fraction | int) -> Dimension:
        return Dimension(tuple(a * Fraction(power) for a in self.exponents))

    @property
    def is_dimensionless(self) -> bool:
        return not any(self.exponents)

    def symbol(self) -> str:
        """Base-unit spelling, e.g. kg·m^2/s^3."""
        num = [_power(b, e) for b, e in zip(BASES, self.exponents, strict=True) if e > 0]
        den = [_power(b, -e) for b, e in zip(BASES, self.exponents, strict=True) if e < 0]
        text = "·".join(num) or "1"
        return text + ("/" + "·".join(den) if den else "") if (num or den) else "1"

    def describe(self) -> str:
        """A human name ('power', 'energy') where one exists, else the base-unit spelling."""
        return NAMED.get(self, self.symbol())


def _power(base: str, exponent: Fraction) -> str:
    return base if exponent == 1 else f"{base}^{exponent}"


def base(name: str) -> Dimension:
    return Dimension(tuple(Fraction(int(b == name)) for b in BASES))


DIMENSIONLESS = Dimension(tuple(Fraction(0) for _ in BASES))
LENGTH, MASS, TIME = base("m"), base("kg"), base("s")
CARBON, FLOP, TOKEN, QUERY, INFORMATION = (
    base("kgCO2e"),
    base("FLOP"),
    base("token"),
    base("query"),
    base("B"),
)
AREA = LENGTH**2
ENERGY = MASS * AREA / TIME**2
POWER = ENERGY / TIME
INTENSITY = CARBON / ENERGY
THROUGHPUT = FLOP / TIME

NAMED: dict[Dimension, str] = {
    DIMENSIONLESS: "a pure number",
    LENGTH: "length",
    MASS: "mass",
    TIME: "time",
    CARBON: "carbon (CO2e)",
    FLOP: "compute (FLOP)",
    TOKEN: "tokens",
    QUERY: "queries",
    INFORMATION: "information (bytes)",
    AREA: "area",
    ENERGY: "energy",
    POWER: "power",
    INTENSITY: "carbon intensity",
    THROUGHPUT: "compute throughput",
    ENERGY / QUERY: "energy per query",
    CARBON / QUERY: "carbon per query",
    CARBON / AREA: "carbon per area",
    CARBON / INFORMATION: "carbon per byte",
    CARBON / TIME: "carbon per time",
    TOKEN / TIME: "token rate",
    QUERY / TIME: "query rate",
}


@attrs.frozen
class Unit:
    """A unit: its magnitude in SI base units and its dimension."""

    factor: float
    dimension: Dimension


_DECIMAL = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3,
    "": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9,
}  # fmt: skip


def _table() -> dict[str, Unit]:
    table: dict[str, Unit] = {}

    def add(symbol: str, factor: float, dim: Dimension, prefixes: str = "") -> None:
        table[symbol] = Unit(factor, dim)
        for prefix in prefixes:
            table[prefix + symbol] = Unit(factor * _DECIMAL[prefix], dim)

    add("W", 1.0, POWER, "kMGTmµu")
    add("J", 1.0, ENERGY, "kMGTPEm")
    add("Wh", 3600.0, ENERGY, "kMGTP")
    add("s", 1.0, TIME, "mµun")
    minute, hour, day = 60.0, 3600.0, 86400.0
    year = 365.25 * day  # the Julian year, as pint and astronomers use it
    for symbols, factor in (
        (("min", "mins", "minute", "minutes"), minute),
        (("h", "hr", "hrs", "hour", "hours"), hour),
        (("day", "days"), day),
        (("week", "weeks"), 7 * day),
        (("month", "months"), year / 12),
        (("year", "years", "yr", "yrs"), year),
    ):
        for symbol in symbols:
            add(symbol, factor, TIME)
    add("g", 1e-3, MASS, "kmµu")
    add("t", 1e3, MASS, "kM")
    add("m", 1.0, LENGTH, "kmµun")
    table["cm"] = Unit(1e-2, LENGTH)
    pound = 0.45359237  # kg, the international avoirdupois pound
    for symbol in ("lb", "lbs"):
        add(symbol, pound, MASS)
    for suffix in ("CO2e", "CO2eq", "CO₂e"):
        add("g" + suffix, 1e-3, CARBON, "kMGm")
        add("t" + suffix, 1e3, CARBON, "kMG")
        add("lb" + suffix, pound, CARBON)
    add("%", 0.01, DIMENSIONLESS)
    add("FLOP", 1.0, FLOP, "kMGTPEZY")
    for symbol in ("token", "tokens"):
        add(symbol, 1.0, TOKEN, "kMGT")
    for symbol in ("query", "queries", "request", "requests"):
        add(symbol, 1.0, QUERY)
    add("B", 1.0, INFORMATION, "kMGTP")
    for prefix, power in (("Ki", 1), ("Mi", 2), ("Gi", 3), ("Ti", 4)):
        table[prefix + "B"] = Unit(1024.0**power, INFORMATION)
    return table


UNITS: dict[str, Unit] = _table()

# Spellings people write that mean something else here; each maps to advice.
MISTAKES = {
    "FLOPS": "write `FLOP/s` for a rate or `FLOP` for a count of operations",
    "FLOPs": "write `FLOP` for a count of operations or `FLOP/s` for a rate",
    "TFLOPS": "write `TFLOP/s` for a rate or `TFLOP` for a count",
    "PFLOPS": "write `PFLOP/s` for a rate or `PFLOP` for a count",
    "GFLOPS": "write `GFLOP/s` for a rate or `GFLOP` for a count",
    "kw": "write `kW` (prefix k, unit W)",
    "kwh": "write `kWh`",
    "KWh": "write `kWh` (the kilo prefix is a lower-case k)",
    "KW": "write `kW` (the kilo prefix is a lower-case k)",
    "tCO2": "write `tCO2e` (nnci counts all greenhouse gases as CO2e)",
    "kgCO2": "write `kgCO2e` (nnci counts all greenhouse gases as CO2e)",
    "gCO2": "write `gCO2e` (nnci counts all greenhouse gases as CO2e)",
}

_FACTOR = re.compile(r"^(?P<sym>[^\^]+?)(?:\^(?P<exp>-?\d+)|(?P<tail>[23]))?$")


class UnitError(ValueError):
    """A unit spelling nnci does not know; carries a hint for the user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_unit(text: str) -> Unit:
    """Parse a compound unit such as `gCO2e/kWh`, `TFLOP/s`, `kg/cm2` or `m^2`.

    `*` and `/` apply left to right, as in pint and Python: `W/h*s` is (W/h)·s.
    """
    factor, dim = 1.0, DIMENSIONLESS
    for operator, piece in re.findall(r"(^|[*/])([^*/]*)", text.replace("·", "*")):
        unit = _parse_factor(piece, text)
        if operator == "/":
            factor, dim = factor / unit.factor, dim / unit.dimension
        else:
            factor, dim = factor * unit.factor, dim * unit.dimension
    return Unit(factor, dim)


def _parse_factor(piece: str, whole: str) -> Unit:
    if piece in UNITS:
        return UNITS[piece]
    match = _FACTOR.match(piece)
    if match and match["sym"] in UNITS and (match["exp"] or match["tail"]):
        power = int(match["exp"] or match["tail"])
        unit = UNITS[match["sym"]]
        try:
            factor = unit.factor**power
        except OverflowError:
            factor = math.inf
        if not math.isfinite(factor) or factor == 0:
            raise UnitError(f"`{piece}` is out of range", "use a smaller exponent")
        return Unit(factor, unit.dimension**power)
    raise UnitError(f"unknown unit `{piece}`" + (f" in `{whole}`" if piece != whole else ""), unit_hint(piece))


def unit_hint(piece: str) -> str | None:
    import difflib  # only on the error path: it costs start-up time

    if piece in MISTAKES:
        return MISTAKES[piece]
    close = difflib.get_close_matches(piece, UNITS, n=3, cutoff=0.6)
    lowered = [s for s in UNITS if s.lower() == piece.lower()]
    suggestions = list(dict.fromkeys(lowered + close))[:3]
    if suggestions:
        return "did you mean " + " or ".join(f"`{s}`" for s in suggestions) + "?"
    return None


# The unit each dimension is shown in by default, and units to suggest in hints.
DISPLAY: dict[Dimension, str] = {
    POWER: "W",
    ENERGY: "kWh",
    TIME: "h",
    CARBON: "kgCO2e",
    INTENSITY: "gCO2e/kWh",
    DIMENSIONLESS: "",
    FLOP: "FLOP",
    THROUGHPUT: "TFLOP/s",
    AREA: "mm2",
    LENGTH: "nm",
    MASS: "kg",
    INFORMATION: "GB",
    QUERY: "queries",
    TOKEN: "tokens",
    ENERGY / QUERY: "Wh/query",
    CARBON / QUERY: "gCO2e/query",
    CARBON / AREA: "kgCO2e/cm2",
    CARBON / INFORMATION: "kgCO2e/GB",
    CARBON / TIME: "kgCO2e/h",
}


def display_unit(dim: Dimension) -> str:
    """The symbol to print a quantity of this dimension in (SI base spelling as a fallback)."""
    if dim in DISPLAY:
        return DISPLAY[dim]
    return dim.symbol()


def unit_factor(symbol: str) -> float:
    return parse_unit(symbol).factor if symbol else 1.0
