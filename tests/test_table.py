"""nnci/table.py: CSV tables of jobs read into typed columns, every bad cell located.

Golden cases: each `tests/cases/table/<name>.csv` beside `<name>.expected`, the diagnostics as
`render_all` prints them. Regenerate with `NNCI_UPDATE_GOLDEN=1 pytest tests/test_table.py`, then
read every changed one: is each message located at its cell, and is the advice right?
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnci.diagnostics import CODES, Diagnostic, Span, render_all, sort_diagnostics
from nnci.table import MAX_PER_COLUMN, NUMBER, Table, _fast_numbers, _number_like, read_table
from nnci.units import DIMENSIONLESS, ENERGY, INTENSITY, POWER, TIME, parse_unit

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "tests" / "cases" / "table"
UPDATE = os.environ.get("NNCI_UPDATE_GOLDEN") == "1"
FILE = "jobs.csv"


def read_used(text: str, file: str = FILE) -> tuple[Table | None, list[Diagnostic]]:
    """The table as a job that reads every column sees it: bad cells are reported when a column is
    read (nnci.resolve does that), so a table with any is no table here."""
    table, diagnostics = read_table(text, file)
    problems = [p for column in (table.columns.values() if table else ()) for p in column.problems]
    if problems:
        return None, sort_diagnostics([*diagnostics, *problems])
    return table, diagnostics


def read(text: str) -> tuple[Table | None, list[Diagnostic]]:
    table, diagnostics = read_used(text)
    assert all(d.code in CODES for d in diagnostics), diagnostics
    assert (table is None) == any(d.severity == "error" for d in diagnostics)
    return table, diagnostics


def ok(text: str) -> Table:
    table, diagnostics = read(text)
    assert table is not None, render_all(diagnostics, {FILE: text})
    assert diagnostics == []
    return table


def rendered(text: str) -> str:
    table, diagnostics = read(text)
    assert table is None
    return render_all(diagnostics, {FILE: text.removeprefix("\ufeff")})


def messages(text: str) -> list[str]:
    return [d.message for d in read(text)[1]]


# -- values: SI conversion, dimensions, text -----------------------------------------------------

JOBS = """job,gpus,hours [h],power [W],intensity [gCO2e/kWh],share [%],energy [MWh],cluster
a,8,2,300,429,62,1.5,dc_eu
b,16,0.5,250,50,100,0,dc_us
"""


def test_numbers_are_converted_to_si_base_units_by_the_header_unit() -> None:
    table = ok(JOBS)
    assert table.file == FILE and table.rows == 2
    assert list(table.columns) == ["job", "gpus", "hours", "power", "intensity", "share", "energy", "cluster"]
    c = table.columns
    assert c["hours"].values.tolist() == [7200.0, 1800.0]  # 2 h = 2 × 3600 s
    assert c["power"].values.tolist() == [300.0, 250.0]  # W is already SI
    # 429 g/kWh = 0.429 kg / 3.6e6 J
    assert c["intensity"].values.tolist() == pytest.approx([0.429 / 3.6e6, 0.050 / 3.6e6], rel=1e-15)
    assert c["share"].values.tolist() == pytest.approx([0.62, 1.0], rel=1e-15)
    assert c["energy"].values.tolist() == [1.5 * 3.6e9, 0.0]  # 1 MWh = 3.6e9 J; zero is a value
    assert c["gpus"].values.tolist() == [8.0, 16.0]
    assert c["hours"].values.dtype == np.float64


def test_columns_carry_name_unit_dimension_and_header_span() -> None:
    table = ok(JOBS)
    c = table.columns
    assert len({table, *c.values()}) == 9 and c["hours"] == c["hours"]  # hashable, by identity
    assert (c["hours"].name, c["hours"].unit, c["hours"].dimension) == ("hours", "h", TIME)
    assert c["power"].dimension == POWER and c["energy"].dimension == ENERGY
    assert c["intensity"].dimension == INTENSITY and c["intensity"].unit == "gCO2e/kWh"
    assert c["share"].dimension == DIMENSIONLESS and c["share"].unit == "%"
    assert (c["gpus"].unit, c["gpus"].dimension) == (None, DIMENSIONLESS)
    assert c["hours"].span == Span(FILE, 1, 10, 1, 19)  # `hours [h]`
    assert [col.index for col in c.values()] == list(range(8))


def test_text_columns_keep_their_cells_without_surrounding_spaces() -> None:
    table = ok('job,site\n a , dc_eu \nb,"dc,us"\nc,\n')
    site = table.columns["site"]
    assert site.dimension is None and site.unit is None and site.is_text
    assert site.values == ("dc_eu", "dc,us", "")
    assert table.columns["job"].values == ("a", "b", "c")
    assert site.first_text == 0


def test_a_column_without_unit_is_text_when_a_cell_is_not_number_like() -> None:
    table = ok("job,gpus\na,8\nb,16\nc,eight\nd,4\n")
    gpus = table.columns["gpus"]
    assert gpus.is_text and gpus.values == ("8", "16", "eight", "4")
    assert gpus.first_text == 2 and gpus.cell_span(2) == Span(FILE, 4, 3, 4, 8)
    # asked for numbers, it says why, at the cell, as a numeric column would have
    (problem,) = gpus.number_problems()
    assert problem.message == "row 3, column `gpus`: `eight` is not a number"
    assert problem.span == Span(FILE, 4, 3, 4, 8)
    assert table.columns["job"].number_problems()[0].message == "row 1, column `job`: `a` is not a number"


def test_an_empty_column_without_unit_is_text_and_a_column_of_only_nan_is_text() -> None:
    table = ok("job,notes,label\na,,nan\nb,,inf\n")
    assert table.columns["notes"].values == ("", "") and table.columns["notes"].first_text is None
    assert table.columns["label"].values == ("nan", "inf")


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1e5", 1e5), (".5", 0.5), ("1_000", 1000.0), ("-3", -3.0), ("+2", 2.0), (" 7 ", 7.0), ("2.5E-3", 2.5e-3),
     ("1_000.000_1", 1000.0001), ("-.5e+2", -50.0), ("0", 0.0), ("007", 7.0), ('"42"', 42.0)],
)  # fmt: skip
def test_numbers_read_as_the_language_writes_them(cell: str, value: float) -> None:
    assert ok(f"job,x [h]\na,{cell}\n").columns["x"].values.tolist() == [value * 3600]
    if "_" in cell or cell.startswith("00"):  # without a unit, written like a job id: text (next test)
        return
    assert ok(f"job,x\na,{cell}\n").columns["x"].values.tolist() == [value]


@pytest.mark.parametrize("cell", ["41200_3", "007", "0012", "1_000"])
def test_a_column_without_unit_written_like_identifiers_is_text(cell: str) -> None:
    column = ok(f"job_id,hours [h]\n{cell},1\n12,2\n").columns["job_id"]
    assert column.is_text and column.values == (cell, "12")


def test_numbers_beside_text_that_float_would_misread_are_checked_column_by_column() -> None:
    # `Inc.` and `1e5_x` make the whole-file check fail; each column is then checked on its own
    table = ok("job,owner,hours [h]\na,Acme Inc.,1.5\nb,1e5_x,2\n")
    assert table.columns["hours"].values.tolist() == [5400.0, 7200.0]
    assert table.columns["owner"].values == ("Acme Inc.", "1e5_x")
    assert messages("job,owner,hours [h]\na,Acme Inc.,1.\n") == [
        "row 1, column `hours`: `1.` is not a number as nnci writes them"
    ]


def test_negative_numbers_are_read_ranges_are_checked_later() -> None:
    assert ok("job,power [W]\na,-300\n").columns["power"].values.tolist() == [-300.0]


# -- structure: BOM, CRLF, blank lines, quotes ---------------------------------------------------


def test_bom_crlf_and_blank_trailing_lines() -> None:
    table = ok("\ufeffjob,hours [h]\r\na,1\r\nb,2\r\n\r\n\r\n")
    assert table.rows == 2 and table.columns["hours"].values.tolist() == [3600.0, 7200.0]
    assert "job" in table.columns  # the BOM is not part of the first name
    assert table.columns["job"].span == Span(FILE, 1, 1, 1, 4)  # and not counted in columns
    assert ok("job,hours [h]\na,1").rows == 1  # no final newline


def test_blank_lines_between_rows_are_skipped_and_not_counted_as_rows() -> None:
    text = "job,hours [h]\na,1\n\n   \nb,x\n"
    assert messages(text) == ["row 2, column `hours`: `x` is not a number"]
    assert read(text)[1][0].span == Span(FILE, 5, 3, 5, 4)
    table = ok("job,hours [h]\na,1\n\nb,2\n")
    assert table.rows == 2 and table.columns["hours"].cell_span(1) == Span(FILE, 4, 3, 4, 4)
    assert table.row_span(1) == Span(FILE, 4, 1, 4, 4)


def test_quoted_cells_with_commas_quotes_and_newlines_keep_physical_lines() -> None:
    text = 'job,note,hours [h]\na,"x, y",1\nb,"two\nlines",2\nc,"say ""hi""\n\nthere",3\nd,plain,4\n'
    table = ok(text)
    assert table.columns["note"].values == ("x, y", "two\nlines", 'say "hi"\n\nthere', "plain")
    hours = table.columns["hours"]
    assert [hours.cell_span(r) for r in range(4)] == [
        Span(FILE, 2, 10, 2, 11),
        Span(FILE, 4, 8, 4, 9),
        Span(FILE, 7, 8, 7, 9),
        Span(FILE, 8, 9, 8, 10),
    ]
    assert table.columns["note"].cell_span(1) == Span(FILE, 3, 3, 4, 7)  # the quoted cell, quotes included
    bad = text.replace("d,plain,4", "d,plain,four")
    assert rendered(bad) == "\n".join([
        "error[E305]: row 4, column `hours`: `four` is not a number",
        "  --> jobs.csv:8:9",
        "  |",
        "8 | d,plain,four",
        "  |         ^^^^",
        "",
        "1 error",
    ])  # fmt: skip


def test_cells_far_down_a_file_are_located() -> None:
    text = "job,hours [h]\n" + "".join(f"j{i},{i}\n" for i in range(5000)) + "last,x\n"
    (diagnostic,) = read(text)[1]
    assert diagnostic.message == "row 5001, column `hours`: `x` is not a number"
    assert diagnostic.span == Span(FILE, 5002, 6, 5002, 7)
    assert ok(text.replace("last,x", "last,1")).columns["job"].cell_span(4999) == Span(FILE, 5001, 1, 5001, 6)


def test_a_large_column_with_a_few_odd_cells_is_read_chunk_by_chunk() -> None:
    rows = [f"j{i},{i}" for i in range(20_000)]
    rows[9_000] = "j9000,\u00a09000\u00a0"  # a no-break space around a number: read, by the careful path
    table = ok("job,hours [h]\n" + "\n".join(rows) + "\n")
    assert table.columns["hours"].values.tolist() == [i * 3600.0 for i in range(20_000)]
    rows[3], rows[15_000] = "j3,x", "j15000,"
    assert messages("job,hours [h]\n" + "\n".join(rows) + "\n") == [
        "row 4, column `hours`: `x` is not a number",
        "row 15001, column `hours`: the cell is empty",
    ]


def test_a_hash_line_is_a_row_not_a_comment() -> None:
    assert messages("job,hours [h]\n# note,1\na,1\n") == []  # `# note` is a job name
    assert "`#` starts no comment" in rendered("job,hours [h]\n#note\na,1\n")


def test_a_one_column_table() -> None:
    table = ok("hours [h]\n1\n\n2\n")
    assert table.rows == 2 and table.columns["hours"].values.tolist() == [3600.0, 7200.0]


# -- bad cells: each kind, located, with the exact rendering -------------------------------------


def one(text: str) -> str:
    """The single diagnostic's rendering, without the summary line."""
    out = rendered(text)
    assert out.endswith("\n\n1 error"), out
    return out.removesuffix("\n\n1 error")


