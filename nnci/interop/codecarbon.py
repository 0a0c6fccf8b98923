"""`nnci import emissions.csv`: CodeCarbon runs → jobs with their *measured* energy.

CodeCarbon writes one row per run (columns are the fields of its `EmissionsData`, in an order
that grew across versions, so they are matched by name). Each row becomes a training job:

- `it_energy` = `energy_consumed / pue`: CodeCarbon multiplies every energy by its PUE before
  writing it, so the PUE is divided out here and kept as the datacenter's `pue` (energy = IT
  energy × PUE gives back CodeCarbon's figure); files without a `pue` column used PUE 1; a PUE
  below 1 is refused;
- `duration` in seconds, and the run's start (`timestamp` − duration; local time, zone unknown)
  in a comment;
- the GPUs (`gpu_count`, `gpu_model` such as "8 x NVIDIA A100-SXM4-80GB") as an amend of the
  catalog device whose name matches, given a lifetime (assumed, and said) so that the run is
  charged its share of the embodied carbon;
- the location (`cloud_provider`/`cloud_region` on a cloud, else `country_iso_code`) as an
  amend of the catalog grid of that place, whose intensity is CodeCarbon's effective one
  (`emissions / energy_consumed`), so that the scenario reproduces the measurement;
- `emissions` (kg) as an `expect` on the job's operational carbon.

`nnci compare FILE JOB --measured` puts the measured energy beside nnci's estimate for the same
devices and hours.
"""

from __future__ import annotations

import csv
import io
import math
import re

import attrs

from nnci.diagnostics import Diagnostic, Span, sort_diagnostics
from nnci.interop.common import Imported, at, failed
from nnci.interop.printer import Entry, Item, Map, Num, Ref, Scenario, Str, identifier

REQUIRED = ("duration", "energy_consumed", "emissions")
ASSUMED_LIFETIME_YEARS = 5
VENDOR_WORDS = frozenset({"nvidia", "amd", "intel", "tesla", "geforce", "google", "aws", "instinct"})
NUMERIC = ("duration", "emissions", "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy", "pue", "gpu_count",
           "water_consumed", "cpu_power", "gpu_power", "ram_power")  # fmt: skip


@attrs.frozen
class Catalog:
    devices: list[tuple[str, frozenset[str], str]]  # (name, tokens, label)
    grids: list[tuple[str, str, float]]  # (name, zone, year)


def _tokens(text: str) -> frozenset[str]:
    words = re.split(r"[^a-z0-9]+", text.lower())
    return frozenset(w for w in words if w and w not in VENDOR_WORDS)


def catalog() -> Catalog:
    from nnci.catalog import records

    found, _ = records()
    devices = [(r.name, _tokens(r.label), r.label) for r in found
               if r.kind == "device" and r.module == "std/hardware" and "host" not in r.label.lower()]  # fmt: skip
    grids = [(r.name, r.zone, r.year) for r in found if r.kind == "grid" and r.module == "std/grids"]
    return Catalog(devices, grids)


def match_device(model: str, known: Catalog) -> tuple[str | None, str]:
    """The catalog device a CodeCarbon GPU name means, and how it was decided."""
    model = re.sub(r"^\s*\d+\s*x\s*", "", model)
    tokens = _tokens(model)
    key = next((t for t in sorted(tokens) if re.search(r"[a-z]", t) and re.search(r"\d", t)
                and not t.endswith("gb")), None)  # fmt: skip
    if key is None:
        return None, f"no model number in `{model}`"
    candidates = [(len(tokens & t), name, label) for name, t, label in known.devices if key in t]
    if not candidates:
        return None, f"no catalog device is a `{key}`"
    best = max(c[0] for c in candidates)
    top = [c for c in candidates if c[0] == best]
    if len(top) > 1:
        return None, f"`{model}` could be {', '.join(c[1] for c in top)}"
    return top[0][1], f"`{model}` is {top[0][2]}"


