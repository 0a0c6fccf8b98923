"""`nnci fmt`: one canonical layout, comments kept.

The formatter prints the AST back as text: two-space indents, one field per line, one blank
line between blocks, maps on one line when they fit. Comments are put back by line: a comment
on a line of its own stays before the code that followed it, a trailing comment stays at the end
of its line. The CLI writes a file only if the result parses back to the same AST with the same
comments, and writes it in place (`write_in_place`), so the file keeps its identity; a
byte-order mark and CRLF line endings are kept.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs

from nnci import ast
from nnci.diagnostics import Diagnostic
from nnci.load import display_path, read_module, read_project_file
from nnci.recover import SYNTAX_CODES

INDENT = "  "
WIDTH = 100
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}


@attrs.frozen
class _Comments:
    standalone: dict[int, str]
    trailing: dict[int, str]
    blank_after: frozenset[int]  # standalone comments followed by a blank line (which detaches a `##` doc)


Statement = ast.Import | ast.Block | ast.Expect | ast.Check | ast.Figure


def format_module(module: ast.Module, text: str | None) -> str:
    """The canonical text of a module. `text` is the source it was parsed from; None for a module
    built by a program (nnci/interop/printer.py), whose comments at column 1 stand on their own
    line and the others trail the line they are on."""
    comments = _classify(module.comments, text) if text is not None else _placed(module)
    printer = _Printer(comments)
    if module.version is not None:
        header = module.header_line or 1
        printer.comments_before(header)
        printer.line(f"nnci {module.version}", header)
        printer.blank()
    statements: list[Statement] = [*module.imports, *module.blocks, *module.expects, *module.checks, *module.figures]
    statements.sort(key=lambda s: (s.span.line, s.span.column))
    previous: str | None = None
    for statement in statements:
        kind = type(statement).__name__
        start = statement.span.line
        if isinstance(statement, ast.Block):
            start = min([start, *(a.span.line for a in statement.annotations)])
        if previous is not None and (kind == "Block" or kind != previous):
            printer.blank()
        printer.comments_before(start)
        if isinstance(statement, ast.Import):
            printer.line(f"import {_string(statement.path)} as {statement.alias}", statement.span.line)
        elif isinstance(statement, ast.Expect):
            last = (statement.tolerance or statement.value).span.end_line  # the statement's span runs on
            printer.line(_expect(statement), statement.span.line, last)  # over the newline and comments after it
        elif isinstance(statement, ast.Check):
            printer.line(_check(statement), statement.span.line, statement.condition.span.end_line)
        elif isinstance(statement, ast.Figure):
            printer.line(f"figure {statement.name} = {_expr(statement.value)}", statement.span.line,
                         statement.value.span.end_line)  # fmt: skip
        else:
            _block(printer, statement)
        previous = kind
    printer.comments_before(10**9)
    return printer.text()


def _placed(module: ast.Module) -> _Comments:
    """Comments of a module without source text: a comment at column 1 stands on its own line, any
    other trails its line; a line number no code or comment uses is a blank line."""
    standalone: dict[int, str] = {}
    trailing: dict[int, str] = {}
    for comment in module.comments:
        (trailing if comment.column > 1 else standalone)[comment.line] = comment.text
    used = set(standalone) | {module.header_line or 0}
    statements: list[Statement] = [*module.imports, *module.blocks, *module.expects, *module.checks, *module.figures]
    for statement in statements:
        used.update(range(statement.span.line, statement.span.end_line + 1))
        if isinstance(statement, ast.Block):
            used.update(a.span.line for a in statement.annotations)
    return _Comments(standalone, trailing, frozenset(n for n in standalone if n + 1 not in used))


def _classify(comments: tuple[ast.Comment, ...], text: str) -> _Comments:
    standalone: dict[int, str] = {}
    trailing: dict[int, str] = {}
    lines = text.split("\n")
    for comment in comments:
        before = lines[comment.line - 1][: comment.column - 1] if comment.line <= len(lines) else ""
        (trailing if before.strip() else standalone)[comment.line] = comment.text
    blank_after = frozenset(line for line in standalone if line < len(lines) and not lines[line].strip())
    return _Comments(standalone, trailing, blank_after)


class _Printer:
    """Collects (code, trailing comment) lines; trailing comments of consecutive lines are aligned."""

    def __init__(self, comments: _Comments) -> None:
        self.comments = comments
        self.out: list[tuple[str, str]] = []
        self.pending = sorted(comments.standalone.items(), reverse=True)  # the next one last: pop() is O(1)
        self.standalone_lines = sorted(comments.standalone)
        self.trailing_lines = sorted(comments.trailing)
        self.claimed: set[int] = set()  # source lines whose trailing comment is placed
        self.indent = 0

    def line(self, code: str, source_line: int, last_line: int | None = None, claim: bool = True) -> None:
        """A line of code, with the trailing comment of the source line(s) it came from, unless an earlier
        line took it (`grid g { pue = 1.1 }  # c` becomes three lines; the comment goes with one)."""
        lines = range(source_line, (last_line or source_line) + 1) if claim else range(0)
        trailing = [n for n in lines if n in self.comments.trailing and n not in self.claimed]
        self.claimed.update(trailing[:1] if len(trailing) == 1 else ())
        comment = self.comments.trailing[trailing[0]] if len(trailing) == 1 else ""
        self.out.append((INDENT * self.indent + code, comment))

    def blank(self) -> None:
        if self.out and self.out[-1] != ("", ""):
            self.out.append(("", ""))

    def comments_before(self, line: int) -> None:
        while self.pending and self.pending[-1][0] < line:
            number, comment = self.pending.pop()
            self.out.append((INDENT * self.indent + comment, ""))
            if number in self.comments.blank_after:
                self.blank()

    def text(self) -> str:
        while self.out and self.out[-1] == ("", ""):
            self.out.pop()
        if not self.out:
            return ""
        lines, run = [], []
        for code, comment in [*self.out, ("", "")]:
            if comment:
                run.append((code, comment))
                continue
            width = max((len(c) for c, _ in run), default=0) + 2
            lines += [c.ljust(width) + t for c, t in run]
            run = []
            lines.append(code)
        return "\n".join(lines[:-1]) + "\n"


def _block(printer: _Printer, block: ast.Block) -> None:
    for annotation in block.annotations:
        printer.comments_before(annotation.span.line)
        args = ", ".join(_expr(a) for a in annotation.args)
        last = annotation.args[-1].span.end_line if annotation.args else annotation.span.line
        printer.line(f"@{annotation.name}({args})", annotation.span.line, last)
    base = f" = {block.base.dotted}" if block.base else ""
    printer.comments_before(block.name_span.line)
    members: list[ast.Field | ast.Check] = sorted([*block.fields, *block.checks], key=lambda m: m.span.line)
    shares_its_line = bool(members) and members[0].span.line == block.name_span.line  # the comment goes with it
    printer.line(f"{block.kind} {block.name}{base} {{", block.name_span.line, claim=not shares_its_line)
    printer.indent += 1
    for member in members:
        printer.comments_before(member.span.line)
        if isinstance(member, ast.Field):
            _field(printer, member)
        else:
            condition = member.condition
            code = _check(member)
            printer.line(code, member.span.line, condition.right.span.end_line)
    printer.comments_before(block.span.end_line)
    printer.indent -= 1
    printer.line("}", block.span.end_line)


def _field(printer: _Printer, field: ast.Field) -> None:
    value = field.value
    inline = f"{field.name} = {_expr(value)}"
    multiline = isinstance(value, ast.MapExpr) and (
        len(INDENT * printer.indent + inline) > WIDTH
        or _any_between(printer.standalone_lines, value.span.line + 1, value.span.end_line)
        or _any_between(printer.trailing_lines, value.span.line, value.span.end_line)
    )
    if not multiline:
        printer.line(inline, field.span.line, field.span.end_line)
        return
    assert isinstance(value, ast.MapExpr)
    printer.line(f"{field.name} = {{", value.span.line)
    printer.indent += 1
    for entry in value.entries:
        printer.comments_before(entry.span.line)
        printer.line(f"{entry.key} = {_expr(entry.value)},", entry.span.line)
    printer.comments_before(value.span.end_line)
    printer.indent -= 1
    printer.line("}", value.span.end_line)


def _any_between(lines: list[int], low: int, high: int) -> bool:
    """Whether a sorted list of line numbers has one in [low, high): by bisection, since a file has
    as many maps as it has jobs and as many comments as lines."""
    at = bisect.bisect_left(lines, low)
    return at < len(lines) and lines[at] < high


def _expect(expect: ast.Expect) -> str:
    if expect.statistic:  # a bound on a statistic of samples: `expect p95(x.y) <= v`
        return f"expect {expect.statistic}({_expr(expect.target)}) {expect.op} {_expr(expect.value)}"
    if expect.statistic is not None:  # a bound the resolver refuses (no statistic): kept as written
        return f"expect {_expr(expect.target)} {expect.op} {_expr(expect.value)}"
    tolerance = f" within {_expr(expect.tolerance)}" if expect.tolerance is not None else ""
    return f"expect {_expr(expect.target)} = {_expr(expect.value)}{tolerance}"


def _check(check: ast.Check) -> str:
    condition = check.condition
    return f"check {_expr(condition.left)} {condition.op} {_expr(condition.right)}, {_string(check.message)}"


def _expr(expr: ast.Expr, parent: int = 0, right: bool = False) -> str:
    if isinstance(expr, ast.Number):
        return f"{expr.text} {expr.unit}" if expr.unit else expr.text
    if isinstance(expr, ast.Ref):
        return expr.dotted
    if isinstance(expr, ast.String):
        return _string(expr.value)
    if isinstance(expr, ast.DateTime):
        return expr.text
    if isinstance(expr, ast.MapExpr):
        return "{ " + ", ".join(f"{e.key} = {_expr(e.value)}" for e in expr.entries) + " }" if expr.entries else "{}"
    if isinstance(expr, ast.Call):
        return f"{expr.func}({', '.join(_expr(a) for a in expr.args)})"
    if isinstance(expr, ast.Neg):
        text = "-" + _expr(expr.operand, 3)
        return f"({text})" if parent > 3 else text
    precedence = PRECEDENCE[expr.op]
    if expr.op == "^":  # right-associative: parenthesise a power on the left
        text = f"{_expr(expr.left, 5)} ^ {_expr(expr.right, 3)}"
    else:
        text = f"{_expr(expr.left, precedence)} {expr.op} {_expr(expr.right, precedence, right=True)}"
    needs = precedence < parent or (right and precedence == parent)
    return f"({text})" if needs else text


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


BOM = "\ufeff"


@attrs.frozen
class Formatted:
    key: str
    original: str  # the file's text exactly as read: byte-order mark and line endings included
    formatted: str  # what the file would hold: the same mark and line endings as the original
    diagnostics: tuple[Diagnostic, ...]

    @property
    def source(self) -> str:
        """The text the diagnostics' spans point into (the parser drops the byte-order mark)."""
        return self.original.removeprefix(BOM)


