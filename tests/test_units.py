"""nnci's unit table and dimension algebra, with pint as the oracle.

pint knows nothing of CO2e, FLOP, tokens or queries, so the oracle registry defines each as a
base dimension of its own, as nnci does: then "same nnci dimension" and "pint-compatible" must
be the same relation, and every factor to nnci's base units must match pint's.
"""

from __future__ import annotations

import copy
import copyreg
import io
import math
import pickle
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import attrs
import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    COMMON_COMPOUNDS,
    UNIT_SYMBOLS,
    Compound,
    compound_units,
    equivalent_compounds,
    magnitudes,
    same_dimension_pairs,
    unit_symbols,
)

from nnci import api, ir, units
from nnci.quantity import DimensionError, Quantity
from nnci.units import (
    AREA,
    BASES,
    CARBON,
    DIMENSIONLESS,
    DISPLAY,
    ENERGY,
    INTENSITY,
    LENGTH,
    MASS,
    MISTAKES,
    POWER,
    QUERY,
    TIME,
    TOKEN,
    UNITS,
    Dimension,
    UnitError,
    display_unit,
    parse_unit,
    unit_factor,
    unit_hint,
)

REL = 1e-12


def _registry() -> pint.UnitRegistry:
    """pint's default registry, except that information is a dimension of its own (pint: `bit = []`)."""
    package = Path(pint.__file__).parent
    folder = Path(tempfile.mkdtemp(prefix="nnci-pint-"))
    for name in ("default_en.txt", "constants_en.txt"):
        shutil.copy(package / name, folder / name)
    default = folder / "default_en.txt"
    text = default.read_text(encoding="utf-8")
    assert "\nbit = []\n" in text
    default.write_text(text.replace("\nbit = []\n", "\nbit = [information]\n"), encoding="utf-8")
    registry = pint.UnitRegistry(str(default))
    shutil.rmtree(folder)
    return registry


ureg = _registry()
ureg.define("gram_CO2e = [carbon] = gCO2e = gCO2eq")
ureg.define("tonne_CO2e = 1e6 * gram_CO2e = tCO2e = tCO2eq")
ureg.define("pound_CO2e = 453.59237 * gram_CO2e = lbCO2e = lbCO2eq")
ureg.define("FLOP = [compute]")
ureg.define("token = [token]")
ureg.define("query = [query] = _ = queries = request = requests")

# nnci symbols that pint spells differently. pint reads `kt` as the knot (a speed); nnci's `kt`
# is the kilotonne. pint's tokenizer does not take the subscript ₂.
# `mins` is ambiguous to pint (minutes or milli-inches); spell it out.
PINT_SPELLING = {"kt": "kilotonne", "mins": "minutes"}
# nnci's base units, in the order of nnci.units.BASES, as pint units.
PINT_BASES = {"m": "meter", "kg": "kilogram", "s": "second", "kgCO2e": "kgCO2e", "FLOP": "FLOP",
              "token": "token", "query": "query", "B": "byte"}  # fmt: skip


def pint_symbol(symbol: str) -> str:
    return PINT_SPELLING.get(symbol, symbol.replace("CO₂e", "CO2e"))


def pint_factor(symbol: str) -> str:
    return f"({pint_symbol(symbol)})" if symbol != "%" else "percent"


def pint_compound(compound: Compound) -> str:
    def product(factors: tuple) -> str:
        return " * ".join(f"{pint_factor(f.symbol)} ** {f.exponent}" for f in factors) or "1"

    return f"({product(compound.numerator)}) / ({product(compound.denominator)})"


def pint_reference(dimension: Dimension) -> str:
    """nnci's SI base unit for a dimension, spelled for pint."""
    parts = [f"{PINT_BASES[b]} ** {float(e)}" for b, e in zip(BASES, dimension.exponents, strict=True) if e]
    return " * ".join(parts) or "dimensionless"


def pint_to_nnci_base(expression: str, dimension: Dimension) -> float:
    """How many of nnci's base units (for `dimension`) one `expression` is, according to pint."""
    return float(ureg.Quantity(1.0, ureg.parse_units(expression)).to(pint_reference(dimension)).magnitude)


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


