"""`nnci import FILE` and `nnci export FILE --to if`: the commands of the interop package."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from nnci.diagnostics import Diagnostic, render_all
from nnci.interop.common import READS, Imported, at, read_input


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = commands.add_parser(
        "import", help="make a scenario from an IF manifest, a CodeCarbon emissions.csv or a Slurm sacct log",
        description="Read an nn-ci manifest of the Impact Framework (IF 0.3 or 1.x; .yml/.yaml), a CodeCarbon "
        "emissions.csv, or Slurm `sacct -P` output, and write the equivalent .nnci scenario (and the tables "
        "it imports, beside it). Every value says where it came from.")  # fmt: skip
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("-o", "--output", metavar="SCENARIO.nnci", help="write the scenario here (default: print it)")
    imp.add_argument("--from", dest="kind", choices=("manifest", "codecarbon", "sacct"),
                     help="what FILE is (default: from its name and first line)")  # fmt: skip
    imp.add_argument("--cluster", metavar="CLUSTER.nnci",
                     help="sacct: the cluster's devices, datacenter and one fleet per partition")  # fmt: skip
    imp.add_argument("--force", action="store_true",
                     help="replace a table beside the scenario (e.g. OUT-jobs.csv) that exists and differs")  # fmt: skip
    imp.set_defaults(command=_import)

    exp = commands.add_parser(
        "export", help="write a scenario as an Impact Framework 1.x manifest (IF builtins only)",
        description="Evaluate FILE and write an IF 1.x manifest that computes the same energy, operational, "
        "embodied and total carbon with IF's builtin plugins (Multiply, Sum, Divide), one tree child per job "
        "and per device kind's embodied carbon.")  # fmt: skip
    exp.add_argument("file", metavar="FILE")
    exp.add_argument("--to", choices=("if",), required=True, help="the format: `if`, an Impact Framework manifest")
    exp.add_argument("-o", "--output", metavar="MANIFEST.yml", help="write the manifest here (default: print it)")
    exp.set_defaults(command=_export)

    compare = commands.choices.get("compare")
    if compare is not None:  # `nnci compare FILE JOB --measured`: the measured energy beside the estimate
        compare.add_argument("--measured", action="store_true",
                             help="the job's measured energy (e.g. imported from CodeCarbon) beside nnci's "
                             "estimate for the same devices and hours, with the ratio")  # fmt: skip
        by_method = compare.get_default("command")
        compare.set_defaults(command=lambda args: _measured(args) if args.measured else by_method(args))


def _measured(args: argparse.Namespace) -> int:
    from nnci import api
    from nnci.interop.measured import measured_vs_estimated, table

    program = api.load(args.file, allow_imports=args.allow_import, max_file_bytes=args.max_file_bytes)
    warnings = api.check(program)
    if warnings:
        print(render_all(warnings, program.sources), file=sys.stderr)
    key = next((k for k in program.jobs if str(k) == args.job), None)
    if key is None:
        jobs = ", ".join(str(k) for k in program.jobs) or "none"
        print(f"nnci compare: no training or inference block `{args.job}` in {args.file} (jobs: {jobs})",
              file=sys.stderr)  # fmt: skip
        return 2
    rows, given = measured_vs_estimated(program, key)
    if not rows:
        print(f"nnci compare --measured: {given}", file=sys.stderr)
        return 2
    print(table(args.job, rows, given))
    return 0


def _kind(path: Path, text: str) -> str:
    first = text.split("\n", 1)[0]
    if path.suffix.lower() in (".yml", ".yaml"):
        return "manifest"
    if "|" in first and "jobid" in first.lower():
        return "sacct"
    if path.suffix.lower() == ".csv" or ("," in first and "energy_consumed" in first):
        return "codecarbon"
    return "manifest"


def _looks_like_scenario(path: Path, text: str) -> bool:
    first = next((line.strip() for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")), "")
    return path.suffix.lower() == ".nnci" or re.fullmatch(r"nnci \d+\.\d+", first) is not None


def _scenario_given(shown: str, text: str) -> Diagnostic:
    """A .nnci file given to `nnci import`: most often the cluster file of a sacct import, in FILE's place."""
    number, line = next(((n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()), (1, ""))
    return Diagnostic("E600", "this file looks like an nnci scenario, not one nnci import reads",
                      at(shown, number, 1, len(line.rstrip())), notes=(READS,),
                      help="run a scenario with `nnci run FILE`; a cluster file goes after --cluster: "
                      "`nnci import LOG.sacct --cluster CLUSTER.nnci -o OUT.nnci`")  # fmt: skip


def _import(args: argparse.Namespace) -> int:
    read = read_input(Path(args.file))
    if isinstance(read, Diagnostic):
        print(render_all([read], {}), file=sys.stderr)
        return 1
    shown, text = read
    if args.kind is None and _looks_like_scenario(Path(args.file), text):
        print(render_all([_scenario_given(shown, text)], {shown: text}), file=sys.stderr)
        return 1
    kind = args.kind or _kind(Path(args.file), text)
    output = Path(args.output) if args.output else None
    if kind == "manifest":
        from nnci.interop.manifest import import_manifest

        table = f"{output.stem}-observations.csv" if output else None
        result = import_manifest(text, shown, table)
    elif kind == "codecarbon":
        from nnci.interop.codecarbon import import_codecarbon

        result = import_codecarbon(text, shown)
    else:
        from nnci.interop.slurm import import_sacct

        if not args.cluster:
            print("nnci import: a sacct log needs --cluster CLUSTER.nnci (devices, datacenter, a fleet per "
                  "partition)", file=sys.stderr)  # fmt: skip
            return 2
        table = f"{output.stem}-jobs.csv" if output else None
        result = import_sacct(text, shown, Path(args.cluster), output, table)
    inputs = [Path(args.file), *([Path(args.cluster)] if args.cluster else [])]
    return _write(result, output, inputs, args.force)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _refused(result: Imported, output: Path, inputs: list[Path], force: bool) -> str | None:
    """Why writing `output` and its tables would lose what the user wrote, if it would: an input
    is never overwritten; a table the user did not name is replaced only if unchanged, or with --force."""
    tables = [(output.parent / name, text) for name, text in result.tables.items()]
    for path in [output, *(path for path, _ in tables)]:
        source = next((i for i in inputs if _same_file(path, i)), None)
        if source is not None:
            named = "-o" if path == output else f"{path}, the table of -o {output},"
            other = output.with_suffix(".nnci")
            example = "" if any(_same_file(other, i) for i in inputs) else f", e.g. -o {other}"
            return f"{named} would overwrite the input {source}; write the scenario elsewhere{example}"
    for path, text in tables:
        try:
            existing = path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            existing = ""
        if existing is not None and existing != text and not force:
            return (
                f"{path} exists and differs from the table this import writes beside {output}; "
                "pass --force to replace it, or choose another -o"
            )
    return None


def _write(result: Imported, output: Path | None, inputs: list[Path], force: bool = False) -> int:
    if output is not None and result.scenario is not None:
        refusal = _refused(result, output, inputs, force)
        if refusal is not None:
            print(f"nnci import: {refusal}", file=sys.stderr)
            return 2
    if result.diagnostics:
        print(render_all(result.diagnostics, result.sources), file=sys.stderr)
    if result.scenario is None:
        return 1
    if output is None:
        if result.tables:
            print("nnci import: this scenario imports tables; name it with -o FILE.nnci", file=sys.stderr)
            return 2
        sys.stdout.write(result.scenario)
        return 0
    try:
        for name, table in result.tables.items():
            (output.parent / name).write_text(table, encoding="utf-8")
        output.write_text(result.scenario, encoding="utf-8")
    except OSError as error:
        print(f"nnci import: cannot write {output}: {error.strerror or error}", file=sys.stderr)
        return 1
    written = [str(output), *(str(output.parent / name) for name in result.tables)]
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from nnci.interop.export import export_if

    if args.output and _same_file(Path(args.output), Path(args.file)):
        print(f"nnci export: -o would overwrite the scenario {args.file}; write the manifest elsewhere, e.g. "
              f"-o {Path(args.output).with_suffix('.yml')}", file=sys.stderr)  # fmt: skip
        return 2
    text, diagnostics, sources = export_if(args.file)
    if diagnostics:
        print(render_all(diagnostics, sources), file=sys.stderr)
    if text is None:
        return 1
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"nnci export: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return 1
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
