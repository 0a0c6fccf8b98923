"""CSV tables of jobs → typed columns: `import "jobs.csv" as jobs`, then `rows = jobs`, `jobs.gpus`.

`read_table(text, file)` returns the table and its diagnostics; the table is None when there is
any error, so a scenario never computes with a half-read file. The rules, as a user sees them:

- The first line is the header (blank lines before it are skipped). A header cell is a name, optionally followed by its unit in
  square brackets: `gpus`, `gpu_hours [h]`, `intensity [gCO2e/kWh]`, `share [%]`. Names are nnci
  names (`[A-Za-z_][A-Za-z0-9_]*`), each used once. The unit is read by `nnci.units.parse_unit`.
- A column with a unit holds numbers only; they are converted to SI base units (`2` in an
  `[h]` column is 7200.0 s, `62` in a `[%]` column is 0.62). A column without a unit holds
  pure numbers when every non-empty cell is number-like (a number, or something that is clearly
  meant as one: `8 h`, `1,000`, `nan`), and text otherwise; text cells are kept as written,
  without surrounding whitespace (they may name blocks: `site = jobs.cluster`).
- Numbers are written as in `.nnci` files (`1e5`, `.5`, `1_000`), with an optional leading `-`
  or `+`, and spaces around them are ignored. Negative numbers are read (ranges are checked
  later, where the meaning of the column is known). Refused, each with a diagnostic located at
  the cell: an empty cell (an empty cell is never read as 0), text, a unit in the cell (`8 h`:
  the unit belongs in the header), thousands separators or decimal commas (`"1,000"`), `nan`
  and `inf`, and numbers too large to be finite in SI units.
- The file is read as RFC 4180 CSV by the `csv` module: cells in double quotes may hold commas,
  newlines and doubled quotes (`""`); text after a closing quote is an error. A byte-order mark
  is dropped (and not counted in column numbers, as for `.nnci` files); CRLF line ends are
  accepted. Lines that are empty, hold only spaces or only `""` are skipped wherever they stand
  (in a one-column table, an empty line is therefore not an empty cell). `#` starts no comment: a
  table is data, and a `#` line is a row like any other. Every row has as many cells as the
  header; a table needs at least one row.
- Locations are physical: `file.csv:LINE:COL` with the header on line 1 and COL the 1-based
  character column of the cell, so `render_all(diagnostics, {file: text})` shows the line and
  a caret under the cell. Messages name the data row (row 1 is the first row after the header,
  skipped blank lines not counted) and the column. At most 20 bad cells are reported per
  column, and 20 rows with the wrong number of cells; the last one reported says how many more
  there are, so a broken million-row file prints a page, not a million errors.

Codes: E100 for the file's syntax (quotes, row lengths, header names, no rows), E202 for a
column name used twice, E302 for an unknown unit in the header, E305 for a cell that is not a
usable number (as for a `.nnci` number that cannot be used).

For the resolver: `Column.cell_span(row)` locates any cell (a range error found later points at
its cell), `Table.row_span(row)` a whole row; a text column keeps `first_text`, the first row
that made it text, and `Column.number_problems()` gives the located diagnostics a numeric column
would have had, for a text column used where numbers are needed (`fleet = { a100 = jobs.gpus }`).

Cost: numpy is imported by `read_table` only, so a scenario without tables does not pay for it.
The csv module reads the records; each numeric column is converted by numpy in one call, after
one regex pass over the file rules out what float() reads and nnci does not; a column that
fails is redone in chunks, and only a failing chunk cell by cell. Locations are computed only
for diagnostics. 1,000,000 rows × 5 columns read in about 1.1 s of CPU.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import math
import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import attrs

from nnci.diagnostics import Diagnostic, Span, sort_diagnostics
from nnci.units import DIMENSIONLESS, Dimension, UnitError, parse_unit

MAX_PER_COLUMN = 20  # bad cells reported per column (and rows of the wrong length per file)
CHUNK = 4096  # cells converted at once when a column has bad cells

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = r"[+-]?(?:\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?"
NUMBER = re.compile(_NUMBER, re.ASCII)  # fullmatch: the language's NUMBER with an optional sign
_EXPONENT_UNDERSCORE = re.compile(r"[eE][+-]?[0-9]*_")  # float() reads `1e5_0`; nnci does not
_BAD_DOT = re.compile(r"\.(?![0-9])")  # float() reads `1.` and `1.e5`; nnci does not
_WITH_UNIT = re.compile(rf"(?P<number>{_NUMBER})\s*(?P<unit>[^\s\d.,+\-][^\s]*(?:\s*[*/]\s*[^\s]+)*)")
_SEPARATED = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)")  # with commas: `1,000`, `1,5`
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# A cell of a column without a unit that only an identifier is written like: a leading zero before a
# digit (`007`) or digits joined by `_` (a Slurm array job `41200_3`).
_IDENTIFIER = re.compile(r"(?:^|\n)\s*[+-]?0\d|\d_\d")
_HEADER_UNIT = re.compile(r"(?P<name>[^\[\]]*?)\s*\[(?P<unit>[^\[\]]*)\]")
_HEADER_PARENS = re.compile(r"(?P<name>[^()\[\]]*?)\s*\((?P<unit>[^()\[\]]+)\)")


@attrs.frozen(eq=False)
class Column:
    """One column: its header, its unit and dimension, and its values.

    Compared and hashed by identity (a numpy array has no truth value and no hash), so a column
    can key a memo or sit in a frozen IR node.

    `values` is a numpy float64 array in SI base units for a numeric column, a tuple of str for
    a text column (`dimension` None). `first_text` is, for a text column, the first data row
    whose cell is not number-like (so "`jobs.gpus` holds text" can point at the cell that made
    it text); None for a numeric column or one whose cells are all empty.
    """

    name: str
    unit: str | None
    dimension: Dimension | None
    values: Any
    span: Span
    index: int = 0  # 0-based position in the header
    first_text: int | None = None
    _locator: _Locator | None = attrs.field(default=None, eq=False, repr=False)
    problems: tuple[Diagnostic, ...] = ()  # its bad cells, located: an error once a job reads the column

    @property
    def is_text(self) -> bool:
        return self.dimension is None

    @property
    def groups_by(self) -> bool:
        """Whether `--by` and `group(...)` may group rows by this column: text, or plain numbers without a
        unit (a project or user id), whose groups are named by the numbers as written."""
        return self.dimension is None or (self.unit is None and self.dimension == DIMENSIONLESS)

    @property
    def labels(self) -> tuple[str, ...]:
        """Each row's group name: the cell of a text column; a plain number as it reads (`1001`, `2.5`).
        Built on each call: its readers (`--by`, `group`) keep what they make of it."""
        if self.dimension is None:
            return tuple(self.values)
        return tuple(_label(value) for value in self.values.tolist())

    def cell_span(self, row: int) -> Span:
        """Where the cell of data row `row` (0-based) stands in the file, quotes included."""
        if self._locator is None:
            raise ValueError("this column was not read from a file")
        return self._locator.cell(row, self.index)

    def number_problems(self) -> list[Diagnostic]:
        """For a text column used where numbers are needed: why, cell by cell, as a numeric column
        would have been reported (`row 17, column `gpus`: `abc` is not a number`), capped the same way."""
        if not self.is_text or self._locator is None:
            return []
        import numpy as np

        return _slow_numbers(np, self._locator, self.name, None, 1.0, self.index, self.values, None)[1]


def _label(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


@attrs.frozen(eq=False)
class Table:
    """A table read from `file`: its columns in header order and its number of data rows.
    Compared and hashed by identity, as its columns are."""

    file: str
    columns: dict[str, Column]
    rows: int
    _locator: _Locator | None = attrs.field(default=None, eq=False, repr=False)

    def row_span(self, row: int) -> Span:
        """The whole of data row `row` (0-based), from its first cell to the end of its last."""
        if self._locator is None:
            raise ValueError("this table was not read from a file")
        return self._locator.row(row)


def read_table(text: str, file: str) -> tuple[Table | None, list[Diagnostic]]:
    """Read a CSV table; the table is None if any diagnostic is an error. Cost is linear in the file."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency of nnci
        return None, [Diagnostic("E103", f"`{file}` cannot be read: reading a table needs numpy",
                                 None, help="install it: `pip install numpy`")]  # fmt: skip
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    collecting = gc.isenabled()
    gc.disable()  # a million small lists: the cyclic collector would rescan them again and again
    try:
        return _Reader(text, file, np).read()
    finally:
        if collecting:
            gc.enable()


