"""The language server's protocol-free modules (nnci/lsp/): positions, analysis, hover, navigation,
completion, outline and formatting, on the documents of tests/cases/lsp/. No pygls here: the
round trips through a real server are tests/test_lsp.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import REPO, mutated, texts_and_offsets

from nnci.diagnostics import Span
from nnci.lsp import analysis, completion, hover, navigation, outline
from nnci.lsp.positions import UTF8, UTF16, UTF32, LineIndex, Position

CASES = REPO / "tests" / "cases" / "lsp"
MAIN = CASES / "main.nnci"
HARDWARE = REPO / "nnci" / "std" / "hardware.nnci"


# -- positions -------------------------------------------------------------------------------------


def _oracle(text: str, offset: int, encoding: str) -> Position:
    """The protocol's position of an offset, by brute force: count the line breaks before it (a CRLF
    is one), then the code units of the rest of its line."""
    before = text[:offset]
    breaks = list(re.finditer(r"\r\n|\n|\r", before))
    if offset < len(text) and before.endswith("\r") and text[offset] == "\n":  # inside a CRLF: end of line
        breaks = breaks[:-1]
        before = before[:-1]
    start = breaks[-1].end() if breaks else 0
    rest = before[start:]
    units = {UTF16: len(rest.encode("utf-16-le")) // 2, UTF8: len(rest.encode("utf-8")), UTF32: len(rest)}
    return Position(len(breaks), units[encoding])


@given(texts_and_offsets())
def test_positions_match_counting_code_units(case: tuple[str, int]) -> None:
    text, offset = case
    for encoding in (UTF16, UTF8, UTF32):
        assert LineIndex(text, encoding).position_of(offset) == _oracle(text, offset, encoding)


@given(texts_and_offsets())
def test_positions_round_trip(case: tuple[str, int]) -> None:
    text, offset = case
    inside_crlf = 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"
    for encoding in (UTF16, UTF8, UTF32):
        lines = LineIndex(text, encoding)
        back = lines.offset_at(lines.position_of(offset))
        assert back == (offset - 1 if inside_crlf else offset)
        line, column = lines.nnci_of(offset)  # nnci's model: lines split at LF only, columns in characters
        assert lines.offset_of(line, column) == offset
        assert line == text[:offset].count("\n") + 1
        assert column == offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_a_position_past_the_end_of_a_line_is_its_end() -> None:
    lines = LineIndex("a😀b\r\nxy", UTF16)
    assert lines.offset_at(Position(0, 99)) == 3  # before the CRLF
    assert lines.offset_at(Position(0, 2)) == 1  # inside the emoji's surrogate pair: the emoji
    assert lines.offset_at(Position(7, 0)) == len("a😀b\r\nxy")
    assert lines.range_of(Span("f", 1, 3, 1, 4)).start == Position(0, 3)  # `b`: after a, and 2 units of 😀


# -- analysis and diagnostics ----------------------------------------------------------------------


def _analysed(text: str | None = None, path: Path = MAIN) -> analysis.Analysis:
    return analysis.analyse(path, path.read_text(encoding="utf-8") if text is None else text)


def test_every_stage_reports_and_the_figures_are_the_ones_by_hand() -> None:
    found = _analysed()
    assert found.diagnostics == ()
    assert found.results is not None
    assert found.results.quantity("train", "energy").to("kWh") == pytest.approx(8 * 400 * 100 * 1.2 / 1000)
    parse = _analysed("grid g {\n  intensity = \n}\n")
    assert [d.code for d in parse.diagnostics] == ["E100"]
    resolve = _analysed(MAIN.read_text().replace("site = common.dc", "site = common.dcx"))
    assert [d.code for d in resolve.diagnostics] == ["E300"]
    check = _analysed(MAIN.read_text().replace("power = 400 W", "power = 400 Wh"))
    assert [d.code for d in check.diagnostics] == ["E400"]
    late = _analysed(MAIN.read_text().replace("= 384 kWh", "= 390 kWh"))  # an expectation evaluated
    assert [d.code for d in late.diagnostics] == ["E501"]


def test_duplicates_carry_the_place_of_the_first_as_related() -> None:
    text = MAIN.read_text() + "\ntraining train {\n  fleet = { gpu = 1 }\n  site = common.dc\n  duration = 1 h\n}\n"
    (duplicate,) = [d for d in _analysed(text).diagnostics if d.code == "E202"]
    ((what, first),) = duplicate.related
    assert "first" in what
    assert (first.line, first.column) == (12, 10)  # `training train {` in main.nnci


# -- navigation ------------------------------------------------------------------------------------


def _at(text: str, needle: str, within: int = 0) -> tuple[int, int]:
    """The nnci line and column of the `within`-th character of the first `needle` in `text`."""
    offset = text.index(needle) + within
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _line_of(path: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), 1) if re.search(pattern, line))


def test_definitions_of_blocks_fields_imports_and_std_records() -> None:
    found = _analysed()
    text = found.text
    index = navigation.index(found.loaded, found.key)

    def definition(needle: str, within: int = 0) -> Span | None:
        occurrence = index.at(*_at(text, needle, within))
        assert occurrence is not None, needle
        return navigation.definition(found.loaded, occurrence.target)

    record = definition("a100_sxm4_80gb")
    assert record is not None and record.file == "std/hardware"
    assert record.line == _line_of(HARDWARE, r"^device a100_sxm4_80gb\b")
    dc = definition("common.dc", len("common."))
    assert (
        dc is not None
        and dc.file.endswith("common.nnci")
        and dc.line == _line_of(CASES / "common.nnci", "^datacenter dc")
    )
    gpu = definition("gpu = 8")
    assert gpu is not None and (gpu.line, gpu.column) == (8, 8)
    module = definition('"common"', 1)
    assert module is not None and module.file.endswith("common.nnci")
    energy = definition("train.energy", len("train."))  # a derived quantity: the block that derives it
    assert energy is not None and (energy.line, energy.column) == (12, 10)


def test_references_of_a_block() -> None:
    found = _analysed()
    index = navigation.index(found.loaded, found.key)
    occurrence = index.at(*_at(found.text, "training train", len("training ")))
    assert occurrence is not None
    spans = navigation.references([index], occurrence.target)
    assert [(s.line, s.column) for s in spans] == [(12, 10), (18, 8)]


# -- hover -----------------------------------------------------------------------------------------


def test_hover_on_a_job_shows_its_headline_figures() -> None:
    found = _analysed()
    shown = hover.hover(found, *_at(found.text, "training train", len("training ")))
    assert shown is not None
    embodied = float(re.search(r"embodied = ([\d.]+) kgCO2e", _record_text("a100_sxm4_80gb")).group(1))
    assert "| energy | 384 kWh |" in shown.markdown  # 8 × 400 W × 100 h × 1.2
    assert "| operational | 153.6 kgCO2e |" in shown.markdown  # × 400 g/kWh
    assert f"| embodied | {8 * embodied / 1000:g} tCO2e |" in shown.markdown  # in full: no lifetime
    assert f"| total | {(153.6 + 8 * embodied) / 1000:g} tCO2e |" in shown.markdown


def _record_text(name: str) -> str:
    text = HARDWARE.read_text()
    start = text.index(f"device {name} ")
    return text[text.rfind("@source", 0, start) : text.index("\n}", start)]


def test_hover_on_a_catalog_reference_shows_its_figures_and_source() -> None:
    found = _analysed()
    shown = hover.hover(found, *_at(found.text, "a100_sxm4_80gb"))
    assert shown is not None
    written = _record_text("a100_sxm4_80gb")
    tdp = re.search(r"tdp = (\S+ \S+)", written).group(1)
    source = re.search(r'@source\("([^"]{20})', written).group(1)
    assert f"`tdp` = {tdp}" in shown.markdown
    assert source in shown.markdown


def test_hover_on_fields_gives_value_formula_and_citation() -> None:
    found = _analysed()
    given = hover.hover(found, *_at(found.text, "duration = 100 h"))
    assert given is not None and "= 100 h" in given.markdown and "given at" in given.markdown
    derived = hover.hover(found, *_at(found.text, "train.energy", len("train.")))
    assert derived is not None
    assert "= 384 kWh" in derived.markdown and "formula `" in derived.markdown and "citation:" in derived.markdown
    assert "└─" in derived.markdown  # the derivation tree, as `nnci explain` prints it
    site = hover.hover(found, *_at(found.text, "common.dc", len("common.")))
    assert site is not None and "`pue` = 1.2" in site.markdown


# -- completion ------------------------------------------------------------------------------------


def _labels(text: str, needle: str, within: int = 0) -> list[str]:
    found = _analysed()
    return [item.label for item in completion.complete(found, text, *_at(text, needle, within))]


def test_completion_by_context() -> None:
    text = MAIN.read_text()
    top = _labels(text + "\n\n", "\n\n", 1)  # a line of its own at the top level... (an expect's is not)
    assert top[:7] == ["grid", "source", "device", "fleet", "datacenter", "training", "inference"]
    inside = _labels(text.replace("  duration = 100 h", "  dur"), "  dur", 5)
    assert "duration" in inside and "site" not in inside  # the block already gives its site
    job = text.replace("  duration = 100 h", "  duration = 100 ")
    units = _labels(job, "duration = 100 ", len("duration = 100 "))
    assert {"h", "days", "years", "min"} <= set(units) and "W" not in units
    records = _labels(text.replace("hw.a100_sxm4_80gb", "hw."), "hw. {", 3)
    assert "a100_sxm4_80gb" in records and "h100_sxm" in records
    methods = _labels(text.replace("  duration = 100 h", "  method = "), "method = ", len("method = "))
    assert methods == ["nnci", "patterson", "llmcarbon", "bloom"]
    quantities = _labels(text + "expect train.", "expect train.", len("expect train."))
    assert {"energy", "operational", "embodied", "total", "duration"} <= set(quantities)


def test_fields_come_with_their_dimension() -> None:
    items = completion.complete(None, "device d {\n  \n}\n", 2, 3)
    power = next(item for item in items if item.label == "power")
    assert power.detail == "power (W)"
    intensity = completion.units_for(completion._field_dimension("grid", "intensity"))
    assert intensity[0] == "gCO2e/kWh" and "kgCO2e/MWh" in intensity


# -- outline and formatting ------------------------------------------------------------------------


def test_outline() -> None:
    found = _analysed()
    module = found.module()
    assert module is not None
    symbols = outline.outline(module, found.text)
    assert [(s.name, s.kind) for s in symbols] == [("hw", "module"), ("common", "module"), ("gpu", "device"),
                                                   ("train", "training"), ("train.energy", "expect")]  # fmt: skip
    assert [c.name for c in symbols[3].children] == ["fleet", "site", "duration"]


def test_formatting_edits_give_the_canonical_text() -> None:
    text = "grid g {\n    intensity=400 gCO2e/kWh\n}\ndevice d { power = 1 W }\n"
    edits, problems = outline.formatting_edits(text, "t.nnci")
    assert problems == ()
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    assert text == "grid g {\n  intensity = 400 gCO2e/kWh\n}\n\ndevice d {\n  power = 1 W\n}\n"
    assert outline.formatting_edits(text, "t.nnci") == ([], ())


# -- the command -----------------------------------------------------------------------------------


def test_without_pygls_the_command_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['pygls'] = None; from nnci.cli import main; sys.exit(main(['lsp']))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        done.stderr
        == "nnci lsp: the language server needs pygls, the lsp extra: pip install '.[lsp]' in a clone of nnci\n"
    )  # one line
    assert done.stdout == ""


def test_nnci_does_not_import_pygls_unless_serving() -> None:
    code = "import sys, nnci, nnci.cli, nnci.lsp; sys.exit('pygls' in sys.modules or 'lsprotocol' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_map_keys_complete_to_blocks_of_their_kind() -> None:
    text = MAIN.read_text().replace("fleet = { gpu = 8 }", "fleet = { g")
    assert _labels(text, "fleet = { g", len("fleet = { g")) == ["gpu"]  # an inline fleet counts devices
    mix = "grid g {\n  mix = { c\n}\n"
    found = analysis.analyse(CASES / "mix.nnci", mix)
    labels = [item.label for item in completion.complete(found, mix, 2, 12)]
    sources = (REPO / "nnci" / "std" / "sources.nnci").read_text()
    assert labels == re.findall(r"^source (\w+)", sources, re.M)  # the generation sources of std/sources


def test_hover_on_an_amend_shows_what_it_inherits_and_overrides() -> None:
    found = _analysed()
    shown = hover.hover(found, *_at(found.text, "device gpu", len("device ")))
    assert shown is not None
    tdp = re.search(r"tdp = (\S+ \S+)", _record_text("a100_sxm4_80gb")).group(1)
    assert "amends `hw.a100_sxm4_80gb`" in shown.markdown
    assert f"`tdp` = {tdp}" in shown.markdown  # inherited
    assert "`power` = 400 W" in shown.markdown  # its own


def test_total_and_the_names_an_expectation_may_use() -> None:
    text = MAIN.read_text() + "expect total.operational = 153.6 kgCO2e\n"
    found = _analysed(text)
    assert found.diagnostics == ()
    shown = hover.hover(found, *_at(text, "total.operational", len("total.")))
    assert shown is not None and "**`total.operational`** (the sum over every job) = 153.6 kgCO2e" in shown.markdown
    typed = text + "expect tr"
    assert [i.label for i in completion.complete(found, typed, *_at(typed, "expect tr", 9))] == [
        "train", "total", "hw", "common"
    ]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(sources=[MAIN.read_text(encoding="utf-8")]), st.lists(st.floats(0, 1), min_size=3, max_size=3))
def test_a_damaged_document_never_breaks_a_feature(text: str, where: list[float]) -> None:
    """Whatever is typed, each feature answers (possibly nothing) and never raises."""
    found = analysis.analyse(MAIN, text)
    assert all(d.span is None or d.span.line >= 1 for d in found.diagnostics)
    index = navigation.index(found.loaded, found.key)
    for fraction in where:
        line, column = _offset(text, int(fraction * len(text)))
        hover.hover(found, line, column)
        completion.complete(found, text, line, column)
        occurrence = index.at(line, column)
        if occurrence is not None:
            navigation.definition(found.loaded, occurrence.target)
            navigation.references([index], occurrence.target)
    module = found.module()
    if module is not None:
        outline.outline(module, text)
    outline.formatting_edits(text, found.key)


def _offset(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_hover_on_a_number_gives_it_in_the_unit_results_use() -> None:
    text = MAIN.read_text().replace("duration = 100 h", "duration = 14.8 days")
    found = _analysed(text)
    shown = hover.hover(found, *_at(text, "14.8 days", 1))
    assert shown is not None
    assert shown.markdown == f"`14.8 days` = {14.8 * 24:g} h (time)"  # 355.2 h


def test_formatting_keeps_crlf_line_endings() -> None:
    text = "grid g {\r\n    intensity=400 gCO2e/kWh\r\n}\r\n"
    edits, _ = outline.formatting_edits(text, "t.nnci")
    for edit in edits:
        text = text[: edit.start] + edit.text + text[edit.end :]
    assert text == "grid g {\r\n  intensity = 400 gCO2e/kWh\r\n}\r\n"


def test_a_byte_order_mark_is_not_a_column_of_nnci() -> None:
    """The parser reads a file without its mark; an editor that keeps it counts it on the first line."""
    text = "\ufeffgrid g { intensity = 400 Wh }\n"
    found = analysis.analyse(CASES / "bom.nnci", text)
    (problem,) = found.diagnostics
    assert problem.span is not None and problem.span.column == text.index("400 Wh")  # counted without the mark
    lines = LineIndex(text)
    assert lines.range_of(problem.span).start == Position(0, text.index("400 Wh"))  # the editor's column
    assert lines.nnci_at(Position(0, text.index("400 Wh"))) == (1, problem.span.column)


def test_import_paths_complete_to_std_modules_and_files_beside() -> None:
    text = MAIN.read_text() + 'import "'
    found = _analysed()
    at_end = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
    items = {item.label: item for item in completion.complete(found, text, *at_end)}
    expected_std = {f"std/{p.stem}" for p in (REPO / "nnci" / "std").glob("*.nnci")}
    assert expected_std <= set(items) and {"common", "emoji"} <= set(items) and "main" not in items
    devices = len(re.findall(r"^device \w+", HARDWARE.read_text(), re.M))
    assert items["std/hardware"].documentation == f"{devices} device"


def test_group_arguments_complete_to_summed_figures_text_columns_and_names() -> None:
    """In `group(`, each argument in turn: a figure of the job over a table that adds up over rows, a
    text column of its table, a name that column holds (models/cluster-job-log.nnci and its CSV)."""
    path = REPO / "models" / "cluster-job-log.nnci"
    text = path.read_text(encoding="utf-8")
    found = analysis.analyse(path, text)

    def labels(typed: str) -> list[str]:
        whole = text + typed
        return [i.label for i in completion.complete(found, whole, whole.count("\n") + 1, len(typed) + 1)]

    figures = labels("figure x = group(")
    assert {"month.energy", "month.total", "month.device_hours"} <= set(figures) and "month.pue" not in figures
    assert labels("figure x = group(month.energy, ") == ["jobs.account", "jobs.cluster"]
    assert labels('expect group(month.energy, jobs.account, "') == ["nlp", "vision", "speech"]


def test_field_completion_leaves_out_the_fields_the_block_already_has() -> None:
    text = "datacenter d {\n  pue = 1.1\n  \n  grid = g\n}\n"
    labels = [i.label for i in completion.complete(None, text, 3, 3)]
    assert "pue" not in labels and "grid" not in labels
    assert "wue" in labels and "intensity" in labels
