"""Results → text: the table, JSON (via cattrs), CSV, Markdown, the explain tree and validation."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from nnci import arrays, ir
from nnci.diagnostics import Diagnostic, source_lines
from nnci.engine import Derivation, Result, Unknown
from nnci.evaluate import ALL, ExpectResult, JobResult, LaneFigures, Results, Sampled, Stacked, sums_rows
from nnci.provenance import Reference, data_source
from nnci.quantity import Quantity, format_number
from nnci.schema import ADDITIVE, QUANTITIES, REPORTED, REPORTED_IF_KNOWN, SCHEMA
from nnci.units import DIMENSIONLESS, Dimension, display_unit, parse_unit

if TYPE_CHECKING:
    import cattrs

    from nnci.uncertain.sampling import Summary


def unit_choices(overrides: Sequence[str]) -> dict[Dimension, str]:
    return {parse_unit(unit).dimension: unit for unit in overrides}


def unit_for(
    name: str, dimension: Dimension, overrides: dict[Dimension, str], defaults: dict[Dimension, str] | None = None
) -> str:
    """The unit to show a quantity in: the user's (`--unit`), the table's readable choice, then the
    unit its declaration reports it in (`schema.QUANTITIES`)."""
    chosen = overrides.get(dimension) or (defaults or {}).get(dimension)
    if chosen:
        return chosen
    spec = QUANTITIES.get(name)
    return spec.report_unit if spec is not None and spec.dim == dimension else display_unit(dimension)


def _rows(results: Results) -> list[tuple[str, str, Mapping[str, Result]]]:
    rows = [(_job_label(job), job.kind, job.quantities) for job in results.jobs]
    rows.append(("total", "", results.total))
    return rows


def _job_label(job: JobResult) -> str:
    if job.rows is None:
        return str(job.key)
    return f"{job.key} ({job.rows:,} row{'' if job.rows == 1 else 's'})"


def _auto_units(results: Results) -> dict[Dimension, str]:
    """Readable table units: a quantity's `large` unit (MWh, tCO2e) once the totals of its dimension
    are large enough, the same for every column of that dimension."""
    units: dict[Dimension, str] = {}
    for spec in QUANTITIES.values():
        if spec.large is None or spec.dim in units:
            continue
        large, threshold = spec.large
        values = [
            r.value.to(spec.report_unit)
            for r in results.total.values()
            if isinstance(r, Derivation) and r.value.dimension == spec.dim
        ]
        units[spec.dim] = large if values and max(abs(v) for v in values) >= threshold else spec.report_unit
    return units


def _cell(result: Result, unit: str) -> str:
    if isinstance(result, Unknown):
        return "unknown"
    return result.value.format(unit)


def _columns(results: Results, show: Sequence[str] | str = ()) -> list[str]:
    """The columns: the figures named by `--show`; with `--all` (`ALL`), every figure some job has; by
    default the reported quantities, then optional ones (net operational) that some job has."""
    rows = _rows(results)
    if show == ALL:
        return [n for n in QUANTITIES if any(n in q for _, _, q in rows)]
    if show:
        return list(show)
    extra = [n for n in REPORTED_IF_KNOWN if any(n in q for _, _, q in rows)]
    return [*REPORTED, *extra]


def _get(quantities: Mapping[str, Result], name: str) -> Result:
    return quantities.get(name) or Unknown(ir.TOTAL, name, (name,))


NOT_APPLICABLE = "–"  # a job of a kind without the quantity (training has no queries); a total that is no sum


def _shown(
    kind: str, quantities: Mapping[str, Result], name: str, unit: str, cell: Callable[[Result, str], str] = _cell
) -> str:
    if name not in quantities and (kind == "" or name not in SCHEMA[kind]):
        return NOT_APPLICABLE
    return cell(_get(quantities, name), unit)


def table(results: Results, units: Sequence[str] = (), show: Sequence[str] | str = ()) -> str:
    """One row per job and the total; with `--all`, one row per quantity and a column per job (there are
    more quantities than a terminal is wide)."""
    overrides = unit_choices(units)
    defaults = _auto_units(results)
    columns = _columns(results, show)
    rows = _rows(results)
    cell = _sampled_cell(results.sampling) if results.sampling else _cell
    if show == ALL:
        header = ["quantity", "unit", *(name for name, _, _ in rows)]
        body = []
        for n in columns:
            unit = unit_for(n, _column_dim(n), overrides, defaults)
            body.append([n.replace("_", " "), unit, *(_shown(k, q, n, unit, cell).removesuffix(" " + unit).rstrip()
                                                      for _, k, q in rows)])  # fmt: skip
        left = 2
    else:
        header = ["block", "kind", *(c.replace("_", " ") for c in columns)]
        body = [
            [name, kind, *(_shown(kind, q, n, unit_for(n, _column_dim(n), overrides, defaults), cell) for n in columns)]
            for name, kind, q in rows
        ]
        left = 2
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in [header, *body]]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    if show != ALL:
        lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
    lines += derived_lines(results, overrides)
    notes = list(_notes(results, columns))
    if notes:
        lines += ["", "notes:", *(f"  {n}" for n in notes)]
    if results.sampling:
        lines.insert(0, sampling_line(results.sampling))
    return "\n".join(lines)


def derived_lines(results: Results, overrides: dict[Dimension, str]) -> list[str]:
    """The named figures (`figure ratio = serve.total / train.total`) under the table."""
    if not results.derived:
        return []
    width = max(len(name) for name in results.derived)
    lines = ["", "figures:"]
    cell = _sampled_cell(results.sampling) if results.sampling else _cell
    for name, result in results.derived.items():
        unit = unit_for(name, result.value.dimension, overrides) if isinstance(result, Derivation) else ""
        shown = cell(result, unit) if isinstance(result, Derivation) else f"unknown: {unknown_reason(result)}"
        lines.append(f"  {name.ljust(width)} = {shown}   ({_written(results.program, name)})")
    return lines


def _written(program: ir.Program, name: str) -> str:
    """A figure's definition as written (from its source line)."""
    span = program.figures[name].span
    text = source_lines(program.sources.get(span.file, ""))
    line = text[span.line - 1].strip() if 0 < span.line <= len(text) else ""
    return line.removeprefix("figure ").split("=", 1)[-1].split("#")[0].strip() or name