def test_an_empty_cell_is_an_error_never_zero() -> None:
    assert one("job,gpus,hours [h]\na,8,1\nb,,2\n") == "\n".join([
        "error[E305]: row 2, column `gpus`: the cell is empty",
        "  --> jobs.csv:3:3",
        "  |",
        "3 | b,,2",
        "  |   ^",
        "  = help: write a number (an empty cell is never read as 0)",
    ])  # fmt: skip


def test_a_word_in_a_numeric_column() -> None:
    text = "job,hours [h]\n"
    rows = "".join(f"j{i},{i}\n" for i in range(16)) + "j16,abc\n"
    assert one(text + rows) == "\n".join([
        "error[E305]: row 17, column `hours`: `abc` is not a number",
        "  --> jobs.csv:18:5",
        "   |",
        "18 | j16,abc",
        "   |     ^^^",
    ])  # fmt: skip


def test_a_cell_with_its_own_unit() -> None:
    assert one("job,hours [h]\na,8 h\n") == "\n".join([
        "error[E305]: row 1, column `hours`: `8 h` carries its own unit",
        "  --> jobs.csv:2:3",
        "  |",
        "2 | a,8 h",
        "  |   ^^^",
        "  = help: the unit belongs in the header only (`hours [h]`): write the number alone, in h",
    ])  # fmt: skip
    assert one("job,hours\na,8h\nb,2\n").endswith(
        "= help: write the unit in the header only (`hours [h]`) and `8` in the cell"
    )


