"""What a carbon statement says, gathered from the evaluated scenario (renderers only format it).

Every number here comes from the engine's results or from the engine asked for one more
quantity of a block (a job's duration, a site's PUE); every figure keeps its derivation, so the
HTML report can show each one's explain tree. Nothing is recomputed here except the split of a
multi-site job's figures between its sites, whose rule is stated where it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from nnci import arrays, ir
from nnci.engine import Derivation, Engine, Result, Unknown
from nnci.evaluate import JobResult, Results, Sampled
from nnci.formulas.registry import DEFAULT_METHOD
from nnci.quantity import Quantity, format_number
from nnci.report import references as refs
from nnci.report import rounding
from nnci.report.equivalents import Equivalent, equivalents
from nnci.schema import ADDITIVE, REPORTED, REPORTED_IF_KNOWN, SCHEMA
from nnci.uncertain.sampling import Summary
from nnci.uncertain.sensitivity import MIN_SAMPLES, Ranking


@attrs.frozen
class Figure:
    block: str  # a job's name, or "total"
    quantity: str
    result: Result
    digits: int  # significant figures its inputs justify (rounding.RULE)
    explain: str  # the explain tree, as `nnci explain` prints it
    citations: tuple[int, ...] = ()  # reference numbers of the data and methods beneath it
    summary: Summary | None = None  # a Monte Carlo run's: the figure is its median (p50)

    def interval(self, unit: str | None = None) -> str | None:
        """`520–610 tCO2e`: the 5th to 95th percentile, rounded as the figure is."""
        if self.summary is None or not isinstance(self.result, Derivation):
            return None
        unit = unit or rounding.readable_unit(self.result.value)
        dimension = self.result.value.dimension
        low, high = (rounding.shown(Quantity(v, dimension), self.digits, unit, self.result.value)
                     for v in (self.summary.p5, self.summary.p95))  # fmt: skip
        return f"{low.removesuffix(' ' + unit) if unit else low}–{high}"

    @property
    def known(self) -> bool:
        return isinstance(self.result, Derivation)

    @property
    def anchor(self) -> str:
        return "explain-" + "".join(c if c.isalnum() or c in "_." else "-" for c in f"{self.block}.{self.quantity}")

    def text(self, unit: str | None = None) -> str:
        """The rounded figure with a readable unit (a sum over rows for a job over a table)."""
        if not isinstance(self.result, Derivation):
            return "unknown"
        value = self.result.value
        if arrays.is_array(value.magnitude):
            if self.quantity in ADDITIVE:
                value = Quantity(arrays.total(value.magnitude), value.dimension)
            else:
                low = Quantity(float(value.magnitude.min()), value.dimension)
                high = Quantity(float(value.magnitude.max()), value.dimension)
                unit = unit or rounding.readable_unit(high)
                if self.digits >= rounding.MOST:  # nothing written limits it (cells of a table): as they are
                    return f"{format_number(low.to(unit))} to {format_number(high.to(unit))} {unit}"
                return f"{rounding.shown(low, self.digits, unit)} to {rounding.shown(high, self.digits, unit)}"
        return rounding.shown(value, self.digits, unit)

    def magnitude(self, unit: str) -> float | None:
        """The unrounded figure in `unit` (a sum over rows where it adds up), as `nnci run --format json` gives it."""
        if not isinstance(self.result, Derivation):
            return None
        value = self.result.value.to(unit)
        if arrays.is_array(value):
            return arrays.total(value) if self.quantity in ADDITIVE else None
        return float(value)


@attrs.frozen
class Device:
    name: str
    label: str | None
    count: str  # as evaluated: `10,000`, or a range over rows
    boundary: str | None  # what its embodied figure covers
    lifetime: str | None


@attrs.frozen
class Site:
    name: str
    label: str | None
    share: float | None  # of the work
    pue: str | None
    grid: str | None
    grid_label: str | None
    year: str | None  # of the grid's intensity
    intensity: str | None  # delivered to the site, α/τ
    energy: float | None  # J: the job's energy attributed to this site (see SITE_RULE)
    operational: float | None  # kgCO2e (SI)
    series: Hourly | None = None  # the site's intensity when it varies in time


@attrs.frozen
class Hourly:
    """A site's delivered intensity as a series: `values[k]` (gCO2e/kWh) holds from `start + k × step` (s)."""

    label: str  # as written: `profiles.solar`
    start: float
    step: float
    values: tuple[float, ...]


