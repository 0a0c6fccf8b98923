"""Round trips through a real `nnci lsp` (a subprocess over stdio, driven by pytest-lsp): open,
change, diagnostics (arriving and cleared, in imported files that are open too), hover text,
definition, references, completion items, formatting edits and the outline, on the documents of
tests/cases/lsp/. Expected values are worked by hand in the fixture files' comments."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from strategies import REPO

pytestmark = pytest.mark.asyncio

CASES = REPO / "tests" / "cases" / "lsp"
MAIN, COMMON, EMOJI = CASES / "main.nnci", CASES / "common.nnci", CASES / "emoji.nnci"
HARDWARE = REPO / "nnci" / "std" / "hardware.nnci"
WAIT = 20.0  # seconds a notification may take on a busy machine (the server itself answers in milliseconds)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "nnci", "lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=CASES.as_uri())
    )
    yield lsp_client
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.resolve().as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="nnci", version=1, text=text))
    )
    return uri


def _change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def _diagnostics(
    client: LanguageClient, uri: str, ready: Callable[[list[types.Diagnostic]], bool]
) -> list[types.Diagnostic]:
    """The document's diagnostics once `ready` says they are the ones awaited."""

    async def arrived() -> list[types.Diagnostic]:
        while True:
            found = client.diagnostics.get(uri)
            if found is not None and ready(list(found)):
                return list(found)
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(arrived(), WAIT)


