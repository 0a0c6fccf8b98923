"""The `nnci` command. Exit codes: 0 ok, 1 diagnostics or failed expectations, 2 usage error."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from nnci import api, ir, output, provenance
from nnci.deep import with_deep_stack
from nnci.diagnostics import Diagnostic, NnciError, render_all
from nnci.engine import Derivation, Engine, Unknown
from nnci.evaluate import ALL, Results, compare
from nnci.ir import TOTAL
from nnci.load import STDIN_NAMES
from nnci.plan import Plan
from nnci.schema import ADDITIVE, JOB_QUANTITIES, KINDS, QUANTITIES, REPORTED, SCHEMA
from nnci.uncertain import DEFAULT_SAMPLES, MAX_SAMPLES
from nnci.units import Dimension, UnitError, parse_unit


def console() -> None:
    """The `nnci` command: `main`, then the process ends without freeing, one object at a time, what
    the run built (0.1 to 0.2 s for a scenario of 10,000 observations); output is flushed first."""
    gc.disable()  # for good: a collection after the run would walk every object it kept, for nothing
    kept: list[argparse.Namespace] = []
    code = main(kept=kept)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass  # a reader that went away, or closed the stream (the language server's client): nothing to tell
    except OSError as error:  # a full disk: the output is lost, and that is said
        print(f"nnci: the output could not be written ({error.strerror or error})", file=sys.stderr)
        code = code or 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None, kept: list[argparse.Namespace] | None = None) -> int:
    """`kept` receives the run's arguments, which hold its results (`args.results`), so that they
    outlive the call (`console` ends the process without freeing them)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if kept is not None:
        kept.append(args)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    # One run builds a few objects per line of input and frees them at the end; the cyclic collector
    # would rescan all of them again and again (a cost growing faster than the input), and nothing
    # here makes reference cycles worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return with_deep_stack(_dispatch, args)
    finally:
        if collecting:
            gc.enable()


