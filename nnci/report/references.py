"""The reference list of a report: the data sources (`@source` of the blocks used) and the formulas'
citations, numbered in order of first use; BibTeX entries for LaTeX.

`Collector` reads the citations beneath each figure from its derivation tree, as `nnci run
--sources` does (`nnci.provenance`: the `@source` of the block each given value was written in,
an amend's own or its base's, and each formula's citation), and numbers them for the text.
"""

from __future__ import annotations

import re

import attrs

from nnci import ir
from nnci.engine import Derivation, Result
from nnci.formulas.citations import NNCI_RULE
from nnci.provenance import data_source


@attrs.frozen
class Reference:
    number: int
    text: str
    kind: str  # "data" (an @source) or "method" (a formula's citation)


class Collector:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.found: list[Reference] = []
        self.numbers: dict[str, int] = {}

    def add(self, text: str, kind: str) -> int:
        if text not in self.numbers:
            self.numbers[text] = len(self.found) + 1
            self.found.append(Reference(self.numbers[text], text, kind))
        return self.numbers[text]

    def add_tree(self, result: Result) -> tuple[int, ...]:
        """Every citation beneath a figure (the blocks its inputs come from, then the formulas applied):
        their reference numbers."""
        if not isinstance(result, Derivation):
            return ()
        stack = [result]
        seen: set[int] = set()
        data: list[str] = []
        formulas: list[str] = []
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            data.extend(data_source(self.program, node))
            if node.formula is not None:
                formulas.append(node.formula.citation)
            stack.extend(reversed(node.inputs))
        numbers = [self.add(c, "data") for c in data]
        numbers += [self.add(c, "method") for c in formulas if c != NNCI_RULE]  # sums and means nnci defines
        return tuple(dict.fromkeys(numbers))


# -- BibTeX ------------------------------------------------------------------------------------

AUTHOR_YEAR = re.compile(r"^(?P<author>[^,()]+?),? (?P<year>(?:19|20)\d\d)[a-z]?[,.:]? (?P<title>.+)$")
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def latex(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def keys(references: list[Reference] | tuple[Reference, ...]) -> dict[int, str]:
    """A citation key per reference: `patterson2021`, `nnci-3` when no author and year can be read."""
    found: dict[int, str] = {}
    used: set[str] = set()
    for reference in references:
        match = AUTHOR_YEAR.match(reference.text)
        stem = f"nnci-{reference.number}"
        if match:
            word = re.sub(r"[^a-z]", "", match["author"].split()[0].lower())
            stem = f"{word}{match['year']}" if word else stem
        key, suffix = stem, ord("a")
        while key in used:
            key, suffix = f"{stem}{chr(suffix)}", suffix + 1
        used.add(key)
        found[reference.number] = key
    return found


def bibtex(references: list[Reference] | tuple[Reference, ...]) -> str:
    """One @misc entry per reference; author, year and title where the citation reads as `Author Year, Title`."""
    entries = []
    named = keys(references)
    for reference in references:
        key = named[reference.number]
        match = AUTHOR_YEAR.match(reference.text)
        fields = []
        if match:
            author = match["author"].replace(" et al.", " and others").replace(", ", " and ")
            fields += [f"  author = {{{latex(author)}}}", f"  year = {{{match['year']}}}",
                       f"  title = {{{{{latex(match['title'])}}}}}"]  # fmt: skip
        else:
            fields.append(f"  title = {{{{{latex(reference.text)}}}}}")
        fields.append(f"  note = {{{'data source' if reference.kind == 'data' else 'method'} cited by nnci}}")
        entries.append(f"@misc{{{key},\n" + ",\n".join(fields) + "\n}")
    return "\n\n".join(entries)
