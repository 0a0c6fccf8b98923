"""Text → AST, fast; and, for any file that does not parse, lark's tree and friendly diagnostics.

`parse_module()` is the one entry point. Its fast path lexes with one compiled regular expression
and runs a small LALR driver over tables generated at build time from grammar/nnci.lark
(`nnci/_parse_table.py`, by tools/build_parser.py); its reductions build the AST directly
(`nnci.lower.Reductions`), so there is no intermediate tree, and lark is never imported.

The fast lexer reproduces lark's contextual lexer for this grammar: a unit is lexed only right
after a number, and a keyword (`grid`, `check`, `within`, ...) is its own terminal only where the
parser state accepts it, else a name (tools/build_parser.py checks the table for the facts this
relies on). On a syntax error, or anything unexpected, the fast path gives up, saying where it
stopped, and nnci.recover takes over: lark's parser (`parse()`, built lazily in process,
propagate_positions) gives each diagnostic, the one lark's error gives rise to, and the parse
goes on after it. A file without errors never leaves the fast path. In a large file, a block written
like an earlier one (names, numbers and the line end after it aside) is not lexed or driven: the
earlier one's reductions are replayed on its tokens (nnci.replay).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import re
from typing import TYPE_CHECKING, Any

import attrs

from nnci.ast import Comment, Module
from nnci.diagnostics import Diagnostic, Span
from nnci.resources import grammar_path
from nnci.schema import KINDS

if TYPE_CHECKING:
    import lark
    from lark.exceptions import UnexpectedInput

# Friendly names for terminals in "expected ..." messages.
TERMINALS = {
    "RBRACE": "`}`", "CLOSE": "`}`", "LBRACE": "`{`", "EQUAL": "`=`", "_NL": "end of line", "NAME": "a name",
    "NUMBER": "a number", "STRING": "a string", "UNIT": "a unit", "COMMA": "`,`",
    "LPAR": "`(`", "RPAR": "`)`", "KIND": "a block kind (grid, device, ...)", "DOT": "`.`",
    "COMPARE": "a comparison (>=, <, ...)", "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`",
    "SLASH": "`/`", "CIRCUMFLEX": "`^`", "AT": "`@`", "$END": "end of file",
    "IMPORT": "`import`", "EXPECT": "`expect`", "CHECK": "`check`", "WITHIN": "`within`",
    "AS": "`as`", "NNCI": "`nnci`", "DATETIME": "a date and time",
}  # fmt: skip
VALUE_STARTS = {"NUMBER", "NAME", "STRING", "LPAR", "LBRACE", "MINUS", "DATETIME"}


@attrs.frozen
class Parsed:
    tree: lark.Tree | None
    comments: tuple[Comment, ...]
    diagnostics: tuple[Diagnostic, ...]


def _prepare(text: str) -> str:
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    return text if text.endswith("\n") else text + "\n"


def _comments_of(newline: str, line: int, column: int, into: list[Comment]) -> None:
    """The comments in one newline token (a run of line ends, blank lines and comments)."""
    for offset, raw in enumerate(newline.split("\n")):
        stripped = raw.strip()
        if stripped.startswith("#"):
            col = column + raw.index("#") if offset == 0 else raw.index("#") + 1
            into.append(Comment(stripped, line + offset, col))


def comments_and_docs(newline: str, line: int, column: int, comments: list[Comment], docs: dict[int, str]) -> None:
    """The comments in a newline token, and its `##` lines as the docs of what follows, by line."""
    found = len(comments)
    _comments_of(newline, line, column, comments)
    for comment in comments[found:]:
        if comment.text.startswith("##"):
            docs[comment.line] = comment.text[2:].strip()


def parse_module(text: str, file: str) -> tuple[Module | None, tuple[Diagnostic, ...]]:
    """Parse and lower one file: the module and the diagnostics. After a syntax error, parsing
    recovers at the next field or block (nnci.recover), so every mistake is reported and the rest
    of the file is still lowered; the module is None only when nothing of it could be recovered."""
    fast = _fast_parser()
    result = None
    if fast is not None:
        try:
            prepared = _prepare(text)
            result = fast.parse(prepared, file)
            if result is None and "+-" in prepared and uncertainty_written(prepared, file) is None:
                result = fast.run(prepared, file)  # `+-` only in comments or strings
        except Exception:  # anything unexpected: lark's path decides, and reports
            result = None
        if isinstance(result, tuple):
            return result
    from nnci.recover import recovering_parse

    return recovering_parse(text, file, stopped=result if isinstance(result, int) else None)


# -- the lark path: a tree, or a syntax diagnostic ------------------------------------------------


class _CommentSink:
    """Collects comments from newline tokens while lark lexes (they never reach the tree)."""

    def __init__(self) -> None:
        self.comments: list[Comment] = []

    def __call__(self, token: lark.Token) -> lark.Token:
        _comments_of(str(token), token.line or 1, token.column or 1, self.comments)
        return token


_SINK = _CommentSink()


@functools.cache
def parser() -> lark.Lark:
    """lark's LALR parser of the grammar, built in process the first time it is needed (no disk cache)."""
    import lark

    return lark.Lark.open(
        str(grammar_path()),
        parser="lalr",
        strict=True,
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"_NL": _SINK},
    )