def _position(text: str, needle: str, within: int = 0) -> types.Position:
    """The protocol's position of a character of the first `needle`: 0-based, in UTF-16 units."""
    offset = text.index(needle) + within
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line, len(text[start:offset].encode("utf-16-le")) // 2)


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def test_diagnostics_arrive_on_open_and_clear_when_fixed(client: LanguageClient) -> None:
    good = MAIN.read_text()
    bad = good.replace("power = 400 W", "power = 400 Wh")
    uri = _open(client, MAIN, bad)
    (problem,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert problem.code == "E400" and problem.severity == types.DiagnosticSeverity.Error
    assert problem.range.start == _position(bad, "400 Wh")
    assert problem.range.end == _position(bad, "400 Wh", len("400 Wh"))
    assert "help: write `400 W`" in problem.message
    _change(client, uri, good, 2)
    assert await _diagnostics(client, uri, lambda found: found == []) == []


async def test_an_expectation_that_fails_after_an_edit(client: LanguageClient) -> None:
    good = MAIN.read_text()
    uri = _open(client, MAIN, good)
    assert await _diagnostics(client, uri, lambda found: True) == []
    for version, hours in enumerate(("10", "100 0", "1000"), 2):  # keystrokes: the last one is analysed
        _change(client, uri, good.replace("duration = 100 h", f"duration = {hours} h"), version)
    (failed,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert failed.code == "E501"
    assert "3,840 kWh" in failed.message  # 8 × 400 W × 1000 h × 1.2


async def test_columns_count_utf16_units(client: LanguageClient) -> None:
    text = EMOJI.read_text(encoding="utf-8")
    uri = _open(client, EMOJI)
    (problem,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert problem.code == "E400"
    characters = text.index("400 Wh")
    assert problem.range.start == types.Position(0, characters + 1)  # 🚀 is two UTF-16 units, one character


async def test_related_locations(client: LanguageClient) -> None:
    text = MAIN.read_text() + "\ndevice gpu {\n  power = 1 W\n}\n"
    uri = _open(client, MAIN, text)
    (duplicate,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert duplicate.code == "E202"
    (related,) = duplicate.related_information or []
    assert related.location.uri == uri
    assert related.location.range.start == _position(text, "device gpu", len("device "))


async def test_an_open_imported_file_is_read_from_the_editor_and_gets_its_diagnostics(client: LanguageClient) -> None:
    main = _open(client, MAIN)
    common_text = COMMON.read_text()
    common = _open(client, COMMON, common_text)
    await _diagnostics(client, main, lambda found: found == [])
    broken = common_text.replace("pue = 1.2", "pue = 0.5")
    _change(client, common, broken, 2)
    found = await _diagnostics(client, common, lambda found: any(d.code == "E402" for d in found))
    assert {d.code for d in found} <= {"E402", "E404"}
    assert next(d for d in found if d.code == "E402").range.start == _position(broken, "0.5")
    _change(client, common, common_text.replace("pue = 1.2", "pue = 1.5"), 3)  # unsaved: main reads it
    await _diagnostics(client, common, lambda found: found == [])
    (failed,) = await _diagnostics(client, main, lambda found: len(found) == 1)
    assert failed.code == "E501" and "480 kWh" in failed.message  # 8 × 400 W × 100 h × 1.5


async def _hover(client: LanguageClient, uri: str, position: types.Position) -> str:
    found = await client.text_document_hover_async(types.HoverParams(_doc(uri), position))
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    return found.contents.value


async def test_hover(client: LanguageClient) -> None:
    text = MAIN.read_text()
    uri = _open(client, MAIN)
    job = await _hover(client, uri, _position(text, "training train", len("training ")))
    assert "| energy | 384 kWh |" in job and "| operational | 153.6 kgCO2e |" in job
    embodied = float(re.search(r"embodied = ([\d.]+) kgCO2e", _record("a100_sxm4_80gb")).group(1))
    assert f"| embodied | {8 * embodied / 1000:g} tCO2e |" in job
    energy = await _hover(client, uri, _position(text, "train.energy", len("train.")))
    assert "`train.energy`** = 384 kWh" in energy and "formula `" in energy and "citation:" in energy
    power = await _hover(client, uri, _position(text, "power = 400 W"))
    assert "= 400 W" in power and "given at" in power
    record = await _hover(client, uri, _position(text, "a100_sxm4_80gb"))
    tdp = re.search(r"tdp = (\S+ \S+)", _record("a100_sxm4_80gb")).group(1)
    assert f"`tdp` = {tdp}" in record and "source: " in record


def _record(name: str) -> str:
    text = HARDWARE.read_text()
    start = text.index(f"device {name} ")
    return text[start : text.index("\n}", start)]


async def test_definition_and_references(client: LanguageClient) -> None:
    text = MAIN.read_text()
    uri = _open(client, MAIN)
    std = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), _position(text, "a100_sxm4_80gb"))
    )
    # the installed package's copy or the checkout's, whichever the server imported: the same text
    assert isinstance(std, types.Location) and std.uri.endswith("/nnci/std/hardware.nnci")
    line = next(i for i, t in enumerate(HARDWARE.read_text().split("\n")) if t.startswith("device a100_sxm4_80gb "))
    assert std.range.start == types.Position(line, len("device "))
    site = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), _position(text, "common.dc", len("common.")))
    )
    assert isinstance(site, types.Location) and site.uri == COMMON.resolve().as_uri()
    assert site.range.start == _position(COMMON.read_text(), "datacenter dc", len("datacenter "))
    found = await client.text_document_references_async(
        types.ReferenceParams(context=types.ReferenceContext(include_declaration=True), text_document=_doc(uri),
                              position=_position(text, "device gpu", len("device ")))
    )  # fmt: skip
    assert found is not None
    assert sorted(location.range.start for location in found) == sorted(
        [_position(text, "device gpu", len("device ")), _position(text, "gpu = 8")]
    )  # fmt: skip


async def _labels(client: LanguageClient, uri: str, position: types.Position) -> dict[str, types.CompletionItem]:
    found = await client.text_document_completion_async(types.CompletionParams(_doc(uri), position))
    assert isinstance(found, types.CompletionList)
    return {item.label: item for item in found.items}


async def test_completion(client: LanguageClient) -> None:
    text = MAIN.read_text()
    uri = _open(client, MAIN)
    await _diagnostics(client, uri, lambda found: True)
    typed = text.replace("  duration = 100 h", "  duration = 100 \n  ").replace("hw.a100_sxm4_80gb", "hw.")
    _change(client, uri, typed, 2)
    units = await _labels(client, uri, _position(typed, "duration = 100 ", len("duration = 100 ")))
    assert {"h", "days", "years"} <= set(units) and "kWh" not in units
    fields = await _labels(client, uri, _position(typed, "100 \n  ", len("100 \n  ")))
    assert fields["device_hours"].detail == "time (h)" and "tdp" not in fields
    assert "site" not in fields and "duration" not in fields  # given in this block already
    records = await _labels(client, uri, _position(typed, "hw. ", 3))
    assert "a100_sxm4_80gb" in records and records["a100_sxm4_80gb"].kind == types.CompletionItemKind.Constant
    top = await _labels(client, uri, _position(typed + "\n", typed.rstrip("\n") + "\n", len(typed.rstrip("\n")) + 1))
    assert {"grid", "device", "training", "inference", "import", "expect"} <= set(top)