# -- every unit of the table --------------------------------------------------------------


def test_the_table_is_large_and_has_the_units_people_write() -> None:
    for symbol in ("W", "kW", "kWh", "MWh", "J", "h", "days", "years", "gCO2e", "kgCO2e", "tCO2e", "%", "TFLOP",
                   "tokens", "queries", "GB", "GiB", "mm", "cm", "nm", "kg"):  # fmt: skip
        assert symbol in UNITS
    assert len(UNITS) > 100


@pytest.mark.parametrize("symbol", UNIT_SYMBOLS)
def test_unit_factor_to_si_matches_pint(symbol: str) -> None:
    unit = UNITS[symbol]
    assert close(unit.factor, pint_to_nnci_base(pint_factor(symbol), unit.dimension))


@pytest.mark.parametrize("symbol", UNIT_SYMBOLS)
def test_parse_unit_of_a_symbol_is_its_table_entry(symbol: str) -> None:
    assert parse_unit(symbol) == UNITS[symbol]


def test_same_dimension_iff_pint_compatible_for_every_pair() -> None:
    dimensionality = {s: ureg.get_dimensionality(ureg.parse_units(pint_factor(s))) for s in UNIT_SYMBOLS}
    mismatches = [
        (a, b)
        for a in UNIT_SYMBOLS
        for b in UNIT_SYMBOLS
        if (UNITS[a].dimension == UNITS[b].dimension) != (dimensionality[a] == dimensionality[b])
    ]
    assert mismatches == []


def test_carbon_is_not_mass_and_counts_are_not_numbers() -> None:
    assert parse_unit("kgCO2e").dimension != parse_unit("kg").dimension
    assert parse_unit("tCO2e").dimension != parse_unit("t").dimension
    assert parse_unit("FLOP").dimension != parse_unit("%").dimension
    assert parse_unit("queries").dimension != parse_unit("tokens").dimension


def test_julian_year_and_month() -> None:
    day = 86400.0
    assert parse_unit("year").factor == 365.25 * day
    assert parse_unit("yr").factor == parse_unit("years").factor
    assert close(parse_unit("month").factor * 12, parse_unit("year").factor)
    assert parse_unit("week").factor == 7 * day


# -- compound units -----------------------------------------------------------------------


@pytest.mark.parametrize("text", COMMON_COMPOUNDS)
def test_common_compound_units_match_pint(text: str) -> None:
    unit = parse_unit(text)
    numerator, _, rest = text.partition("/")
    expression = numerator.replace("^", "**").replace("cm2", "cm**2").replace("mm2", "mm**2")
    if rest:
        expression = f"({expression}) / ({rest.replace('/', ' * ').replace('^', '**').replace('cm2', 'cm**2')})"
    assert close(unit.factor, pint_to_nnci_base(expression, unit.dimension))


@settings(max_examples=150, deadline=None)
@given(compound_units())
def test_compound_unit_factor_matches_pint(compound: Compound) -> None:
    unit = parse_unit(compound.text)
    assert close(unit.factor, pint_to_nnci_base(pint_compound(compound), unit.dimension), rel=1e-11)


@settings(max_examples=100, deadline=None)
@given(compound_units(), compound_units())
def test_compound_dimensions_agree_with_pint(a: Compound, b: Compound) -> None:
    same = parse_unit(a.text).dimension == parse_unit(b.text).dimension
    compatible = ureg.parse_units(pint_compound(a)).is_compatible_with(ureg.parse_units(pint_compound(b)))
    assert same == compatible


