"""Top-level blocks written alike, parsed once: the fast parser replays a block's reductions.

A generated scenario repeats a handful of block shapes thousands of times (`grid g17 {` /
`intensity = 433 gCO2e/kWh` / `}`): the same tokens but for names, numbers and the line end after
the block. The first block of a shape is parsed as usual and recorded: a regular expression that
matches exactly the blocks the lexer splits into the same tokens (every other token's text equal,
no name a keyword, no number a date), and the reductions the LALR driver made over them. A later
block it matches is neither lexed nor driven: the recorded reductions run on its own tokens, with
the reductions' own callbacks, so its AST, spans, docs and comments are those the driver builds.
Every block after that is cloned from the AST the reductions built (`Clone`): the same nodes with
its own names, numbers and spans, at a fraction of the cost.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from sys import intern
from typing import TYPE_CHECKING, Any

from nnci.ast import Comment
from nnci.lower import LINE, MAX_DEPTH
from nnci.parse import comments_and_docs

if TYPE_CHECKING:
    from nnci.lower import Reductions
    from nnci.parse import _FastParser

_NEXT = re.compile(r"[\t \f]*(.?)", re.S)  # the next character past the spaces the lexer ignores
MAX_PER_KIND = 8  # shapes remembered per block kind: a file of blocks all unlike stops recording soon
# a block longer than this (tokens, characters) is parsed, not recorded: its pattern would take
# long to compile (a field of 20,000 additions, 3,000,000 blank lines inside a block)
MAX_TOKENS, MAX_CHARS = 400, 4096
Entry = tuple[Any, int, int]
Spec = tuple[int, Any, int, int, Any]  # a template's token: see Template.tokens


LITERAL, HOLE, LINE_END, LAST_LINE_END = range(4)  # what a token of a template is


class Template:
    """A recorded block: what its text must look like, its tokens, and the driver's reductions."""

    __slots__ = ("clone", "cloned", "pattern", "reductions", "tokens")

    def __init__(
        self,
        pattern: re.Pattern[str],
        tokens: list[Spec],
        reductions: list[tuple[Callable[[list[Entry]], Entry], list[int]]],
    ) -> None:
        self.pattern = pattern
        # per token shifted: what it is, its text (a hole: which group holds it), where it starts and
        # ends in the block, and for a line end, the lines it ends and a constant of its column
        self.tokens = tokens
        # each reduction the driver made, with the slots of its children: the tokens, then the
        # values of the reductions before it, in order
        self.reductions = reductions
        self.clone: Clone | None = None  # made from the first block replayed
        self.cloned = False

    def replay(
        self, match: re.Match[str], line: int, comments: list[Comment], reduced: Reductions
    ) -> tuple[Entry, int, int]:
        """The block's reduced value, and the line and base after it (as the driver keeps them):
        built by the clone of an earlier block where there is one, else by the reductions."""
        if self.clone is not None:
            done = self.clone.run(match, line, comments)
            if done is not None:
                return done
        blocks, compound = len(reduced.blocks), reduced.compound
        done = self.reduce(match, line, comments, reduced.docs)
        if not self.cloned and len(reduced.blocks) == blocks + 1:
            self.cloned = True
            self.clone = clone(reduced.blocks[-1], match, line, reduced, reduced.compound - compound)
        return done

    def reduce(
        self, match: re.Match[str], line: int, comments: list[Comment], docs: dict[int, str]
    ) -> tuple[Entry, int, int]:
        """The block's reduced value, and the line and base after it (as the driver keeps them).
        A position is `offset + base`, `base` changing at each line end; here `at` is `base` plus
        how far the holes so far have moved the text from the template's."""
        holes = match.groups()
        start = match.start()
        at = line * LINE + 1  # the block starts a line: column 1
        moved = 0
        slots: list[Any] = []
        append = slots.append
        for what, text, begin, end, lines in self.tokens:
            if what == LITERAL:
                append((text, at + begin, at + end))
            elif what == HOLE:
                text = holes[text]
                stop = at + begin + len(text)
                append((text, at + begin, stop))
                change = len(text) - (end - begin)
                at += change
                moved += change
            elif what == LINE_END:  # `lines`: the lines it ends, and its column's constant
                first = at + begin
                line += lines[0]
                at = line * LINE + lines[1]
                append((text, first, at + end))
            else:  # the line end after the block: its own text, maybe comments and docs
                text = holes[lines]
                first = at + begin
                if "#" in text:
                    comments_and_docs(text, line, first - line * LINE, comments, docs)
                stop = begin + len(text)  # in the block, once the holes have moved it
                line += text.count("\n")
                at = line * LINE + (len(text) - text.rindex("\n")) - stop
                append((text, first, at + stop))
                base = at - start - moved
        for callback, kids in self.reductions:
            append(callback([slots[k] for k in kids]))
        return slots[-1], line, base


