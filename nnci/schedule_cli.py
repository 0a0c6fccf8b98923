"""The `nnci schedule` command: its options, and the schedule as a table, JSON and a text chart."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnci.quantity import format_number
from nnci.timeparse import TimeError, format_duration, format_instant, parse_duration, parse_instant

if TYPE_CHECKING:
    from nnci.schedule import Candidate, Schedule

KG = 1.0
G_PER_KWH = 1e-3 / 3.6e6  # one gCO2e/kWh in kgCO2e/J


def add_command(commands: Any, project_options: Callable[[argparse.ArgumentParser], None],
                load: Callable[..., Any]) -> None:  # fmt: skip
    command = commands.add_parser(
        "schedule",
        help="when and where to run a job: the lowest-carbon start in a window, per site",
        description="Search the start times of a window (and, with --sites, the datacenters) for the one at "
        "which job NAME emits least, from the hourly series its grids read; a window counts only if the data "
        "covers it fully (the carbon-aware SDK's rule). The saving is against the job's own `start` and site.",
    )
    command.add_argument("file", metavar="FILE")
    command.add_argument("job", metavar="NAME", help="a training or inference block")
    command.add_argument("--between", nargs=2, required=True, metavar=("FROM", "TO"),
                         help="the window: ISO 8601 date-times with a timezone, e.g. 2024-03-01T00:00Z")  # fmt: skip
    command.add_argument("--step", default=None, metavar="DURATION",
                         help="between candidate starts (default: the data's interval), e.g. 1h, 30min, PT15M")  # fmt: skip
    command.add_argument("--sites", default=None, metavar="A,B,C", help="datacenter blocks to compare, ranked")
    command.add_argument("--interruptible", action="store_true",
                         help="the job may pause and resume: run in the lowest-intensity intervals of the window")  # fmt: skip
    command.add_argument("--max-pieces", type=int, default=None, metavar="K",
                         help="with --interruptible: at most K separate runs")  # fmt: skip
    command.add_argument("--format", choices=("table", "json"), default="table")
    project_options(command)
    command.set_defaults(command=lambda args: _schedule(args, load))


def _schedule(args: argparse.Namespace, load: Callable[..., Any]) -> int:
    from nnci.schedule import ScheduleError, schedule  # only when scheduling: every other command starts faster

    try:
        between = (parse_instant(args.between[0]), parse_instant(args.between[1]))
        step = parse_duration(args.step) if args.step else None
    except TimeError as error:
        print(f"nnci schedule: {error}" + (f"; {error.hint}" if error.hint else ""), file=sys.stderr)
        return 2
    if between[1] <= between[0]:
        print("nnci schedule: --between ends before it starts", file=sys.stderr)
        return 2
    if args.max_pieces is not None and (not args.interruptible or args.max_pieces < 1):
        print("nnci schedule: --max-pieces needs --interruptible and at least 1", file=sys.stderr)
        return 2
    program = load(args, args.file)
    sites = tuple(s.strip() for s in args.sites.split(",") if s.strip()) if args.sites else ()
    try:
        found = schedule(program, args.job, between, step, sites, args.interruptible, args.max_pieces)
    except ScheduleError as error:
        print(f"nnci schedule: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(to_json(found), indent=2, ensure_ascii=False))
    else:
        print(render(found))
    return 0 if found.candidates else 1


def _carbon(kg: float) -> str:
    return f"{format_number(kg / 1000, 4)} tCO2e" if abs(kg) >= 1000 else f"{format_number(kg, 4)} kgCO2e"


def _saving(candidate: Candidate, baseline: Candidate | None) -> str:
    if candidate.saving is None or baseline is None or baseline.carbon == 0:
        return "—"
    return f"{_carbon(candidate.saving)} ({100 * candidate.saving / baseline.carbon:.1f} %)"


def render(found: Schedule) -> str:
    mode = "pausing and resuming" if found.interruptible else f"every {format_duration(found.step)}"
    lines = [f"nnci schedule: `{found.job}` ({format_duration(found.duration)}) between "
             f"{format_instant(found.between[0])} and {format_instant(found.between[1])}, {mode}", ""]  # fmt: skip
    header = ["rank", "site", "start", "end", "operational", "mean intensity", "saving vs own start", "ties"]
    if found.interruptible:
        header[-1] = "pieces"
    rows = [header]
    for rank, c in enumerate(found.candidates, 1):
        last = str(len(c.pieces)) if found.interruptible else str(c.ties)
        rows.append([str(rank), c.site, format_instant(c.start), format_instant(c.end), _carbon(c.carbon),
                     f"{format_number(c.intensity / G_PER_KWH, 4)} gCO2e/kWh", _saving(c, found.baseline), last])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if found.baseline is not None:
        b = found.baseline
        lines += ["", f"own start: {b.site} {format_instant(b.start)}–{format_instant(b.end)}, {_carbon(b.carbon)} "
                  f"at {format_number(b.intensity / G_PER_KWH, 4)} gCO2e/kWh"]  # fmt: skip
    if found.candidates and found.interruptible:
        best = found.candidates[0]
        spans = ", ".join(f"{format_instant(a)}–{format_instant(b)}" for a, b in best.pieces[:6])
        lines.append(f"runs in: {spans}" + (f" and {len(best.pieces) - 6} more" if len(best.pieces) > 6 else ""))
    if found.candidates and found.candidates[0].ties > 1:
        lines.append(f"{found.candidates[0].ties} starts tie for the lowest carbon; the earliest is shown")
    lines += [f"note: {note}" for note in found.notes]
    if found.chart:
        lines += ["", found.chart]
    return "\n".join(lines)


def _quantity(value: float | None, unit: str, factor: float) -> dict[str, Any] | None:
    return None if value is None else {"value": value / factor, "unit": unit}


def _candidate(c: Candidate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "job": c.job, "site": c.site, "start": format_instant(c.start), "end": format_instant(c.end),
        "carbon": _quantity(c.carbon, "kgCO2e", KG), "saving": _quantity(c.saving, "kgCO2e", KG),
        "intensity": _quantity(c.intensity, "gCO2e/kWh", G_PER_KWH), "ties": c.ties,
    }  # fmt: skip
    if c.pieces:
        out["pieces"] = [{"start": format_instant(a), "end": format_instant(b)} for a, b in c.pieces]
    return out


def to_json(found: Schedule) -> dict[str, Any]:
    from nnci import __version__

    return {
        "nnci": __version__,
        "job": found.job,
        "duration": {"value": found.duration / 3600, "unit": "h"},
        "between": [format_instant(found.between[0]), format_instant(found.between[1])],
        "step": format_duration(found.step),
        "interruptible": found.interruptible,
        "baseline": _candidate(found.baseline) if found.baseline is not None else None,
        "candidates": [_candidate(c) for c in found.candidates],
        "notes": list(found.notes),
    }