@settings(max_examples=100, deadline=None)
@given(equivalent_compounds(), magnitudes(1e-3, 1e3))
def test_converting_between_equivalent_compounds_matches_pint(pair: tuple[Compound, Compound], x: float) -> None:
    a, b = pair
    unit_a, unit_b = parse_unit(a.text), parse_unit(b.text)
    assert unit_a.dimension == unit_b.dimension
    ours = Quantity(x * unit_a.factor, unit_a.dimension).to(b.text)
    theirs = ureg.Quantity(x, ureg.parse_units(pint_compound(a))).to(ureg.parse_units(pint_compound(b))).magnitude
    assert close(ours, float(theirs), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(compound_units())
def test_a_unit_divided_by_itself_is_a_pure_number(compound: Compound) -> None:
    numerator = compound.text.split("/")[0]
    unit = parse_unit(numerator + "".join("/" + factor for factor in numerator.split("*")))
    assert unit.dimension.is_dimensionless
    assert close(unit.factor, 1.0)


def test_exponent_spellings_agree() -> None:
    assert parse_unit("m2") == parse_unit("m^2")
    assert parse_unit("cm3") == parse_unit("cm^3")
    assert close(parse_unit("cm2").factor, 1e-4)
    assert parse_unit("s^-1").dimension == TIME**-1
    assert close(parse_unit("h^-1").factor, 1 / 3600)
    assert close(parse_unit("kg/cm2").factor, 1e4)
    assert close(parse_unit("kgCO2e/cm2").factor, 1e4)


def test_operators_apply_left_to_right_as_in_pint() -> None:
    """`a/b*c` is (a/b)·c, as pint and Python read it; `a/b/c` is a/(b·c)."""
    assert parse_unit("W/h*s").dimension == parse_unit("W").dimension
    assert close(parse_unit("W/h*s").factor, 1 / 3600)
    assert parse_unit("W/h/s").dimension == parse_unit("W").dimension / parse_unit("h").dimension ** 2
    assert parse_unit("gCO2e/kW/h").dimension == parse_unit("gCO2e/kWh").dimension
    assert close(parse_unit("gCO2e/kW/h").factor, parse_unit("gCO2e/kWh").factor)


@pytest.mark.parametrize("symbol", sorted(set(DISPLAY.values()) - {""}))
def test_display_units_parse_to_their_dimension(symbol: str) -> None:
    dimension = next(d for d, s in DISPLAY.items() if s == symbol)
    assert parse_unit(symbol).dimension == dimension


# -- conversions ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(unit_symbols(), magnitudes())
def test_round_trip_through_si(symbol: str, x: float) -> None:
    unit = parse_unit(symbol)
    assert close(Quantity(x * unit.factor, unit.dimension).to(symbol), x)


@settings(max_examples=100, deadline=None)
@given(compound_units(), magnitudes())
def test_compound_round_trip_through_si(compound: Compound, x: float) -> None:
    unit = parse_unit(compound.text)
    assert close(Quantity(x * unit.factor, unit.dimension).to(compound.text), x, rel=1e-11)


@settings(max_examples=200, deadline=None)
@given(same_dimension_pairs(), magnitudes())
def test_conversion_between_units_matches_pint(pair: tuple[str, str], x: float) -> None:
    source, target = pair
    unit = parse_unit(source)
    ours = Quantity(x * unit.factor, unit.dimension).to(target)
    theirs = ureg.Quantity(x, ureg.parse_units(pint_factor(source))).to(ureg.parse_units(pint_factor(target)))
    assert close(ours, float(theirs.magnitude), rel=1e-11)


@settings(max_examples=50, deadline=None)
@given(unit_symbols(), unit_symbols())
def test_converting_to_another_dimension_is_refused(a: str, b: str) -> None:
    unit = parse_unit(a)
    quantity = Quantity(1.0 * unit.factor, unit.dimension)
    if parse_unit(b).dimension == unit.dimension:
        assert close(quantity.to(b), unit.factor / parse_unit(b).factor)
    else:
        with pytest.raises(DimensionError):
            quantity.to(b)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(UNIT_SYMBOLS), st.sampled_from(UNIT_SYMBOLS), st.integers(-3, 3))
def test_dimension_algebra_is_a_group(a: str, b: str, k: int) -> None:
    da, db = parse_unit(a).dimension, parse_unit(b).dimension
    assert (da * db) / db == da
    assert (da / da).is_dimensionless
    assert da ** Fraction(k) * da == da ** Fraction(k + 1)


# -- errors and hints ----------------------------------------------------------------------


def _error(text: str) -> UnitError:
    with pytest.raises(UnitError) as info:
        parse_unit(text)
    return info.value


