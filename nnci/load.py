"""Imports → one program. Reads files, parses and lowers each once, follows `import` lines.

Relative imports are resolved against the importing file; `std/...` against the standard
library inside the package. Missing files and import cycles are diagnostics at the import line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nnci import ast, cache
from nnci.diagnostics import Diagnostic
from nnci.resources import std_dir

if TYPE_CHECKING:
    from nnci.table import Table

STD_PREFIX = "std/"
PRELUDE = STD_PREFIX + "sources"  # always loaded: `mix` keys name generation sources from it


@attrs.frozen
class Program:
    """Every module reachable from the root files, keyed by display path."""

    roots: tuple[str, ...]
    modules: dict[str, ast.Module]
    # module key → alias → imported module key
    imports: dict[str, dict[str, str]]
    sources: dict[str, str]
    # module key → aliases whose import failed (already reported; references through them are not)
    failed: dict[str, set[str]] = attrs.field(factory=dict)
    tables: dict[str, Table] = attrs.field(factory=dict)  # imported CSV tables by module key


def display_path(path: Path) -> str:
    """Paths relative to the working directory when below it, so messages stay short."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def load(paths: list[str | Path]) -> tuple[Program, list[Diagnostic]]:
    loader = _Loader()
    roots = []
    for path in paths:
        key = loader.load_file(Path(path), chain=(), origin=None)
        if key is not None and key not in roots:
            roots.append(key)
    loader.load_prelude()
    return loader.program(tuple(roots)), loader.diagnostics


def load_text(text: str, name: str = "<input>") -> tuple[Program, list[Diagnostic]]:
    """Load a program from text (imports relative to the working directory)."""
    loader = _Loader()
    key = loader.load_source(text, name, Path(name).resolve(), chain=())
    loader.load_prelude()
    return loader.program((key,)), loader.diagnostics


class _Loader:
    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}
        self.imports: dict[str, dict[str, str]] = {}
        self.sources: dict[str, str] = {}
        self.diagnostics: list[Diagnostic] = []
        self.keys: dict[Path, str] = {}
        self.failed: dict[str, set[str]] = {}
        self.tables: dict[str, Table] = {}

    def program(self, roots: tuple[str, ...]) -> Program:
        return Program(roots, self.modules, self.imports, self.sources, self.failed, self.tables)

    def load_prelude(self) -> None:
        self.load_file(std_dir() / "sources.nnci", chain=(), origin=None)

    def load_file(self, path: Path, chain: tuple[Path, ...], origin: ast.Import | None) -> str | None:
        resolved = path.resolve()
        if resolved in self.keys:
            return self.keys[resolved]
        key = _module_key(resolved)
        try:
            text = resolved.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.diagnostics.append(_unreadable(path, resolved, origin, error))
            return None
        return self.load_source(text, key, resolved, chain)

    def load_table(self, path: Path, chain: tuple[Path, ...], origin: ast.Import | None) -> str | None:
        """A CSV table of jobs (`import "jobs.csv" as jobs`): read, typed and checked cell by cell."""
        from nnci.table import read_table

        resolved = path.resolve()
        if resolved in self.keys:
            return self.keys[resolved]
        key = _module_key(resolved)
        try:
            text = resolved.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.diagnostics.append(_unreadable(path, resolved, origin, error))
            return None
        self.keys[resolved] = key
        self.sources[key] = text
        table, problems = read_table(text, key)
        self.diagnostics.extend(problems)
        if table is None:
            return None
        self.tables[key] = table
        return key

    def load_source(self, text: str, key: str, path: Path, chain: tuple[Path, ...]) -> str:
        self.keys[path] = key
        self.sources[key] = text
        module = self.parse_and_lower(text, key)
        self.modules[key] = module
        self.imports[key] = {}
        for stmt in module.imports:
            self._follow(stmt, key, path, (*chain, path))
        return key

    def parse_and_lower(self, text: str, key: str) -> ast.Module:
        use_cache = cache.wanted()
        cached = cache.get(text, key) if use_cache else None
        if cached is not None:
            return cached
        module, problems = read_module(text, key)
        self.diagnostics.extend(problems)
        if module is None:
            return ast.Module(key, None, (), (), ())
        if use_cache and not problems:
            cache.put(text, key, module)
        return module

    def _follow(self, stmt: ast.Import, key: str, path: Path, chain: tuple[Path, ...]) -> None:
        target = _import_target(stmt.path, path)
        resolved = target.resolve()
        if resolved in chain:
            cycle = " → ".join(display_path(p) for p in (*chain[chain.index(resolved) :], resolved))
            self.diagnostics.append(
                Diagnostic("E201", f"import cycle: `{stmt.path}` imports this file again", stmt.span,
                           notes=(cycle,), help="move the shared blocks into a third file that both import")
            )  # fmt: skip
            self.failed.setdefault(key, set()).add(stmt.alias)
            return
        if stmt.alias in self.imports[key]:
            self.diagnostics.append(Diagnostic("E202", f"alias `{stmt.alias}` is used twice", stmt.span))
            return
        load = self.load_table if target.suffix == TABLE_SUFFIX else self.load_file
        imported = load(target, chain, stmt)
        if imported is not None:
            self.imports[key][stmt.alias] = imported
        else:
            self.failed.setdefault(key, set()).add(stmt.alias)


def read_module(text: str, key: str) -> tuple[ast.Module | None, tuple[Diagnostic, ...]]:
    """Parse and lower one file's text (no imports, no cache); None when it does not parse."""
    # Imported here, not at the top: a run whose modules all come from the cache never loads the parser.
    from nnci.parse import parse_module

    return parse_module(text, key)


def _unreadable(path: Path, resolved: Path, origin: ast.Import | None, error: Exception) -> Diagnostic:
    """E200 for an import whose file does not exist; E103 for any other file that cannot be read."""
    if origin is not None and isinstance(error, FileNotFoundError):
        return Diagnostic("E200", f"import `{origin.path}` not found", origin.span,
                          notes=(f"looked for {display_path(resolved)}",), help=_import_hint(origin))  # fmt: skip
    reason = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else "cannot be read"
    return Diagnostic("E103", f"`{path}` {reason}", origin.span if origin else None,
                      notes=(str(getattr(error, "strerror", None) or error),))  # fmt: skip


TABLE_SUFFIX = ".csv"


def _import_target(text: str, importer: Path) -> Path:
    relative = Path(text if text.endswith((".nnci", TABLE_SUFFIX)) else text + ".nnci")
    if text.startswith(STD_PREFIX):
        return std_dir() / relative.relative_to("std")
    return importer.parent / relative


def _module_key(path: Path) -> str:
    try:
        return STD_PREFIX + path.relative_to(std_dir()).with_suffix("").as_posix()
    except ValueError:
        return display_path(path)


def _import_hint(origin: ast.Import | None) -> str | None:
    if origin is None:
        return None
    if origin.path.startswith(STD_PREFIX):
        available = sorted(p.stem for p in std_dir().glob("*.nnci"))
        return "the standard library has: " + ", ".join(f"std/{name}" for name in available)
    return "paths are relative to the importing file; the `.nnci` suffix may be left out"
