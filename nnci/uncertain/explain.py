"""What `nnci explain` adds for uncertain values: a given distribution with its median and 90 % interval
(exact, from its quantiles), a derived figure with the median and 5th–95th percentiles of its samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from nnci import arrays, ir
from nnci.engine import Derivation, Result
from nnci.quantity import Quantity
from nnci.uncertain.distributions import DISTRIBUTIONS
from nnci.uncertain.sampling import Summary, summarise


@attrs.frozen
class Annotated:
    """A derivation tree whose sampled values are medians, with each node's summary beside it."""

    tree: Result
    summaries: dict[tuple[ir.BlockKey, str], Summary]


def medians(result: Result, samples: int, program: ir.Program | None = None) -> Annotated:
    """The tree of a sampled derivation with every array of samples replaced by its median (a given
    distribution's by its exact median, which the annotation names, rather than its draws')."""
    summaries: dict[tuple[ir.BlockKey, str], Summary] = {}
    done: dict[int, Derivation] = {}

    def visit(node: Derivation) -> Derivation:
        if id(node) in done:
            return done[id(node)]
        inputs = tuple(visit(child) for child in node.inputs)
        value = node.value
        if arrays.is_array(value.magnitude):
            summary = summarise(value.magnitude, samples)
            summaries[node.block, node.name] = summary
            written = given_distribution(program, node) if program is not None else None
            exact = DISTRIBUTIONS[written[0]].median(written[1]) if written is not None else summary.p50
            value = Quantity(exact, value.dimension)
        done[id(node)] = attrs.evolve(node, value=value, inputs=inputs)
        return done[id(node)]

    return Annotated(visit(result) if isinstance(result, Derivation) else result, summaries)


def given_distribution(program: ir.Program, node: Derivation) -> tuple[str, list[float], Any] | None:
    """The distribution a given value is written as (its name, parameters in SI, dimension), if it is one."""
    if node.span is None or node.formula is not None:
        return None
    block = program.blocks.get(node.block)
    field = block.fields.get(node.name) if block is not None else None
    if field is None or not isinstance(field.expr, ir.Distribution):
        return None
    if not all(isinstance(a, ir.Const) for a in field.expr.args):
        return None
    params = [float(a.value.magnitude) for a in field.expr.args if isinstance(a, ir.Const)]
    return field.expr.name, params, node.value.dimension


def annotator(program: ir.Program, annotated: Annotated | None) -> Callable[[Derivation], str | None]:
    """The text explain puts after a node: `~ uniform: median 305 W, 90 % in 282.5 W … 327.5 W` for a given
    distribution, `[p5 … p95]` for a sampled figure."""

    def annotate(node: Derivation) -> str | None:
        written = given_distribution(program, node)
        if written is not None:
            name, params, dimension = written
            distribution = DISTRIBUTIONS[name]
            try:
                distribution.validate(params)
            except ValueError:
                return None
            low, high = (float(distribution.quantile(params, p)) for p in (0.05, 0.95))
            median = Quantity(distribution.median(params), dimension).format()
            return (f"~ {name}: median {median}, 90 % of its values in {Quantity(low, dimension).format()} … "
                    f"{Quantity(high, dimension).format()}")  # fmt: skip
        summary = annotated.summaries.get((node.block, node.name)) if annotated is not None else None
        if summary is None or summary.sd == 0:
            return None
        p5, p95 = (Quantity(v, node.value.dimension).format(digits=4) for v in (summary.p5, summary.p95))
        return f"median of {summary.n:,} samples; p5 … p95: {p5} … {p95}"

    return annotate


def json_extra(
    program: ir.Program, annotated: Annotated | None
) -> Callable[[Derivation, str | None], dict[str, object]]:
    """The same as data: `"distribution"` for a given one, `"samples"` for a sampled figure, in the unit
    the node's value is shown in."""
    from nnci.units import parse_unit

    def extra(node: Derivation, unit: str | None) -> dict[str, object]:
        entry: dict[str, object] = {}
        factor = parse_unit(unit).factor if unit else 1.0
        written = given_distribution(program, node)
        if written is not None:
            name, params, _ = written
            distribution = DISTRIBUTIONS[name]
            entry["distribution"] = {"name": name, **{
                p: (v if i in distribution.plain else v / factor)
                for i, (p, v) in enumerate(zip(distribution.params, params, strict=False))
            }}  # fmt: skip
            if distribution.variadic:
                entry["distribution"] = {"name": name, "alternatives": [v / factor for v in params]}
        summary = annotated.summaries.get((node.block, node.name)) if annotated is not None else None
        if summary is not None:
            scaled = summary.scaled(factor)
            entry["samples"] = {"n": scaled.n, "mean": scaled.mean, "sd": scaled.sd, "p5": scaled.p5,
                                "p50": scaled.p50, "p95": scaled.p95}  # fmt: skip
        return entry

    return extra