def _dim(result: Result) -> Dimension:
    if isinstance(result, Derivation):
        return result.value.dimension
    return _column_dim(result.name) if result.name in QUANTITIES else DIMENSIONLESS  # an unknown figure


def _column_dim(name: str) -> Dimension:
    """The dimension of a reported quantity, from its declaration."""
    return QUANTITIES[name].dim


def _notes(results: Results, columns: Sequence[str] | None = None) -> Iterable[str]:
    if not results.jobs:
        yield "no training or inference block: nothing to sum"
    # The rules applied beneath each figure, once each; the same rule on the same quantity of many
    # blocks (thousands of similar jobs) is one line naming the first few.
    order: list[tuple[str, str, str]] = []  # (label, quantity, note), or (message, "", "") for an unknown
    groups: dict[tuple[str, str], list[str]] = {}
    seen: set[tuple[str, str, str]] = set()  # (label, quantity, note): a list lookup would be quadratic
    for job in results.jobs:
        for name, result in job.quantities.items():
            if columns is not None and name not in columns:
                continue
            if isinstance(result, Unknown):
                order.append((f"{job.key}.{name} is unknown: {unknown_reason(result)}", "", ""))
                continue
            for label, note in job.notes.get(name, ()):
                quantity = label.rpartition(".")[2]
                if (label, quantity, note) not in seen:
                    seen.add((label, quantity, note))
                    groups.setdefault((quantity, note), []).append(label)
                    order.append((label, quantity, note))
    for label, quantity, note in order:
        labels = groups.get((quantity, note), [])
        if not quantity:
            yield label
        elif len(labels) <= MANY:
            yield f"{label}: {note}"
        elif label == labels[0]:
            yield f"{', '.join(labels[:3])} and {len(labels) - 3:,} more `{quantity}`: {note}"
    yield from _shared_full_charges(results)


MANY = 5  # more blocks than this with the same note are listed as the first few and a count


def _shared_full_charges(results: Results) -> Iterable[str]:
    for device, jobs, count in results.charged_in_full_by_several:
        each = ", ".join(jobs[:10]) + (f" and {len(jobs) - 10} more" if len(jobs) > 10 else "")
        yield (f"`{device}` has no lifetime, so each of {each} is charged its whole manufacturing carbon"
               f"{' (every row)' if count > len(jobs) else ''}: total.embodied counts it {count:,} times; give it "
               "a `lifetime` to share it by use")  # fmt: skip


def unknown_reason(result: Unknown) -> str:
    if result.reason:
        return result.reason
    if result.missing == (result.label,):
        return "it is not given, and no formula derives it from what is given"
    text = "inputs that would allow it: " + ", ".join(f"`{m}`" for m in result.missing)
    if any(m.startswith("std/") for m in result.missing):
        text += " (to add a value to a catalog record, amend it: `device mine = hw.name { power = 300 W }`)"
    return text


# -- JSON -------------------------------------------------------------------------------


@attrs.frozen
class JsonQuantity:
    value: float | None
    unit: str
    formula: str | None = None
    note: str | None = None
    missing: list[str] | None = None
    reason: str | None = None
    samples: dict[str, float] | None = None  # with --samples: n, mean, sd, p5, p50 (= value), p95


def _json_quantity(result: Result, overrides: dict[Dimension, str]) -> JsonQuantity:
    unit = unit_for(result.name, _dim(result), overrides)
    if isinstance(result, Unknown):
        return JsonQuantity(None, unit, missing=list(result.missing), reason=result.reason)
    formula = result.formula.name if result.formula else ("given" if result.span else None)
    if result.block == ir.FIGURE:
        formula = "figure"
    return JsonQuantity(float(result.value.to(unit)), unit, formula, result.note)


def _json_block(
    job: JobResult, overrides: dict[Dimension, str], converter: cattrs.Converter, sampling: Sampled | None = None
) -> dict[str, object]:
    """`kind`, then the reported quantities in the order they are declared, then `sources` and
    `rows` (a job over a table: its number of rows; the figures are their sums) when there are any."""
    quantity = _json_sampled(sampling) if sampling else _json_quantity
    return _json_block_with(job, lambda result: converter.unstructure(quantity(result, overrides)))


def _json_block_with(job: JobResult, quantity: Callable[[Result], object]) -> dict[str, object]:
    block: dict[str, object] = {"kind": job.kind}
    for name in QUANTITIES:
        if name in job.quantities:
            block[name] = quantity(job.quantities[name])
    if job.citations:
        block["sources"] = list(job.citations)
    if job.rows is not None:
        block["rows"] = job.rows
    notes = rule_notes(job)
    if notes:
        block["notes"] = notes
    return block


