"""Reading time-indexed files into series: `import "grid-2024.csv" as uk`, then `uk.carbon_intensity`.

A CSV file is a series file when a header cell names a time (`timestamp`, `datetime`, `time`,
`from`, `to`, `Datetime (UTC)`, `UTC Time at End of Hour`, ...); every other numeric column is then a
series. (A table of jobs names its column of start times otherwise: `start`, as `start = jobs.start`.)
Header names are matched loosely, so one rule reads each format by its column names:

- generic: `timestamp,carbon_intensity [gCO2e/kWh]`: ISO 8601 times with a timezone (or a header
  that says UTC), each the start of its interval; the unit in brackets or parentheses;
- Electricity Maps' hourly CSV: `Datetime (UTC)` (interval starts) and
  `Carbon intensity gCO₂eq/kWh (direct)` / `(Life cycle)` — older files: `Carbon Intensity
  gCO₂eq/kWh (direct)` / `(life cycle assessment)`. Both become `carbon_intensity_direct` and
  `carbon_intensity_lifecycle`; the user chooses one;
- EIA-930 style: `UTC Time at End of Hour` (labels the *end* of each hour, as EIA does) and a CO2
  intensity in `lbs/MWh` (pounds of CO2 per MWh, read as lbCO2e/MWh); US-style `3/4/2024 1:00:00 AM`
  times are read when the header says UTC;
- carbon-aware SDK CSV rows `location,time,rating,duration` (`PT1H`);
- a `from`/`to` pair (the UK Carbon Intensity API's CSV download) labels both ends.

The UK Carbon Intensity API's JSON (`{"data": [{"from", "to", "intensity": {"forecast",
"actual"}}]}`, gCO2/kWh, CC BY 4.0) gives the series `actual` and `forecast`; a null value is a
interval without data. `carbon_intensity` names the file's one carbon-intensity column; a file with
several (direct and life cycle, actual and forecast) asks which.

Rules: intervals are 5, 15, 30 or 60 minutes; times must follow one another by exactly one
interval. A gap, a duplicate time or a time out of order is an error (E206) at file:line:column of
the time cell, naming the span. An empty value is an interval without data (never 0): a job over it
is an error naming the span.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import attrs

from nnci.diagnostics import Diagnostic, Span
from nnci.series import STEPS, Series
from nnci.timeparse import TimeError, format_duration, format_instant, parse_duration, parse_instant
from nnci.units import CARBON, DIMENSIONLESS, ENERGY, INTENSITY, MASS, UnitError, parse_unit

ALIAS = "carbon_intensity"
MAX_REPORTED = 20
# A job log's `start`, `end` or `submit` column does not make it a series file: these names do.
_START_NAMES = {"timestamp", "datetime", "time", "date", "date_time", "from", "period_start", "interval_start",
                "datetime_utc", "time_utc", "timestamp_utc", "utc_time"}  # fmt: skip
_END_NAMES = {"to", "period_end", "interval_end", "utc_time_at_end_of_hour", "time_at_end_of_hour"}
_QUALIFIERS = {"life cycle assessment": "lifecycle", "life cycle": "lifecycle", "lifecycle": "lifecycle",
               "lca": "lifecycle", "direct": "direct", "utc": ""}  # fmt: skip
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_PARENS = re.compile(r"\(([^()]*)\)")
_US_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")
_NUMBER_TEXT = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBERS = re.compile(rf"(?:{_NUMBER_TEXT})?(?:\n(?:{_NUMBER_TEXT})?)*")  # a column's cells, one a line


@attrs.frozen(eq=False)
class SeriesTable:
    """The series of one file, by nnci name; `text` holds the names of its text columns."""

    file: str
    columns: dict[str, Series]
    text: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()  # the columns `carbon_intensity` could mean, when several

    def column(self, name: str) -> Series | None:
        found = self.columns.get(name)
        if found is None and name == ALIAS and not self.ambiguous:
            found = next((s for s in self.columns.values() if s.dimension == INTENSITY), None)
        return found


def looks_like_series(text: str) -> bool:
    """Whether a CSV's header names a time column (then it is a series file, not a table of jobs)."""
    header = next((line for line in text.removeprefix("\ufeff").splitlines() if line.strip()), "")
    try:
        cells = next(csv.reader([header]))
    except (csv.Error, StopIteration):
        return False
    return any(_role(_normalise(cell)[0]) is not None for cell in cells)


