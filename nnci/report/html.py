"""The HTML report: one self-contained file (no script, no network, no external style), charts as
inline SVG, light and dark mode from `prefers-color-scheme`, and a print style.

Every figure shown carries its unrounded value in the JSON contract's unit as data attributes
(`data-block`, `data-quantity`, `data-value`, `data-unit`), so a test can hold the page to
`nnci run --format json`, and links to its derivation tree further down the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from nnci.report import prose, svg
from nnci.report.equivalents import SOURCE_NAMES
from nnci.report.rounding import MOST, readable_unit, shown
from nnci.report.statement import SITE_RULE, Figure, Statement
from nnci.units import CARBON, ENERGY, parse_unit

STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --panel: #f6f8fa; --c0: #0969da; --c1: #bf8700; --c2: #1a7f37; --band: rgba(9, 105, 218, 0.15); }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --c0: #4493f8; --c1: #d29922; --c2: #3fb950; --band: rgba(68, 147, 248, 0.2); } }
html { background: var(--bg); color: var(--fg); }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); }
.meta, figcaption, .rule { color: var(--muted); font-size: .9rem; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
a { color: var(--c0); }
figure { margin: 1rem 0; } svg.chart { max-width: 100%; height: auto; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; } svg .chart-title { font-weight: 600; font-size: 13px; }
svg .tick, svg .legend { fill: var(--muted); } svg .grid { stroke: var(--line); stroke-width: 1; }
svg .s0 { fill: var(--c0); } svg .s1 { fill: var(--c1); } svg .s2 { fill: var(--c2); }
svg .series { stroke: var(--c0); stroke-width: 1.5; } svg .band { fill: var(--band); }
pre { background: var(--panel); padding: .75rem; overflow-x: auto; font-size: .8rem; line-height: 1.35; }
section.derivation:target { outline: 2px solid var(--c0); }
@media print { :root { --bg: #fff; --fg: #000; --muted: #333; --line: #999; --panel: #fff; }
  main { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; }
  figure, table, section.derivation { break-inside: avoid; } pre { white-space: pre-wrap; } }
"""


def _unit(figure: Figure) -> str:
    """The unit `nnci run --format json` gives this quantity in (its declaration's)."""
    from nnci.engine import Derivation
    from nnci.output import unit_for

    assert isinstance(figure.result, Derivation)
    return unit_for(figure.quantity, figure.result.value.dimension, {})


def figure_span(figure: Figure, text: str | None = None) -> str:
    """The rounded figure, its exact value (contract unit) in data attributes, linked to its derivation."""
    shown = escape(text if text is not None else figure.text())
    if not figure.known:
        return f'<span class="figure unknown" data-block="{escape(figure.block)}" data-quantity="{figure.quantity}">{shown}</span>'
    unit = _unit(figure)
    value = figure.magnitude(unit)
    data = f'data-block="{escape(figure.block)}" data-quantity="{figure.quantity}" data-unit="{escape(unit)}"'
    if value is not None:
        data += f' data-value="{value!r}"'
    return f'<a class="figure" href="#{figure.anchor}" {data}>{shown}</a>'


class Html(prose.Style):
    def text(self, value: str) -> str:
        return escape(value)

    def name(self, value: str) -> str:
        return f"<code>{escape(value)}</code>"

    def cite(self, numbers: Sequence[int]) -> str:
        unique = sorted(dict.fromkeys(numbers))
        links = ", ".join(f'<a href="#ref-{n}">{n}</a>' for n in unique)
        return f" [{links}]" if unique else ""

    def figure(self, figure: Figure) -> str:
        return figure_span(figure)

    def unknown(self, figure: Figure | None) -> str:
        return figure_span(figure, "an unknown amount") if figure is not None else "an unknown amount"