def parse(text: str, file: str) -> Parsed:
    """Parse one file with lark. Never raises for bad input: problems come back as diagnostics."""
    from lark.exceptions import UnexpectedInput

    text = _prepare(text)
    uncertain = uncertainty_written(text, file)
    if uncertain is not None:
        return Parsed(None, (), (uncertain,))
    _SINK.comments = []
    try:
        tree = parser().parse(text)
    except UnexpectedInput as error:
        return Parsed(None, (), (syntax_diagnostic(error, text, file),))
    return Parsed(tree, tuple(_SINK.comments), ())


def syntax_diagnostic(error: UnexpectedInput, text: str, file: str) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        span = Span(file, line, column, line, column + 1)
        hint = "strings are written in double quotes" if char in "'`" else None
        if char == "\u00b1":
            return Diagnostic("E100", "`±` is not an operator", span, help=UNCERTAINTY_HINT)
        if char == '"':
            hint = 'a string ends on its line; its escapes are \\" \\\\ \\n \\t \\uXXXX \\xXX'
        return Diagnostic("E100", f"unexpected character `{char}`", span, help=hint)
    if isinstance(error, UnexpectedEOF):
        return _end_of_file(file, text)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = set(error.expected)
    if token.type == "$END":
        return _end_of_file(file, text, expected)
    unclosed = _block_start_inside_block(text, file, line)
    if unclosed is not None:
        return unclosed
    width = max(1, len(str(token).split("\n")[0]))
    span = Span(file, line, column, line, column + width)
    shown = "end of line" if token.type == "_NL" else f"`{str(token).strip()}`"
    message, hint = f"unexpected {shown}", None
    before = _text_before(text, line, column)
    if (
        "EQUAL" in expected
        and token.type in VALUE_STARTS | {"UNIT"}
        and re.search(r"(^|[{,]|expect)\s*[A-Za-z_][\w.]*$", before)
    ):
        message, hint = f"missing `=` before {shown}", "a field is written `name = value`"
    elif token.type == "_NL" and "LBRACE" in expected and "NAME" not in expected:
        message, hint = "missing `{`", "a block is written `kind name { ... }`, with `{` on its first line"
    elif token.type == "_NL" and expected == {"NUMBER"} and before.strip() == "nnci":
        message, hint = "the header needs its version", "write `nnci 0.1` on the first line"
    elif token.type == "_NL" and "NAME" in expected and before.strip() in KINDS:
        kind = before.strip()
        message, hint = f"missing the name of the {kind}", f"a block is written `{kind} name {{ ... }}`"
    elif token.type == "_NL" and expected & VALUE_STARTS:
        operator = before[-1:] if before[-1:] in "+-*/^,(" else "="
        message = f"missing value after `{operator}`"
        hint = "write a value after `=`, e.g. `power = 300 W`" if operator == "=" else (
            "an operator needs a value on each side; a unit is one word without spaces (`gCO2e/kWh`)")  # fmt: skip
    elif token.type == "EQUAL" and ("COMMA" in expected or "_NL" in expected) and before.split():
        word = before.split()[-1]
        start = column - len(before) + len(before.rstrip()) - len(word)
        span = Span(file, line, start, line, start + len(word))
        message, hint = f"missing `,` before `{word}`", "separate map entries with `,` or a new line"
        if _in_block(text, line, start):
            message, hint = f"missing a new line before `{word}`", ONE_FIELD_A_LINE
    elif token.type == "COMMA" and _in_block(text, line, column):
        hint = ONE_FIELD_A_LINE
    elif token.type in ("NAME", "UNIT") and "KIND" in expected and not before.strip():
        from nnci.schema import KIND_SYNONYMS

        word = str(token)
        meant = KIND_SYNONYMS.get(word.lower()) or next(iter(difflib_close(word, KINDS)), None)
        message = f"`{word}` is not a kind of block"
        hint = (f"did you mean `{meant}`? " if meant else "") + "the kinds of block are " + ", ".join(KINDS)
    elif token.type in ("CLOSE", "RBRACE") and "_NL" in expected:
        message, hint = f"unexpected {shown}", "each field, and the closing `}` of a block, go on a line of their own"
    elif token.type in ("NAME", "UNIT") and "_NL" in expected and "SLASH" in expected:
        hint = "units touch their number and have no spaces (`300 W`, `429 gCO2e/kWh`); put each field on its own line"
    elif token.type in ("NAME", "UNIT") and expected & {"RBRACE", "CLOSE"} and "COMMA" in expected:
        message, hint = f"missing `,` before {shown}", "separate map entries with `,` or a new line"
    if hint is None:
        hint = "expected " + _expected_text(expected)
    return Diagnostic("E100", message, span, help=hint)