def _normalise(cell: str) -> tuple[str, str | None, bool]:
    """A header cell → (nnci name, unit text, says UTC). `Carbon intensity gCO₂eq/kWh (Life cycle)`
    → (`carbon_intensity_lifecycle`, `gCO2e/kWh`, False)."""
    text = cell.strip().replace("\u2082", "2").replace("₂", "2")
    utc = "utc" in text.lower()
    unit: str | None = None
    qualifiers: list[str] = []
    for found in _BRACKET.findall(text):
        unit = found.strip()
    text = _BRACKET.sub(" ", text)
    for inner in _PARENS.findall(text):
        lowered = inner.strip().lower()
        if lowered in _QUALIFIERS:
            if _QUALIFIERS[lowered]:
                qualifiers.append(_QUALIFIERS[lowered])
        elif unit is None and _unit_or_none(inner.strip()) is not None:
            unit = inner.strip()
        else:
            qualifiers.append(lowered)
    text = _PARENS.sub(" ", text)
    words = []
    for word in text.split():
        if unit is None and ("/" in word) and _unit_or_none(_spelling(word)) is not None:
            unit = word
            continue
        words.append(word)
    name = "_".join(re.sub(r"[^a-z0-9]+", "_", w.lower()).strip("_") for w in [*words, *qualifiers])
    name = re.sub(r"_+", "_", name).strip("_")
    return name, (_spelling(unit) if unit else None), utc


def _spelling(unit: str) -> str:
    """Units as data files write them: `gCO₂eq/kWh`, `lbs/MWh`, `gCO2/kWh` (CO2 read as CO2e)."""
    unit = unit.strip().replace("₂", "2")
    return re.sub(r"CO2(?!e)", "CO2e", unit).replace("CO2eeq", "CO2e").replace("CO2eq", "CO2e")


def _unit_or_none(text: str) -> Any:
    try:
        return parse_unit(_spelling(text))
    except UnitError:
        return None


def _role(name: str) -> str | None:
    if name in _START_NAMES:
        return "start"
    if name in _END_NAMES or name.endswith("end_of_hour"):
        return "end"
    if name == "duration":
        return "duration"
    return None


class _Cells:
    """Physical locations of cells: line and 1-based column of each cell of a one-line record."""

    def __init__(self, text: str, file: str) -> None:
        self.lines = text.split("\n")
        self.file = file

    def span(self, line: int, index: int) -> Span:
        raw = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        starts, quoted, column = [0], False, 0
        for column, char in enumerate(raw):
            if char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                starts.append(column + 1)
        if index >= len(starts):
            return Span(self.file, line, len(raw) + 1, line, len(raw) + 1)
        begin = starts[index]
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(raw.rstrip("\r"))
        cell = raw[begin:end]
        begin += len(cell) - len(cell.lstrip())
        end = begin + max(len(cell.strip()), 1)
        return Span(self.file, line, begin + 1, line, end + 1)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, span: Span | None, help: str | None = None,
            notes: tuple[str, ...] = ()) -> None:  # fmt: skip
        if len(self.items) < MAX_REPORTED:
            self.items.append(Diagnostic(code, message, span, notes=notes, help=help))


def read_series(text: str, file: str) -> tuple[SeriesTable | None, list[Diagnostic]]:
    """Read a series file (CSV, or the UK API's JSON by its `.json` name); None on any error."""
    text = text.removeprefix("\ufeff")
    if file.endswith(".json"):
        return _read_uk_json(text, file)
    return _read_csv(text, file)


