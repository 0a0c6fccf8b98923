"""The formula registry: each published estimation formula with its dimensions and citation.

A formula produces one quantity of one kind of block from inputs named by paths:
`duration` (the block's own quantity), `fleet.power` (follow the reference in field `fleet`),
`site[].pue` (every entry of the map in field `site`: its weight and the named block's `pue`).
Functions take and return magnitudes in SI base units and use operators only, so they work
unchanged on numpy arrays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs

from nnci.units import Dimension


@attrs.frozen
class Input:
    name: str
    path: str
    dim: Dimension
    optional: bool = False

    @property
    def is_map(self) -> bool:
        return "[]" in self.path


@attrs.frozen
class Item:
    """One entry of a map input: its weight (count or share) and the value from the named block."""

    weight: Any
    value: Any


@attrs.frozen
class Noted:
    """A result with a note on the rule applied, shown in the trace and the output."""

    value: Any
    note: str


@attrs.frozen
class Example:
    """A worked example: inputs as written in .nnci (`"300 W"`, maps as lists of pairs) and the result."""

    inputs: dict[str, Any]
    output: str


@attrs.frozen
class Formula:
    name: str
    kind: str
    output: str
    dim: Dimension
    equation: str
    inputs: tuple[Input, ...]
    fn: Callable[..., Any]
    citation: str
    examples: tuple[Example, ...] = ()


REGISTRY: dict[tuple[str, str], list[Formula]] = {}
BY_NAME: dict[str, list[Formula]] = {}


def register(formula: Formula) -> Formula:
    parameters = list(inspect.signature(formula.fn).parameters)
    if parameters != [i.name for i in formula.inputs]:
        raise TypeError(f"formula {formula.name}: function takes {parameters}, inputs are {formula.inputs}")
    REGISTRY.setdefault((formula.kind, formula.output), []).append(formula)
    BY_NAME.setdefault(formula.name, []).append(formula)
    return formula


def formulas_for(kind: str, output: str) -> list[Formula]:
    return REGISTRY.get((kind, output), [])


def all_formulas() -> list[Formula]:
    return [f for group in REGISTRY.values() for f in group]
