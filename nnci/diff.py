"""`nnci diff A B`: what changed between two scenarios (or a scenario and its `--set` what-if).

Per job and reported quantity: the old and new value, the change and the ratio. Then why: the
inputs that differ, found as the leaves of the two explain trees (given values and defaults, with
no inputs of their own) whose values differ, or that only one side uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import attrs

from nnci import arrays, ir
from nnci.engine import Derivation, Engine, Result, Unknown, source_text
from nnci.evaluate import Results
from nnci.quantity import Quantity, format_number
from nnci.schema import REPORTED, REPORTED_IF_KNOWN
from nnci.units import CARBON, ENERGY, Dimension, display_unit


@attrs.frozen
class Change:
    job: str  # a job's name, or "total"
    quantity: str
    old: Result | None  # None: the job is not in that scenario
    new: Result | None

    @property
    def ratio(self) -> float | None:
        old, new = _number(self.old), _number(self.new)
        return None if old is None or new is None or old == 0 else new / old

    @property
    def change(self) -> float | None:
        old, new = _number(self.old), _number(self.new)
        return None if old is None or new is None else new - old


@attrs.frozen
class InputChange:
    label: str  # block.quantity of the leaf
    old: Derivation | None  # None: only the new scenario uses it
    new: Derivation | None


@attrs.frozen
class Definition:
    name: str  # a named figure whose expression is written differently (or on one side only)
    old: str | None  # its expression as written; None: not in that scenario
    new: str | None


FIGURE_ROWS = "figure"  # the `job` of a named figure's row (`figure` is a keyword: no block has that name)


@attrs.frozen
class Diff:
    changes: tuple[Change, ...]
    inputs: dict[str, tuple[InputChange, ...]]  # per job (and `figure NAME`): the leaves that differ
    definitions: tuple[Definition, ...] = ()


def diff(old: Results, new: Results) -> Diff:
    old_jobs = {str(job.key): job for job in old.jobs}
    new_jobs = {str(job.key): job for job in new.jobs}
    names = list(dict.fromkeys([*old_jobs, *new_jobs]))
    changes: list[Change] = []
    quantities = [*REPORTED, *(n for n in REPORTED_IF_KNOWN if _anywhere(n, old, new))]
    for name in names:
        before, after = old_jobs.get(name), new_jobs.get(name)
        for quantity in quantities:
            a = before.quantities.get(quantity) if before else None
            b = after.quantities.get(quantity) if after else None
            if a is not None or b is not None:
                changes.append(Change(name, quantity, a, b))
    for quantity in quantities:
        changes.append(Change("total", quantity, old.total.get(quantity), new.total.get(quantity)))
    figures = list(dict.fromkeys([*old.derived, *new.derived]))  # named figures (`figure r = a / b`)
    changes += [Change(FIGURE_ROWS, name, old.derived.get(name), new.derived.get(name)) for name in figures]
    old_engine, new_engine = Engine(old.program), Engine(new.program)  # full trees (a plan's lanes have none)
    inputs = {}
    sides = [(name, old_jobs[name].key if name in old_jobs else None, new_jobs[name].key if name in new_jobs else None,
              quantities) for name in names]  # fmt: skip
    # a figure on one side only is said once, under "figures written differently", not leaf by leaf
    sides += [(f"{FIGURE_ROWS} {name}", ir.FIGURE, ir.FIGURE, [name])
              for name in figures if name in old.derived and name in new.derived]  # fmt: skip
    for label, before_key, after_key, wanted in sides:
        left = _leaves(old_engine, before_key, wanted) if before_key is not None else {}
        right = _leaves(new_engine, after_key, wanted) if after_key is not None else {}
        differ = [InputChange(leaf, left.get(leaf), right.get(leaf)) for leaf in dict.fromkeys([*left, *right])
                  if not _same(left.get(leaf), right.get(leaf))]  # fmt: skip
        if differ:
            inputs[label] = tuple(differ)
    definitions = []
    for name in figures:
        texts = [_written(results.program, name) for results in (old, new)]
        if texts[0] != texts[1]:
            definitions.append(Definition(name, *texts))
    return Diff(tuple(changes), inputs, tuple(definitions))


def _written(program: ir.Program, name: str) -> str | None:
    """A named figure's expression as written (None: the program has no such figure)."""
    figure = program.figures.get(name)
    if figure is None or not figure.named:
        return None
    return source_text(program.sources, figure.expr.span) or "(an expression over several lines)"


