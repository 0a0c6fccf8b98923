"""Dimensions and units: a small algebra written for static checking.

A dimension is a vector of rational exponents over base dimensions. CO2e and counted things
(FLOP, tokens, queries) are base dimensions of their own, so kilograms of CO2e never add to
kilograms of hardware and a query rate times energy per query checks as power.
Magnitudes are kept in SI base units (kg, m, s; kgCO2e for carbon; one FLOP, token, query, byte).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, final

import attrs
from attrs.exceptions import FrozenInstanceError

BASES = ("m", "kg", "s", "kgCO2e", "FLOP", "token", "query", "B")

# Each memo table of a dimension (its products, quotients, powers) is cleared past this many
# entries, so a program that makes unboundedly many distinct dimensions cannot grow them forever.
_MEMO_LIMIT = 512

_Key = tuple[tuple[int, ...], int]
_INTERNED: dict[_Key, Dimension] = {}


@final
class Dimension:
    """A vector of rational exponents over BASES, held exactly as integers over one denominator.

    `exponents[i] == numerators[i] / denominator`, in lowest terms (the denominator is the least
    common one, 1 for every dimension with whole exponents). Dimensions are interned: equal
    dimensions are the same object, so `==` and `hash` are the identity's, and each dimension
    memoises its products, quotients and powers. No Fraction is built on those paths.
    """

    __slots__ = ("_denominator", "_dimensionless", "_div", "_exponents", "_mul", "_numerators", "_pow", "_symbol")

    _numerators: tuple[int, ...]
    _denominator: int
    _dimensionless: bool
    _exponents: tuple[Fraction, ...] | None
    _symbol: str | None
    _mul: dict[Dimension, Dimension]
    _div: dict[Dimension, Dimension]
    _pow: dict[Any, Dimension]

    def __new__(cls, exponents: Iterable[Fraction | int]) -> Dimension:
        values = tuple(Fraction(e) for e in exponents)
        if len(values) != len(BASES):
            raise ValueError(f"a dimension has {len(BASES)} exponents ({', '.join(BASES)}), not {len(values)}")
        denominator = math.lcm(*(v.denominator for v in values))
        return _interned(tuple(v.numerator * (denominator // v.denominator) for v in values), denominator)

    # -- the algebra (memoised; a miss computes in integers) --

    def __mul__(self, other: Dimension) -> Dimension:
        result = self._mul.get(other)
        if result is None:
            if not isinstance(other, Dimension):
                return NotImplemented
            result = _remember(self._mul, other, _combine(self, other, 1))
        return result

    def __truediv__(self, other: Dimension) -> Dimension:
        result = self._div.get(other)
        if result is None:
            if not isinstance(other, Dimension):
                return NotImplemented
            result = _remember(self._div, other, _combine(self, other, -1))
        return result

    def __pow__(self, power: Fraction | int) -> Dimension:
        result = self._pow.get(power)
        if result is None:
            # int and Fraction spell their ratio alike; anything else (a float) goes through Fraction,
            # exactly as before. Equal powers hash alike, so 2, Fraction(2) and 2.0 share one entry.
            exact = power if isinstance(power, int | Fraction) else Fraction(power)
            p, q = exact.numerator, exact.denominator
            result = _remember(
                self._pow, power, _interned(tuple(n * p for n in self._numerators), self._denominator * q)
            )
        return result

    # -- identity: interning makes equal dimensions one object --

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._numerators, self._denominator))

    def __copy__(self) -> Dimension:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Dimension:
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError()

    def __repr__(self) -> str:
        return f"Dimension(exponents={self.exponents!r})"

    # -- reading it --

    @property
    def exponents(self) -> tuple[Fraction, ...]:
        """The exponents as Fractions, in the order of BASES (built once per dimension)."""
        exponents = self._exponents
        if exponents is None:
            exponents = tuple(Fraction(n, self._denominator) for n in self._numerators)
            object.__setattr__(self, "_exponents", exponents)
        return exponents

    @property
    def is_dimensionless(self) -> bool:
        return self._dimensionless

    def symbol(self) -> str:
        """Base-unit spelling, e.g. kg·m^2/s^3."""
        text = self._symbol
        if text is None:
            num = [_power(b, e) for b, e in zip(BASES, self.exponents, strict=True) if e > 0]
            den = [_power(b, -e) for b, e in zip(BASES, self.exponents, strict=True) if e < 0]
            text = "·".join(num) or "1"
            text = text + ("/" + "·".join(den) if den else "") if (num or den) else "1"
            object.__setattr__(self, "_symbol", text)
        return text

    def describe(self) -> str:
        """A human name ('power', 'energy') where one exists, else one in words from two named dimensions
        ('mass per energy' for g/kWh, whose base units are s^2/m^2), else the base-unit spelling."""
        name = NAMED.get(self)
        if name is None:
            name = _in_words(self)
        return self.symbol() if name is None else name


def _interned(numerators: tuple[int, ...], denominator: int) -> Dimension:
    """The one Dimension with these exponents (`numerators / denominator`, denominator > 0)."""
    if denominator != 1:
        common = math.gcd(denominator, *numerators)
        if common != 1:
            numerators, denominator = tuple(n // common for n in numerators), denominator // common
    key = (numerators, denominator)
    found = _INTERNED.get(key)
    if found is not None:
        return found
    made = object.__new__(Dimension)
    for name, value in (("_numerators", numerators), ("_denominator", denominator),
                        ("_dimensionless", not any(numerators)), ("_exponents", None), ("_symbol", None),
                        ("_mul", {}), ("_div", {}), ("_pow", {})):  # fmt: skip
        object.__setattr__(made, name, value)
    return _INTERNED.setdefault(key, made)  # atomic: two threads racing still agree on one object


def _restore(numerators: tuple[int, ...], denominator: int) -> Dimension:
    """Unpickling goes back through interning, so a loaded dimension is the live one."""
    if len(numerators) != len(BASES) or denominator <= 0:
        raise TypeError("not a pickled nnci dimension")
    return _interned(tuple(numerators), denominator)


def _combine(a: Dimension, b: Dimension, sign: int) -> Dimension:
    """a·b (sign 1) or a/b (sign -1), in integers over the least common denominator."""
    da, db = a._denominator, b._denominator
    if da == db:
        return _interned(tuple(x + sign * y for x, y in zip(a._numerators, b._numerators, strict=True)), da)
    common = math.lcm(da, db)
    ka, kb = common // da, sign * (common // db)
    return _interned(tuple(x * ka + y * kb for x, y in zip(a._numerators, b._numerators, strict=True)), common)


def _remember(memo: dict[Any, Dimension], key: Any, value: Dimension) -> Dimension:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def _power(base: str, exponent: Fraction) -> str:
    return base if exponent == 1 else f"{base}^{exponent}"


def base(name: str) -> Dimension:
    return _interned(tuple(int(b == name) for b in BASES), 1)


DIMENSIONLESS = _interned((0,) * len(BASES), 1)
LENGTH, MASS, TIME = base("m"), base("kg"), base("s")
CARBON, FLOP, TOKEN, QUERY, INFORMATION = (
    base("kgCO2e"),
    base("FLOP"),
    base("token"),
    base("query"),
    base("B"),
)
AREA = LENGTH**2
VOLUME = LENGTH**3
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
    VOLUME: "volume",
    VOLUME / ENERGY: "volume per energy",
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


# The dimensions a name in words is composed of, simplest first.
_WORDS_FROM = ("MASS", "LENGTH", "TIME", "CARBON", "FLOP", "TOKEN", "QUERY", "INFORMATION", "AREA", "ENERGY",
               "POWER", "DIMENSIONLESS")  # fmt: skip
_PRODUCTS_FROM = ("ENERGY", "POWER", "CARBON", "FLOP", "INFORMATION", "AREA", "MASS", "LENGTH", "TIME", "TOKEN",
                  "QUERY")  # fmt: skip


def _in_words(dim: Dimension) -> str | None:
    """`a per b` or `a × b` for two named dimensions whose quotient or product is `dim`."""
    named = [globals()[n] for n in _WORDS_FROM]
    for a in named:
        for b in named:
            if a is b or a.is_dimensionless or b.is_dimensionless:
                continue
            if a / b == dim:
                return f"{NAMED[a]} per {NAMED[b]}"
    named = [globals()[n] for n in _PRODUCTS_FROM]
    for i, a in enumerate(named):
        for b in named[i:]:
            if not a.is_dimensionless and not b.is_dimensionless and a * b == dim:
                return f"{NAMED[a]} × {NAMED[b]}"
    per = [f"per {NAMED[a]}" for a in named if not a.is_dimensionless and DIMENSIONLESS / a == dim]
    return per[0] if per else None


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
    add("L", 1e-3, VOLUME, "mkMG")  # the litre (water); `m3` is a cubic metre
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

_PIECES = re.compile(r"(^|[*/])([^*/]*)")
_FACTOR = re.compile(r"^(?P<sym>[^\^]+?)(?:\^(?P<exp>-?\d+)|(?P<tail>[23]))?$")


class UnitError(ValueError):
    """A unit spelling nnci does not know; carries a hint for the user."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