ONE_FIELD_A_LINE = ("the fields of a block are separated by new lines: put each on a line of its own "
                    "(commas separate the entries of a map, `{ gpu = 8, cpu = 2 }`)")  # fmt: skip
UNCERTAINTY_HINT = ("an uncertain value is written as a distribution, e.g. `normal(350 W, 50 W)` (mean, standard "
                    "deviation) or `uniform(300 W, 400 W)`")  # fmt: skip


def difflib_close(word: str, candidates: tuple[str, ...]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)


def _in_block(text: str, line: int, column: int) -> bool:
    """Whether the innermost `{` open at (line, column) opens a block rather than a map (`= {`)."""
    lines = text.split("\n")
    before = "\n".join([*lines[: line - 1], lines[line - 1][: column - 1] if line <= len(lines) else ""])
    stack: list[int] = []
    in_string = False
    position = 0
    for raw in before.split("\n"):
        for offset, char in enumerate(raw):
            if char == '"':
                in_string = not in_string
            elif in_string:
                continue
            elif char == "#":
                break
            elif char == "{":
                stack.append(position + offset)
            elif char == "}" and stack:
                stack.pop()
        position += len(raw) + 1
        in_string = False
    if not stack:
        return False
    return not before[: stack[-1]].rstrip().endswith(("=", ",", "(", "+", "-", "*", "/"))


def uncertainty_written(text: str, file: str) -> Diagnostic | None:
    """`350 W +- 50 W` would parse as 350 W + (-50 W): said before it is read as 300 W."""
    if "+-" not in text:
        return None
    for number, raw in enumerate(text.split("\n"), 1):
        code = re.sub(r'"([^"\\]|\\.)*"', lambda m: " " * len(m[0]), raw).split("#")[0]
        column = code.find("+-")
        if column >= 0:
            span = Span(file, number, column + 1, number, column + 3)
            return Diagnostic("E100", "`+-` is not an operator: `a +- b` would be read as a + (-b)", span,
                              help=UNCERTAINTY_HINT)  # fmt: skip
    return None


STATEMENT_WORDS = (*KINDS, "expect", "import")


