"""`nnci fmt`: one canonical layout, comments kept.

The formatter prints the AST back as text: two-space indents, one field per line, one blank
line between blocks, maps on one line when they fit. Comments are put back by line: a comment
on a line of its own stays before the code that followed it, a trailing comment stays at the end
of its line. The CLI writes a file only if the result parses back to the same AST with the same
comments, and writes it atomically.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import attrs

from nnci import ast
from nnci.diagnostics import Diagnostic
from nnci.load import display_path, read_module

INDENT = "  "
WIDTH = 100
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}


@attrs.frozen
class _Comments:
    standalone: dict[int, str]
    trailing: dict[int, str]
    blank_after: frozenset[int]  # standalone comments followed by a blank line (which detaches a `##` doc)


def format_module(module: ast.Module, text: str) -> str:
    comments = _classify(module.comments, text)
    printer = _Printer(comments)
    if module.version is not None:
        header = module.header_line or 1
        printer.comments_before(header)
        printer.line(f"nnci {module.version}", header)
        printer.blank()
    statements: list[ast.Import | ast.Block | ast.Expect] = [*module.imports, *module.blocks, *module.expects]
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
            printer.line(_expect(statement), statement.span.line)
        else:
            _block(printer, statement)
        previous = kind
    printer.comments_before(10**9)
    return printer.text()


def _classify(comments: tuple[ast.Comment, ...], text: str) -> _Comments:
    lines = text.split("\n")
    standalone: dict[int, str] = {}
    trailing: dict[int, str] = {}
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
        self.pending = sorted(comments.standalone.items())
        self.indent = 0

    def line(self, code: str, source_line: int, last_line: int | None = None) -> None:
        """A line of code, with the trailing comment of the source line(s) it came from."""
        lines = range(source_line, (last_line or source_line) + 1)
        trailing = [self.comments.trailing[n] for n in lines if n in self.comments.trailing]
        self.out.append((INDENT * self.indent + code, trailing[0] if len(trailing) == 1 else ""))

    def blank(self) -> None:
        if self.out and self.out[-1] != ("", ""):
            self.out.append(("", ""))

    def comments_before(self, line: int) -> None:
        while self.pending and self.pending[0][0] < line:
            number, comment = self.pending.pop(0)
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
        printer.line(f"@{annotation.name}({args})", annotation.span.line)
    base = f" = {block.base.dotted}" if block.base else ""
    printer.comments_before(block.name_span.line)
    printer.line(f"{block.kind} {block.name}{base} {{", block.name_span.line)
    printer.indent += 1
    members: list[ast.Field | ast.Check] = sorted([*block.fields, *block.checks], key=lambda m: m.span.line)
    for member in members:
        printer.comments_before(member.span.line)
        if isinstance(member, ast.Field):
            _field(printer, member)
        else:
            condition = member.condition
            code = f"check {_expr(condition.left)} {condition.op} {_expr(condition.right)}, {_string(member.message)}"
            printer.line(code, member.span.line)
    printer.comments_before(block.span.end_line)
    printer.indent -= 1
    printer.line("}", block.span.end_line)


def _field(printer: _Printer, field: ast.Field) -> None:
    value = field.value
    inline = f"{field.name} = {_expr(value)}"
    multiline = isinstance(value, ast.MapExpr) and (
        len(INDENT * printer.indent + inline) > WIDTH
        or any(value.span.line < line < value.span.end_line for line in printer.comments.standalone)
        or any(value.span.line <= line < value.span.end_line for line in printer.comments.trailing)
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


def _expect(expect: ast.Expect) -> str:
    tolerance = f" within {_expr(expect.tolerance)}" if expect.tolerance is not None else ""
    return f"expect {expect.target.dotted} = {_expr(expect.value)}{tolerance}"


def _expr(expr: ast.Expr, parent: int = 0, right: bool = False) -> str:
    if isinstance(expr, ast.Number):
        return f"{expr.text} {expr.unit}" if expr.unit else expr.text
    if isinstance(expr, ast.Ref):
        return expr.dotted
    if isinstance(expr, ast.String):
        return _string(expr.value)
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


@attrs.frozen
class Formatted:
    key: str
    original: str
    formatted: str
    diagnostics: tuple[Diagnostic, ...]


def format_file(path: Path) -> Formatted:
    """Format one file; the result is only offered if it parses back to the same program."""
    key = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return Formatted(key, "", "", (Diagnostic("E103", f"`{path}` cannot be read", None, notes=(str(error),)),))
    module, problems = read_module(text, key)
    if module is None:
        return Formatted(key, text, text, problems)
    formatted = format_module(module, text)
    again, _ = read_module(formatted, key)
    if again != module or [c.text for c in again.comments] != [c.text for c in module.comments]:
        note = "the formatted text would not parse back to the same program; the file was left alone"
        return Formatted(key, text, text, (Diagnostic("E103", "nnci fmt cannot format this file", None, notes=(note,),
                                                      help="please report it with the file"),))  # fmt: skip
    return Formatted(key, text, formatted, ())


def write_atomically(path: Path, text: str) -> Diagnostic | None:
    """Write beside the file, then rename over it: a reader never sees half a file. A file the user
    may not write (read-only, or in a folder they may not write) is left alone and reported."""
    if not os.access(path, os.W_OK) or not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return Diagnostic("E103", f"`{display_path(path)}` is read-only; it was left alone", None)
    temporary = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as handle:
            temporary = handle.name
            handle.write(text)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        return Diagnostic("E103", f"`{display_path(path)}` could not be written; it was left alone", None,
                          notes=(str(getattr(error, "strerror", error)),))  # fmt: skip
    return None
