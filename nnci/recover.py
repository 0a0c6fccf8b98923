"""The recovering parse: a file with several syntax errors reports each, and the rest is lowered.

Taken only when the fast parser (nnci.parse) rejects a file; a file without errors never comes
here. Each round finds the first error of the text as it now stands: the fast parser says where
it stopped, and lark parses again from the statement before that one (the text before it
blanked, so positions stay true and lark reads two statements, not the file) to give the
diagnostic `nnci.parse.syntax_diagnostic` has always given (a `+-` anywhere is said first, as
lark's `parse()` does). Then the broken part is blanked out, newlines kept, so every later line
and column is unchanged, and the next round begins:

- an error inside a block's body drops that one field (or `check`), with the lines a map in it
  spans; the block keeps its good fields;
- a block that cannot be read as one (its header broken, its `{` missing, its `}` never
  closed) is dropped whole, with any junk up to the next statement; so are broken top-level
  statements (`import`, `expect`, `figure`, `check`) and stray text between statements.

A dropped statement's name (a block's, an import's alias, a figure's) is kept in
`Module.dropped`: resolving does not report references to it as unknown, since its error is
already shown. No place gets two diagnostics: a second error found where one was reported
(`grid` at the end of a file: no `=`, then no `}`) becomes a note of the first. The errors come
back in position order. The blanked text parses in the end (at worst it is all blank); after
MAX_SYNTAX_ERRORS errors the rest of the file, from the statement of the next error, is
dropped and the last diagnostic says so.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any

import attrs

from nnci.ast import Module
from nnci.diagnostics import Diagnostic
from nnci.schema import KINDS

if TYPE_CHECKING:
    from lark.exceptions import UnexpectedInput

MAX_SYNTAX_ERRORS = 50  # per file; then "and more"
SYNTAX_CODES = frozenset({"E100", "E101"})  # what the parser reports: a module with them lacks what did not parse

# What bears on where lines, fields and statements begin: strings (a `{` or `#` in one is text), comments,
# backslash continuations (the next line goes on), braces and line ends.
_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\\\r?\n|[{}\n]')
_KIND = "|".join(KINDS)
# A line that starts a statement: an annotation, a keyword, or `word name` then `{`, `=` or the end (a block).
_STATEMENT = re.compile(
    rf"[\t ]*(?:@|(?:import|expect|figure|check)\b|(?:{_KIND})[\t ]+[A-Za-z_]|[A-Za-z_]\w*[\t ]+[A-Za-z_]\w*[\t ]*(?:[{{=]|$))"
)
# A line that cannot be inside a block: where it meets an unclosed `{`, the block above ends. (`grid x`
# alone may be a field `grid = x` missing its `=`; a `check` line may be a block's.)
_OPENS = re.compile(
    rf'[\t ]*(?:@[A-Za-z_]|import[\t ]+"|expect[\t ]+[^\s=]|figure[\t ]+[A-Za-z_]|(?:{_KIND})[\t ]+[A-Za-z_]\w*[^#\n]*\{{)'
)
# The name a statement gives: an import's alias (its last word), a figure's, a block's (of a kind, or of a misspelt kind
# when `{` or `= base` follows)
_NAMED = re.compile(
    rf"[\t ]*(?:import\b[^\n]*?(?=[A-Za-z_]\w*[\t ]*(?:#[^\n]*)?$)|figure[\t ]+|(?:{_KIND})[\t ]+"
    r"|(?!expect\b|check\b)[A-Za-z_]\w*[\t ]+(?=[A-Za-z_]\w*[\t ]*[{=]))([A-Za-z_]\w*)"
)
_ANNOTATION = re.compile(r"[\t ]*@")


@attrs.frozen
class _Lines:
    """Where each physical line of a text starts, the depth of `{` open there, and whether it goes on
    the line above (after a backslash); from one pass of _SCAN."""

    text: str
    starts: list[int]
    depths: list[int]
    continued: list[bool]

    @classmethod
    def of(cls, text: str) -> _Lines:
        starts, depths, continued = [0], [0], [False]
        depth = 0
        for match in _SCAN.finditer(text):
            char = text[match.start()]
            if char == "{":
                depth += 1
            elif char == "}":
                depth = max(0, depth - 1)  # a stray `}` closes nothing
            elif char == "\n" or char == "\\":
                starts.append(match.end())
                depths.append(depth)
                continued.append(char == "\\")
        return cls(text, starts, depths, continued)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def end_of(self, line: int) -> int:
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    def content(self, line: int) -> str:
        return self.text[self.starts[line] : self.end_of(line)]

    def begins(self, line: int) -> bool:
        """Whether a logical line begins here, with something other than a comment."""
        stripped = self.content(line).strip()
        return not self.continued[line] and bool(stripped) and not stripped.startswith("#")

    def depth_at(self, offset: int) -> int:
        line = self.line_of(offset)
        depth = self.depths[line]
        for match in _SCAN.finditer(self.text, self.starts[line], offset):
            char = self.text[match.start()]
            depth = depth + 1 if char == "{" else max(0, depth - 1) if char == "}" else depth
        return depth

    def statement_of(self, line: int) -> int:
        """The line where the top-level statement holding `line` begins (0 if none does)."""
        for candidate in range(line, -1, -1):
            if self.depths[candidate] == 0 and self.begins(candidate):
                return candidate
        return 0

    def next_statement(self, after: int) -> int:
        """The offset of the first line after `after` that starts a top-level statement, or the end."""
        for line in range(after + 1, len(self.starts)):
            if self.depths[line] == 0 and not self.continued[line] and _STATEMENT.match(self.content(line)):
                return self.starts[line]
        return len(self.text)

    def member_end(self, line: int) -> int:
        """Where the field starting on `line` (directly inside a block) ends: at the line end where no
        map it opened is still open, or before the `}` that closes the block."""
        depth = self.depths[line]
        for match in _SCAN.finditer(self.text, self.starts[line]):
            char = self.text[match.start()]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth < self.depths[line]:
                    return match.start()
            elif char == "\n" and depth <= self.depths[line]:
                return match.start()
        return len(self.text)

    def opens(self, line: int) -> bool:
        """Whether `line` starts what cannot be inside a block (_OPENS; an annotation, when a block follows)."""
        if not _OPENS.match(self.content(line)):
            return False
        if not _ANNOTATION.match(self.content(line)):
            return True
        following = next(
            (n for n in range(line + 1, len(self.starts)) if self.begins(n) and not _ANNOTATION.match(self.content(n))),
            None,
        )
        return following is not None and re.match(rf"[\t ]*(?:{_KIND})\b", self.content(following)) is not None

    def with_annotations(self, line: int) -> int:
        """`line`, or the first of the annotation lines right above it (`@source(...)`): they go with it."""
        while line > 0 and self.depths[line - 1] == 0 and _ANNOTATION.match(self.content(line - 1)):
            line -= 1
        return line


@attrs.frozen
class _Drop:
    start: int
    end: int
    name: str | None = None  # of the statement dropped whole


def _blank(text: str, start: int, end: int) -> str:
    """The text with [start, end) made spaces, its line ends kept: every position after stays put."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _is_blank(text: str) -> bool:
    return not text.strip()


