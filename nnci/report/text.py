"""The carbon statement as Markdown, plain text or LaTeX (with its BibTeX entries)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from nnci.report import prose
from nnci.report.references import bibtex, keys, latex
from nnci.report.statement import Figure, Statement

BASE_COLUMNS = ("energy", "operational", "embodied", "total")


def columns(statement: Statement) -> tuple[str, ...]:
    """The table's columns: the headline figures, and water where the scenario knows it."""
    return (*BASE_COLUMNS, *(("water",) if "water" in statement.total else ()))


def _rows(statement: Statement) -> list[tuple[str, dict[str, Figure]]]:
    rows = [(job.key, job.figures) for job in statement.jobs]
    return [*rows, ("total", statement.total)]


def _cell(figures: dict[str, Figure], name: str) -> str:
    figure = figures.get(name)
    if figure is None or not figure.known:
        return "unknown"
    interval = figure.interval()
    return f"{figure.text()} [{interval}]" if interval else figure.text()


def _paragraphs(style: prose.Style, statement: Statement) -> list[str]:
    found = prose.job_paragraphs(style, statement)
    extras = (prose.total_paragraph(style, statement), prose.sampling_sentence(style, statement),
              prose.equivalents_paragraph(style, statement))  # fmt: skip
    for extra in extras:
        if extra:
            found.append(extra)
    return found


def _origin(statement: Statement) -> str:
    return f"nnci {statement.version} from {', '.join(statement.files)}"


def markdown(statement: Statement) -> str:
    style = prose.Markdown()
    lines = ["## Carbon statement", ""]
    for paragraph in _paragraphs(style, statement):
        lines += [paragraph, ""]
    shown = columns(statement)
    lines += ["| job | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
    for name, figures in _rows(statement):
        lines.append(f"| {style.text(name)} | " + " | ".join(_cell(figures, c) for c in shown) + " |")
    lines += ["", f"*Rounding:* {statement.rule}", "", "### References", ""]
    lines += [f"{r.number}. {style.text(r.text)}" for r in statement.references[: statement.cited]]
    lines += [
        "",
        f"<sub>Written by {style.text(_origin(statement))}; `nnci explain` shows each figure's derivation.</sub>",
    ]
    return "\n".join(lines)


def plain(statement: Statement) -> str:
    style = prose.Style()
    wrap = textwrap.TextWrapper(width=78, break_on_hyphens=False, break_long_words=False)
    lines = ["CARBON STATEMENT", ""]
    for paragraph in _paragraphs(style, statement):
        lines += [*wrap.wrap(paragraph), ""]
    shown = columns(statement)
    table = [["job", *shown]] + [[name, *(_cell(f, c) for c in shown)] for name, f in _rows(statement)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for index, row in enumerate(table):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if index in (0, len(table) - 2):
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", *wrap.wrap("Rounding: " + statement.rule), "", "References", ""]
    hanging = textwrap.TextWrapper(width=78, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False)
    for reference in statement.references[: statement.cited]:
        lines += hanging.wrap(f"[{reference.number}] {reference.text}")
    lines += ["", f"Written by {_origin(statement)}; `nnci explain` shows each figure's derivation."]
    return "\n".join(lines)


class _Latex(prose.Style):
    def __init__(self, citation_keys: dict[int, str]) -> None:
        self.citation_keys = citation_keys

    def text(self, value: str) -> str:
        return _units(latex(value))

    def name(self, value: str) -> str:
        return r"\texttt{" + latex(value) + "}"

    def cite(self, numbers: Sequence[int]) -> str:
        unique = list(dict.fromkeys(numbers))
        return r"~\cite{" + ",".join(self.citation_keys[n] for n in unique) + "}" if unique else ""


def _units(text: str) -> str:
    """Typography for LaTeX: CO$_2$e, m$^3$, ×, en dashes, a percent sign kept with its number."""
    for plain, typeset in (("CO2e", "CO$_2$e"), (" m3", " m$^3$"), (" %", r"~%"), ("%", r"\%"), (r"\\%", r"\%"),
                           ("×", r"$\times$"), ("→", r"$\to$"), ("–", "--")):  # fmt: skip
        text = text.replace(plain, typeset)
    return text


def latex_statement(statement: Statement) -> str:
    cited = statement.references[: statement.cited]
    citation_keys = keys(cited)
    style = _Latex(citation_keys)
    lines = [f"% Carbon statement written by {latex(_origin(statement))}.",
             "% Paste the paragraphs and the table into the paper; the filecontents block writes the BibTeX",
             "% entries to nnci-references.bib (add it to \\bibliography{...}), or copy them into your .bib file.",
             "", r"\paragraph{Carbon footprint.}"]  # fmt: skip
    for paragraph in _paragraphs(style, statement):
        lines += [_units(paragraph), ""]  # the prose's own signs (×, –) too
    shown = columns(statement)
    lines += [r"\begin{table}[htbp]", r"\centering", r"\begin{tabular}{l" + "r" * len(shown) + "}", r"\hline",
              "Job & " + " & ".join(c.capitalize() for c in shown) + r" \\", r"\hline"]  # fmt: skip
    rows = _rows(statement)
    for index, (name, figures) in enumerate(rows):
        if index == len(rows) - 1:
            lines.append(r"\hline")
        lines.append(style.name(name) + " & " + " & ".join(style.text(_cell(figures, c)) for c in shown) + r" \\")
    lines += [r"\hline", r"\end{tabular}",
              r"\caption{Energy and carbon footprint, estimated with nnci. " + style.text(statement.rule) + "}",
              r"\end{table}", "", r"\begin{filecontents*}[overwrite]{nnci-references.bib}", bibtex(cited),
              r"\end{filecontents*}"]  # fmt: skip
    return "\n".join(lines)