def test_thousands_separators_and_decimal_commas_in_quoted_cells() -> None:
    assert one('job,gpus\na,"1,000"\nb,8\n') == "\n".join([
        "error[E305]: row 1, column `gpus`: `1,000` has thousands separators",
        "  --> jobs.csv:2:3",
        "  |",
        '2 | a,"1,000"',
        "  |   ^^^^^^^",
        "  = help: write `1000` or `1_000`",
    ])  # fmt: skip
    assert one('job,hours [h]\na,"2,5"\n').endswith("= help: decimals are written with a point: `2.5`")


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_nan_and_infinity_are_refused(cell: str) -> None:
    assert messages(f"job,hours [h]\na,{cell}\n") == [f"row 1, column `hours`: `{cell}` is not a finite number"]


def test_numbers_too_large_in_si_units_are_refused() -> None:
    assert messages("job,hours [h]\na,1e400\n") == ["row 1, column `hours`: `1e400` is too large a number"]
    # finite as written, infinite once the header's unit is applied (1e300 × 3.6e15 J)
    assert messages("job,energy [TWh]\na,1e300\n") == ["row 1, column `energy`: `1e300` is too large a number"]


@pytest.mark.parametrize("cell", ["1.", "1.e5", "1__0", "1e5_0", "١٢", "0x10", "1 000", "--1", "e5", "_1"])
def test_what_python_float_would_accept_is_not_what_nnci_reads(cell: str) -> None:
    (message,) = messages(f"job,hours [h]\na,{cell}\n")
    assert message.startswith(f"row 1, column `hours`: `{cell}` is not a number"), message


