"""What the importers share: reading an input file safely, and what an import produces."""

from __future__ import annotations

from pathlib import Path

import attrs

from nnci.diagnostics import Diagnostic, Span
from nnci.load import display_path, read_project_file

READS = (
    "nnci import reads an Impact Framework manifest (.yml/.yaml), a CodeCarbon emissions.csv or a Slurm "
    "sacct log (`sacct -P` output)"
)


@attrs.frozen
class Imported:
    """A scenario made from another tool's file: its text, the tables it imports (file name → CSV
    text, written beside it), and what the importer has to say (warnings, or the errors that
    stopped it, located in `sources`)."""

    scenario: str | None
    tables: dict[str, str]
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]


def read_input(path: Path) -> tuple[str, str] | Diagnostic:
    """(display name, text) of a file to import: a regular UTF-8 file within the size limit."""
    shown = display_path(path)
    text = read_project_file(path, None, project=None, shown=Path(shown))
    if isinstance(text, Diagnostic):
        return text
    return shown, text.removeprefix("\ufeff")


def at(file: str, line: int, column: int, width: int = 1) -> Span:
    return Span(file, line, column, line, column + max(1, width))


def failed(diagnostics: list[Diagnostic], file: str, text: str) -> Imported:
    return Imported(None, {}, tuple(diagnostics), {file: text})