async def test_method_values(client: LanguageClient) -> None:
    text = MAIN.read_text().replace("  duration = 100 h", "  duration = 100 h\n  method = ")
    uri = _open(client, MAIN, text)
    methods = await _labels(client, uri, _position(text, "method = ", len("method = ")))
    assert list(methods) == ["nnci", "patterson", "llmcarbon", "bloom"]


async def test_formatting(client: LanguageClient) -> None:
    text = "grid g {\n    intensity=400 gCO2e/kWh\n}\n"
    path = CASES / "unformatted.nnci"  # never written: the editor's buffer is the text
    uri = _open(client, path, text)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(_doc(uri), types.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert edits is not None and len(edits) == 1
    (edit,) = edits
    assert edit.range.start == types.Position(1, 0)  # the first line is canonical already: left alone
    lines = text.split("\n")
    start, end = edit.range.start, edit.range.end
    lines[start.line : end.line + 1] = [
        lines[start.line][: start.character] + edit.new_text + lines[end.line][end.character :]
    ]
    assert "\n".join(lines) == "grid g {\n  intensity = 400 gCO2e/kWh\n}\n"


async def test_document_symbols(client: LanguageClient) -> None:
    uri = _open(client, MAIN)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(_doc(uri)))
    assert symbols is not None
    named = {s.name: s for s in symbols if isinstance(s, types.DocumentSymbol)}
    assert list(named) == ["hw", "common", "gpu", "train", "train.energy"]
    assert named["train"].kind == types.SymbolKind.Function and named["train"].detail == "training"
    assert [c.name for c in named["train"].children or []] == ["fleet", "site", "duration"]
    assert named["gpu"].selection_range.start == types.Position(7, len("device "))


async def test_hover_reads_the_text_being_edited(client: LanguageClient) -> None:
    text = MAIN.read_text()
    uri = _open(client, MAIN, text.replace("power = 400 W", "power = 400 Wh"))
    await _diagnostics(client, uri, lambda found: len(found) == 1)
    edited = text.replace("duration = 100 h", "duration = 200 h")
    _change(client, uri, edited, 2)  # hovered before the debounce has run: analysed then
    job = await _hover(client, uri, _position(edited, "training train", len("training ")))
    assert "| energy | 768 kWh |" in job  # 8 × 400 W × 200 h × 1.2


async def test_closing_a_document_clears_its_diagnostics(client: LanguageClient) -> None:
    uri = _open(client, MAIN, MAIN.read_text().replace("power = 400 W", "power = 400 Wh"))
    await _diagnostics(client, uri, lambda found: len(found) == 1)
    client.text_document_did_close(types.DidCloseTextDocumentParams(_doc(uri)))
    assert await _diagnostics(client, uri, lambda found: found == []) == []


async def test_an_untitled_document_is_analysed_too(client: LanguageClient) -> None:
    uri = "untitled:Untitled-1"
    text = "grid g {\n  intensity = 400 Wh\n}\n"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="nnci", version=1, text=text))
    )
    (problem,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert problem.code == "E400" and problem.range.start == _position(text, "400 Wh")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "nnci", "lsp"]))
async def utf8_client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    """A client that counts columns in UTF-8 bytes (LSP 3.17's positionEncodings)."""
    general = types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf8])
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities(general=general)))
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_columns_in_utf8_when_the_client_asks(utf8_client: LanguageClient) -> None:
    text = EMOJI.read_text(encoding="utf-8")
    uri = _open(utf8_client, EMOJI)
    (problem,) = await _diagnostics(utf8_client, uri, lambda found: len(found) == 1)
    assert problem.range.start == types.Position(0, len(text[: text.index("400 Wh")].encode("utf-8")))