MANY_JOBS = 20  # more jobs than this: a paragraph for the largest few, every quantity only for the reported ones
TREE_LINES = 150  # a derivation longer than this is cut in the report (`nnci explain` prints it whole)
PARAGRAPHS = 5  # how many of the largest jobs get a paragraph when there are many

SITE_RULE = (
    "A multi-site job's energy is attributed to each site by its share of the work × its PUE, and its "
    "operational carbon by that energy × the site's delivered intensity, as the job's intensity is weighted."
)


@attrs.frozen
class Job:
    key: str
    kind: str
    doc: str | None
    method: str
    method_chosen: bool  # False: the default method, no `method =` in the job
    rows: int | None
    devices: tuple[Device, ...]
    duration: Figure | None
    device_hours: Figure | None
    pue: Figure | None
    sites: tuple[Site, ...]
    figures: dict[str, Figure]  # the reported figures
    every: tuple[Figure, ...]  # every quantity of the job that is known, for the table
    embodied_rule: str | None
    citations: tuple[int, ...]  # reference numbers of its own @source
    intensity: Figure | None = None  # the carbon intensity of its energy (over its hours, for a series)
    start: float | None = None  # seconds since 1970 (UTC), when the job gives `start`


@attrs.frozen
class Statement:
    files: tuple[str, ...]
    jobs: tuple[Job, ...]
    total: dict[str, Figure]
    equivalents: tuple[Equivalent, ...]
    equivalents_set: str
    references: tuple[refs.Reference, ...]
    cited: int  # references 1 to `cited` are those of the statement; the rest, of the table of every figure
    rule: str = rounding.RULE
    version: str = ""
    sampling: Sampled | None = None  # a Monte Carlo run: how many samples, which seed
    sensitivity: Ranking | None = None  # with samples: the inputs ranked by the spread of total carbon they explain


def build(results: Results, files: Sequence[str], equivalents_set: str) -> Statement:
    from nnci import __version__

    program = results.program
    engine = Engine(program)  # scalar, with whole derivation trees (a plan's lanes carry none)
    references = refs.Collector(program)
    sampling = results.sampling
    jobs = [_job(program, engine, job, references, sampling) for job in results.jobs]
    total = {name: _figure(program, engine, ir.TOTAL, name, references, results.total[name], sampling)
             for name in results.total}  # fmt: skip
    cited = len(references.found)  # the statement's own; the table of every figure may add more
    if len(jobs) <= MANY_JOBS:  # beyond that, the table lists each job's reported figures only
        jobs = [attrs.evolve(job, every=_every(program, engine, job, run, references, sampling))
                for job, run in zip(jobs, results.jobs, strict=True)]  # fmt: skip
    else:
        jobs = [attrs.evolve(job, every=tuple(job.figures.values())) for job in jobs]
    carbon = total.get("total")
    found: tuple[Equivalent, ...] = ()
    if carbon is not None and isinstance(carbon.result, Derivation):
        kg = rounding.round_to(float(carbon.result.value.to("kgCO2e")), carbon.digits)
        found = tuple(equivalents(kg, equivalents_set))
    ranking = None
    if sampling is not None and carbon is not None and carbon.summary is not None and sampling.samples >= MIN_SAMPLES:
        from nnci.uncertain.sensitivity import rank

        found_ranking = rank(program, ir.TOTAL, "total", sampling.samples, sampling.seed)
        ranking = found_ranking if not isinstance(found_ranking, Unknown) else None
    return Statement(tuple(str(f) for f in files), tuple(jobs), total, found, equivalents_set,
                     tuple(references.found), cited, rounding.INTERVAL_RULE if sampling else rounding.RULE,
                     __version__, sampling, ranking)  # fmt: skip


def _figure(
    program: ir.Program,
    engine: Engine,
    key: ir.BlockKey,
    name: str,
    references: refs.Collector,
    result: Result | None = None,
    sampling: Sampled | None = None,
) -> Figure:
    from nnci.output import explain

    traced = engine.quantity(key, name)  # the run's figure with its whole tree (a plan's lanes carry none)
    result = traced if result is None else result
    summary = sampling.of(str(key), name) if sampling is not None else None
    if summary is not None and summary.sd > 0 and isinstance(traced, Derivation):
        digits = rounding.interval_digits(traced.value.dimension, summary.p50, summary.p5, summary.p95)
    else:
        summary = None
        digits = rounding.justified(program, traced) if isinstance(traced, Derivation) else rounding.MOST
    citations = references.add_tree(traced)
    tree = explain(traced, program.sources).split("\n")
    if len(tree) > TREE_LINES:  # a sum over many jobs: the first lines, and how to see the rest
        tree = [
            *tree[:TREE_LINES],
            f"… {len(tree) - TREE_LINES:,} more lines: `nnci explain {key}.{name}` prints them all",
        ]
    return Figure(str(key), name, result, digits, "\n".join(tree), citations, summary)


