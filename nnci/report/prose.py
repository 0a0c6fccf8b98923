"""The wording of a carbon statement, once, for every format: a `Style` says how to mark names,
citations and plain text in Markdown, plain text, LaTeX or HTML."""

from __future__ import annotations

from collections.abc import Sequence

from nnci.report.equivalents import SOURCE_NAMES, editions
from nnci.report.rounding import number_text
from nnci.report.statement import MANY_JOBS, PARAGRAPHS, Figure, Job, Site, Statement
from nnci.uncertain.sensitivity import MIN_SAMPLES


class Style:
    """Plain text: names as written, citations as [1, 2]."""

    def text(self, value: str) -> str:
        return value

    def name(self, value: str) -> str:
        return value

    def cite(self, numbers: Sequence[int]) -> str:
        unique = sorted(dict.fromkeys(numbers))
        return f" [{', '.join(str(n) for n in unique)}]" if unique else ""

    def figure(self, figure: Figure) -> str:
        return self.text(figure.text())

    def unknown(self, figure: Figure | None) -> str:
        return "an unknown amount"


class Markdown(Style):
    def text(self, value: str) -> str:
        return value.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("|", "\\|")

    def name(self, value: str) -> str:
        return f"`{value}`"


KIND = {"training": "Training", "inference": "Serving"}


def _figure(style: Style, figure: Figure | None) -> str:
    if figure is None or not figure.known:
        return style.unknown(figure)
    interval = figure.interval()
    shown = style.figure(figure)
    return f"{shown} (5th–95th percentile {style.text(interval)})" if interval else shown


def _site(style: Style, site: Site, alone: bool) -> str:
    facts = []
    if site.pue is not None and not alone:  # a single site's PUE is the job's, said with its energy
        facts.append(f"PUE {site.pue}")
    if site.grid is not None:
        grid = style.name(site.grid) + (f" ({style.text(site.grid_label)})" if site.grid_label else "")
        facts.append(f"grid {grid}")
    if site.intensity is not None:
        facts.append(style.text(f"{site.intensity} delivered"))
    elif site.series is not None:
        facts.append(f"intensity hour by hour from {style.name(site.series.label)}")
    facts.append(f"intensity of {site.year}" if site.year else "year of the intensity not stated")
    label = f" ({style.text(site.label)})" if site.label else ""
    return f"{style.name(site.name)}{label}: " + ", ".join(facts)


def job_paragraph(style: Style, job: Job, citations: Sequence[int]) -> str:
    """One job's statement: hardware, hours, where, PUE, method, energy, carbon (both bases), embodied rule."""
    parts = [f"{KIND[job.kind]} {style.name(job.key)}"]
    if job.rows is not None:
        parts.append(f" ({job.rows:,} jobs, one per row of its table; figures are their sums)")
    hardware = [f"{d.count} × {style.name(d.name)}" + (f" ({style.text(d.label)})" if d.label else "")
                for d in job.devices]  # fmt: skip
    if hardware:
        parts.append(" ran " + _and(hardware))
    if job.duration is not None:
        parts.append(f" for {_figure(style, job.duration)}")
    if job.start is not None:
        from nnci.timeparse import format_instant

        parts.append(f" from {style.text(format_instant(job.start))}")
    if job.device_hours is not None:
        parts.append(f" ({_figure(style, job.device_hours)} of device time)")
    if job.sites:
        shares = len(job.sites) > 1
        where = [(style.text(f"{s.share * 100:.4g} % at ") if shares and s.share is not None else "")
                 + _site(style, s, not shares) for s in job.sites]  # fmt: skip
        parts.append((", split " if shares else " at ") + "; ".join(where))
    parts.append(".")
    energy = job.figures.get("energy")
    sentence = f" It used {_figure(style, energy)} of electricity"
    if job.pue is not None:
        sentence += f" at a PUE of {_figure(style, job.pue)}"
    if any(s.series is not None for s in job.sites) and job.intensity is not None:
        sentence += f" and an intensity of {_figure(style, job.intensity)} averaged over its hours"
    sentence += f", and emitted {_figure(style, job.figures.get('operational'))} of operational carbon (location-based"
    net = job.figures.get("net_operational")
    sentence += f"; {_figure(style, net)} market-based)" if net is not None else "; market-based not known)"
    embodied = job.figures.get("embodied")
    sentence += f" and {_figure(style, embodied)} of embodied carbon"
    details = []
    if job.embodied_rule:
        details.append(style.text(job.embodied_rule))
    boundaries = [f"{style.name(d.name)}: {style.text(d.boundary)}" for d in job.devices if d.boundary]
    details.append("boundary " + "; ".join(boundaries) if boundaries else "boundary not stated")
    sentence += f" ({'; '.join(details)})"
    sentence += f": {_figure(style, job.figures.get('total'))} in total."
    parts.append(sentence)
    offset = job.figures.get("offset_carbon")
    if offset is not None and offset.known:
        parts.append(f" Offsets of {_figure(style, offset)} are reported beside these figures, not subtracted.")
    water = job.figures.get("water")
    if water is not None and water.known:
        split = [f"{_figure(style, job.figures[n])} {where}" for n, where in
                 (("water_onsite", "on site"), ("water_offsite", "off site, generating the electricity"))
                 if n in job.figures]  # fmt: skip
        parts.append(
            f" It consumed {_figure(style, water)} of water" + (f" ({', '.join(split)})" if split else "") + "."
        )
    chosen = "" if job.method_chosen else " (the default: the nn-ci seed's formulas)"
    parts.append(f" Method: {style.name(job.method)}{chosen}.{style.cite(citations)}")
    return "".join(parts)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def total_paragraph(style: Style, statement: Statement) -> str | None:
    if len(statement.jobs) < 2:
        return None
    t = statement.total
    water = f" and consumed {_figure(style, t['water'])} of water" if "water" in t and t["water"].known else ""
    return (f"In total, the {len(statement.jobs)} jobs used {_figure(style, t.get('energy'))} and emitted "
            f"{_figure(style, t.get('total'))} ({_figure(style, t.get('operational'))} operational, "
            f"{_figure(style, t.get('embodied'))} embodied){water}.")  # fmt: skip


