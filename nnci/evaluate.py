"""Evaluation: ask the engine for every job's reported quantities, the totals and the expectations."""

from __future__ import annotations

import functools
import math
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from nnci import arrays, ir
from nnci.diagnostics import Span
from nnci.engine import Derivation, Engine, MadeWhenRead, Result, Unknown
from nnci.plan import PLAN_MODULE, Group, Plan, compile_plan
from nnci.quantity import Quantity
from nnci.schema import ADDITIVE, METHODS, REPORTED, REPORTED_IF_KNOWN, SCHEMA
from nnci.uncertain import DEFAULT_SAMPLES
from nnci.units import unit_factor

if TYPE_CHECKING:
    from nnci.formulas.registry import Formula
    from nnci.uncertain.sampling import Summary
    from nnci.units import Dimension


@attrs.frozen
class JobResult:
    key: ir.BlockKey
    kind: str
    quantities: Mapping[str, Result]  # a job over a table: the sums over its rows; `LaneFigures` in a group
    citations: tuple[str, ...]
    rows: int | None = None  # the number of rows of a job over a table
    per_row: dict[str, Result] = attrs.field(factory=dict)  # its figures row by row (arrays)
    # per quantity, the rules applied beneath it: (label, note), in the order of the derivation
    notes: Mapping[str, tuple[tuple[str, str], ...]] = attrs.field(factory=dict)


@attrs.frozen
class ExpectResult:
    expect: ir.Expect
    expected: Quantity
    tolerance: Quantity  # absolute, in the expected value's dimension
    tolerance_text: str  # empty when the tolerance came from the digits written
    computed: Result

    @property
    def passed(self) -> bool:
        if not isinstance(self.computed, Derivation):
            return False
        if self.expect.statistic is not None:  # a bound: `p95(x) <= 600 tCO2e`
            return bool(arrays.compare(self.expect.op, self.computed.value.magnitude, self.expected.magnitude))
        allowed = max(self.tolerance.magnitude, abs(self.expected.magnitude) * 1e-12)  # `within 0 %`: to rounding
        return bool(abs(self.computed.value.magnitude - self.expected.magnitude) <= allowed * (1 + 1e-12))

    @property
    def ratio(self) -> float | None:
        if not isinstance(self.computed, Derivation) or self.expected.magnitude == 0:
            return None  # no ratio to a zero
        return float(self.computed.value.magnitude / self.expected.magnitude)


class UnknownQuantity(LookupError):
    """Raised by `Results.quantity` for a figure nnci cannot derive: the message says what is missing."""