def _block_start_inside_block(text: str, file: str, line: int) -> Diagnostic | None:
    """A new block (or expect/import, or the annotation of a block) where a field was expected: the
    block above lacks its `}`."""
    lines = text.split("\n")
    source = lines[line - 1] if line <= len(lines) else ""
    words = source.split()
    annotation = re.match(r"@[A-Za-z_]\w*", words[0]) if words else None
    if annotation is not None and not _annotates_a_block(lines, line):
        annotation = None  # (an annotation inside a block, as if it were a field)
    if not words or (annotation is None and (words[0] not in STATEMENT_WORDS or len(words) < 2)):
        return None
    if annotation is None and words[1].startswith("="):  # `fleet = ...`: a field named like a kind of block
        return None
    opener = _unclosed_brace("\n".join(lines[: line - 1]))
    if opener is None:
        return None
    word = annotation.group() if annotation else words[0]
    column = len(source) - len(source.lstrip()) + 1
    span = Span(file, line, column, line, column + len(word))
    notes = (f"the `{{` at line {opener} is never closed",)
    return Diagnostic("E101", f"missing `}}` before this `{word}`", span, notes=notes,
                      help="close the block above with `}`")  # fmt: skip


def _annotates_a_block(lines: list[str], line: int) -> bool:
    """Whether the annotation on `line` (1-based) comes before a block: the next line with a word
    starts with a kind of block."""
    for following in lines[line:]:
        words = following.split()
        if words and not words[0].startswith(("@", "#")):
            return words[0] in KINDS
    return False


def _text_before(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line - 1][: column - 1].rstrip() if line <= len(lines) else ""


def _end_of_file(file: str, text: str, expected: set[str] | None = None) -> Diagnostic:
    lines = text.rstrip("\n").split("\n")
    last = len(lines)
    span = Span(file, last, len(lines[-1]) + 1, last, len(lines[-1]) + 2)
    braces = {"RBRACE", "CLOSE"}
    if expected is None or expected & braces or "RPAR" in expected:
        closer = "`)`" if expected and "RPAR" in expected and not expected & braces else "`}`"
        opener = _unclosed_brace(text) if closer == "`}`" else None
        notes = (f"the `{{` at line {opener} is never closed",) if opener else ()
        return Diagnostic("E101", f"missing {closer} at end of file", span, notes=notes,
                          help=f"close the block with {closer}")  # fmt: skip
    return Diagnostic("E100", "unexpected end of file", span, help="expected " + _expected_text(expected))


def _unclosed_brace(text: str) -> int | None:
    stack: list[int] = []
    in_string = False
    for number, line in enumerate(text.split("\n"), 1):
        for char in line:
            if char == '"':
                in_string = not in_string
            elif in_string:
                continue
            elif char == "#":
                break
            elif char == "{":
                stack.append(number)
            elif char == "}" and stack:
                stack.pop()
    return stack[-1] if stack else None  # the innermost: a map left open swallows what follows


def _expected_text(expected: set[str]) -> str:
    names = sorted({TERMINALS.get(t, f"`{t.lower()}`") for t in expected if not t.startswith("__")})
    if len(names) > 6:
        names = [*names[:6], "..."]
    return " or ".join(names) if names else "something else"


# -- the fast path: one regular expression and an LALR driver over the generated tables -----------

REPLAY_MIN_CHARS = 64_000  # from this size on, blocks written alike are parsed once (nnci.replay)


