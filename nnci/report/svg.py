"""Charts as inline SVG, written by hand.

Why not matplotlib: it would be a dependency of hundreds of megabytes, its import alone costs
more than nnci's whole cold run, and its SVG hard-codes colours. These charts are a few hundred
lines of text: colours come from the page's CSS classes (so the same chart reads in light and
dark mode and in print), text stays text (searchable, selectable), and the output is the same
every run (golden-testable). Papers that want PDF figures can plot `nnci run --format json`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import attrs

WIDTH = 720
ROW = 26
LEFT = 180
RIGHT = 110


@attrs.frozen
class Series:
    name: str
    css: str  # class of its bars: s0, s1, ...
    values: tuple[float | None, ...]  # per category, in the chart's unit; None: unknown


def nice_ticks(largest: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `largest` (1, 2 or 5 × a power of ten apart)."""
    if largest <= 0 or not math.isfinite(largest):
        return [0.0, 1.0]
    raw = largest / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < largest - 1e-12 * largest:
        ticks.append(ticks[-1] + step)
    return ticks


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:,.6g}"


def bars(
    title: str, categories: Sequence[str], series: Sequence[Series], unit: str, labels: Sequence[str] | None = None
) -> str:
    """Horizontal bars, the series stacked per category; `labels` (the rounded totals) at each bar's end."""
    totals = [sum(s.values[i] or 0.0 for s in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0.0))
    scale = (WIDTH - LEFT - RIGHT) / ticks[-1]
    legend_height = 24 if len(series) > 1 else 0
    height = 34 + legend_height + ROW * len(categories) + 28
    top = 34 + legend_height
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text class="chart-title" x="0" y="18">{escape(title)}</text>']  # fmt: skip
    x = float(LEFT)
    if legend_height:
        for s in series:
            parts.append(f'<rect class="{s.css}" x="{x}" y="28" width="12" height="12"/>')
            parts.append(f'<text class="legend" x="{x + 16}" y="38">{escape(s.name)}</text>')
            x += 28 + 8 * len(s.name)
    bottom = top + ROW * len(categories)
    for tick in ticks:
        x = LEFT + tick * scale
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{_number(tick)}</text>')
    parts.append(f'<text class="tick" x="{WIDTH - RIGHT + 36}" y="{bottom + 16}">{escape(unit)}</text>')
    for index, category in enumerate(categories):
        y = top + index * ROW
        parts.append(f'<text class="category" x="{LEFT - 8}" y="{y + 17}" text-anchor="end">{escape(category)}</text>')
        x = float(LEFT)
        for s in series:
            value = s.values[index]
            if value is None or value <= 0:
                continue
            width = value * scale
            parts.append(f'<rect class="{s.css}" x="{x:.2f}" y="{y + 4}" width="{max(width, 0.5):.2f}" height="{ROW - 8}">'
                         f"<title>{escape(s.name)}: {_number(value)} {escape(unit)}</title></rect>")  # fmt: skip
            x += width
        label = labels[index] if labels is not None else f"{_number(totals[index])} {unit}"
        if all(s.values[index] is None for s in series):
            label = "unknown"
        parts.append(f'<text class="value" x="{x + 6:.2f}" y="{y + 17}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def line(
    title: str,
    xs: Sequence[float],
    ys: Sequence[float],
    unit: str,
    x_label: str,
    band: tuple[float, float] | None = None,
) -> str:
    """A step line of ys over xs (an hourly series), with `band` (a job's interval on the x axis) shaded."""
    height = 240
    top, bottom, left, right = 34, height - 34, 60, WIDTH - 20
    if not xs:
        return ""
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1.0
    ticks = nice_ticks(max(ys, default=0.0), 4)

    def px(x: float) -> float:
        return left + (x - x0) / span * (right - left)

    def py(y: float) -> float:
        return bottom - y / ticks[-1] * (bottom - top)

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", f'<text class="chart-title" x="0" y="18">{escape(title)}</text>']  # fmt: skip
    if band is not None:
        a, b = px(max(band[0], x0)), px(min(band[1], x1))
        parts.append(f'<rect class="band" x="{a:.1f}" y="{top}" width="{max(b - a, 1):.1f}" height="{bottom - top}"/>')
    for tick in ticks:
        parts.append(f'<line class="grid" x1="{left}" y1="{py(tick):.1f}" x2="{right}" y2="{py(tick):.1f}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    points = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        points.append(f"{px(x):.1f},{py(y):.1f}")
        if i + 1 < len(xs):
            points.append(f"{px(xs[i + 1]):.1f},{py(y):.1f}")
    parts.append(f'<polyline class="series" fill="none" points="{" ".join(points)}"/>')
    parts.append(f'<text class="tick" x="{left}" y="{bottom + 18}">{escape(x_label)}</text>')
    parts.append(f'<text class="tick" x="{right}" y="{bottom + 18}" text-anchor="end">{escape(unit)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def ranges(
    title: str, categories: Sequence[str], lows: Sequence[float], mids: Sequence[float], highs: Sequence[float],
    unit: str, labels: Sequence[str],
) -> str:  # fmt: skip
    """Per category, the interval from `lows` to `highs` as a bar with a mark at `mids` (the median)."""
    ticks = nice_ticks(max(highs, default=0.0))
    scale = (WIDTH - LEFT - RIGHT) / ticks[-1]
    top = 34
    height = top + ROW * len(categories) + 28
    bottom = top + ROW * len(categories)
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", f'<text class="chart-title" x="0" y="18">{escape(title)}</text>']  # fmt: skip
    for tick in ticks:
        x = LEFT + tick * scale
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{_number(tick)}</text>')
    parts.append(f'<text class="tick" x="{WIDTH - RIGHT + 36}" y="{bottom + 16}">{escape(unit)}</text>')
    for index, category in enumerate(categories):
        y = top + index * ROW
        a, m, b = (LEFT + v * scale for v in (lows[index], mids[index], highs[index]))
        parts.append(f'<text class="category" x="{LEFT - 8}" y="{y + 17}" text-anchor="end">{escape(category)}</text>')
        parts.append(f'<rect class="s0 interval" x="{a:.2f}" y="{y + 9}" width="{max(b - a, 1):.2f}" height="{ROW - 18}">'
                     f"<title>5th–95th percentile: {_number(lows[index])}–{_number(highs[index])} {escape(unit)}</title></rect>")  # fmt: skip
        parts.append(f'<rect class="s1" x="{m - 1.5:.2f}" y="{y + 4}" width="3" height="{ROW - 8}"/>')
        parts.append(f'<text class="value" x="{b + 6:.2f}" y="{y + 17}">{escape(labels[index])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