class _Locator:
    """Maps data rows and cells to physical spans; only ever asked on the error path or by
    `Column.cell_span`, so the line index and the record scanner cost nothing on success."""

    def __init__(self, text: str, file: str, one_line_records: bool, row_records: list[int] | None) -> None:
        self.text = text
        self.file = file
        self.one_line_records = one_line_records  # record k stands on line k + 1
        self.row_records = row_records  # record index of each data row; None: row r is record r + 1
        self.lines = _Lines(text)
        self._starts: list[int] | None = None
        self._fields: dict[int, list[tuple[int, int, int, int]]] = {}

    def record_line(self, record: int) -> int:
        if self.one_line_records:
            return record + 1
        if self._starts is None:
            self._starts = _record_starts(self.text)
        return self._starts[record]

    def record_of(self, row: int) -> int:
        return row + 1 if self.row_records is None else self.row_records[row]

    def fields(self, record: int) -> list[tuple[int, int, int, int]]:
        if record not in self._fields:
            if len(self._fields) >= 4096:  # a location per row of a large table: keep memory flat
                self._fields.clear()
            self._fields[record] = _scan(self.lines, self.record_line(record))[0]
        return self._fields[record]

    def field_span(self, record: int, index: int) -> Span:
        """The cell as written, without the spaces around it (an empty cell: a point)."""
        line, column, end_line, end_column = self.fields(record)[index]
        if line == end_line:
            raw = self.lines.at(line - 1)[column - 1 : end_column - 1]
            stripped = raw.strip()
            if stripped:
                column += len(raw) - len(raw.lstrip())
                end_column = column + len(stripped)
            else:
                end_column = column
        return Span(self.file, line, column, end_line, end_column)

    def cell(self, row: int, index: int) -> Span:
        return self.field_span(self.record_of(row), index)

    def row(self, row: int) -> Span:
        fields = self.fields(self.record_of(row))
        first, last = fields[0], fields[-1]
        return Span(self.file, first[0], first[1], last[2], last[3])

    def after_record(self, record: int) -> Span:
        """A point just after the last cell of a record (where a missing cell would go)."""
        last = self.fields(record)[-1]
        return Span(self.file, last[2], last[3], last[2], last[3])