def test_several_bad_cells_are_all_reported_in_file_order() -> None:
    text = (CASES / "bad_cells.csv").read_text(encoding="utf-8")
    table, diagnostics = read_used(text)
    assert table is None and len(diagnostics) == 9
    spans = [(d.span.line, d.span.column) for d in diagnostics if d.span]
    assert spans == sorted(spans)


# -- the number of diagnostics is capped ---------------------------------------------------------


def test_bad_cells_are_capped_per_column_with_a_count_of_the_rest() -> None:
    rows = "".join(f"j{i},x{i},{i}\n" for i in range(1000))
    text = "job,hours [h],power [W]\n" + rows.replace("j500,x500,500", "j500,x500,bad")
    diagnostics = read(text)[1]
    hours = [d for d in diagnostics if "column `hours`" in d.message]
    assert len(hours) == MAX_PER_COLUMN == 20
    assert hours[0].message == "row 1, column `hours`: `x0` is not a number"
    assert hours[-1].notes == ("and 980 more bad cells in column `hours`",)
    assert [d.message for d in diagnostics if "power" in d.message] == [
        "row 501, column `power`: `bad` is not a number"
    ]


def test_rows_of_the_wrong_length_are_capped_too() -> None:
    text = "job,hours [h]\n" + "a,1,2\n" * 100
    diagnostics = read(text)[1]
    assert len(diagnostics) == 20
    assert diagnostics[0].message == "row 1 has 3 cells, but the header has 2 columns"
    assert diagnostics[-1].notes[-1] == "and 80 more rows with the wrong number of cells"


