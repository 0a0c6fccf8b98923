"""Values: a magnitude in SI base units with its dimension.

Arithmetic is written with operators only (no branching on magnitudes), so magnitudes may be
floats today and numpy arrays of uncertainty samples later.
"""

from __future__ import annotations

from typing import Any

import attrs

from nnci.units import Dimension, display_unit, parse_unit


class DimensionError(ValueError):
    pass


@attrs.frozen
class Quantity:
    magnitude: Any
    dimension: Dimension

    def __add__(self, other: Quantity) -> Quantity:
        self._same(other, "+")
        return Quantity(self.magnitude + other.magnitude, self.dimension)

    def __sub__(self, other: Quantity) -> Quantity:
        self._same(other, "-")
        return Quantity(self.magnitude - other.magnitude, self.dimension)

    def __mul__(self, other: Quantity) -> Quantity:
        return Quantity(self.magnitude * other.magnitude, self.dimension * other.dimension)

    def __truediv__(self, other: Quantity) -> Quantity:
        return Quantity(self.magnitude / other.magnitude, self.dimension / other.dimension)

    def __neg__(self) -> Quantity:
        return Quantity(-self.magnitude, self.dimension)

    def _same(self, other: Quantity, op: str) -> None:
        if self.dimension != other.dimension:
            raise DimensionError(f"cannot apply `{op}` to {self.dimension.describe()} and {other.dimension.describe()}")

    def to(self, unit: str) -> Any:
        """The magnitude expressed in `unit` (which must have this quantity's dimension)."""
        if not unit or unit == self.dimension.symbol():  # the base spelling (a figure with no display unit)
            return self.magnitude
        target = parse_unit(unit)
        if target.dimension != self.dimension:
            raise DimensionError(f"cannot express {self.dimension.describe()} in `{unit}`")
        return self.magnitude / target.factor

    def format(self, unit: str | None = None, digits: int = 6) -> str:
        unit = display_unit(self.dimension) if unit is None else unit
        if getattr(self.magnitude, "is_series", False):  # a grid's hourly intensity: its range and span
            return str(self.magnitude.describe(parse_unit(unit).factor if unit else 1.0, unit))
        value = self.to(unit)
        return f"{format_number(value, digits)} {unit}".rstrip()


def format_number(value: float, digits: int = 6) -> str:
    """Significant digits with thousands separators; scientific notation for extremes."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e15 or magnitude < 1e-4:
        return f"{value:.{digits - 1}e}"
    text = f"{value:,.{digits}g}" if magnitude < 10**digits else f"{value:,.0f}"
    if "e" in text:
        text = f"{value:,.{max(0, digits - len(str(int(magnitude))))}f}"
    return text
