"""The `nnci` command. Exit codes: 0 ok, 1 diagnostics or failed expectations, 2 usage error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nnci import api, ir, output
from nnci.diagnostics import Diagnostic, NnciError, render_all
from nnci.engine import Engine
from nnci.evaluate import compare, evaluate
from nnci.ir import TOTAL
from nnci.schema import ADDITIVE, KINDS, SCHEMA
from nnci.units import CARBON, ENERGY, UnitError, parse_unit


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        return int(args.command(args))
    except NnciError as error:
        print(render_all(error.diagnostics, error.sources), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnci", description="Energy and carbon footprint of neural networks.")
    parser.add_argument("--version", action="version", version=f"nnci {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="evaluate files and print every job's footprint",
                              description="Evaluate .nnci files and print each job's energy, operational, "
                              "embodied and total carbon, and their sum.")  # fmt: skip
    run.add_argument("files", nargs="+", metavar="FILE", help="`-` reads standard input")
    run.add_argument("--format", choices=("table", "json", "csv", "md"), default="table")
    run.add_argument("--unit", action="append", default=[], metavar="UNIT",
                     help="show quantities of this unit's dimension in it (e.g. MWh, tCO2e); repeatable")  # fmt: skip
    _project_options(run)
    run.set_defaults(command=_run)

    check = commands.add_parser("check", help="check files without printing results",
                                description="Parse and check .nnci files: syntax, names, units, dimensions, "
                                "plausible values and `check` lines.")  # fmt: skip
    check.add_argument("files", nargs="+", metavar="FILE", help="`-` reads standard input")
    _project_options(check)
    check.set_defaults(command=_check)

    explain = commands.add_parser("explain", help="show how one quantity was derived",
                                  description="Print the derivation tree of NAME.QUANTITY: formulas, inputs "
                                  "with values and units, and citations.")  # fmt: skip
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("target", metavar="NAME.QUANTITY", help="e.g. gpt3.operational or total.energy")
    explain.add_argument("--format", choices=("tree", "json"), default="tree", help="json: the same tree as data")
    _project_options(explain)
    explain.set_defaults(command=_explain)

    compare = commands.add_parser("compare", help="one job under every published method, side by side",
                                  description="Evaluate job NAME with every method (nnci, patterson, llmcarbon, "
                                  "bloom) whose inputs are available and print energy, operational, embodied "
                                  "and total carbon with the spread between methods.")  # fmt: skip
    compare.add_argument("file", metavar="FILE")
    compare.add_argument("job", metavar="NAME", help="a training or inference block")
    _project_options(compare)
    compare.set_defaults(command=_compare)

    fmt = commands.add_parser("fmt", help="format files in the canonical layout",
                              description="Print files in the canonical layout, comments kept. With -w, rewrite "
                              "them in place (only if the result parses back to the same program and comments; "
                              "through symlinks, keeping hard links, owner, mode, a byte-order mark and CRLF); with --check, exit 1 if any file would change.")  # fmt: skip
    fmt.add_argument("files", nargs="+", metavar="FILE")
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("-w", "--write", action="store_true", help="rewrite the files in place")
    mode.add_argument("--check", action="store_true", help="only report files that are not formatted")
    fmt.set_defaults(command=_fmt)

    catalog = commands.add_parser("catalog", help="list or search the standard library",
                                  description="List or search the records of the standard library (std/...): "
                                  "name, key figures and source. Every word of QUERY must match the name, "
                                  "label, vendor, zone or source.")  # fmt: skip
    catalog.add_argument("query", nargs="*", metavar="QUERY")
    catalog.add_argument("--kind", choices=KINDS, help="only records of this kind")
    catalog.add_argument("--sources", action="store_true", help="show each record's sources")
    catalog.set_defaults(command=_catalog)

    validate = commands.add_parser("validate", help="run every `expect` line",
                                   description="Evaluate each file (directories are searched for *.nnci) and "
                                   "compare computed values with `expect` lines; exit 1 if any fails.")  # fmt: skip
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument("--format", choices=("table", "md"), default="table", help="md: a Markdown table")
    _project_options(validate)
    validate.set_defaults(command=_validate)
    return parser


def _project_options(command: argparse.ArgumentParser) -> None:
    """The options that widen what a scenario may read (see "Security model" in the README)."""
    command.add_argument("--allow-import", action="append", default=[], metavar="DIR",
                         help="also allow imports from DIR (imports must otherwise stay inside the project: "
                         "the folder of the file named, or the nearest one above it holding nnci.toml)")  # fmt: skip
    command.add_argument("--max-file-bytes", type=int, default=None, metavar="N",
                         help="refuse files larger than N bytes (default 50 MB, or $NNCI_MAX_FILE_BYTES)")  # fmt: skip


def _load(args: argparse.Namespace, *files: str | Path, everything: bool = False) -> ir.Program:
    return api.load(*files, everything=everything, allow_imports=args.allow_import, max_file_bytes=args.max_file_bytes)


def _version() -> str:
    from nnci import __version__

    return __version__


def _warn(diagnostics: list[Diagnostic], sources: dict[str, str]) -> None:
    if diagnostics:
        print(render_all(diagnostics, sources), file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    for unit in args.unit:
        try:
            dimension = parse_unit(unit).dimension
        except UnitError as error:
            print(f"nnci run: --unit: {error}" + (f" ({error.hint})" if error.hint else ""), file=sys.stderr)
            return 2
        if dimension not in (ENERGY, CARBON):
            print(f"nnci run: --unit {unit}: the figures shown are energy and carbon; "
                  "give an energy unit (kWh, MWh) or a carbon unit (kgCO2e, tCO2e)", file=sys.stderr)  # fmt: skip
            return 2
    program = _load(args, *args.files)
    _warn(api.check(program), program.sources)
    results = evaluate(program)
    render = {"table": output.table, "md": output.to_markdown, "csv": output.to_csv}
    if args.format == "json":
        print(output.to_json(results, args.files, args.unit))
    else:
        print(render[args.format](results, args.unit))
    return 0


def _check(args: argparse.Namespace) -> int:
    program = _load(args, *args.files)
    warnings = api.check(program)
    _warn(warnings, program.sources)
    count = len(program.roots)
    print(f"ok: {len(args.files)} file{'s' if len(args.files) != 1 else ''}, {count} block{'s' if count != 1 else ''}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    program = _load(args, args.file, everything=True)
    _warn(api.check(program), program.sources)
    found = _target(program, args.target)
    if isinstance(found, str):
        print(f"nnci explain: {found}", file=sys.stderr)
        return 2
    key, quantity = found
    render = output.explain_json if args.format == "json" else output.explain
    print(render(Engine(program).quantity(key, quantity), program.sources))
    return 0


def _target(program: ir.Program, target: str) -> tuple[ir.BlockKey, str] | str:
    """`block.quantity`, `alias.block.quantity` or `total.quantity`; else what is wrong with it."""
    alias, _, rest = target.partition(".")
    if alias in program.aliases and rest:
        target = f"{program.aliases[alias]}.{rest}"
    name, _, quantity = target.rpartition(".")
    if target == "total" or name == "":
        return f"`{target}` is not a quantity: write `block.quantity`, e.g. `total.energy`"
    if name == "total":
        if quantity not in ADDITIVE:
            return f"`total.{quantity}` is not a sum over jobs (total names: {', '.join(ADDITIVE)})"
        return TOTAL, quantity
    key = next((k for k in program.blocks if str(k) == name), None)
    if key is None:
        as_block = next((k for k in program.blocks if str(k) == target), None)
        if as_block is not None:
            block = program.blocks[as_block]
            example = "energy" if block.kind in ("training", "inference") else next(iter(block.fields), "…")
            return f"`{target}` is a block: name one of its quantities, e.g. `{target}.{example}`"
        known = ", ".join(str(k) for k in program.roots)
        return f"no block `{name or target}` (blocks: {known}; or `total`)"
    kind = program.blocks[key].kind
    names = [n for n, spec in SCHEMA[kind].items() if spec.type == "quantity"]
    if quantity not in names:
        return f"a {kind} has no quantity `{quantity}` (it has: {', '.join(names)})"
    return key, quantity


def _compare(args: argparse.Namespace) -> int:
    program = _load(args, args.file)
    _warn(api.check(program), program.sources)
    key = next((k for k in program.jobs if str(k) == args.job), None)
    if key is None:
        jobs = ", ".join(str(k) for k in program.jobs) or "none"
        print(
            f"nnci compare: no training or inference block `{args.job}` in {args.file} (jobs: {jobs})", file=sys.stderr
        )
        return 2
    print(output.comparison_table(args.job, compare(program, key), Engine(program).method_of(key, None)))
    return 0


def _fmt(args: argparse.Namespace) -> int:
    from nnci import formatting

    status = 0
    for file in args.files:
        result = formatting.format_file(Path(file))
        if result.diagnostics:
            print(render_all(result.diagnostics, {result.key: result.source}), file=sys.stderr)
            status = 1
            continue
        changed = result.formatted != result.original
        if args.check:
            if changed:
                print(f"would reformat {file}")
                status = 1
        elif args.write:
            problem = formatting.write_in_place(Path(file), result.formatted, result.original) if changed else None
            if problem is not None:
                print(render_all([problem], {}), file=sys.stderr)
                status = 1
            elif changed:
                print(f"reformatted {file}")
        else:
            sys.stdout.write(result.formatted)
    return status


def _catalog(args: argparse.Namespace) -> int:
    from nnci import catalog

    hits, problems = catalog.search(" ".join(args.query), args.kind)
    if problems:
        print(render_all(problems, {}), file=sys.stderr)
        return 1
    print(catalog.render(hits, args.sources))
    return 0


def _validate(args: argparse.Namespace) -> int:
    rows: list[list[str]] = []
    reports: list[str] = []  # rendered diagnostics: files with errors, then failed expectations
    failed = broken = 0
    for file in _nnci_files(args.paths):
        try:
            program = _load(args, file)
            api.check(program)
        except NnciError as error:
            broken += 1
            reports.append(render_all(error.diagnostics, error.sources))
            continue
        results = evaluate(program)
        rows += output.validation_rows(str(file), results.expects)
        failures = [output.expectation_diagnostic(e) for e in results.expects if not e.passed]
        failed += len(failures)
        if failures:
            reports.append(render_all(failures, program.sources))
    if rows:
        print(output.validation_markdown(rows) if args.format == "md" else output.validation_table(rows))
    for text in reports:
        print("\n" + text, file=sys.stderr)
    if not rows and not broken:
        print("no `expect` lines found (expectations of imported files are not run; name the files)")
    summary = f"\n{len(rows) - failed} passed, {failed} failed"
    print(summary + (f", {broken} file(s) with errors" if broken else ""))
    return 1 if failed or broken else 0


def _nnci_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(path.rglob("*.nnci"))
        else:
            files.append(path)  # a missing file is reported by the loader, like every command does
    return list(dict.fromkeys(files))  # a file named twice is validated once