def _dispatch(args: argparse.Namespace) -> int:
    args.later = []  # what to do once the output is written: store a compiled program (`_compiled`)
    try:
        code = int(args.command(args))
        _store_compiled(args)
        return code
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
    run.add_argument("--show", action="append", default=[], metavar="NAMES",
                     help="the figures to show, comma-separated (e.g. duration,compute,energy_per_query); "
                     "the default is energy, operational, embodied and total carbon")  # fmt: skip
    run.add_argument("--all", action="store_true",
                     help="every figure nnci can derive for each job (JSON and CSV always list them all)")  # fmt: skip
    run.add_argument("--sources", action="store_true",
                     help="also print the bibliography: every data source (`@source`) and formula citation the "
                     "figures shown rest on")  # fmt: skip
    run.add_argument("--rows", action="store_true",
                     help="jobs over a table: one result row per input row, the input's columns first")  # fmt: skip
    run.add_argument("--by", action="append", default=[], metavar="TABLE.COLUMN",
                     help="jobs over a table: totals per distinct value of a column (e.g. jobs.account); repeatable")  # fmt: skip
    _sampling_options(run, required=False)
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
    explain.add_argument("--samples", type=_positive, default=None, metavar="N",
                         help="a figure that reads uncertain inputs is shown as the median and 5th–95th percentiles "
                         f"of N samples (default {DEFAULT_SAMPLES:,})")  # fmt: skip
    explain.add_argument("--seed", type=_seed, default=0, metavar="S", help="the seed of the draws (default 0)")
    _project_options(explain)
    explain.set_defaults(command=_explain)

    sensitivity = commands.add_parser("sensitivity", help="rank the uncertain inputs by the spread of a figure they explain",
                                      description="Sample every distribution and rank the uncertain inputs by how much "
                                      "of the spread of NAME.QUANTITY each explains (squared Spearman rank correlation), "
                                      "with each input's one-at-a-time swing between its 5th and 95th percentiles.")  # fmt: skip
    sensitivity.add_argument("file", metavar="FILE")
    sensitivity.add_argument("target", metavar="NAME.QUANTITY", help="e.g. gpt3.total or total.operational")
    sensitivity.add_argument("--format", choices=("table", "json"), default="table")
    _sampling_options(sensitivity, required=True)
    _project_options(sensitivity)
    sensitivity.set_defaults(command=_sensitivity)

    compare = commands.add_parser("compare", help="one job under every published method, side by side",
                                  description="Evaluate job NAME with every method (nnci, patterson, llmcarbon, "
                                  "bloom) whose inputs are available and print energy, operational, embodied "
                                  "and total carbon with the spread between methods.")  # fmt: skip
    compare.add_argument("file", metavar="FILE")
    compare.add_argument("job", metavar="NAME", help="a training or inference block")
    compare.add_argument("--unit", action="append", default=[], metavar="UNIT",
                         help="show quantities of this unit's dimension in it (e.g. kWh, kgCO2e); repeatable")  # fmt: skip
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
                                  "name, key figures and source. Every word of QUERY must match; records "
                                  "matched by name, label, zone or description come first, then a count of "
                                  "those matched only in the text of their sources.")  # fmt: skip
    catalog.add_argument("query", nargs="*", metavar="QUERY")
    catalog.add_argument("--kind", choices=KINDS, help="only records of this kind")
    catalog.add_argument("--sources", action="store_true", help="show each record's sources")
    catalog.add_argument("--all", action="store_true",
                         help="list every match, also those past the first 25 and those matched only in source text")  # fmt: skip
    catalog.set_defaults(command=_catalog)

    validate = commands.add_parser("validate", help="run every `expect` line",
                                   description="Evaluate each file (directories are searched for *.nnci) and "
                                   "compare computed values with `expect` lines; exit 1 if any fails.")  # fmt: skip
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument("--format", choices=("table", "md"), default="table", help="md: a Markdown table")
    validate.add_argument("--samples", type=_positive, default=DEFAULT_SAMPLES, metavar="N",
                          help="bounds on statistics of samples (`expect p95(x) <= …`) are judged on N draws "
                          f"(default {DEFAULT_SAMPLES:,})")  # fmt: skip
    validate.add_argument("--seed", type=_seed, default=0, metavar="S", help="the seed of those draws (default 0)")
    _project_options(validate)
    validate.set_defaults(command=_validate)
    _interop_commands(commands)
    _whatif_commands(commands, run, check, explain)
    from nnci.schedule_cli import add_command as add_schedule

    add_schedule(commands, _project_options, _load)
    lsp = commands.add_parser("lsp", help="the language server for editors (over stdio)",
                              description="Run the language server over stdio, for any LSP client: diagnostics as "
                              "you type, computed values on hover, go to definition, find references, completion, "
                              "formatting and the outline. Needs the lsp extra: pip install '.[lsp]' in a clone of nnci.")  # fmt: skip
    lsp.add_argument("--stdio", action="store_true", help="talk over stdin and stdout (the default and only way)")
    lsp.set_defaults(command=_lsp)
    return parser


def _lsp(args: argparse.Namespace) -> int:
    from nnci.lsp import main as serve

    gc.enable()  # a session lives long: the cycles it makes are worth collecting
    return serve()


def _sampling_options(command: argparse.ArgumentParser, required: bool) -> None:
    default = f" (default {DEFAULT_SAMPLES:,})" if required else ""
    command.add_argument("--samples", type=_positive, default=DEFAULT_SAMPLES if required else None, metavar="N",
                         help="Monte Carlo: draw every distribution N times and report each figure's median and "
                         f"5th–95th percentiles{default}")  # fmt: skip
    command.add_argument("--seed", type=_seed, default=0, metavar="S",
                         help="the seed of the draws (default 0); the same seed gives the same output")  # fmt: skip