def _carbon_chart(statement: Statement) -> str:
    jobs = [j for j in statement.jobs if "total" in j.figures]
    if not jobs:
        return ""
    total = statement.total.get("total")
    reference = total if total is not None and total.known else jobs[0].figures["total"]
    unit = readable_unit(reference.result.value) if reference.known else "kgCO2e"  # type: ignore[union-attr]

    def values(name: str) -> tuple[float | None, ...]:
        return tuple(j.figures[name].magnitude(unit) if name in j.figures else None for j in jobs)

    series = [svg.Series("operational", "s0", values("operational")), svg.Series("embodied", "s1", values("embodied"))]
    labels = [j.figures["total"].text(unit) for j in jobs]
    chart = svg.bars("Carbon per job: operational and embodied", [j.key for j in jobs], series, unit, labels)
    return f'<figure id="chart-carbon">{chart}<figcaption>Total carbon of each job (rounded), split into operational and embodied.</figcaption></figure>'


def _interval_chart(statement: Statement) -> str:
    """With --samples: each job's total carbon as its median and 5th–95th percentile interval."""
    rows = [(j.key, j.figures["total"]) for j in statement.jobs if "total" in j.figures]
    if "total" in statement.total and len(rows) > 1:
        rows.append(("total", statement.total["total"]))
    rows = [(name, f) for name, f in rows if f.summary is not None and f.known]
    if not rows:
        return ""
    unit = readable_unit(rows[-1][1].result.value)  # type: ignore[union-attr]
    factor = parse_unit(unit).factor
    chart = svg.ranges("Total carbon: median and 5th–95th percentile", [name for name, _ in rows],
                       [f.summary.p5 / factor for _, f in rows], [f.summary.p50 / factor for _, f in rows],  # type: ignore[union-attr]
                       [f.summary.p95 / factor for _, f in rows], unit,  # type: ignore[union-attr]
                       [f.interval(unit) or "" for _, f in rows])  # fmt: skip
    sampling = statement.sampling
    assert sampling is not None
    return (
        f'<figure id="chart-interval">{chart}<figcaption>{sampling.samples:,} Monte Carlo samples, seed '
        f"{sampling.seed}: the bar spans the 5th to 95th percentile, the mark is the median.</figcaption></figure>"
    )


def _sensitivity_chart(statement: Statement) -> str:
    """With --samples: each uncertain input's squared rank correlation ρ² with the total carbon (each
    from 0 to 1 on its own: they overlap, so they are not shares of a whole)."""
    ranking = statement.sensitivity
    if ranking is None:
        return ""
    shown = [i for i in ranking.influences if i.reaches][:10]
    if not shown:
        return ""
    labels = [f"{i.explained:.2f}" for i in shown]
    chart = svg.bars("Sensitivity of the total carbon: ρ² of each input (0 to 1 each; they need not sum to 1)",
                     [i.input.label for i in shown], [svg.Series("ρ²", "s1", tuple(i.explained for i in shown))],
                     "ρ²", labels)  # fmt: skip
    return (
        f'<figure id="chart-sensitivity">{chart}<figcaption>'
        "Squared Spearman rank correlation between each input's draws and the total carbon "
        f"({ranking.samples:,} samples, seed {ranking.seed}); `nnci sensitivity` gives each input's swing.</figcaption></figure>"
    )


def _series_charts(statement: Statement) -> list[str]:
    """A job on a grid with an hourly intensity: the series around the job, its hours shaded."""
    from nnci.timeparse import format_instant

    charts = []
    for job in statement.jobs:
        if job.start is None or job.duration is None:
            continue
        seconds = job.duration.magnitude("s")
        if seconds is None:
            continue
        end = job.start + seconds
        for site in job.sites:
            series = site.series
            if series is None:
                continue
            first = max(series.start, job.start - max(seconds, 86400.0))
            last = min(series.start + series.step * len(series.values), end + max(seconds, 86400.0))
            points = [(series.start + k * series.step, v) for k, v in enumerate(series.values)
                      if first <= series.start + k * series.step < last and v == v]  # fmt: skip
            if len(points) < 2:
                continue
            xs = [(t - first) / 3600 for t, _ in points]
            chart = svg.line(f"{job.key} at {site.name}: intensity of {series.label}", xs, [v for _, v in points],
                             "gCO2e/kWh", f"hours from {format_instant(first)}",
                             ((job.start - first) / 3600, (end - first) / 3600))  # fmt: skip
            charts.append(f'<figure id="chart-series-{escape(job.key)}-{escape(site.name)}">{chart}<figcaption>'
                          f"The delivered intensity hour by hour; shaded: the job's hours, {escape(format_instant(job.start))}"
                          f" to {escape(format_instant(end))}.</figcaption></figure>")  # fmt: skip
    return charts