def _job(
    program: ir.Program, engine: Engine, result: object, references: refs.Collector, sampling: Sampled | None
) -> Job:

    assert isinstance(result, JobResult)
    key = result.key
    block = program.blocks[key]
    own = tuple(references.add(c, "data") for c in block.citations)
    figures = {}
    for name in (*REPORTED, *REPORTED_IF_KNOWN):
        if name in result.quantities:
            figures[name] = _figure(program, engine, key, name, references, result.quantities[name], sampling)
    described = ("duration", "device_hours", "pue", "intensity")
    by_name = {name: _figure(program, engine, key, name, references, result.quantities.get(name), sampling)
               for name in described}  # fmt: skip
    by_name = {name: f for name, f in by_name.items() if f.known}
    start = engine.quantity(key, "start") if "start" in SCHEMA[block.kind] else None
    started = start.value.magnitude if isinstance(start, Derivation) else None
    notes = dict(result.notes.get("embodied", ()))
    rule = next(iter(notes.values()), None) if notes else None
    method = engine.method_of(key, None)
    return Job(
        str(key), block.kind, block.doc, method or DEFAULT_METHOD, method is not None, result.rows,
        tuple(_devices(program, engine, key)), by_name.get("duration"), by_name.get("device_hours"),
        by_name.get("pue"), tuple(_sites(program, engine, key, figures, result.per_row)), figures, (), rule, own,
        by_name.get("intensity"), float(started) if started is not None and not arrays.is_array(started) else None,
    )  # fmt: skip


def _every(
    program: ir.Program,
    engine: Engine,
    job: Job,
    run: JobResult,
    references: refs.Collector,
    sampling: Sampled | None,
) -> tuple[Figure, ...]:
    """Every quantity of the job that is known, in the schema's order, for the HTML table: the run's own
    figures where it has them (medians with --samples, sums over rows), else the engine's."""
    key = run.key
    found = []
    for name, spec in SCHEMA[program.blocks[key].kind].items():
        if spec.type != "quantity":
            continue
        figure = job.figures.get(name) or _figure(
            program, engine, key, name, references, run.quantities.get(name), sampling
        )
        if figure.known or name in job.figures:  # a reported figure that is unknown is listed as unknown
            found.append(figure)
    return tuple(found)


def _text_field(block: ir.Block, name: str, own: bool = False) -> str | None:
    """A text field's value; with `own`, only when the block itself writes it (an amend of a catalog
    record inherits the record's label, which describes the record, not the amend)."""
    field = block.fields.get(name)
    if field is None or not isinstance(field.expr, ir.Text):
        return None
    if own and block.base is not None and field.span.file != block.span.file:
        return None
    return " ".join(field.expr.value.split())  # on one line: a `\n` in a label would break a paragraph


def _count(value: Quantity | Unknown | None) -> str:
    if not isinstance(value, Quantity):
        return "?"
    magnitude = value.magnitude
    if arrays.is_array(magnitude):
        low, high = float(magnitude.min()), float(magnitude.max())
        return f"{low:,.0f}" if low == high else f"{low:,.0f}–{high:,.0f} (by row)"
    return f"{float(magnitude):,.0f}" if float(magnitude).is_integer() else f"{float(magnitude):,g}"


def _devices(program: ir.Program, engine: Engine, key: ir.BlockKey) -> list[Device]:
    fleet = program.blocks[key].fields.get("fleet")
    if fleet is None or not isinstance(fleet.expr, ir.BlockRef):
        return []
    devices = program.blocks[fleet.expr.block].fields.get("devices")
    if devices is None or not isinstance(devices.expr, ir.Map):
        return []
    found = []
    for entry in devices.expr.entries:
        device = program.blocks[entry.block]
        lifetime = engine.quantity(entry.block, "lifetime")
        found.append(Device(
            str(entry.block), _text_field(device, "label"), _count(engine.try_evaluate(entry.value, fleet.expr.block)),
            _text_field(device, "embodied_boundary"),
            lifetime.value.format("years", 3) if isinstance(lifetime, Derivation) else None,
        ))  # fmt: skip
    return found


def _known(result: Result) -> Quantity | None:
    """A known value that is one number (not per row, nor a series in time)."""
    if isinstance(result, Derivation) and not arrays.is_array(result.value.magnitude):
        return None if _is_series(result.value.magnitude) else result.value
    return None