def match_grid(row: dict[str, str], known: Catalog) -> tuple[str | None, str]:
    provider, region = row.get("cloud_provider", "").lower(), row.get("cloud_region", "").lower()
    if row.get("on_cloud", "N").upper() == "Y" and provider and region:
        prefix = f"{identifier(provider)}_{identifier(region)}"
        named = [(year, name) for name, _, year in known.grids if name == prefix or
                 re.fullmatch(re.escape(prefix) + r"_\d{4}", name)]  # fmt: skip
        if named:
            _, name = max(named)
            return name, f"cloud region {provider} {region}"
    iso = row.get("country_iso_code", "").lower()
    zoned = [(year, name) for name, zone, year in known.grids if iso and zone == iso]
    if zoned:
        _, name = max(zoned)
        return name, f"country {iso.upper()}, the catalog's latest year"
    return None, "no catalog grid for " + (f"{provider} {region}, " if region else "") + (iso.upper() or "no country")


def import_codecarbon(text: str, file: str, known: Catalog | None = None) -> Imported:
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if "\r" in text:  # a lone carriage return: the csv module refuses it mid-cell
        number = text.count("\n", 0, text.index("\r")) + 1
        column = text.index("\r") - (text.rfind("\n", 0, text.index("\r")) + 1) + 1
        return failed([Diagnostic("E610", "a carriage return (\\r) that does not end a line", at(file, number, column),
                                  help="save the file with \\n or \\r\\n line endings")], file, text)  # fmt: skip
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return failed([Diagnostic("E610", "an empty file is not a CodeCarbon emissions.csv", at(file, 1, 1))],
                      file, text)  # fmt: skip
    columns = {name.strip(): i for i, name in enumerate(header)}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return failed([Diagnostic("E610", f"no {', '.join(f'`{m}`' for m in missing)} column",
                                  at(file, 1, 1, len(lines[0])),
                                  notes=("CodeCarbon's emissions.csv has duration, emissions and energy_consumed "
                                         "in every version",), help="is this CodeCarbon's emissions.csv?")],
                      file, text)  # fmt: skip
    known = known or catalog()
    out = Scenario()
    warnings: list[Diagnostic] = []
    problems: list[Diagnostic] = []
    names: set[str] = set()
    jobs = 0
    if "pue" not in columns:
        warnings.append(Diagnostic("E604", "no `pue` column: CodeCarbon used PUE 1 (its default)",
                                   at(file, 1, 1, len(lines[0])), "warning"))  # fmt: skip
    header_comment = [
        f"Imported from {file} (CodeCarbon) by `nnci import`: one job per run, with its measured energy.",
        "CodeCarbon's energies include its PUE, divided out here (it_energy) and kept as the site's pue. Each "
        "grid is the catalog's for the run's place, with CodeCarbon's effective intensity (emissions / energy), "
        f"so the expect lines hold; the catalog devices are given a {ASSUMED_LIFETIME_YEARS}-year lifetime "
        "(assumed: CodeCarbon measures no embodied carbon).",
        "Measured beside estimated: nnci compare FILE JOB --measured.",
    ]
    out.comment(*header_comment)
    out.import_("std/hardware", "hw")
    out.import_("std/grids", "grids")
    rows = []
    try:
        rows = list(enumerate(reader, 2))
    except csv.Error as error:  # a cell over the csv module's field limit (128 KiB), say
        problems.append(Diagnostic("E610", f"not CSV from here on: {error}", at(file, reader.line_num, 1)))
    for number, row_cells in rows:
        if not any(c.strip() for c in row_cells):
            continue
        if len(row_cells) != len(header):
            problems.append(Diagnostic("E610", f"this row has {len(row_cells)} cells, the header {len(header)}",
                                       at(file, number, 1, len(lines[number - 1]) if number <= len(lines) else 1),
                                       notes=("CodeCarbon appends rows without a header when a column is empty "
                                              "in every row, which shifts the cells",)))  # fmt: skip
            continue
        row = {name: row_cells[i].strip() for name, i in columns.items()}
        values: dict[str, float] = {}
        bad = False
        for name in NUMERIC:
            if row.get(name, "") == "":
                continue
            try:
                values[name] = float(row[name])
            except ValueError:
                column = sum(len(c) + 1 for c in row_cells[: columns[name]]) + 1
                problems.append(Diagnostic("E610", f"`{row[name]}` in column `{name}` is not a number",
                                           at(file, number, column, len(row_cells[columns[name]]))))  # fmt: skip
                bad = True
                continue
            if not math.isfinite(values[name]) or values[name] < 0:
                column = sum(len(c) + 1 for c in row_cells[: columns[name]]) + 1
                problems.append(Diagnostic("E610", f"`{row[name]}` in column `{name}` is not a finite, non-negative "
                                           "number", at(file, number, column, len(row_cells[columns[name]]))))  # fmt: skip
                bad = True
        for name in REQUIRED:
            if name not in values and not bad:
                column = sum(len(c) + 1 for c in row_cells[: columns[name]]) + 1
                problems.append(Diagnostic("E610", f"the run has no `{name}` (the cell is empty)",
                                           at(file, number, column), help="an empty cell is unknown, never 0"))  # fmt: skip
                bad = True
        if not bad:
            bad = _impossible(values, row_cells, columns, file, number, problems)
        if bad:
            continue
        counted = re.match(r"\s*(\d+)\s*x\s", row.get("gpu_model", ""))
        if counted and "gpu_count" in values and int(counted[1]) != values["gpu_count"]:
            warnings.append(Diagnostic("E604", f"gpu_count is {row['gpu_count']} but gpu_model says "
                                       f"`{row['gpu_model']}`; the run counts {row['gpu_count']}",
                                       _cell(file, number, row_cells, columns, "gpu_count"), "warning",
                                       ("CodeCarbon's gpu_count is the GPUs it tracked (gpu_ids); gpu_model "
                                        "counts every GPU of the machine",),
                                       "if the run used them all, set gpu_count to the number in gpu_model"))  # fmt: skip
        jobs += 1
        self_name = identifier(f"{row.get('project_name') or 'run'}_{(row.get('run_id') or str(number))[:8]}", names)
        self_warnings = _job(out, row, values, self_name, file, number, known)
        warnings += [attrs.evolve(w, span=at(file, number, 1)) for w in self_warnings]
    for run_id, lines_of in _repeated_runs(text, columns).items():
        warnings.append(Diagnostic("E604", f"run {run_id} has {len(lines_of)} rows (lines {', '.join(map(str, lines_of))})",
                                   at(file, lines_of[1], 1), "warning",
                                   ("each row is a job of its own: one per GPU rank of a multi-GPU run (codecarbon#544) "
                                    "adds up, but ranks sharing a node may count it twice",),
                                   "keep one row per machine if the ranks measured the same node"))  # fmt: skip
    if problems:
        return failed(sort_diagnostics([*warnings, *problems]), file, text)
    if not jobs:
        return failed([Diagnostic("E610", "the file has no run", at(file, 1, 1))], file, text)
    return Imported(out.text(), {}, tuple(sort_diagnostics(warnings)), {file: text})