def _drop_for(lines: _Lines, offset: int, at_end: bool) -> _Drop | None:
    """What to blank out for the error at `offset` (see the module's docstring); None if nothing is left."""
    text = lines.text
    line = lines.line_of(min(offset, len(text) - 1)) if text else 0
    statement = lines.statement_of(line)
    first = lines.with_annotations(statement)
    whole = _Drop(lines.starts[first], lines.next_statement(line), _name(lines, first, line))
    if at_end:
        whole = attrs.evolve(whole, end=len(text))
    elif statement < line and lines.depths[line] >= 1 and lines.opens(line):  # `{` left open above
        whole = attrs.evolve(whole, end=lines.starts[line])
    elif lines.depth_at(offset) >= 1 and statement < line and _STATEMENT.match(lines.content(statement)):
        member = next((m for m in range(line, statement, -1) if lines.depths[m] == 1 and lines.begins(m)), None)
        if member is not None and not _ANNOTATION.match(lines.content(statement)):
            field = _Drop(lines.starts[member], lines.member_end(member))
            if not _is_blank(text[field.start : field.end]):
                return field
    elif lines.depth_at(offset) == 0 and statement < line and lines.depths[line] > 0:
        tail = _Drop(offset, whole.end)  # text after the `}` that closed a block on this line
        if not _is_blank(text[tail.start : tail.end]):
            return tail
    if not _is_blank(text[whole.start : whole.end]):
        return whole
    rest = _Drop(lines.starts[line], len(text))
    return rest if not _is_blank(text[rest.start :]) else None