def _read_csv(text: str, file: str) -> tuple[SeriesTable | None, list[Diagnostic]]:
    problems = _Problems()
    cells = _Cells(text, file)
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if any(c.strip() for c in record):
                records.append((reader.line_num, record))
    except csv.Error as error:
        problems.add("E100", f"`{file}` is not valid CSV: {error}", Span(file, reader.line_num, 1, reader.line_num, 2))
        return None, problems.items
    if len(records) < 2:
        problems.add("E100", f"`{file}` has no rows of data", Span(file, 1, 1, 1, 2),
                     help="a series file has a header line and one row per interval")  # fmt: skip
        return None, problems.items
    header_line, header = records[0]
    names = [_normalise(cell) for cell in header]
    roles = {i: _role(name) for i, (name, _, _) in enumerate(names)}
    start_col = next((i for i, r in roles.items() if r == "start"), None)
    end_col = next((i for i, r in roles.items() if r == "end"), None)
    duration_col = next((i for i, r in roles.items() if r == "duration"), None)
    time_col = start_col if start_col is not None else end_col
    if time_col is None:
        problems.add("E100", f"`{file}` has no time column", cells.span(header_line, 0),
                     help="name one `timestamp`, `datetime`, `time`, `from` or `to`")  # fmt: skip
        return None, problems.items
    rows = records[1:]
    for line, record in rows:
        if len(record) != len(header):
            problems.add("E100", f"row has {len(record)} cells, the header has {len(header)}",
                         cells.span(line, min(len(record), len(header)) - 1 if record else 0))  # fmt: skip
    if problems.items:
        return None, problems.items
    times = _times(rows, time_col, names[time_col][2], cells, problems)
    ends = _times(rows, end_col, names[end_col][2], cells, problems) if end_col not in (None, time_col) else None
    if problems.items:
        return None, problems.items
    step = _step(rows, times, ends, duration_col, time_col, cells, file, problems)
    if step is None:
        return None, problems.items
    _continuity(rows, times, step, time_col, cells, problems)
    if problems.items:
        return None, problems.items
    labels_end = start_col is None
    start = times[0] - step if labels_end else times[0]
    note = f"times in `{header[time_col].strip()}` label the end of each interval" if labels_end else None
    lines = [line for line, _ in rows]
    columns: dict[str, Series] = {}
    text_columns: list[str] = []
    for index, (name, unit_text, _) in enumerate(names):
        if index in (start_col, end_col, duration_col) or not name:
            continue
        raw = [record[index].strip() for _, record in rows]
        joined = "\n".join(raw)  # one regexp pass per column, not one per cell
        if not _NUMBERS.fullmatch(joined) or not joined.strip():
            text_columns.append(name)
            continue
        span = cells.span(header_line, index)
        if unit_text is None and name == "rating":  # the carbon-aware SDK's rows: g/kWh
            unit_text = "gCO2e/kWh"
        factor, dimension, column_note = 1.0, DIMENSIONLESS, note
        if unit_text is not None:
            try:
                unit = parse_unit(unit_text)
            except UnitError as error:
                problems.add("E302", f"column `{header[index].strip()}`: {error}", span, help=error.hint)
                continue
            factor, dimension = unit.factor, unit.dimension
            if dimension == MASS / ENERGY and "co2" in name:  # EIA: pounds of CO2 per MWh
                dimension = CARBON / ENERGY
                column_note = "; ".join(n for n in (note, f"{unit_text} read as CO2e per energy") if n)
        import numpy as np

        if "" in raw:  # intervals without data
            values = np.array([float(c) * factor if c else np.nan for c in raw], dtype=float)
        else:
            values = np.array(raw, dtype=float) * factor
        columns[name] = Series(name, file, start, step, values, dimension, unit_text or "", span, lines,
                               column_note)  # fmt: skip
    if problems.items:
        return None, problems.items
    return _table(file, columns, text_columns), []


