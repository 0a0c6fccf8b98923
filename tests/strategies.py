"""Hypothesis strategies for nnci's tests, all in one place.

- units: `unit_symbols()`, `compound_units()` (structured, so a test can spell them for nnci
  and for an oracle such as pint), `magnitudes()`;
- programs: `programs()` draws small valid `.nnci` files (grid, device, datacenter and one
  job) together with the numbers written in them, in canonical units, for property tests;
- time: `step_profiles()` draws a step function (interval, values) and a span inside it, on a
  one-minute grid so a minute-by-minute sum is an exact oracle;
- noise: `mutated()` damages a valid file (characters and tokens deleted, inserted, replaced,
  swapped), `token_soup()` strings nnci tokens together, `arbitrary_text()` is any text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from hypothesis import strategies as st

from nnci.units import UNITS

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "models" / "nnci-demo.nnci"

# A small valid scenario (a grid, a device, a datacenter, one job) that tests break on purpose.
# One training job on one site: the smallest scenario with every headline figure known (by hand:
# 8 × 300 W × 100 h × 1.2 = 288 kWh; × 400 gCO2e/kWh = 115.2 kgCO2e).
ONE_JOB = """grid g {
  intensity = 400 gCO2e/kWh
}

datacenter dc {
  pue = 1.2
  grid = g
}

device gpu {
  power = 300 W
}