def _is_series(magnitude: Any) -> bool:
    return bool(getattr(magnitude, "is_series", False))


def _hourly(result: Result) -> Hourly | None:
    """The delivered intensity of a site whose grid has a series, in gCO2e/kWh (scale × series + offset)."""
    if not isinstance(result, Derivation) or not _is_series(result.value.magnitude):
        return None
    value = result.value.magnitude
    factor = float(Quantity(1.0, result.value.dimension).to("gCO2e/kWh"))
    values = (value.series.values * value.scale + value.offset) * factor
    return Hourly(value.label or value.series.name, float(value.series.start), float(value.series.step),
                  tuple(float(v) for v in values))  # fmt: skip


def _scalar(result: Result) -> float:
    known = _known(result)
    return float(known.magnitude) if known is not None else math.nan


def _rounded(program: ir.Program, result: Result, unit: str | None = None) -> str:
    assert isinstance(result, Derivation)
    return rounding.shown(result.value, rounding.justified(program, result), unit)


def _sites(
    program: ir.Program, engine: Engine, key: ir.BlockKey, figures: dict[str, Figure], per_row: dict[str, Result]
) -> list[Site]:
    site = program.blocks[key].fields.get("site")
    if site is None or not isinstance(site.expr, ir.Map):
        return []
    entries = []
    for entry in site.expr.entries:
        share = engine.try_evaluate(entry.value, key)
        entries.append((entry.block, share.magnitude if isinstance(share, Quantity) else None,
                        engine.quantity(entry.block, "pue"), engine.quantity(entry.block, "intensity")))  # fmt: skip
    # a job over a table: its figures row by row, split by each row's shares (`site = jobs.cluster`)
    energy = _magnitude(per_row.get("energy") or (figures["energy"].result if "energy" in figures else None))
    carbon = _magnitude(
        per_row.get("operational") or (figures["operational"].result if "operational" in figures else None)
    )
    attributed = _attributed([(s, _scalar(p), _scalar(i)) for _, s, p, i in entries], energy, carbon)
    sites = []
    for (dc, share, pue_result, intensity_result), (site_energy, site_carbon) in zip(entries, attributed, strict=True):
        block = program.blocks[dc]
        grid_field = block.fields.get("grid")
        grid = grid_field.expr.block if grid_field is not None and isinstance(grid_field.expr, ir.BlockRef) else None
        year = _known(engine.quantity(grid, "year")) if grid else None
        sites.append(Site(
            str(dc), _text_field(block, "label", own=True),
            float(share) if share is not None and not arrays.is_array(share) else None,
            _rounded(program, pue_result) if _known(pue_result) is not None else None,
            str(grid) if grid else None, _text_field(program.blocks[grid], "label") if grid else None,
            f"{float(year.magnitude):.0f}" if year is not None else None,
            _rounded(program, intensity_result, "gCO2e/kWh") if _known(intensity_result) is not None else None,
            site_energy, site_carbon, _hourly(intensity_result),
        ))  # fmt: skip
    return sites


def _magnitude(result: Result | None) -> Any:
    return result.value.magnitude if isinstance(result, Derivation) else None


def _attributed(
    sites: list[tuple[Any, float, float]], energy: Any, carbon: Any
) -> list[tuple[float | None, float | None]]:
    """Each site's (energy J, operational kgCO2e) by SITE_RULE, summed over rows: per row, site d's weight is
    its share × PUE (its share alone when a PUE is unknown); energy splits by weight, carbon by weight × α."""
    nothing: list[tuple[float | None, float | None]] = [(None, None)] * len(sites)
    if len(sites) < 2 or energy is None or any(share is None for share, _, _ in sites):
        return nothing
    with_pue = all(math.isfinite(pue) for _, pue, _ in sites)
    weights = [share * (pue if with_pue else 1.0) for share, pue, _ in sites]
    whole = sum(weights[1:], weights[0])
    carried = [w * intensity for w, (_, _, intensity) in zip(weights, sites, strict=True)]
    carried_whole = sum(carried[1:], carried[0])
    found = []
    with arrays.quiet():
        for weight, part in zip(weights, carried, strict=True):
            site_energy = _summed(energy * weight / whole)
            site_carbon = _summed(carbon * part / carried_whole) if carbon is not None else None
            found.append((site_energy, site_carbon))
    return found


def _summed(value: Any) -> float | None:
    total = arrays.total(value) if arrays.is_array(value) else float(value)
    return total if math.isfinite(total) else None