async def test_problems_in_an_imported_file_not_open_are_shown_at_its_import(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "common.nnci").write_text(COMMON.read_text().replace("pue = 1.2", "pue = 0.5"))
    main = tmp_path / "main.nnci"
    text = MAIN.read_text()
    main.write_text(text)
    uri = _open(client, main)
    (summary,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert summary.range.start == _position(text, 'import "common"')
    assert summary.range.end == _position(text, 'import "common" as common', len('import "common" as common'))
    assert summary.message.startswith("`common` has 1 error: `pue` = 0.5: PUE below 1 is impossible")
    common = (tmp_path / "common.nnci").resolve().as_uri()
    (listed,) = await _diagnostics(client, common, lambda found: len(found) == 1)  # the file itself, not open
    assert listed.code == "E402" and listed.range.start == _position(COMMON.read_text(), "1.2")


async def test_references_across_open_documents(client: LanguageClient) -> None:
    main_text, common_text = MAIN.read_text(), COMMON.read_text()
    main = _open(client, MAIN)
    common = _open(client, COMMON)
    await _diagnostics(client, common, lambda found: True)
    found = await client.text_document_references_async(
        types.ReferenceParams(context=types.ReferenceContext(include_declaration=False), text_document=_doc(common),
                              position=_position(common_text, "datacenter dc", len("datacenter ")))
    )  # fmt: skip
    assert found is not None
    assert [(location.uri, location.range.start) for location in found] == [
        (main, _position(main_text, "common.dc", len("common.")))
    ]


async def test_an_import_changed_on_disk_is_read_again(client: LanguageClient, tmp_path: Path) -> None:
    common = tmp_path / "common.nnci"
    common.write_text(COMMON.read_text())
    main = tmp_path / "main.nnci"
    main.write_text(MAIN.read_text())
    uri = _open(client, main)
    assert await _diagnostics(client, uri, lambda found: True) == []
    common.write_text(COMMON.read_text().replace("pue = 1.2", "pue = 1.5"))  # as another program would
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(common.as_uri(), types.FileChangeType.Changed)])
    )
    (failed,) = await _diagnostics(client, uri, lambda found: len(found) == 1)
    assert failed.code == "E501" and "480 kWh" in failed.message  # 8 × 400 W × 100 h × 1.5


async def test_after_syntax_errors_the_rest_of_the_file_still_answers(client: LanguageClient) -> None:
    text = (
        MAIN.read_text().replace("power = 400 W", "power = = 400 W").replace("site = common.dc", "site = common.dc )")
    )
    uri = _open(client, MAIN, text)
    found = await _diagnostics(client, uri, lambda found: len(found) >= 2)
    syntax = [d for d in found if d.code == "E100"]
    assert [d.range.start.line for d in syntax] == [text[: text.index("= = 400")].count("\n"),
                                                    text[: text.index("common.dc )")].count("\n")]  # fmt: skip
    record = await _hover(client, uri, _position(text, "a100_sxm4_80gb"))
    assert "`tdp` = " in record  # the amend's base still resolves
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(_doc(uri)))
    assert symbols is not None and {"gpu", "train"} <= {s.name for s in symbols}


async def test_a_document_is_given_at_most_200_diagnostics_and_a_count(client: LanguageClient) -> None:
    """300 datacenters each with a PUE below 1: 300 errors, of which 200 are shown and the rest counted,
    as `nnci check` prints them."""
    text = "".join(f"datacenter d{i} {{\n  pue = 0.5\n}}\n" for i in range(300))
    uri = _open(client, CASES / "many.nnci", text)
    found = await _diagnostics(client, uri, lambda found: len(found) > 0)
    assert len(found) == 201
    assert found[-1].message.startswith("and 100 more")
    assert sum(d.code == "E402" for d in found) == 200


async def test_a_long_analysis_does_not_hold_up_answers_about_another_document(client: LanguageClient) -> None:
    """A large file with an error in every block takes seconds to analyse; it is analysed beside the
    event loop, so a hover on a small document meanwhile is answered before those diagnostics arrive
    (the server used to read no message until the large analysis was done)."""
    big = "".join(f"datacenter d{i} {{\n  pue = 0.5\n}}\n" for i in range(40_000))
    big_uri = _open(client, CASES / "big.nnci", big)
    text = MAIN.read_text()
    uri = _open(client, MAIN)
    power = await _hover(client, uri, _position(text, "power = 400 W"))
    assert "= 400 W" in power
    assert client.diagnostics.get(big_uri) is None, "answered only after the large analysis"
    found = await _diagnostics(client, big_uri, lambda found: len(found) > 0)
    assert len(found) == 201 and found[-1].message.startswith("and 39,800 more")