def record(
    fast: _FastParser, text: str, start: int, state: int, rules: list[tuple[int, str, Callable[..., Any] | None]]
) -> Template | None:
    """The template of the top-level block at `start`, the driver in `state` (which shifts its kind),
    or None if it has anything a template does not replay (strings, dates, comments or line
    continuations inside, a syntax error)."""
    actions, goto, keywords, operators = fast.actions, fast.goto, fast.keywords, fast.operators
    error = fast.ERROR
    states = [state]
    ops: list[tuple[int, Any, int]] = []
    specs: list[Spec] = []
    parts: list[str] = []
    terms: list[str] = []
    previous_end = start
    depth = 0
    holes = 0

    def drive(term: str, until: str | None = None) -> bool:
        """The reductions `term` makes, recorded, then its shift; with `until`, up to that reduction
        (no shift). False where the block's own tokens do not allow it."""
        while True:
            action = actions[states[-1]].get(term, error)
            if action >= 0 and until is None:
                states.append(action)
                return True
            if action >= 0 or action == error:
                return False
            length, origin, callback = rules[~action]
            if length >= len(states):
                return False  # a reduction of what came before the block (annotations)
            if length:
                del states[-length:]
            states.append(goto[states[-1]][origin])
            if callback is not None:
                ops.append((length, callback, -1))
            if origin == until:
                return True

    def token(term: str, begin: int, end: int, hole: str | None, line_end: bool = False) -> bool:
        nonlocal previous_end, holes
        if len(specs) >= MAX_TOKENS or end - start > MAX_CHARS:
            return False
        parts.append(re.escape(text[previous_end:begin]))
        parts.append(fast.holes[hole] if hole else re.escape(text[begin:end]))
        previous_end = end
        written = text[begin:end]
        if hole == "end":
            specs.append((LAST_LINE_END, None, begin - start, end - start, holes))
        elif hole:
            specs.append((HOLE, holes, begin - start, end - start, 0))
        elif line_end:
            tail = len(written) - written.rindex("\n") - (end - start)  # after it, `at` is line * LINE + tail
            specs.append((LINE_END, written, begin - start, end - start, (written.count("\n"), tail)))
        else:
            specs.append((LITERAL, written, begin - start, end - start, 0))
        holes += 1 if hole else 0
        terms.append(term)
        if not drive(term):
            return False
        ops.append((0, None, len(specs) - 1))
        return True

    for match in fast.pattern.finditer(text, start):
        if match.start() != previous_end:
            return None  # a character no token matches
        _, word, moment, number, gap, unit, other = match.groups()
        if word:
            begin, end = match.span(2)
            term = keywords.get(word)
            if term is None or term not in actions[states[-1]]:
                term = "NAME"
            after = _NEXT.match(text, end).group(1)  # type: ignore[union-attr]  # past the lexer's spaces
            field_name = depth == 1 and terms[-1] in ("_NL", "LBRACE") and after == "="
            fixed = term != "NAME" or not terms or field_name or after == "("  # a call's name too
            if not token(term, begin, end, None if fixed else "name"):
                return None
        elif moment:
            return None
        elif number:
            begin, end = match.span(4)
            if not token("NUMBER", begin, end, "number"):
                return None
            if unit:
                if "\\" in gap:
                    return None
                begin, end = match.span(6)
                term = fast.unit_keywords.get(unit)
                if term is None or term not in actions[states[-1]]:
                    term = "UNIT"
                if text[end : end + 1] in ("*", "/", "^"):
                    return None  # `5 W*_a`: another name there (`h`) would be part of the unit (`W*h`)
                if not token(term, begin, end, None):
                    return None
        else:
            begin, end = match.span(7)
            term = operators.get(other)
            if term is None:
                if other[0] != "\n" and other[0] != "\r" and other[0] != "#":
                    return None  # a string or a line continuation
                closing = terms and terms[-1] == "CLOSE" and depth == 0
                if "#" in other and not closing:
                    return None
                if not token("_NL", begin, end, "end" if closing else None, line_end=True):
                    return None
                if closing:
                    break
                continue
            if term == "AT":
                return None
            depth += 1 if term == "LBRACE" else -1 if term == "CLOSE" else 0
            if depth < 0 or not token(term, begin, end, None):
                return None
    else:
        return None
    if not drive("KIND", until="block"):  # the next statement's first token reduces the block
        return None
    if len(states) != 2 or terms[0] != "KIND":
        return None
    # the reductions as straight-line code: each one's children are slots, tokens first
    slots: list[int] = []
    reductions: list[tuple[Callable[[list[Entry]], Entry], list[int]]] = []
    for length, callback, index in ops:
        if callback is None:
            slots.append(index)
            continue
        kids = slots[len(slots) - length :] if length else []
        del slots[len(slots) - length :]
        reductions.append((callback, kids))
        slots.append(len(specs) + len(reductions) - 1)
    if slots != [len(specs) + len(reductions) - 1]:
        return None
    return Template(re.compile("".join(parts)), specs, reductions)