def sampling_sentence(style: Style, statement: Statement) -> str | None:
    sampling = statement.sampling
    if sampling is None:
        return None
    text = style.text(f"Uncertain inputs were sampled {sampling.samples:,} times (seed {sampling.seed}, numpy "
                      f"{sampling.numpy}); each figure is the median, with its 5th–95th percentile interval.")  # fmt: skip
    ranking = statement.sensitivity
    leading = [i for i in ranking.influences if i.reaches and i.explained >= 0.01][:SENSITIVE] if ranking else []
    if leading:
        # ρ² of each input on its own: for inputs that interact (a power times a PUE) they overlap, so they
        # are not shares of a whole and are not written as percentages that look as if they add up.
        shares = [f"{style.name(i.input.label)} {style.text(f'(ρ² = {i.explained:.2f})')}" for i in leading]
        text += (" The inputs whose draws track the total carbon most closely, by squared Spearman rank "
                 f"correlation ρ² (0 to 1 for each input; they need not sum to 1): {_and(shares)}.")  # fmt: skip
    elif ranking is None and sampling.samples < MIN_SAMPLES:
        text += style.text(f" {sampling.samples:,} samples are too few to rank the inputs by the spread they "
                           f"explain (at least {MIN_SAMPLES:,} are needed).")  # fmt: skip
    return text


SENSITIVE = 5  # inputs named in the statement's sentence on sensitivity


def equivalents_paragraph(style: Style, statement: Statement) -> str | None:
    if not statement.equivalents:
        return None
    total = statement.total["total"]
    found = list(statement.equivalents)
    one_edition = len({e.edition for e in found}) == 1  # else each factor says which edition it is from
    items = [f"{number_text(e.amount, 2)} {style.text(e.phrase)}" + ("" if one_edition else f" [{style.text(e.edition)}]")
             for e in found]  # fmt: skip
    source = SOURCE_NAMES[statement.equivalents_set]
    shown = f"{style.text(source)}; {style.text(editions(found))}" if one_edition else style.text(source)
    return (f"The total of {style.figure(total)} is about as much as {_and(items)} ({shown}; "
            "factors from nnci's catalog table std/equivalents.csv, to two significant figures).")  # fmt: skip


def job_citations(job: Job) -> list[int]:
    """The references of the job's statement: its own @source, then the data and methods beneath its figures."""
    described = [f for f in (job.duration, job.device_hours, job.pue) if f is not None]
    return [*job.citations, *(n for f in (*job.figures.values(), *described) for n in f.citations)]


def job_paragraphs(style: Style, statement: Statement) -> list[str]:
    """A paragraph per job; with many jobs, for the few with the largest total carbon, then a count."""
    jobs = list(statement.jobs)
    if len(jobs) <= MANY_JOBS:
        return [job_paragraph(style, job, job_citations(job)) for job in jobs]

    def carbon(job: Job) -> float:
        total = job.figures.get("total")
        return (total.magnitude("kgCO2e") or 0.0) if total is not None and total.known else -1.0

    largest = sorted(jobs, key=carbon, reverse=True)[:PARAGRAPHS]
    found = [job_paragraph(style, job, job_citations(job)) for job in jobs if job in largest]
    found.append(f"The other {len(jobs) - len(largest):,} jobs are in the table below (the {len(largest)} above "
                 "have the largest total carbon).")  # fmt: skip
    return found
