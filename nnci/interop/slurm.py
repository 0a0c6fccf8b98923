"""`nnci import sacct.txt --cluster cluster.nnci`: a Slurm job log → one job over a table of jobs.

Reads `sacct --parsable2` output (`-P`: fields separated by `|`, a header line naming them; the
trailing `|` of `--parsable` is accepted too), with at least JobID, Partition, NNodes, Elapsed and
State (User, Account and AllocTRES when present; GreenAlgorithms4HPC's field set works as is).
Steps (`123.batch`, `123.0`) are grouped into their job; array tasks (`123_4`) are jobs of their
own; pending and running jobs, and jobs that ran for no time (a job cancelled before it started
reads `00:00:00`), are left out and counted. Elapsed times are `[D-]HH:MM:SS[.ms]`.

The cluster file says what a partition is: a `fleet` block named like the partition lists what
one node holds (`fleet gpu { devices = { a100 = 4, node = 1 } }`). In a fleet of several kinds of
device, the first is the one `gres/gpu=N` of AllocTRES counts (N per job, 0 without it); every
other device counts NNodes times its number per node. A fleet of one kind of device (a CPU
partition) counts NNodes times it. Its one `datacenter` is the site of every job.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs

from nnci import api, ir
from nnci.diagnostics import Diagnostic, NnciError, sort_diagnostics
from nnci.interop.common import Imported, at, failed
from nnci.interop.printer import Entry, Item, Map, Ref, Scenario, identifier
from nnci.load import display_path

REQUIRED = ("JobID", "Partition", "NNodes", "Elapsed", "State")
OPTIONAL = ("User", "Account", "AllocTRES", "JobName")
LEFT_OUT = ("PENDING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED", "PD", "R", "RQ", "RS", "S")
ELAPSED = re.compile(r"(?:(?P<days>\d+)-)?(?:(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>\d+(?:\.\d+)?)")
GPUS = re.compile(r"(?:^|,)gres/gpu=(\d+)")
TYPED_GPUS = re.compile(r"(?:^|,)gres/gpu:[^=,]+=(\d+)")
ZERO_ELAPSED = "with zero elapsed time"
JOB_ID = re.compile(r"(?P<job>\d+(?:_\d+)?)(?:\.(?P<step>[\w+-]+))?")


@attrs.frozen
class Job:
    job_id: str
    user: str
    account: str
    partition: str
    state: str
    nodes: int
    gpus: int
    hours: float
    line: int
    gpus_at: tuple[int, int] = (1, 1)  # (column, width) of AllocTRES on its line


def parse_elapsed(text: str) -> float | None:
    """`[D-]HH:MM:SS[.ms]` (or `MM:SS[.ms]`) → hours; None if it is not one."""
    text = text.strip()
    if len(text) > 32:  # no elapsed time is that long; the pattern need not look at it
        return None
    match = ELAPSED.fullmatch(text)
    if match is None:
        return None
    days = int(match["days"] or 0)
    hours = int(match["hours"] or 0)
    minutes, seconds = int(match["minutes"]), float(match["seconds"])
    if minutes >= 60 or seconds >= 60 or (match["days"] is not None and match["hours"] is None):
        return None
    return days * 24 + hours + minutes / 60 + seconds / 3600


def read_sacct(text: str, file: str) -> tuple[list[Job], dict[str, int], list[Diagnostic]]:
    """The finished jobs of a log (steps folded in), how many were left out and why, and problems."""
    lines = text.replace("\r\n", "\n").split("\n")
    problems: list[Diagnostic] = []
    header = lines[0].rstrip("|").split("|") if lines else []
    columns = {name.strip(): i for i, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        problems.append(Diagnostic("E620", f"the sacct header has no {', '.join(f'`{m}`' for m in missing)}",
                                   at(file, 1, 1, len(lines[0]) if lines else 1),
                                   notes=("nnci reads `sacct --parsable2` output with a header line",),
                                   help="run sacct -P --format JobID,User,Account,Partition,NNodes,Elapsed,State,"
                                   "AllocTRES"))  # fmt: skip
        return [], {}, problems
    jobs: dict[str, Job] = {}
    steps: dict[str, int] = {}
    left_out: dict[str, int] = {}
    zero_elapsed: list[int] = []
    for number, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        cells = raw.split("|")
        if len(cells) == len(header) + 1 and cells[-1] == "":
            cells.pop()  # `sacct --parsable` ends each line with `|`
        if len(cells) != len(header):
            problems.append(Diagnostic("E620", f"this line has {len(cells)} fields, the header {len(header)}",
                                       at(file, number, 1, len(raw)),
                                       help="sacct -P separates fields by `|`; a `|` inside a job name shifts them"))  # fmt: skip
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[columns[name]].strip() if name in columns else ""

        def where(name: str, cells: list[str] = cells) -> tuple[int, int]:
            index = columns[name]
            start = sum(len(c) + 1 for c in cells[:index]) + 1
            return start, max(1, len(cells[index]))

        match = JOB_ID.fullmatch(cell("JobID"))
        if match is None:
            if re.fullmatch(r"\d+_\[.*\]", cell("JobID")):  # a pending array: `123_[4-10%2]`
                left_out["pending"] = left_out.get("pending", 0) + 1
                continue
            problems.append(Diagnostic("E620", f"`{cell('JobID')}` is not a job id", at(file, number, *where("JobID")),
                                       help="job ids look like 123, 123_4 (array task) or 123.batch (step)"))  # fmt: skip
            continue
        if match["step"] is not None:
            steps[match["job"]] = steps.get(match["job"], 0) + 1
            continue
        state = cell("State").split(" ")[0]
        if state in LEFT_OUT:
            left_out[state.lower()] = left_out.get(state.lower(), 0) + 1
            continue
        hours = parse_elapsed(cell("Elapsed"))
        if hours is None:
            problems.append(Diagnostic("E620", f"`{cell('Elapsed')}` is not an elapsed time",
                                       at(file, number, *where("Elapsed")),
                                       help="sacct writes [D-]HH:MM:SS[.ms], e.g. 01:30:00 or 1-02:00:00"))  # fmt: skip
            continue
        if hours == 0:  # cancelled before it started: no time, no energy, and a table that divides by it
            zero_elapsed.append(number)
            continue
        nodes_text = cell("NNodes")
        if not nodes_text.isdigit():
            problems.append(Diagnostic("E620", f"`{nodes_text}` is not a number of nodes",
                                       at(file, number, *where("NNodes"))))  # fmt: skip
            continue
        tres = cell("AllocTRES")
        plain = GPUS.search(tres)
        gpus = int(plain[1]) if plain else sum(int(n) for n in TYPED_GPUS.findall(tres))
        gpus_at = (1, 1)
        if "AllocTRES" in columns:  # the gres/gpu part of the cell, or the whole cell without one
            column, width = where("AllocTRES")
            found = plain or TYPED_GPUS.search(tres)
            lead = len(cells[columns["AllocTRES"]]) - len(cells[columns["AllocTRES"]].lstrip())
            if found is not None:
                start = found.start() + (1 if found[0].startswith(",") else 0)
                column, width = column + lead + start, found.end() - start
            gpus_at = (column, width)
        job_id = match["job"]
        if job_id in jobs:
            problems.append(Diagnostic("E620", f"job {job_id} appears twice", at(file, number, *where("JobID")),
                                       notes=(f"first at {file}:{jobs[job_id].line}",)))  # fmt: skip
            continue
        jobs[job_id] = Job(job_id, cell("User") or "unknown", cell("Account") or "unknown", cell("Partition"),
                           state, int(nodes_text), gpus, hours, number, gpus_at)  # fmt: skip
    if zero_elapsed:
        left_out[ZERO_ELAPSED] = len(zero_elapsed)
        lines_of = ", ".join(map(str, zero_elapsed[:10])) + (", ..." if len(zero_elapsed) > 10 else "")
        problems.append(Diagnostic("E620", f"{_jobs(len(zero_elapsed))} with Elapsed 00:00:00 left out: "
                                   "no time, no energy", at(file, zero_elapsed[0], 1, len(lines[zero_elapsed[0] - 1])),
                                   "warning", (f"lines {lines_of}",) if len(zero_elapsed) > 1 else (),
                                   "a job cancelled before it started used no energy; the scenario's header "
                                   "counts them"))  # fmt: skip
    return list(jobs.values()), {**left_out, "steps": sum(n for j, n in steps.items() if j in jobs)}, problems


def import_sacct(text: str, file: str, cluster: Path, output: Path | None, table: str | None) -> Imported:
    jobs, counts, problems = read_sacct(text, file)
    if any(p.severity == "error" for p in problems) or not jobs:
        if not any(p.severity == "error" for p in problems):
            problems.append(Diagnostic("E620", "the log has no finished job", at(file, 1, 1),
                                       notes=(f"left out: {_counted(counts)}",)))  # fmt: skip
        return failed(sort_diagnostics(problems), file, text)
    try:
        program = api.load(cluster, everything=True)
    except NnciError as error:
        return Imported(None, {}, tuple(error.diagnostics), error.sources)
    partitions, site, trouble = _cluster(program, display_path(cluster), {j.partition for j in jobs})
    if trouble:
        return Imported(None, {}, tuple(trouble), {**program.sources, file: text})
    folder = output.parent if output is not None else Path(".")
    relative = Path(os.path.relpath(cluster.resolve(), folder.resolve())).as_posix()
    if table is None:
        return failed([Diagnostic("E620", "a job log becomes a table of jobs, written beside the scenario", None,
                                  help="name the scenario with -o FILE.nnci")], file, text)  # fmt: skip
    devices = list(dict.fromkeys(d for fleet in partitions.values() for d, _ in fleet))
    taken = {"job_id", "user", "account", "partition", "state", "nodes", "gpus", "elapsed"}
    column = {d: identifier(d, taken) for d in devices}
    rows = ["job_id,user,account,partition,state,nodes,gpus," + ",".join(column[d] for d in devices) + ",elapsed [s]"]
    warnings = list(problems)
    for job in jobs:
        fleet = dict(partitions[job.partition])
        first, per_node = next(iter(fleet.items()), ("", 0.0))
        if len(fleet) > 1 and job.nodes and job.gpus > job.nodes * per_node:
            nodes = "1 node" if job.nodes == 1 else f"{job.nodes} nodes ({job.gpus / job.nodes:g} per node)"
            warnings.append(Diagnostic("E620", f"job {job.job_id} asks for {job.gpus} GPUs on {nodes}; a node of "
                                       f"partition `{job.partition}` holds {_count(per_node)} {first}",
                                       at(file, job.line, *job.gpus_at), "warning",
                                       (f"imported as sacct says: {job.gpus} {first}",),
                                       f"check AllocTRES, or the fleet `{job.partition}` of {cluster.name}"))  # fmt: skip
        counts_of = dict.fromkeys(devices, 0.0)
        kinds = list(fleet)
        for index, device in enumerate(kinds):
            if index == 0 and len(kinds) > 1:
                counts_of[device] = job.gpus
            else:
                counts_of[device] = job.nodes * fleet[device]
        cells = [job.job_id, job.user, job.account, job.partition, job.state, str(job.nodes), str(job.gpus),
                 *(_count(counts_of[d]) for d in devices), _count(round(job.hours * 3600, 3))]  # fmt: skip
        rows.append(",".join(_csv_cell(c) for c in cells))
    out = Scenario()
    out.comment(f"Imported from {file} (Slurm sacct) by `nnci import --cluster {relative}`: "
                f"{len(jobs)} finished {'job' if len(jobs) == 1 else 'jobs'}, one per row of {table}, steps grouped into their job.",
                f"Left out: {_counted(counts)}.",
                "Per user or account: nnci run FILE --by jobs.user (or --by jobs.account, --by jobs.state).")  # fmt: skip
    alias = "cluster" if "cluster" not in column.values() else "cluster_file"
    out.import_(relative, alias, "devices, datacenter and one fleet per partition")
    out.import_(table, "jobs", f"one row per job of {file}")
    fleet_entries = tuple(Entry(f"{alias}.{d}", Ref(f"jobs.{column[d]}")) for d in devices)
    accelerators = [fleet[0][0] for fleet in partitions.values() if len(fleet) > 1]
    items = [Item("rows", Ref("jobs")), Item("fleet", Map(fleet_entries))]
    if accelerators:
        items.append(Item("accelerators", Ref("jobs.gpus"), "the GPUs AllocTRES counts do the computing"))
    items += [Item("site", Ref(f"{alias}.{site}")), Item("duration", Ref("jobs.elapsed"), "sacct Elapsed")]
    out.block("training", "slurm_jobs", items, sources=[f"{file}: sacct job log"])
    if cluster.resolve().parent != folder.resolve() and not cluster.resolve().is_relative_to(folder.resolve()):
        warnings.append(Diagnostic("E604", f"{display_path(cluster)} is outside the scenario's folder", None,
                                   "warning", help=f"run it with --allow-import {display_path(cluster.parent)}"))  # fmt: skip
    return Imported(out.text(), {table: "\n".join(rows) + "\n"}, tuple(sort_diagnostics(warnings)), {file: text})


def _jobs(n: int) -> str:
    return "1 job" if n == 1 else f"{n} jobs"


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _counted(counts: dict[str, int]) -> str:
    parts = [f"{n} {state}" for state, n in sorted(counts.items()) if state != "steps" and n]
    steps = counts.get("steps", 0)
    text = ", ".join(parts) or "no pending or running job"
    return text + (f"; {steps} steps folded into their jobs" if steps else "")


def _cluster(
    program: ir.Program, file: str, partitions: set[str]
) -> tuple[dict[str, list[tuple[str, float]]], str, list[Diagnostic]]:
    """Each partition's devices per node (in the order written) and the datacenter, from the cluster file."""
    roots = {key.name: program.blocks[key] for key in program.roots}
    problems: list[Diagnostic] = []
    centres = [name for name, block in roots.items() if block.kind == "datacenter"]
    if len(centres) != 1:
        problems.append(Diagnostic("E620", f"{file} has {len(centres)} datacenters; nnci import needs exactly one",
                                   None, help="the site of every job of the log"))  # fmt: skip
    out: dict[str, list[tuple[str, float]]] = {}
    for partition in sorted(partitions):
        block = roots.get(partition) or roots.get(identifier(partition))
        if block is None or block.kind != "fleet":
            fleets = [name for name, b in roots.items() if b.kind == "fleet"]
            problems.append(Diagnostic("E620", f"partition `{partition}` has no fleet in {file}", None,
                                       notes=(f"fleets: {', '.join(fleets) or 'none'}",),
                                       help=f"add `fleet {identifier(partition)} {{ devices = {{ ... }} }}`: what one "
                                       "node of the partition holds"))  # fmt: skip
            continue
        devices = block.fields["devices"].expr
        entries: list[tuple[str, float]] = []
        for entry in devices.entries if isinstance(devices, ir.Map) else ():
            if entry.block.module != "" or not isinstance(entry.value, ir.Const):
                problems.append(Diagnostic("E620", f"fleet `{partition}` must count devices of {file} by numbers",
                                           entry.span, help="amend catalog devices in the cluster file: "
                                           "`device a100 = hw.a100_sxm4_80gb { ... }`"))  # fmt: skip
                continue
            entries.append((entry.block.name, float(entry.value.value.magnitude)))
        out[partition] = entries
    return out, centres[0] if len(centres) == 1 else "", problems