def test_kwh_hints_kWh() -> None:
    error = _error("kwh")
    assert "`kwh`" in str(error)
    assert error.hint is not None and "`kWh`" in error.hint


def test_flops_hints_a_rate() -> None:
    error = _error("FLOPS")
    assert error.hint is not None and "`FLOP/s`" in error.hint
    for prefixed in ("TFLOPS", "PFLOPS", "GFLOPS"):
        hint = _error(prefixed).hint
        assert hint is not None and f"`{prefixed[0]}FLOP/s`" in hint


def test_hint_inside_a_compound_names_the_piece_and_the_whole() -> None:
    error = _error("kwh/day")
    assert str(error) == "unknown unit `kwh` in `kwh/day`"
    assert error.hint is not None and "`kWh`" in error.hint
    error = _error("TFLOPS/W")
    assert "`TFLOPS`" in str(error) and error.hint is not None and "TFLOP/s" in error.hint


@pytest.mark.parametrize(("wrong", "right"), [("KWh", "kWh"), ("KW", "kW"), ("kw", "kW"), ("kgCO2", "kgCO2e"),
                                              ("tCO2", "tCO2e"), ("kWH", "kWh"), ("Kg", "kg"), ("hourz", "hours")])  # fmt: skip
def test_near_misses_suggest_the_right_spelling(wrong: str, right: str) -> None:
    hint = _error(wrong).hint
    assert hint is not None and f"`{right}`" in hint


def test_every_listed_mistake_is_not_a_unit_and_hints_a_real_one() -> None:
    for mistake, advice in MISTAKES.items():
        assert mistake not in UNITS
        assert unit_hint(mistake) == advice
        suggested = advice.split("`")[1::2]
        assert suggested
        for symbol in suggested:
            parse_unit(symbol)  # raises if the advice names a unit that does not exist


def test_gibberish_has_no_misleading_hint() -> None:
    error = _error("zzzq")
    assert str(error) == "unknown unit `zzzq`"
    assert error.hint is None


@pytest.mark.parametrize("text", ["", "/", "W/", "W^", "m4", "W//h", "*W"])
def test_malformed_units_raise_unit_error(text: str) -> None:
    _error(text)


# -- units and the grammar ------------------------------------------------------------------


@pytest.mark.parametrize("symbol", [*UNIT_SYMBOLS, *COMMON_COMPOUNDS])
def test_every_unit_is_one_token_after_a_number(symbol: str) -> None:
    """The grammar's UNIT terminal takes every symbol of the table and the common compounds whole."""
    program = api.loads(f"grid g {{\n  year = 2 {symbol}\n}}\n")
    (block,) = program.blocks.values()
    expr = block.fields["year"].expr
    assert isinstance(expr, ir.Const)
    assert expr.text == f"2 {symbol}"
    assert close(expr.value.magnitude, 2 * parse_unit(symbol).factor)


# -- the dimension algebra: exact, interned, memoised ---------------------------------------


def test_rational_exponents_stay_exact() -> None:
    root = LENGTH ** Fraction(1, 2)
    assert root.exponents[0] == Fraction(1, 2)
    assert root**2 == LENGTH
    assert root * root is LENGTH
    assert (LENGTH ** Fraction(1, 3)) ** 3 is LENGTH
    assert (ENERGY ** Fraction(2, 3)) ** Fraction(3, 2) is ENERGY
    assert LENGTH ** Fraction(1, 2) / LENGTH ** Fraction(1, 3) is LENGTH ** Fraction(1, 6)
    assert LENGTH ** Fraction(1, 7) ** 7 is not LENGTH  # ** binds right: m^(1/7^7), not m
    assert LENGTH ** Fraction(1000, 1001) * LENGTH ** Fraction(1, 1001) is LENGTH
    # as check.py and engine.py spell exponents written as decimals
    assert LENGTH ** Fraction(0.5).limit_denominator(1000) is root
    assert LENGTH**0.5 is root
    assert root.symbol() == "m^1/2"
    assert (TIME ** Fraction(-3, 2)).symbol() == "1/s^3/2"
    assert not root.is_dimensionless and (root / root).is_dimensionless