def test_a_broken_large_file_costs_a_page_of_output_in_linear_time() -> None:
    n = 200_000
    text = "job,gpus,hours [h],power [W],cluster\n" + "".join(f"j{i},8,x,300,dc\n" for i in range(n))
    start = time.perf_counter()
    table, diagnostics = read_used(text)
    elapsed = time.perf_counter() - start
    assert table is None and len(diagnostics) == 20
    assert diagnostics[-1].notes == (f"and {n - 20:,} more bad cells in column `hours`",)
    assert elapsed < 5, elapsed  # ~0.3 s; a generous bound for a shared machine


# -- rows of the wrong length --------------------------------------------------------------------


def test_a_row_with_too_few_cells_names_the_missing_columns() -> None:
    assert one("job,gpus,hours [h]\na,8\n") == "\n".join([
        "error[E100]: row 1 has 2 cells, but the header has 3 columns (missing `hours`)",
        "  --> jobs.csv:2:4",
        "  |",
        "2 | a,8",
        "  |    ^",
    ])  # fmt: skip


def test_a_row_with_too_many_cells_points_at_the_extra_ones() -> None:
    assert one("job,gpus,hours [h]\na,1,000,2\n") == "\n".join([
        "error[E100]: row 1 has 4 cells, but the header has 3 columns",
        "  --> jobs.csv:2:9",
        "  |",
        "2 | a,1,000,2",
        "  |         ^",
        "  = note: a cell holding a comma is written in double quotes",
        "  = help: is a number written with thousands separators? Write `1000` or `1_000`",
    ])  # fmt: skip
    assert "remove the `,` at the end of the line" in one("job,hours [h]\na,1,\n")


# -- the header ----------------------------------------------------------------------------------


def test_a_header_name_that_is_not_an_nnci_name_gets_a_suggestion() -> None:
    assert one("job,GPU hours\na,1\n") == "\n".join([
        "error[E100]: `GPU hours` is not a valid column name",
        "  --> jobs.csv:1:5",
        "  |",
        "1 | job,GPU hours",
        "  |     ^^^^^^^^^",
        "  = help: names are letters, digits and `_`, not starting with a digit: write `gpu_hours`",
    ])  # fmt: skip
    assert one("job,2nd-pass [h]\na,1\n").endswith("write `_2nd_pass`")


def test_a_duplicate_column_name() -> None:
    assert one("job,gpus,hours [h],gpus\na,1,2,3\n") == "\n".join([
        "error[E202]: column `gpus` appears twice in the header",
        "  --> jobs.csv:1:20",
        "  |",
        "1 | job,gpus,hours [h],gpus",
        "  |                    ^^^^",
        "  = note: it is also column 2",
        "  = help: give each column its own name",
    ])  # fmt: skip


def test_an_unknown_unit_is_e302_at_the_unit_with_its_hint() -> None:
    assert one("job,power [kw]\na,1\n") == "\n".join([
        "error[E302]: unknown unit `kw`",
        "  --> jobs.csv:1:12",
        "  |",
        "1 | job,power [kw]",
        "  |            ^^",
        "  = help: write `kW` (prefix k, unit W)",
    ])  # fmt: skip
    assert read('job,"power [ TFLOPS ]"\na,1\n')[1][0].span == Span(FILE, 1, 14, 1, 20)


def test_other_header_mistakes() -> None:
    assert messages("job,hours (h)\na,1\n") == ["`hours (h)`: a unit in a header goes in square brackets"]
    assert messages("job,hours [h\na,1\n") == ["cannot read the unit of `hours [h`"]
    assert messages("job,share []\na,1\n") == ["`share []`: the brackets hold no unit"]
    assert messages("job,,hours [h]\na,x,1\n") == ["column 2 has no name"]
    assert messages("job,notes (free text)\na,x\n") == ["`notes (free text)` is not a valid column name"]


# -- the file as a whole -------------------------------------------------------------------------


