"""`nnci schedule FILE JOB`: when and where to run a job, offline, from the series the user holds.

Semantics follow the Green Software Foundation's carbon-aware SDK (`../shared/reference/time-series.md`
§2): a window of the job's duration slides from the start of `--between` by `--step` (default: the
data's interval); a window counts only when the data covers it fully; its carbon is the job's
energy times the duration-weighted mean intensity over it (partial intervals weighted by overlap);
the optimum is the lowest carbon, and of equal ones the earliest, saying how many tie (the SDK
returns them all). Each window is O(1): the series' prefix sums (`nnci.series`).

`--sites a,b,c` ranks the same search at each datacenter (its PUE and grid). `--interruptible` lets
the job pause and resume: it runs in the lowest-intensity intervals of the window that add up to
its duration (the "pause and resume" strategy of Dodge et al. 2022, FAccT, and Wiesner et al. 2021,
Middleware); `--max-pieces K` allows at most K runs (an exact dynamic programme).

Energy per interval is uniform over the job unless it has a power profile (which moves with the
start), as in the job's own figure, so every candidate's carbon is what `nnci run` gives for the job
moved to that start and site.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import attrs

from nnci import arrays, ir
from nnci.engine import Derivation, Engine
from nnci.series import SeriesValue, is_series, weighted_mean
from nnci.timeparse import format_duration, format_instant

TIES = 1e-12  # relative: windows whose carbon differs by less are equal (rounding of prefix sums)


class ScheduleError(ValueError):
    """A request that cannot be answered (said to the user as a usage error)."""


@attrs.frozen
class Candidate:
    job: str
    site: str
    start: float
    end: float
    carbon: float  # kgCO2e
    intensity: float  # the mean over the pieces, kgCO2e/J
    saving: float | None  # against the job's own start and site, kgCO2e
    ties: int = 1
    pieces: tuple[tuple[float, float], ...] = ()  # interruptible: the spans it runs in


@attrs.frozen
class Schedule:
    job: str
    duration: float
    between: tuple[float, float]
    step: float
    baseline: Candidate | None
    candidates: tuple[Candidate, ...]  # ranked, best first
    interruptible: bool
    notes: tuple[str, ...] = ()
    chart: str = ""


@attrs.frozen
class _Site:
    """One candidate placement: the job's energy there and its sites' weights and intensities."""

    name: str
    energy: float
    weights: tuple[float, ...]
    intensities: tuple[Any, ...]  # SeriesValue or float, per site of the map
    profile: SeriesValue | None = None  # the job's power profile: it moves with the start

    def mean(self, t0: Any, t1: Any) -> tuple[Any, Any]:
        import numpy as np

        total: Any = np.zeros(np.shape(t0))  # a constant grid still gives one mean per start
        uncovered: Any = np.zeros(np.shape(t0), dtype=bool)
        for weight, intensity in zip(self.weights, self.intensities, strict=True):
            if is_series(intensity):
                if self.profile is not None:
                    mean, holes, short = weighted_mean(intensity, self.profile, t0, t1)
                    holes = holes | short
                else:
                    mean, holes = intensity.mean(t0, t1)
                if weight:
                    uncovered = uncovered | holes
                total = total + weight * np.where(holes, 0.0, mean)
            else:
                total = total + weight * intensity
        return total / sum(self.weights), uncovered

    def series(self) -> SeriesValue | None:
        return next((i for w, i in zip(self.weights, self.intensities, strict=True) if is_series(i) and w), None)


def schedule(
    program: ir.Program,
    job_name: str,
    between: tuple[float, float],
    step: float | None = None,
    sites: tuple[str, ...] = (),
    interruptible: bool = False,
    max_pieces: int | None = None,
) -> Schedule:
    job = _job(program, job_name)
    block = program.blocks[job]
    engine = Engine(program)
    duration = _figure(engine, job, "duration")
    if duration <= 0:
        raise ScheduleError(f"`{job_name}` has no duration to place")
    if between[1] - between[0] < duration:
        raise ScheduleError(f"the window is shorter than the job ({format_duration(duration)})")
    own = _placement(program, engine, job, block.fields["site"].expr, _site_name(block))
    placements = [own] if not sites else [_placement(program, engine, job, _site_map(program, s), s) for s in sites]
    baseline = _baseline(engine, job, own, duration)
    reference = next((p.series() for p in placements if p.series() is not None), None)
    if reference is None:
        raise ScheduleError(f"no candidate site of `{job_name}` has an intensity that varies in time")
    step = reference.series.step if step is None else step  # `--step 0h` is refused, not taken as the default
    if step <= 0:
        raise ScheduleError("the step must be positive")
    candidates = []
    if interruptible and any(p.profile is not None for p in placements):
        raise ScheduleError(f"`{job_name}` has a power profile; --interruptible assumes uniform power")
    for placement in placements:
        if interruptible:
            found = _pieces(placement, job_name, between, duration, max_pieces)
        else:
            found = _window(placement, job_name, between, duration, step)
        if found is not None:
            saving = baseline.carbon - found.carbon if baseline is not None else None
            if saving is not None and baseline is not None and abs(saving) <= 8 * TIES * abs(baseline.carbon):
                saving = 0.0  # the same carbon, up to the rounding of prefix sums at another offset
            candidates.append(attrs.evolve(found, saving=saving))
    candidates.sort(key=lambda c: (c.carbon, c.start))
    notes = []
    if interruptible and candidates:  # what pausing adds over the best uninterrupted window at that site
        best = candidates[0]
        placement = next(p for p in placements if p.name == best.site)
        whole = _window(placement, job_name, between, duration, step)
        if whole is not None:
            notes.append(f"pausing saves {_kg(whole.carbon - best.carbon)} against the best uninterrupted window "
                         f"at {best.site} ({format_instant(whole.start)}, {_kg(whole.carbon)})")  # fmt: skip
    if baseline is None:
        notes.append(f"`{job_name}` has no `start` covered by the data, so no saving is computed")
    missing = [p.name for p in placements if not any(c.site == p.name for c in candidates)]
    if missing:
        notes.append("no window in the data of: " + ", ".join(missing))
    chart = ""
    if candidates:
        best = candidates[0]
        placement = next(p for p in placements if p.name == best.site)
        chart = intensity_chart(placement, between, best.pieces or ((best.start, best.end),))
    return Schedule(job_name, duration, between, step, baseline, tuple(candidates), interruptible, tuple(notes), chart)


def _kg(kg: float) -> str:
    return f"{kg / 1000:,.4g} tCO2e" if abs(kg) >= 1000 else f"{kg:,.4g} kgCO2e"


# -- the job and its placements ---------------------------------------------------------------------


def _job(program: ir.Program, name: str) -> ir.BlockKey:
    key = ir.BlockKey("", name)
    block = program.blocks.get(key)
    if block is None or block.kind not in ("training", "inference"):
        jobs = ", ".join(k.name for k in program.jobs)
        raise ScheduleError(f"`{name}` is not a training or inference block of the file (jobs: {jobs or 'none'})")
    if program.rows_of(key) is not None:
        raise ScheduleError(f"`{name}` is a job over a table; schedule one job (amend it, or copy one row)")
    if not isinstance(block.fields.get("site"), ir.Field) or not isinstance(block.fields["site"].expr, ir.Map):
        raise ScheduleError(f"`{name}` has no `site` to take the grid intensity from")
    return key


def _site_name(block: ir.Block) -> str:
    expr = block.fields["site"].expr
    assert isinstance(expr, ir.Map)
    return "+".join(e.block.name for e in expr.entries)


def _site_map(program: ir.Program, name: str) -> ir.Map:
    key = ir.BlockKey("", name)
    found = program.blocks.get(key)
    if found is None or found.kind != "datacenter":
        centres = ", ".join(k.name for k, b in program.blocks.items() if b.kind == "datacenter" and not k.module)
        raise ScheduleError(f"`{name}` is not a datacenter of the file (datacenters: {centres or 'none'})")
    span = found.span
    from nnci.quantity import Quantity
    from nnci.units import DIMENSIONLESS

    return ir.Map((ir.Entry(key, ir.Const(Quantity(1.0, DIMENSIONLESS), "100 %", span), span),), span)


def _placement(program: ir.Program, engine: Engine, job: ir.BlockKey, site: ir.Expr, name: str) -> _Site:
    """The job's energy at these sites (their PUE) and each site's weight (share × PUE) and intensity."""
    block = program.blocks[job]
    if block.fields["site"].expr != site:
        moved = attrs.evolve(block, fields={**block.fields, "site": ir.Field("site", site, block.fields["site"].span)})
        engine = Engine(attrs.evolve(program, blocks={**program.blocks, job: moved}))
    assert isinstance(site, ir.Map)
    energy = _figure(engine, job, "energy")
    weights, intensities = [], []
    for entry in site.entries:
        share, _ = engine.evaluate(entry.value, job)
        pue = engine.quantity(entry.block, "pue")
        intensity = engine.quantity(entry.block, "intensity")
        if not isinstance(intensity, Derivation):
            raise ScheduleError(f"the intensity of `{entry.block}` is unknown")
        weight = float(share.magnitude) * (float(pue.value.magnitude) if isinstance(pue, Derivation) else 1.0)
        weights.append(weight)
        intensities.append(intensity.value.magnitude)
    profile = engine.quantity(job, "profile")
    shape = profile.value.magnitude if isinstance(profile, Derivation) else None
    return _Site(name, energy, tuple(weights), tuple(intensities), shape)


def _figure(engine: Engine, key: ir.BlockKey, name: str) -> float:
    result = engine.quantity(key, name)
    if not isinstance(result, Derivation) or arrays.is_array(result.value.magnitude):
        raise ScheduleError(f"`{key}.{name}` is unknown or not a single number; `nnci run` says why")
    return float(result.value.magnitude)


def _baseline(engine: Engine, job: ir.BlockKey, own: _Site, duration: float) -> Candidate | None:
    start = engine.quantity(job, "start")
    if not isinstance(start, Derivation):
        return None
    t0 = float(start.value.magnitude)
    mean, uncovered = own.mean(t0, t0 + duration)
    if bool(uncovered):
        return None
    return Candidate(str(job), own.name, t0, t0 + duration, own.energy * float(mean), float(mean), None)


# -- the searches -----------------------------------------------------------------------------------


def window_starts(between: tuple[float, float], duration: float, step: float) -> Any:
    """Every start from the window's beginning by `step` whose job ends within the window."""
    import numpy as np

    count = math.floor((between[1] - duration - between[0]) / step + 1e-9) + 1
    return between[0] + step * np.arange(max(count, 0), dtype=float)