def _csv_reader(text: str) -> Any:
    # newline="\n": lines end at "\n" only, as the renderer counts them; csv handles "\r\n".
    return csv.reader(io.StringIO(text, newline="\n"), strict=True)


def _record_starts(text: str) -> list[int]:
    """The physical line each record starts on (records spanning lines: quoted newlines)."""
    reader = _csv_reader(text)
    starts, previous = [], 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    return starts


class _Lines:
    """The text's lines, split at "\n" as the renderer splits them, and only as far as asked:
    locating a cell near the top of a large file does not split the whole file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.known: list[str] = []
        self.complete = False

    def get(self, number: int) -> str | None:
        """Line `number` (0-based) with its "\r" if any, or None past the end."""
        while number >= len(self.known) and not self.complete:
            wanted = max(64, 2 * len(self.known), number + 1)
            parts = self.text.split("\n", wanted)
            if len(parts) > wanted:
                parts.pop()  # the rest of the text, not yet split
            else:
                self.complete = True
            self.known = parts
        return self.known[number] if number < len(self.known) else None

    def at(self, number: int) -> str:
        return self.get(number) or ""


def _scan(lines: _Lines, first: int, limit: int | None = None
          ) -> tuple[list[tuple[int, int, int, int]], tuple[str, int, int] | None]:  # fmt: skip
    """The cells of the record starting on line `first`, as csv (strict, default dialect) reads them.

    Each cell is (line, column, end_line, end_column), 1-based, end exclusive, quotes included.
    The second result is the first problem csv refuses, as (kind, line, column), or None. With a
    `limit`, a quoted cell that runs over about that many characters is a problem ("too_long").
    """
    number = first - 1
    line = _content(lines, number)
    i = 0
    fields: list[tuple[int, int, int, int]] = []
    while True:
        start_line, start = number, i
        if i < len(line) and line[i] == '"':
            i += 1
            length = 0  # about how many characters the quoted cell holds so far
            while True:
                j = line.find('"', i)
                if j == -1:
                    number += 1
                    if lines.get(number) is None:
                        return fields, ("unclosed", start_line + 1, start + 1)
                    length += len(line) - i + 1
                    if limit is not None and length > limit:
                        return fields, ("too_long", start_line + 1, start + 1)
                    line, i = _content(lines, number), 0
                    continue
                if j + 1 < len(line) and line[j + 1] == '"':
                    i = j + 2
                    continue
                if limit is not None and length + j - i > limit:
                    return fields, ("too_long", start_line + 1, start + 1)
                i = j + 1
                break
            if i < len(line) and line[i] != ",":
                fields.append((start_line + 1, start + 1, number + 1, i + 1))
                return fields, ("after_quote", number + 1, i + 1)
        else:
            comma = line.find(",", i)
            end = len(line) if comma == -1 else comma
            if limit is not None and end - i > limit:
                return fields, ("too_long", start_line + 1, start + 1)
            carriage = line.find("\r", i, end)
            if carriage != -1:
                fields.append((start_line + 1, start + 1, number + 1, carriage + 1))
                return fields, ("carriage_return", number + 1, carriage + 1)
            i = end
        fields.append((start_line + 1, start + 1, number + 1, i + 1))
        if i < len(line):  # a comma: another cell follows
            i += 1
            continue
        return fields, None


def _content(lines: _Lines, number: int) -> str:
    """Line `number` (0-based) without its line end ("" past the end)."""
    line = lines.at(number)
    return line[:-1] if line.endswith("\r") else line


def _blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


class _Reader:
    def __init__(self, text: str, file: str, np: Any) -> None:
        self.text = text
        self.file = file
        self.np = np
        self.diagnostics: list[Diagnostic] = []
        self._plain: bool | None = None

    @property
    def plain(self) -> bool:
        """Whether the whole file is free of what float() reads and nnci does not: then no
        column needs that looked for on its own (one pass over the text instead of one per column)."""
        if self._plain is None:
            self._plain = _plain(self.text)
        return self._plain

    def error(self, code: str, message: str, span: Span | None, help: str | None = None,
              notes: tuple[str, ...] = ()) -> Diagnostic:  # fmt: skip
        diagnostic = Diagnostic(code, _one_line(message), span, notes=notes, help=help and _one_line(help))
        self.diagnostics.append(diagnostic)
        return diagnostic

    def read(self) -> tuple[Table | None, list[Diagnostic]]:
        reader = _csv_reader(self.text)
        try:
            records = list(reader)
        except csv.Error as error:
            self.syntax_error(str(error))
            return None, self.diagnostics
        one_line = reader.line_num == len(records)
        while records and _blank(records[-1]):
            records.pop()
        if not records or all(map(_blank, records)):
            self.error("E100", f"`{self.file}` is empty", Span(self.file, 1, 1, 1, 1),
                       help="a table is a header line (`name, gpus, hours [h]`) and one row per job")  # fmt: skip
            return None, self.diagnostics
        header_record = 0
        while _blank(records[header_record]):
            header_record += 1
        header = records[header_record]
        width = len(header)
        body = records[header_record + 1 :]
        # Fast path: every row has the header's length (no blank lines among rows of 2+ cells).
        if width > 1 and header_record == 0 and (not body or set(map(len, body)) == {width}):
            locator = _Locator(self.text, self.file, one_line, None)
            kept, kept_rows = body, None
            rows = len(body)
        else:
            locator, kept, kept_rows, rows = self.sort_rows(records, header_record, width, one_line)
        self.locator = locator
        if rows == 0:
            self.error("E100", "the table has a header but no rows", self.header_line_span(header_record, width),
                       help="a table of jobs needs at least one row")  # fmt: skip
        columns = self.header(header, header_record)
        result: dict[str, Column] = {}
        for index, (name, unit_text, unit, span) in enumerate(columns):
            column = self.column(name, unit_text, unit, span, index, kept, kept_rows)
            if column is not None and name not in result:
                result[name] = column
        diagnostics = sort_diagnostics(self.diagnostics)
        if any(d.severity == "error" for d in diagnostics):
            return None, diagnostics
        return Table(self.file, result, rows, locator), diagnostics

    def header_line_span(self, record: int, width: int) -> Span:
        first = self.locator.field_span(record, 0)
        last = self.locator.field_span(record, width - 1)
        return Span(self.file, first.line, first.column, last.end_line, last.end_column)

    # -- structure ---------------------------------------------------------------------------

    def syntax_error(self, message: str) -> None:
        """csv refused the file: find the record it stopped in and say what is wrong, where."""
        reader = _csv_reader(self.text)
        previous = 0
        try:
            for _ in reader:
                previous = reader.line_num
        except csv.Error:
            pass
        lines = _Lines(self.text)
        _, problem = _scan(lines, previous + 1, csv.field_size_limit())
        if problem is None:  # pragma: no cover - the scanner mirrors csv; kept as a safety net
            line = previous + 1
            self.error("E100", f"cannot read the table: {message}", Span(self.file, line, 1, line, 1))
            return
        kind, line, column = problem
        span = Span(self.file, line, column, line, column + 1)
        if kind == "unclosed":
            self.error("E100", "this quote is never closed", span,
                       help='end the cell with `"`; a quote inside a quoted cell is written twice (`""`)')  # fmt: skip
        elif kind == "after_quote":
            char = lines.at(line - 1)[column - 1]
            self.error("E100", f"unexpected `{char}` after the closing quote of a cell", span,
                       help='quote the whole cell (`"8 GPUs"`); a quote inside a quoted cell is written twice (`""`)')  # fmt: skip
        elif kind == "too_long":
            self.error("E100", f"a cell longer than {csv.field_size_limit():,} characters starts here", span,
                       help='is a quote left open? A `"` that opens a cell pairs with the next lone `"`')  # fmt: skip
        else:
            self.error("E100", "a carriage return inside a cell", span,
                       help="end lines with `\\n` or `\\r\\n`, or put the cell in double quotes")  # fmt: skip

    def sort_rows(self, records: list[list[str]], header_record: int, width: int,
                  one_line: bool) -> tuple[_Locator, list[list[str]], list[int] | None, int]:  # fmt: skip
        """The slow path: skip blank lines, report rows of the wrong length, keep the others."""
        row_records: list[int] = []
        kept: list[list[str]] = []
        kept_rows: list[int] = []
        for record in range(header_record + 1, len(records)):
            cells = records[record]
            if _blank(cells):
                continue
            row = len(row_records)
            row_records.append(record)
            if len(cells) == width:
                kept.append(cells)
                kept_rows.append(row)
        locator = _Locator(self.text, self.file, one_line, row_records)
        self.locator = locator
        bad = [row for row, record in enumerate(row_records) if len(records[record]) != width]
        names = [re.split(r"\s*[\[(]", cell.strip(), maxsplit=1)[0] for cell in records[header_record]]
        shown = [self.row_length(row, row_records[row], records[row_records[row]], width, names)
                 for row in bad[:MAX_PER_COLUMN]]  # fmt: skip
        if len(bad) > len(shown):
            self.add_note(shown[-1], f"and {len(bad) - len(shown):,} more rows with the wrong number of cells")
        identity = len(kept_rows) == len(row_records)
        return locator, kept, None if identity else kept_rows, len(row_records)

    def row_length(self, row: int, record: int, cells: list[str], width: int, names: list[str]) -> Diagnostic:
        count = len(cells)
        message = f"row {row + 1} has {count} cell{'s' if count != 1 else ''}, but the header has {width} columns"
        fields = self.locator.fields(record)
        first_cell = self.locator.field_span(record, 0)
        hint = None
        if self.locator.lines.at(first_cell.line - 1)[first_cell.column - 1 : first_cell.column] == "#":
            hint = "`#` starts no comment in a table: remove the line"
        if count > width:
            first, last = fields[width], fields[-1]
            span = Span(self.file, first[0], first[1], last[2], last[3])
            split = any(re.fullmatch(r"\d{1,3}", a.strip()) and re.fullmatch(r"\d{3}(?:\.\d+)?", b.strip())
                        for a, b in itertools.pairwise(cells))  # fmt: skip
            if hint is None and not any(cell.strip() for cell in cells[width:]):
                hint = "remove the `,` at the end of the line: it starts an empty cell"
            elif split and hint is None:
                hint = "is a number written with thousands separators? Write `1000` or `1_000`"
            return self.error("E100", message, span, help=hint,
                              notes=("a cell holding a comma is written in double quotes",))  # fmt: skip
        missing = ", ".join(f"`{name}`" for name in names[count:])
        return self.error("E100", f"{message} (missing {missing})", self.locator.after_record(record), help=hint)

    def add_note(self, diagnostic: Diagnostic, note: str) -> None:
        index = self.diagnostics.index(diagnostic)
        self.diagnostics[index] = attrs.evolve(diagnostic, notes=(*diagnostic.notes, note))

    # -- header ------------------------------------------------------------------------------

    def header(self, cells: list[str], record: int) -> list[tuple[str, str | None, Any, Span]]:
        """Each header cell → (name, unit text, parsed unit or None, span); problems reported."""
        columns = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(cells):
            span = self.locator.field_span(record, index)
            cell = raw.strip()
            name, unit_text, unit = cell, None, None
            match = _HEADER_UNIT.fullmatch(cell)
            if match:
                name, unit_text = match["name"].strip(), match["unit"].strip()
                unit = self.header_unit(name, unit_text, match["unit"], span)
            elif "[" in cell or "]" in cell:
                self.error("E100", f"cannot read the unit of `{_shown(cell)}`", span,
                           help="a unit goes in square brackets after the name: `hours [h]`")  # fmt: skip
                name = re.split(r"\s*[\[\]]", cell, maxsplit=1)[0]
            elif (parens := _HEADER_PARENS.fullmatch(cell)) and _is_unit(parens["unit"].strip()):
                name, inner = parens["name"].strip(), parens["unit"].strip()
                self.error("E100", f"`{_shown(cell)}`: a unit in a header goes in square brackets", span,
                           help=f"write `{_suggest_name(name) or name} [{inner}]`")  # fmt: skip
            if not name:
                self.error("E100", f"column {index + 1} has no name", span,
                           help="every column needs a name in the header line, e.g. `gpus` or `hours [h]`")  # fmt: skip
            elif not NAME.fullmatch(name) and (separator := next((c for c in ";\t|" if c in name), None)):
                shown = {";": "`;`", "\t": "tabs", "|": "`|`"}[separator]
                self.error("E100", f"`{_shown(name)}` is not a valid column name", span,
                           help=f"columns are separated by commas (`,`), and this header has {shown} between "
                           "them: save the table as comma-separated values")  # fmt: skip
            elif not NAME.fullmatch(name):
                suggestion = _suggest_name(name)
                self.error("E100", f"`{_shown(name)}` is not a valid column name", span,
                           help="names are letters, digits and `_`, not starting with a digit"
                           + (f": write `{suggestion}`" if suggestion else ""))  # fmt: skip
            elif name in seen:
                self.error("E202", f"column `{name}` appears twice in the header", span,
                           notes=(f"it is also column {seen[name] + 1}",), help="give each column its own name")  # fmt: skip
            else:
                seen[name] = index
            columns.append((name, unit_text, unit, span))
        return columns

    def header_unit(self, name: str, unit_text: str, written: str, span: Span) -> Any:
        if not unit_text:
            self.error("E100", f"`{name} []`: the brackets hold no unit", span,
                       help="write the unit (`hours [h]`), or no brackets for pure numbers")  # fmt: skip
            return None
        try:
            return parse_unit(unit_text)
        except UnitError as error:
            raw = self.locator.lines.at(span.line - 1) if span.line == span.end_line else ""
            bracket = raw.rfind("[", span.column - 1, span.end_column - 1)
            if bracket == -1:
                unit_span = span
            else:
                start = bracket + 2 + (len(written) - len(written.lstrip()))
                unit_span = Span(self.file, span.line, start, span.line, start + len(unit_text))
            self.error("E302", str(error), unit_span, help=error.hint)
            return None

    # -- cells -------------------------------------------------------------------------------

    def column(self, name: str, unit_text: str | None, unit: Any, span: Span, index: int,
               kept: list[list[str]], kept_rows: list[int] | None) -> Column | None:  # fmt: skip
        np = self.np
        cell = itemgetter(index)
        if unit_text is None and kept and (first := cell(kept[0]).strip()) and not _number_like(first):
            first_row = 0 if kept_rows is None else kept_rows[0]  # text from the first row: no list of cells
            values = tuple(map(str.strip, map(cell, kept)))
            return Column(name, None, None, values, span, index, first_row, self.locator)
        cells = list(map(cell, kept))
        if unit_text is None and _IDENTIFIER.search("\n".join(cells)):
            values = tuple(map(str.strip, cells))  # job ids like `41200_3` or `007`: names, not numbers
            return Column(name, None, None, values, span, index, None, self.locator)
        factor = unit.factor if unit is not None else 1.0
        dimension = unit.dimension if unit is not None else DIMENSIONLESS
        values = _fast_numbers(np, cells, factor, self.plain)
        if values is None and unit_text is None:
            first_text = _first_text(cells)
            if first_text is not None or not any(map(str.strip, cells)):
                row = None if first_text is None else (first_text if kept_rows is None else kept_rows[first_text])
                return Column(name, None, None, tuple(map(str.strip, cells)), span, index, row, self.locator)
        if values is None:
            values, diagnostics = _slow_numbers(np, self.locator, name, unit_text, factor, index, cells, kept_rows)
            if diagnostics:  # reported when a job reads the column: a bad cell in a column no one uses is harmless
                return Column(name, unit_text, dimension, values, span, index, None, self.locator, tuple(diagnostics))
        return Column(name, unit_text, dimension, values, span, index, None, self.locator)


def _slow_numbers(np: Any, locator: _Locator, name: str, unit_text: str | None, factor: float, index: int,
                  cells: Sequence[str], kept_rows: list[int] | None) -> tuple[Any, list[Diagnostic]]:  # fmt: skip
    """A column the fast path refused: the SI values, and a diagnostic for each cell that is not
    a valid finite number (the first MAX_PER_COLUMN in full, the last of them counting the rest).

    Chunk by chunk, the fast path again, and cell by cell only in the chunks it refuses: a few
    bad cells in a large file cost little more than none.
    """
    parts: list[Any] = []
    shown: list[Diagnostic] = []
    more = 0
    for offset in range(0, len(cells), CHUNK):
        chunk = cells[offset : offset + CHUNK]
        fast = _fast_numbers(np, chunk, factor)
        if fast is not None:
            parts.append(fast)
            continue
        values: list[float] = []
        for position, raw in enumerate(chunk, offset):
            cell = raw.strip()
            if NUMBER.fullmatch(cell):
                value = float(cell) * factor
                if math.isfinite(value):
                    values.append(value)
                    continue
            values.append(math.nan)  # a bad cell is unknown, never a number
            if len(shown) == MAX_PER_COLUMN:
                more += 1
                continue
            row = position if kept_rows is None else kept_rows[position]
            message, help = _cell_problem(cell, name, unit_text)
            message = _one_line(f"row {row + 1}, column `{_shown(name)}`: {message}")
            shown.append(Diagnostic("E305", message, locator.cell(row, index), help=help and _one_line(help)))
        parts.append(np.array(values, dtype=np.float64))
    if more:
        last = shown[-1]
        shown[-1] = attrs.evolve(last, notes=(*last.notes, f"and {more:,} more bad cells in column `{_shown(name)}`"))
    return (np.concatenate(parts) if parts else np.zeros(0)), shown


def _fast_numbers(np: Any, cells: Sequence[str], factor: float, plain: bool = False) -> Any:
    """The column as SI numbers if every cell is a valid finite number, else None.

    numpy converts the column in one C pass with Python's float() rules, which accept more than
    NUMBER (with whitespace around, which the careful path strips as float() does): `nan` and
    `inf` (refused below as not finite), and what needs a non-ASCII character (other digits),
    a `.` not followed by a digit (`1.`, `1.e5`) or a `_` in an exponent (`1e5_0`). Those are
    looked for in the joined cells, or not at all when `plain` says the whole file has none; a
    column that has any goes to the careful path, which decides.
    """
    if not cells or not NUMBER.fullmatch(cells[0].strip()):  # a text column: no need to look further
        return None
    if not plain and not _plain("\n".join(cells)):
        return None
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        return None
    if factor != 1.0:
        with np.errstate(over="ignore"):  # an overflow is reported, cell by cell, by the careful path
            values *= factor
    return values if np.isfinite(values).all() else None


def _plain(text: str) -> bool:
    """No character sequence that float() reads as a number and nnci does not (see _fast_numbers)."""
    return text.isascii() and not _BAD_DOT.search(text) and ("_" not in text or not _EXPONENT_UNDERSCORE.search(text))


def _number_like(cell: str) -> bool:
    """A cell meant as a number even if it is not a valid one: `8 h`, `1,000`, `nan`, `1e400`."""
    if NUMBER.fullmatch(cell) or ("," in cell and _SEPARATED.fullmatch(cell)) or _NONFINITE.fullmatch(cell):
        return True
    match = _WITH_UNIT.fullmatch(cell)
    return match is not None and _is_unit(match["unit"])


def _first_text(cells: list[str]) -> int | None:
    """The first non-empty cell that is not number-like, or None if the column is numeric.

    A column whose non-empty cells are all `nan`/`inf` spellings is text: nothing in it is a number.
    """
    numeric = False
    for position, raw in enumerate(cells):
        cell = raw.strip()
        if not cell:
            continue
        if not _number_like(cell):
            return position
        numeric = numeric or not _NONFINITE.fullmatch(cell)
    if numeric:
        return None
    return next((position for position, raw in enumerate(cells) if raw.strip()), None)


def _cell_problem(cell: str, name: str, unit_text: str | None) -> tuple[str, str | None]:
    """What is wrong with a (stripped) cell of a numeric column, and the advice."""
    if not cell:
        return "the cell is empty", "write a number (an empty cell is never read as 0)"
    if NUMBER.fullmatch(cell):
        return f"`{cell}` is too large a number", "numbers must be finite in SI units; is the unit in the header right?"
    if _NONFINITE.fullmatch(cell):
        return f"`{cell}` is not a finite number", "every cell needs a known, finite value"
    if "," in cell and _SEPARATED.fullmatch(cell):
        if _THOUSANDS.fullmatch(cell):
            return (
                f"`{cell}` has thousands separators",
                f"write `{cell.replace(',', '')}` or `{cell.replace(',', '_')}`",
            )
        return f"`{cell}` has a comma in it", f"decimals are written with a point: `{cell.replace(',', '.', 1)}`"
    match = _WITH_UNIT.fullmatch(cell)
    if match and _is_unit(match["unit"]):
        number, unit = match["number"], match["unit"]
        if unit_text is None:
            help = f"write the unit in the header only (`{name} [{unit}]`) and `{number}` in the cell"
        else:
            help = (
                f"the unit belongs in the header only (`{name} [{unit_text}]`): write the number alone, in {unit_text}"
            )
        return f"`{cell}` carries its own unit", help
    try:
        value = float(cell)
    except ValueError:
        return f"`{_shown(cell)}` is not a number", None
    if math.isfinite(value):
        return (
            f"`{cell}` is not a number as nnci writes them",
            "write it as in .nnci files: `1.0`, `.5`, `1e5`, `1_000`",
        )
    return f"`{cell}` is not a finite number", "every cell needs a known, finite value"


def _one_line(text: str) -> str:
    """Messages are one line: a newline or carriage return from a cell is shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _shown(cell: str, limit: int = 40) -> str:
    """A cell as quoted in a one-line message: newlines escaped, long text cut."""
    text = cell.replace("\r", "").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_unit(text: str) -> bool:
    try:
        parse_unit(text)
    except UnitError:
        return False
    return True


def _suggest_name(name: str) -> str | None:
    """`GPU hours` → `gpu_hours`: the nearest valid name, if there is one."""
    suggestion = re.sub(r"[^A-Za-z0-9_]+", "_", name.strip()).strip("_").lower()
    if not suggestion:
        return None
    return "_" + suggestion if suggestion[0].isdigit() else suggestion