def _name(lines: _Lines, first: int, last: int) -> str | None:
    """The name the statement beginning at line `first` gives (a block's, an alias, a figure's), if any."""
    for line in range(first, last + 1):
        content = lines.content(line)
        if _ANNOTATION.match(content) or not content.strip():
            continue
        found = _NAMED.match(content.lstrip().lstrip("}"))  # `}device gpu {`: the stray brace is not the name
        return found.group(1) if found else None
    return None


# -- one round: the first error of the text as it stands ------------------------------------------


@attrs.frozen
class _Error:
    diagnostic: Diagnostic
    offset: int
    at_end: bool = False


def _resume_point(lines: _Lines, offset: int) -> int:
    """Where lark may start reading and still meet the error at `offset` in the state it would have
    reading from the start: the statement before that of the error (after a statement, the header
    is not expected; before the first, it is)."""
    statement = lines.statement_of(lines.line_of(offset))
    return lines.starts[lines.statement_of(statement - 1)] if statement > 0 else 0


def _lark_error(text: str, file: str, start: int) -> _Error | Any:
    """lark's parse of `text` from offset `start` (the text before blanked): its first error, or its tree."""
    from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

    from nnci.parse import _SINK, parser, syntax_diagnostic

    masked = _blank(text, 0, start) if start else text
    _SINK.comments = []
    try:
        return parser().parse(masked)
    except UnexpectedInput as error:
        at_end = isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END")
        return _Error(syntax_diagnostic(error, text, file), _offset_of(error, text, at_end), at_end)


def _offset_of(error: UnexpectedInput, text: str, at_end: bool) -> int:
    from lark.exceptions import UnexpectedToken

    if at_end:
        return len(text)
    if isinstance(error, UnexpectedToken) and error.token.start_pos is not None:
        return int(error.token.start_pos)
    return int(error.pos_in_stream or 0)


def _offset_of_span(lines: _Lines, diagnostic: Diagnostic) -> int:
    assert diagnostic.span is not None
    return lines.starts[min(diagnostic.span.line, len(lines.starts)) - 1] + diagnostic.span.column - 1


