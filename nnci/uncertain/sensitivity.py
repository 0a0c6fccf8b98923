"""`nnci sensitivity`: which uncertain inputs explain the spread of one figure.

Method: the squared Spearman rank correlation between each input's draws and the figure, over one
Monte Carlo run. Why this one: it costs one array evaluation whatever the number of inputs; it is
invariant to monotone transforms, so a product of lognormals (carbon = energy × intensity) or a
PUE that multiplies everything is ranked by its real effect, not by its units; and for a figure
that is monotone in independent inputs the squares add up to about 1, so each reads as a share of
the (rank) variance explained. Beside it, a one-at-a-time swing: the figure with that input at its
5th and then 95th percentile and every other input at its median (the tornado of decision
analysis; both ends come from a second, single array evaluation of 2k + 1 lanes). An input the
figure never reads, or one without spread, explains nothing: it ranks last with 0.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from nnci import arrays, ir
from nnci.engine import Derivation, Engine, Unknown
from nnci.quantity import Quantity
from nnci.uncertain.distributions import DISTRIBUTIONS
from nnci.uncertain.sampling import Input, Sampler, Summary, summarise

# Below this many draws a rank correlation is mostly noise (its standard error is about 1/√(n − 1), so
# 0.1 at 100 draws) and with 1 or 2 draws it is ±1 or 0 whatever the model: `nnci sensitivity` refuses
# fewer, and the report leaves the ranking out rather than print it.
MIN_SAMPLES = 100

METHOD = (
    "squared Spearman rank correlation between each input's draws and the figure over one Monte Carlo run; "
    "swing: the figure with one input at its 5th, then 95th percentile, every other input at its median"
)


@attrs.frozen
class Influence:
    input: Input
    reaches: bool  # whether the figure reads this input at all
    spearman: float  # rank correlation of the input's draws with the figure (0 if it does not reach it)
    low: float | None  # the figure (SI) with this input at its 5th percentile, the others at their medians
    high: float | None  # … at its 95th percentile

    @property
    def explained(self) -> float:
        return self.spearman**2

    @property
    def swing(self) -> float:
        return 0.0 if self.low is None or self.high is None else abs(self.high - self.low)


@attrs.frozen
class Ranking:
    label: str
    unit_dimension: Any
    summary: Summary
    samples: int
    seed: int
    numpy: str
    influences: tuple[Influence, ...]  # most influential first

    @property
    def total_explained(self) -> float:
        return sum(i.explained for i in self.influences)


def rank(program: ir.Program, key: ir.BlockKey, name: str, samples: int, seed: int) -> Ranking | Unknown:
    """Rank every uncertain input of the program by the spread of `key.name` it explains."""
    import numpy

    sampler = Sampler(samples, seed)
    figure = Engine(program, sampler=sampler).quantity(key, name)
    if isinstance(figure, Unknown):
        return figure
    every = all_inputs(program)
    reached = [k for k in every if k in sampler.inputs]
    # one-at-a-time: lane 0 has every input at its median, lanes 2i+1 and 2i+2 input i at p5 and p95
    lanes = 1 + 2 * len(reached)
    design = {}
    for index, input_key in enumerate(reached):
        probabilities = numpy.full(lanes, 0.5)
        probabilities[2 * index + 1], probabilities[2 * index + 2] = 0.05, 0.95
        design[input_key] = probabilities
    swings = Engine(program, sampler=Sampler(lanes, seed, design)).quantity(key, name)
    values = figure.value.magnitude
    influences = []
    for input_key, written in every.items():
        drawn = sampler.inputs.get(input_key)
        if drawn is None:
            influences.append(Influence(written, False, 0.0, None, None))
            continue
        low: float | None = None
        high: float | None = None
        if isinstance(swings, Derivation) and arrays.is_array(swings.value.magnitude):
            index = reached.index(input_key)
            low, high = (float(swings.value.magnitude[2 * index + j]) for j in (1, 2))
        shown = attrs.evolve(written, params=drawn.params)  # named where it is written, as drawn
        influences.append(Influence(shown, True, _spearman(sampler.draws[input_key], values), low, high))
    influences.sort(key=lambda i: (-i.explained, -i.swing, not i.reaches, i.input.label))
    summary = summarise(values, samples)
    return Ranking(f"{key}.{name}", figure.value.dimension, summary, samples, seed, sampler.numpy_version,
                   tuple(influences))  # fmt: skip


def _spearman(draws: Any, values: Any) -> float:
    """Pearson correlation of the ranks, ties sharing their mean rank (a `choice` has many; a figure
    without spread correlates with nothing)."""
    import numpy

    if not getattr(values, "ndim", 0) or numpy.ptp(values) == 0 or numpy.ptp(draws) == 0:
        return 0.0
    x, y = _ranks(draws), _ranks(values)
    x -= x.mean()
    y -= y.mean()
    return float((x @ y) / numpy.sqrt((x @ x) * (y @ y)))


def _ranks(values: Any) -> Any:
    """1-based ranks, each run of equal values at the mean of the ranks it spans."""
    import numpy

    order = numpy.argsort(values, kind="stable")
    ordered = values[order]
    starts = numpy.flatnonzero(numpy.r_[True, ordered[1:] != ordered[:-1]])
    counts = numpy.diff(numpy.r_[starts, len(values)])
    mean_rank = starts + (counts + 1) / 2
    ranks = numpy.empty(len(values))
    ranks[order] = numpy.repeat(mean_rank, counts)
    return ranks


def all_inputs(program: ir.Program) -> dict[tuple[str, int, int], Input]:
    """Every distribution written in the program's blocks (an amend's copy counts once), with the block
    field where it is written, in source order."""
    from nnci.engine import source_text

    found: dict[tuple[str, int, int], Input] = {}
    central = Engine(program)  # the parameters, evaluated as a run without samples does
    for block in program.blocks.values():
        if block.key.module == ir.PLAN_MODULE:
            continue
        for field in block.fields.values():
            for expr in _distributions(field.expr):
                key = Sampler.key(expr.span)
                if key in found and block.base is not None:
                    continue
                params = tuple(_params(central, expr, block.key))
                text = source_text(program.sources, expr.span) or expr.name
                found[key] = Input(f"{block.key}.{field.name}", text, DISTRIBUTIONS[expr.name], params, expr.span)
    return dict(sorted(found.items(), key=lambda item: (item[1].span.file, item[1].span.line, item[1].span.column)))


def _params(engine: Engine, expr: ir.Distribution, block: ir.BlockKey) -> list[float]:
    values = [engine.try_evaluate(a, block) for a in expr.args]
    return [float(v.magnitude) if isinstance(v, Quantity) and not arrays.is_array(v.magnitude) else math.nan
            for v in values]  # fmt: skip


def _distributions(expr: ir.Expr) -> list[ir.Distribution]:
    if isinstance(expr, ir.Distribution):
        return [expr]
    if isinstance(expr, ir.Binary):
        return _distributions(expr.left) + _distributions(expr.right)
    if isinstance(expr, ir.Negate):
        return _distributions(expr.operand)
    if isinstance(expr, ir.Call):
        return [d for a in expr.args for d in _distributions(a)]
    if isinstance(expr, ir.Map):
        return [d for e in expr.entries for d in _distributions(e.value)]
    return []
