"""Errors are data: every stage returns diagnostics; one renderer prints them.

A diagnostic has a stable code, a severity, a message, the span it points at, notes and a hint.
The API raises one `NnciError` that holds them all; the CLI renders them and exits 1.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import attrs

# One code per kind of problem; tests/cases/diagnostics/ has a golden case for each.
CODES = {
    "E100": "syntax error",
    "E101": "unclosed block or map",
    "E102": "unsupported language version",
    "E103": "unreadable file",
    "E104": "import outside the project",
    "E200": "import not found",
    "E201": "import cycle",
    "E202": "duplicate name",
    "E203": "duplicate field",
    "E204": "unused table",
    "E205": "an override that changes nothing",
    "E206": "gap, duplicate or bad interval in a series",
    "E300": "unknown name",
    "E301": "unknown field",
    "E302": "unknown unit",
    "E303": "wrong kind of reference",
    "E304": "bad amend",
    "E305": "bad expression",
    "E306": "bad --set or --vary argument",
    "E400": "wrong dimension",
    "E401": "incompatible dimensions",
    "E402": "implausible value",
    "E403": "shares do not sum to 100 %",
    "E404": "check failed",
    "E405": "arithmetic error",
    "E406": "circular definition",
    "E407": "nesting too deep",
    "E408": "bad distribution",
    "E409": "distribution outside the plausible range",
    "E410": "cannot sample",
    "E411": "outside the data of a series",
    "E420": "inputs that disagree",
    "E421": "an input that changes no figure",
    "E500": "cannot derive",
    "E501": "expectation failed",
    # nnci import / nnci export (nnci/interop/); golden cases in tests/cases/interop/
    "E600": "not a file nnci can import (YAML, CSV or sacct text it cannot read)",
    "E601": "not an nn-ci manifest, or one missing what the nn-ci plugins read",
    "E602": "plugins or results nnci does not import",
    "E603": "a value the source tool treats differently (0 taken as missing)",
    "E604": "an assumption made while importing",
    "E610": "missing or bad columns in a CodeCarbon emissions.csv",
    "E620": "bad fields in a Slurm job log",
    "E630": "what the Impact Framework's builtins cannot compute",
}


@attrs.frozen(order=True)
class Span:
    """Where something stands in a source file: 1-based lines and columns, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None
    severity: str = "error"
    notes: tuple[str, ...] = ()
    help: str | None = None
    # other places the problem involves, each with what it is there (`first defined here`): an editor
    # shows them beside the diagnostic; the renderer prints the notes, which say the same in words
    related: tuple[tuple[str, Span], ...] = ()

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.span is None:
            return ("", 0, 0, self.code)
        return (self.span.file, self.span.line, self.span.column, self.code)


class NnciError(Exception):
    """Raised by the API when a program has errors; holds every diagnostic found.

    The message is rendered when first asked for, and once: a program with 100,000 problems is
    raised (and caught by the CLI, which renders its own way) without being rendered here."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = sort_diagnostics(diagnostics)
        self.sources = dict(sources or {})
        self._rendered: str | None = None
        super().__init__(self.diagnostics, self.sources)  # the arguments, not a message: it can be pickled

    def __str__(self) -> str:
        if self._rendered is None:
            self._rendered = render_all(self.diagnostics, self.sources)
        return self._rendered


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=Diagnostic.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


@functools.lru_cache(maxsize=16)
def source_lines(text: str) -> list[str]:
    """A source split into lines once (as the lexer counts them), however many diagnostics point into it.

    Keyed by the text itself: a str caches its hash and the lookup finds the same object first."""
    return text.split("\n")


def render(diagnostic: Diagnostic, sources: Mapping[str, str]) -> str:
    """Render one diagnostic: header, location, the source line with a caret, notes, hint."""
    lines = [f"{diagnostic.severity}[{diagnostic.code}]: {sanitise(diagnostic.message)}"]
    span = diagnostic.span
    if span is not None:
        lines.append(f"  --> {sanitise(str(span))}")
        text = sources.get(span.file)
        numbered = source_lines(text) if text is not None else []
        if 0 < span.line <= len(numbered):
            source = _printable(numbered[span.line - 1])
            width = len(str(span.line))
            end = span.end_column if span.end_line == span.line else len(source) + 1
            start = max(0, span.column - 1 - WINDOW // 2) if len(source) > WINDOW else 0
            shown = source[start : start + WINDOW]
            shown = ("…" if start else "") + shown + ("…" if start + WINDOW < len(source) else "")
            carets = "^" * max(1, min(end, start + WINDOW + 1) - span.column)
            lines.append(f"{' ' * width} |")
            lines.append(f"{span.line} | {shown}")
            lines.append(f"{' ' * width} | {' ' * (span.column - 1 - start + (1 if start else 0))}{carets}")
    for note in diagnostic.notes:
        lines.append(f"  = note: {sanitise(note)}")
    if diagnostic.help:
        lines.append(f"  = help: {sanitise(diagnostic.help)}")
    return "\n".join(lines)


WINDOW = 120  # longer source lines are shown around the caret
MAX_SHOWN = 200  # more diagnostics than this are counted, not printed


def _printable(line: str) -> str:
    """The source line as shown: tabs as spaces, other control characters as `?`, so the caret lines up."""
    line = line.rstrip("\r").replace("\t", " ")
    return "".join(c if c.isprintable() else "?" for c in line)


def sanitise(text: str) -> str:
    """Text safe for a terminal: every character that is not printable shown as its escape.

    Messages quote what the user wrote (an import path, a name), which may hold an escape
    sequence (`\\x1b[2J`) or a file name that is not UTF-8; printed as is, they would act on the
    terminal or fail to encode."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], limit: int = MAX_SHOWN) -> str:
    """Every diagnostic up to `limit`, then how many more there are, then the counts of all."""
    diagnostics = list(diagnostics)
    shown = [render(d, sources) for d in diagnostics[:limit]]
    if len(diagnostics) > limit:
        shown.append(f"… and {len(diagnostics) - limit:,} more")
    text = "\n\n".join(shown)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    summary = ", ".join(
        f"{n:,} {word}{'s' if n != 1 else ''}" for n, word in ((errors, "error"), (warnings, "warning")) if n
    )
    return f"{text}\n\n{summary}" if summary else text