def test_a_header_without_rows_and_an_empty_file() -> None:
    assert one("job,gpus,hours [h]\n\n") == "\n".join([
        "error[E100]: the table has a header but no rows",
        "  --> jobs.csv:1:1",
        "  |",
        "1 | job,gpus,hours [h]",
        "  | ^^^^^^^^^^^^^^^^^^",
        "  = help: a table of jobs needs at least one row",
    ])  # fmt: skip
    for text in ("", "\n\n", "\ufeff", "  \n"):
        assert messages(text) == ["`jobs.csv` is empty"]


def test_quote_errors_are_located_where_the_problem_is() -> None:
    assert one('job,hours [h]\na,1\nb,"2\nc,3\n') == "\n".join([
        "error[E100]: this quote is never closed",
        "  --> jobs.csv:3:3",
        "  |",
        '3 | b,"2',
        "  |   ^",
        '  = help: end the cell with `"`; a quote inside a quoted cell is written twice (`""`)',
    ])  # fmt: skip
    assert read('job,note\na,"x\ny"z\n')[1][0].span == Span(FILE, 3, 3, 3, 4)
    assert messages('job,note\na,"x\ny"z\n') == ["unexpected `z` after the closing quote of a cell"]
    assert messages("job,note\na,x\ry\n") == ["a carriage return inside a cell"]
    # a quote left open pairs with a much later one: csv stops at its field size limit
    text = 'job,note\na,"open\n' + "b,x\n" * 40_000 + 'c,"y"\n'
    (diagnostic,) = read(text)[1]
    assert diagnostic.message == f"a cell longer than {csv.field_size_limit():,} characters starts here"
    assert diagnostic.span == Span(FILE, 2, 3, 2, 4)
    for cell in ('"' + "x" * 200_000 + '"', "x" * 200_000):
        assert read(f"job,note\na,1\nb,{cell}\n")[1][0].span == Span(FILE, 3, 3, 3, 4)


# -- golden files --------------------------------------------------------------------------------

GOLDEN = sorted(CASES.glob("*.csv"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")  # as written: CRLF and BOM kept
    key = path.relative_to(REPO).as_posix()
    table, diagnostics = read_used(text, key)
    output = render_all(diagnostics, {key: text.removeprefix("\ufeff")}) + "\n"
    expected = path.with_suffix(".expected")
    if UPDATE:
        expected.write_text(output, encoding="utf-8")
    assert output == expected.read_text(encoding="utf-8")
    assert table is None and diagnostics
    assert all(f"  --> {key}:" in block for block in output.split("\n\n")[:-1])


# -- properties ----------------------------------------------------------------------------------

UNIT_CHOICES = ("h", "W", "kWh", "gCO2e/kWh", "%", "TFLOP/s", "days", "kgCO2e", "MW", "mm2")
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
finite = st.floats(min_value=-1e200, max_value=1e200, allow_nan=False, allow_subnormal=True)


@st.composite
def number_cells(draw: st.DrawFn, underscores: bool = True) -> str:
    """A number as people and csv.writer write them (`1_000` only where a unit says it is a number)."""
    kind = draw(st.sampled_from(["repr", "int", "exp", "padded", *(["underscored"] if underscores else [])]))
    if kind == "repr":
        return repr(draw(finite))
    number = draw(st.integers(-(10**12), 10**12))
    if kind == "int":
        return str(number)
    if kind == "underscored":
        return f"{number:_}"
    if kind == "exp":
        return f"{draw(finite):.6e}"
    return f" {number} "


text_cells = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[tuple[str, str | None, bool]], list[list[str]]]:
    """Columns as (name, unit or None, is_text) and rows of cells."""
    width = draw(st.integers(1, 5))
    column_names = draw(st.lists(names, min_size=width, max_size=width, unique=True))
    columns = []
    for name in column_names:
        kind = draw(st.sampled_from(["unit", "plain", "text"]))
        columns.append((name, draw(st.sampled_from(UNIT_CHOICES)) if kind == "unit" else None, kind == "text"))
    n = draw(st.integers(1, 12))
    rows: list[list[str]] = [[] for _ in range(n)]
    for _, unit, is_text in columns:
        if is_text:
            cells = draw(st.lists(text_cells, min_size=n, max_size=n))
            cells[0] = "t" + cells[0]  # one cell that no one would take for a number
        else:
            cells = draw(st.lists(number_cells(underscores=unit is not None), min_size=n, max_size=n))
        for row, cell in zip(rows, cells, strict=True):
            row.append(cell)
    if width == 1:  # a lone blank cell would be a blank line, which is skipped
        rows = [[cell if cell.strip() else "t"] for (cell,) in rows]
    return columns, rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from(["\n", "\r\n"]))