def _anywhere(name: str, *results: Results) -> bool:
    return any(name in job.quantities for r in results for job in r.jobs)


def _number(result: Result | None) -> float | None:
    return float(result.value.magnitude) if isinstance(result, Derivation) else None


def _leaves(engine: Engine, job: ir.BlockKey, quantities: Iterable[str]) -> dict[str, Derivation]:
    found: dict[str, Derivation] = {}
    seen: set[int] = set()
    stack = [r for r in (engine.quantity(job, q) for q in quantities) if isinstance(r, Derivation)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.inputs:
            stack.extend(node.inputs)
        else:
            found.setdefault(node.label, node)
    return dict(sorted(found.items()))


def _same(a: Derivation | None, b: Derivation | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.value.dimension != b.value.dimension:
        return False
    x, y = a.value.magnitude, b.value.magnitude
    if arrays.is_array(x) or arrays.is_array(y):
        import numpy

        return bool(numpy.array_equal(numpy.broadcast_to(x, numpy.shape(y) or (1,)), y, equal_nan=True))
    return bool(x == y)


# -- output ----------------------------------------------------------------------------------


def _row_unit(change: Change) -> str:
    known = [r for r in (change.old, change.new) if isinstance(r, Derivation)]
    if not known:
        return ""
    dimension = known[0].value.dimension
    if dimension == ENERGY:
        return "MWh" if max(abs(r.value.to("kWh")) for r in known) >= 1e4 else "kWh"
    if dimension == CARBON:
        return "tCO2e" if max(abs(r.value.to("kgCO2e")) for r in known) >= 1e3 else "kgCO2e"
    return display_unit(dimension)


def _cell(result: Result | None, unit: str) -> str:
    if result is None:
        return "—"
    if isinstance(result, Unknown):
        return "unknown"
    return f"{format_number(result.value.to(unit), 7)} {unit}".rstrip()


def _change_cell(change: Change, unit: str) -> str:
    if change.change is None:
        return ""
    known = next(r for r in (change.old, change.new) if isinstance(r, Derivation))
    delta = Quantity(change.change, known.value.dimension).to(unit)
    return ("+" if delta > 0 else "") + f"{format_number(delta, 7)} {unit}".rstrip()


def _leaf_text(node: Derivation | None) -> str:
    if node is None:
        return "(not used)"
    if arrays.is_array(node.value.magnitude):
        from nnci.output import shown

        return shown(node.value, node.name)
    return node.value.format(digits=7)


def _where(node: Derivation | None) -> str:
    if node is None or node.span is None:
        return "default" if node is not None and node.formula is not None else ""
    return str(node.span)


def rows(result: Diff) -> list[list[str]]:
    body = []
    for change in result.changes:
        unit = _row_unit(change)
        ratio = "" if change.ratio is None else f"{change.ratio:.4f}"
        body.append([change.job, change.quantity.replace("_", " "), _cell(change.old, unit), _cell(change.new, unit),
                     _change_cell(change, unit), ratio])  # fmt: skip
    return body


HEADER = ["job", "quantity", "old", "new", "change", "ratio"]


def table(result: Diff) -> str:
    body = rows(result)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in [HEADER, *body]]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", *_input_lines(result)]
    return "\n".join(lines).rstrip()


def _definition_lines(result: Diff) -> list[str]:
    if not result.definitions:
        return []
    lines = ["figures written differently:"]
    width = max(len(d.name) for d in result.definitions)
    for d in result.definitions:
        lines.append(f"  {d.name.ljust(width)}  {_definition_text(d.old)} → {_definition_text(d.new)}")
    return [*lines, ""]


def _definition_text(text: str | None) -> str:
    return "(not in this scenario)" if text is None else f"`{text}`"


def _input_lines(result: Diff) -> list[str]:
    if not result.inputs:
        what = "every figure" if not result.definitions else "every figure they share"
        return [*_definition_lines(result), f"no input differs: both scenarios derive {what} from the same values"]
    lines = [*_definition_lines(result), "inputs that differ (the leaves of the explain trees):"]
    for job, changes in result.inputs.items():
        lines.append(f"  {job}:")
        width = max(len(c.label) for c in changes)
        for c in changes:
            where = _where(c.new) or _where(c.old)
            lines.append(f"    {c.label.ljust(width)}  {_leaf_text(c.old)} → {_leaf_text(c.new)}"
                         + (f"   ({where})" if where else ""))  # fmt: skip
    return lines


def markdown(result: Diff) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(result)]
    if result.inputs:
        lines += ["", "| job | input | old | new | where |", "|---|---|---:|---:|---|"]
        for job, changes in result.inputs.items():
            for c in changes:
                cells = [job, c.label, _leaf_text(c.old), _leaf_text(c.new), _where(c.new) or _where(c.old)]
                lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    else:
        lines += ["", "No input differs."]
    if result.definitions:
        lines += ["", "| figure | old | new |", "|---|---|---|"]
        for d in result.definitions:
            cells = [d.name, _definition_text(d.old), _definition_text(d.new)]
            lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def _json_value(result: Result | None, unit: str) -> dict[str, object] | None:
    if result is None:
        return None
    if isinstance(result, Unknown):
        return {"value": None, "unit": unit, "missing": list(result.missing)}
    return {"value": float(result.value.to(unit)), "unit": unit}