def recovering_parse(text: str, file: str, stopped: int | None = None) -> tuple[Module | None, tuple[Diagnostic, ...]]:
    """Every syntax error of one file, each located, and the module of what is left (see above).
    `stopped`: where the fast parser stopped in this text, if it has just been run on it."""
    from nnci.parse import _prepare

    current = _prepare(text)
    errors: list[Diagnostic] = []
    dropped: list[str] = []
    capped = False
    reported: set[int] = set()  # the offsets of the errors reported: none is reported twice
    skip = 0  # the text before this parsed in an earlier round: the fast parser need not read it again
    rounds = 0
    while True:
        lines = _Lines.of(current)
        found = _first_error(current, file, lines, stopped, skip)
        stopped, skip = None, 0
        if not isinstance(found, _Error):
            module, problems = found
            break
        if capped:  # what was before the statement of the last error should have parsed
            return None, _in_order(errors)
        rounds += 1
        if found.offset in reported and rounds <= 2 * MAX_SYNTAX_ERRORS:  # the error is still there: drop what holds it
            line = lines.line_of(min(found.offset, len(current) - 1))
            start, end = lines.starts[lines.with_annotations(lines.statement_of(line))], lines.next_statement(line)
            if _is_blank(current[start:end]):
                return None, _in_order(errors)
            current = _blank(current, start, end)
            continue
        if len(errors) >= MAX_SYNTAX_ERRORS or rounds > 2 * MAX_SYNTAX_ERRORS:  # (a bound on the work, too)
            last = max(range(len(errors)), key=lambda i: errors[i].sort_key(), default=None)
            if last is None:
                return None, (found.diagnostic,)
            errors[last] = attrs.evolve(errors[last], notes=(*errors[last].notes, _more(found.diagnostic, len(errors))))
            line = lines.line_of(min(found.offset, len(current) - 1))
            current = _blank(current, lines.starts[lines.with_annotations(lines.statement_of(line))], len(current))
            capped = True
            continue  # once more: the text before parses
        same_place = next((i for i, e in enumerate(errors) if _place(e) == _place(found.diagnostic)), None)
        if same_place is None:
            errors.append(found.diagnostic)
        else:  # two mistakes at one place (`grid` then the end of the file): one diagnostic says both
            earlier = errors[same_place]
            errors[same_place] = attrs.evolve(earlier, notes=(*earlier.notes, "also: " + found.diagnostic.message))
        reported.add(found.offset)
        drop = _drop_for(lines, found.offset, found.at_end)
        if drop is None:  # nothing left to drop: no module
            return None, _in_order(errors)
        if drop.name is not None:
            dropped.append(drop.name)
        current = _blank(current, drop.start, drop.end)
        resume = _resume_point(lines, found.offset)
        skip = resume if resume <= drop.start else 0
    # (the comments are those of the blanked text: the original's, less those in what was dropped)
    return attrs.evolve(module, dropped=tuple(dict.fromkeys((*module.dropped, *dropped)))), (
        *_in_order(errors),
        *problems,
    )


def _in_order(errors: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """By position: a `+-` is found first, wherever it is."""
    return tuple(sorted(errors, key=Diagnostic.sort_key))


def _first_error(
    text: str, file: str, lines: _Lines, known: int | None = None, skip: int = 0
) -> _Error | tuple[Module, tuple[Diagnostic, ...]]:
    """The first syntax error of `text` (a `+-` counts as one), or its module and lowering diagnostics.
    `known`: where the fast parser stops in `text` (else it is run here). `skip`: the start of a line
    of the top level before which the text is known to parse (the fast parser looks from there)."""
    from nnci.lower import lower
    from nnci.parse import _SINK, _fast_parser, uncertainty_written

    uncertain = uncertainty_written(text, file) if "+-" in text else None
    if uncertain is not None:  # said before any syntax error, wherever it is, as lark's parse() does
        return _Error(uncertain, _offset_of_span(lines, uncertain))
    fast = _fast_parser()
    stopped: tuple[Module, tuple[Diagnostic, ...]] | int | None = known
    read = text
    try:
        if stopped is None and fast is not None and skip:
            read = " " * (skip - 1) + "\n" + text[skip:]  # the same offsets; what was read is blank
            stopped = fast.run(read, file)
            if isinstance(stopped, tuple):  # the rest parses: the module is that of the whole text
                read, stopped = text, None
        if stopped is None and fast is not None:
            stopped = fast.run(text, file)
    except Exception:  # the fast path cannot decide: lark reads the whole text
        stopped = None
    if isinstance(stopped, tuple):
        return stopped
    found: _Error | Any = None
    if isinstance(stopped, int) and fast is not None and fast.lexes_up_to(read, stopped):
        found = _lark_error(text, file, _resume_point(lines, stopped))
    if stopped is None or (isinstance(stopped, int) and not isinstance(found, _Error)):
        found = _lark_error(text, file, 0)  # lark reads on where the fast parser stopped: lark decides
    if isinstance(found, _Error):
        return found
    module, problems = lower(found, file, tuple(_SINK.comments))  # lark parsed what the fast parser did not
    return module, tuple(problems)


def _place(diagnostic: Diagnostic) -> tuple[int, int] | None:
    return (diagnostic.span.line, diagnostic.span.column) if diagnostic.span is not None else None


def _more(next_error: Diagnostic, count: int) -> str:
    where = f" (the next at line {next_error.span.line})" if next_error.span is not None else ""
    return (
        f"nnci stops after {count} syntax errors in a file; there are more{where}, and the rest of the file is not read"
    )
