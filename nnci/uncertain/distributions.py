"""The distributions a value may be written as, declared once: parameters, validity, support, median
and how to draw them.

Every distribution has a central value, its median: what a run without `--samples` uses, so a file
with distributions evaluates exactly as if the medians were written. Draws are inverse-CDF
transforms of uniform numbers (one stream per input), or, for the normal family, standard normals;
the quantile functions serve the one-at-a-time swings of `nnci sensitivity`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs

TAIL = 6.0  # normal draws are kept within ±6 σ (beyond happens twice in a billion): the support checked


class BadParameters(ValueError):
    """Parameters no distribution has (`uniform(5, 3)`); the message says what is expected."""


@attrs.frozen
class Distribution:
    """One family: its parameter names, whether they share the value's dimension, and its maths."""

    name: str
    params: tuple[str, ...]
    signature: str  # how it is written, for messages and the README
    doc: str
    # the index of parameters that are plain numbers (not in the value's dimension)
    plain: tuple[int, ...]
    validate: Callable[[Sequence[float]], None]
    support: Callable[[Sequence[float]], tuple[float, float]]  # the closed interval every draw lies in
    median: Callable[[Sequence[float]], float]
    quantile: Callable[[Sequence[float], Any], Any]  # array of probabilities → values
    sample: Callable[[Sequence[float], Any, int], Any]  # (params, numpy Generator, n) → n draws
    variadic: bool = False  # any number of parameters (`choice`), each named like the first

    def param(self, index: int) -> str:
        return self.params[0] if self.variadic else self.params[index]


# -- uniform --------------------------------------------------------------------------------


def _uniform_validate(p: Sequence[float]) -> None:
    if not p[0] <= p[1]:
        raise BadParameters("needs low ≤ high")


def _uniform_quantile(p: Sequence[float], u: Any) -> Any:
    return p[0] + (p[1] - p[0]) * u


# -- triangular -----------------------------------------------------------------------------


def _triangular_validate(p: Sequence[float]) -> None:
    if not p[0] <= p[1] <= p[2]:
        raise BadParameters("needs low ≤ mode ≤ high")


def _triangular_quantile(p: Sequence[float], u: Any) -> Any:
    low, mode, high = p
    width = high - low
    if width == 0:
        return low + 0 * u
    split = (mode - low) / width  # the CDF at the mode
    rising = low + (width * (mode - low) * u) ** 0.5
    falling = high - (width * (high - mode) * (1 - u)) ** 0.5
    if isinstance(u, float):
        return rising if u <= split else falling
    import numpy

    return numpy.where(u <= split, rising, falling)


def _triangular_median(p: Sequence[float]) -> float:
    return float(_triangular_quantile(p, 0.5))


# -- normal ---------------------------------------------------------------------------------


def _normal_validate(p: Sequence[float]) -> None:
    if not p[1] >= 0:
        raise BadParameters("needs a standard deviation ≥ 0")


def _z(u: Any) -> Any:
    """Standard normal quantiles of probabilities in (0, 1) (few: the swings of `sensitivity`)."""
    from statistics import NormalDist  # only when asked: a scalar run never needs it

    unit = NormalDist()
    if isinstance(u, float):
        return unit.inv_cdf(u)
    import numpy

    return numpy.array([unit.inv_cdf(float(x)) for x in u])


def _standard_normal(rng: Any, n: int) -> Any:
    import numpy

    return numpy.clip(rng.standard_normal(n), -TAIL, TAIL)


def _normal_sample(p: Sequence[float], rng: Any, n: int) -> Any:
    return p[0] + p[1] * _standard_normal(rng, n)


# -- lognormal ------------------------------------------------------------------------------


def _lognormal_validate(p: Sequence[float]) -> None:
    if not p[0] > 0:
        raise BadParameters("needs a median > 0")
    if not p[1] >= 1:
        raise BadParameters("needs a geometric standard deviation ≥ 1 (1 is no spread; 2 is ×/÷ 2 at one σ)")


def _lognormal_sample(p: Sequence[float], rng: Any, n: int) -> Any:
    import numpy

    return p[0] * numpy.exp(math.log(p[1]) * _standard_normal(rng, n))


# -- choice ---------------------------------------------------------------------------------


def _choice_validate(p: Sequence[float]) -> None:
    if not p:
        raise BadParameters("needs at least one alternative")


def _choice_quantile(p: Sequence[float], u: Any) -> Any:
    """The alternatives sorted, each with probability 1/k: the smallest value whose CDF reaches u."""
    ordered = sorted(p)
    if isinstance(u, float):
        return ordered[min(max(math.ceil(u * len(ordered)) - 1, 0), len(ordered) - 1)]
    import numpy

    index = numpy.clip(numpy.ceil(u * len(ordered)).astype(int) - 1, 0, len(ordered) - 1)
    return numpy.asarray(ordered)[index]


def _choice_sample(p: Sequence[float], rng: Any, n: int) -> Any:
    import numpy

    return numpy.asarray(p, dtype=float)[rng.integers(0, len(p), n)]


def _from_uniform(quantile: Callable[[Sequence[float], Any], Any]) -> Callable[[Sequence[float], Any, int], Any]:
    def sample(p: Sequence[float], rng: Any, n: int) -> Any:
        return quantile(p, rng.random(n))

    return sample


def _normal_quantile(p: Sequence[float], u: Any) -> Any:
    return p[0] + p[1] * _z(u)


def _lognormal_quantile(p: Sequence[float], u: Any) -> Any:
    return p[0] * p[1] ** _z(u)


def _spread(gsd: float) -> float:
    """gsd^TAIL, the factor bounding a lognormal's draws; infinite where it overflows (`gsd = 1e300`)."""
    try:
        return float(gsd**TAIL)
    except OverflowError:
        return math.inf


DISTRIBUTIONS: dict[str, Distribution] = {
    d.name: d
    for d in (
        Distribution(
            "uniform", ("low", "high"), "uniform(low, high)", "every value between low and high equally likely", (),
            _uniform_validate, lambda p: (p[0], p[1]), lambda p: (p[0] + p[1]) / 2, _uniform_quantile,
            _from_uniform(_uniform_quantile),
        ),
        Distribution(
            "triangular", ("low", "mode", "high"), "triangular(low, mode, high)",
            "most likely at the mode, falling linearly to zero at low and high", (),
            _triangular_validate, lambda p: (p[0], p[2]), _triangular_median, _triangular_quantile,
            _from_uniform(_triangular_quantile),
        ),
        Distribution(
            "normal", ("mean", "sd"), "normal(mean, sd)", f"Gaussian, kept within mean ± {TAIL:g} sd", (),
            _normal_validate, lambda p: (p[0] - TAIL * p[1], p[0] + TAIL * p[1]), lambda p: p[0], _normal_quantile,
            _normal_sample,
        ),
        Distribution(
            "lognormal", ("median", "gsd"), "lognormal(median, gsd)",
            f"log-normal by its median and geometric standard deviation, kept within median ×/÷ gsd^{TAIL:g}", (1,),
            _lognormal_validate, lambda p: (p[0] / _spread(p[1]), p[0] * _spread(p[1])), lambda p: p[0],
            _lognormal_quantile,
            _lognormal_sample,
        ),
        Distribution(
            "choice", ("alternative",), "choice(a, b, ...)",
            "one of the alternatives, each equally likely (repeat one to weight it: `choice(a, a, b)`)", (),
            _choice_validate, lambda p: (min(p), max(p)), lambda p: float(_choice_quantile(p, 0.5)), _choice_quantile,
            _choice_sample, variadic=True,
        ),
    )
}  # fmt: skip
