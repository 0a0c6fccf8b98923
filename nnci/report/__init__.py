"""`nnci report`: the carbon statement people paste (Markdown, text, LaTeX with BibTeX) and a
self-contained HTML report with inline SVG charts.

Stages: `statement.build` gathers the facts and figures from the evaluated scenario (with their
derivations, the significant figures their inputs justify and the references beneath them);
`prose` words them once; `text` and `html` format them. Charts are SVG written by hand (`svg`):
no plotting library to install or import, colours from CSS so one chart reads in light and dark
mode and in print, and output that is the same text every run.
"""

from __future__ import annotations

from nnci.report.equivalents import DEFAULT_EQUIVALENTS, EQUIVALENT_SETS
from nnci.report.statement import Statement, build

FORMATS = ("md", "html", "latex", "text")


def render(statement: Statement, form: str) -> str:
    if form == "html":
        from nnci.report import html

        return html.page(statement)
    from nnci.report import text

    return {"md": text.markdown, "text": text.plain, "latex": text.latex_statement}[form](statement)


__all__ = ["DEFAULT_EQUIVALENTS", "EQUIVALENT_SETS", "FORMATS", "Statement", "build", "render"]
