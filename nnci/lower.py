"""lark tree → AST. Pure translation: every node gets the span of the text it came from."""

from __future__ import annotations

import re

import lark

from nnci import ast
from nnci.diagnostics import Diagnostic, Span

SUPPORTED_VERSIONS = ("0.1",)
BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}


def lower(tree: lark.Tree, file: str, comments: tuple[ast.Comment, ...] = ()) -> tuple[ast.Module, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    version = header_line = None
    imports, blocks, expects = [], [], []
    docs = _doc_comments(comments)
    for child in tree.children:
        assert isinstance(child, lark.Tree)
        kind = child.data
        if kind == "header":
            version, header_line = str(child.children[0]), _span(child, file).line
            if version not in SUPPORTED_VERSIONS:
                diagnostics.append(
                    Diagnostic("E102", f"nnci {version} is not a version this nnci reads", _span(child, file),
                               help="this nnci reads " + ", ".join(f"`nnci {v}`" for v in SUPPORTED_VERSIONS))
                )  # fmt: skip
        elif kind == "import_stmt":
            path, alias = child.children
            imports.append(ast.Import(_string(path), str(alias), _span(child, file)))
        try:
            if kind == "block":
                blocks.append(_block(child, file, docs))
            elif kind == "expect_stmt":
                expects.append(_expect(child, file))
        except TooDeep as error:
            diagnostics.append(Diagnostic("E305", f"expression too long or too deeply nested (over {MAX_DEPTH} operations in a chain)", error.span,
                                          help="split it into several fields"))  # fmt: skip
    module = ast.Module(file, version, tuple(imports), tuple(blocks), tuple(expects), comments, header_line)
    return module, diagnostics


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
        if isinstance(child, lark.Token):
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
    return ast.Expect(_ref(target, file), _expr(value, file), tolerance, _span(tree, file))


def _comparison(tree: lark.Tree, file: str) -> ast.Comparison:
    left, op, right = tree.children
    return ast.Comparison(str(op), _expr(left, file), _expr(right, file), _span(tree, file))


MAX_DEPTH = 200  # deeper expressions are refused rather than risking Python's recursion limit


class TooDeep(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


def _expr(node: lark.Tree | lark.Token, file: str, depth: int = 0) -> ast.Expr:
    assert isinstance(node, lark.Tree), node
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
    if kind == "map":
        entries = []
        for entry in node.children:
            if isinstance(entry, lark.Token):  # the closing brace
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


def _span(tree: lark.Tree, file: str) -> Span:
    meta = tree.meta
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(token: object, file: str) -> Span:
    assert isinstance(token, lark.Token)
    line, column = token.line or 1, token.column or 1
    return Span(file, line, column, token.end_line or line, token.end_column or column + len(token))