def _table(file: str, columns: dict[str, Series], text: list[str]) -> SeriesTable:
    intensities = [n for n, s in columns.items() if s.dimension == INTENSITY]
    ambiguous = tuple(intensities) if len(intensities) > 1 and ALIAS not in columns else ()
    return SeriesTable(file, columns, tuple(text), ambiguous)


def _times(rows: list[tuple[int, list[str]]], col: int | None, utc: bool, cells: _Cells,
           problems: _Problems) -> list[float]:  # fmt: skip
    assert col is not None
    times = []
    for line, record in rows:
        cell = record[col].strip()
        try:
            times.append(_instant(cell, utc))
        except TimeError as error:
            problems.add("E305", str(error), cells.span(line, col), help=error.hint)
            times.append(float("nan"))
    return times


def _instant(cell: str, utc: bool) -> float:
    us = _US_TIME.fullmatch(cell)
    if us is not None and utc:
        month, day, year, hour, minute, second, half = us.groups()
        hour_value = int(hour) % 12 + (12 if half and half.lower() == "pm" else 0) if half else int(hour)
        iso = f"{year}-{int(month):02d}-{int(day):02d}T{hour_value:02d}:{minute}:{second or '00'}"
        return parse_instant(iso, utc=True)
    return parse_instant(cell, utc=utc)


def _step(rows: list[tuple[int, list[str]]], times: list[float], ends: list[float] | None, duration_col: int | None,
          time_col: int, cells: _Cells, file: str, problems: _Problems) -> float | None:  # fmt: skip
    """The interval length: from the `to` column, a `duration` column, or the first two times."""
    line = rows[0][0]
    if ends is not None:
        step = ends[0] - times[0]
    elif duration_col is not None:
        try:
            step = parse_duration(rows[0][1][duration_col])
        except TimeError as error:
            problems.add("E305", str(error), cells.span(line, duration_col), help=error.hint)
            return None
    elif len(times) > 1:
        step, line = times[1] - times[0], rows[1][0]
    else:
        problems.add("E206", f"`{file}` has one row, so the length of its interval is unknown",
                     cells.span(line, time_col), help="add a `to` or `duration` column, or more rows")  # fmt: skip
        return None
    if step not in STEPS:
        problems.add("E206", f"an interval of {format_duration(step)}: series intervals are 5, 15, 30 or 60 minutes",
                     cells.span(line, time_col),
                     help="resample the data to one of those intervals")  # fmt: skip
        return None
    if ends is not None:
        for (row_line, _), begin, finish in zip(rows, times, ends, strict=True):
            if finish - begin != step:
                problems.add("E206", f"this interval lasts {format_duration(finish - begin)}, the first "
                             f"{format_duration(step)}", cells.span(row_line, time_col),
                             help="every interval of a series has the same length")  # fmt: skip
    return step


def _continuity(rows: list[tuple[int, list[str]]], times: list[float], step: float, col: int, cells: _Cells,
                problems: _Problems) -> None:  # fmt: skip
    for i in range(1, len(times)):
        gap = times[i] - times[i - 1]
        if gap == step:
            continue
        line, previous = rows[i][0], rows[i - 1][0]
        span = cells.span(line, col)
        if gap == 0:
            problems.add("E206", f"duplicate time {format_instant(times[i])} (also on line {previous})", span,
                         help="keep one row per interval")  # fmt: skip
        elif gap < 0:
            problems.add("E206", f"time {format_instant(times[i])} comes before the one on line {previous}", span,
                         help="sort the rows by time")  # fmt: skip
        else:
            missing = gap / step - 1
            what = f"{missing:g} interval{'s' if missing != 1 else ''}" if missing == int(missing) else "a part"
            problems.add("E206", f"a gap: no data for {format_instant(times[i - 1] + step)}–"
                         f"{format_instant(times[i])} ({what} of {format_duration(step)})", span,
                         help="fill the gap (an empty value marks an interval without data), or split the file")  # fmt: skip


