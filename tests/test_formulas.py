"""Every registered formula: its worked examples hold, and its dimensions agree with the schema."""

from __future__ import annotations

import inspect
import re

import pytest

from nnci.formulas import all_formulas
from nnci.formulas.registry import Example, Formula, Item, Noted
from nnci.schema import SCHEMA
from nnci.series import Series, SeriesValue
from nnci.timeparse import parse_instant
from nnci.units import DIMENSIONLESS, parse_unit

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T.*")

FORMULAS = all_formulas()


def magnitude(text: str | dict[str, object] | None) -> object:
    """`"300 W"` → 300.0 in SI; a bare number stays as it is; None (an absent optional) stays None;
    `"2024-03-04T00:30Z"` → seconds since 1970; `{"start", "step", "values"}` → a series."""
    if text is None:
        return None
    if isinstance(text, dict):
        return example_series(text)
    if ISO.fullmatch(text):
        return parse_instant(text)
    number, _, unit = text.partition(" ")
    return float(number.replace(",", "")) * (parse_unit(unit).factor if unit else 1.0)


def example_series(spec: dict[str, object]) -> SeriesValue:
    import numpy as np

    values = [magnitude(v) for v in spec["values"]]  # type: ignore[attr-defined]
    first = parse_unit(str(spec["values"][0]).partition(" ")[2])  # type: ignore[index]
    series = Series("example", "example", parse_instant(str(spec["start"])), magnitude(str(spec["step"])),  # type: ignore[arg-type]
                    np.array(values), first.dimension, "")  # fmt: skip
    return SeriesValue(series)


def argument(value: object) -> object:
    if isinstance(value, list):
        return [Item(magnitude(weight), magnitude(item)) for weight, item in value]
    return magnitude(value)  # type: ignore[arg-type]


def half_last_digit(text: str) -> float:
    """`"3.96 Wh"` → 0.005; `"4.034e22 FLOP"` → 0.0005e22."""
    number = text.split(" ")[0].replace(",", "")
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


@pytest.mark.parametrize(
    ("formula", "example"),
    [(f, e) for f in FORMULAS for e in f.examples],
    ids=[f"{f.kind}.{f.output}:{f.name}:{i}" for f in FORMULAS for i, _ in enumerate(f.examples)],
)
def test_worked_example(formula: Formula, example: Example) -> None:
    raw = formula.fn(**{name: argument(value) for name, value in example.inputs.items()})
    value = raw.value if isinstance(raw, Noted) else raw
    number, _, unit = example.output.partition(" ")
    expected_unit = parse_unit(unit) if unit else None
    assert (expected_unit.dimension if expected_unit else DIMENSIONLESS) == formula.dim
    shown = value / (expected_unit.factor if expected_unit else 1.0)
    assert abs(shown - float(number.replace(",", ""))) <= half_last_digit(example.output) * 1.000001


def test_every_formula_has_an_example_and_a_citation() -> None:
    for formula in FORMULAS:
        assert formula.examples, formula.name
        assert formula.citation.strip(), formula.name


@pytest.mark.parametrize("formula", FORMULAS, ids=lambda f: f"{f.kind}.{f.output}:{f.name}")
def test_dimensions_agree_with_schema(formula: Formula) -> None:
    assert SCHEMA[formula.kind][formula.output].dim == formula.dim
    for spec in formula.inputs:
        kind = formula.kind
        *hops, last = spec.path.split(".")
        for hop in hops:  # follow references and maps (`devices[]`, `devices[accelerator]`) to the kind they name
            field = SCHEMA[kind][hop.partition("[")[0]]
            assert field.target is not None, (formula.name, hop)
            kind = field.target
        if last.endswith("]"):  # the weights of a map
            assert SCHEMA[kind][last.partition("[")[0]].dim == spec.dim, (formula.name, spec.path)
        else:
            assert SCHEMA[kind][last].dim == spec.dim, (formula.name, spec.path)
    assert list(inspect.signature(formula.fn).parameters) == [i.name for i in formula.inputs]