def _site_charts(statement: Statement) -> list[str]:
    charts = []
    for job in statement.jobs:
        sites = [s for s in job.sites if s.energy is not None]
        if len(sites) < 2:
            continue
        from nnci.quantity import Quantity

        energy_unit = readable_unit(Quantity(max(s.energy or 0.0 for s in sites), ENERGY))
        factor = Quantity(1.0, ENERGY).to(energy_unit)
        digits = job.figures["energy"].digits if "energy" in job.figures else MOST
        labels = [shown(Quantity(s.energy or 0.0, ENERGY), digits, energy_unit) for s in sites]
        energy = svg.bars(f"{job.key}: energy per site", [s.name for s in sites],
                          [svg.Series("energy", "s2", tuple((s.energy or 0.0) * factor for s in sites))], energy_unit,
                          labels)  # fmt: skip
        parts = [energy]
        if all(s.operational is not None for s in sites):
            carbon_unit = readable_unit(Quantity(max(s.operational or 0.0 for s in sites), CARBON))
            scale = Quantity(1.0, CARBON).to(carbon_unit)
            digits = job.figures["operational"].digits if "operational" in job.figures else MOST
            carbon_labels = [shown(Quantity(s.operational or 0.0, CARBON), digits, carbon_unit) for s in sites]
            parts.append(svg.bars(f"{job.key}: operational carbon per site", [s.name for s in sites],
                                  [svg.Series("operational", "s0", tuple((s.operational or 0.0) * scale for s in sites))],
                                  carbon_unit, carbon_labels))  # fmt: skip
        charts.append(
            f'<figure id="chart-sites-{escape(job.key)}">{"".join(parts)}<figcaption>{escape(SITE_RULE)}</figcaption></figure>'
        )
    return charts


def _figure_rows(statement: Statement) -> list[str]:
    rows = []
    groups = [(job.key, job.every) for job in statement.jobs] + [("total", tuple(statement.total.values()))]
    for block, figures in groups:
        for figure in figures:
            formula = figure.explain.split("\n", 1)[0].partition("   [")[2].partition(":")[0] or "given"
            formula = formula if figure.known else "—"
            rows.append(f"<tr><td><code>{escape(block)}</code></td><td>{escape(figure.quantity.replace('_', ' '))}</td>"
                        f'<td class="num">{figure_span(figure)}</td><td><code>{escape(formula)}</code></td>'
                        f'<td><a href="#{figure.anchor}">explain</a></td></tr>')  # fmt: skip
    return rows


def _derivations(statement: Statement) -> list[str]:
    found = []
    groups = [*(job.every for job in statement.jobs), tuple(statement.total.values())]
    for figures in groups:
        for figure in figures:
            found.append(f'<section class="derivation" id="{figure.anchor}"><h3><code>{escape(figure.block)}.'
                         f"{escape(figure.quantity)}</code></h3><pre>{escape(figure.explain)}</pre></section>")  # fmt: skip
    return found


