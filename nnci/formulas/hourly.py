"""Operational carbon over an intensity that varies by the hour: the mean over the job's interval.

Operational carbon is ∫ P(t)·α(t)/τ dt over [start, start + duration]. At uniform power (energy
spread evenly over the job, as nnci assumes unless told otherwise), that is the job's energy times
the time-weighted mean of α/τ over its interval, so the job's `intensity` becomes that mean and
every method's `operational = energy × intensity` holds unchanged; a constant intensity gives
today's figure exactly. The mean is the step function's integral from prefix sums
(`nnci.series.Series.integral`): partial first and last intervals weighted by their overlap, as the
carbon-aware SDK's `AverageOverPeriod` does.
"""

from __future__ import annotations

from typing import Any

from nnci import arrays
from nnci.formulas.registry import Example, Formula, Input, Item, NotApplicable, OutsideData, register
from nnci.series import SeriesValue, covered_text, is_series, uncovered_text, weighted_mean
from nnci.timeparse import format_duration, format_span
from nnci.units import DIMENSIONLESS, INTENSITY, TIME

CARBON_AWARE = (
    "Green Software Foundation carbon-aware SDK, duration-weighted average over a period "
    "(EmissionsDataExtensions.AverageOverPeriod); DESIGN §7 (prefix sums of a step function)"
)


def _intensity_in_time(pue: list[Item], intensity: list[Item], start: Any, duration: Any, profile: Any) -> Any:
    if not any(is_series(item.value) for item in intensity):
        raise NotApplicable("no site's intensity varies in time")
    import numpy as np

    end = start + duration
    by_energy = all(p.value is not None for p in pue)
    weights = [p.weight * p.value if by_energy else p.weight for p in pue]
    total: Any = 0.0
    for weight, item in zip(weights, intensity, strict=True):
        value = item.value
        if is_series(value):
            value = _mean(value, start, end, weight, profile)
        total = total + weight * value
    result = total / sum(weights, 0.0)
    return float(result) if np.ndim(result) == 0 else result


def _mean(value: SeriesValue, start: Any, end: Any, weight: Any, profile: SeriesValue | None) -> Any:
    """The mean of the series over each job's interval (weighted by the power profile, if any); an
    interval the data does not cover, in a row that uses this site, is an error naming the span."""
    import numpy as np

    if profile is not None:
        mean, uncovered, short = weighted_mean(value, profile, start, end)
        if np.any(short):
            series = profile.series
            raise OutsideData(
                f"runs {format_duration(float(np.max(np.asarray(end) - np.asarray(start))))}, longer than its "
                f"power profile `{profile.label}`",
                (f"the profile covers {format_duration(series.end - series.start)} "
                 f"({series.describe()}); its first value is the job's first interval",),
                "give the profile a value for every interval of the job, or shorten the job",
            )  # fmt: skip
    else:
        mean, uncovered = value.mean(start, end)
    used = np.broadcast_to(np.asarray(weight) != 0, np.shape(uncovered)) if np.ndim(uncovered) else weight != 0
    bad = uncovered & used
    if np.any(bad):
        starts, ends = np.broadcast_arrays(np.asarray(start, dtype=float), np.asarray(end, dtype=float))
        flat = np.flatnonzero(np.broadcast_to(bad, starts.shape)) if starts.ndim else np.array([0])
        first = int(flat[0])
        t0, t1 = float(starts.reshape(-1)[first]), float(ends.reshape(-1)[first])
        series = value.series
        rows = [int(i) for i in flat] if starts.ndim else None
        label = value.label or series.name
        what = f"runs {format_span(t0, t1)}, outside the data of `{label}`"
        if rows is not None:
            what = (f"runs outside the data of `{label}` in {arrays.rows_text(rows, starts.size)}: row {first + 1} "
                    f"runs {format_span(t0, t1)}")  # fmt: skip
        raise OutsideData(
            what,
            (f"no data for {uncovered_text(series, t0, t1)}",
             f"{'the series' if series.lines is None else f'`{series.file}`'} covers {covered_text(series)}"),
            "move `start`, shorten the job, or give data for that span",
            rows,
        )  # fmt: skip
    return np.where(uncovered, 0.0, mean) if np.ndim(mean) else float(mean)


for kind in ("training", "inference"):
    register(Formula(
        "site-intensity-in-time", kind, "intensity", INTENSITY,
        "α = Σ_d s_d PUE_d ᾱ_d/τ_d ÷ Σ_d s_d PUE_d, ᾱ_d = (1/Δt) ∫ α_d dt over [start, start + duration]",
        (Input("pue", "site[].pue", DIMENSIONLESS, optional=True), Input("intensity", "site[].intensity", INTENSITY),
         Input("start", "start", TIME), Input("duration", "duration", TIME),
         Input("profile", "profile", DIMENSIONLESS, optional=True)),
        _intensity_in_time, CARBON_AWARE,
        # hourly 100, 200, 300, 400 g/kWh from 00:00; 00:30 to 02:30 reads ½·100 + 200 + ½·300 over 2 h
        (Example({"pue": [("100 %", "1.1")],
                  "intensity": [("100 %", {"start": "2024-03-04T00:00Z", "step": "1 h",
                                           "values": ["100 gCO2e/kWh", "200 gCO2e/kWh", "300 gCO2e/kWh",
                                                      "400 gCO2e/kWh"]})],
                  "start": "2024-03-04T00:30Z", "duration": "2 h", "profile": None}, "200 gCO2e/kWh"),
         # the same, drawing 1 kW in its first hour and 3 kW in its second (a power profile):
         # (½·100 + ½·200 + 3·(½·200 + ½·300)) / (1 + 3) = 900 / 4 = 225
         Example({"pue": [("100 %", "1.1")],
                  "intensity": [("100 %", {"start": "2024-03-04T00:00Z", "step": "1 h",
                                           "values": ["100 gCO2e/kWh", "200 gCO2e/kWh", "300 gCO2e/kWh",
                                                      "400 gCO2e/kWh"]})],
                  "start": "2024-03-04T00:30Z", "duration": "2 h",
                  "profile": {"start": "2024-01-01T00:00Z", "step": "1 h", "values": ["1 kW", "3 kW"]}},
                 "225 gCO2e/kWh")),
        takes_series=True,
        needs=("start",),  # without one, the formula for a constant intensity is the job's (and asks for it)
    ))  # fmt: skip
