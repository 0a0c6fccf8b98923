"""Seeded Monte Carlo: one array of draws per uncertain input, and the summaries reported.

An input is one distribution as written (its place in a file): every block, job and scenario that
uses it reads the same draws, so a comparison of two jobs is not blurred by independent noise (an
amend copies its base's distribution, and so shares its draws). Each input has its own stream,
derived from the seed and the input's place (file name, line, column), so adding an input elsewhere
leaves the others' draws as they were. numpy is imported only here, and only when sampling.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import attrs

from nnci import ir
from nnci.diagnostics import Diagnostic, Span
from nnci.uncertain import DEFAULT_SAMPLES, STATISTICS

__all__ = ["DEFAULT_SAMPLES", "STATISTICS", "Input", "Sampler", "Summary", "summarise", "uncertain_blocks"]
from nnci.uncertain.distributions import Distribution

PERCENTILES = (5.0, 50.0, 95.0)


@attrs.frozen
class Input:
    """One uncertain input: where it is written, what it is, and the block field that holds it."""

    label: str  # block.field where it is written
    text: str  # the distribution as written: `uniform(280 W, 330 W)`
    distribution: Distribution
    params: tuple[float, ...]  # in SI units
    span: Span


def stream_key(span: Span, text: str) -> int:
    """A stable number for an input: its file's name (not the path it was named by, so the draws do not
    depend on the working folder), line, column and text (two files of one name hold different inputs
    at one place only if they are copies)."""
    return zlib.crc32(f"{PurePath(span.file).name}:{span.line}:{span.column}:{text}".encode())


class Sampler:
    """Draws for every input the engine meets. `design` fixes some inputs' probabilities instead of
    drawing them (the one-at-a-time swings of `nnci sensitivity`): input key → an array of n probabilities."""

    def __init__(self, samples: int, seed: int, design: dict[tuple[str, int, int], Any] | None = None) -> None:
        import numpy

        self.samples = samples
        self.seed = seed
        self.numpy_version = numpy.__version__
        self.design = design
        self.draws: dict[tuple[str, int, int], Any] = {}
        self.inputs: dict[tuple[str, int, int], Input] = {}

    @staticmethod
    def key(span: Span) -> tuple[str, int, int]:
        return (span.file, span.line, span.column)

    def draw(self, distribution: Distribution, params: Sequence[float], span: Span, label: str, text: str) -> Any:
        key = self.key(span)
        if key in self.draws:
            return self.draws[key]
        import numpy

        self.inputs[key] = Input(label, text, distribution, tuple(params), span)
        if self.design is not None:
            probabilities = self.design.get(key)
            if probabilities is None:
                values = numpy.full(self.samples, distribution.median(params))
            else:
                values = numpy.asarray(distribution.quantile(params, probabilities), dtype=float)
        else:
            sequence = numpy.random.SeedSequence(self.seed, spawn_key=(stream_key(span, text),))
            rng = numpy.random.Generator(numpy.random.PCG64(sequence))
            values = numpy.asarray(distribution.sample(params, rng, self.samples), dtype=float)
        values.setflags(write=False)
        self.draws[key] = values
        return values


@attrs.frozen
class Summary:
    """What a sampled figure is reported as: the contract's value is `p50`."""

    n: int
    mean: float
    sd: float
    p5: float
    p50: float
    p95: float

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (figures divided by the unit's factor)."""
        return Summary(self.n, self.mean / factor, self.sd / factor, self.p5 / factor, self.p50 / factor,
                       self.p95 / factor)  # fmt: skip

    def statistic(self, name: str) -> float:
        return float(getattr(self, name))


def summarise(values: Any, samples: int) -> Summary:
    """n, mean, standard deviation (n − 1) and the 5th, 50th, 95th percentiles (linear interpolation)."""
    if not getattr(values, "ndim", 0):
        value = float(values)
        return Summary(samples, value, 0.0, value, value, value)
    import numpy

    p5, p50, p95 = (float(v) for v in numpy.percentile(values, PERCENTILES))
    mean = float(numpy.mean(values))
    sd = float(numpy.std(values, ddof=1)) if values.size > 1 else 0.0
    if p95 - p5 <= abs(p50) * 1e-12 and sd <= abs(mean) * 1e-12:
        # a figure no sampled input moves (an intensity weighted by energies that all scale together):
        # the last bits of rounding are not a spread
        sd, p5, p95 = 0.0, p50, p50
    return Summary(int(values.size), mean, sd, p5, p50, p95)


def uncertain_blocks(program: ir.Program) -> set[ir.BlockKey]:
    """The blocks whose figures may depend on a distribution: written in one of their fields, or reached
    through a reference (`total` depends on every job)."""
    edges: dict[ir.BlockKey, set[ir.BlockKey]] = {}
    seeds: set[ir.BlockKey] = set()
    for key, block in program.blocks.items():
        targets: set[ir.BlockKey] = set()
        for field in block.fields.values():
            if _walk(field.expr, targets):
                seeds.add(key)
        edges[key] = targets
    edges[ir.TOTAL] = set(program.jobs)
    reached: set[ir.BlockKey] = set(seeds)
    changed = True
    while changed:  # a fixpoint: few rounds, as chains of references are short
        changed = False
        for key, targets in edges.items():
            if key not in reached and targets & reached:
                reached.add(key)
                changed = True
    return reached


def _walk(expr: ir.Expr, targets: set[ir.BlockKey]) -> bool:
    """Collect the blocks an expression refers to; True if it holds a distribution itself."""
    if isinstance(expr, ir.Distribution):
        return True
    if isinstance(expr, (ir.QuantityRef, ir.BlockRef)):
        targets.add(expr.block)
        return False
    if isinstance(expr, ir.Map):
        found = False
        for entry in expr.entries:
            targets.add(entry.block)
            found = _walk(entry.value, targets) or found
        return found
    if isinstance(expr, ir.Binary):
        return _walk(expr.left, targets) | _walk(expr.right, targets)
    if isinstance(expr, ir.Negate):
        return _walk(expr.operand, targets)
    if isinstance(expr, ir.Call):
        return any([_walk(a, targets) for a in expr.args])
    return False


def unsampled_tables(program: ir.Program) -> list[Diagnostic]:
    """Rows × samples is not evaluated yet: a job over a table that reads an uncertain input is refused
    with `--samples` (a job over a table that reads none is evaluated as always)."""
    uncertain = uncertain_blocks(program)
    problems = []
    for job in program.jobs:
        if program.rows_of(job) is not None and job in uncertain:
            block = program.blocks[job]
            problems.append(Diagnostic(
                "E410", f"`{job}` is a job over a table that reads an uncertain input: nnci cannot yet sample "
                "a job over a table", block.fields["rows"].span,
                notes=("a job over a table has a figure per row; with --samples every figure would also need "
                       "one per sample (rows × samples), which nnci does not evaluate yet",),
                help="run it without --samples (each distribution is its median), or give the uncertain input "
                "to a job without `rows`"))  # fmt: skip
    return problems