@functools.cache
def _declared_order(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """A job's figures in the order QUANTITIES declares them, each with its JSON key, for every job
    that has these figures (jobs of one kind share a handful of such sets)."""
    return tuple((name, _json_string(name)) for name in QUANTITIES if name in names)


def _job_text(job: JobResult, quantity: _QuantityTexts) -> str:
    """`indented_json(_json_block_with(job, quantity), ...)` at the indent of a job, written directly."""
    if job.citations or job.rows is not None:
        return indented_json(_json_block_with(job, quantity), "\n    ")
    inner = "\n      "
    quantities = job.quantities
    items = [f'"kind": {_json_string(job.kind)}']
    items += [f"{key}: {quantity(quantities[name])}" for name, key in _declared_order(tuple(quantities))]
    return "{" + inner + ("," + inner).join(items) + _notes_text(rule_notes(job)) + "\n    }"


def _notes_text(notes: list[str]) -> str:
    """A job's `"notes"` after its figures, as `indented_json` writes a list of strings there."""
    if not notes:
        return ""
    inner, within = "\n      ", "\n        "
    return "," + inner + '"notes": [' + within + ("," + within).join(map(_json_string, notes)) + inner + "]"


LANES_AT_ONCE = 1024  # a stacked group's jobs written from its columns at a time (their texts held meanwhile)


def _lane_blocks(group: Stacked, shape: tuple[str, list[tuple[str, float | None]]], start: int, stop: int) -> list[str]:
    """The text `write_json` writes for the jobs `start` to `stop` of a stacked group, column by column."""
    template, values = shape
    numbers = [_number_texts(group.columns[name].values[start:stop], factor) for name, factor in values]
    keys = [_json_string(str(key)) for key in group.keys[start:stop]]
    notes = _lane_notes(group, start, stop)
    return [
        f"\n    {key}: {template % row}{note}\n    }}"
        for key, row, note in zip(keys, zip(*numbers, strict=True), notes, strict=True)
    ]


def _lane_notes(group: Stacked, start: int, stop: int) -> list[str]:
    """`_notes_text(rule_notes(job))` of the jobs `start` to `stop` of a stacked group, column by column."""
    columns = [
        [f"{label}: {note}" for label in labels[start:stop]]
        for _, noted in group.notes
        for labels, note in noted
        if note
    ]
    if not columns:
        return [""] * (stop - start)
    if len(columns) == 1:
        return [_notes_text([text]) for text in columns[0]]
    return [_notes_text(list(dict.fromkeys(texts))) for texts in zip(*columns, strict=True)]


_VALUE = "\x00"  # stands for the value in a quantity's text; nothing else written there holds a NUL


class _QuantityTexts:
    """A quantity's JSON text at one indent, from a template per (figure, dimension, formula, note):
    10,000 jobs repeat a handful of them, and only the value differs. Each template is the text the
    general path writes (`indented_json`), so the output is the same, byte for byte."""

    def __init__(self, overrides: dict[Dimension, str], converter: cattrs.Converter, newline: str) -> None:
        self.overrides, self.converter, self.newline = overrides, converter, newline
        self.templates: dict[tuple[object, ...], tuple[float | None, str, str]] = {}
        # a stacked group → its template, and the first of its jobs whose texts are made, with those
        self.groups: dict[Stacked, tuple[tuple[str, list[tuple[str, float | None]]] | None, int, list[str]]] = {}

    def __call__(self, result: Result) -> Written:
        found = self.template(result)
        if found is None:
            return self._general(result)
        factor, before, after = found
        magnitude = result.value.magnitude  # type: ignore[union-attr]
        value = float(magnitude if factor is None else magnitude / factor)
        return Written(before + (float.__repr__(value) if math.isfinite(value) else json.dumps(value)) + after)

    def template(self, result: Result) -> tuple[float | None, str, str] | None:
        """The conversion factor (None: none) and the text before and after the value; None when the
        quantity is not a plain known value (unknown, a named figure, an array)."""
        if not isinstance(result, Derivation) or result.block == ir.FIGURE:
            return None
        magnitude = result.value.magnitude
        if magnitude.__class__ is not float and arrays.is_array(magnitude):
            return None
        formula = result.formula.name if result.formula else None
        key = (result.name, result.value.dimension, formula, result.span is not None, result.note)
        found = self.templates.get(key)
        if found is None:
            shown = self.converter.unstructure(_json_quantity(result, self.overrides))
            unit = shown["unit"]
            before, after = indented_json({**shown, "value": _VALUE}, self.newline).split(_json_string(_VALUE))
            factor = parse_unit(unit).factor if unit else None  # what `Quantity.to(unit)` divides by
            found = self.templates[key] = (factor, before, after)
        return found

    def lane_block(self, figures: LaneFigures, kind: str) -> str | None:
        """A job of a stacked group as `write_json` writes it (its key, its block), made with the next
        LANES_AT_ONCE of its group's jobs from the group's columns; None when a figure is not a
        plain known value. Jobs with citations are not written from here."""
        group = figures.group
        state = self.groups.get(group)
        if state is None:
            state = self.groups[group] = (self._group_template(figures, kind), -1, [])
        shape, start, blocks = state
        if shape is None:
            return None
        lane = figures.lane
        if not start <= lane < start + len(blocks):
            start = lane - lane % LANES_AT_ONCE
            blocks = _lane_blocks(group, shape, start, min(start + LANES_AT_ONCE, len(group.keys)))
            self.groups[group] = (shape, start, blocks)
        return blocks[lane - start]

    def _group_template(self, figures: LaneFigures, kind: str) -> tuple[str, list[tuple[str, float | None]]] | None:
        """The text of a stacked group's job up to its notes with each value left out (`%s`), and the
        figure and conversion factor of each value (every job of a group has figures of the same
        names, dimensions, formulas and notes); None if some figure has no template."""
        inner = "\n      "
        pending = "{" + inner + f'"kind": {_json_string(kind)}'
        parts: list[str] = []
        values: list[tuple[str, float | None]] = []
        for name, key in _declared_order(tuple(figures)):
            shaped = self.template(figures.alike(name))
            if shaped is None:
                return None
            factor, before, after = shaped
            parts.append((pending + "," + inner + f"{key}: {before}").replace("%", "%%"))
            pending = after
            values.append((name, factor))
        if not values:
            return None
        return "%s".join([*parts, pending.replace("%", "%%")]), values

    def _general(self, result: Result) -> Written:
        return Written(indented_json(self.converter.unstructure(_json_quantity(result, self.overrides)), self.newline))


class Written(str):
    """JSON text already written at the indent where it goes: `indented_json` places it as it is."""


def _number_texts(values: list[float], factor: float | None) -> list[str]:
    """Each value (in SI units) as JSON writes it in the unit whose conversion factor is given."""
    if factor is not None:
        values = [value / factor for value in values]
    return [float.__repr__(v) if v - v == 0 else json.dumps(v) for v in values]  # v - v: nan unless finite


def rule_notes(job: JobResult) -> list[str]:
    """The rules applied beneath a job's figures (TDP used as power, a whole embodied charge), once each."""
    found: dict[str, None] = {}
    if not any(job.notes.values()):
        return []
    for name in job.quantities:
        for label, note in job.notes.get(name, ()):
            if note:
                found[f"{label}: {note}"] = None
    return list(found)


def write_json(
    results: Results,
    files: Sequence[str],
    units: Sequence[str],
    write: Callable[[str], object],
    references: list[Reference] | None = None,
) -> None:
    """The JSON report of DESIGN §4, written block by block (the text `json.dumps(report, indent=2)`
    gives, without holding 10,000 blocks' worth of dicts and text at once); with `references`
    (`--sources`), a `"sources"` list of what the figures rest on."""
    import cattrs

    from nnci import __version__

    converter = cattrs.Converter(omit_if_default=True)
    overrides = unit_choices(units)

    def dumps(value: object, level: int) -> str:
        return indented_json(value, "\n" + "  " * level)

    write(f'{{\n  "nnci": {dumps(__version__, 1)},\n  "files": {dumps(list(files), 1)},\n')
    if results.sampling:
        write(f'  "sampling": {dumps(_json_sampling(results.sampling), 1)},\n')
    write('  "blocks": ')
    if not results.jobs:
        write("{}")
    texts = _QuantityTexts(overrides, converter, "\n" + "  " * 3)
    for index, job in enumerate(results.jobs):
        quantities = job.quantities
        block = None
        if quantities.__class__ is LaneFigures and not job.citations and not results.sampling:
            block = texts.lane_block(quantities, job.kind)  # type: ignore[arg-type]  # from its group's columns
        if block is None:
            text = (
                dumps(_json_block(job, overrides, converter, results.sampling), 2)
                if results.sampling
                else _job_text(job, texts)  # each quantity's text from its template
            )
            block = f"\n    {_json_string(str(job.key))}: {text}"
        write(("{" if index == 0 else ",") + block)
    if results.jobs:
        write("\n  }")
    quantity = _json_sampled(results.sampling) if results.sampling else _json_quantity
    total = {name: converter.unstructure(quantity(r, overrides)) for name, r in results.total.items()}
    write(f',\n  "total": {dumps(total, 1)}')
    if results.derived:
        derived = {name: converter.unstructure(quantity(r, overrides)) for name, r in results.derived.items()}
        write(f',\n  "figures": {dumps(derived, 1)}')
    if references is not None:
        listed = [{"text": r.text, "kind": r.kind, "used_by": list(r.used_by)} for r in references]
        write(f',\n  "sources": {dumps(listed, 1)}')
    write("\n}\n")


def indented_json(value: object, newline: str = "\n") -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)` with each new line starting `newline`: the same
    text, built from the C string encoder (json's indenting encoder is pure Python, 5× slower)."""
    if value.__class__ is Written:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        return _json_string(value)
    if value is None or value is True or value is False or isinstance(value, int):
        return json.dumps(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else json.dumps(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{_json_string(str(k))}: {indented_json(v, inner)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(indented_json(v, inner) for v in value) + newline + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", newline)  # anything else, as json does


_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


# -- CSV and Markdown ---------------------------------------------------------------------


def _flat(results: Results, units: Sequence[str], show: Sequence[str] | str = ()) -> list[list[str]]:
    """One line per figure of each job (every figure evaluated, or those of `--show`), then the totals."""
    overrides = unit_choices(units)
    rows = [["block", "kind", "quantity", "value", "unit", "formula"]]
    named = [(str(job.key), job.kind, job.quantities) for job in results.jobs] + [("total", "", results.total)]
    order = list(show) if show and show != ALL else list(QUANTITIES)
    named.append(("", "figure", results.derived))
    order = list(dict.fromkeys([*order, *results.derived]))
    for name, kind, quantities in named:
        for quantity in order:
            result = quantities.get(quantity)
            if result is None:
                continue
            q = _json_quantity(result, overrides)
            value = "" if q.value is None else repr(q.value)
            rows.append([name, kind, quantity, value, q.unit, q.formula or ("unknown" if q.value is None else "")])
            if results.sampling:
                rows[-1] += _csv_samples(results.sampling, result, q.unit)
    if results.sampling:
        rows[0] += CSV_SAMPLE_COLUMNS
    return rows


def to_csv(results: Results, units: Sequence[str] = (), show: Sequence[str] | str = ()) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_flat(results, units, show))
    return buffer.getvalue().rstrip("\n")


def to_markdown(results: Results, units: Sequence[str] = (), show: Sequence[str] | str = ()) -> str:
    overrides = unit_choices(units)
    defaults = _auto_units(results)
    columns = _columns(results, show)
    rows = _rows(results)
    if show == ALL:  # a row per quantity, as the table does
        header = ["quantity", "unit", *(name for name, _, _ in rows)]
        lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(rows)]
        for n in columns:
            unit = unit_for(n, _column_dim(n), overrides, defaults)
            cells = [_shown(k, q, n, unit).removesuffix(" " + unit) for _, k, q in rows]
            lines.append("| " + " | ".join([n.replace("_", " "), unit, *cells]) + " |")
        return "\n".join(lines)
    header = ["block", "kind", *(c.replace("_", " ") for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(columns)]
    cell = _sampled_cell(results.sampling) if results.sampling else _cell
    for name, kind, q in rows:
        cells = [_shown(kind, q, n, unit_for(n, _column_dim(n), overrides, defaults), cell) for n in columns]
        lines.append("| " + " | ".join([name, kind, *cells]) + " |")
    lines += [line.replace("figures:", "**figures:**") for line in derived_lines(results, overrides)]
    if results.sampling:
        lines[:0] = [sampling_line(results.sampling), ""]
    return "\n".join(lines)


# -- samples (a Monte Carlo run: the value shown is the median, its interval beside it) ----


def draws_text(samples: int, seed: int, numpy: str) -> str:
    """`Monte Carlo: 10,000 samples, seed 0 (numpy 2.4.6)`: what every sampled output says first."""
    return f"Monte Carlo: {samples:,} sample{'s' if samples != 1 else ''}, seed {seed} (numpy {numpy})"


def sampling_line(sampling: Sampled) -> str:
    return (
        draws_text(sampling.samples, sampling.seed, sampling.numpy)
        + "; each figure is the median [5th – 95th percentile]"
    )


def _summary_of(sampling: Sampled, result: Result) -> Summary | None:
    return sampling.of(str(result.block), result.name) if isinstance(result, Derivation) else None


def _sampled_cell(sampling: Sampled) -> Callable[[Result, str], str]:
    """A table cell: `575.2 [540.1 – 610.3] tCO2e` (a figure no uncertain input reaches: as before)."""

    def cell(result: Result, unit: str) -> str:
        summary = _summary_of(sampling, result)
        if summary is None or summary.sd == 0:
            return _cell(result, unit)
        factor = parse_unit(unit).factor if unit else 1.0
        p5, p50, p95 = (format_number(v / factor, 4) for v in (summary.p5, summary.p50, summary.p95))
        return f"{p50} [{p5} – {p95}] {unit}".rstrip()

    return cell


def _json_sampling(sampling: Sampled) -> dict[str, object]:
    return {"samples": sampling.samples, "seed": sampling.seed, "numpy": sampling.numpy,
            "value": "the median (p50) of the samples"}  # fmt: skip


def _json_sampled(sampling: Sampled) -> Callable[[Result, dict[Dimension, str]], JsonQuantity]:
    """A JSON quantity with `"samples": {"n", "mean", "sd", "p5", "p50", "p95"}` beside its value."""

    def quantity(result: Result, overrides: dict[Dimension, str]) -> JsonQuantity:
        shown = _json_quantity(result, overrides)
        summary = _summary_of(sampling, result)
        if summary is None:
            return shown
        scaled = summary.scaled(parse_unit(shown.unit).factor if shown.unit else 1.0)
        return attrs.evolve(shown, samples=_summary_dict(scaled))

    return quantity


def _summary_dict(summary: Summary) -> dict[str, float]:
    return {"n": summary.n, "mean": summary.mean, "sd": summary.sd, "p5": summary.p5, "p50": summary.p50,
            "p95": summary.p95}  # fmt: skip


CSV_SAMPLE_COLUMNS = ["samples", "seed", "mean", "sd", "p5", "p50", "p95"]


def _csv_samples(sampling: Sampled, result: Result, unit: str) -> list[str]:
    summary = _summary_of(sampling, result)
    if summary is None:
        return [str(sampling.samples), str(sampling.seed), "", "", "", "", ""]
    scaled = summary.scaled(parse_unit(unit).factor if unit else 1.0)
    figures = (scaled.mean, scaled.sd, scaled.p5, scaled.p50, scaled.p95)
    return [str(sampling.samples), str(sampling.seed), *(repr(v) for v in figures)]


# -- explain ------------------------------------------------------------------------------


Annotate = Callable[[Derivation], "str | None"]


def explain(
    result: Result,
    sources: dict[str, str],
    program: ir.Program | None = None,
    annotate: Annotate | None = None,
    one_row: bool = False,
) -> str:
    """The derivation tree: each value, the formula or field it came from (with the `@source` of the block
    it was written in, given the program), its inputs; citations last. `annotate` adds text after a node
    (an uncertain value's distribution or interval)."""
    if isinstance(result, Unknown):
        return f"{result.label} is unknown: {unknown_reason(result)}"
    citations: list[str] = []
    lines: list[str] = []
    seen: set[tuple[ir.BlockKey, str]] = set()
    _explain(result, "", "", lines, citations, seen, sources, program, annotate, one_row)
    if citations:
        lines += ["", "citations:", *(f"  [{i}] {c}" for i, c in enumerate(citations, 1))]
    return "\n".join(lines)


def _explain(node: Derivation, first: str, rest: str, lines: list[str], citations: list[str],
             seen: set[tuple[ir.BlockKey, str]], sources: dict[str, str],
             program: ir.Program | None = None, annotate: Annotate | None = None,
             one_row: bool = False) -> None:  # fmt: skip
    if sums_rows(node):  # a job's figure over its table's rows, summed
        rows = node.inputs[0]
        if not arrays.is_array(rows.value.magnitude):  # the same in every row: the sum, the row's beneath
            lines.append(f"{first}{node.label} = {shown(node.value, node.name)}   ({node.note})")
            first, rest = rest + "└─ ", rest + "   "
        _explain(rows, first, rest, lines, citations, seen, sources, program, annotate, one_row)  # its line says Σ
        return
    head = f"{first}{node.label} = {shown(node.value, node.name)}"
    table = program.rows_of(node.block) if program is not None and not one_row else None
    if table is not None and not arrays.is_array(node.value.magnitude) and "[" not in node.name:
        head += f" in each of {program.tables[table].rows:,} rows"  # type: ignore[union-attr]
    key = (node.block, node.name)
    if node.formula is not None:
        if node.formula.citation not in citations:
            citations.append(node.formula.citation)
        head += f"   [{node.formula.name}: {node.formula.equation}] [{citations.index(node.formula.citation) + 1}]"
    elif node.span is not None:
        head += f"   given at {node.span}"
        for text in data_source(program, node) if program is not None else ():
            if text not in citations:
                citations.append(text)
            head += f" [{citations.index(text) + 1}]"
        head += f": {_source_line(node, sources)}"
    if node.note:
        head += f"   ({node.note})"
    extra = annotate(node) if annotate is not None else None
    if extra:
        head += f"   {extra}"
    if key in seen and node.inputs:
        lines.append(head + "   (derived above)")
        return
    seen.add(key)
    lines.append(head)
    children = _unique(node.inputs)
    for index, child in enumerate(children):
        last = index == len(children) - 1
        _explain(child, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "), lines, citations, seen,
                 sources, program, annotate, one_row)  # fmt: skip


def explain_json(
    result: Result,
    sources: dict[str, str],
    about: dict[str, object] | None = None,
    program: ir.Program | None = None,
    extra: Callable[[Derivation, str | None], dict[str, object]] | None = None,
) -> str:
    """The derivation tree as JSON: each node's value, unit, formula (with its citation) or where it was
    written (`given_at`, the line as `written`, and the `source` of the block it was written in), and its
    inputs; `about` goes first (which row of which table the tree is of); `extra` adds entries to a node."""
    return json.dumps({**(about or {}), **_trace(result, sources, program, extra)}, indent=2, ensure_ascii=False)


def _trace(
    node: Result,
    sources: dict[str, str],
    program: ir.Program | None = None,
    extra: Callable[[Derivation, str | None], dict[str, object]] | None = None,
) -> dict[str, object]:
    unit = unit_for(node.name, node.value.dimension, {}) if isinstance(node, Derivation) else None
    if isinstance(node, Unknown):
        return {"quantity": node.label, "value": None, "missing": list(node.missing), "reason": node.reason}
    magnitude = node.value.to(unit or "")
    entry: dict[str, object] = {"quantity": node.label, "unit": unit}
    if getattr(magnitude, "is_series", False):  # an hourly intensity: its span and range, in `unit`
        low, high = magnitude.extremes()
        series = magnitude.series
        from nnci.timeparse import format_duration, format_instant

        entry["series"] = {"label": magnitude.label, "file": series.file, "start": format_instant(series.start),
                           "end": format_instant(series.end), "step": format_duration(series.step),
                           "count": series.count, "min": low, "max": high}  # fmt: skip
    elif node.name == "start" and not arrays.is_array(magnitude):  # seconds since 1970, as a date and time
        from nnci.timeparse import format_instant

        entry.update(unit=None, value=format_instant(node.value.magnitude))
    elif arrays.is_array(magnitude):
        entry.update(rows=arrays.length(magnitude), min=float(magnitude.min()), max=float(magnitude.max()))
        if node.name in ADDITIVE:
            entry["sum"] = arrays.total(magnitude)
    else:
        entry["value"] = float(magnitude)
    if node.formula is not None:
        entry.update(formula=node.formula.name, equation=node.formula.equation, citation=node.formula.citation)
    elif node.span is not None:
        entry.update(given_at=str(node.span), written=_source_line(node, sources).strip("`"))
        cited = data_source(program, node) if program is not None else ()
        entry["source"] = "; ".join(cited) if cited else None
    if node.note:
        entry["note"] = node.note
    if extra is not None:
        entry.update(extra(node, unit))
    if node.inputs:
        entry["inputs"] = [_trace(child, sources, program, extra) for child in _unique(node.inputs)]
    return entry