def test_equal_dimensions_are_one_object_with_one_hash() -> None:
    assert ENERGY / TIME is POWER
    assert POWER * TIME is ENERGY
    assert Dimension(ENERGY.exponents) is ENERGY
    assert Dimension((2, 1, -2, 0, 0, 0, 0, 0)) is ENERGY
    assert Dimension([Fraction(4, 2), 1.0, -2, 0, 0, 0, 0, 0]) is ENERGY
    assert MASS * AREA / TIME**2 is ENERGY
    assert hash(Dimension(POWER.exponents)) == hash(POWER)
    assert len({ENERGY, POWER * TIME, MASS * AREA / TIME**2}) == 1
    assert DIMENSIONLESS.is_dimensionless and DIMENSIONLESS == TIME / TIME
    assert ENERGY != POWER and ENERGY.exponents != ENERGY
    assert all(isinstance(e, Fraction) for e in ENERGY.exponents)
    assert repr(LENGTH) == f"Dimension(exponents={LENGTH.exponents!r})"
    assert ENERGY.describe() == "energy" and (ENERGY * TIME).describe() == "energy × time"
    assert (MASS / ENERGY).describe() == "mass per energy" and (MASS**3 / TIME).describe() == "kg^3/s"


def test_a_dimension_is_frozen_and_checks_its_length() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ENERGY._numerators = (0,) * len(BASES)  # type: ignore[misc]
    with pytest.raises(ValueError, match="exponents"):
        Dimension((1, 2))
    with pytest.raises(TypeError):
        ENERGY * 2  # type: ignore[operator]


def test_memo_tables_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(units, "_MEMO_LIMIT", 4)
    odd = CARBON * TOKEN ** Fraction(1, 5)
    for k in range(1, 20):
        assert (odd**k).exponents[BASES.index("token")] == Fraction(k, 5)
        assert len(odd._pow) <= 4


def test_parse_unit_is_memoised_and_agrees_with_a_fresh_parse() -> None:
    for text in (*COMMON_COMPOUNDS, *UNIT_SYMBOLS[:20]):
        assert parse_unit(text) is parse_unit(text)
        assert parse_unit(text) == units._parse_unit(text)
    assert unit_factor("kWh") == 3.6e6 and unit_factor("") == 1.0
    assert display_unit(POWER) == "W" and display_unit(DIMENSIONLESS) == ""
    assert display_unit(POWER * TIME**3) == POWER.__mul__(TIME**3).symbol()


def test_parse_unit_does_not_memoise_failures_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        with pytest.raises(UnitError):
            parse_unit("kwh/day")
    assert "kwh/day" not in units._PARSED
    monkeypatch.setattr(units, "_PARSED", {})
    monkeypatch.setattr(units, "_PARSED_LIMIT", 3)
    for text in COMMON_COMPOUNDS:
        assert parse_unit(text) == units._parse_unit(text)
        assert len(units._PARSED) <= 3


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_returns_the_interned_dimension(protocol: int) -> None:
    for dim in (ENERGY, DIMENSIONLESS, LENGTH ** Fraction(1, 2), ENERGY ** Fraction(-2, 3) / QUERY):
        loaded = pickle.loads(pickle.dumps(dim, protocol=protocol))
        assert loaded is dim and hash(loaded) == hash(dim)
        assert copy.copy(dim) is dim and copy.deepcopy(dim) is dim
    quantity = Quantity(3.5, INTENSITY)
    loaded_quantity = pickle.loads(pickle.dumps(quantity, protocol=protocol))
    assert loaded_quantity == quantity and loaded_quantity.dimension is INTENSITY
    assert pickle.loads(pickle.dumps({POWER: "W"}, protocol=protocol))[ENERGY / TIME] == "W"


class _OldPickler(pickle.Pickler):
    """Writes a Dimension as the attrs class before interning did: an empty instance, then its state."""

    def reducer_override(self, obj: object) -> object:
        if isinstance(obj, Dimension):
            return (copyreg.__newobj__, (Dimension,), {"exponents": obj.exponents})
        return NotImplemented