training x {
  fleet = { gpu = 8 }
  site = dc
  duration = 100 h
}
"""

BASE = """grid g {
  intensity = 429 gCO2e/kWh
}
device d {
  power = 300 W
}
datacenter dc {
  pue = 1.1
  grid = g
}
training j {
  fleet = { d = 10 }
  site = dc
  duration = 10 h
}
"""

# -- units ----------------------------------------------------------------------------------

# Every symbol in the unit table, in a stable order (Hypothesis shrinks towards the first).
UNIT_SYMBOLS: tuple[str, ...] = tuple(sorted(UNITS))
# Symbols that may stand inside a compound unit (`%` is a unit only on its own).
FACTOR_SYMBOLS: tuple[str, ...] = tuple(s for s in UNIT_SYMBOLS if s != "%")
# Compound units people write; each must parse.
COMMON_COMPOUNDS: tuple[str, ...] = (
    "gCO2e/kWh", "kgCO2e/kWh", "tCO2e/MWh", "TFLOP/s", "PFLOP/s", "kg/cm2", "kgCO2e/cm2", "mm2",
    "Wh/query", "gCO2e/query", "kgCO2e/GB", "kgCO2e/h", "tokens/s", "queries/s", "W/h", "m^2",
    "kg*m^2/s^3", "J/s", "kWh/day", "GFLOP/s/W", "FLOP/token",
)  # fmt: skip


def observation(i: int, gpu_w: float, pue: float, alpha: float, tau: float, gpus: int, hours: float) -> str:
    """One observation of the IF-equivalent workload: its own grids, devices, datacenter and two jobs."""
    return (
        f"grid g{i} {{\n  intensity = {alpha!r} gCO2e/kWh\n  transport = {tau!r}\n}}\n"
        f"grid f{i} {{\n  intensity = 633 gCO2e/kWh\n}}\n"
        f"device gpu{i} {{\n  power = {gpu_w!r} W\n  manufacturing_energy = 1000 kWh\n  made_in = f{i}\n}}\n"
        f"device host{i} {{\n  power = 250 W\n  embodied = 2500 kgCO2e\n  lifetime = 6 years\n}}\n"
        f"datacenter dc{i} {{\n  pue = {pue!r}\n  grid = g{i}\n}}\n"
        f"training t{i} {{\n  fleet = {{ gpu{i} = {gpus}, host{i} = 8 }}\n  site = dc{i}\n  duration = {hours!r} h\n}}\n"
        f"inference q{i} {{\n  fleet = {{ host{i} = 3 }}\n  site = dc{i}\n  duration = 24 h\n  queries = 1000\n}}\n"
    )


def unit_symbols() -> st.SearchStrategy[str]:
    """One symbol of nnci.units.UNITS (prefixed forms included: `kWh`, `µs`, `MtCO2e`)."""
    return st.sampled_from(UNIT_SYMBOLS)


@attrs.frozen
class Factor:
    symbol: str
    exponent: int  # 1, 2 or 3


@attrs.frozen
class Compound:
    """A compound unit: a product of factors divided by a product of factors.

    `text` spells it the way .nnci files do (`kg*m^2/s^3`, `kg/cm2`, `W/h/m`): operators apply
    left to right, as in pint, so every denominator factor is written after a `/` of its own.
    """

    numerator: tuple[Factor, ...]
    denominator: tuple[Factor, ...]
    text: str


def _spell(factor: Factor, style: str) -> str:
    if factor.exponent == 1:
        return factor.symbol
    return f"{factor.symbol}{factor.exponent}" if style == "tail" else f"{factor.symbol}^{factor.exponent}"


@st.composite
def compound_units(draw: st.DrawFn, max_factors: int = 3) -> Compound:
    """A compound of unit symbols with exponents, e.g. `MWh*s^2/kgCO2e*cm3`."""
    factors = st.builds(Factor, st.sampled_from(FACTOR_SYMBOLS), st.integers(1, 3))
    numerator = tuple(draw(st.lists(factors, min_size=1, max_size=max_factors)))
    denominator = tuple(draw(st.lists(factors, min_size=0, max_size=max_factors)))
    style = draw(st.sampled_from(("caret", "tail")))
    text = "*".join(_spell(f, style) for f in numerator)
    if denominator:
        # left to right: a/(b·c) is written `a/b/c` (`a/b*c` would be (a/b)·c)
        text += "".join("/" + _spell(f, style) for f in denominator)
    return Compound(numerator, denominator, text)


def magnitudes(low: float = 1e-6, high: float = 1e12) -> st.SearchStrategy[float]:
    """Positive finite magnitudes spanning many orders of magnitude."""
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


# -- numbers as written in .nnci --------------------------------------------------------


@st.composite
def written_numbers(draw: st.DrawFn, low: float, high: float, integer: bool = False) -> tuple[str, float]:
    """A number in [low, high] as a .nnci literal (maybe with `_` separators or an exponent) and its value."""
    if integer:
        value = draw(st.integers(int(low), int(high)))
        text = str(value)
        if value >= 1000 and draw(st.booleans()):
            text = f"{value:_}"
        return text, float(value)
    digits = draw(st.integers(1, 4))
    raw = draw(st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False))
    text = f"{raw:.{digits}g}"
    if "e" in text or "E" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    value = float(text)
    if not low <= value <= high:  # rounding to `digits` may step outside the range
        text, value = repr(float(low)), float(low)
    if "." not in text and "e" not in text and value >= 1000 and draw(st.booleans()):
        text = f"{int(value):_}"
    return text, value


# Units a quantity may be written in, with the factor to the canonical unit of `params`.
POWER_UNITS = (("W", 1.0), ("kW", 1e3), ("mW", 1e-3))
TIME_UNITS = (("h", 1.0), ("hours", 1.0), ("min", 1 / 60), ("days", 24.0), ("s", 1 / 3600))
INTENSITY_UNITS = (("gCO2e/kWh", 1.0), ("kgCO2e/MWh", 1.0), ("gCO2e/MWh", 1e-3), ("kgCO2e/kWh", 1e3))
CARBON_UNITS = (("kgCO2e", 1.0), ("tCO2e", 1e3), ("gCO2e", 1e-3))
LIFETIME_UNITS = (("years", 365.25 * 24), ("h", 1.0), ("months", 365.25 * 24 / 12))
KEYWORDS = frozenset(
    {"grid", "source", "device", "fleet", "datacenter", "training", "inference", "nnci", "import", "as", "expect",
     "check", "within", "total"}
)  # fmt: skip
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda name: name not in KEYWORDS)


@st.composite
def _quantity(draw: st.DrawFn, low: float, high: float, units: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """`<number> <unit>` for a value in [low, high] canonical units; returns text and canonical value."""
    unit, factor = draw(st.sampled_from(units))
    text, value = draw(written_numbers(low / factor, high / factor))
    return f"{text} {unit}", value * factor


@st.composite
def programs(
    draw: st.DrawFn,
    kinds: Sequence[str] = ("training", "inference"),
    embodied: bool | None = None,
    comments: bool = True,
) -> tuple[str, dict[str, Any]]:
    """A small valid program: one grid, one device, one datacenter and one job on them.

    Returns `(text, params)`. `params` holds the numbers written in the text, in canonical units:
    `n` (device count), `power_W`, `duration_h`, `pue`, `intensity_g_per_kWh` (α), `transport`
    (τ), `embodied_kg` and `lifetime_h` (None when not written), plus `kind` and the block
    names `grid`, `device`, `datacenter`, `job`. Expected results, for property tests:
    energy = pue × n × power × duration; operational = energy × α / τ; embodied = n × embodied
    × (duration / lifetime, or 1 without a lifetime).
    `embodied`: True always writes an embodied figure, False never, None either.
    """
    names = draw(st.lists(NAMES, min_size=4, max_size=4, unique=True))
    grid, device, datacenter, job = names
    kind = draw(st.sampled_from(tuple(kinds)))
    n_text, n = draw(written_numbers(1, 100_000, integer=True))
    power_text, power = draw(_quantity(1, 4000, POWER_UNITS))
    duration_text, duration = draw(_quantity(0.01, 20_000, TIME_UNITS))
    pue_text, pue = draw(written_numbers(1, 2.5))
    intensity_text, intensity = draw(_quantity(0, 1200, INTENSITY_UNITS))
    write_transport = draw(st.booleans())
    transport_text, transport = draw(written_numbers(0.5, 1)) if write_transport else ("", 1.0)
    with_embodied = draw(st.booleans()) if embodied is None else embodied
    embodied_text, embodied_kg = draw(_quantity(1, 10_000, CARBON_UNITS)) if with_embodied else ("", None)
    with_lifetime = with_embodied and draw(st.booleans())
    lifetime_text, lifetime = draw(_quantity(1000, 100_000, LIFETIME_UNITS)) if with_lifetime else ("", None)

    def comment(text: str) -> str:
        return f"  # {text}" if comments and draw(st.booleans()) else ""

    lines = ["nnci 0.1"] if draw(st.booleans()) else []
    if comments and draw(st.booleans()):
        lines.append("## a generated scenario")
    lines += ["", f"grid {grid} {{", f"  intensity = {intensity_text}{comment('α')}"]
    if write_transport:
        lines.append(f"  transport = {transport_text}{comment('τ')}")
    lines += ["}", "", f"device {device} {{", f"  power = {power_text}"]
    if with_embodied:
        lines.append(f"  embodied = {embodied_text}")
    if with_lifetime:
        lines.append(f"  lifetime = {lifetime_text}")
    lines += ["}", "", f"datacenter {datacenter} {{", f"  pue = {pue_text}", f"  grid = {grid}", "}", ""]
    if draw(st.booleans()):
        lines.append('@source("generated")')
    lines += [f"{kind} {job} {{", f"  fleet = {{ {device} = {n_text} }}", f"  site = {datacenter}"]
    lines += [f"  duration = {duration_text}{comment('wall clock')}", "}"]
    params = {
        "kind": kind, "n": n, "power_W": power, "duration_h": duration, "pue": pue,
        "intensity_g_per_kWh": intensity, "transport": transport, "embodied_kg": embodied_kg,
        "lifetime_h": lifetime, "grid": grid, "device": device, "datacenter": datacenter, "job": job,
    }  # fmt: skip
    return "\n".join(lines) + "\n", params


def expected(params: dict[str, Any]) -> dict[str, float | None]:
    """What nnci should compute for `programs()`'s params: energy in kWh, carbon in kgCO2e."""
    energy = params["pue"] * params["n"] * params["power_W"] * params["duration_h"] / 1000
    operational = energy * params["intensity_g_per_kWh"] / params["transport"] / 1000
    embodied = None
    if params["embodied_kg"] is not None:
        share = params["duration_h"] / params["lifetime_h"] if params["lifetime_h"] is not None else 1.0
        embodied = params["n"] * params["embodied_kg"] * share
    return {"energy": energy, "operational": operational, "embodied": embodied}