@attrs.frozen
class Results:
    """Every job's figures, the totals and the expectations; `quantity()` gives any figure of any block."""

    program: ir.Program
    jobs: tuple[JobResult, ...]
    total: dict[str, Result]
    expects: tuple[ExpectResult, ...]
    engine: Engine
    # devices without a lifetime whose whole embodied carbon is charged to each of several jobs
    # and how many times each is counted (a job over a table counts it once per row)
    charged_in_full_by_several: tuple[tuple[ir.BlockKey, tuple[str, ...], int], ...] = ()
    sampling: Sampled | None = None  # with --samples: the figures above are medians; here their summaries
    derived: dict[str, Result] = attrs.field(factory=dict)  # the named figures (`figure x = a / b`)

    def figure(self, block: str, name: str | None = None) -> Result:
        """The derivation of a quantity of a block (`"serve"`, `"hw.h100_sxm"`, `"total"`), or of a named
        figure (`figure("serving_vs_training")`), or why it is unknown. A job over a table gives the sum
        over its rows (or, for a PUE, its one value)."""
        if name is None:
            if block not in self.derived:
                raise KeyError(f"no figure `{block}` (figures: {', '.join(self.derived) or 'none'})")
            return self.derived[block]
        key = self._key(block)
        job = next((j for j in self.jobs if j.key == key), None)
        if job is not None and name in job.quantities:
            return job.quantities[name]
        if key == ir.TOTAL and name in self.total:
            return self.total[name]
        kind = "inference" if key == ir.TOTAL else self.program.blocks[key].kind
        if name not in SCHEMA[kind] or SCHEMA[kind][name].type != "quantity":
            names = [n for n, spec in SCHEMA[kind].items() if spec.type == "quantity"]
            raise KeyError(f"{kind} `{block}` has no quantity `{name}` (it has: {', '.join(names)})")
        if key == ir.TOTAL and name not in ADDITIVE:
            raise KeyError(f"`total.{name}` is not a sum over jobs (total names: {', '.join(ADDITIVE)})")
        result = self.engine.quantity(key, name)
        table = self.program.rows_of(key)
        return summed(result, self.program.tables[table].rows) if table is not None else result

    def quantity(self, block: str, name: str | None = None) -> Quantity:
        """A figure's value: `results.quantity("serve", "energy_per_query").to("Wh/query")`. Raises
        `UnknownQuantity`, naming the inputs that would allow it, when nnci cannot derive it."""
        result = self.figure(block, name)
        if isinstance(result, Unknown):
            from nnci.output import unknown_reason

            raise UnknownQuantity(f"{result.label} is unknown: {unknown_reason(result)}")
        return result.value

    def _key(self, block: str) -> ir.BlockKey:
        if block == "total":
            return ir.TOTAL
        alias, _, rest = block.partition(".")
        if rest and alias in self.program.aliases:
            block = f"{self.program.aliases[alias]}.{rest}"
        key = next((k for k in self.program.blocks if str(k) == block), None)
        if key is None or "#" in key.name:
            roots = ", ".join(str(k) for k in self.program.roots)
            raise KeyError(f"no block `{block}` (blocks: {roots}; or `total`)")
        return key


@attrs.frozen
class Sampled:
    """A Monte Carlo run: how it was drawn, and each sampled figure's summary by (block, quantity)."""

    samples: int
    seed: int
    numpy: str
    summaries: dict[tuple[str, str], Summary]

    def of(self, block: str, name: str) -> Summary | None:
        return self.summaries.get((block, name))


ALL = "all"  # every quantity a job has, where known: `evaluate(..., figures=ALL)`


def figure_names(kind: str, figures: Sequence[str] | str) -> list[str]:
    """The quantities of a job of `kind` asked for beyond the reported ones, in the order declared."""
    names = [n for n, spec in SCHEMA[kind].items() if spec.type == "quantity"]
    if figures == ALL:
        return names
    return [n for n in figures if n in names]