def _unique(inputs: Sequence[Derivation]) -> list[Derivation]:
    unique: dict[tuple[ir.BlockKey, str], Derivation] = {}
    for child in inputs:
        unique.setdefault((child.block, child.name), child)
    return list(unique.values())


def shown(value: Quantity, name: str) -> str:
    """A value as the explain tree shows it: a figure that differs by row as its sum, or its range."""
    if name == "start":  # seconds since 1970: shown as the date and time
        from nnci.timeparse import format_instant

        if not arrays.is_array(value.magnitude):
            return format_instant(value.magnitude)
        return f"{format_instant(value.magnitude.min())} … {format_instant(value.magnitude.max())}"
    if not arrays.is_array(value.magnitude):
        return value.format()
    rows = arrays.length(value.magnitude)
    if name in ADDITIVE:
        return f"Σ {Quantity(arrays.total(value.magnitude), value.dimension).format()} over {rows:,} rows"
    low, high = (Quantity(float(m), value.dimension).format() for m in (value.magnitude.min(), value.magnitude.max()))
    return f"{low} … {high} over {rows:,} rows"


def _source_line(node: Derivation, sources: dict[str, str]) -> str:
    assert node.span is not None
    text = source_lines(sources.get(node.span.file, ""))
    if 0 < node.span.line <= len(text):
        return "`" + text[node.span.line - 1].strip() + "`"
    return ""