def test_a_dimension_pickled_by_an_older_nnci_is_refused_as_the_cache_expects() -> None:
    """nnci.cache treats TypeError as a miss: such an entry is rebuilt, never half-loaded."""
    stream = io.BytesIO()
    _OldPickler(stream, protocol=pickle.HIGHEST_PROTOCOL).dump(Quantity(1.0, TIME))
    with pytest.raises(TypeError):
        pickle.loads(stream.getvalue())


# A plain reference for the algebra: a tuple of Fractions, one per base.
Ref = tuple[Fraction, ...]


def ref_mul(a: Ref, b: Ref) -> Ref:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def ref_div(a: Ref, b: Ref) -> Ref:
    return tuple(x - y for x, y in zip(a, b, strict=True))


def ref_pow(a: Ref, p: Fraction | int | float) -> Ref:
    return tuple(x * Fraction(p) for x in a)


def ref_symbol(a: Ref) -> str:
    def power(b: str, e: Fraction) -> str:
        return b if e == 1 else f"{b}^{e}"

    num = [power(b, e) for b, e in zip(BASES, a, strict=True) if e > 0]
    den = [power(b, -e) for b, e in zip(BASES, a, strict=True) if e < 0]
    return ("·".join(num) or "1") + ("/" + "·".join(den) if den else "")


exponent_vectors = st.tuples(*[st.fractions(-4, 4, max_denominator=6) for _ in BASES])
powers = st.one_of(
    st.integers(-4, 4), st.fractions(-3, 3, max_denominator=8), st.sampled_from([0.5, -1.5, 2.0, 0.25, 0.0])
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("*"), exponent_vectors),
        st.tuples(st.just("/"), exponent_vectors),
        st.tuples(st.just("**"), powers),
    ),
    max_size=12,
)


def _agrees(dim: Dimension, ref: Ref) -> None:
    assert dim.exponents == ref
    assert Dimension(ref) is dim
    assert dim.is_dimensionless == (not any(ref))
    assert dim.symbol() == ref_symbol(ref)


@settings(max_examples=300, deadline=None)
@given(exponent_vectors, exponent_vectors, powers)
def test_the_algebra_agrees_with_a_fraction_vector_reference(a: Ref, b: Ref, p: Fraction | int | float) -> None:
    da, db = Dimension(a), Dimension(b)
    _agrees(da * db, ref_mul(a, b))
    _agrees(da / db, ref_div(a, b))
    _agrees(da**p, ref_pow(a, p))
    assert (da == db) == (a == b) and (da is db) == (a == b)
    assert (da == db) <= (hash(da) == hash(db))
    assert (da * db) / db is da
    assert (da * db) ** p is da**p * db**p


@settings(max_examples=200, deadline=None)
@given(exponent_vectors, operations)
def test_chains_of_operations_agree_with_the_reference(start: Ref, steps: list[tuple[str, object]]) -> None:
    dim, ref = Dimension(start), start
    for op, operand in steps:
        if op == "*":
            assert isinstance(operand, tuple)
            dim, ref = dim * Dimension(operand), ref_mul(ref, operand)
        elif op == "/":
            assert isinstance(operand, tuple)
            dim, ref = dim / Dimension(operand), ref_div(ref, operand)
        else:
            assert isinstance(operand, int | float | Fraction)
            dim, ref = dim**operand, ref_pow(ref, operand)
        _agrees(dim, ref)
        again = pickle.loads(pickle.dumps(dim))
        assert again is dim


def test_greek_mu_is_the_micro_prefix_as_the_micro_sign_is() -> None:
    """U+03BC, what many keyboards type for micro (a breaker's finding), means what U+00B5 does."""
    import nnci

    assert parse_unit("\u03bcW") == parse_unit("\u00b5W") == parse_unit("uW")
    program = nnci.loads("device gpu {\n  power = 300000000 \u03bcW\n}\n")
    assert program.blocks[nnci.ir.BlockKey("", "gpu")].fields["power"].expr.value.magnitude == 300.0  # type: ignore[attr-defined]