def _read_uk_json(text: str, file: str) -> tuple[SeriesTable | None, list[Diagnostic]]:
    """The UK Carbon Intensity API's JSON: `{"data": [{"from", "to", "intensity": {"forecast", "actual"}}]}`."""
    import numpy as np

    problems = _Problems()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problems.add("E100", f"`{file}` is not valid JSON: {error.msg}",
                     Span(file, error.lineno, error.colno, error.lineno, error.colno + 1))  # fmt: skip
        return None, problems.items
    entries = document.get("data") if isinstance(document, dict) else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict) and "data" in entries[0]:
        entries = entries[0]["data"]  # a regional answer: {"data": [{"regionid", ..., "data": [...]}]}
    if not isinstance(entries, list) or not entries:
        problems.add("E100", f"`{file}` has no `data` list of intervals", Span(file, 1, 1, 1, 2),
                     help='the UK Carbon Intensity API answers {"data": [{"from", "to", "intensity": {...}}]}')  # fmt: skip
        return None, problems.items
    spans = _json_spans(text, file, len(entries))
    starts, ends = [], []
    values: dict[str, list[float]] = {"actual": [], "forecast": []}
    for i, entry in enumerate(entries):
        span = spans[i]
        intensity = entry.get("intensity") if isinstance(entry, dict) else None
        if not isinstance(intensity, dict):
            problems.add("E100", f"interval {i + 1} has no `intensity`", span)
            continue
        try:
            starts.append(parse_instant(str(entry.get("from", "")), utc=False))
            ends.append(parse_instant(str(entry.get("to", "")), utc=False))
        except TimeError as error:
            problems.add("E305", f"interval {i + 1}: {error}", span, help=error.hint)
            continue
        for name in values:
            value = intensity.get(name)
            if value is not None and not isinstance(value, int | float):
                problems.add("E305", f"interval {i + 1}: `{name}` is not a number", span)
            values[name].append(float(value) * 1e-3 / 3.6e6 if isinstance(value, int | float) else np.nan)
    if problems.items:
        return None, problems.items
    step = ends[0] - starts[0]
    if step not in STEPS:
        problems.add("E206", f"an interval of {format_duration(step)}: series intervals are 5, 15, 30 or 60 minutes",
                     spans[0])  # fmt: skip
        return None, problems.items
    for i in range(1, len(starts)):
        gap = starts[i] - starts[i - 1]
        if gap == 0:
            problems.add("E206", f"duplicate time {format_instant(starts[i])} (also interval {i})", spans[i],
                         help="keep one entry per interval")  # fmt: skip
        elif gap < 0:
            problems.add("E206", f"time {format_instant(starts[i])} comes before interval {i}'s", spans[i],
                         help="sort the entries by `from`")  # fmt: skip
        elif gap != step:
            problems.add("E206", f"a gap: no data for {format_instant(starts[i - 1] + step)}–"
                         f"{format_instant(starts[i])}", spans[i], help="fill the gap, or split the file")  # fmt: skip
    if problems.items:
        return None, problems.items
    lines = [s.line for s in spans]
    columns = {
        name: Series(
            name,
            file,
            starts[0],
            step,
            np.array(vals),
            INTENSITY,
            "gCO2/kWh",
            spans[0],
            lines,
            "UK Carbon Intensity API: gCO2/kWh, read as CO2e",
        )
        for name, vals in values.items()
        if any(not np.isnan(v) for v in vals)
    }
    return _table(file, columns, []), []


def _json_spans(text: str, file: str, count: int) -> list[Span]:
    """Where each entry's `"from"` key stands: JSON readers keep no positions, so find them in the text."""
    spans = []
    line, last, line_start = 1, 0, 0
    for match in re.finditer(r'"from"\s*:', text):  # lines counted as the matches advance: one pass
        line += text.count("\n", last, match.start())
        newline = text.rfind("\n", last, match.start())
        line_start = newline + 1 if newline >= 0 else line_start
        last = match.start()
        column = match.start() - line_start + 1
        spans.append(Span(file, line, column, line, column + 6))
    while len(spans) < count:
        spans.append(Span(file, 1, 1, 1, 2))
    return spans