@attrs.frozen
class Layout:
    """What the formatter keeps of a file besides its program: a byte-order mark, CRLF endings.

    The first line ending decides (as editors that detect line endings do): a file that starts
    with CRLF is written with CRLF throughout, any other with LF."""

    bom: bool
    crlf: bool

    @classmethod
    def of(cls, text: str) -> Layout:
        first = text.find("\n")
        return cls(text.startswith(BOM), first > 0 and text[first - 1] == "\r")

    def strip(self, text: str) -> str:
        """The text the formatter works on: no mark, LF endings."""
        text = text.removeprefix(BOM)
        return text.replace("\r\n", "\n") if self.crlf else text

    def apply(self, text: str) -> str:
        return (BOM if self.bom else "") + (text.replace("\n", "\r\n") if self.crlf else text)


def format_file(path: Path) -> Formatted:
    """Format one file; the result is only offered if it parses back to the same program."""
    key = display_path(path)
    text = read_project_file(path, None, project=None)
    if isinstance(text, Diagnostic):
        return Formatted(key, "", "", (text,))
    return format_text(text, key)


def format_text(text: str, key: str) -> Formatted:
    """Format a file's text (an editor's buffer); `key` names it in diagnostics."""
    layout = Layout.of(text)
    body = layout.strip(text)
    module, problems = read_module(body, key)
    if module is None or any(d.code in SYNTAX_CODES for d in problems):  # (the module lacks what did not parse)
        return Formatted(key, text, text, problems)
    formatted = format_module(module, body)
    again, _ = read_module(formatted, key)
    if again != module or [c.text for c in again.comments] != [c.text for c in module.comments]:
        note = "the formatted text would not parse back to the same program; the file was left alone"
        return Formatted(key, text, text, (Diagnostic("E103", "nnci fmt cannot format this file", None, notes=(note,),
                                                      help="please report it with the file"),))  # fmt: skip
    return Formatted(key, text, layout.apply(formatted), ())


