"""Syntax → AST. Pure translation: every node gets the span of the text it came from.

Two ways in, one result: `lower()` walks a lark tree (the diagnostic path of nnci.parse), and
`Reductions` builds the same nodes directly from the reductions of the fast LALR driver in
nnci.parse, with the same spans: a node spans from the start of its first child to the end of
its last, tokens the grammar drops included (a parenthesised expression keeps its own span,
but its parent's starts at the `(`). Neither imports lark at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from sys import intern
from typing import TYPE_CHECKING, Any, TypeGuard

from nnci import ast
from nnci.diagnostics import Diagnostic, Span
from nnci.slots import setters

if TYPE_CHECKING:
    import lark

SUPPORTED_VERSIONS = ("0.1",)
BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}


def lower(tree: lark.Tree, file: str, comments: tuple[ast.Comment, ...] = ()) -> tuple[ast.Module, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    version = header_line = None
    imports, blocks, expects, checks, figures = [], [], [], [], []
    dropped: list[str] = []
    docs = _doc_comments(comments)
    for child in tree.children:
        assert _is_tree(child)
        kind = child.data
        if kind == "header":
            version, header_line = str(child.children[0]), _span(child, file).line
            problem = version_diagnostic(version, _span(child, file))
            if problem is not None:
                diagnostics.append(problem)
        elif kind == "import_stmt":
            path, alias = child.children
            imports.append(ast.Import(_string(path), str(alias), _span(child, file)))
        try:
            if kind == "block":
                blocks.append(_block(child, file, docs))
            elif kind == "expect_stmt":
                expects.append(_expect(child, file))
            elif kind == "expect_bound":
                expects.append(_expect_bound(child, file))
            elif kind == "check_line":
                checks.append(_check(child.children[0], file))
            elif kind == "figure_stmt":
                name, value = child.children
                figures.append(ast.Figure(str(name), _expr(value, file), _span(child, file)))
        except TooDeep as error:
            diagnostics.append(too_deep(error.span))
            if kind in ("block", "figure_stmt"):  # references to it are not unknown names: it was reported
                dropped.append(next(str(c) for c in child.children if _is_token(c) and c.type == "NAME"))
    module = ast.Module(file, version, tuple(imports), tuple(blocks), tuple(expects), comments, header_line,
                        tuple(checks), tuple(figures), dropped=tuple(dict.fromkeys(dropped)))  # fmt: skip
    return module, diagnostics


def version_diagnostic(version: str, span: Span) -> Diagnostic | None:
    if version in SUPPORTED_VERSIONS:
        return None
    return Diagnostic("E102", f"nnci {version} is not a version this nnci reads", span,
                      help="this nnci reads " + ", ".join(f"`nnci {v}`" for v in SUPPORTED_VERSIONS))  # fmt: skip


def too_deep(span: Span) -> Diagnostic:
    return Diagnostic("E305", f"expression too long or too deeply nested (over {MAX_DEPTH} operations in a chain)", span,
                      help="split it into several fields")  # fmt: skip


def _doc_comments(comments: tuple[ast.Comment, ...]) -> dict[int, str]:
    """`##` comments by line, so a block can collect the ones directly above it."""
    return {c.line: c.text[2:].strip() for c in comments if c.text.startswith("##")}


def _block(tree: lark.Tree, file: str, docs: dict[int, str]) -> ast.Block:
    annotations, fields, checks = [], [], []
    kind = name = None
    base = None
    name_span = None
    close = None
    for child in tree.children:
        if _is_token(child):
            if child.type == "KIND":
                kind = str(child)
            elif child.type == "NAME":
                name, name_span = str(child), _token_span(child, file)
            elif child.type == "CLOSE":
                close = _token_span(child, file)
        elif child.data == "annotation":
            annotations.append(ast.Annotation(str(child.children[0]), tuple(_expr(a, file) for a in child.children[1:]),
                                              _span(child, file)))  # fmt: skip
        elif child.data == "base":
            base = _ref(child.children[0], file)
        elif child.data == "field":
            field_name, value = child.children
            fields.append(ast.Field(str(field_name), _expr(value, file), _span(child, file)))
        elif child.data == "check_stmt":
            comparison, message = child.children
            checks.append(ast.Check(_comparison(comparison, file), _string(message), _span(child, file)))
    assert kind is not None and name is not None and name_span is not None and close is not None
    span = _span(tree, file).to(close)
    doc_lines: list[str] = []
    line = span.line - 1
    while line in docs:
        doc_lines.insert(0, docs[line])
        line -= 1
    doc = "\n".join(doc_lines) or None
    return ast.Block(kind, name, base, tuple(fields), tuple(checks), tuple(annotations), doc, span, name_span)


def _expect(tree: lark.Tree, file: str) -> ast.Expect:
    target, value, *rest = tree.children
    tolerance = _expr(rest[0].children[0], file) if rest else None
    return ast.Expect(_expr(target, file), _expr(value, file), tolerance, _span(tree, file))


def _check(tree: lark.Tree, file: str) -> ast.Check:
    comparison, message = tree.children
    return ast.Check(_comparison(comparison, file), _string(message), _span(tree, file))


def _expect_bound(tree: lark.Tree, file: str) -> ast.Expect:
    left, op, value = tree.children
    return bound(_expr(left, file), str(op), _expr(value, file), _span(tree, file))


def bound(left: ast.Expr, op: str, value: ast.Expr, span: Span) -> ast.Expect:
    """`expect p95(x.y) <= v`: a bound on a statistic of one figure's samples. Any other left side keeps
    an empty statistic, which the resolver reports (it says what a bound is written as)."""
    if isinstance(left, ast.Call) and len(left.args) == 1 and isinstance(left.args[0], ast.Ref):
        return ast.Expect(left.args[0], value, None, span, left.func, op)
    return ast.Expect(left, value, None, span, "", op)


def _comparison(tree: lark.Tree, file: str) -> ast.Comparison:
    left, op, right = tree.children
    return ast.Comparison(str(op), _expr(left, file), _expr(right, file), _span(tree, file))


MAX_DEPTH = 200  # deeper expressions are refused rather than risking Python's recursion limit


class TooDeep(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


def _expr(node: lark.Tree | lark.Token, file: str, depth: int = 0) -> ast.Expr:
    assert _is_tree(node), node
    kind = node.data
    span = _span(node, file)
    if depth > MAX_DEPTH:
        raise TooDeep(span)
    depth += 1
    if kind == "quantity":
        number = node.children[0]
        unit = str(node.children[1]) if len(node.children) > 1 else None
        return ast.Number(float(str(number).replace("_", "")), str(number), unit, span)
    if kind == "dotted":
        return _ref(node, file)
    if kind == "string":
        return ast.String(_string(node.children[0]), span)
    if kind == "datetime":
        return ast.DateTime(str(node.children[0]), span)
    if kind == "map":
        entries = []
        for entry in node.children:
            if _is_token(entry):  # the closing brace
                continue
            key, value = entry.children
            ref = _ref(key, file)
            entries.append(ast.MapEntry(ref.dotted, _expr(value, file, depth), ref.span))
        return ast.MapExpr(tuple(entries), span)
    if kind == "call":
        func, *args = node.children
        return ast.Call(str(func), tuple(_expr(a, file, depth) for a in args), span)
    if kind == "neg":
        return ast.Neg(_expr(node.children[0], file, depth), span)
    if kind in BINARY:
        left, right = node.children
        return ast.BinOp(BINARY[kind], _expr(left, file, depth), _expr(right, file, depth), span)
    raise AssertionError(f"unknown expression node {kind}")


def _ref(node: lark.Tree, file: str) -> ast.Ref:
    return ast.Ref(tuple(str(t) for t in node.children), _span(node, file))


_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(.))")
_SIMPLE = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _string(token: object) -> str:
    """The text of a string literal; the grammar admits only the escapes decoded here."""
    raw = str(token)[1:-1]
    return _ESCAPE.sub(lambda m: _code_point(int(m[1] or m[2], 16)) if m[1] or m[2] else _SIMPLE[m[3]], raw)


def _code_point(value: int) -> str:
    return "\ufffd" if 0xD800 <= value <= 0xDFFF else chr(value)  # a lone surrogate cannot be printed


def _is_token(node: object) -> TypeGuard[lark.Token]:
    return isinstance(node, str)  # a lark.Token is a str (lark is not imported here)


def _is_tree(node: object) -> TypeGuard[lark.Tree]:
    return not isinstance(node, str)


def _span(tree: lark.Tree, file: str) -> Span:
    meta = tree.meta
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(token: lark.Token, file: str) -> Span:
    line, column = token.line or 1, token.column or 1
    return Span(file, line, column, token.end_line or line, token.end_column or column + len(token))


# -- the fast parser's reductions ---------------------------------------------------------------

# A position on the fast parser's stack is one int, line * LINE + column (both 1-based); the
# reductions below take it apart with `>> 32` and `& COLUMN`.
LINE = 1 << 32
COLUMN = LINE - 1
Entry = tuple[Any, int, int]  # (value, start, end): what the fast parser keeps for each symbol
Reduction = tuple[int, str, Callable[[list[Entry]], Entry] | None]  # (length, rule name, callback)


class Unsupported(Exception):
    """The generated table has a rule these reductions do not know (the grammar changed)."""


class Reductions:
    """The AST of one file, built as the fast parser reduces: `table()` gives one callback per rule.

    Statements are collected as they are reduced, in the order of the text, so the module, its
    diagnostics (E102, E305) and their order are those `lower()` produces from a lark tree.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.version: str | None = None
        self.header_line: int | None = None
        self.imports: list[ast.Import] = []
        self.blocks: list[ast.Block] = []
        self.expects: list[ast.Expect] = []
        self.checks: list[ast.Check] = []
        self.figures: list[ast.Figure] = []
        self.diagnostics: list[Diagnostic] = []
        self.dropped: list[str] = []  # names of blocks and figures refused as too deep (reported)
        self.docs: dict[int, str] = {}  # `##` comments by line, filled in as the lexer meets them
        self.compound = 0  # compound expressions built so far: fewer than MAX_DEPTH cannot be too deep
        self.compound_seen = 0
        # filled in by table(): one float per spelling of a number, one int per line number, and the
        # check lines reduced so far and up to the last block (nnci.replay shares them when it clones)
        self.values_written: dict[str, float] = {}
        self.lines: dict[int, int] = {}
        self.checks_made = [0, 0]

    def module(self, comments: tuple[ast.Comment, ...]) -> ast.Module:
        return ast.Module(self.file, self.version, tuple(self.imports), tuple(self.blocks), tuple(self.expects),
                          comments, self.header_line, tuple(self.checks), tuple(self.figures),
                          dropped=tuple(dict.fromkeys(self.dropped)))  # fmt: skip

    def doc_above(self, line: int) -> str | None:
        """The `##` comment lines directly above a block starting on `line`, joined."""
        docs = self.docs
        if not docs or line - 1 not in docs:
            return None
        doc_lines: list[str] = []
        line -= 1
        while line in docs:
            doc_lines.insert(0, docs[line])
            line -= 1
        return "\n".join(doc_lines) or None

    def _deep(self) -> bool:
        """Whether the statement just reduced may hold an expression nested more than MAX_DEPTH deep
        (an `expect` line; blocks do the same inline)."""
        deep = self.compound - self.compound_seen > MAX_DEPTH
        self.compound_seen = self.compound
        return deep

    def table(self, rules: tuple[tuple[str, int, str, bool, tuple[str, ...]], ...]) -> list[Reduction]:
        file = self.file
        blocks, expects, imports = self.blocks, self.expects, self.imports
        new, Span_, Number, Ref, Field, Block = object.__new__, Span, ast.Number, ast.Ref, ast.Field, ast.Block
        span_file, span_line, span_column, span_end_line, span_end_column = setters(Span)
        number_value, number_text, number_unit, number_span = setters(Number)
        ref_parts, ref_span = setters(Ref)
        field_name, field_value, field_span = setters(Field)

        # one float per spelling of a number, one int per line number shared by every span on it:
        # a large file repeats them a million times
        values_written, lines = self.values_written, self.lines
        same_line = lines.setdefault

        def span(start: int, end: int) -> Span:
            made = new(Span_)
            span_file(made, file)
            line = start >> 32
            span_line(made, same_line(line, line))
            span_column(made, start & COLUMN)
            line = end >> 32
            span_end_line(made, same_line(line, line))
            span_end_column(made, end & COLUMN)
            return made

        def nothing(kids: list[Entry]) -> Entry:
            return (None, kids[0][1], kids[-1][2]) if kids else (None, 0, 0)

        def header(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            self.version, self.header_line = kids[1][0], start >> 32
            problem = version_diagnostic(kids[1][0], span(start, end))
            if problem is not None:
                self.diagnostics.append(problem)
            return (None, start, end)

        def import_stmt(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            imports.append(ast.Import(_string(kids[1][0]), kids[3][0], span(start, end)))
            return (None, start, end)

        (block_kind, block_name, block_base, block_fields, block_checks, block_annotations, block_doc, block_span,
         block_name_span) = setters(Block)  # fmt: skip
        checks_made = self.checks_made

        def block(layout: tuple[int, ...], kids: list[Entry]) -> Entry:
            annotations_at, kind_at, name_at, base_at, members_at, last_at, close_at = layout
            members = kids[members_at][0] if members_at >= 0 else []
            if last_at >= 0:
                members.append(kids[last_at][0])
            annotations = kids[annotations_at][0] if annotations_at >= 0 else ()
            start, end = kids[0][1], kids[-1][2]
            if self.compound - self.compound_seen > MAX_DEPTH:
                self.compound_seen = self.compound
                problem = _too_deep_in_block(annotations, members)
                if problem is not None:
                    self.diagnostics.append(too_deep(problem))
                    self.dropped.append(kids[name_at][0])
                    return (None, start, end)
            self.compound_seen = self.compound
            doc = self.doc_above(start >> 32)
            if checks_made[0] == checks_made[1]:
                fields, checks = tuple(members), ()
            else:
                checks_made[1] = checks_made[0]
                fields = tuple(m for m in members if type(m) is Field)
                checks = tuple(m for m in members if type(m) is not Field)
            name = kids[name_at]
            made = new(Block)
            block_kind(made, kids[kind_at][0])
            block_name(made, name[0])
            block_base(made, kids[base_at][0] if base_at >= 0 else None)
            block_fields(made, fields)
            block_checks(made, checks)
            block_annotations(made, tuple(annotations))
            block_doc(made, doc)
            block_span(made, span(start, kids[close_at][2]))
            block_name_span(made, span(name[1], name[2]))
            blocks.append(made)
            return (None, start, end)

        def annotation(has_args: bool, kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            args = tuple(kids[3][0]) if has_args else ()
            return (ast.Annotation(kids[1][0], args, span(start, end)), start, end)

        def field(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[2][2]
            made = new(Field)
            field_name(made, intern(kids[0][0]))  # field names, units and numbers repeat: one string each
            field_value(made, kids[2][0])
            field_span(made, span(start, end))
            return (made, start, end)

        def check_stmt(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[3][2]
            checks_made[0] += 1
            return (ast.Check(kids[1][0], _string(kids[3][0]), span(start, end)), start, end)

        def expect_stmt(has_tolerance: bool, kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            tolerance = kids[4][0] if has_tolerance else None
            if self._deep():
                try:
                    if tolerance is not None:
                        _check_depth(tolerance, 0)
                    _check_depth(kids[3][0], 0)
                    _check_depth(kids[1][0], 0)
                except TooDeep as error:
                    self.diagnostics.append(too_deep(error.span))
                    return (None, start, end)
            expects.append(ast.Expect(kids[1][0], kids[3][0], tolerance, span(start, end)))
            return (None, start, end)

        def expect_bound(kids: list[Entry]) -> Entry:  # "expect" expr COMPARE expr _NL
            start, end = kids[0][1], kids[-1][2]
            if self._deep():
                try:
                    _check_depth(kids[3][0], 0)
                except TooDeep as error:
                    self.diagnostics.append(too_deep(error.span))
                    return (None, start, end)
            expect = bound(kids[1][0], str(kids[2][0]), kids[3][0], span(start, end))
            expects.append(expect)
            return (None, start, end)

        def check_line(kids: list[Entry]) -> Entry:  # a `check` outside any block
            checks_made[1] = checks_made[0]  # it belongs to no block
            self.checks.append(kids[0][0])
            return (None, kids[0][1], kids[-1][2])

        def figure_stmt(kids: list[Entry]) -> Entry:  # "figure" NAME "=" expr _NL
            start, end = kids[0][1], kids[-1][2]
            if self._deep():
                try:
                    _check_depth(kids[3][0], 0)
                except TooDeep as error:
                    self.diagnostics.append(too_deep(error.span))
                    self.dropped.append(kids[1][0])
                    return (None, start, end)
            self.figures.append(ast.Figure(kids[1][0], kids[3][0], span(start, end)))
            return (None, start, end)

        def second(kids: list[Entry]) -> Entry:  # tolerance: "within" expr; base: "=" dotted
            return (kids[1][0], kids[0][1], kids[-1][2])

        def parenthesised(kids: list[Entry]) -> Entry:
            return (kids[1][0], kids[0][1], kids[2][2])

        def comparison(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[2][2]
            return (ast.Comparison(kids[1][0], kids[0][0], kids[2][0], span(start, end)), start, end)

        def binary(op: str, kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[2][2]
            self.compound += 1
            return (ast.BinOp(op, kids[0][0], kids[2][0], span(start, end)), start, end)

        def neg(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[1][2]
            self.compound += 1
            return (ast.Neg(kids[1][0], span(start, end)), start, end)

        def string(kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[0][2]
            return (ast.String(_string(kids[0][0]), span(start, end)), start, end)

        def datetime(kids: list[Entry]) -> Entry:
            text, start, end = kids[0]
            return (ast.DateTime(text, span(start, end)), start, end)

        def quantity(kids: list[Entry]) -> Entry:
            text, start, end = kids[0]
            unit = None
            if len(kids) == 2:
                unit, _, end = kids[1]
            made = new(Number)
            value = values_written.get(text)
            if value is None:
                value = values_written[text] = float(text.replace("_", "")) if "_" in text else float(text)
            number_value(made, value)
            number_text(made, intern(text))
            number_unit(made, unit if unit is None else intern(unit))
            number_span(made, span(start, end))
            return (made, start, end)

        def dotted(kids: list[Entry]) -> Entry:
            name, start, end = kids[0]
            made = new(Ref)
            if len(kids) == 1:
                ref_parts(made, (name,))
            else:
                end = kids[1][2]
                ref_parts(made, (name, *kids[1][0]))
            ref_span(made, span(start, end))
            return (made, start, end)

        def call(has_args: bool, kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            self.compound += 1
            return (ast.Call(kids[0][0], tuple(kids[2][0]) if has_args else (), span(start, end)), start, end)

        def map_(entries_at: int, kids: list[Entry]) -> Entry:
            start, end = kids[0][1], kids[-1][2]
            self.compound += 1
            entries = tuple(kids[entries_at][0]) if entries_at >= 0 else ()
            return (ast.MapExpr(entries, span(start, end)), start, end)

        def entry(kids: list[Entry]) -> Entry:
            key, value = kids[0][0], kids[2][0]
            return (ast.MapEntry(key.dotted, value, key.span), kids[0][1], kids[2][2])

        def first_of_list(at: int, kids: list[Entry]) -> Entry:  # a list starts: [item]
            return ([kids[at][0]], kids[0][1], kids[-1][2])

        def grow(at: int, kids: list[Entry]) -> Entry:  # a list grows: list + [item]
            items = kids[0][0]
            items.append(kids[at][0])
            return (items, kids[0][1], kids[-1][2])

        def joined(kids: list[Entry]) -> Entry:  # _args, _entries: first item, then the rest
            items = [kids[0][0]]
            if len(kids) > 1 and kids[1][0] is not None:
                items.extend(kids[1][0])
            return (items, kids[0][1], kids[-1][2])

        def pick(
            origin: str, alias: str, expand1: bool, symbols: tuple[str, ...]
        ) -> Callable[[list[Entry]], Entry] | None:
            from functools import partial

            name = alias or origin
            if name in BINARY:
                return partial(binary, BINARY[name])
            if expand1 and not alias and len(symbols) == 1:
                return None  # `?rule: child`: the child passes through
            simple = {"header": header, "import_stmt": import_stmt, "field": field, "check_stmt": check_stmt,
                      "comparison": comparison, "neg": neg, "string": string, "quantity": quantity, "datetime": datetime,
                      "dotted": dotted, "entry": entry, "tolerance": second, "base": second,
                      "check_line": check_line, "figure_stmt": figure_stmt}  # fmt: skip
            if name in simple:
                return simple[name]
            if name in ("_statement", "_member") and len(symbols) == 1:
                return None
            if name in ("start", "_sep", "__start_star_0"):
                return None if len(symbols) == 1 and name == "__start_star_0" else nothing
            if name == "atom" and symbols == ("LPAR", "expr", "RPAR"):
                return parenthesised
            if name == "block":
                where = {s: i for i, s in enumerate(symbols)}
                layout = tuple(where.get(s, -1) for s in
                               ("__block_star_1", "KIND", "NAME", "base", "__block_star_2", "_member", "CLOSE"))  # fmt: skip
                return partial(block, layout)
            if name == "annotation":
                return partial(annotation, "_args" in symbols)
            if name == "expect_stmt":
                return partial(expect_stmt, "tolerance" in symbols)
            if name == "expect_bound":
                return expect_bound
            if name == "call":
                return partial(call, "_args" in symbols)
            if name == "map":
                return partial(map_, symbols.index("_entries") if "_entries" in symbols else -1)
            if name in ("_args", "_entries"):
                return joined
            if name.startswith("__") and "_star_" in name:
                # left-recursive list helpers lark makes for `x*`: `item...` or `list item...`
                if symbols[0] == name:
                    item = len(symbols) - 1 if symbols[-1] != "_NL" else len(symbols) - 2
                    return partial(grow, item)
                item = len(symbols) - 1 if symbols[-1] != "_NL" else 0
                return partial(first_of_list, item)
            raise Unsupported(f"no reduction for {name}: {' '.join(symbols)}")

        return [(length, origin, pick(origin, alias, expand1, symbols))
                for origin, length, alias, expand1, symbols in rules]  # fmt: skip


def _check_depth(node: ast.Expr, depth: int) -> None:
    """Raise TooDeep where `_expr` would: the first node, in its order, deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise TooDeep(node.span)
    depth += 1
    if isinstance(node, ast.BinOp):
        _check_depth(node.left, depth)
        _check_depth(node.right, depth)
    elif isinstance(node, ast.Neg):
        _check_depth(node.operand, depth)
    elif isinstance(node, ast.Call):
        for arg in node.args:
            _check_depth(arg, depth)
    elif isinstance(node, ast.MapExpr):
        for entry in node.entries:
            _check_depth(entry.value, depth)


def _too_deep_in_block(annotations: Any, members: list[Any]) -> Span | None:
    """The span `_block` reports as too deep, in its order: annotations, then fields and checks."""
    try:
        for annotation in annotations:
            for arg in annotation.args:
                _check_depth(arg, 0)
        for member in members:
            if isinstance(member, ast.Field):
                _check_depth(member.value, 0)
            else:
                _check_depth(member.condition.left, 0)
                _check_depth(member.condition.right, 0)
    except TooDeep as error:
        return error.span
    return None