def _cell(file: str, line: int, cells: list[str], columns: dict[str, int], name: str) -> Span:
    column = sum(len(c) + 1 for c in cells[: columns[name]]) + 1
    return at(file, line, column, len(cells[columns[name]]))


def _impossible(values: dict[str, float], cells: list[str], columns: dict[str, int], file: str, line: int,
                problems: list[Diagnostic]) -> bool:  # fmt: skip
    """Numbers no run can have: a PUE below 1, no time, emissions without energy. Reported at the cell."""
    bad = False
    if "pue" in values and values["pue"] < 1:
        problems.append(Diagnostic("E610", f"a PUE of {cells[columns['pue']].strip()} is impossible",
                                   _cell(file, line, cells, columns, "pue"),
                                   notes=("PUE is facility energy / IT energy, at least 1; CodeCarbon's energies "
                                          "are multiplied by it",),
                                   help="write the PUE the run's datacenter had (CodeCarbon's default is 1)"))  # fmt: skip
        bad = True
    if values["duration"] == 0:
        problems.append(Diagnostic("E610", "a run of 0 s", _cell(file, line, cells, columns, "duration"),
                                   notes=("a job that runs for no time uses nothing; nnci refuses a duration of 0",),
                                   help="write the run's duration in seconds, or leave the row out"))  # fmt: skip
        bad = True
    if values["energy_consumed"] == 0 and values["emissions"] > 0:
        problems.append(Diagnostic("E610", f"no energy consumed, yet {cells[columns['emissions']].strip()} kgCO2e "
                                   "emitted", _cell(file, line, cells, columns, "energy_consumed"),
                                   notes=("emissions are energy_consumed × the grid's intensity: with no energy "
                                          "there are none",),
                                   help="a run too short for CodeCarbon to measure energy; re-measure it, or "
                                   "leave the row out"))  # fmt: skip
        bad = True
    return bad