def write_in_place(path: Path, text: str, original: str | None = None) -> Diagnostic | None:
    """Rewrite the file the user has, keeping its identity: through a symlink to its target, into
    the same inode (so hard links, owner, mode and extended attributes stay as they were).

    The new bytes are first written to a temporary copy beside the target and read back; only
    then are they written over the original, which is truncated to their length. If that write
    fails (a full disk), the `original` text is written back; if even that fails, the copy is
    kept and named. Signals that can be caught (SIGINT, SIGTERM, SIGHUP, SIGQUIT) wait until the
    write is done and the copy removed, then act as they would have. A file the user may not
    write is left alone and reported."""
    shown = display_path(path)
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        return _not_written(shown, error)
    if not os.access(target, os.W_OK) or not target.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return Diagnostic("E103", f"`{shown}` is read-only; it was left alone", None)
    data = text.encode("utf-8")
    try:
        with _signals_deferred():
            copy = _verified_copy(target, data)
            try:
                _overwrite(target, data)
            except OSError as error:
                return _restore(target, shown, original, copy, error)
            if copy is not None:
                copy.unlink(missing_ok=True)
    except OSError as error:
        return _not_written(shown, error)
    return None


def _restore(target: Path, shown: str, original: str | None, copy: Path | None, error: OSError) -> Diagnostic:
    """The write over the file failed part-way: put the original bytes back, or keep the copy."""
    try:
        if original is None:
            raise error
        _overwrite(target, original.encode("utf-8"))
    except OSError:
        kept = (f"the formatted text is in {display_path(copy)}",) if copy is not None else ()
        return Diagnostic("E103", f"`{shown}` could not be written and may be damaged", None,
                          notes=(str(error.strerror or error), *kept))  # fmt: skip
    if copy is not None:
        copy.unlink(missing_ok=True)
    return _not_written(shown, error)


def _not_written(shown: str, error: BaseException) -> Diagnostic:
    return Diagnostic("E103", f"`{shown}` could not be written; it was left alone", None,
                      notes=(str(getattr(error, "strerror", None) or error),))  # fmt: skip


def _verified_copy(target: Path, data: bytes) -> Path | None:
    """The new bytes in a temporary file beside the target, read back and compared: if the write
    over the original is cut short, the complete text survives there. None where the folder
    cannot be written (the file itself may still be: it is then written without a copy)."""
    try:
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".nnci-fmt.tmp")
    except OSError:
        return None
    copy = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if copy.read_bytes() != data:
            raise OSError(f"the temporary copy {copy.name} did not read back as written")
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy


def _overwrite(target: Path, data: bytes) -> None:
    """Write `data` over the file's own bytes (no new inode), then cut it to their length."""
    descriptor = os.open(target, os.O_WRONLY)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.truncate(len(data))
        handle.flush()
        os.fsync(handle.fileno())


DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold catchable signals while a file is rewritten, then deliver them again, so an interrupt
    never leaves half a file or a stray temporary copy. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda n, _frame: caught.append(n)) for number in DEFERRED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            os.kill(os.getpid(), number)
