"""Imports → one program. Reads files, parses and lowers each once, follows `import` lines.

Relative imports are resolved against the importing file; `std/...` against the standard
library inside the package. Missing files and import cycles are diagnostics at the import line.

A scenario reads only its own project. The project root of a file named on the command line is
the nearest folder at or above it (symlinks resolved) that holds an `nnci.toml` marker file, or
else the folder of the file itself; every file it imports, directly or not, must resolve (after
symlinks) inside that root, or inside a folder allowed with `--allow-import DIR`
(`allow_imports` in the API). `std/...` resolves only inside the package's standard library.
Every file read is checked with `os.stat` first: only regular files up to MAX_FILE_BYTES
(50 MB, or $NNCI_MAX_FILE_BYTES), so a FIFO or `/dev/zero` is refused without being read.
`read_project_file` is the one place that applies these rules; data files use it too.

An editor holds files it has not saved: `buffers` maps their paths (resolved as the loader
resolves paths) to their text, and wherever the loader would read one of them (a file named,
or an import) it takes that text instead, under the same rules (project, size limit).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from nnci import ast, cache
from nnci.diagnostics import Diagnostic, Span
from nnci.resources import std_dir

if TYPE_CHECKING:
    from nnci.series_read import SeriesTable
    from nnci.table import Table

STD_PREFIX = "std/"
PRELUDE = STD_PREFIX + "sources"  # always loaded: `mix` keys name generation sources from it
MARKER = "nnci.toml"  # a project's root folder holds it
MAX_FILE_BYTES = 50 * 1024 * 1024
STDIN = "<stdin>"
UNRESOLVABLE = "its path cannot be resolved (a symlink loop, or a name the system refuses)"
STDIN_NAMES = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")
TABLE_SUFFIX = ".csv"  # `import "jobs.csv" as jobs`: a table of jobs (or a series, by its header)
SERIES_SUFFIX = ".json"  # `import "uk.json" as uk`: the UK Carbon Intensity API's answer, a series


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
    series: dict[str, SeriesTable] = attrs.field(factory=dict)  # imported time-indexed files by module key


@attrs.frozen
class Project:
    """Where the files of one scenario may come from: its root, and folders allowed besides it."""

    root: Path  # resolved
    allowed: tuple[Path, ...] = ()  # resolved
    max_bytes: int = MAX_FILE_BYTES
    marked: bool = False  # the root holds nnci.toml (else it is the folder of the file named)

    def contains(self, path: Path) -> bool:
        return any(path.is_relative_to(folder) for folder in (self.root, *self.allowed))

    def describe(self) -> str:
        why = f"the folder holding {MARKER}" if self.marked else "the folder of the file named on the command line"
        return f"the project is {display_path(self.root)} ({why})"


def display_path(path: Path) -> str:
    """Paths relative to the working directory when below it, so messages stay short."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def max_file_bytes() -> int:
    """The size limit for any file nnci reads: $NNCI_MAX_FILE_BYTES, else 50 MB."""
    try:
        return max(0, int(os.environ.get("NNCI_MAX_FILE_BYTES", MAX_FILE_BYTES)))
    except ValueError:
        return MAX_FILE_BYTES


def project_for(folder: Path, allowed: Sequence[str | Path] = (), max_bytes: int | None = None) -> Project:
    """The project of a file in `folder`: the nearest folder at or above it holding nnci.toml, else `folder`."""
    folder = _resolved(folder) or Path(os.path.abspath(folder))
    root, marked = folder, False
    for candidate in (folder, *folder.parents):
        if _is_file(candidate / MARKER):
            root, marked = candidate, True
            break
    extra = tuple(p for p in (_resolved(Path(a)) for a in allowed) if p is not None)
    return Project(root, extra, max_file_bytes() if max_bytes is None else max_bytes, marked)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder we may not look into holds no marker we can use
        return False


