"""Positions in two models: nnci's and the Language Server Protocol's.

nnci counts lines split at `\\n` only, from 1, and columns in characters (code points), from 1
(`Span`). LSP counts lines from 0, ended by `\\r\\n`, `\\n` or a lone `\\r`, and characters in
UTF-16 code units from 0, so an emoji (one code point outside the BMP) is two (a client may agree
on UTF-8 bytes or code points instead: `encoding`). Both convert through the offset in the text,
which makes a CRLF or a lone CR no special case.
"""

from __future__ import annotations

import bisect
import functools
import re

import attrs

from nnci.diagnostics import Span

_LSP_BREAK = re.compile(r"\r\n|\n|\r")
UTF16, UTF8, UTF32 = "utf-16", "utf-8", "utf-32"
BOM = "\ufeff"  # the protocol's names of the position encodings


@attrs.frozen
class Position:
    """An LSP position: 0-based line, 0-based column in UTF-16 code units."""

    line: int
    character: int


@attrs.frozen
class Range:
    start: Position
    end: Position


class LineIndex:
    """One text's line starts in both models, built once per text (`index_of`)."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        # nnci reads a file without its byte-order mark: its first line starts after one
        self.nnci_starts = [1 if text.startswith(BOM) else 0, *(m.end() for m in re.finditer("\n", text))]
        self.lsp_starts = [0]
        self.lsp_ends = []  # where each LSP line's content ends (before its line break)
        for match in _LSP_BREAK.finditer(text):
            self.lsp_ends.append(match.start())
            self.lsp_starts.append(match.end())
        self.lsp_ends.append(len(text))

    # -- nnci (1-based line, 1-based column in code points) ------------------------------

    def offset_of(self, line: int, column: int) -> int:
        """The offset of an nnci line and column, clamped into the text."""
        if line < 1:
            return 0
        if line > len(self.nnci_starts):
            return len(self.text)
        start = self.nnci_starts[line - 1]
        end = self.nnci_starts[line] - 1 if line < len(self.nnci_starts) else len(self.text)
        return min(start + max(column - 1, 0), end)

    def nnci_of(self, offset: int) -> tuple[int, int]:
        """The nnci line and column of an offset."""
        line = max(bisect.bisect_right(self.nnci_starts, offset) - 1, 0)
        return line + 1, max(offset - self.nnci_starts[line], 0) + 1

    # -- LSP (0-based line, 0-based UTF-16 character) ------------------------------------

    def position_of(self, offset: int) -> Position:
        """The LSP position of an offset (one inside a `\\r\\n` stands at the end of its line)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.lsp_starts, offset) - 1
        start = self.lsp_starts[line]
        end = min(offset, self.lsp_ends[line])
        return Position(line, units_in(self.text[start:end], self.encoding))

    def offset_at(self, position: Position) -> int:
        """The offset of an LSP position; a character past the end of its line is the line's end."""
        if position.line < 0:
            return 0
        if position.line >= len(self.lsp_starts):
            return len(self.text)
        start, end = self.lsp_starts[position.line], self.lsp_ends[position.line]
        return start + code_points_in(self.text[start:end], position.character, self.encoding)

    # -- both ------------------------------------------------------------------------------

    def range_of(self, span: Span) -> Range:
        start = self.position_of(self.offset_of(span.line, span.column))
        end = self.position_of(self.offset_of(span.end_line, span.end_column))
        return Range(start, end)

    def nnci_at(self, position: Position) -> tuple[int, int]:
        return self.nnci_of(self.offset_at(position))


@functools.lru_cache(maxsize=64)
def index_of(text: str, encoding: str = UTF16) -> LineIndex:
    """The line index of a text, kept for the few texts an editor session works on."""
    return LineIndex(text, encoding)


def _width(char: str, encoding: str) -> int:
    if encoding == UTF16:
        return 2 if ord(char) > 0xFFFF else 1
    if encoding == UTF8:
        return len(char.encode("utf-8", "surrogatepass"))
    return 1


def units_in(text: str, encoding: str = UTF16) -> int:
    """How many code units `text` takes: in UTF-16 one per character, two outside the BMP."""
    if text.isascii() or encoding == UTF32:
        return len(text)
    return sum(_width(char, encoding) for char in text)


def code_points_in(line: str, units: int, encoding: str = UTF16) -> int:
    """How many characters of `line` the first `units` code units cover (a position inside a
    character's units stands before it); all of it when `units` is past its end."""
    if line.isascii() or encoding == UTF32:
        return max(0, min(units, len(line)))
    count = 0
    for index, char in enumerate(line):
        width = _width(char, encoding)
        if count + width > units:
            return index
        count += width
    return len(line)
