"""Top-level blocks written alike, parsed once: the fast parser replays a block's reductions.

A generated scenario repeats a handful of block shapes thousands of times (`grid g17 {` /
`intensity = 433 gCO2e/kWh` / `}`): the same tokens but for names, numbers and the line end after
the block. The first block of a shape is parsed as usual and recorded: a regular expression that
matches exactly the blocks the lexer splits into the same tokens (every other token's text equal,
no name a keyword, no number a date), and the reductions the LALR driver made over them. A later
block it matches is neither lexed nor driven: the recorded reductions run on its own tokens, with
the reductions' own callbacks, so its AST, spans, docs and comments are those the driver builds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnci.ast import Comment

if TYPE_CHECKING:
    from nnci.parse import _FastParser

LINE = 1 << 32  # as nnci.lower: a position is line * LINE + column
KIND_WORDS = tuple(f"{kind} " for kind in ("grid", "source", "device", "fleet", "datacenter", "training", "inference"))
KINDS_AT_LINE_START = re.compile("(?<=\n)(?=" + "|".join(KIND_WORDS) + ")")
MAX_PER_KIND = 8  # shapes remembered per block kind: a file of blocks all unlike stops recording soon
Entry = tuple[Any, int, int]
Spec = tuple[int, Any, int, int, Any]  # a template's token: see Template.tokens


LITERAL, HOLE, LINE_END, LAST_LINE_END = range(4)  # what a token of a template is


class Template:
    """A recorded block: what its text must look like, its tokens, and the driver's reductions."""

    __slots__ = ("pattern", "reductions", "tokens")

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

    def replay(
        self, match: re.Match[str], line: int, comments: list[Comment], docs: dict[int, str]
    ) -> tuple[Entry, int, int]:
        """The block's reduced value, and the line and base after it (as the driver keeps them).
        A position is `offset + base`, `base` changing at each line end; here `at` is `base` plus
        how far the holes so far have moved the text from the template's."""
        from nnci.parse import _comments_of

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
                    found = len(comments)
                    _comments_of(text, line, first - line * LINE, comments)
                    for comment in comments[found:]:
                        if comment.text.startswith("##"):
                            docs[comment.line] = comment.text[2:].strip()
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

    def drive(term: str) -> bool:
        while True:
            action = actions[states[-1]].get(term, error)
            if action >= 0:
                states.append(action)
                return True
            if action == error:
                return False
            length, origin, callback = rules[~action]
            if length >= len(states):
                return False  # a reduction of what came before the block
            if length:
                del states[-length:]
            states.append(goto[states[-1]][origin])
            if callback is not None:
                ops.append((length, callback, -1))

    def token(term: str, begin: int, end: int, hole: str | None, line_end: bool = False) -> bool:
        nonlocal previous_end, holes
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
            after = text[end : end + 1]
            field_name = depth == 1 and terms[-1] in ("_NL", "LBRACE") and text[end:].lstrip(" \t").startswith("=")
            fixed = term != "NAME" or not terms or field_name or after == "("
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
    while True:  # the lookahead of the next statement reduces the block (and nothing below it)
        action = actions[states[-1]].get("KIND", error)
        if action >= 0 or action == error:
            return None
        length, origin, callback = rules[~action]
        if length >= len(states):
            return None  # it reduces what came before the block (annotations): not replayed
        if length:
            del states[-length:]
        states.append(goto[states[-1]][origin])
        if callback is not None:
            ops.append((length, callback, -1))
        if origin == "block":
            break
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