# -- validate -----------------------------------------------------------------------------


def validation_rows(file: str, expects: Iterable[ExpectResult]) -> list[list[str]]:
    rows = []
    for e in expects:
        unit = _written_unit(e)
        computed = "unknown" if isinstance(e.computed, Unknown) else _in(e.computed.value, unit)
        ratio = "" if e.ratio is None else f"{e.ratio:.4f}"
        tolerance = e.tolerance_text or "± " + _in(e.tolerance, unit)
        rows.append([file, e.expect.target_text, _bound_prefix(e) + _in(e.expected, unit), computed, ratio, tolerance,
                     "pass" if e.passed else "FAIL"])  # fmt: skip
    return rows


def expectation_diagnostic(result: ExpectResult) -> Diagnostic:
    """E501 for a computed value outside the tolerance; E500 when the value cannot be derived."""
    target = result.expect.target_text
    unit = _written_unit(result)
    if isinstance(result.computed, Unknown):
        absent = (result.computed.reason or "").startswith("there is no")  # no job of the kind that has it
        return Diagnostic("E500", f"cannot derive `{target}`: {unknown_reason(result.computed)}", result.expect.span,
                          help="add such a job, or expect a quantity of the jobs there are" if absent
                          else "give the missing inputs, or the quantity itself")  # fmt: skip
    tolerance = result.tolerance_text or "± " + _in(result.tolerance, unit)
    expected = _bound_prefix(result) + _in(result.expected, unit)
    message = f"`{target}` is {_in(result.computed.value, unit)}, expected {expected} ({tolerance})"
    notes = (f"ratio computed/expected {result.ratio:.4f}",) if result.ratio is not None else ()
    return Diagnostic("E501", message, result.expect.span, notes=notes,
                      help=f"see `nnci explain {shlex.quote(result.expect.span.file)} {shlex.quote(_explained(result))}` "
                      "for how it was derived")  # fmt: skip