# -- cloning: a block built straight from the AST of one replayed before it ------------------------

Build = Callable[[tuple[str, ...], int, list[int]], Any]  # (holes, first line, columns moved) → a node


class Clone:
    """Builds a block written like one already replayed, node by node, from that block's AST: its
    names and numbers from the holes, each span moved by the lines before it and, on its line, by
    how much longer or shorter the holes before it are. Only what the driver's reductions would
    build: no check lines, strings, dates or annotations (no template has them)."""

    __slots__ = ("build", "compound", "end", "lengths", "reductions")

    def __init__(
        self, reductions: Any, build: Build, compound: int, lengths: list[int], end: tuple[int, int, int, list[int]]
    ) -> None:
        self.reductions = reductions
        self.build = build
        self.compound = compound  # the compound expressions the block's reductions count
        self.lengths = lengths  # of each hole but the last line end, in the block cloned
        # the line end after the block: its hole, its line and column in the block, the holes before it there
        self.end = end

    def run(self, match: re.Match[str], line: int, comments: list[Comment]) -> tuple[Entry, int, int] | None:
        """As `Template.reduce`; None when the block must be reduced (nested deeper than checked here)."""
        reduced = self.reductions
        if reduced.compound + self.compound - reduced.compound_seen > MAX_DEPTH:
            return None
        found = match.groups()
        change = list(map(operator.sub, map(len, found), self.lengths))  # the last hole's is not read
        made = self.build(found, line, change)
        reduced.compound += self.compound
        reduced.compound_seen = reduced.compound
        reduced.checks_made[1] = reduced.checks_made[0]
        reduced.blocks.append(made)
        end_hole, end_line, end_column, before_end = self.end
        end = found[end_hole]
        at = line + end_line
        if "#" in end:
            column = end_column + sum([change[h] for h in before_end])
            comments_and_docs(end, at, column, comments, reduced.docs)
        after = at + end.count("\n")
        base = after * LINE - (match.end() - (len(end) - end.rindex("\n") - 1)) + 1
        return (None, line * LINE + 1, base + match.end()), after, base


