"""The text and JSON of `nnci sensitivity` (kept apart from nnci/output.py, which reports runs)."""

from __future__ import annotations

import json

from nnci.quantity import Quantity, format_number
from nnci.uncertain.sensitivity import METHOD, Ranking
from nnci.units import CARBON, ENERGY, Dimension, display_unit, parse_unit

LARGE_UNITS = {ENERGY: ("kWh", "MWh", 1e4), CARBON: ("kgCO2e", "tCO2e", 1e3)}


def _unit(dimension: Dimension, value: float) -> str:
    if dimension in LARGE_UNITS:
        small, large, threshold = LARGE_UNITS[dimension]
        return large if abs(Quantity(value, dimension).to(small)) >= threshold else small
    return display_unit(dimension)


def sensitivity_table(ranking: Ranking) -> str:
    summary = ranking.summary
    unit = _unit(ranking.unit_dimension, summary.p50)
    factor = parse_unit(unit).factor if unit else 1.0

    def shown(value: float | None, digits: int = 4) -> str:
        return "—" if value is None else format_number(value / factor, digits)

    lines = [
        f"sensitivity of {ranking.label}: median {shown(summary.p50)} [{shown(summary.p5)} – {shown(summary.p95)}] "
        f"{unit}".rstrip(),
        f"{ranking.samples:,} samples, seed {ranking.seed} (numpy {ranking.numpy})",
        "",
    ]
    header = ["rank", "input", "distribution", "ρ", "ρ²", f"at p5 [{unit}]", f"at p95 [{unit}]", "swing"]
    rows = []
    for index, influence in enumerate(ranking.influences, 1):
        rows.append([
            str(index), influence.input.label, influence.input.text,
            f"{influence.spearman:+.3f}" if influence.reaches else "0",
            f"{influence.explained:.3f}" if influence.reaches else "0",
            shown(influence.low), shown(influence.high),
            shown(influence.swing) if influence.reaches else "0",
        ])  # fmt: skip
    if not rows:
        return "\n".join([*lines, "no uncertain inputs: write a distribution (e.g. `uniform(280 W, 330 W)`)"])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    left = {1, 2}
    for row in [header, *rows]:
        lines.append("  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())  # fmt: skip
    lines.insert(4, "  ".join("-" * w for w in widths))
    unreached = [i.input.label for i in ranking.influences if not i.reaches]
    lines += ["", f"Σ ρ² = {ranking.total_explained:.3f} (near 1: the ranking accounts for the spread; below: "
              "interactions or effects that are not monotone)"]  # fmt: skip
    if unreached:
        lines.append(f"not read by {ranking.label}: {', '.join(unreached)}")
    lines.append(f"method: {METHOD}")
    return "\n".join(lines)


def sensitivity_json(ranking: Ranking) -> str:
    summary = ranking.summary
    unit = display_unit(ranking.unit_dimension)
    factor = parse_unit(unit).factor if unit else 1.0

    def scaled(value: float | None) -> float | None:
        return None if value is None else value / factor

    report = {
        "quantity": ranking.label,
        "unit": unit,
        "sampling": {"samples": ranking.samples, "seed": ranking.seed, "numpy": ranking.numpy},
        "method": METHOD,
        "samples": {"n": summary.n, "mean": scaled(summary.mean), "sd": scaled(summary.sd), "p5": scaled(summary.p5),
                    "p50": scaled(summary.p50), "p95": scaled(summary.p95)},
        "inputs": [
            {"rank": index, "input": i.input.label, "distribution": i.input.text, "at": str(i.input.span),
             "reaches": i.reaches, "spearman": i.spearman, "explained": i.explained,
             "at_p5": scaled(i.low), "at_p95": scaled(i.high), "swing": scaled(i.swing) if i.reaches else 0.0}
            for index, i in enumerate(ranking.influences, 1)
        ],
    }  # fmt: skip
    return json.dumps(report, indent=2, ensure_ascii=False)
