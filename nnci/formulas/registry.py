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


class OutsideData(Exception):
    """Raised by a formula over a series when the job's interval is not covered by the data: the engine
    reports it where the job's `start` is written. `what` follows the job's name (`runs 2024-...`)."""

    def __init__(self, what: str, notes: tuple[str, ...], help: str, rows: list[int] | None = None) -> None:
        super().__init__(what)
        self.what, self.notes, self.help, self.rows = what, notes, help, rows


class NotApplicable(LookupError):
    """Raised by a formula whose inputs turn out not to fit (e.g. nothing to amortise over);
    the message names what is missing."""


class Skip(NotApplicable):
    """Raised by a formula that applies only when an optional input is given (a utilisation) and
    none is: the engine tries the next formula and names nothing as missing."""


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
    method: str | None = None  # the published method it belongs to; None: shared by all
    takes_series: bool = False  # reads a series (a grid's hourly intensity); every other formula refuses one
    needs: tuple[str, ...] = ()  # fields the block must give for the formula to be tried at all (`device`)
    estimate: bool = False  # a default or an upper bound (TDP as power), not a derivation from measured inputs


REGISTRY: dict[tuple[str, str], list[Formula]] = {}


def register(formula: Formula) -> Formula:
    parameters = list(inspect.signature(formula.fn).parameters)
    if parameters != [i.name for i in formula.inputs]:
        raise TypeError(f"formula {formula.name}: function takes {parameters}, inputs are {formula.inputs}")
    REGISTRY.setdefault((formula.kind, formula.output), []).append(formula)
    return formula


DEFAULT_METHOD = "nnci"  # the seed's calculations, used when a job names no method


def formulas_for(kind: str, output: str, method: str | None = None) -> list[Formula]:
    """The formulas the engine may try, in order: those over a series, the method's own (the default
    method's when none is chosen), then those shared by every method."""
    formulas = REGISTRY.get((kind, output), [])
    chosen = method or DEFAULT_METHOD
    ordered = [f for f in formulas if f.method == chosen] + [f for f in formulas if f.method is None]
    # A formula over a series comes first: it refuses (NotApplicable) when nothing varies in time.
    return sorted(ordered, key=lambda f: not f.takes_series)


def all_formulas() -> list[Formula]:
    return [f for group in REGISTRY.values() for f in group]