def _json_leaf(node: Derivation | None) -> dict[str, object] | None:
    if node is None:
        return None
    unit = display_unit(node.value.dimension)
    magnitude = node.value.to(unit)
    entry: dict[str, object] = {"unit": unit}
    if arrays.is_array(magnitude):
        entry.update(min=float(magnitude.min()), max=float(magnitude.max()), rows=arrays.length(magnitude))
    else:
        entry["value"] = float(magnitude)
    if node.span is not None:
        entry["given_at"] = str(node.span)
    return entry


def to_json(result: Diff) -> str:
    """Each change in the contract units (energy kWh, carbon kgCO2e), `change` and `ratio` beside them."""
    changes = []
    for change in result.changes:
        known = next((r for r in (change.old, change.new) if isinstance(r, Derivation)), None)
        unit = ("" if known is None else display_unit(known.value.dimension) if change.job == FIGURE_ROWS
                else _contract_unit(change.quantity, known.value.dimension))  # fmt: skip
        entry: dict[str, object] = {"job": change.job, "quantity": change.quantity,
                                    "old": _json_value(change.old, unit), "new": _json_value(change.new, unit)}  # fmt: skip
        if change.change is not None and known is not None:
            entry["change"] = {"value": float(Quantity(change.change, known.value.dimension).to(unit)), "unit": unit}
        entry["ratio"] = change.ratio if change.ratio is None or math.isfinite(change.ratio) else None
        changes.append(entry)
    inputs = {
        job: [{"input": c.label, "old": _json_leaf(c.old), "new": _json_leaf(c.new)} for c in found]
        for job, found in result.inputs.items()
    }
    definitions = [{"figure": d.name, "old": d.old, "new": d.new} for d in result.definitions]
    return json.dumps({"changes": changes, "inputs": inputs, "figures_written_differently": definitions},
                      indent=2, ensure_ascii=False)  # fmt: skip


def _contract_unit(quantity: str, dimension: Dimension) -> str:
    from nnci.output import unit_for

    return unit_for(quantity, dimension, {})