def _resolved(path: Path) -> Path | None:
    """`path.resolve()`, or None where it cannot be resolved (a symlink loop, a NUL, an odd name)."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError, UnicodeError):
        return None


Buffers = Mapping[str | Path, str]  # unsaved editor text by file path
Known = Callable[[str, str], ast.Module]  # (text, module key) → the module, instead of parsing it


def load(
    paths: Sequence[str | Path],
    allow_imports: Sequence[str | Path] = (),
    max_bytes: int | None = None,
    std_modules: Sequence[str] = (),
    buffers: Buffers | None = None,
    known: Known | None = None,
) -> tuple[Program, list[Diagnostic]]:
    """Load the files named (`-` or /dev/stdin: standard input) and everything they import; also the
    standard-library modules named in `std_modules` (`grids`: what a `--set` value may name).
    A file whose path is a key of `buffers` is read from there, not from disk (it need not exist).
    `known(text, key)`, if given, stands for parsing: it gives each file's module (the compiled-program
    cache proving that no file changed: its modules hold only their imports)."""
    loader = _Loader(allow_imports, max_bytes, buffers, known)
    roots = []
    for path in paths:
        if str(path) in STDIN_NAMES:
            key: str | None = loader.load_stdin()
        else:
            key = loader.load_root(Path(path))
        if key is not None and key not in roots:
            roots.append(key)
    loader.load_prelude()
    for name in std_modules:
        loader.load_root(std_dir() / f"{name}.nnci", loader.std_project())
    return loader.program(roots), loader.diagnostics


def load_text(
    text: str, name: str = "<input>", allow_imports: Sequence[str | Path] = (), max_bytes: int | None = None
) -> tuple[Program, list[Diagnostic]]:
    """Load a program from text (imports relative to the working directory)."""
    loader = _Loader(allow_imports, max_bytes)
    key = loader.load_named_text(text, name)
    loader.load_prelude()
    return loader.program([key]), loader.diagnostics


@attrs.define
class _Frame:
    """A module whose imports are being followed (the loader's explicit stack: no recursion)."""

    key: str
    path: Path
    project: Project
    pending: Iterator[ast.Import]


def resolved_buffers(buffers: Buffers | None) -> dict[Path, str]:
    """The buffers keyed by resolved path (relative keys against the working directory, symlinks
    followed), so that a key matches whichever way the loader comes to the file."""
    out: dict[Path, str] = {}
    for key, text in (buffers or {}).items():
        path = _resolved(Path(key))
        if path is not None:
            out[path] = text
    return out


class _Loader:
    def __init__(
        self,
        allow_imports: Sequence[str | Path] = (),
        max_bytes: int | None = None,
        buffers: Buffers | None = None,
        known: Known | None = None,
    ) -> None:
        self.known = known
        self.buffers = resolved_buffers(buffers)
        self.allowed = tuple(allow_imports)
        self.max_bytes = max_file_bytes() if max_bytes is None else max_bytes
        self.modules: dict[str, ast.Module] = {}
        self.imports: dict[str, dict[str, str]] = {}
        self.sources: dict[str, str] = {}
        self.diagnostics: list[Diagnostic] = []
        self.keys: dict[Path, str] = {}
        self.failed: dict[str, set[str]] = {}
        self.tables: dict[str, Table] = {}
        self.series: dict[str, SeriesTable] = {}

    def program(self, roots: list[str]) -> Program:
        return Program(tuple(roots), self.modules, self.imports, self.sources, self.failed, self.tables, self.series)

    def project(self, folder: Path) -> Project:
        return project_for(folder, self.allowed, self.max_bytes)

    def std_project(self) -> Project:
        """The standard library is a project of its own: exactly its folder, nothing allowed besides.
        The size limit (a guard against a scenario's huge files) is not lowered for the files nnci
        ships: `--max-file-bytes 300` refused std/sources, which the user never named."""
        return Project(std_dir().resolve(), (), max(self.max_bytes, MAX_FILE_BYTES))

    def load_prelude(self) -> None:
        self.load_root(std_dir() / "sources.nnci", self.std_project())

    def load_root(self, path: Path, project: Project | None = None) -> str | None:
        """A file named by the user: any place, but a regular file within the size limit."""
        resolved = _resolved(path)
        if resolved is None:
            self.diagnostics.append(Diagnostic("E103", f"`{path}` cannot be read", None, notes=(UNRESOLVABLE,)))
            return None
        if resolved in self.keys:
            return self.keys[resolved]
        if resolved.suffix == TABLE_SUFFIX:
            self.diagnostics.append(Diagnostic("E103", f"`{path}` is a table, not a scenario", None,
                                               help=f'a scenario imports it: `import "{resolved.name}" as jobs`, '
                                               "then a job with `rows = jobs`"))  # fmt: skip
            return None
        buffers = None if project else self.buffers  # the standard library comes from the package
        project = project or self.project(resolved.parent)
        text = read_project_file(resolved, None, project=None, max_bytes=project.max_bytes, shown=path, buffers=buffers)
        if isinstance(text, Diagnostic):
            self.diagnostics.append(text)
            return None
        return self.load_source(text, _module_key(resolved), resolved, project)

    def load_stdin(self) -> str | None:
        """Standard input, as a file named <stdin> in the working directory (for its imports)."""
        if STDIN in self.modules:  # named twice: it was read the first time
            return STDIN
        data = sys.stdin.buffer.read(self.max_bytes + 1)
        text = _decoded(data, STDIN, None, self.max_bytes)
        if isinstance(text, Diagnostic):
            self.diagnostics.append(text)
            return None
        return self.load_named_text(text, STDIN)

    def load_named_text(self, text: str, name: str) -> str:
        path = Path(os.path.abspath(name))  # lexical: a name need not exist, nor be encodable
        return self.load_source(text, name, path, self.project(path.parent))

    def load_source(self, text: str, key: str, path: Path, project: Project) -> str:
        """Register one module, then follow its imports, and theirs, depth first, with a stack."""
        stack = [self._register(text, key, path, project)]
        on_stack = {path}  # the paths of `stack`, for a cycle test that does not walk it
        while stack:
            frame = stack[-1]
            statement = next(frame.pending, None)
            if statement is None:
                on_stack.discard(stack.pop().path)
                continue
            child = self._follow(statement, frame, stack, on_stack)
            if child is not None:
                stack.append(child)
                on_stack.add(child.path)
        return key

    def _register(self, text: str, key: str, path: Path, project: Project) -> _Frame:
        self.keys[path] = key
        self.sources[key] = text
        module = self.parse_and_lower(text, key)
        self.modules[key] = module
        self.imports[key] = {}
        return _Frame(key, path, project, iter(module.imports))

    def parse_and_lower(self, text: str, key: str) -> ast.Module:
        if self.known is not None:
            return self.known(text, key)
        use_cache = cache.wanted() and len(text) <= cache.MAX_TEXT_CHARS
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

    def _follow(self, stmt: ast.Import, frame: _Frame, stack: list[_Frame], on_stack: set[Path]) -> _Frame | None:
        """One import line: the module it names, already loaded or read now (then returned to be followed)."""
        key = frame.key
        is_table = stmt.path.endswith((TABLE_SUFFIX, SERIES_SUFFIX))
        target = import_target(stmt.path, frame.path, stmt.span, suffix="" if is_table else ".nnci")
        resolved = target if isinstance(target, Diagnostic) else _resolved(target)
        if isinstance(resolved, Path) and resolved in on_stack:
            chain = [f.path for f in stack]
            cycle = " → ".join(display_path(p) for p in (*chain[chain.index(resolved) :], resolved))
            self.diagnostics.append(
                Diagnostic("E201", f"import cycle: `{stmt.path}` imports this file again", stmt.span,
                           notes=(cycle,), help="move the shared blocks into a third file that both import")
            )  # fmt: skip
            self.failed.setdefault(key, set()).add(stmt.alias)
            return None
        if stmt.alias in self.imports[key]:
            self.diagnostics.append(Diagnostic("E202", f"alias `{stmt.alias}` is used twice", stmt.span))
            return None
        project = self.std_project() if stmt.path.startswith(STD_PREFIX) else frame.project
        if isinstance(resolved, Path) and resolved in self.keys and project.contains(resolved):
            self.imports[key][stmt.alias] = self.keys[resolved]
            return None
        buffers = None if stmt.path.startswith(STD_PREFIX) else self.buffers  # std/ comes from the package
        text = target if isinstance(target, Diagnostic) else read_project_file(target, stmt, project=project,
                                                                               buffers=buffers)  # fmt: skip
        if isinstance(text, Diagnostic):
            self.diagnostics.append(text)
            self.failed.setdefault(key, set()).add(stmt.alias)
            return None
        assert isinstance(resolved, Path)
        if is_table:
            self._table(text, resolved, stmt, key)
            return None
        child = self._register(text, _module_key(resolved), resolved, project)
        self.imports[key][stmt.alias] = child.key
        return child

    def _table(self, text: str, path: Path, stmt: ast.Import, importer: str) -> None:
        """A CSV table of jobs: read, typed and checked cell by cell (nnci.table); or, when its header
        names a time column (or it is JSON), a file of series (nnci.series_read)."""
        from nnci.series_read import looks_like_series, read_series
        from nnci.table import read_table

        key = _module_key(path)
        text = text.removeprefix("\ufeff")  # as the reader sees it, so carets stand under their cells
        self.keys[path] = key
        self.sources[key] = text
        if path.suffix == SERIES_SUFFIX or looks_like_series(text):
            series, found = read_series(text, key)
            self.diagnostics.extend(found)
            if series is None:
                self.failed.setdefault(importer, set()).add(stmt.alias)
                return
            self.series[key] = series
            self.imports[importer][stmt.alias] = key
            return
        table, problems = read_table(text, key)
        self.diagnostics.extend(problems)
        if table is None:
            self.failed.setdefault(importer, set()).add(stmt.alias)
            return
        self.tables[key] = table
        self.imports[importer][stmt.alias] = key


def import_target(written: str, importer: Path, span: Span | None = None, suffix: str = ".nnci") -> Path | Diagnostic:
    """The path an import names (a data file: with `suffix=""`), not yet resolved; a name no file
    can have is E103. Pass the result to `read_project_file`, which checks where it leads."""
    if "\0" in written or not written.strip():
        return Diagnostic("E103", f"`{written}` is not a file name", span,
                          notes=("a file name cannot be empty or contain a NUL character",))  # fmt: skip
    relative = Path(written if written.endswith(suffix) else written + suffix)
    if written.startswith(STD_PREFIX):
        return std_dir() / relative.relative_to("std")
    return importer.parent / relative


def read_project_file(
    path: Path,
    origin: ast.Import | Span | None,
    *,
    project: Project | None,
    max_bytes: int | None = None,
    shown: Path | None = None,
    buffers: Mapping[Path, str] | None = None,
) -> str | Diagnostic:
    """The text of a file nnci is asked to read, or the located diagnostic saying why not.

    With a `project`, the file must resolve (symlinks followed) inside it; it must be a regular
    file (checked with `os.stat` before it is opened, and again on the open descriptor, which is
    opened non-blocking, so a FIFO or a device is never read) no larger than the limit, and UTF-8.
    `origin` is the import (or its span) that named the file, where the diagnostic points.
    A resolved path in `buffers` (see `resolved_buffers`) is read from there, under the same rules."""
    span = origin.span if isinstance(origin, ast.Import) else origin
    written = origin.path if isinstance(origin, ast.Import) else str(shown or path)
    limit = max_bytes if max_bytes is not None else project.max_bytes if project else max_file_bytes()
    resolved = _resolved(path)
    if resolved is None:
        return Diagnostic(
            "E103",
            f"`{written}` cannot be read",
            span,
            notes=(UNRESOLVABLE,),
        )
    if project is not None and not project.contains(resolved):
        return _outside(written, resolved, span, project)
    if buffers and resolved in buffers:
        text = buffers[resolved]
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            return Diagnostic("E103", f"`{written}` cannot be read: it is larger than the limit ({size:,} bytes > {limit:,})",
                              span, notes=(f"an unsaved buffer for {display_path(resolved)}",
                                           "--max-file-bytes N (or NNCI_MAX_FILE_BYTES) sets the limit"))  # fmt: skip
        return text
    try:
        info = os.stat(resolved)
        problem = _not_readable(info, limit)
        if problem is None:
            descriptor = os.open(resolved, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(descriptor, "rb") as handle:
                opened = os.fstat(handle.fileno())
                problem = _not_readable(opened, limit) or _replaced(info, opened)
                data = b"" if problem else handle.read(limit + 1)
    except (OSError, ValueError) as error:
        return _unreadable(Path(written), resolved, origin if isinstance(origin, ast.Import) else None, error, span)
    if problem is not None:
        notes = (f"looked at {display_path(resolved)}", "--max-file-bytes N (or NNCI_MAX_FILE_BYTES) sets the limit")
        folder = origin is None and resolved.is_dir()  # a folder named on the command line
        hint = (f"name its files (`{written.rstrip('/')}/*.nnci` are then one program), or check each alone: "
                f"`nnci validate {written}`") if folder else None  # fmt: skip
        return Diagnostic("E103", f"`{written}` {problem}", span, notes=notes if "limit" in problem else notes[:1],
                          help=hint)  # fmt: skip
    return _decoded(data, written, span, limit)


def _not_readable(info: os.stat_result, limit: int) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return f"cannot be read: it is {_file_type(info.st_mode)}, and nnci reads only regular files"
    if info.st_size > limit:
        return f"cannot be read: it is larger than the limit ({info.st_size:,} bytes > {limit:,})"
    return None


def _replaced(before: os.stat_result, opened: os.stat_result) -> str | None:
    """The file was swapped between the check and the open (a race someone may be running)."""
    same = (before.st_dev, before.st_ino) == (opened.st_dev, opened.st_ino)
    return None if same else "changed while it was being opened; it was not read"


def _file_type(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _decoded(data: bytes, written: str, span: Span | None, limit: int) -> str | Diagnostic:
    if len(data) > limit:
        return Diagnostic("E103", f"`{written}` cannot be read: it is larger than the limit ({limit:,} bytes)", span,
                          notes=("--max-file-bytes N (or NNCI_MAX_FILE_BYTES) raises it",))  # fmt: skip
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _not_utf8(data, written, span, error.start)


def _not_utf8(data: bytes, written: str, span: Span | None, at: int) -> Diagnostic:
    """E103 for bytes that are not UTF-8: where the first bad byte is (line, column), the line as far
    as it reads, and what the file most likely is instead."""
    line = data.count(b"\n", 0, at) + 1
    line_start = data.rfind(b"\n", 0, at) + 1
    line_end = data.find(b"\n", at)
    column = len(data[line_start:at].decode("utf-8", "replace")) + 1
    shown = data[line_start : line_end if line_end >= 0 else len(data)].decode("utf-8", "replace").rstrip("\r")
    where = Span(written, line, column, line, column + 1)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        hint = "the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8"
    else:
        hint = (
            "save the file as UTF-8 (an editor's or spreadsheet's 'UTF-8' encoding); it may be Latin-1 or Windows-1252"
        )
    notes = (
        f"byte 0x{data[at]:02x} at line {line}, column {column} is not UTF-8",
        f"line {line} reads: {shown[:120]!r}",
    )
    return Diagnostic("E103", f"`{written}` is not UTF-8 text", span or where, notes=notes, help=hint,
                      related=((f"the first byte that is not UTF-8, in `{written}`", where),) if span else ())  # fmt: skip


def _outside(written: str, resolved: Path, span: Span | None, project: Project) -> Diagnostic:
    """E104: the file named lies outside the project (an absolute path, `..`, or a symlink out)."""
    if written.startswith(STD_PREFIX):
        return Diagnostic("E104", f"import `{written}` leaves the standard library", span,
                          notes=(f"it resolves to {display_path(resolved)}",),
                          help="`std/...` names a module of the standard library, e.g. `std/hardware`")  # fmt: skip
    return Diagnostic("E104", f"import `{written}` is outside the project", span,
                      notes=(f"it resolves to {display_path(resolved)}", project.describe()),
                      help=f"move the file into the project, put an `{MARKER}` in a folder above both, "
                      "or allow its folder with `--allow-import DIR`")  # fmt: skip


def read_module(text: str, key: str) -> tuple[ast.Module | None, tuple[Diagnostic, ...]]:
    """Parse and lower one file's text (no imports, no cache); None when it does not parse."""
    # Imported here, not at the top: a run whose modules all come from the cache never loads the parser.
    from nnci.parse import parse_module

    return parse_module(text, key)


def _unreadable(
    path: Path, resolved: Path, origin: ast.Import | None, error: Exception, span: Span | None = None
) -> Diagnostic:
    """E200 for an import whose file does not exist; E103 for any other file that cannot be read."""
    if origin is not None and isinstance(error, FileNotFoundError):
        return Diagnostic("E200", f"import `{origin.path}` not found", origin.span,
                          notes=(f"looked for {display_path(resolved)}",), help=_import_hint(origin))  # fmt: skip
    reason = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else "cannot be read"
    return Diagnostic("E103", f"`{path}` {reason}", origin.span if origin else span,
                      notes=(str(getattr(error, "strerror", None) or error),))  # fmt: skip


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