def _window(placement: _Site, job: str, between: tuple[float, float], duration: float, step: float) -> Candidate | None:
    import numpy as np

    starts = window_starts(between, duration, step)
    mean, uncovered = placement.mean(starts, starts + duration)
    carbon = np.where(uncovered, np.inf, placement.energy * mean)
    if not np.isfinite(carbon).any():
        return None
    lowest = float(np.min(carbon))
    tied = carbon <= lowest + abs(lowest) * TIES  # equal but for the rounding of the prefix sums
    best = int(np.argmax(tied))  # the earliest of the equal minima
    ties = int(np.count_nonzero(tied))
    t0 = float(starts[best])
    return Candidate(job, placement.name, t0, t0 + duration, lowest, float(mean[best]), None, ties)


def _pieces(placement: _Site, job: str, between: tuple[float, float], duration: float,
            max_pieces: int | None) -> Candidate | None:  # fmt: skip
    """The cheapest intervals of the data inside the window that add up to the duration."""
    import numpy as np

    reference = placement.series()
    if reference is None:  # a constant grid: every hour costs the same, so pausing saves nothing
        uninterrupted = _window(placement, job, between, duration, duration)
        if uninterrupted is None:
            return None
        return attrs.evolve(uninterrupted, ties=1, pieces=((uninterrupted.start, uninterrupted.end),))
    series = reference.series
    first = max(math.ceil((between[0] - series.start) / series.step), 0)
    last = min(math.floor((between[1] - series.start) / series.step), series.count)
    if last <= first:
        return None
    begins = series.start + series.step * np.arange(first, last, dtype=float)
    cost, uncovered = placement.mean(begins, begins + series.step)  # mean intensity of each interval
    cost = np.where(uncovered, np.inf, cost)
    whole, rest = divmod(duration, series.step)
    whole = int(whole)
    if max_pieces is None:
        order = np.argsort(cost, kind="stable")  # cheapest first; of equal ones, the earliest
        needed = whole + (1 if rest > 1e-9 else 0)
        if needed > np.count_nonzero(np.isfinite(cost)):
            return None
        chosen = order[:needed]
        lengths = np.full(needed, series.step)
        if rest > 1e-9:
            lengths[-1] = rest
        spent = float(np.sum(cost[chosen] * lengths))
        spans = [(float(begins[i]), float(begins[i] + length)) for i, length in zip(chosen, lengths, strict=True)]
    else:
        if rest > 1e-9:
            raise ScheduleError(f"with --max-pieces, the duration must be a whole number of the data's intervals "
                                f"({format_duration(series.step)})")  # fmt: skip
        picked = fewest_pieces(cost, whole, max_pieces)
        if picked is None:
            return None
        spans = [(float(begins[i]), float(begins[i] + series.step)) for i in picked]
        spent = float(np.sum(cost[picked])) * series.step
    if not math.isfinite(spent):
        return None
    pieces = merge_spans(spans)
    mean = spent / duration
    return Candidate(job, placement.name, pieces[0][0], pieces[-1][1], placement.energy * mean, mean, None, 1,
                     tuple(pieces))  # fmt: skip


