"""Build the LALR tables of grammar/nnci.lark into nnci/_parse_table.py, a plain data module.

The grammar file stays the normative syntax. This script builds lark's LALR parser from it once
(strict=True, as nnci.parse does for its diagnostics) and writes its states, rules and
terminals as dicts and tuples of ints and strings, with the SHA-256 of the grammar, so that the
fast front end in nnci/parse.py never builds or unpickles tables at run time and never imports
lark on the happy path.

It also checks, and refuses to write a table otherwise, the facts that the fast lexer relies on
to reproduce lark's contextual lexer with one regular expression:

- every terminal is one the fast lexer knows how to produce (named regexps, one-character
  operators, keywords, and word alternations such as KIND);
- no parser state accepts two regexp terminals that match the same words (NAME with KIND or
  UNIT, KIND with UNIT), so a word's terminal follows from the state's accepted set alone;
- UNIT is accepted only in states entered by shifting a NUMBER, so a unit is lexed only right
  after a number.

    python tools/build_parser.py           # (re)write nnci/_parse_table.py
    python tools/build_parser.py --check   # exit 1 if nnci/_parse_table.py is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammar" / "nnci.lark"
OUTPUT = ROOT / "nnci" / "_parse_table.py"
LINE_LENGTH = 120

# Regexp terminals the fast lexer matches with their own pattern, by role.
REGEXP_TERMINALS = {"NUMBER", "UNIT", "NAME", "STRING", "_NL", "COMPARE", "DATETIME"}
# Terminals that may carry a priority: the fast lexer tries them before NUMBER, as lark does.
PRIORITISED = {"DATETIME": 2}
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BuildError(Exception):
    pass


def build_lark():  # type: ignore[no-untyped-def]
    import lark

    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", strict=True, maybe_placeholders=False)


def word_alternation(regexp: str) -> tuple[str, ...] | None:
    """`(?:grid|source|...)` → its words, if the regexp is exactly an alternation of plain words."""
    match = re.fullmatch(r"\(\?:([A-Za-z_|]+)\)", regexp) or re.fullmatch(r"([A-Za-z_|]+)", regexp)
    if match is None:
        return None
    words = tuple(match[1].split("|"))
    return words if all(WORD.fullmatch(w) for w in words) else None


def table_data() -> dict[str, object]:
    from lark.lexer import PatternStr

    parser = build_lark()
    table = parser.parser.parser.parser.parse_table
    rules = list(parser.rules)
    rule_index = {id(rule): i for i, rule in enumerate(rules)}

    terminals: dict[str, tuple[str, str]] = {}
    keywords: dict[str, str] = {}
    operators: dict[str, str] = {}
    for terminal in parser.terminals:
        pattern = terminal.pattern
        if terminal.priority != PRIORITISED.get(terminal.name, 0) or pattern.flags:
            raise BuildError(f"terminal {terminal.name}: priorities and flags are not supported by the fast lexer")
        if isinstance(pattern, PatternStr):
            terminals[terminal.name] = ("str", pattern.value)
            if WORD.fullmatch(pattern.value):
                keywords[pattern.value] = terminal.name
            elif len(pattern.value) == 1:
                operators[pattern.value] = terminal.name
            else:
                raise BuildError(f"string terminal {terminal.name} {pattern.value!r} is not a word nor one character")
        else:
            regexp = pattern.to_regexp()
            terminals[terminal.name] = ("re", regexp)
            words = word_alternation(regexp)
            if terminal.name in parser.ignore_tokens:
                continue
            if words is not None:
                for word in words:
                    if word in keywords:
                        raise BuildError(f"{word!r} is both {keywords[word]} and {terminal.name}")
                    keywords[word] = terminal.name
            elif terminal.name not in REGEXP_TERMINALS:
                raise BuildError(f"the fast lexer does not know the regexp terminal {terminal.name}")
    for name in REGEXP_TERMINALS:
        if name not in terminals:
            raise BuildError(f"the fast lexer expects a terminal {name}")
    ignore = tuple(parser.ignore_tokens)
    ignore_patterns = sorted(terminals[name][1] for name in ignore)
    if ignore_patterns != sorted(["[\t \x0c]+", "\\\\\r?\n"]):
        raise BuildError(f"the fast lexer expects to ignore spaces and backslash-newlines, not {ignore_patterns}")
    compare = terminals["COMPARE"][1]
    compare_words = re.fullmatch(r"\(\?:([^()]+)\)", compare)
    if compare_words is None:
        raise BuildError("COMPARE must be an alternation of operators")
    for op in compare_words[1].split("|"):  # `==` beside `=`: longer operators are tried first, as lark does
        operators[op] = "COMPARE"

    # lark numbers states in an order that depends on set iteration (PYTHONHASHSEED): renumber
    # them breadth-first from the start state, symbols in sorted order, so the output is stable.
    start = table.start_states["start"]
    order = [start]
    number = {start: 0}
    for state in order:
        for symbol in sorted(table.states[state]):
            action, arg = table.states[state][symbol]
            if action.name == "Shift" and arg not in number:
                number[arg] = len(order)
                order.append(arg)
    if len(order) != len(table.states):
        raise BuildError("some parser states cannot be reached from the start state")
    actions: list[dict[str, int]] = []
    gotos: list[dict[str, int]] = []
    shifted_by: dict[int, set[str]] = {}
    for state in order:
        acts: dict[str, int] = {}
        goto: dict[str, int] = {}
        for symbol, (action, arg) in sorted(table.states[state].items()):
            if action.name == "Shift":
                if symbol.isupper() or symbol.startswith("$"):
                    acts[symbol] = number[arg]
                    shifted_by.setdefault(number[arg], set()).add(symbol)
                else:
                    goto[symbol] = number[arg]
            else:
                acts[symbol] = -1 - rule_index[id(arg)]
        actions.append(acts)
        gotos.append(goto)

    # The facts the fast lexer relies on (see the module docstring).
    words_regexps = {"NAME", "UNIT", *{name for name in set(keywords.values()) if terminals[name][0] == "re"}}
    for state, acts in enumerate(actions):
        accepted = words_regexps & set(acts)
        if len(accepted) > 1:
            raise BuildError(
                f"state {state} accepts {sorted(accepted)}: a word's terminal would depend on more than the state"
            )
        if "UNIT" in acts and shifted_by.get(state) != {"NUMBER"}:
            raise BuildError(f"state {state} accepts UNIT but is not entered by shifting a NUMBER")

    rule_rows = []
    for rule in rules:
        rule_rows.append(
            (rule.origin.name, len(rule.expansion), rule.alias or "", bool(rule.options.expand1),
             tuple(symbol.name for symbol in rule.expansion))
        )  # fmt: skip

    return {
        "GRAMMAR_SHA256": hashlib.sha256(GRAMMAR.read_bytes()).hexdigest(),
        "START_STATE": number[start],
        "END_STATE": number[table.end_states["start"]],
        "TERMINALS": terminals,
        "IGNORE": ignore,
        "KEYWORDS": dict(sorted(keywords.items())),
        "OPERATORS": dict(sorted(operators.items(), key=lambda kv: (-len(kv[0]), kv[0]))),
        "RULES": tuple(rule_rows),
        "ACTIONS": tuple(actions),
        "GOTO": tuple(gotos),
    }


# -- writing: ruff-format-stable Python literals ------------------------------------------------


def literal(value: object) -> str:
    if isinstance(value, str):
        return repr(value) if '"' in value and "'" not in value else json.dumps(value)
    if isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def items_of(value: object) -> list[str]:
    if isinstance(value, dict):
        return [f"{literal(k)}: {literal(v)}" for k, v in value.items()]
    assert isinstance(value, tuple)
    return [literal(v) for v in value]


def element(value: object, indent: int) -> list[str]:
    """One element of a sequence at `indent`: on one line if it fits, else one item per line."""
    pad = " " * indent
    flat = pad + literal(value) + ","
    if len(flat) <= LINE_LENGTH or not isinstance(value, dict | tuple):
        return [flat]
    opener, closer = ("{", "}") if isinstance(value, dict) else ("(", ")")
    return [pad + opener, *(pad + "    " + item + "," for item in items_of(value)), pad + closer + ","]


ANNOTATIONS = {"ACTIONS": "tuple[dict[str, int], ...]", "GOTO": "tuple[dict[str, int], ...]"}


def assignment(name: str, value: object) -> list[str]:
    if name in ANNOTATIONS:
        name = f"{name}: {ANNOTATIONS[name]}"
    flat = f"{name} = {literal(value)}"
    if len(flat) <= LINE_LENGTH or not isinstance(value, dict | tuple) or not value:
        return [flat]
    opener, closer = ("{", "}") if isinstance(value, dict) else ("(", ")")
    lines = [f"{name} = {opener}"]
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"    {literal(key)}: "
            flat_item = head + literal(item) + ","
            if len(flat_item) <= LINE_LENGTH or not isinstance(item, dict | tuple):
                lines.append(flat_item)
            else:
                sub = element(item, 4)
                lines.append(head + sub[0].strip())
                lines.extend(sub[1:])
    else:
        for item in value:
            lines.extend(element(item, 4))
    lines.append(closer)
    return lines


HEADER = '''"""LALR tables of grammar/nnci.lark for the fast front end (nnci/parse.py).

Generated by tools/build_parser.py: do not edit; run `python tools/build_parser.py` after changing
the grammar (`--check` says whether this file is stale). Data only:

- ACTIONS[state][terminal]: a shift to the state n >= 0, or a reduction by RULES[-1 - n];
- GOTO[state][rule name]: the state after reducing to that rule;
- RULES[i]: (origin, expansion length, alias or "", expand1, expansion symbols);
- TERMINALS[name]: ("str", literal) or ("re", regexp); KEYWORDS: words that are terminals of their own
  (string keywords and word alternations such as KIND); OPERATORS: the other literal terminals.
"""
'''


def render(data: dict[str, object]) -> str:
    lines = [HEADER]
    for name, value in data.items():
        lines.extend(assignment(name, value))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if nnci/_parse_table.py is stale")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        text = render(table_data())
    except BuildError as error:
        print(f"build_parser: {error}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python tools/build_parser.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