def _job(out: Scenario, row: dict[str, str], values: dict[str, float], name: str, file: str, line: int,
         known: Catalog) -> list[Diagnostic]:  # fmt: skip
    warnings: list[Diagnostic] = []
    where = f"{file}:{line}"
    pue = values.get("pue", 1.0)  # no column: CodeCarbon's default; below 1 was refused
    energy = values["energy_consumed"]
    emissions = values["emissions"]
    fleet: list[Entry] = []
    gpus = values.get("gpu_count", 0)
    model = row.get("gpu_model", "")
    if gpus and model:
        device, how = match_device(model, known)
        if device is not None:
            out.block("device", f"{name}_gpu", [Item("lifetime", Num(ASSUMED_LIFETIME_YEARS, "years"),
                      "assumed: CodeCarbon measures no embodied carbon")], base=f"hw.{device}", comment=how)  # fmt: skip
            fleet.append(Entry(f"{name}_gpu", Num(gpus), f"gpu_count, {where}"))
        else:
            warnings.append(Diagnostic("E604", f"GPU `{model}` is not in the catalog; the run has no fleet", None,
                                       "warning", (how,), "nnci catalog lists the devices it knows"))  # fmt: skip
    intensity = emissions * 1000 / energy if energy else None  # kg/kWh → g/kWh
    grid, how = match_grid(row, known)
    items = []
    if intensity is not None:
        items.append(Item("intensity", Num(float(f"{intensity:.12g}"), "gCO2e/kWh"),
                          "CodeCarbon's effective intensity: emissions / energy_consumed"))  # fmt: skip
    if grid is None:
        warnings.append(Diagnostic("E604", f"{how}: the run's grid is CodeCarbon's intensity alone", None, "warning"))
        items.insert(0, Item("label", Str(row.get("country_name") or row.get("region") or "unknown place")))
    out.block("grid", f"{name}_grid", items, base=f"grids.{grid}" if grid else None,
              comment=how if grid else None)  # fmt: skip
    out.block("datacenter", f"{name}_site", [Item("pue", Num(pue), f"CodeCarbon's pue, {where}"),
                                             Item("grid", Ref(f"{name}_grid"))])  # fmt: skip
    start = ""
    if row.get("timestamp"):
        start = f"; ended {row['timestamp']} local time (zone unknown), {values['duration']:g} s earlier it started"
    job_items = []
    if fleet:
        job_items.append(Item("fleet", Map(tuple(fleet))))
    job_items += [
        Item("site", Ref(f"{name}_site")),
        Item("duration", Num(values["duration"], "s"), f"duration, {where}{start}"),
        Item("it_energy", Num(float(f"{energy / pue:.15g}"), "kWh"),
             f"measured: energy_consumed {row['energy_consumed']} kWh / pue {pue:g}"),
    ]  # fmt: skip
    parts = [f"{k} {row[k]} kWh" for k in ("gpu_energy", "cpu_energy", "ram_energy") if row.get(k)]
    if row.get("water_consumed"):
        parts.append(f"water {row['water_consumed']} L")
    out.doc(f"CodeCarbon run {row.get('run_id') or '?'} of project {row.get('project_name') or '?'}"
            + (f" (CodeCarbon {row['codecarbon_version']})" if row.get("codecarbon_version") else "")
            + (": " + ", ".join(parts) + ", PUE included" if parts else "") + ".")  # fmt: skip
    out.block("training", name, job_items, sources=[f"{file}, line {line}: CodeCarbon emissions.csv"])
    out.expect(f"{name}.operational", Num(emissions, "kgCO2e", row["emissions"]), None,
               f"emissions, {where} (measured)")  # fmt: skip
    return warnings


def _repeated_runs(text: str, columns: dict[str, int]) -> dict[str, list[int]]:
    """run_id → the lines of its rows, for run ids on more than one row."""
    if "run_id" not in columns:
        return {}
    seen: dict[str, list[int]] = {}
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text)), 1):
            if number > 1 and len(cells) > columns["run_id"] and cells[columns["run_id"]].strip():
                seen.setdefault(cells[columns["run_id"]].strip(), []).append(number)
    except csv.Error:
        pass  # reported where the rows are read
    return {run: lines for run, lines in seen.items() if len(lines) > 1}
