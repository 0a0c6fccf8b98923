"""The Python API; it mirrors the CLI. Each call raises `NnciError` holding every diagnostic."""

from __future__ import annotations

from pathlib import Path

from nnci import ir
from nnci.check import check as check_program
from nnci.diagnostics import Diagnostic, NnciError, has_errors
from nnci.engine import Engine
from nnci.evaluate import Results
from nnci.evaluate import evaluate as evaluate_program
from nnci.load import Program as LoadedProgram
from nnci.load import load as load_files
from nnci.load import load_text
from nnci.plan import Plan, compile_plan
from nnci.resolve import resolve


def load(*paths: str | Path, everything: bool = False) -> ir.Program:
    """Read, parse and resolve files (and everything they import) into one program. Imported
    blocks are resolved when something refers to them, or all of them with `everything`."""
    loaded, diagnostics = load_files(list(paths))
    return _resolved(loaded, diagnostics, everything)


def loads(text: str, name: str = "<input>") -> ir.Program:
    """Like `load`, from text."""
    loaded, diagnostics = load_text(text, name)
    return _resolved(loaded, diagnostics)


def _resolved(loaded: LoadedProgram, diagnostics: list[Diagnostic], everything: bool = False) -> ir.Program:
    program, problems = resolve(loaded, everything)
    diagnostics = diagnostics + problems
    if has_errors(diagnostics):
        # Report what the later checks find too, so one run shows every problem.
        raise NnciError(diagnostics + check_program(program, constants_only=True), loaded.sources)
    return program


def check(program: ir.Program, engine: Engine | None = None) -> list[Diagnostic]:
    """Dimensions, ranges, shares and `check` lines. Returns warnings; raises on errors. Pass the engine
    that will evaluate the program (`compile`) so that nothing is derived twice."""
    diagnostics = check_program(program, engine)
    if has_errors(diagnostics):
        raise NnciError(diagnostics, program.sources)
    return diagnostics


def compile(program: ir.Program) -> tuple[Plan, Engine]:
    """The compiled plan (jobs of one shape stacked into columns) and the engine that evaluates it."""
    plan = compile_plan(program)
    return plan, Engine(plan.program)


def evaluate(program: ir.Program, engine: Engine | None = None, plan: Plan | None = None) -> Results:
    """Every job's energy, operational, embodied and total carbon, the totals and the expectations."""
    return evaluate_program(program, engine, plan)


def run(*paths: str | Path) -> Results:
    program = load(*paths)
    plan, engine = compile(program)
    check(program, engine)
    return evaluate(program, engine, plan)