def _explained(result: ExpectResult) -> str:
    """What `nnci explain` takes for an expectation's figure (`p95(x.y)` is explained as `x.y`)."""
    expect = result.expect
    return f"{expect.block}.{expect.quantity}" if expect.statistic is not None else expect.target_text


def _bound_prefix(result: ExpectResult) -> str:
    """`<= ` before the value of a bound on a statistic of samples (`expect p95(x) <= 600 tCO2e`)."""
    return f"{result.expect.op} " if result.expect.statistic is not None else ""


def _written_unit(result: ExpectResult) -> str:
    value = result.expect.value
    return (
        value.text.split(" ", 1)[1]
        if isinstance(value, ir.Const) and " " in value.text
        else display_unit(result.expected.dimension)
    )


def _in(value: Quantity, unit: str) -> str:
    return f"{format_number(value.to(unit), 7)} {unit}".rstrip()


VALIDATION_HEADER = ["file", "quantity", "expected", "computed", "ratio", "tolerance", "result"]


def validation_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(VALIDATION_HEADER) + " |", "|---|---|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def validation_table(rows: list[list[str]]) -> str:
    header = VALIDATION_HEADER
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4}
    out = []
    for row in [header, *rows]:
        out.append(
            "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- compare ------------------------------------------------------------------------------


def comparison_table(
    job: str, rows: list[tuple[str, dict[str, Result]]], chosen: str | None, chosen_units: Sequence[str] = ()
) -> str:
    """One job under every method: a row per method, then the spread (largest ÷ smallest) per column.
    `chosen_units` (`--unit`) replace the default MWh and tCO2e for their dimensions."""
    units = {QUANTITIES[n].dim: QUANTITIES[n].large[0] for n in REPORTED if QUANTITIES[n].large}  # type: ignore[index]
    units.update(unit_choices(chosen_units))
    header = ["method", *REPORTED]
    body = []
    for method, quantities in rows:
        label = method + (
            " (chosen)" if method == chosen else " (default)" if chosen is None and method == "nnci" else ""
        )
        body.append([label, *(_cell(quantities[n], unit_for(n, _dim(quantities[n]), {}, units)) for n in REPORTED)])
    spread = ["spread (max/min)"]
    for name in REPORTED:
        known = [q[name] for _, q in rows]
        values = [float(r.value.magnitude) for r in known if isinstance(r, Derivation)]
        positive = [v for v in values if v > 0]
        spread.append(f"{max(positive) / min(positive):.3f}×" if len(positive) >= 2 else "")
    body.append(spread)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"{job}: every method whose inputs are available", ""]
    for row in [header, *body]:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    lines.insert(3, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- jobs over tables: a result row per input row, and totals per group --------------------


@attrs.frozen
class Tabular:
    """A table of results: a header and rows of cells (text, numbers or None for unknown)."""

    header: list[str]
    units: list[str | None]  # per column: the unit its numbers are in (None: text or a pure number)
    rows: list[list[object]]
    title: str = ""
    inputs: range = range(0)  # the columns taken from the input table (`input` or `group` in JSON)
    input_key: str = "input"
    footer: list[object] | None = None  # a total line below the rows (not in JSON, which has the totals)
    notes: tuple[str, ...] = ()  # lines printed below the table (text and Markdown; JSON and CSV are data)

    def labels(self) -> list[str]:
        """Column headings with their units; an input column named like a result column is `input.name`."""
        plain = [f"{h} [{u}]" if u else h for h, u in zip(self.header, self.units, strict=True)]
        others = {label for i, label in enumerate(plain) if i not in self.inputs}
        return [f"{self.input_key}.{label}" if i in self.inputs and label in others else label
                for i, label in enumerate(plain)]  # fmt: skip


def _table_jobs(results: Results, table: str | None = None) -> list[JobResult]:
    return [
        job
        for job in results.jobs
        if job.rows is not None and (table is None or results.program.rows_of(job.key) == table)
    ]


def _per_row_values(job: JobResult, name: str, unit: str) -> list[object]:
    """A figure of every row in `unit` (None in every row when it is unknown)."""
    assert job.rows is not None
    result = job.per_row.get(name)
    if not isinstance(result, Derivation):
        return [None] * job.rows
    values = result.value.to(unit)
    if not arrays.is_array(values):
        return [float(values)] * job.rows
    return [None if v != v else v for v in values.tolist()]  # NaN: unknown in that row


def _input_columns(results: Results, job: JobResult) -> tuple[list[str], list[str | None], list[list[object]]]:
    """The job's table as written: each column in the unit of its header."""
    table_key = results.program.rows_of(job.key)
    assert table_key is not None
    table = results.program.tables[table_key]
    header: list[str] = []
    units: list[str | None] = []
    columns: list[list[object]] = []
    for column in table.columns.values():
        header.append(column.name)
        units.append(column.unit)
        if column.dimension is None:
            columns.append(list(column.values))
        else:
            factor = parse_unit(column.unit).factor if column.unit else 1.0
            columns.append([_plain(v) for v in (column.values / factor).tolist()])
    return header, units, columns


def _plain(value: float) -> float | int:
    """A whole number as written (`8`, not `8.0`)."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def rows_tables(results: Results, units: Sequence[str] = (), show: Sequence[str] | str = ()) -> list[Tabular]:
    """`nnci run --rows`: per job over a table, one row per input row, its own columns first, then the
    figures `--show` names (else the reported ones)."""
    overrides = unit_choices(units)
    tables = []
    names = _columns(results, show)
    for job in _table_jobs(results):
        assert job.rows is not None
        header, units_in, columns = _input_columns(results, job)
        units_of = {n: unit_for(n, _column_dim(n), overrides) for n in names}
        columns += [_per_row_values(job, n, units_of[n]) for n in names]
        body = [[i + 1, *cells] for i, cells in enumerate(zip(*columns, strict=True))]
        tables.append(Tabular(["row", *header, *names], [None, *units_in, *units_of.values()], body, str(job.key),
                              range(1, 1 + len(header))))  # fmt: skip
    return tables


def group_table(results: Results, table: str, columns: Sequence[str], units: Sequence[str] = ()) -> Tabular:
    """`nnci run --by jobs.account`: the sums of every job over `table`, per distinct value of the columns."""
    import numpy

    overrides = unit_choices(units)
    names = _columns(results)
    units_of = {n: unit_for(n, _column_dim(n), overrides) for n in names}
    cells = results.program.tables[table].columns
    keys = list(zip(*(cells[c].labels for c in columns), strict=True))
    groups = sorted(set(keys))
    index = {g: i for i, g in enumerate(groups)}
    codes = numpy.fromiter((index[k] for k in keys), dtype=numpy.int64, count=len(keys))
    counts = numpy.bincount(codes, minlength=len(groups))
    sums: dict[str, list[object]] = {}
    for name in names:
        total = numpy.zeros(len(groups))
        known = True
        for job in _table_jobs(results, table):
            values = _per_row_values(job, name, units_of[name])
            if all(v is None for v in values):
                known = False
                break
            weights = numpy.array([numpy.nan if v is None else v for v in values], dtype=float)
            total += numpy.bincount(
                codes, weights=weights, minlength=len(groups)
            )  # a group with an unknown row is unknown
        sums[name] = [None if v != v else v for v in total.tolist()] if known else [None] * len(groups)
    header = [*columns, "rows", *names]
    units_out: list[str | None] = [*(None for _ in columns), None, *units_of.values()]
    body = [[*g, int(counts[i]), *(sums[n][i] for n in names)] for i, g in enumerate(groups)]
    totals = [None if any(row[len(columns) + 1 + k] is None for row in body) else
              math.fsum(row[len(columns) + 1 + k] for row in body) for k in range(len(names))]  # fmt: skip
    footer: list[object] = ["total", *("" for _ in columns[1:]), int(counts.sum()), *totals]
    title = ", ".join(str(j.key) for j in _table_jobs(results, table))
    notes = []
    for i, column in enumerate(columns):
        blank = sum(int(counts[g]) for g, group in enumerate(groups) if group[i] == "")
        if blank:
            notes.append(f"{EMPTY}: {blank:,} {'row has' if blank == 1 else 'rows have'} an empty `{column}` cell "
                         f"(in `{table}`), grouped together")  # fmt: skip
    return Tabular(header, units_out, body, title, range(len(columns)), "group", footer, tuple(notes))


EMPTY = "(empty)"  # the label of a group of rows whose grouping cell is empty (JSON keeps "")


def _json_row(table: Tabular, row: list[object]) -> dict[str, object]:
    """The input's cells under `input` (or `group`), the results beside them: no name can hide another."""
    entry: dict[str, object] = {}
    for i, (name, unit, cell) in enumerate(zip(table.header, table.units, row, strict=True)):
        value = {"value": cell, "unit": unit} if unit else cell
        if i in table.inputs:
            entry.setdefault(table.input_key, {})[name] = value  # type: ignore[index]
        else:
            entry[name] = value
    return entry


def _md_cell(text: str) -> str:
    """A cell that cannot break the Markdown table it stands in."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _text_cell(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def render_tabular(tables: Sequence[Tabular], form: str) -> str:
    """CSV (full precision, empty for unknown), JSON (a list of row objects per table), Markdown or text."""
    titled: list[Tabular] = []
    for t in tables:  # `--rows --by`: a job's rows under its name, its groups under `<job> by <column>`
        if any(u.title == t.title for u in titled):
            t = attrs.evolve(t, title=f"{t.title} by {', '.join(t.header[i] for i in t.inputs)}")
        titled.append(t)
    if form == "json":  # every quantity {"value", "unit"}, as in `nnci run --format json`
        return json.dumps(
            {t.title: [_json_row(t, row) for row in t.rows] for t in titled}, indent=2, ensure_ascii=False
        )
    parts = []
    for t in titled:
        rows = t.rows
        if t.input_key == "group" and form != "csv":  # a group of empty cells is named, not left blank
            rows = [[EMPTY if i in t.inputs and c == "" else c for i, c in enumerate(row)] for row in rows]
        rows = [*rows, t.footer] if t.footer is not None else rows  # the total line has no cells to name
        if form == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(t.labels())
            writer.writerows(
                [["" if c is None else repr(c) if isinstance(c, float) else c for c in row] for row in rows]
            )
            parts.append(buffer.getvalue().rstrip("\n"))
            continue
        body = [[_text_cell(c) for c in row] for row in rows]
        if form == "md":
            lines = ["| " + " | ".join(t.labels()) + " |", "|" + "---|" * len(t.header)]
            cells = [[_md_cell(c) for c in r] for r in body]
            notes = ["", *(f"*{n}*" for n in t.notes)] if t.notes else []
            parts.append(
                "\n".join([f"**{t.title}**", "", *lines, *("| " + " | ".join(r) + " |" for r in cells), *notes])
            )
            continue
        labels = t.labels()
        widths = [max(len(r[i]) for r in [labels, *body]) for i in range(len(labels))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [labels, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if t.footer is not None:
            lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
        parts.append("\n".join([f"{t.title}:", *lines, *("note: " + n for n in t.notes)]))
    return "\n\n".join(parts)