class _FastParser:
    """The lexer and the LALR tables of nnci/_parse_table.py, ready to run."""

    # Chunks of text lexed at a time (findall builds a list): boundaries fall after a line end that is
    # followed by a letter, `_`, `@` or `}`, where every token ends in this grammar.
    CHUNK = 1 << 16
    _BOUNDARY = re.compile(r"\n(?=[A-Za-z_@}])")
    ERROR = -(1 << 30)  # no action

    def __init__(self, table: Any) -> None:
        from nnci.lower import Reductions

        terminals = table.TERMINALS
        self.rules = table.RULES
        self.actions: tuple[dict[str, int], ...] = table.ACTIONS
        self.goto: tuple[dict[str, int], ...] = table.GOTO
        self.start, self.end = table.START_STATE, table.END_STATE
        self.keywords: dict[str, str] = table.KEYWORDS
        # after a number, lark's UNIT regexp absorbs the string keywords it matches (`3 within 1 %`)
        self.unit_keywords = {w: t for w, t in table.KEYWORDS.items() if terminals[t][0] == "str"}
        self.operators: dict[str, str] = table.OPERATORS
        self.passing = {i for i, (_, _, callback) in enumerate(Reductions("").table(table.RULES)) if callback is None}
        self.chains: dict[tuple[int, int, str], int] = {}
        # line ends without comments, as (line ends in it, characters after the last): "\n", "\n  ", ...
        self.newlines: dict[str, tuple[int, int]] = {}

        def regexp(name: str) -> str:
            return _uncaptured(terminals[name][1])

        ignore = [_uncaptured(terminals[name][1]) for name in table.IGNORE]
        spaces = next(p for p in ignore if "\n" not in p)
        continuation = next(p for p in ignore if "\n" in p)
        assert spaces.endswith("]+"), spaces
        gaps = f"(?:{spaces[:-1]}|{continuation})*"  # between a number and its unit: ignored text
        spaces = spaces[:-1] + "*"  # `[\t \f]*`: an empty group when there are none
        longer = [re.escape(op) for op in self.operators if len(op) > 1]  # `==` before `=`, as lark orders them
        single = "".join(re.escape(op) for op in self.operators if len(op) == 1)
        # (spaces)(word)(datetime)(number)(gap)(unit)(other): a unit only right after a number, as lark lexes
        # it there; a date and time before a number (its priority in the grammar)
        self.pattern = re.compile(
            f"({spaces})(?:({regexp('NAME')})|({regexp('DATETIME')})|({regexp('NUMBER')})(?:({gaps})({regexp('UNIT')}))?"
            f"|({'|'.join(longer)}|[{single}]|{regexp('_NL')}|{regexp('STRING')}|{continuation}))"
        )
        assert self.pattern.groups == 7
        # where a block may start a line (`grid `, ...: the grammar's KIND words), for nnci.replay
        self.kind_words = tuple(f"{word} " for word, term in self.keywords.items() if term == "KIND")
        self.kinds_at_line_start = re.compile("(?<=\n)(?=" + "|".join(map(re.escape, self.kind_words)) + ")")
        # what may differ between blocks written alike (nnci.replay): a name that is no keyword, a
        # number that is no date, the line end after the block; each atomic, as the lexer's match is
        keywords = "|".join(re.escape(word) for word in sorted(self.keywords, key=len, reverse=True))
        self.holes = {
            "name": f"((?>(?!(?:{keywords})(?![A-Za-z0-9_])){regexp('NAME')}))",
            "number": f"((?>(?!{regexp('DATETIME')}){regexp('NUMBER')}))",
            "end": f"((?>{regexp('_NL')}))",
        }

    def lexes_up_to(self, text: str, end: int) -> bool:
        """Whether the text before `end` is all tokens. The lexer's `findall` steps over a character no
        token matches (parse() then fails at the end), so an offset where parse() stopped is the
        first error only if nothing was stepped over before it."""
        at = 0
        for match in self.pattern.finditer(text, 0, end):
            if match.start() != at:
                return False
            at = match.end()
        return not text[at:end].strip(" \t\f")

    def _chain(self, key: tuple[int, int, str]) -> int:
        """The state after the run of pass-through reductions that `term` triggers in `top` above `below`.

        Such a reduction (`?sum: product`, `_member: field`) replaces only the top state, and the
        state below stays, so the whole run depends on (below, top, term) alone: it is memoised.
        """
        below, top, term = key
        while True:
            action = self.actions[top].get(term)
            if action is None or action >= 0 or ~action not in self.passing:
                break
            top = self.goto[below][self.rules[~action][0]]
        self.chains[key] = top
        return top

    def _reduce_before(
        self, term: str, state: int, states: list[int], values: list[Any], rules: list[tuple[int, str, Any]],
        until: int = -1,
    ) -> int:  # fmt: skip
        """The reductions the lookahead `term` makes: the state that then shifts it (or `until`, once
        reached); -1 if `term` cannot come next."""
        actions, goto, error = self.actions, self.goto, self.ERROR
        while state != until:
            action = actions[state].get(term, error)
            if action >= 0:
                return state
            if action == error:
                return -1
            length, origin, callback = rules[~action]
            if callback is None:
                state = goto[states[-2]][origin]
                states[-1] = state
                continue
            if length:
                kids = values[-length:]
                del values[-length:]
                del states[-length:]
            else:
                kids = []
            values.append(callback(kids))
            state = goto[states[-1]][origin]
            states.append(state)
        return state

    def _chunk_end(self, text: str, start: int, replay: bool) -> int:
        """Where the text lexed at a time from `start` ends (findall builds a list): at the next block
        starting a line when replaying (it may be replayed), else some CHUNK characters on."""
        if replay:
            found = self.kinds_at_line_start.search(text, start + 1)
            while found is not None and _continued(text, found.start()):  # `300 \` + `grid` below: one token
                found = self.kinds_at_line_start.search(text, found.start() + 1)
            return found.start() if found is not None else len(text)
        if len(text) - start <= self.CHUNK:
            return len(text)
        boundary = self._BOUNDARY.search(text, start + self.CHUNK)
        return boundary.end() if boundary is not None else len(text)

    def parse(
        self, text: str, file: str, replay: bool | None = None
    ) -> tuple[Module, tuple[Diagnostic, ...]] | int | None:
        """The module and the diagnostics of lowering it; else lark's path must decide, and this is
        the offset of the token where the syntax error is (an int), or None if it is not known.
        `replay`: whether blocks written alike replay the first one's reductions (nnci.replay); by
        default in files of REPLAY_MIN_CHARS or more."""
        if "+-" in text:  # parses, but means nothing the user meant: lark's path reports it
            return None
        return self.run(text, file, replay)

    def run(
        self, text: str, file: str, replay: bool | None = None
    ) -> tuple[Module, tuple[Diagnostic, ...]] | int | None:
        """`parse` without the `+-` test (the recovering parse makes it itself)."""
        enabled = gc.isenabled()
        gc.disable()  # the AST is built in one go: rescanning it while it grows costs without freeing anything
        try:
            return self._parse(text, file, len(text) >= REPLAY_MIN_CHARS if replay is None else replay)
        finally:
            if enabled:
                gc.enable()

    def _parse(self, text: str, file: str, replay: bool) -> tuple[Module, tuple[Diagnostic, ...]] | int | None:
        from nnci.lower import LINE, Reductions

        if replay:
            from nnci.replay import MAX_PER_KIND, Template, record

        reductions = Reductions(file)
        rules = reductions.table(self.rules)
        docs = reductions.docs
        comments: list[Comment] = []
        actions, goto, keywords, unit_keywords, operators = (
            self.actions, self.goto, self.keywords, self.unit_keywords, self.operators)  # fmt: skip
        findall, chains, chain, error = self.pattern.findall, self.chains, self._chain, self.ERROR
        newlines = self.newlines
        state = self.start
        states = [state]
        values: list[Any] = []
        push_state, push_value = states.append, values.append
        line, pos = 1, 0
        base = LINE + 1  # the position of offset i is base + i: line * LINE + column
        templates: dict[tuple[str, int], list[Template]] = {}  # by the block's kind and starting state
        kind_words = self.kind_words
        size = len(text)
        while pos < size:
            at_line_start = pos == 0 or text[pos - 1] == "\n"  # a block replays from column 1 (not indented)
            if replay and at_line_start and text.startswith(kind_words, pos) and "KIND" in actions[state]:
                state = self._reduce_before("KIND", state, states, values, rules)  # the statement before it
                if state < 0:
                    return pos
                # a block starts here: replayed, or recorded (in the state it starts in: not after annotations)
                shapes = templates.setdefault((text[pos : text.find(" ", pos)], state), [])
                match = None
                for template in shapes:
                    match = template.pattern.match(text, pos)
                    if match is not None:
                        break
                if match is not None:
                    value, line, base = template.replay(match, line, comments, reductions)
                    state = goto[state]["block"]
                    push_state(state)
                    push_value(value)
                    pos = match.end()
                    continue
                if len(shapes) < MAX_PER_KIND:
                    recorded = record(self, text, pos, state, rules)
                    if recorded is not None:
                        shapes.append(recorded)
            chunk_end = self._chunk_end(text, pos, replay)
            for spaces, word, moment, number, gap, unit, other in findall(text, pos, chunk_end):
                if spaces:
                    pos += len(spaces)
                if word:
                    end = pos + len(word)
                    entry = (word, base + pos, base + end)
                    pos = end
                    term = keywords.get(word)
                    if term is None or term not in actions[state]:
                        term = "NAME"
                elif moment:
                    end = pos + len(moment)
                    entry = (moment, base + pos, base + end)
                    pos = end
                    term = "DATETIME"
                elif other:
                    end = pos + len(other)
                    term = operators.get(other)
                    if term is not None:
                        entry = (other, base + pos, base + end)
                    elif other[0] == '"':
                        term = "STRING"
                        entry = (other, base + pos, base + end)
                    else:  # a line end (with blank lines and comments), or a backslash continuation
                        start = base + pos
                        shape = newlines.get(other)
                        if shape is None:
                            shape = (other.count("\n"), len(other) - other.rindex("\n") - 1)
                            if "#" in other:
                                comments_and_docs(other, line, start - line * LINE, comments, docs)
                            elif len(newlines) < 256:
                                newlines[other] = shape
                        line += shape[0]
                        base = line * LINE - (end - shape[1]) + 1
                        if other[0] == "\\":
                            pos = end
                            continue
                        term = "_NL"
                        entry = (other, start, base + end)
                    pos = end
                else:
                    action = actions[state].get("NUMBER", error)
                    if action < 0:
                        return pos
                    state = action
                    push_state(state)
                    end = pos + len(number)
                    push_value((number, base + pos, base + end))
                    pos = end
                    if not unit:
                        continue
                    if gap:
                        if "\n" in gap:  # a backslash continuation
                            line += gap.count("\n")
                            base = line * LINE - (pos + gap.rindex("\n") + 1) + 1
                        pos += len(gap)
                    end = pos + len(unit)
                    entry = (unit, base + pos, base + end)
                    pos = end
                    term = unit_keywords.get(unit)
                    if term is None or term not in actions[state]:
                        action = actions[state].get("UNIT", error)
                        if action < 0:
                            return pos - len(unit)
                        state = action
                        push_state(state)
                        push_value(entry)
                        continue
                while True:
                    action = actions[state].get(term, error)
                    if action >= 0:
                        state = action
                        push_state(state)
                        push_value(entry)
                        break
                    if action == error:
                        return pos - len(entry[0])  # where the token starts
                    length, origin, callback = rules[~action]
                    if callback is None:  # one child passes through: only the state changes
                        key = (states[-2], state, term)
                        state = chains.get(key, error)
                        if state == error:
                            state = chain(key)
                        states[-1] = state
                        continue
                    if length:
                        kids = values[-length:]
                        del values[-length:]
                        del states[-length:]
                    else:
                        kids = []
                    push_value(callback(kids))
                    state = goto[states[-1]][origin]
                    push_state(state)
            if pos != chunk_end:
                return None  # a character no token matches
        if self._reduce_before("$END", state, states, values, rules, until=self.end) != self.end:
            return len(text)  # the file ends where it may not
        return reductions.module(tuple(comments)), tuple(reductions.diagnostics)


