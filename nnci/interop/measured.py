"""`nnci compare FILE JOB --measured`: a job's measured energy beside nnci's estimate.

A job imported from CodeCarbon carries its measured `it_energy` (or `energy`); nnci can also
estimate the same job from its devices, their power and its duration. The estimate is the same
program with the measured fields left out, so every other input (devices, site, hours) is shared.
"""

from __future__ import annotations

import attrs

from nnci import ir
from nnci.engine import Derivation, Engine, Result

MEASURED = ("energy", "it_energy")
SHOWN = ("it_energy", "energy", "operational")


def measured_vs_estimated(program: ir.Program, key: ir.BlockKey) -> tuple[list[tuple[str, Result, Result]], str]:
    """(quantity, measured, estimated) rows, or no rows and why."""
    block = program.blocks[key]
    given = [name for name in MEASURED if name in block.fields]
    if not given:
        return [], f"`{key}` has no measured energy (`it_energy` or `energy` given), so there is nothing to compare"
    fields = {name: field for name, field in block.fields.items() if name not in MEASURED}
    estimated_program = attrs.evolve(program, blocks={**program.blocks, key: attrs.evolve(block, fields=fields)})
    measured, estimated = Engine(program), Engine(estimated_program)
    rows = [(name, measured.quantity(key, name), estimated.quantity(key, name)) for name in SHOWN]
    return rows, ", ".join(f"`{name}` given at {block.fields[name].span}" for name in given)


def table(job: str, rows: list[tuple[str, Result, Result]], given: str) -> str:
    header = ["quantity", "measured", "estimated (nnci)", "measured ÷ estimated"]
    body = []
    for name, measured, estimated in rows:
        cells = [name, _shown(measured), _shown(estimated)]
        if isinstance(measured, Derivation) and isinstance(estimated, Derivation) and estimated.value.magnitude:
            cells.append(f"{float(measured.value.magnitude / estimated.value.magnitude):.3f}")
        else:
            cells.append("")
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"{job}: measured ({given}) beside nnci's estimate from its devices, their power and its duration", ""]
    for i, row in enumerate([header, *body]):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths,
                                                                                                 strict=True))).rstrip())  # fmt: skip
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    missing = [(name, e) for name, _, e in rows if not isinstance(e, Derivation)]
    for name, unknown in missing:
        lines.append(f"\n{name}: no estimate: needs {', '.join(getattr(unknown, 'missing', ()) or ('?',))}")
    return "\n".join(lines)


def _shown(result: Result) -> str:
    if not isinstance(result, Derivation):
        return "unknown"
    unit = "kWh" if result.name in ("energy", "it_energy") else "kgCO2e"
    factor = 3.6e6 if unit == "kWh" else 1.0
    return f"{float(result.value.magnitude) / factor:,.6g} {unit}"