def fewest_pieces(cost: Any, count: int, max_pieces: int) -> list[int] | None:
    """The `count` intervals of least total cost forming at most `max_pieces` runs of consecutive
    intervals (None if impossible): a dynamic programme over (intervals seen, chosen, runs, whether
    the last is chosen), vectorised over the number chosen. O(n · K) numpy steps of length `count`."""
    import numpy as np

    n, inf = len(cost), np.inf
    runs = max_pieces + 1
    off = np.full((runs, count + 1), inf)  # the last interval not chosen
    on = np.full((runs, count + 1), inf)  # the last interval chosen
    off[0, 0] = 0.0
    came_on = np.zeros((n, runs, count + 1), dtype=np.int8)  # on at i: 1 = started a run, 0 = continued
    came_off = np.zeros((n, runs, count + 1), dtype=np.int8)  # off at i: 1 = from on, 0 = from off
    for i in range(n):
        new_off = np.minimum(off, on)
        came_off[i] = on < off
        new_on = np.full_like(on, inf)
        if np.isfinite(cost[i]):
            cont = np.full_like(on, inf)
            cont[:, 1:] = on[:, :-1] + cost[i]
            start = np.full_like(on, inf)
            start[1:, 1:] = off[:-1, :-1] + cost[i]
            came_on[i] = start < cont
            new_on = np.minimum(cont, start)
        off, on = new_off, new_on
    final = np.minimum(off[:, count], on[:, count])
    k = int(np.argmin(final))
    if not np.isfinite(final[k]):
        return None
    state = 1 if on[k, count] <= off[k, count] else 0
    j, picked = count, []
    for i in range(n - 1, -1, -1):
        if state == 1:
            picked.append(i)
            started = came_on[i, k, j]
            j -= 1
            if started:
                k -= 1
                state = 0
        else:
            state = int(came_off[i, k, j])
    return sorted(picked)


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for begin, end in sorted(spans):
        if merged and abs(merged[-1][1] - begin) < 1e-6:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return merged