def clone(block: Any, match: re.Match[str], line: int, reductions: Any, compound: int) -> Clone | None:
    """The clone of `block`, the AST the driver's reductions built from `match` at `line`; None if some
    part of it is not one this builds."""
    from nnci import ast
    from nnci.diagnostics import Span
    from nnci.slots import setters

    text = match.string
    holes: list[tuple[int, int, int]] = []
    for group in range(1, len(match.groups()) + 1):
        begin = match.start(group)
        rel = text.count("\n", match.start(), begin)
        holes.append((rel, begin - text.rfind("\n", 0, begin), match.end(group) - begin))
    *holes, last = holes
    file = reductions.file
    lines = reductions.lines
    same_line = lines.setdefault
    new = object.__new__
    span_file, span_line, span_column, span_end_line, span_end_column = setters(Span)
    number_value, number_text, number_unit, number_span = setters(ast.Number)
    ref_parts, ref_span = setters(ast.Ref)
    field_name, field_value, field_span = setters(ast.Field)
    block_kind, block_name, block_base, block_fields, block_checks, block_annotations, block_doc, block_span_, block_name_span = setters(ast.Block)  # fmt: skip

    def moved(rel: int, column: int) -> list[int]:
        return [h for h, (hole_line, hole_column, _) in enumerate(holes) if hole_line == rel and hole_column < column]

    def span_of(span: Span) -> Callable[[tuple[str, ...], int, list[int]], Span]:
        start_rel, end_rel = span.line - line, span.end_line - line
        column, end_column = span.column, span.end_column
        before, before_end = moved(start_rel, column), moved(end_rel, end_column)
        if start_rel == end_rel and not before and len(before_end) <= 1:  # most: on one line, one hole at most
            only = before_end[0] if before_end else -1

            def on_one_line(found: tuple[str, ...], first: int, change: list[int]) -> Span:
                made = new(Span)
                span_file(made, file)
                at = first + start_rel
                at = same_line(at, at)
                span_line(made, at)
                span_column(made, column)
                span_end_line(made, at)
                span_end_column(made, end_column + change[only] if only >= 0 else end_column)
                return made

            return on_one_line

        def make(found: tuple[str, ...], first: int, change: list[int]) -> Span:
            made = new(Span)
            span_file(made, file)
            at = first + start_rel
            span_line(made, same_line(at, at))
            span_column(made, column + sum([change[h] for h in before]) if before else column)
            at = first + end_rel
            span_end_line(made, same_line(at, at))
            span_end_column(made, end_column + sum([change[h] for h in before_end]) if before_end else end_column)
            return made

        return make

    consumed: set[int] = set()  # the holes a node takes its text from: every one must be

    def holes_in(span: Span) -> list[int]:
        rel = span.line - line
        return [h for h, (hole_line, column, _) in enumerate(holes)
                if hole_line == rel and span.column <= column < span.end_column]  # fmt: skip

    def taken(found: list[int]) -> list[int]:
        consumed.update(found)
        return found

    recurse: list[Callable[[Any], Build | None]] = []  # how `expr` calls itself (see below)

    def expr(node: Any) -> Build | None:
        kind = type(node)
        where = span_of(node.span)
        if kind is ast.Number:
            inside = holes_in(node.span)
            if len(inside) != 1 or holes[inside[0]][1] != node.span.column:
                return None  # the number, then its unit (no name)
            hole, unit, written = taken(inside)[0], node.unit, reductions.values_written

            def number(found: tuple[str, ...], first: int, change: list[int]) -> Any:
                digits = found[hole]
                value = written.get(digits)
                if value is None:
                    value = written[digits] = float(digits.replace("_", "")) if "_" in digits else float(digits)
                made = new(ast.Number)
                number_value(made, value)
                number_text(made, intern(digits))
                number_unit(made, unit)
                number_span(made, where(found, first, change))
                return made

            return number
        if kind is ast.Ref:
            parts = taken(holes_in(node.span))
            if len(parts) != len(node.parts):
                return None
            if len(parts) == 1:
                part = parts[0]

                def one_part(found: tuple[str, ...], first: int, change: list[int]) -> Any:
                    made = new(ast.Ref)
                    ref_parts(made, (found[part],))
                    ref_span(made, where(found, first, change))
                    return made

                return one_part
            return lambda found, first, change: ast.Ref(tuple([found[h] for h in parts]), where(found, first, change))
        if kind is ast.MapExpr:
            entries = []
            for e in node.entries:
                key, value = entry_key(e), recurse[0](e.value)
                if key is None or value is None:
                    return None
                entries.append((key, value, span_of(e.span)))
            return lambda found, first, change: ast.MapExpr(
                tuple([ast.MapEntry(k(found), v(found, first, change), s(found, first, change))
                       for k, v, s in entries]), where(found, first, change))  # fmt: skip
        if kind is ast.BinOp:
            left, right, op = recurse[0](node.left), recurse[0](node.right), node.op
            if left is None or right is None:
                return None
            return lambda found, first, change: ast.BinOp(
                op, left(found, first, change), right(found, first, change), where(found, first, change)
            )
        if kind is ast.Neg:
            operand = recurse[0](node.operand)
            if operand is None:
                return None
            return lambda found, first, change: ast.Neg(operand(found, first, change), where(found, first, change))
        if kind is ast.Call:
            found_args = [recurse[0](a) for a in node.args]
            args = [a for a in found_args if a is not None]
            if len(args) != len(found_args):
                return None
            func = node.func
            return lambda found, first, change: ast.Call(
                func, tuple([a(found, first, change) for a in args]), where(found, first, change)
            )
        return None

    def entry_key(entry: Any) -> Callable[[tuple[str, ...]], str] | None:
        parts = taken(holes_in(entry.span))
        if len(parts) != entry.key.count(".") + 1:
            return None
        if len(parts) == 1:
            only = parts[0]
            return lambda found: found[only]
        return lambda found: ".".join([found[h] for h in parts])

    if block.checks or block.annotations or type(block) is not ast.Block:
        return None
    name_holes = taken(holes_in(block.name_span))
    recurse.append(expr)
    try:
        base = expr(block.base) if block.base is not None else None
        values = [expr(f.value) for f in block.fields]
    finally:
        # `expr` calling itself through `recurse` is a cycle holding `reductions`, so every block
        # parsed, that only the collector would free (and `nnci` runs with it off): broken here
        recurse.clear()
    fields = [(f.name, v, span_of(f.span)) for f, v in zip(block.fields, values, strict=True) if v is not None]
    if len(name_holes) != 1 or (block.base is not None and base is None) or len(fields) != len(values):
        return None
    if consumed != set(range(len(holes))):
        return None  # a hole some part of the AST does not take its text from (a call's name, a field's)
    name_hole, kind, block_span, name_span = name_holes[0], block.kind, span_of(block.span), span_of(block.name_span)

    def build(found: tuple[str, ...], first: int, change: list[int]) -> Any:
        made_fields = []
        for name, value, where in fields:
            field = new(ast.Field)
            field_name(field, name)
            field_value(field, value(found, first, change))
            field_span(field, where(found, first, change))
            made_fields.append(field)
        made = new(ast.Block)
        block_kind(made, kind)
        block_name(made, found[name_hole])
        block_base(made, base(found, first, change) if base is not None else None)
        block_fields(made, tuple(made_fields))
        block_checks(made, ())
        block_annotations(made, ())
        block_doc(made, reductions.doc_above(first))
        block_span_(made, block_span(found, first, change))
        block_name_span(made, name_span(found, first, change))
        return made

    end = (len(holes), last[0], last[1], moved(last[0], last[1]))
    return Clone(reductions, build, compound, [length for _, _, length in holes], end)
