"""The Python API; it mirrors the CLI. Each call raises `NnciError` holding every diagnostic."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nnci import ir
from nnci import overrides as whatif
from nnci.check import check as check_program  # not lazily: importing the module later rebinds `nnci.check`
from nnci.deep import with_deep_stack
from nnci.diagnostics import Diagnostic, NnciError, has_errors
from nnci.engine import Engine
from nnci.evaluate import Results
from nnci.evaluate import evaluate as evaluate_program
from nnci.load import STDIN_NAMES, load_text
from nnci.load import Program as LoadedProgram
from nnci.load import load as load_files
from nnci.plan import Plan, compile_plan

if TYPE_CHECKING:
    from nnci.compiled import Compiled


def load(
    *paths: str | Path,
    everything: bool = False,
    allow_imports: Sequence[str | Path] = (),
    max_file_bytes: int | None = None,
    overrides: Sequence[str] = (),
    buffers: Mapping[str | Path, str] | None = None,
) -> ir.Program:
    """Read, parse and resolve files (and everything they import) into one program. Imported
    blocks are resolved when something refers to them, or all of them with `everything`.

    Imports must stay inside each file's project (its folder, or the nearest one above holding
    `nnci.toml`) or inside a folder of `allow_imports`; files larger than `max_file_bytes`
    (default 50 MB, or $NNCI_MAX_FILE_BYTES) are refused. `-` reads standard input.
    `overrides` are `block.field=value` texts, as `--set` takes them: each replaces that field for
    this program (parsed and checked as in the file; diagnostics point into the pseudo-file `--set`).
    `buffers` holds the text of files an editor has not saved, by path (relative to the working
    directory, or absolute): such a file is read from there, not from disk, under the same rules."""
    loaded, diagnostics = load_with_overrides(paths, overrides, allow_imports, max_file_bytes, buffers=buffers)
    return with_deep_stack(_resolved, loaded, diagnostics, everything)


def load_with_overrides(
    paths: Sequence[str | Path],
    overrides: Sequence[str],
    allow_imports: Sequence[str | Path] = (),
    max_file_bytes: int | None = None,
    vary: Sequence[str] = (),
    buffers: Mapping[str | Path, str] | None = None,
) -> tuple[LoadedProgram, list[Diagnostic]]:
    """The loaded syntax trees with `--set` fields in place (and `--vary` arguments parsed and located)."""
    parsed = [p for p in (whatif.parse(overrides, whatif.SET), whatif.parse(vary, whatif.VARY)) if p.source]
    named = whatif.std_modules_named(o for p in parsed for argument in p.arguments for o in argument)
    loaded, diagnostics = load_files(list(paths), allow_imports, max_file_bytes, named, buffers)
    if parsed:
        loaded, problems = whatif.apply(loaded, parsed, {name: whatif.std_key(name) for name in named})
        diagnostics = diagnostics + problems
    return loaded, diagnostics


def loads(
    text: str, name: str = "<input>", allow_imports: Sequence[str | Path] = (), max_file_bytes: int | None = None
) -> ir.Program:
    """Like `load`, from text; its imports are relative to (and stay inside) the working directory."""
    loaded, diagnostics = load_text(text, name, allow_imports, max_file_bytes)
    return with_deep_stack(_resolved, loaded, diagnostics)


def _resolved(loaded: LoadedProgram, diagnostics: list[Diagnostic], everything: bool = False) -> ir.Program:
    from nnci.resolve import resolve  # imported when needed: a cached run resolves nothing

    program, problems = resolve(loaded, everything)
    diagnostics = diagnostics + problems
    if has_errors(diagnostics):
        # Report what the later checks find too, so one run shows every problem.
        raise NnciError(diagnostics + check_program(program, constants_only=True), loaded.sources)
    return attrs.evolve(program, warnings=tuple(diagnostics)) if diagnostics else program


def load_compiled(
    *paths: str | Path,
    everything: bool = False,
    allow_imports: Sequence[str | Path] = (),
    max_file_bytes: int | None = None,
    later: list[Callable[[], None]] | None = None,
) -> tuple[ir.Program, Plan, Engine, list[Diagnostic]]:
    """`load`, `compile` and `check` in one: the program, its plan, the engine that evaluates it and the
    warnings. From the compiled-program cache when no file involved has changed (nnci.compiled), else
    computed and stored, when the files named are large enough for the cache to pay. With `later`,
    storing is appended there instead of done now: the command runs it once its output is written,
    so a first run shows its results no later than a run without the cache."""
    if not _worth_caching(paths):
        return _compiled_now(paths, everything, allow_imports, max_file_bytes)[:4]
    from nnci import compiled as store

    key = store.key_of(paths, everything, allow_imports, max_file_bytes)
    hit = with_deep_stack(_from_store, key, paths, allow_imports, max_file_bytes)
    if hit is not None:
        engine = Engine(hit.plan.program)
        engine.lanes = hit.plan.lanes
        engine.diagnostics.extend(hit.found)
        return hit.program, hit.plan, engine, list(hit.warnings)
    program, plan, engine, warnings, loaded = _compiled_now(paths, everything, allow_imports, max_file_bytes)
    entry = store.Compiled(program, plan, tuple(warnings), tuple(engine.diagnostics))
    save = functools.partial(with_deep_stack, store.put, key, entry, loaded)
    if later is None:
        save()
    else:
        later.append(save)
    return program, plan, engine, warnings


def _compiled_now(
    paths: Sequence[str | Path], everything: bool, allow_imports: Sequence[str | Path], max_file_bytes: int | None
) -> tuple[ir.Program, Plan, Engine, list[Diagnostic], LoadedProgram]:
    loaded, diagnostics = load_files(list(paths), allow_imports, max_file_bytes)
    program = with_deep_stack(_resolved, loaded, diagnostics, everything)
    plan, engine = compile(program)
    return program, plan, engine, check(program, engine), loaded


COMPILED_MIN_BYTES = 64_000  # files named smaller than this compile in about the time a hit takes


def _worth_caching(paths: Sequence[str | Path]) -> bool:
    """Whether to look in the compiled-program cache: files (not standard input) large enough for it to
    pay. A small scenario does not even import the cache: its run stays as quick to start as it was."""
    if os.environ.get("NNCI_NO_CACHE") is not None or any(str(p) in STDIN_NAMES for p in paths):
        return False
    size = 0
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            size += os.stat(path).st_size
    return size >= COMPILED_MIN_BYTES


def _from_store(
    key: str, paths: Sequence[str | Path], allow_imports: Sequence[str | Path], max_file_bytes: int | None
) -> Compiled | None:
    """The stored compiled program, if the loader, reading every file again under all its rules, finds
    each one as it was when stored (same text, same imports); else None."""
    from nnci import compiled as store

    entry = store.get(key)
    if entry is None:
        return None
    try:
        loaded, diagnostics = load_files(list(paths), allow_imports, max_file_bytes, known=store.stand_in(entry))
        if diagnostics or not store.same_files(entry, loaded):
            return None
        return store.decode(entry, loaded.sources, discard=lambda: store.drop(key))
    except Exception:  # a file changed, or an entry that does not decode: computed again (and stored anew)
        return None


def check(program: ir.Program, engine: Engine | None = None) -> list[Diagnostic]:
    """Dimensions, ranges, shares and `check` lines. Returns warnings; raises on errors. Pass the engine
    that will evaluate the program (`compile`) so that nothing is derived twice; without one, the
    program is compiled here (jobs of one shape are checked together, as `nnci check` does)."""
    if engine is None:
        engine = compile(program)[1]
    diagnostics = with_deep_stack(check_program, program, engine)
    if has_errors(diagnostics):
        raise NnciError(diagnostics, program.sources)
    return diagnostics


def compile(program: ir.Program, samples: int | None = None, seed: int = 0) -> tuple[Plan, Engine]:
    """The compiled plan (jobs of one shape stacked into columns) and the engine that evaluates it. With
    `samples`, every distribution is drawn that many times from `seed` (one array evaluation)."""
    if samples is None:
        plan = compile_plan(program)
        engine = Engine(plan.program)
        engine.lanes = plan.lanes
        return plan, engine
    from nnci.uncertain.sampling import Sampler, unsampled_tables

    problems = unsampled_tables(program)
    if problems:
        raise NnciError(problems, program.sources)
    return compile_plan(program, stack=False), Engine(program, sampler=Sampler(samples, seed))


def evaluate(
    program: ir.Program,
    engine: Engine | None = None,
    plan: Plan | None = None,
    figures: Sequence[str] | str = (),
    samples: int = 10_000,
    seed: int = 0,
) -> Results:
    """Every job's energy, operational, embodied and total carbon, the totals and the expectations;
    `figures` names more quantities to derive for every job (or `"all"`). Any figure of any block is
    `results.quantity("serve", "energy_per_query")`, derived when asked. A bound on a statistic of
    samples (`expect p95(x) <= …`) is judged on `samples` draws from `seed`."""
    return with_deep_stack(evaluate_program, program, engine, plan, figures, samples, seed)


def run(
    *paths: str | Path,
    allow_imports: Sequence[str | Path] = (),
    max_file_bytes: int | None = None,
    overrides: Sequence[str] = (),
) -> Results:
    program = load(*paths, allow_imports=allow_imports, max_file_bytes=max_file_bytes, overrides=overrides)
    plan, engine = compile(program)
    check(program, engine)
    return evaluate(program, engine, plan)