# -- the chart --------------------------------------------------------------------------------------

LEVELS = " ▁▂▃▄▅▆▇█"


def intensity_chart(placement: _Site, between: tuple[float, float], chosen: tuple[tuple[float, float], ...],
                    width: int = 72) -> str:  # fmt: skip
    """One line of intensity over the window (a column per equal slice), the chosen spans marked below."""
    import numpy as np

    edges = between[0] + (between[1] - between[0]) * np.arange(width + 1) / width
    mean, uncovered = placement.mean(edges[:-1], edges[1:])
    g_per_kwh = mean * 3.6e9
    shown = g_per_kwh[~uncovered]
    if not shown.size:
        return ""
    low, high = float(shown.min()), float(shown.max())
    span = (high - low) or 1.0
    bars = "".join(
        "·" if hole else LEVELS[1 + round((value - low) / span * (len(LEVELS) - 2))]
        for value, hole in zip(g_per_kwh, uncovered, strict=True)
    )
    marks = "".join("^" if any(b < e1 and a > e0 for b, a in chosen) else " " for e0, e1 in itertools.pairwise(edges))
    slice_text = format_duration((between[1] - between[0]) / width)
    return (
        f"intensity at {placement.name}, {format_instant(between[0])} to {format_instant(between[1])} "
        f"({slice_text} per column; {low:,.0f}–{high:,.0f} gCO2e/kWh; · no data):\n"
        f"  {bars}\n  {marks}  ^ chosen"
    )