def test_a_table_written_by_csv_writer_reads_back(
    drawn: tuple[list[tuple[str, str | None, bool]], list[list[str]]], newline: str
) -> None:
    columns, rows = drawn
    if newline == "\n":  # csv.writer then leaves a lone "\r" unquoted, which csv.reader refuses
        rows = [[cell.replace("\r", "") for cell in row] for row in rows]
        if len(columns) == 1:
            rows = [[cell if cell.strip() else "t"] for (cell,) in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow([name if unit is None else f"{name} [{unit}]" for name, unit, _ in columns])
    writer.writerows(rows)
    text = buffer.getvalue()
    table = ok(text)
    assert table.rows == len(rows) and list(table.columns) == [name for name, _, _ in columns]
    lines = text.split("\n")
    for index, (name, unit, is_text) in enumerate(columns):
        column = table.columns[name]
        written = [row[index] for row in rows]
        assert column.unit == unit
        if is_text:
            assert column.dimension is None and column.values == tuple(cell.strip() for cell in written)
        else:
            factor = parse_unit(unit).factor if unit else 1.0
            assert column.dimension == (parse_unit(unit).dimension if unit else DIMENSIONLESS)
            assert column.values.tolist() == [float(cell) * factor for cell in written]
        for row, cell in enumerate(written):  # the span holds the cell as written
            span = column.cell_span(row)
            if span.line == span.end_line:
                source = lines[span.line - 1][span.column - 1 : span.end_column - 1]
            else:
                source = "\n".join(
                    [lines[span.line - 1][span.column - 1 :], *lines[span.line : span.end_line - 1],
                     lines[span.end_line - 1][: span.end_column - 1]]
                )  # fmt: skip
            reparsed = next(csv.reader(io.StringIO(source, newline="")), [""])
            assert [c.strip() for c in reparsed] == [cell.strip()], (source, cell)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("0123456789+-.eE_ \tn,"), max_size=10))
def test_the_fast_path_accepts_exactly_the_language_numbers(cell: str) -> None:
    fast = _fast_numbers(np, [cell], 1.0)
    language = NUMBER.fullmatch(cell.strip()) and math.isfinite(float(cell.strip()))
    assert (fast is not None) == bool(language), cell
    if fast is not None:
        assert fast.tolist() == [float(cell)], cell
    table, _ = read_used(f"job,x [h]\na,{cell}\n" if "," not in cell else 'job,x [h]\na,"' + cell + '"\n')
    in_hours = language and math.isfinite(float(cell.strip()) * 3600)  # 1E305 h is no finite number of seconds
    assert (table is not None) == bool(in_hours), cell
    if language:
        assert _number_like(cell.strip())


def test_numpy_is_not_imported_by_nnci_until_a_table_is_read() -> None:
    code = "import sys, nnci, nnci.api, nnci.cli, nnci.table; assert 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


csv_soup = st.lists(
    st.sampled_from([*'ab_1.5e-+,"\n\r \t#[]()%hW', "nan", "1,000", "8 h", "[h]", "\ufeff", "\r\n", "é"]), max_size=60
).map("".join)


@settings(max_examples=500, deadline=None)
@given(csv_soup)
def test_any_text_gives_a_table_or_located_diagnostics_never_an_exception(text: str) -> None:
    table, diagnostics = read(text)
    shown = text.removeprefix("\ufeff")
    lines = shown.split("\n")
    for diagnostic in diagnostics:
        span = diagnostic.span
        assert span is not None and span.file == FILE
        assert 1 <= span.line <= span.end_line <= len(lines), (span, text)
        assert 1 <= span.column <= len(lines[span.line - 1]) + 1, (span, text)
        assert "\n" not in diagnostic.message
    render_all(diagnostics, {FILE: shown})
    if table is not None:
        for column in table.columns.values():
            for row in range(table.rows):
                column.cell_span(row)
            assert len(column.values) == table.rows
