"""One document analysed as `nnci check` and `nnci run` would: every stage's diagnostics, and the
program, syntax trees and engine that hover, definition and completion read.

The editor's unsaved text is read instead of the disk, for the document and for any file it
imports that is open (`buffers`). Nothing here knows the protocol: spans stay nnci's.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from nnci import ast, ir
from nnci.check import check as check_program
from nnci.deep import with_deep_stack
from nnci.diagnostics import Diagnostic, NnciError, has_errors
from nnci.engine import Engine
from nnci.evaluate import Results
from nnci.load import STD_PREFIX, display_path
from nnci.load import Program as Loaded
from nnci.load import load as load_files
from nnci.resolve import resolve
from nnci.resources import std_dir

INTERNAL = "E103"  # the code an unexpected failure of the analysis is reported under (never a crash)


@attrs.define
class Analysis:
    """What nnci knows about one document, as of one version of its text."""

    path: Path
    key: str  # the document's module key: the `file` of the spans that point into it
    text: str
    loaded: Loaded
    program: ir.Program | None  # resolved (also when some references failed)
    diagnostics: tuple[Diagnostic, ...]
    results: Results | None = None  # when the program has no errors
    memo: dict[object, object] = attrs.field(factory=dict)  # what features derive from it (indexes), once

    @functools.cached_property
    def engine(self) -> Engine | None:
        """An engine that derives job by job, keeping each derivation whole (as `nnci explain` does)."""
        return Engine(self.program) if self.program is not None else None

    def module(self, key: str | None = None) -> ast.Module | None:
        return self.loaded.modules.get(key or self.key)

    def block_key(self, module: str, name: str) -> ir.BlockKey:
        """The resolved program's key of a block written in `module` (the document's blocks are roots)."""
        return ir.BlockKey("" if module in self.loaded.roots else module, name)


def analyse(path: Path, text: str, buffers: Mapping[Path, str] | None = None) -> Analysis:
    """Load (with `text` as the document and `buffers` as the other open files), resolve, check and
    evaluate; every stage's diagnostics, the late ones of the evaluation and failed expectations too."""
    buffers = {**(buffers or {}), path: text}
    loaded, diagnostics = _load(path, buffers)
    key = loaded.roots[0] if loaded.roots else key_of(path)
    try:
        return with_deep_stack(_analysed, path, key, text, loaded, diagnostics)
    except Exception as error:  # a bug must not stop the server: said where the user looks
        problem = Diagnostic(INTERNAL, f"nnci could not analyse this file: {type(error).__name__}: {error}", None,
                             help="please report it with the file")  # fmt: skip
        return Analysis(path, key, text, loaded, None, (*diagnostics, problem))


def _analysed(path: Path, key: str, text: str, loaded: Loaded, diagnostics: list[Diagnostic]) -> Analysis:
    from nnci import api
    from nnci.evaluate import evaluate
    from nnci.output import expectation_diagnostic

    program, problems = resolve(loaded)
    found = [*diagnostics, *problems]
    if has_errors(found):
        found += check_program(program, constants_only=True)
        return Analysis(path, key, text, loaded, program, tuple(dict.fromkeys(found)))
    try:
        plan, engine = api.compile(program)
        warnings = check_program(program, engine)
        found += warnings
        results = None
        if not has_errors(warnings):
            results = evaluate(program, engine, plan)
            found += [d for d in engine.diagnostics if d not in warnings]
            found += [expectation_diagnostic(e) for e in results.expects if not e.passed]
    except NnciError as error:
        found += error.diagnostics
        results = None
    return Analysis(path, key, text, loaded, program, tuple(dict.fromkeys(found)), results)


def _load(path: Path, buffers: Mapping[Path, str]) -> tuple[Loaded, list[Diagnostic]]:
    typed: dict[str | Path, str] = {path: text for path, text in buffers.items()}  # the key type widens
    return load_files([path], buffers=typed)


def key_of(path: Path) -> str:
    """The module key the loader gives the file at `path` (std files by their `std/...` name)."""
    resolved = path.resolve() if path.exists() else Path(os.path.abspath(path))
    try:
        return STD_PREFIX + resolved.relative_to(std_dir().resolve()).with_suffix("").as_posix()
    except ValueError:
        return display_path(resolved)


def path_of(key: str) -> Path:
    """The file a module key names (the inverse of `key_of`)."""
    if key.startswith(STD_PREFIX):
        name = key.removeprefix(STD_PREFIX)
        return std_dir() / (name if name.endswith((".csv", ".json")) else name + ".nnci")
    return Path(os.path.abspath(key))


def by_file(diagnostics: tuple[Diagnostic, ...], root: str) -> dict[str, list[Diagnostic]]:
    """Diagnostics grouped by the module they point into; those with no place go to the root."""
    grouped: dict[str, list[Diagnostic]] = {root: []}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.span.file if diagnostic.span else root, []).append(diagnostic)
    return grouped
