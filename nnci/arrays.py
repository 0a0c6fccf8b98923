"""Magnitudes are Python floats or numpy arrays (rows of a table, jobs of a compiled plan).

Formulas use operators only and never see which; the few places that must look at a magnitude
(finiteness, min/max, sums, ranges, formatting) ask these helpers. numpy is never imported here:
an array can only exist once something else imported numpy, so a scalar program never pays for it.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

SHOWN_ROWS = 5  # how many row numbers a message lists


def is_array(value: Any) -> bool:
    return getattr(value, "ndim", 0) > 0


def length(value: Any) -> int | None:
    """The number of rows of an array magnitude; None for a scalar."""
    return int(value.shape[0]) if is_array(value) else None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """numpy warns on division by zero and overflow; nnci reports those rows itself."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        yield
        return
    with numpy.errstate(all="ignore"):
        yield


def bad_rows(value: Any) -> list[int]:
    """0-based rows whose value is not a finite real number ([0] for a bad scalar); a series (whose
    empty intervals are NaN by design) has none: the formulas that read it check what they read."""
    if getattr(value, "is_series", False):
        return []
    if is_array(value):
        import numpy

        return [int(i) for i in numpy.flatnonzero(~numpy.isfinite(value))]
    if isinstance(value, complex):
        return [0]
    return [] if math.isfinite(value) else [0]


def unknown_rows(values: Sequence[Any]) -> set[int]:
    """Rows already unknown (NaN) in any of the inputs of a computation, arrays or map items."""
    rows: set[int] = set()
    for value in values:
        if isinstance(value, list):
            rows |= unknown_rows([part for item in value for part in (item.weight, item.value)])
        elif is_array(value):
            import numpy

            rows.update(int(i) for i in numpy.flatnonzero(numpy.isnan(value)))
    return rows


def unknown_in(value: Any, rows: Sequence[int]) -> Any:
    """The array with those rows marked unknown (NaN), every other row as it was."""
    import numpy

    marked = numpy.array(value, dtype=float)
    marked[list(rows)] = numpy.nan
    return marked


def true_rows(mask: Any) -> list[int]:
    """0-based rows where a comparison holds ([0] for a true scalar, [] for a false one)."""
    if is_array(mask):
        import numpy

        return [int(i) for i in numpy.flatnonzero(mask)]
    return [0] if mask else []


def total(value: Any) -> float:
    """The sum over rows, correctly rounded (so the order of jobs and rows never changes it)."""
    if is_array(value):
        return math.fsum(value.tolist())
    return float(value)


def pick(func: str, values: Sequence[Any]) -> Any:
    """Element-wise min or max of magnitudes."""
    if not any(is_array(v) for v in values):
        return (min if func == "min" else max)(values)
    import numpy

    fold = numpy.minimum if func == "min" else numpy.maximum
    result = values[0]
    for value in values[1:]:
        result = fold(result, value)
    return result


def lane(value: Any, index: int) -> float:
    """One row's value of a magnitude (a scalar is the same in every row)."""
    return float(value[index]) if is_array(value) else float(value)


def rows_text(rows: Sequence[int], count: int | None = None) -> str:
    """`rows 3, 17 and 40` (1-based), with `and K more` past a few."""
    shown = [str(r + 1) for r in rows[:SHOWN_ROWS]]
    more = len(rows) - len(shown)
    word = "row" if len(rows) == 1 else "rows"
    text = f"{word} " + ", ".join(shown) + (f" and {more} more" if more else "")
    return text + (f" (of {count:,})" if count else "")


def compare(op: str, left: Any, right: Any) -> Any:
    """A comparison of magnitudes (element-wise on arrays), as `check` lines and bounds on statistics
    make them."""
    if op == ">=":
        return left >= right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    if op == "==":  # equal but for rounding: `group(a) + group(b) == a.energy` sums in another order
        return abs(left - right) <= EQUAL_WITHIN * (abs(left) + abs(right))
    return abs(left - right) > EQUAL_WITHIN * (abs(left) + abs(right))


EQUAL_WITHIN = 1e-9  # relative: what `==` and `!=` in a check line allow for floating-point rounding