def evaluate(
    program: ir.Program,
    engine: Engine | None = None,
    plan: Plan | None = None,
    figures: Sequence[str] | str = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> Results:
    """`engine` (built on `plan.program`) may be the one that checked the program, so nothing is derived twice.
    `figures` names quantities to derive for every job beside the reported ones (`duration`, `compute`,
    ...; those a job has, known or not), or `ALL`: every quantity each job has, where known. Bounds on
    statistics of samples (`expect p95(x) <= …`) are judged on `samples` draws from `seed`."""
    plan = plan or compile_plan(program)
    engine = engine or Engine(plan.program)
    done: dict[ir.BlockKey, JobResult] = {}
    for group in plan.groups:
        lanes = _lanes(program, plan, engine, group, figures) if group.stacked is not None else None
        if lanes is None:  # one by one (also when a stacked group has an unknown: its messages name each job)
            lanes = [_job(program, engine, key, figures) for key in group.jobs]
        done.update((job.key, job) for job in lanes)
    jobs = tuple(done[key] for key in program.jobs)
    total = _totals(engine, jobs, figures)
    derived = {name: engine.quantity(ir.FIGURE, name) for name, figure in program.figures.items() if figure.named}
    if engine.sampler is not None:
        return _summarised(program, jobs, total, engine, derived)
    expects = tuple(
        e for e in (_expect(engine, expect) for expect in program.expects if expect.statistic is None) if e is not None
    )
    bounds = [expect for expect in program.expects if expect.statistic is not None]
    if bounds:
        expects += _bounds(program, engine, bounds, samples, seed)
    charged = _charged_in_full_by_several(program, engine, jobs, plan)
    return Results(program, jobs, total, expects, engine, charged, derived=derived)


def _bounds(
    program: ir.Program, engine: Engine, bounds: list[ir.Expect], samples: int, seed: int
) -> tuple[ExpectResult, ...]:
    """Bounds on statistics of samples (`expect p95(x) <= 600 tCO2e`), judged on one Monte Carlo run of
    `samples` draws from `seed`; the tolerance text says which."""
    from nnci.uncertain.sampling import Sampler, summarise, unsampled_tables

    refused = unsampled_tables(program)
    sampled = Engine(program, sampler=Sampler(samples, seed)) if not refused else None
    results = []
    for expect in bounds:
        expected = engine.try_evaluate(expect.value, None)
        if not isinstance(expected, Quantity):
            continue
        computed: Result
        if sampled is None:
            reason = "a job over a table that reads an uncertain input cannot be sampled yet (E410)"
            computed = Unknown(expect.block, expect.quantity, (f"{expect.block}.{expect.quantity}",), reason)
        else:
            computed = sampled.quantity(expect.block, expect.quantity)
        if isinstance(computed, Derivation):
            statistic = summarise(computed.value.magnitude, samples).statistic(expect.statistic or "p50")
            computed = attrs.evolve(computed, value=Quantity(statistic, computed.value.dimension), inputs=())
        text = f"{expect.statistic} of {samples:,} samples, seed {seed}"
        results.append(ExpectResult(expect, expected, Quantity(0.0, expected.dimension), text, computed))
    return tuple(results)


def _summarised(
    program: ir.Program,
    jobs: tuple[JobResult, ...],
    total: dict[str, Result],
    engine: Engine,
    derived: dict[str, Result] | None = None,
) -> Results:
    """The figures of a Monte Carlo run as their medians (what every output shows as the value), each
    with its summary beside it. Expectations are judged on deterministic runs, so none are kept here."""
    from nnci.uncertain.sampling import summarise

    sampler = engine.sampler
    assert sampler is not None
    summaries: dict[tuple[str, str], Summary] = {}

    def median(label: str, quantities: Mapping[str, Result]) -> dict[str, Result]:
        shown: dict[str, Result] = {}
        for name, result in quantities.items():
            if isinstance(result, Derivation):
                summary = summarise(result.value.magnitude, sampler.samples)
                summaries[label, name] = summary
                result = attrs.evolve(result, value=Quantity(summary.p50, result.value.dimension))
            shown[name] = result
        return shown

    jobs = tuple(attrs.evolve(job, quantities=median(str(job.key), job.quantities)) for job in jobs)
    total = median("total", total)
    figures = median(str(ir.FIGURE), derived or {})  # named figures (`figure r = a.total / b.total`)
    sampled = Sampled(sampler.samples, sampler.seed, sampler.numpy_version, summaries)
    charged = _charged_in_full_by_several(program, engine, jobs)
    return Results(program, jobs, total, (), engine, charged, sampled, derived=figures)


def _charged_in_full_by_several(
    program: ir.Program, engine: Engine, jobs: tuple[JobResult, ...], plan: Plan | None = None
) -> tuple[tuple[ir.BlockKey, tuple[str, ...], int], ...]:
    """total.embodied counts such a device once per job: worth a warning. Jobs of a stacked group are
    looked at through the group's stacked blocks (one question for all), not block by block."""
    charged: dict[ir.BlockKey, list[JobResult]] = {}
    stacked = _charged_by_lane(engine, plan) if plan is not None else {}
    for job in jobs:
        if _formula_name(job, "embodied") != "nn-emb":
            continue
        by_lane = stacked.get(job.key)
        devices = by_lane if by_lane is not None else _charged_devices(program, engine, job.key)
        for device in devices:
            charged.setdefault(device, []).append(job)
    found = []
    for device, by in charged.items():
        if len(by) == 1 and not by[0].rows:
            continue  # charged once
        count = sum(job.rows or 1 for job in by)
        if count > 1:
            found.append((device, tuple(str(j.key) + (f" ({j.rows:,} rows)" if j.rows else "") for j in by), count))
    return tuple(found)


def _formula_name(job: JobResult, name: str) -> str | None:
    """The name of the formula that gave a job's figure (None: given, or unknown)."""
    quantities = job.quantities
    if isinstance(quantities, LaneFigures):  # its group's, without making the job's Derivation
        formula = quantities.columns[name].formula if name in quantities.columns else None
    else:
        result = quantities[name]
        formula = result.formula if isinstance(result, Derivation) else None
    return formula.name if formula is not None else None


def _charged_devices(program: ir.Program, engine: Engine, job: ir.BlockKey) -> list[ir.BlockKey]:
    """The devices of a job's fleet whose embodied carbon is charged in full: no lifetime to amortise over.
    Under the nnci method only a given lifetime exists (no formula supplies one)."""
    return [
        device
        for device in _fleet_devices(program, job)
        if "lifetime" not in program.blocks[device].fields
        or not isinstance(engine.quantity(device, "lifetime"), Derivation)
    ]


def _charged_by_lane(engine: Engine, plan: Plan) -> dict[ir.BlockKey, list[ir.BlockKey]]:
    """`_charged_devices` of every job of a stacked group, asked once of the group's stacked job."""
    out: dict[ir.BlockKey, list[ir.BlockKey]] = {}
    for group in plan.groups:
        if group.stacked is None:
            continue
        devices = _charged_devices(plan.program, engine, group.stacked)
        lifetimes = [engine.quantity(d, "lifetime") for d in _fleet_devices(plan.program, group.stacked)]
        if any(isinstance(r, Derivation) and arrays.bad_rows(r.value.magnitude) for r in lifetimes):
            continue  # known in some jobs only: asked job by job
        for lane, job in enumerate(group.jobs):
            out[job] = [plan.lane_key(device, lane) for device in devices]
    return out


def _totals(engine: Engine, jobs: tuple[JobResult, ...], figures: Sequence[str] | str = ()) -> dict[str, Result]:
    """The sums over jobs of the reported figures (and of the other figures asked for that add up), from
    the jobs' own results (and remembered, for `total.*` in expectations): each correctly rounded,
    unknown if any job's is. A figure only some kinds of job have (queries) sums over those. The jobs
    of a stacked group are summed from its columns; the sum's inputs are made when read."""
    totals: dict[str, Result] = {}
    asked = [n for n in (figures if figures != ALL else ADDITIVE) if n in ADDITIVE and n not in REPORTED]
    kinds = {job.kind for job in jobs}
    parts = {kind: _Parts([job for job in jobs if job.kind == kind]) for kind in kinds}
    for name in dict.fromkeys((*REPORTED, *REPORTED_IF_KNOWN, *asked)):
        having_kinds = [kind for kind in kinds if name in SCHEMA[kind]]
        having = list(jobs) if len(having_kinds) == len(kinds) else [j for j in jobs if j.kind in having_kinds]
        if name not in REPORTED and not having:
            continue
        found = [parts[kind].values(name) for kind in having_kinds] if having else [None]
        known = [f for f in found if f is not None]
        if len(known) != len(found):
            if name in REPORTED_IF_KNOWN or (figures == ALL and name not in REPORTED):
                continue  # shown where known
            totals[name] = engine.quantity(ir.TOTAL, name)  # says what is missing, as `total.*` does
            continue
        samples = any(some for _, _, some in known)
        # floats in any order (`math.fsum` is correctly rounded); samples element-wise, in the jobs' order
        values = [_magnitude(job, name) for job in having] if samples else [v for f in known for v in f[0]]
        dimension = known[0][1]
        inputs = MadeWhenRead(len(having), functools.partial(_inputs, having, name))
        try:
            value = _sum(values) if samples else math.fsum(values)
        except OverflowError:  # every job's is a float, their sum is not
            reason = "the sum over jobs is too large for a 64-bit float (it overflows)"
            totals[name] = Unknown(ir.TOTAL, name, (f"total.{name}",), reason, fault=True)
        else:
            totals[name] = Derivation(ir.TOTAL, name, Quantity(value, dimension), None, inputs)
        engine.remember(totals[name])
    return totals


class _Parts:
    """The jobs of one kind as the stacked groups' columns and the other jobs' results."""

    def __init__(self, jobs: list[JobResult]) -> None:
        self.groups: dict[Stacked, int] = {}  # a stacked group → how many of its jobs are here: all
        self.others: list[JobResult] = []
        for job in jobs:
            quantities = job.quantities
            if quantities.__class__ is LaneFigures:
                group = quantities.group  # type: ignore[attr-defined]
                self.groups[group] = self.groups.get(group, 0) + 1
            else:
                self.others.append(job)
        assert all(count == len(group.keys) for group, count in self.groups.items()), "a group has one kind"

    def values(self, name: str) -> tuple[list[Any], Dimension, bool] | None:
        """Every job's value of a figure (a group's whole column at once), its dimension and whether
        some value is an array (of samples); None if some job's is not known."""
        values: list[Any] = []
        dimension = None
        for group in self.groups:
            column = group.columns.get(name)
            if column is None:
                return None
            values += column.values
            dimension = column.dimension
        some_array = False
        for job in self.others:
            result = job.quantities.get(name)
            if result.__class__ is not Derivation:
                return None
            magnitude = result.value.magnitude  # type: ignore[union-attr]
            some_array = some_array or (magnitude.__class__ is not float and arrays.is_array(magnitude))
            values.append(magnitude)
            dimension = result.value.dimension  # type: ignore[union-attr]
        return (values, dimension, some_array) if dimension is not None else None


def _magnitude(job: JobResult, name: str) -> Any:
    quantities = job.quantities
    if isinstance(quantities, LaneFigures):
        return quantities.magnitude(name)
    return typing.cast("Derivation", quantities[name]).value.magnitude


def _inputs(jobs: list[JobResult], name: str) -> tuple[Derivation, ...]:
    return tuple(typing.cast("Derivation", job.quantities[name]) for job in jobs)


def _sum(values: list[Any]) -> Any:
    """Correctly rounded over scalars; over samples, element-wise in the jobs' order."""
    if not any(arrays.is_array(v) for v in values):
        return math.fsum(float(v) for v in values)
    result = values[0]
    for value in values[1:]:
        result = result + value
    return result


def _fleet_devices(program: ir.Program, job: ir.BlockKey) -> list[ir.BlockKey]:
    fleet = program.blocks[job].fields.get("fleet")
    if fleet is None or not isinstance(fleet.expr, ir.BlockRef):
        return []
    devices = program.blocks[fleet.expr.block].fields.get("devices")
    return [e.block for e in devices.expr.entries] if devices and isinstance(devices.expr, ir.Map) else []


def compare(program: ir.Program, job: ir.BlockKey) -> list[tuple[str, dict[str, Result]]]:
    """One job under every method whose inputs give at least one of the reported figures."""
    rows = []
    table = program.rows_of(job)
    for method in METHODS:
        engine = Engine(program, {job: method})
        quantities = {name: engine.quantity(job, name) for name in REPORTED}
        if table is not None:  # a job over a table: the sums over its rows
            quantities = {name: summed(q, program.tables[table].rows) for name, q in quantities.items()}
        if any(isinstance(q, Derivation) for q in quantities.values()):
            rows.append((method, quantities))
    return rows


def _job(program: ir.Program, engine: Engine, key: ir.BlockKey, figures: Sequence[str] | str = ()) -> JobResult:
    block = program.blocks[key]
    quantities = _reported(engine, key, figures)
    notes = {name: tuple((n.label, n.note or "") for n in noted(r)) for name, r in quantities.items()}
    table = program.rows_of(key)
    if table is None:
        return JobResult(key, block.kind, quantities, block.citations, notes=notes)
    rows = program.tables[table].rows
    sums = {name: summed(result, rows) for name, result in quantities.items()}
    return JobResult(key, block.kind, sums, block.citations, rows, quantities, notes)


def _lanes(
    program: ir.Program, plan: Plan, engine: Engine, group: Group, figures: Sequence[str] | str = ()
) -> list[JobResult] | None:
    """Each job's figures from the group's stacked job; None when some figure is unknown or faulty."""
    assert group.stacked is not None
    stacked = _reported(engine, group.stacked, figures)
    if any(not isinstance(r, Derivation) or arrays.bad_rows(r.value.magnitude) for r in stacked.values()):
        return None
    kind = plan.program.blocks[group.stacked].kind  # every job of the group is of its kind
    unknown = [engine.quantity(group.stacked, n) for n in _optional(kind, figures) if n not in stacked]
    if any(isinstance(r, Unknown) and r.fault for r in unknown):
        return None
    # Only a sum over jobs (`total.*`) would derive an unknown figure of each job again: those are said
    # of each job's own blocks when asked (the texts split once here, not searched per job).
    summed_unknown = {
        r.name: (r, [_lane_parts(m) for m in r.missing])
        for r in unknown
        if isinstance(r, Unknown) and r.name in ADDITIVE
    }
    # per figure beneath a job's figure that carries a note: the blocks it stands for, job by job
    noted_nodes = {
        name: [(plan.lanes.get(n.block), n.block, n.name, n.note or "") for n in noted(r)]
        for name, r in stacked.items()
    }
    columns = {name: _column(result, len(group.jobs)) for name, result in stacked.items()}
    no_notes: dict[str, tuple[()]] = {name: () for name in noted_nodes}  # most have none
    count = len(group.jobs)
    # per figure with notes, each note's label in every job (`gpu3.power`), made column by column
    with_notes = [
        (
            name,
            [([f"{k}.{n}" for k in blocks] if blocks else [f"{b}.{n}"] * count, note) for blocks, b, n, note in nodes],
        )
        for name, nodes in noted_nodes.items()
        if nodes
    ]
    stacked_group = Stacked(columns, group.jobs, with_notes)
    jobs = []
    for lane, key in enumerate(group.jobs):
        quantities = LaneFigures(stacked_group, lane, key, program)
        # asked later (`total.*`, an expectation), a job's figure is its entry, not derived again
        engine.deferred[key] = functools.partial(_lane_figure, plan, quantities, summed_unknown, key, lane)
        # shared when there are none (a JobResult is never changed), else read from the label columns
        notes: Mapping[str, tuple[tuple[str, str], ...]] = (
            LaneNotes(no_notes, with_notes, lane) if with_notes else no_notes
        )
        citations = ir.citations(program, key)  # not the block: from the cache, it is not built
        jobs.append(JobResult(key, kind, quantities, citations, notes=notes))
    return jobs


@attrs.frozen
class Column:
    """A figure of a stacked group: its value in each job (Python floats), and what every job's shares."""

    values: list[float]
    dimension: Dimension
    formula: Formula | None
    given: Span | None  # given in a field of each job's block: where the stacked block's is
    note: str | None


def _column(result: Result, jobs: int) -> Column:
    assert isinstance(result, Derivation)
    magnitude = result.value.magnitude
    values = magnitude.tolist() if arrays.is_array(magnitude) else [float(magnitude)] * jobs
    return Column(values, result.value.dimension, result.formula, result.span, result.note)


class LaneNotes(Mapping[str, tuple[tuple[str, str], ...]]):
    """The notes of one job of a stacked group, per figure: (label, note) pairs read from the
    group's label columns when asked (JSON writes a group's notes from the columns at once)."""

    __slots__ = ("_lane", "_names", "_noted")

    def __init__(
        self, names: dict[str, tuple[()]], noted: list[tuple[str, list[tuple[list[str], str]]]], lane: int
    ) -> None:
        self._names, self._noted, self._lane = names, noted, lane

    def __getitem__(self, name: str) -> tuple[tuple[str, str], ...]:
        for noted_name, labelled in self._noted:
            if noted_name == name:
                return tuple([(labels[self._lane], note) for labels, note in labelled])
        return self._names[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@attrs.frozen(eq=False)
class Stacked:
    """What the jobs of a stacked group share: their figures as columns, their keys, and per figure
    with notes each note's label in every job (`gpu3.power`) with its text."""

    columns: dict[str, Column]
    keys: tuple[ir.BlockKey, ...]
    notes: list[tuple[str, list[tuple[list[str], str]]]]


class LaneFigures(Mapping[str, Result]):
    """The figures of one job of a stacked group, read from the group's columns: a job's Derivation
    is made only when it is asked for (JSON, the table and the totals read the columns)."""

    __slots__ = ("_made", "_program", "group", "key", "lane")

    def __init__(self, group: Stacked, lane: int, key: ir.BlockKey, program: ir.Program) -> None:
        self.group, self.lane, self.key, self._program = group, lane, key, program
        self._made: dict[str, Derivation] = {}

    @property
    def columns(self) -> dict[str, Column]:
        return self.group.columns

    def __getitem__(self, name: str) -> Result:
        made = self._made.get(name)
        if made is None:
            column = self.columns[name]
            span = ir.written(self._program, self.key)[1].get(name) if column.given else None
            value = Quantity(column.values[self.lane], column.dimension)
            made = self._made[name] = Derivation(self.key, name, value, column.formula, (), span, column.note)
        return made

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def magnitude(self, name: str) -> float:
        """A figure's value in SI units, without making its Derivation."""
        return self.columns[name].values[self.lane]

    def alike(self, name: str) -> Derivation:
        """A figure with this job's value, formula and note, but where a given one was written in the
        stacked block: what an output's template needs, without reading where each job's was."""
        column = self.columns[name]
        value = Quantity(column.values[self.lane], column.dimension)
        return Derivation(self.key, name, value, column.formula, (), column.given, column.note)


def _lane_figure(
    plan: Plan,
    known: Mapping[str, Result],
    unknowns: dict[str, tuple[Unknown, list[list[str]]]],
    key: ir.BlockKey,
    lane: int,
    name: str,
) -> Result | None:
    """One job's figure from its stacked group's: known, or unknown as the group's is, said of the
    job's own blocks (None: neither, so the engine derives it)."""
    if name in known:
        return known[name]
    found = unknowns.get(name)
    if found is None:
        return None
    result, parts = found
    return Unknown(key, name, tuple(_in_lane(plan, split, lane) for split in parts), result.reason)


def _lane_parts(text: str) -> list[str]:
    """A message about stacked blocks, split into text (even places) and stacked block names (odd)."""
    return STACKED_NAME.split(text) if PLAN_MODULE in text else [text]


def _in_lane(plan: Plan, parts: list[str], lane: int) -> str:
    """A message about stacked blocks (split once by `_lane_parts`), said of one job's blocks."""
    if len(parts) == 1:
        return parts[0]
    return "".join(p if i % 2 == 0 else str(plan.lanes[ir.BlockKey(PLAN_MODULE, p)][lane]) for i, p in enumerate(parts))


STACKED_NAME = re.compile(re.escape(PLAN_MODULE) + r"\.(.*?#\d+)")


def noted(node: Result) -> list[Derivation]:
    """The derivations beneath a figure that carry a note on the rule applied, depth first."""
    if not isinstance(node, Derivation):
        return []
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.note:
            found.append(current)
        stack.extend(reversed(current.inputs))
    return found


def sums_rows(node: Derivation) -> bool:
    """Whether the node is what `summed` makes: a job's figure over its table's rows, its only input
    the same figure per row."""
    return (
        len(node.inputs) == 1
        and node.formula is node.inputs[0].formula
        and (node.inputs[0].block, node.inputs[0].name) == (node.block, node.name)
        and node.note is not None
        and node.note.startswith(_SUM_OVER)
    )


_SUM_OVER = "Σ over "  # the note of a sum over rows: `Σ over 3 rows`


def summed(result: Result, rows: int) -> Result:
    """A job's figure over all its rows: the correctly rounded sum of the per-row values. A quantity that
    does not add up over jobs (a PUE, an intensity) has no sum: it is known only if no row differs."""
    if result.name not in ADDITIVE:
        if isinstance(result, Derivation) and arrays.is_array(result.value.magnitude):
            reason = f"it differs by row and is not a sum; explain one row (`{result.block}[1].{result.name}`)"
            return Unknown(result.block, result.name, (result.label,), reason)
        return result
    if not isinstance(result, Derivation) or not arrays.is_array(result.value.magnitude):
        if isinstance(result, Derivation):  # the same in every row (no input varies by row)
            value = Quantity(result.value.magnitude * rows, result.value.dimension)
            return Derivation(
                result.block, result.name, value, result.formula, (result,), note=f"{_SUM_OVER}{rows:,} rows"
            )
        return result
    unknown = arrays.bad_rows(result.value.magnitude)
    if unknown:
        reason = f"`{result.label}` is unknown in {arrays.rows_text(unknown, rows)}, so its sum is too"
        return Unknown(result.block, result.name, (result.label,), reason, fault=True)
    value = Quantity(arrays.total(result.value.magnitude), result.value.dimension)
    return Derivation(result.block, result.name, value, result.formula, (result,), note=f"{_SUM_OVER}{rows:,} rows")


def _optional(kind: str, figures: Sequence[str] | str) -> list[str]:
    """The quantities a job shows only where known: net operational carbon, water; with `ALL`, every other."""
    extra = [n for n in figure_names(kind, ALL) if n not in REPORTED] if figures == ALL else []
    return list(dict.fromkeys([*REPORTED_IF_KNOWN, *extra]))


def _reported(engine: Engine, key: ir.BlockKey, figures: Sequence[str] | str = ()) -> dict[str, Result]:
    """The reported quantities, the optional ones when known, and the figures asked for by name (known or not)."""
    kind = engine.program.blocks[key].kind
    quantities = {name: engine.quantity(key, name) for name in REPORTED}
    for name in _optional(kind, figures):
        result = engine.quantity(key, name)
        if isinstance(result, Derivation):
            quantities[name] = result
    if figures != ALL:
        for name in figure_names(kind, figures):
            if name not in quantities:
                quantities[name] = engine.quantity(key, name)
    return quantities


def _expect(engine: Engine, expect: ir.Expect) -> ExpectResult | None:
    """None when the expected value or tolerance cannot be computed (check reports why)."""
    expected = engine.try_evaluate(expect.value, None)
    if not isinstance(expected, Quantity):
        return None
    computed = engine.quantity(expect.block, expect.quantity)
    table = engine.program.rows_of(expect.block)
    if table is not None:
        computed = summed(computed, engine.program.tables[table].rows)
    if expect.tolerance is None:
        assert isinstance(expect.value, ir.Const), "resolve requires `within` for anything but a literal"
        tolerance = Quantity(half_last_digit(expect.value), expected.dimension)
        text = ""  # shown by the output as ± the absolute tolerance
    else:
        given = engine.try_evaluate(expect.tolerance, None)
        if not isinstance(given, Quantity):
            return None
        if ir.is_percentage(expect.tolerance):
            tolerance = Quantity(abs(expected.magnitude) * given.magnitude, expected.dimension)
            text = f"{given.magnitude * 100:g} %"
        else:
            tolerance = Quantity(given.magnitude, expected.dimension)
            text = "± " + given.format()
    return ExpectResult(expect, expected, tolerance, text, computed)


def half_last_digit(const: ir.Const) -> float:
    """Half a unit in the last written digit, in SI: `552.1 tCO2e` → 50 kg, `1287 MWh` → 0.5 MWh."""
    written, _, unit = const.text.partition(" ")
    match = re.fullmatch(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", written.replace("_", ""))
    assert match is not None
    decimals = len(match.group(2) or "")
    exponent = int(match.group(3) or 0)
    return 0.5 * 10.0 ** (exponent - decimals) * unit_factor(unit)
