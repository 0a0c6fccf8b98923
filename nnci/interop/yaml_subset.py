"""A small, safe YAML reader for the subset manifests are written in.

Impact Framework manifests use block mappings and sequences, flow collections (`{a: 1}`,
`[a, b]`), plain and quoted scalars, block scalars (`|`, `>`) for descriptions, and comments.
That is all this reader accepts. It never constructs objects from tags (`!!python/...`), and
refuses anchors and aliases (`&a`, `*a`, whose expansion is the "billion laughs" attack), so
reading a manifest costs time and memory linear in its size. Values are plain Python data
(dict, list, str, int, float, bool, None); `positions` maps each value's path to where it was
written, so importers can name the manifest line of every number. Errors carry line and column.
"""

from __future__ import annotations

import bisect
import math
import re
from typing import Any

import attrs

MAX_DEPTH = 64  # nesting of collections
Path = tuple[str | int, ...]


class YamlError(Exception):
    def __init__(self, message: str, line: int, column: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.hint = message, line, column, hint


@attrs.frozen
class Document:
    data: Any
    positions: dict[Path, tuple[int, int]]  # path of a value → (line, column) where it starts


_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?")
_QUOTED_KEY = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')[ \t]*:(?=[ \t]|$)""")
NOT_A_KEY_START = "#'\"{}[],&*!|>%@` \t"


def _key(text: str) -> tuple[str, int] | None:
    """The key of a `key: value` line and where its colon ends, or None if the line is no such thing.
    Scanned by hand, in one pass: a regular expression with a lazy key and `\\s*` before the colon
    backtracks quadratically on a long line of spaces."""
    if not text:
        return None
    if text[0] in "'\"":
        match = _QUOTED_KEY.match(text)
        return (match[1], match.end()) if match else None
    if text[0] in NOT_A_KEY_START or (text[0] == "-" and (len(text) == 1 or text[1] in " \t")):
        return None
    comment = text.find(" #")
    colon = text.find(":")
    while colon != -1 and (comment == -1 or colon < comment):
        if colon + 1 == len(text) or text[colon + 1] in " \t":
            key = text[:colon].rstrip(" \t")
            return (key, colon + 1) if key else None
        colon = text.find(":", colon + 1)
    return None


def read(text: str) -> Document:
    """Parse one YAML document of the manifest subset."""
    return _Reader(text).document()


@attrs.define
class _Line:
    number: int  # 1-based
    indent: int
    text: str  # without the indent; comments still in


class _Reader:
    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.raw = text.replace("\r\n", "\n").split("\n")
        self.lines: list[_Line] = []
        for number, raw in enumerate(self.raw, 1):
            if "\t" in raw[: len(raw) - len(raw.lstrip(" \t"))]:
                raise YamlError("a tab in the indentation", number, raw.index("\t") + 1, "indent with spaces")
            body = raw.lstrip(" ")
            if not body or body.startswith("#"):
                continue
            if body.rstrip() in ("---", "...") or body.startswith("--- ") or body.startswith("%"):
                if body.startswith("%"):
                    raise YamlError("YAML directives are not supported", number, 1)
                if self.lines and body.rstrip() == "---":
                    raise YamlError("a second YAML document; a manifest is one document", number, 1)
                continue
            self.lines.append(_Line(number, len(raw) - len(body), body))
        self.index = 0
        self.positions: dict[Path, tuple[int, int]] = {}
        self.indents = {line.number: line.indent for line in self.lines}
        self._flow_lines: list[int] = []  # the source lines of the flow collection being read
        self._flow_newlines: list[int] = []  # where its text has a newline

    def document(self) -> Document:
        if not self.lines:
            return Document(None, {})
        data = self.node(0, (), 0)
        if self.index < len(self.lines):
            line = self.lines[self.index]
            raise YamlError("unexpected text after the document (check the indentation)", line.number, line.indent + 1)
        return Document(data, self.positions)

    # -- block structure

    def node(self, indent: int, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            line = self.lines[self.index]
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line.number, line.indent + 1)
        line = self.lines[self.index]
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(line.indent, path, depth)
        if _key(line.text) is not None:
            return self.mapping(line.indent, path, depth)
        self.index += 1
        return self.inline(line.text, line.number, line.indent + 1, path, depth, line.indent)

    def mapping(self, indent: int, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.positions[path] = (self.lines[self.index].number, indent + 1)
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise YamlError("unexpected indentation", line.number, line.indent + 1)
            match = _key(line.text)
            if match is None:
                if line.text.startswith("- "):
                    raise YamlError("a list item where a key was expected", line.number, line.indent + 1)
                raise YamlError("expected `key: value`", line.number, line.indent + 1)
            key = self.key(match[0], line.number, line.indent + 1)
            if key in result:
                raise YamlError(f"duplicate key `{key}`", line.number, line.indent + 1)
            rest = line.text[match[1] :].lstrip(" ")
            column = line.indent + 1 + len(line.text) - len(rest)
            self.index += 1
            child = (*path, key)
            if not rest or rest.startswith("#"):
                result[key] = self.nested(indent, child, depth, allow_same=True, line=line)
            else:
                self.positions[child] = (line.number, column)
                result[key] = self.inline(rest, line.number, column, child, depth + 1, indent)
        return result

    def sequence(self, indent: int, path: Path, depth: int) -> list[Any]:
        result: list[Any] = []
        self.positions[path] = (self.lines[self.index].number, indent + 1)
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if line.indent < indent or not (line.text == "-" or line.text.startswith("- ")):
                if line.indent > indent:
                    raise YamlError("unexpected indentation", line.number, line.indent + 1)
                break
            if line.indent > indent:
                raise YamlError("unexpected indentation", line.number, line.indent + 1)
            child = (*path, len(result))
            rest = line.text[1:].lstrip(" ")
            if not rest or rest.startswith("#"):
                self.index += 1
                result.append(self.nested(indent, child, depth, allow_same=False, line=line))
                continue
            offset = len(line.text) - len(rest)
            # `- key: value` opens a mapping whose keys line up after the dash
            self.lines[self.index] = _Line(line.number, line.indent + offset, rest)
            self.positions[child] = (line.number, line.indent + offset + 1)
            result.append(self.node(line.indent + offset, child, depth + 1))
        return result

    def nested(self, indent: int, path: Path, depth: int, allow_same: bool, line: _Line) -> Any:
        """The value on the lines below a `key:` or `-` with nothing after it (null if none)."""
        if self.index < len(self.lines):
            below = self.lines[self.index]
            is_item = below.text == "-" or below.text.startswith("- ")
            if below.indent > indent or (allow_same and below.indent == indent and is_item):
                self.positions[path] = (below.number, below.indent + 1)
                return self.node(below.indent, path, depth + 1)
        self.positions[path] = (line.number, line.indent + len(line.text) + 1)
        return None

    def key(self, text: str, line: int, column: int) -> str:
        text = text.strip()
        if text[:1] in "\"'":
            value, _ = self.quoted(text, 0, line, column)
            return value
        if text[:1] in "?&*!":
            raise YamlError("complex keys, anchors and tags are not supported", line, column)
        return text

    # -- values written on one line (or a flow collection continued over several)

    def inline(self, text: str, line: int, column: int, path: Path, depth: int, indent: int) -> Any:
        first = text[:1]
        if first in "&*":
            raise YamlError("anchors and aliases are not supported (a manifest never needs them)", line, column,
                            "write the value out where it is used")  # fmt: skip
        if first == "!":
            raise YamlError("tags are not supported: a manifest's values are plain data", line, column)
        if first in "|>":
            return self.block_scalar(text, line, column, indent)
        if first in "[{":
            lines, parts = [line], [text]
            self._flow_lines = lines
            open_brackets = _depth(text)
            while open_brackets > 0:  # the collection continues on the next lines: gather them, parse once
                if self.index >= len(self.lines):
                    raise YamlError(f"`{first}` is never closed", line, column)
                nxt = self.lines[self.index]
                self.index += 1
                lines.append(nxt.number)
                parts.append(nxt.text)
                open_brackets += _depth(nxt.text)
            whole = "\n".join(parts)
            self._flow_newlines = [i for i, c in enumerate(whole) if c == "\n"] if len(parts) > 1 else []
            value, end = self.flow(whole, 0, line, column, path, depth)
            if end is None:
                raise YamlError(f"`{first}` is never closed", line, column)
            tail = whole[end:].strip()
            if tail and not tail.startswith("#"):
                raise YamlError("unexpected text after a flow collection", line, column + end)
            return value
        value, end = self.scalar(text, 0, line, column, flow=False)
        tail = text[end:].strip()
        if tail and not tail.startswith("#"):
            raise YamlError("unexpected text after a value", line, column + end)
        if isinstance(value, str) and first not in "\"'":  # a plain scalar may continue on deeper lines
            parts = [value] if value else []
            while self.index < len(self.lines) and self.lines[self.index].indent > indent:
                nxt = self.lines[self.index]
                if _key(nxt.text) is not None or nxt.text.startswith("- "):
                    raise YamlError("unexpected indentation (a nested value after a value on the same line)",
                                    nxt.number, nxt.indent + 1)  # fmt: skip
                self.index += 1
                parts.append(nxt.text.split(" #")[0].strip())
                value = " ".join(parts)
        return value

    def block_scalar(self, text: str, line: int, column: int, indent: int) -> str:
        header = text.split("#")[0].strip()
        if not re.fullmatch(r"[|>][-+]?", header):
            raise YamlError("block scalar indicators other than |, >, |-, >-, |+, >+ are not supported", line, column)
        body: list[str] = []
        start = line  # read raw lines: blank lines and `#` belong to the text
        number = start
        block_indent: int | None = None
        while number < len(self.raw):
            raw = self.raw[number]
            stripped = raw.lstrip(" ")
            current = len(raw) - len(stripped)
            if stripped and current <= indent:
                break
            if stripped and block_indent is None:
                block_indent = current
            body.append(raw[block_indent:] if block_indent is not None and stripped else "")
            number += 1
        while self.index < len(self.lines) and self.lines[self.index].number <= number:
            self.index += 1
        while body and not body[-1]:
            body.pop()
        joined = "\n".join(body)
        value = joined if header[0] == "|" else re.sub(r"(?<!\n)\n(?!\n)", " ", joined)
        return value if header.endswith("-") else value + "\n"

    def flow(self, text: str, at: int, line: int, column: int, path: Path, depth: int) -> tuple[Any, int | None]:
        """A flow collection starting at text[at]; returns (value, end) or (None, None) if unclosed."""
        if depth > MAX_DEPTH:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line, column + at)
        opening = text[at]
        closing = "]" if opening == "[" else "}"
        items: Any = [] if opening == "[" else {}
        self.positions.setdefault(path, self._where(text, at, line, column))
        at += 1
        while True:
            at = self._skip(text, at)
            if at >= len(text):
                return None, None
            if text[at] == closing:
                return items, at + 1
            if text[at] == ",":
                raise YamlError("an empty entry in a flow collection", *self._where(text, at, line, column))
            if opening == "[":
                child = (*path, len(items))
                self.positions[child] = self._where(text, at, line, column)
                value, end = self.flow_value(text, at, line, column, child, depth)
                if end is None:
                    return None, None
                items.append(value)
            else:
                where = self._where(text, at, line, column)
                if text[at] in "\"'":
                    key, at = self.quoted(text, at, *where)
                else:
                    match = re.compile(r"[^,:{}\[\]\n]+").match(text, at)
                    if match is None:
                        raise YamlError("expected a key", *where)
                    key, at = match.group().strip(), match.end()
                at = self._skip(text, at)
                if at >= len(text):
                    return None, None
                if text[at] != ":":
                    raise YamlError(f"expected `:` after the key `{key}`", *self._where(text, at, line, column))
                if key in items:
                    raise YamlError(f"duplicate key `{key}`", *where)
                at = self._skip(text, at + 1)
                if at >= len(text):
                    return None, None
                child = (*path, key)
                self.positions[child] = self._where(text, at, line, column)
                if text[at] in ",}":
                    value, end = None, at
                else:
                    value, end = self.flow_value(text, at, line, column, child, depth)
                if end is None:
                    return None, None
                items[key] = value
            at = self._skip(text, end)
            if at >= len(text):
                return None, None
            if text[at] == ",":
                at += 1
            elif text[at] != closing:
                raise YamlError(f"expected `,` or `{closing}`", *self._where(text, at, line, column))

    def flow_value(self, text: str, at: int, line: int, column: int, path: Path, depth: int) -> tuple[Any, int | None]:
        if text[at] in "[{":
            return self.flow(text, at, line, column, path, depth + 1)
        if text[at] in "&*!":
            raise YamlError("anchors, aliases and tags are not supported", *self._where(text, at, line, column))
        return self.scalar(text, at, *self._where(text, at, line, column), flow=True)

    def _skip(self, text: str, at: int) -> int:
        while at < len(text):
            if text[at] in " \n":
                at += 1
            elif text[at] == "#" and (at == 0 or text[at - 1] in " \n"):
                newline = text.find("\n", at)
                at = len(text) if newline < 0 else newline
            else:
                break
        return at

    def _where(self, text: str, at: int, line: int, column: int) -> tuple[int, int]:
        """Line and column of text[at] in a flow collection that may span lines."""
        before = bisect.bisect_left(self._flow_newlines, at)
        if before == 0:
            return line, column + at
        lines = self._flow_lines
        number = lines[before] if before < len(lines) else line + before
        start = self._flow_newlines[before - 1] + 1
        indent = self.indents.get(number, 0)
        return number, indent + 1 + at - start

    def quoted(self, text: str, at: int, line: int, column: int) -> tuple[str, int]:
        quote = text[at]
        if quote == "'":
            match = re.compile(r"'((?:[^']|'')*)'").match(text, at)
            if match is None:
                raise YamlError("a quoted string is not closed", line, column)
            return match[1].replace("''", "'"), match.end()
        match = re.compile(r'"((?:[^"\\]|\\.)*)"').match(text, at)
        if match is None:
            raise YamlError("a quoted string is not closed", line, column)
        escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "0": "\0", " ": " "}

        def unescape(m: re.Match[str]) -> str:
            code = m[1]
            if code[0] in "xuU":
                return chr(int(code[1:], 16))
            if code not in escapes:
                raise YamlError(f"unknown escape `\\{code}` in a quoted string", line, column)
            return escapes[code]

        body = re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", unescape, match[1])
        return body, match.end()

    def scalar(self, text: str, at: int, line: int, column: int, flow: bool) -> tuple[Any, int]:
        if at < len(text) and text[at] in "\"'":
            return self.quoted(text, at, line, column)
        stop = re.compile(r"\s#|[,\]}\n]|$" if flow else r"\s#|$")
        match = stop.search(text, at)
        end = match.start() if match else len(text)
        plain = text[at:end].strip()
        if flow and ": " in plain:
            raise YamlError("a mapping inside a list must be written in braces: {key: value}", line, column)
        return _plain(plain), end


def _depth(line: str) -> int:
    """Brackets opened minus closed on one line of a flow collection, outside quotes and comments."""
    depth, at, quote = 0, 0, ""
    while at < len(line):
        char = line[at]
        if quote:
            if char == "\\" and quote == '"':
                at += 1
            elif char == quote:
                quote = "" if not (quote == "'" and line[at + 1 : at + 2] == "'") else quote
                if quote:
                    at += 1
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1] in " \t"):
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        at += 1
    return depth


def _plain(text: str) -> Any:
    """YAML 1.2 core schema for plain scalars: null, booleans, integers, floats; else a string."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if re.fullmatch(r"0x[0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"0o[0-7]+", text):
        return int(text[2:], 8)
    if _FLOAT.fullmatch(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if text.lower() in (".inf", "+.inf"):
        return math.inf
    if text.lower() == "-.inf":
        return -math.inf
    if text.lower() == ".nan":
        return math.nan
    return text
