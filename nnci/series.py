"""Values that vary in time: a grid's carbon intensity hour by hour, read from the data a user holds.

A `Series` is a step function: consecutive intervals of one length (5, 15, 30 or 60 minutes), one
value each, NaN where the data has none. Its integral is kept as prefix sums, so the integral over
any span [t0, t1] is exact for partial intervals (the step function's integral is piecewise
linear) and costs O(1) after one O(intervals) pass (DESIGN §7). The carbon-aware SDK weights
partially covered data points by their overlap the same way (`AverageOverPeriod`,
`../shared/reference/time-series.md` §2).

Magnitudes in the engine stay floats or row arrays: a series enters it only as the magnitude of a
grid's `intensity` (a `SeriesValue`, which scales like a number: α/τ), and only the formulas that
integrate over a job's interval consume it (`nnci.formulas.carbon`, `site-intensity-in-time`).
Every other formula refuses it with a message asking for the job's `start`.

Readers (`read_series`), each chosen by the column names of the file (`nnci.series_formats`).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from nnci.diagnostics import Span
from nnci.timeparse import format_duration, format_instant, format_span
from nnci.units import Dimension

STEPS = (300.0, 900.0, 1800.0, 3600.0)  # the interval lengths a series may have: 5, 15, 30, 60 minutes


@attrs.frozen(eq=False)
class Series:
    """One column of a time-indexed file: `values[k]` holds over [start + k·step, start + (k+1)·step).

    `values` are in SI base units (numpy float64), NaN where the file has no value. `lines` are the
    file's line numbers of each interval's row, for messages. Compared by identity (it holds arrays).
    """

    name: str
    file: str
    start: float
    step: float
    values: Any
    dimension: Dimension
    unit: str
    span: Span | None = None
    lines: Any = None
    note: str | None = None  # how the unit or the labels were read (lbs → lbCO2e, end-of-interval labels)
    _cumulative: Any = attrs.field(default=None, init=False, repr=False)
    _missing: Any = attrs.field(default=None, init=False, repr=False)
    _constant: float | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        import numpy as np

        values = np.asarray(self.values, dtype=float)
        missing = np.isnan(values)
        cumulative = np.zeros(len(values) + 1)
        np.cumsum(np.where(missing, 0.0, values) * self.step, out=cumulative[1:])
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_cumulative", cumulative)
        counts = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(missing, out=counts[1:])
        object.__setattr__(self, "_missing", counts)
        if len(values) and not counts[-1] and float(values.min()) == float(values.max()):
            object.__setattr__(self, "_constant", float(values[0]))

    @property
    def end(self) -> float:
        return self.start + self.step * len(self.values)

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def constant(self) -> float | None:
        """The value, when every interval has the same one (then a mean is that value exactly)."""
        return self._constant

    def describe(self) -> str:
        return f"{self.count:,} values every {format_duration(self.step)}, {format_span(self.start, self.end)}"

    def integral(self, t0: Any, t1: Any) -> tuple[Any, Any]:
        """∫ value dt over [t0, t1] (arrays broadcast), and where that span is not covered by data
        (outside the series, or over an interval without a value): (integral, uncovered mask)."""
        import numpy as np

        t0 = np.asarray(t0, dtype=float)
        t1 = np.asarray(t1, dtype=float)
        n = len(self.values)
        outside = (t0 < self.start) | (t1 > self.end) | (t1 < t0) | ~np.isfinite(t0) | ~np.isfinite(t1)
        first = np.clip(np.floor((t0 - self.start) / self.step), 0, max(n - 1, 0)).astype(np.int64)
        last = np.clip(np.ceil((t1 - self.start) / self.step), 0, n).astype(np.int64)
        last = np.maximum(last, np.minimum(first + 1, n))  # a span of no length still reads its interval
        holes = (self._missing[last] - self._missing[first]) > 0
        total = self._at(t1) - self._at(t0)
        return total, outside | holes

    def _at(self, t: Any) -> Any:
        """The cumulative integral from the start to t (inside the series)."""
        import numpy as np

        n = len(self.values)
        offset = np.clip(t - self.start, 0.0, self.step * n)
        k = np.clip(np.floor(offset / self.step), 0, max(n - 1, 0)).astype(np.int64)
        value = np.where(np.isnan(self.values[k]), 0.0, self.values[k])
        return self._cumulative[k] + value * (offset - k * self.step)

    def mean(self, t0: Any, t1: Any) -> tuple[Any, Any]:
        """The time-weighted mean over [t0, t1] and the uncovered mask (a span of no length: the value
        at t0). With a constant series, the constant itself."""
        import numpy as np

        total, uncovered = self.integral(t0, t1)
        length = np.asarray(t1, dtype=float) - np.asarray(t0, dtype=float)
        constant = self.constant
        if constant is not None:
            mean = np.full(np.shape(total), constant)
        else:
            n = len(self.values)
            k = np.clip(np.floor((np.asarray(t0, dtype=float) - self.start) / self.step), 0, max(n - 1, 0))
            with np.errstate(all="ignore"):
                mean = np.where(length > 0, total / np.where(length > 0, length, 1.0), self.values[k.astype(np.int64)])
        return mean, uncovered

    def window_index(self, t: float) -> float:
        """Fractional interval index of an instant: how a schedule search maps a start to the data."""
        return (t - self.start) / self.step


@attrs.frozen(eq=False)
class SeriesValue:
    """A series as a magnitude: `scale × series + offset`, so `α / τ` and unit-free arithmetic with
    numbers (or samples of one) keep it a series. Combining two series is refused (ValueError, reported where it is written)."""

    series: Series
    scale: Any = 1.0
    offset: Any = 0.0
    label: str = ""  # how it was written: `uk.carbon_intensity`, `series(...)`

    is_series = True

    def _number(self, other: Any) -> Any:
        """A number or an array of samples (an uncertain τ): it broadcasts over the series' means."""
        if isinstance(other, SeriesValue):
            raise ValueError("two series cannot be combined")
        return other if getattr(other, "ndim", 0) else float(other)

    def __mul__(self, other: Any) -> SeriesValue:
        factor = self._number(other)
        return attrs.evolve(self, scale=self.scale * factor, offset=self.offset * factor)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> SeriesValue:
        divisor = self._number(other)
        if getattr(divisor, "ndim", 0) == 0 and divisor == 0:
            raise ZeroDivisionError
        return attrs.evolve(self, scale=self.scale / divisor, offset=self.offset / divisor)

    def __add__(self, other: Any) -> SeriesValue:
        return attrs.evolve(self, offset=self.offset + self._number(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> SeriesValue:
        return attrs.evolve(self, offset=self.offset - self._number(other))

    def __neg__(self) -> SeriesValue:
        return attrs.evolve(self, scale=-self.scale, offset=-self.offset)

    def mean(self, t0: Any, t1: Any) -> tuple[Any, Any]:
        mean, uncovered = self.series.mean(t0, t1)
        if not getattr(self.scale, "ndim", 0) and self.scale == 1.0 and self.offset == 0.0:
            return mean, uncovered
        return mean * self.scale + self.offset, uncovered

    def values(self) -> Any:
        """Every interval's value (a column per sample when the scale is uncertain)."""
        import numpy as np

        values = self.series.values
        if np.ndim(self.scale) or np.ndim(self.offset):
            values = values[:, None]
        return values * self.scale + self.offset

    def extremes(self) -> tuple[float, float]:
        import numpy as np

        values = self.values()
        return float(np.nanmin(values)), float(np.nanmax(values))

    def describe(self, unit_factor: float = 1.0, unit: str = "") -> str:
        low, high = self.extremes()
        shown = f"{low / unit_factor:,.6g}–{high / unit_factor:,.6g} {unit}".rstrip()
        name = f"{self.label}: " if self.label else ""
        return f"{name}{shown} over {self.series.describe()}"


def weighted_mean(value: SeriesValue, weight: SeriesValue, t0: Any, t1: Any) -> tuple[Any, Any, Any]:
    """∫ w·α dt ÷ ∫ w dt over [t0, t1], the weight's first interval placed at t0 (a power profile moves
    with the job): exact over the union of both step functions' boundaries, O(intervals in the job).
    Returns (mean, uncovered by α, uncovered by the profile); arrays of starts are done row by row."""
    import numpy as np

    t0a, t1a = np.broadcast_arrays(np.asarray(t0, dtype=float), np.asarray(t1, dtype=float))
    means, holes, short = np.empty(t0a.shape), np.zeros(t0a.shape, bool), np.zeros(t0a.shape, bool)
    alpha, w = value.series, weight.series
    for index in np.ndindex(t0a.shape):
        a, b = float(t0a[index]), float(t1a[index])
        shift = w.start - a  # profile time = job time + shift
        if a < alpha.start or b > alpha.end:
            holes[index] = True
            continue
        if b + shift > w.end + 1e-9:
            short[index] = True
            continue
        cuts = [a, b]
        for series, origin in ((alpha, alpha.start), (w, w.start - shift)):  # boundaries in job time
            k0 = max(math.ceil((a - origin) / series.step), 0)
            k1 = min(math.floor((b - origin) / series.step), series.count)
            cuts.extend(origin + series.step * k for k in range(k0, k1 + 1))
        points = np.unique(np.clip(np.array(cuts), a, b))
        mids, lengths = (points[:-1] + points[1:]) / 2, np.diff(points)
        ai = np.clip(np.floor((mids - alpha.start) / alpha.step).astype(np.int64), 0, alpha.count - 1)
        wi = np.clip(np.floor((mids + shift - w.start) / w.step).astype(np.int64), 0, w.count - 1)
        alphas, weights = alpha.values[ai], w.values[wi] * weight.scale + weight.offset
        if np.isnan(alphas).any():
            holes[index] = True
            continue
        total = float(np.sum(weights * lengths))
        means[index] = float(np.sum(alphas * weights * lengths)) / total if total else float(alphas[0])
    means = means * value.scale + value.offset
    return means, holes, short


def is_series(value: Any) -> bool:
    return getattr(value, "is_series", False) is True


def uncovered_text(series: Series, t0: float, t1: float) -> str:
    """The part of [t0, t1] without data: before or after the series, or its holes, said as spans."""
    import numpy as np

    spans: list[tuple[float, float]] = []
    if t0 < series.start:
        spans.append((t0, min(t1, series.start)))
    lo, hi = max(t0, series.start), min(t1, series.end)
    if hi > lo:
        first = math.floor((lo - series.start) / series.step)
        last = math.ceil((hi - series.start) / series.step)
        holes = np.flatnonzero(np.isnan(series.values[first:last])) + first
        for k in holes.tolist():
            begin, finish = series.start + k * series.step, series.start + (k + 1) * series.step
            if spans and spans[-1][1] == begin:
                spans[-1] = (spans[-1][0], finish)
            else:
                spans.append((max(begin, t0), min(finish, t1)))
    if t1 > series.end:
        spans.append((max(t0, series.end), t1))
    shown = ", ".join(format_span(a, b) for a, b in spans[:3])
    return shown + (f" and {len(spans) - 3} more" if len(spans) > 3 else "")


def covered_text(series: Series) -> str:
    return f"{format_instant(series.start)} to {format_instant(series.end)}"