# Parsed units by their text: every number written and every output cell asks again. Units are
# frozen, so one may be shared. Failures are not kept (they raise, and are rare). Cleared when
# full, which no real set of files comes near.
_PARSED: dict[str, Unit] = {}
_PARSED_LIMIT = 4096


def in_si(value: float, unit: str | None) -> tuple[float, Dimension]:
    """A number written with its unit (none: a plain number), in SI base units, with its dimension.
    Raises UnitError for a unit nnci does not know."""
    if unit is None:
        return value, DIMENSIONLESS
    parsed = parse_unit(unit)
    return value * parsed.factor, parsed.dimension


def parse_unit(text: str) -> Unit:
    """Parse a compound unit such as `gCO2e/kWh`, `TFLOP/s`, `kg/cm2` or `m^2`.

    `*` and `/` apply left to right, as in pint and Python: `W/h*s` is (W/h)·s.
    """
    unit = _PARSED.get(text)
    if unit is None:
        unit = _parse_unit(text.replace("\u03bc", "\u00b5"))  # Greek mu, as many keyboards type micro
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[text] = unit
    return unit


def _parse_unit(text: str) -> Unit:
    factor, dim = 1.0, DIMENSIONLESS
    for operator, piece in _PIECES.findall(text.replace("·", "*")):
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
    VOLUME: "L",
    VOLUME / ENERGY: "L/kWh",
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
    shown = DISPLAY.get(dim)
    return dim.symbol() if shown is None else shown


def unit_factor(symbol: str) -> float:
    return parse_unit(symbol).factor if symbol else 1.0