# -- noise ----------------------------------------------------------------------------------

# Tokens of the language and near misses: what a damaged file is made of.
TOKENS: tuple[str, ...] = (
    "nnci", "0.1", "9.9", "import", '"std/hardware"', '"x"', "as", "grid", "source", "device", "fleet",
    "datacenter", "training", "inference", "expect", "check", "within", "total", "{", "}", "(", ")",
    "=", ",", ".", "+", "-", "*", "/", "^", ">=", "<", "==", "@source", "@", '"', "#", "##", "\n",
    "\n\n", "\\\n", "\t", " ", "300", "300 W", "1e999", "0", "0.0", "1_000", ".5", "5.", "62 %", "%",
    "W", "kWh", "gCO2e/kWh", "TFLOP/s", "kg/cm2", "W^2", "FLOPS", "kwh", "h", "days", "power",
    "pue", "intensity", "transport", "duration", "fleet", "site", "devices", "mix", "embodied",
    "lifetime", "made_in", "energy", "operational", "max(", "min(", "sum(", "x", "a.b.c", "µs",
    "CO₂e", "'", "`", "\r\n", "\r", "\x0c", "\u2028", "\x00", "é", '"\\u12"', '"\\xff"', '"\\N"',
    "^ 0.5", "^ 1e999", "(0 - 1)", "/ 0", "expect j.energy = 1 kWh", "expect total.energy =",
)  # fmt: skip
_TOKEN_SPLIT = re.compile(r'\s+|"[^"\n]*"|[A-Za-z_µ][\w./^%₂]*|[0-9][\w.]*|.', re.S)