def _seed(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a seed is a whole number ≥ 0")
    return value


def _at_least_one(text: str, unit: str = "") -> int:
    """A whole number of at least 1, written with `_` or `,` between thousands if one likes."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"`{text}` is not a whole number{' of ' + unit + 's' if unit else ''}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1{' ' + unit if unit else ''}")
    return value


def _byte_count(text: str) -> int:
    return _at_least_one(text, "byte")


def _positive(text: str) -> int:
    value = _at_least_one(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_SAMPLES:,}: every figure is an array of that many numbers, kept for the report "
            "(4,000,000 samples of the demo take about 870 MiB)"
        )
    return value


def _project_options(command: argparse.ArgumentParser) -> None:
    """The options that widen what a scenario may read (see "Security model" in the README)."""
    command.add_argument("--allow-import", action="append", default=[], metavar="DIR",
                         help="also allow imports from DIR (imports must otherwise stay inside the project: "
                         "the folder of the file named, or the nearest one above it holding nnci.toml)")  # fmt: skip
    command.add_argument("--max-file-bytes", type=_byte_count, default=None, metavar="N",
                         help="refuse files larger than N bytes (default 50 MB, or $NNCI_MAX_FILE_BYTES)")  # fmt: skip


def _load(args: argparse.Namespace, *files: str | Path, everything: bool = False) -> ir.Program:
    return api.load(*files, everything=everything, allow_imports=args.allow_import, max_file_bytes=args.max_file_bytes,
                    overrides=getattr(args, "set", ()))  # fmt: skip


def _compiled(
    args: argparse.Namespace,
    *files: str | Path,
    everything: bool = False,
    sampled: bool = True,
    overrides: Sequence[str] | None = None,
) -> tuple[ir.Program, Plan, Engine, list[Diagnostic]]:
    """Loaded, compiled and checked: from the compiled-program cache unless `--set` (or `overrides`)
    or `--samples` change the program or how it is evaluated (`sampled=False`: `--samples` is used
    later, not here). A program to store is stored by `_store_compiled`, once the output is written."""
    samples = getattr(args, "samples", None) if sampled else None
    overrides = getattr(args, "set", ()) if overrides is None else overrides
    if overrides or samples is not None:
        program = api.load(*files, everything=everything, allow_imports=args.allow_import,
                           max_file_bytes=args.max_file_bytes, overrides=overrides)  # fmt: skip
        if samples is not None and not program.uncertain:  # said, not ignored: every figure is exact
            print(f"nnci: --samples {samples:,} changes nothing: no input is a distribution, so every figure "
                  "is exact (an uncertain input is written e.g. `pue = uniform(1.1, 1.3)`)", file=sys.stderr)  # fmt: skip
            samples = None
        plan, engine = api.compile(program, samples, getattr(args, "seed", 0))
        return program, plan, engine, api.check(program, engine)
    return api.load_compiled(*files, everything=everything, allow_imports=args.allow_import,
                             max_file_bytes=args.max_file_bytes, later=args.later)  # fmt: skip


def _store_compiled(args: argparse.Namespace) -> None:
    if args.later:
        sys.stdout.flush()  # the results are out before the entry is written
        for save in args.later:
            save()


def _version() -> str:
    from nnci import __version__

    return __version__


def _warn(diagnostics: list[Diagnostic], sources: dict[str, str]) -> None:
    if diagnostics:
        print(render_all(diagnostics, sources), file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    show = [name.strip() for item in args.show for name in item.split(",") if name.strip()]
    if args.show and not show:
        print("nnci run: --show names no quantity; e.g. `--show energy,operational`", file=sys.stderr)
        return 2
    twice = sorted({name for name in show if show.count(name) > 1})
    if twice:
        print(f"nnci run: --show {', '.join(twice)}: given twice; name each quantity once", file=sys.stderr)
        return 2
    figures: Sequence[str] | str = ALL if args.all or (args.format in ("json", "csv") and not show) else show
    dimensions = _units(args.unit, "run")
    if dimensions is None:
        return 2
    program, plan, engine, warnings = _compiled(args, *args.files)
    for name in show:
        if name not in JOB_QUANTITIES:
            print(f"nnci run: --show {name}: {_not_a_job_quantity(program, name)}", file=sys.stderr)
            return 2
    grouping = _grouping(program, args.by) if args.by else None
    if isinstance(grouping, str):
        print(f"nnci run: --by: {grouping}", file=sys.stderr)
        return 2
    if args.rows and not any(program.rows_of(job) for job in program.jobs):
        print("nnci run: --rows: no job has `rows = <table>`; --rows lists the rows of jobs over a table",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.rows and grouping and args.format == "csv":
        print("nnci run: --rows with --by and --format csv: a CSV file holds one table; run `--rows` and `--by` "
              "one at a time (text, md and json show both: the rows, then the groups)", file=sys.stderr)  # fmt: skip
        return 2
    if args.samples is not None and (args.rows or grouping):
        print("nnci run: --samples with --rows or --by: a job over a table cannot be sampled yet", file=sys.stderr)
        return 2
    _warn(warnings, program.sources)
    results = api.evaluate(program, engine, plan, figures)
    args.results = results  # freed with the arguments (not when this returns: see `console`)
    _unused_units(dimensions, results, figures)
    if args.rows or grouping:
        tables = output.rows_tables(results, args.unit, figures) if args.rows else []
        if grouping and show:  # a group's figures are sums: the reported ones
            print("nnci run: --show with --by changes nothing: a group lists the sums of the reported figures",
                  file=sys.stderr)  # fmt: skip
        if grouping:
            tables.append(output.group_table(results, grouping[0], grouping[1], args.unit))
        print(output.render_tabular(tables, args.format))
    elif args.format == "json":
        references = _bibliography(program, results) if args.sources else None
        output.write_json(results, args.files, args.unit, sys.stdout.write, references)
    else:
        render = {"table": output.table, "md": output.to_markdown, "csv": output.to_csv}
        print(render[args.format](results, args.unit, figures))
    if args.sources and args.format != "json":
        print("\n" + provenance.render(_bibliography(program, results)))
    found_late = [d for d in engine.diagnostics if d not in warnings]  # faults in some rows, found evaluating
    found_late += _unused_overrides(program, engine, plan.lanes)
    found_late += [] if args.set else _failed_expectations(results)  # a what-if is not the figure expected
    _warn(found_late, program.sources)
    return 1 if any(d.severity == "error" for d in found_late) else 0


def _failed_expectations(results: Results) -> list[Diagnostic]:
    """A failed `expect` line, said by `run` as a warning (`validate` is the command that fails on it)."""
    return [
        attrs.evolve(d, severity="warning", notes=(*d.notes, "`nnci validate` fails on it; `run` only says so"))
        for d in (output.expectation_diagnostic(e) for e in results.expects if not e.passed)
    ]


def _not_a_job_quantity(program: ir.Program, name: str) -> str:
    """Why `--show NAME` names no column: a named figure is printed under the table, not as a column."""
    figure = program.figures.get(name)
    if figure is not None and figure.named:
        return (f"`{name}` is a figure (`figure {name} = …` at {figure.span}), not a quantity of each job: "
                "figures are always printed under the table, so it needs no --show; --show picks the columns, "
                "e.g. `--show energy,operational`")  # fmt: skip
    from nnci.resolve import did_you_mean

    hint = did_you_mean(name, JOB_QUANTITIES) or "the figures of a job: " + ", ".join(JOB_QUANTITIES)
    return f"no job has a quantity `{name}`; {hint}"


def _bibliography(program: ir.Program, results: Results) -> list[provenance.Reference]:
    """The sources beneath every figure shown, traced by an engine that evaluates job by job (a stacked
    group's figures keep no trace of their own)."""
    engine = Engine(program)
    figures = [engine.quantity(job.key, name) for job in results.jobs for name in job.quantities]
    figures += [engine.quantity(ir.FIGURE, name) for name in results.derived]
    return provenance.bibliography(program, figures)


def _units(units: Sequence[str], command: str) -> dict[str, Dimension] | None:
    """Each `--unit` with its dimension; None (said) if one is no unit."""
    dimensions: dict[str, Dimension] = {}
    for unit in units:
        try:
            dimension = parse_unit(unit).dimension
        except UnitError as error:
            print(f"nnci {command}: --unit: {error}" + (f" ({error.hint})" if error.hint else ""), file=sys.stderr)
            return None
        earlier = next((u for u, d in dimensions.items() if d == dimension), None)
        if earlier is not None:  # the later would replace it: said, not silently
            print(f"nnci {command}: --unit {earlier} and --unit {unit} are both {dimension.describe()}; "
                  "give one unit per dimension", file=sys.stderr)  # fmt: skip
            return None
        dimensions[unit] = dimension
    return dimensions


def _unused_units(dimensions: dict[str, Dimension], results: Results, figures: Sequence[str] | str) -> None:
    """`--unit days` when no figure shown is a time changes nothing: said, with the figures that are."""
    shown = {QUANTITIES[name].dim for job in results.jobs for name in job.quantities}
    for unit, dimension in dimensions.items():
        if dimension in shown:
            continue
        having = [n for n in JOB_QUANTITIES if QUANTITIES[n].dim == dimension]
        hint = (f"add `--show {','.join(having)}`" if having and figures != ALL
                else "no figure of a job has that dimension")  # fmt: skip
        print(f"nnci run: --unit {unit}: no figure shown is {dimension.describe()}; {hint}", file=sys.stderr)


def _grouping(program: ir.Program, by: Sequence[str]) -> tuple[str, list[str]] | str:
    """`--by jobs.account --by jobs.team` → the table's key and the columns; else what is wrong."""
    table, columns = None, []
    for item in by:
        alias, _, column = item.partition(".")
        key = program.aliases.get(alias)
        if key not in program.tables or not column:
            tables = [a for a, k in program.aliases.items() if k in program.tables]
            return f"`{item}` is not TABLE.COLUMN" + (
                f" (tables: {', '.join(tables)})" if tables else " (no table is imported)"
            )
        if table is not None and key != table:
            return "every --by names a column of the same table"
        found = program.tables[key].columns.get(column)
        if found is None or not found.groups_by:
            texts = [c.name for c in program.tables[key].columns.values() if c.groups_by]
            return (f"`{item}` is not a column of `{alias}` that names groups: a text column, or plain numbers "
                    f"without a unit such as an id (those of `{alias}`: {', '.join(texts) or 'none'})")  # fmt: skip
        table = key
        columns.append(column)
    if not any(program.rows_of(job) == table for job in program.jobs):
        return f"no job has `rows = {by[0].partition('.')[0]}`"
    assert table is not None
    return table, columns


def _check(args: argparse.Namespace) -> int:
    program, _, _, warnings = _compiled(args, *args.files)
    _warn(warnings, program.sources)
    count = len(program.roots)
    print(f"ok: {len(args.files)} file{'s' if len(args.files) != 1 else ''}, {count} block{'s' if count != 1 else ''}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    program, plan, engine, warnings = _compiled(args, args.file, everything=True, sampled=False)
    target, row = _row_target(args.target)
    found = _target(program, target)
    if not isinstance(found, str) and row is not None:
        found = _check_row(program, found, row)
    if isinstance(found, str):
        print(f"nnci explain: {found}", file=sys.stderr)
        return 2
    key, quantity = found
    _warn(warnings, program.sources)
    if row is not None:  # one row of a job over a table, replayed with scalars
        table = program.tables[program.rows_of(key) or ""]
        result = Engine(program, row=row - 1).quantity(key, quantity)
        if args.format == "json":
            about = {"row": row, "table": table.file, "at": str(table.row_span(row - 1))}
            print(output.explain_json(result, program.sources, about, program))
        else:
            print(f"{key}[{row}]: row {row} of {table.file}, at {table.row_span(row - 1)}")
            print(output.explain(result, program.sources, program, one_row=True))
        return 0
    if _uncertain_target(program, key):
        return _explain_sampled(args, program, key, quantity)
    if key == TOTAL:  # a sum over jobs: every job's figure, jobs of one shape evaluated together
        api.evaluate(program, engine, plan)
    else:  # one job: its whole derivation
        engine = Engine(program)
    result = engine.quantity(key, quantity)
    if args.format == "json":
        print(output.explain_json(result, program.sources, None, program))
        return 0
    print(output.explain(result, program.sources, program))
    stacked = next((group.jobs[0] for group in plan.groups if group.stacked is not None), None)
    if key == TOTAL and stacked is not None and isinstance(result, Derivation):
        print(f"\n(jobs of one shape, evaluated together, are shown with their formulas, not their inputs: "
              f"`nnci explain {args.file} {stacked}.{quantity}` shows one job's)")  # fmt: skip
    return 0


def _uncertain_target(program: ir.Program, key: ir.BlockKey) -> bool:
    from nnci.uncertain.sampling import uncertain_blocks

    return program.uncertain and key in uncertain_blocks(program)


def _explain_sampled(args: argparse.Namespace, program: ir.Program, key: ir.BlockKey, quantity: str) -> int:
    """A figure that reads uncertain inputs: the tree of medians, each sampled figure with its interval."""
    from nnci.uncertain import explain

    samples = args.samples or DEFAULT_SAMPLES
    _plan, engine = api.compile(program, samples, args.seed)
    annotated = explain.medians(engine.quantity(key, quantity), samples, program)
    assert engine.sampler is not None
    if args.format == "json":
        sampling = {"samples": samples, "seed": args.seed, "numpy": engine.sampler.numpy_version}
        about: dict[str, object] = {"sampling": sampling}
        print(
            output.explain_json(annotated.tree, program.sources, about, program, explain.json_extra(program, annotated))
        )
    else:
        print(output.draws_text(samples, args.seed, engine.sampler.numpy_version)
              + "; a figure is the median of its samples, a given distribution its exact median")  # fmt: skip
        print(output.explain(annotated.tree, program.sources, program, explain.annotator(program, annotated)))
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from nnci.uncertain import report, sensitivity

    program = _load(args, args.file)
    found = _target(program, args.target)
    if isinstance(found, str):
        print(f"nnci sensitivity: {found}", file=sys.stderr)
        return 2
    if args.samples < sensitivity.MIN_SAMPLES:
        print(f"nnci sensitivity: --samples {args.samples:,} is too few to rank inputs: a rank correlation over "
              f"so few draws is noise (with 2 it is ±1 whatever the model); use at least "
              f"{sensitivity.MIN_SAMPLES:,} (default {DEFAULT_SAMPLES:,})", file=sys.stderr)  # fmt: skip
        return 2
    _plan, engine = api.compile(program, args.samples, args.seed)  # refuses what cannot be sampled
    _warn(api.check(program, engine), program.sources)
    ranking = sensitivity.rank(program, *found, args.samples, args.seed)
    if isinstance(ranking, Unknown):
        print(f"nnci sensitivity: {ranking.label} is unknown: {output.unknown_reason(ranking)}", file=sys.stderr)
        return 1
    print(report.sensitivity_json(ranking) if args.format == "json" else report.sensitivity_table(ranking))
    return 0


def _row_target(target: str) -> tuple[str, int | None]:
    """`job[17].energy` → (`job.energy`, 17); anything else is returned as it is."""
    match = re.fullmatch(r"(.+)\[(\d+)\]\.([A-Za-z_]\w*)", target)
    return (f"{match[1]}.{match[3]}", int(match[2])) if match else (target, None)


def _check_row(program: ir.Program, found: tuple[ir.BlockKey, str], row: int) -> tuple[ir.BlockKey, str] | str:
    """The target of `job[row].quantity`, or why it names no row."""
    key, quantity = found
    table = program.rows_of(key)
    if table is None:
        return f"`{key}` is not a job over a table, so it has no rows; write `{key}.{quantity}`"
    rows = program.tables[table].rows
    if not 1 <= row <= rows:
        return f"`{key}` has rows 1 to {rows:,} (row 1 is the first row below the header)"
    return found


def _target(program: ir.Program, target: str) -> tuple[ir.BlockKey, str] | str:
    """`block.quantity`, `alias.block.quantity` or `total.quantity`; else what is wrong with it."""
    alias, _, rest = target.partition(".")
    if program.aliases.get(alias) in program.tables:
        jobs = [str(k) for k in program.jobs if program.rows_of(k) == program.aliases[alias]]
        example = f"`{jobs[0]}.energy`, or one row: `{jobs[0]}[1].energy`" if jobs else "a job's figure"
        return f"`{alias}` is an imported table ({program.aliases[alias]}), not a block: explain {example}"
    if alias in program.aliases and rest:
        target = f"{program.aliases[alias]}.{rest}"
    if target in program.figures:  # `figure ratio = a / b`, or an expression an `expect` line states
        return ir.FIGURE, target
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
        if any(c in target for c in "()+-*/ "):  # an expression no `expect` or `figure` line writes so
            return (f"`{target}` is no figure of this file: explain takes `block.quantity`, `total.quantity`, "
                    "a figure's name, or an expression exactly as an `expect` line writes it; to explain another "
                    f"expression, name it in the file: `figure x = {target}`")  # fmt: skip
        return f"no block `{name or target}` (blocks: {known}; or `total`)"
    kind = program.blocks[key].kind
    names = [n for n, spec in SCHEMA[kind].items() if spec.type == "quantity"]
    if quantity not in names:
        return f"a {kind} has no quantity `{quantity}` (it has: {', '.join(names)})"
    return key, quantity


def _compare(args: argparse.Namespace) -> int:
    units = _units(args.unit, "compare")
    if units is None:
        return 2
    wrong = [u for u, d in units.items() if d not in {QUANTITIES[n].dim for n in REPORTED}]
    if wrong:
        print(f"nnci compare: --unit {wrong[0]}: the figures compared are energy and carbon; give a unit of one "
              "of those (kWh, MWh, kgCO2e, tCO2e)", file=sys.stderr)  # fmt: skip
        return 2
    program = _load(args, args.file)
    _warn(api.check(program), program.sources)
    key = next((k for k in program.jobs if str(k) == args.job), None)
    if key is None:
        jobs = ", ".join(str(k) for k in program.jobs) or "none"
        print(
            f"nnci compare: no training or inference block `{args.job}` in {args.file} (jobs: {jobs})", file=sys.stderr
        )
        return 2
    print(output.comparison_table(args.job, compare(program, key), Engine(program).method_of(key, None), args.unit))
    return 0


def _fmt(args: argparse.Namespace) -> int:
    from nnci import formatting

    status = 0
    for file in args.files:
        if file in STDIN_NAMES and (args.write or args.check):
            print(f"nnci fmt: {file} is standard input: it has no file to --write or --check; "
                  f"`nnci fmt {file}` prints it formatted", file=sys.stderr)  # fmt: skip
            return 2
        if Path(file).suffix.lower() in (".csv", ".tsv", ".txt", ".json", ".yml", ".yaml"):
            print(f"nnci fmt: {file} is not a .nnci file: fmt lays out scenarios (a table or a series file is "
                  "imported by one, and left as written)", file=sys.stderr)  # fmt: skip
            return 2
        read = file in STDIN_NAMES  # standard input: formatted to standard output
        result = formatting.format_text(sys.stdin.read(), "<stdin>") if read else formatting.format_file(Path(file))
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

    hits, problems = catalog.search(" ".join(args.query), args.kind, args.all)
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
            plan, engine = api.compile(program)
            api.check(program, engine)
        except NnciError as error:
            broken += 1
            reports.append(render_all(error.diagnostics, error.sources))
            continue
        results = api.evaluate(program, engine, plan, samples=args.samples, seed=args.seed)
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


# -- interop: `nnci import` and `nnci export` (nnci/interop/) ------------------------------------


def _interop_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from nnci.interop import cli as interop

    interop.add_commands(commands)


# -- what-ifs and reports: --set, sweep, diff, report -------------------------------------------


def _whatif_commands(commands: Any, *with_set: argparse.ArgumentParser) -> None:
    """`--set` on run, check and explain; the commands `sweep`, `diff` and `report`."""
    for command in with_set:
        _set_option(command)

    report = commands.add_parser("report", help="a carbon statement to paste, or an HTML report with charts",
                                 description="Write the scenario's carbon statement (hardware, hours, sites, PUE, "
                                 "method, energy, operational and embodied carbon, total, equivalents, references) "
                                 "as Markdown, plain text or LaTeX with BibTeX, or a self-contained HTML report "
                                 "with inline SVG charts and every figure's derivation.")  # fmt: skip
    report.add_argument("files", nargs="+", metavar="FILE")
    report.add_argument("--format", choices=("md", "html", "latex", "text"), default="md")
    report.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of standard output")
    report.add_argument("--equivalents", default=None, metavar="SET",
                        help="which source's equivalence factors to use (epa, desnz, green-algorithms; default epa)")  # fmt: skip
    _set_option(report)
    _sampling_options(report, required=False)
    _project_options(report)
    report.set_defaults(command=_report)

    sweep = commands.add_parser("sweep", help="every combination of --vary values, sorted by total carbon",
                                description="Evaluate every combination of the values given with --vary (one "
                                "program, jobs of one shape evaluated together as arrays) and print a row per "
                                "combination, lowest total carbon first.")  # fmt: skip
    sweep.add_argument("files", nargs="+", metavar="FILE")
    sweep.add_argument("--vary", action="append", default=[], required=True, metavar="BLOCK.FIELD=V1,V2,...",
                       help="values to try for one field (repeatable: every combination is evaluated)")  # fmt: skip
    sweep.add_argument("--show", action="append", default=[], metavar="QUANTITY",
                       help="figures to show, summed over jobs (default energy, operational, embodied, total)")  # fmt: skip
    sweep.add_argument("--format", choices=("table", "csv", "json", "md", "html"), default="table")
    sweep.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of standard output")
    _set_option(sweep)
    _project_options(sweep)
    sweep.set_defaults(command=_sweep)

    diff = commands.add_parser("diff", help="what changed between two scenarios, and which inputs differ",
                               description="Compare every job's figures between A and B (or A and A with --set "
                               "overrides): old, new, change and ratio, then the inputs that differ (the leaves "
                               "of the two explain trees).")  # fmt: skip
    diff.add_argument("old", metavar="A")
    diff.add_argument("new", nargs="?", metavar="B", help="default: A itself, with the --set overrides")
    diff.add_argument("--format", choices=("table", "md", "json"), default="table")
    _set_option(diff, "override fields of B (of A when B is not given)")
    _project_options(diff)
    diff.set_defaults(command=_diff)


def _set_option(command: argparse.ArgumentParser, text: str = "override one field for this run, parsed and "
                "checked as in the file (repeatable); e.g. --set dc.grid=grids.fra_2023") -> None:  # fmt: skip
    command.add_argument("--set", action="append", default=[], metavar="BLOCK.FIELD=VALUE", help=text)


def _written(args: argparse.Namespace, text: str) -> int:
    if args.output:
        try:
            Path(args.output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as error:
            print(f"nnci: -o {args.output}: cannot write it ({error.strerror or error})", file=sys.stderr)
            return 1
    else:
        print(text)
    return 0


def _evaluated(
    args: argparse.Namespace, files: Sequence[str], overrides: Sequence[str], figures: Sequence[str] | str = ()
) -> Any:
    program, plan, engine, warnings = _compiled(args, *files, overrides=overrides)
    _warn(warnings, program.sources)
    results = api.evaluate(program, engine, plan, figures)
    late = [d for d in engine.diagnostics if d not in warnings] + _unused_overrides(program, engine, plan.lanes)
    _warn(late, program.sources)
    return results


def _unused_overrides(program: ir.Program, engine: Engine, lanes: Any) -> list[Diagnostic]:
    from nnci.overrides import unused

    return unused(program, engine, lanes)


def _report(args: argparse.Namespace) -> int:
    from nnci import report

    if args.equivalents is not None and args.equivalents not in report.EQUIVALENT_SETS:
        print(f"nnci report: --equivalents: choose one of {', '.join(report.EQUIVALENT_SETS)}", file=sys.stderr)
        return 2
    results = _evaluated(args, args.files, args.set, ALL)  # the report's table lists every figure, totals too
    statement = report.build(results, args.files, args.equivalents or report.DEFAULT_EQUIVALENTS)
    return _written(args, report.render(statement, args.format))


def _sweep(args: argparse.Namespace) -> int:
    from nnci import sweep

    result = sweep.run(args.files, args.vary, args.set, args.show, args.allow_import, args.max_file_bytes)
    _warn(list(result.warnings), result.program.sources)
    if args.format == "html":
        from nnci.report import html

        return _written(args, html.sweep_page(result, args.files))
    return _written(args, sweep.render(result, args.format, args.files))


def _diff(args: argparse.Namespace) -> int:
    from nnci import diff

    if args.new is None and not args.set:
        print("nnci diff: give B, or --set overrides to compare A with", file=sys.stderr)
        return 2
    old = _evaluated(args, [args.old], ())
    new = _evaluated(args, [args.new or args.old], args.set)
    result = diff.diff(old, new)
    render = {"table": diff.table, "md": diff.markdown, "json": diff.to_json}[args.format]
    print(render(result))
    return 0