def _continued(text: str, line_start: int) -> bool:
    """Whether the line before `line_start` ends with a line continuation: a backslash, then the line end."""
    before = line_start - 2 if text[line_start - 2 : line_start] != "\r\n" else line_start - 3
    return before >= 0 and text[before] == "\\"


def _uncaptured(regexp: str) -> str:
    """The regexp with its groups made non-capturing (findall then returns only the outer groups)."""
    out, i, in_class = [], 0, False
    while i < len(regexp):
        char = regexp[i]
        if char == "\\":
            out.append(regexp[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if regexp[i + 1 : i + 2] == "]":  # `[]...]`: a `]` first in a class is a literal
                out.append("[]")
                i += 2
                continue
        elif char == "(" and regexp[i + 1 : i + 2] != "?":
            out.append("(?:")
            i += 1
            continue
        out.append(char)
        i += 1
    result = "".join(out)
    assert re.compile(result).groups == 0, regexp
    return result


@functools.cache
def _fast_parser() -> _FastParser | None:
    """The fast parser, or None if its tables are not those of the grammar (then lark parses)."""
    try:
        from nnci import _parse_table as table
        from nnci.lower import Reductions

        if hashlib.sha256(grammar_path().read_bytes()).hexdigest() != table.GRAMMAR_SHA256:
            return None
        Reductions("").table(table.RULES)  # every rule has its reduction
        return _FastParser(table)
    except Exception:
        return None