def token_soup(max_size: int = 40) -> st.SearchStrategy[str]:
    """Random strings of nnci tokens and separators: near-syntax that reaches deep parser states."""
    separators = st.sampled_from((" ", "\n", "", "  "))
    pieces = st.lists(st.tuples(st.sampled_from(TOKENS), separators), max_size=max_size)
    return pieces.map(lambda parts: "".join(token + sep for token, sep in parts))


def arbitrary_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Any text, including control characters, surrogate-free unicode and lone carriage returns."""
    return st.text(max_size=max_size)


def _tokens(text: str) -> list[str]:
    return _TOKEN_SPLIT.findall(text)


@st.composite
def mutated(draw: st.DrawFn, sources: Sequence[str] | None = None, max_mutations: int = 4) -> str:
    """A valid file with a few random edits: characters or tokens deleted, inserted, replaced or swapped."""
    text = draw(st.sampled_from(tuple(sources))) if sources else DEMO.read_text(encoding="utf-8")
    count = draw(st.integers(1, max_mutations))
    for _ in range(count):
        operation = draw(st.sampled_from(("delete", "insert", "replace", "delete_token", "insert_token",
                                          "replace_token", "swap_tokens", "duplicate_line", "delete_line")))  # fmt: skip
        if operation in ("delete", "insert", "replace"):
            index = draw(st.integers(0, len(text)))
            char = draw(st.one_of(st.sampled_from('{}=,.%"#@()\n _-+*/^0123456789aW'), st.characters()))
            if operation == "delete":
                width = draw(st.integers(1, 8))
                text = text[:index] + text[index + width :]
            elif operation == "insert":
                text = text[:index] + char + text[index:]
            else:
                text = text[:index] + char + text[index + 1 :]
            continue
        if operation in ("duplicate_line", "delete_line"):
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index : index + 1] = [lines[index]] * (2 if operation == "duplicate_line" else 0)
            text = "\n".join(lines)
            continue
        tokens = _tokens(text)
        if not tokens:
            text += draw(st.sampled_from(TOKENS))
            continue
        index = draw(st.integers(0, len(tokens) - 1))
        if operation == "delete_token":
            del tokens[index]
        elif operation == "insert_token":
            tokens.insert(index, draw(st.sampled_from(TOKENS)))
        elif operation == "replace_token":
            tokens[index] = draw(st.sampled_from(TOKENS))
        else:
            other = draw(st.integers(0, len(tokens) - 1))
            tokens[index], tokens[other] = tokens[other], tokens[index]
        text = "".join(tokens)
    return text


def _by_dimension() -> tuple[tuple[str, ...], ...]:
    groups: dict[object, list[str]] = {}
    for symbol in UNIT_SYMBOLS:
        groups.setdefault(UNITS[symbol].dimension, []).append(symbol)
    return tuple(tuple(group) for group in groups.values())


UNITS_BY_DIMENSION: tuple[tuple[str, ...], ...] = _by_dimension()


def same_dimension_pairs() -> st.SearchStrategy[tuple[str, str]]:
    """Two unit symbols of the same dimension (`kWh` and `MJ`, `days` and `µs`)."""
    return st.sampled_from(UNITS_BY_DIMENSION).flatmap(
        lambda group: st.tuples(st.sampled_from(group), st.sampled_from(group))
    )


@st.composite
def equivalent_compounds(draw: st.DrawFn) -> tuple[Compound, Compound]:
    """Two compound units of the same dimension: the second swaps each symbol for one of its dimension."""
    first = draw(compound_units())
    groups = {symbol: group for group in UNITS_BY_DIMENSION for symbol in group}

    def swap(factors: tuple[Factor, ...]) -> tuple[Factor, ...]:
        return tuple(
            Factor(draw(st.sampled_from([s for s in groups[f.symbol] if s != "%"] or [f.symbol])), f.exponent)
            for f in factors
        )

    numerator, denominator = swap(first.numerator), swap(first.denominator)
    text = "*".join(_spell(f, "caret") for f in numerator)
    if denominator:
        text += "/" + "/".join(_spell(f, "caret") for f in denominator)
    return first, Compound(numerator, denominator, text)


# -- published methods: jobs for tests/test_methods.py --------------------------------------

METHOD_NAMES: tuple[str, ...] = ("nnci", "patterson", "llmcarbon", "bloom")


@attrs.frozen
class MethodJob:
    """The numbers of one job for the method property tests, in canonical units: W, h,
    gCO2e/kWh, kgCO2e, FLOP/s. The fleet has `n` accelerators (with a TDP distinct from their
    average power) and `hosts` host servers that draw `host_power_W` and have no TDP; both
    carry embodied carbon with the same lifetime. `parameters` and `activated_parameters`
    describe the model (equal for a dense one)."""

    method: str
    kind: str
    n: int
    power_W: float
    tdp_W: float
    hosts: int
    host_power_W: float
    duration_h: float
    pue: float
    intensity: float
    embodied_kg: float
    host_embodied_kg: float
    lifetime_h: float
    peak: float
    efficiency: float
    usage: float
    parameters: float
    activated_parameters: float


def _between(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@st.composite
def method_jobs(
    draw: st.DrawFn,
    methods: Sequence[str] = METHOD_NAMES,
    kinds: Sequence[str] = ("training", "inference"),
    hosts: bool | None = None,
    moe: bool | None = None,
) -> MethodJob:
    """A job for one of the published methods. `hosts`: True always puts host servers in the
    fleet, False never, None either; `moe`: True makes activated parameters a fraction of the
    parameters, False makes the model dense, None either."""
    with_hosts = draw(st.booleans()) if hosts is None else hosts
    is_moe = draw(st.booleans()) if moe is None else moe
    parameters = draw(_between(1e6, 2e12))
    activated = parameters * draw(_between(1e-3, 0.5)) if is_moe else parameters
    return MethodJob(
        method=draw(st.sampled_from(tuple(methods))),
        kind=draw(st.sampled_from(tuple(kinds))),
        n=draw(st.integers(1, 20_000)),
        power_W=draw(_between(1, 2000)),
        tdp_W=draw(_between(1, 2000)),
        hosts=draw(st.integers(1, 2_000)) if with_hosts else 0,
        host_power_W=draw(_between(0, 5000)),
        duration_h=draw(_between(0.01, 20_000)),
        pue=draw(_between(1, 1.6)),
        intensity=draw(_between(1, 1200)),
        embodied_kg=draw(_between(0.1, 5000)),
        host_embodied_kg=draw(_between(0.1, 5000)),
        lifetime_h=draw(_between(1000, 100_000)),
        peak=draw(_between(1e12, 2e15)),
        efficiency=draw(_between(0.01, 1)),
        usage=draw(_between(0.05, 1)),
        parameters=parameters,
        activated_parameters=activated,
    )


def scale_factors(low: float = 0.1, high: float = 10) -> st.SearchStrategy[float]:
    """A positive factor to scale one input by (linearity tests)."""
    return st.one_of(st.sampled_from((2.0, 0.5, 3.0, 10.0)), _between(low, high))


# -- uncertainty ------------------------------------------------------------------------------

COLLAPSIBLE = re.compile(
    r"^(  (?:intensity|transport|power|pue|embodied|lifetime|duration) = )([^#\n]+?)(  #.*)?$", re.M
)


@st.composite
def collapsed_programs(draw: st.DrawFn) -> tuple[str, str]:
    """A generated program, and the same with some of its numbers written as distributions collapsed to
    that number (`uniform(x, x)`, `triangular(x, x, x)`, `normal(x, 0 unit)`, `lognormal(x, 1)`)."""
    text, _ = draw(programs())

    def collapse(match: re.Match[str]) -> str:
        value = match[2].strip()
        number, _, unit = value.partition(" ")
        choices = ["as written", f"uniform({value}, {value})", f"triangular({value}, {value}, {value})",
                   f"normal({value}, 0{' ' + unit if unit else ''})"]  # fmt: skip
        if float(number.replace("_", "")) > 1e-200:  # (a subnormal median in g is 0 in SI units)
            choices.append(f"lognormal({value}, 1)")
        chosen = draw(st.sampled_from(choices))
        return match[1] + (value if chosen == "as written" else chosen) + (match[3] or "")

    return text, COLLAPSIBLE.sub(collapse, text)


@attrs.frozen
class StepProfile:
    """Hourly-or-finer values from minute 0, and a job's span [first, first + length) in minutes."""

    step_minutes: int
    values: tuple[float, ...]
    first: int
    length: int

    def minute_sum(self) -> float:
        """Σ over the span's minutes of the value in force (value·minutes): the integral, by brute force."""
        return sum(self.values[(self.first + m) // self.step_minutes] for m in range(self.length))


@st.composite
def step_profiles(draw: st.DrawFn) -> StepProfile:
    step = draw(st.sampled_from([5, 15, 30, 60]))
    values = tuple(draw(st.lists(st.integers(0, 900), min_size=1, max_size=40)))
    total = step * len(values)
    first = draw(st.integers(0, total - 1))
    length = draw(st.integers(1, total - first))
    return StepProfile(step, tuple(float(v) for v in values), first, length)


# JSON documents of every kind json.dumps takes: scalars (with non-finite floats), lists and dicts, nested.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


# -- editor positions (nnci/lsp/positions.py) ------------------------------------------------------

# Characters whose sizes differ between the models: ASCII, a BMP letter (é, one UTF-16 unit, two
# UTF-8 bytes), CJK (three bytes), emoji outside the BMP (two UTF-16 units, four bytes), and every
# kind of line break the protocol knows (LF, CRLF, a lone CR).
EDITOR_PIECES = ("a", "Z", " ", "=", "é", "漢", "😀", "🚀", "\n", "\r\n", "\r", "\t", "#")


def editor_texts(max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Texts as an editor may hold them: mixed widths of characters and of line breaks."""
    return st.lists(st.sampled_from(EDITOR_PIECES), max_size=max_pieces).map("".join)


@st.composite
def texts_and_offsets(draw: st.DrawFn) -> tuple[str, int]:
    """A text and an offset into it (its end included)."""
    text = draw(editor_texts())
    return text, draw(st.integers(0, len(text)))


# -- blocks written alike: what the fast parser replays (nnci.replay) must parse as the driver does --

ALIKE_NAMES = st.sampled_from(["g", "gpu_1", "x2", "grid", "check", "as", "within", "nnci", "expect", "_h", "Ünï"])
ALIKE_NUMBERS = st.sampled_from(["1", "429", "0.95", "1_000", "1e3", "2.5E-2", ".5", "00", "2026-01-01T00:00Z", "7"])
ALIKE_LINE_ENDS = st.sampled_from(["\n", "\n\n", "  \n", "\n# note\n", "\n## the next block\n", " # after\n"])


@st.composite
def alike_blocks(draw: st.DrawFn, max_blocks: int = 12) -> str:
    """A file of blocks written alike (a few shapes, names and numbers varying), some of them
    different in ways no template may paper over: a keyword as a name, a date for a number, a
    comment, a string, an annotation, a unit written against its number, another spacing."""
    shapes = [
        "grid {name} {{\n  intensity = {number} gCO2e/kWh\n  transport = {number2}\n}}",
        "device {name} {{\n  power = {number} W\n  made_in = {ref}\n}}",
        "training {name} {{\n  fleet = {{ {ref} = {number}, {ref2} = 2 }}\n  site = {ref2}\n  duration = {number2} h\n}}",
        "datacenter {name} = {ref} {{\n  pue = -{number}\n}}",
        "inference {name} {{\n  fleet = {{\n    {ref}.{ref2} = {number},\n    {ref2} = 2\n  }}\n"
        "  duration = ({number2} h + {number} h) * 2\n  site = {{ {ref} = 0.5, {ref2} = 0.5 }}\n}}",
    ]
    oddities = [
        "", "", "", "", "  label = \"a {name}\"\n", "  # inside\n", "  x = {number}W\n", "  y = {number} \\\n  h\n",
        "  z = max({ref}.power, {number} W)\n", "  check power > 0 W, \"positive\"\n",
        "  z = {ref} ({number} W)\n", "  z = 5 W*{ref}\n", "  {ref} \f= {number}\n", "  z = {number} \\\ngrid \n",
    ]  # fmt: skip
    text = "nnci 0.1\n"
    for _ in range(draw(st.integers(1, max_blocks))):
        shape = draw(st.sampled_from(shapes))
        odd = draw(st.sampled_from(oddities))
        values = {
            "name": draw(ALIKE_NAMES), "ref": draw(ALIKE_NAMES), "ref2": draw(ALIKE_NAMES),
            "number": draw(ALIKE_NUMBERS), "number2": draw(ALIKE_NUMBERS),
        }  # fmt: skip
        block = shape.format(**values)
        if odd:
            block = block[:-1] + odd.format(**values) + "}"
        if draw(st.booleans()):
            block = '@source("s")\n' + block if draw(st.integers(0, 9)) == 0 else block
        text += block + draw(ALIKE_LINE_ENDS) + draw(st.sampled_from(["", "", "", "  ", "\t"]))  # maybe indented
    return text