def page(statement: Statement) -> str:
    style = Html()
    paragraphs = prose.job_paragraphs(style, statement)
    extras = (prose.total_paragraph(style, statement), prose.sampling_sentence(style, statement),
              prose.equivalents_paragraph(style, statement))  # fmt: skip
    for extra in extras:
        if extra:
            paragraphs.append(extra)
    found = (
        _carbon_chart(statement),
        _interval_chart(statement),
        _sensitivity_chart(statement),
        *_site_charts(statement),
        *_series_charts(statement),
    )
    charts = [c for c in found if c]
    references = [f'<li id="ref-{r.number}">{escape(r.text)}'
                  f"{'' if r.number <= statement.cited else ' <span class=meta>(in the table below only)</span>'}</li>"
                  for r in statement.references]  # fmt: skip
    files = ", ".join(statement.files)
    body = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">', f"<title>Carbon report: {escape(files)}</title>",
        f"<style>{STYLE}</style>", "</head>", "<body>", "<main>",
        f'<header><h1>Carbon report</h1><p class="meta">{escape(files)} · written by nnci {escape(statement.version)}'
        " · every figure links to its derivation</p></header>",
        '<section id="statement"><h2>Carbon statement</h2>', *(f"<p>{p}</p>" for p in paragraphs),
        f'<p class="rule"><strong>Rounding.</strong> {escape(statement.rule)}</p></section>',
        '<section id="charts"><h2>Charts</h2>', *charts, "</section>",
        '<section id="figures"><h2>Every figure</h2><table><thead><tr><th>block</th><th>quantity</th>'
        "<th>value</th><th>formula</th><th>derivation</th></tr></thead><tbody>", *_figure_rows(statement),
        "</tbody></table></section>",
        '<section id="references"><h2>References</h2><ol>', *references, "</ol>",
        f'<p class="meta">Equivalence factors: {escape(SOURCE_NAMES[statement.equivalents_set])}, '
        "from nnci's catalog table std/equivalents.csv.</p></section>",
        '<section id="derivations"><h2>Derivations</h2>', *_derivations(statement), "</section>",
        "</main>", "</body>", "</html>",
    ]  # fmt: skip
    return "\n".join(body) + "\n"


def sweep_page(result: object, files: Sequence[str]) -> str:
    """`nnci sweep --format html`: the table of combinations and a chart of their totals."""
    from nnci import sweep
    from nnci.engine import Derivation

    assert isinstance(result, sweep.Sweep)
    table = sweep.tabular(result)
    shown = result.combinations[:40]
    totals = [c.total.get("total") for c in shown]
    known = [t for t in totals if isinstance(t, Derivation)]
    unit = readable_unit(known[-1].value) if known else "kgCO2e"
    values = tuple(float(t.value.to(unit)) if isinstance(t, Derivation) else None for t in totals)
    names = [", ".join(c.texts(result.axes)) for c in shown]
    chart = svg.bars(f"Total carbon, lowest first{' (first 40)' if len(result.combinations) > 40 else ''}",
                     names, [svg.Series("total", "s0", values)], unit)  # fmt: skip
    head = "".join(f"<th>{escape(label)}</th>" for label in table.labels())
    rows = []
    for row in table.rows:
        cells = "".join(f'<td class="num">{escape(_cell(c))}</td>' if isinstance(c, float) or c is None
                        else f"<td>{escape(str(c))}</td>" for c in row)  # fmt: skip
        rows.append(f"<tr>{cells}</tr>")
    body = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="color-scheme" content="light dark">', f"<title>Sweep: {escape(', '.join(files))}</title>",
        f"<style>{STYLE}</style>", "</head>", "<body>", "<main>",
        f'<header><h1>Sweep</h1><p class="meta">{escape(", ".join(files))} · {escape(table.title)} · '
        f"{result.jobs_evaluated:,} jobs evaluated in one run</p></header>",
        f'<figure id="chart-sweep">{chart}</figure>',
        f"<table><thead><tr>{head}</tr></thead><tbody>", *rows, "</tbody></table>", "</main>", "</body>", "</html>",
    ]  # fmt: skip
    return "\n".join(body) + "\n"


def _cell(value: object) -> str:
    from nnci.quantity import format_number

    return "unknown" if value is None else format_number(float(value))  # type: ignore[arg-type]
