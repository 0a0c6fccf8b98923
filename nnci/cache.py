"""A cache of lowered modules, keyed by a hash of the file's text and of the code that parsed it.

Parsing dominates a cold run: the catalog files run to thousands of lines. Loading a cached AST
skips the parser, and a run whose files are all cached never imports lark.

Entries are data, never code: an AST is written as JSON (lists tagged with the AST class, see
`encode`) and read back by a decoder that only builds `nnci.ast` classes, checking each field's
type. Each entry starts with a header line holding the format version, the key it was stored
under and the sha256 of the payload; an entry whose header, key, checksum or structure does not
check out is removed and the file is parsed again. Nothing here can raise: a cache that cannot
be read or written is simply not used.

Entries live in the subfolder `modules-v2/` of $NNCI_CACHE_DIR, else $XDG_CACHE_HOME/nnci, else
~/.cache/nnci, created private (0700); a subfolder that is not ours and private is not used.
Only files named `<sha256>.nnci-module` in it are read or pruned (the oldest, past MAX_ENTRIES),
so nothing else in the folder is ever touched. NNCI_NO_CACHE=1 turns the cache off. A long-lived
process (`nnci lsp`) also keeps the modules in memory (`keep_in_memory`), which then serves even
with the disk cache off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import operator
import os
import re
import stat
import time
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from nnci import ast
from nnci.diagnostics import Span
from nnci.resources import PACKAGE, grammar_path

MAX_ENTRIES = 256
# Past this size the parser is about as fast as decoding an entry, and lighter (measured: std/grids,
# 148 kB, parses in 22 ms and decodes in 15 ms; a 855 kB file parses in 0.28 s, decodes in 0.25 s
# and costs 0.18 s to store): larger files are not cached.
MAX_TEXT_CHARS = 256_000
FORMAT = 2
SUBFOLDER = f"modules-v{FORMAT}"
SUFFIX = ".nnci-module"
MAGIC = b"nnci-module-cache"
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # far above any real module; a larger file is not ours
STALE_SECONDS = 3600  # a temporary file this old was left by a process that was killed

TUPLE = 0  # [0, item, ...] is a tuple; [k, field, ...] with k ≥ 1 is an instance of CLASSES[k - 1]


class CacheError(Exception):
    """An entry that cannot be used: bad header, key, checksum, or a payload that is not an AST."""


def cache_dir() -> Path:
    """The user's cache folder (shared with nothing but nnci's own subfolder inside it)."""
    if os.environ.get("NNCI_CACHE_DIR"):
        return Path(os.environ["NNCI_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnci"


def entries_dir() -> Path:
    """nnci's own subfolder: the only place entries are written, read and pruned."""
    return cache_dir() / SUBFOLDER


@functools.cache
def _salt() -> bytes:
    """What an entry depends on besides the text: nnci's version, the grammar and the AST's code."""
    from nnci import __version__

    digest = hashlib.sha256(__version__.encode() + FORMAT.to_bytes(2, "big"))
    for path in (grammar_path(), PACKAGE / "ast.py", PACKAGE / "lower.py", PACKAGE / "parse.py"):
        digest.update(path.read_bytes())
    return digest.digest()


def _bytes(text: str) -> bytes:
    """Any str as bytes, lone surrogates included (file names that are not UTF-8 decode to them)."""
    return text.encode("utf-8", "surrogatepass")


def _digest(text: str, key: str) -> str:
    return hashlib.sha256(_salt() + _bytes(key) + b"\0" + _bytes(text)).hexdigest()


def _entry(text: str, key: str) -> Path:
    return entries_dir() / f"{_digest(text, key)}{SUFFIX}"


def wanted() -> bool:
    return _memory is not None or _on_disk()


def _on_disk() -> bool:
    return os.environ.get("NNCI_NO_CACHE") is None


# A long-lived process (the language server, `nnci lsp`) keeps the modules it lowered in memory too,
# so a keystroke does not decode the catalog files from disk again: digest → module, oldest dropped.
_memory: dict[str, ast.Module] | None = None
MEMORY_ENTRIES = 64


def keep_in_memory() -> None:
    """Keep lowered modules in this process as well as on disk (`nnci lsp` turns it on)."""
    global _memory
    if _memory is None:
        _memory = {}


def _remember(digest: str, module: ast.Module) -> None:
    if _memory is None:
        return
    _memory[digest] = module
    while len(_memory) > MEMORY_ENTRIES:
        del _memory[next(iter(_memory))]


# -- encoding: an AST as nested JSON lists --------------------------------------------------------


def _ast_classes() -> tuple[type, ...]:
    """Every attrs class of `nnci.ast`, by name (stable across runs), and Span: all an entry may build."""
    found = [c for c in vars(ast).values() if isinstance(c, type) and attrs.has(c) and c.__module__ == ast.__name__]
    return (*sorted(found, key=lambda c: c.__name__), Span)


CLASSES = _ast_classes()
TAGS = {cls: index + 1 for index, cls in enumerate(CLASSES)}


LEAVES = frozenset({str, int, float, bool, type(None)})


def _trailing_spans(cls: type) -> int:
    """How many fields at the end of `cls` are spans: they are written inline as 4 ints each, the
    file being the module's own (half the nodes of a tree are spans: this halves its lists)."""
    count = 0
    for field in reversed(attrs.fields(cls)):  # type: ignore[arg-type]
        if field.type not in (Span, "Span"):
            break
        count += 1
    return count if cls is not Span else 0


def _fields_of(cls: type) -> Callable[[object], tuple[object, ...]]:
    """A C-level getter of the fields of `cls` before its trailing spans, in order."""
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    names = names[: len(names) - SPANS[cls]]
    if not names:
        return lambda value: ()
    getter = operator.attrgetter(*names)
    return (lambda value: (getter(value),)) if len(names) == 1 else getter


def _spans_of(cls: type) -> Callable[[object], tuple[Span, ...]]:
    """The trailing spans of an instance of `cls`."""
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    getters = [operator.attrgetter(name) for name in names[len(names) - SPANS[cls] :]]
    return lambda value: tuple(get(value) for get in getters)


SPANS = {cls: _trailing_spans(cls) for cls in CLASSES}
GETTERS = {cls: _fields_of(cls) for cls in CLASSES}
SPAN_GETTERS = {cls: _spans_of(cls) for cls in CLASSES if SPANS[cls]}


def encode(value: object, file: str) -> object:
    """An AST value as JSON data: an instance is `[tag, *fields, *spans as line, column, end line,
    end column]`, a tuple `[0, *items]`. Every inline span must be in `file`.

    Raises CacheError for anything else (the module is then not cached)."""
    cls = type(value)
    if cls in LEAVES:
        return value
    if cls is tuple:
        items: tuple[object, ...] = value  # type: ignore[assignment]
        return [TUPLE, *[v if type(v) in LEAVES else encode(v, file) for v in items]]
    tag = TAGS.get(cls, 0)
    if not tag:
        raise CacheError(f"cannot cache a {cls.__name__}")
    out = [tag, *[v if type(v) in LEAVES else encode(v, file) for v in GETTERS[cls](value)]]
    if SPANS[cls]:
        for span in SPAN_GETTERS[cls](value):
            if span.file != file:
                raise CacheError("a span in another file")
            out += (span.line, span.column, span.end_line, span.end_column)
    return out


Check = Callable[[list[Any]], bool]


def annotation_types(annotation: object) -> tuple[tuple[type, ...], tuple[type, ...] | None]:
    """The runtime types one field annotation allows, and for `tuple[X, ...]` those of its items
    (any other generic, `dict[K, V]`, is its container alone; `Any` is anything). Both caches' decoders
    check the fields they build with it."""
    if annotation is Any:
        return (object,), None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        outer: tuple[type, ...] = ()
        items: tuple[type, ...] | None = None
        for option in typing.get_args(annotation):
            option_outer, option_items = annotation_types(option)
            outer += option_outer
            items = option_items if items is None else items + (option_items or ())
        return outer, items
    if origin is tuple:
        return (tuple,), annotation_types(typing.get_args(annotation)[0])[0]
    if origin is not None:
        return (origin,), None
    if annotation is float:
        return (float, int), None  # an int is a float to the AST's users; json writes floats as floats
    assert isinstance(annotation, type), annotation
    return (annotation,), None


def _fields_check(cls: type) -> Check:
    """A predicate over the decoded field values of `cls`, from its type hints (built once).

    Every check is an `isinstance` run by `map`, so checking costs little beside building."""
    namespace = {**vars(ast), "Span": Span}
    hints = typing.get_type_hints(cls, globalns=namespace, localns=namespace)
    specs = [annotation_types(hints[field.name]) for field in attrs.fields(cls)]  # type: ignore[arg-type]
    outer = tuple(o for o, _ in specs)
    nested = [(index, items) for index, (_, items) in enumerate(specs) if items is not None]
    count = len(specs)

    def flat(values: list[Any]) -> bool:
        return len(values) == count and all(map(isinstance, values, outer))

    def deep(values: list[Any]) -> bool:
        return flat(values) and all(
            not isinstance(values[i], tuple) or all(map(isinstance, values[i], itertools.repeat(items)))
            for i, items in nested
        )

    return deep if nested else flat


Decoder = tuple[type, Check, int]


@functools.cache
def _decoders() -> tuple[Decoder | None, ...]:
    """Tag → (class, check of its fields, trailing spans); built on first use (it resolves type hints)."""
    return (None, *((cls, _fields_check(cls), SPANS[cls]) for cls in CLASSES))


def decode(data: object, file: str) -> object:
    """The inverse of `encode`; raises CacheError (or a builtin error) on anything that is not an AST.

    Leaves are passed through as JSON gave them; each class checks its own fields' types, so a dict
    or a string where a tuple belongs is refused where it stands."""
    if type(data) is not list:
        return data
    return _decode_list(data, file, _decoders())


def _decode_list(data: list[Any], file: str, decoders: tuple[Decoder | None, ...]) -> object:
    if not data or type(data[0]) is not int:
        raise CacheError("untagged list")
    tag = data[0]
    if tag == TUPLE:
        return tuple([_decode_list(v, file, decoders) if type(v) is list else v for v in data[1:]])
    if not 0 < tag < len(decoders):
        raise CacheError(f"unknown tag {tag}")
    cls, check, spans = decoders[tag]  # type: ignore[misc]
    end = len(data) - 4 * spans
    values = [_decode_list(v, file, decoders) if type(v) is list else v for v in data[1:end]]
    for at in range(end, len(data), 4):
        line, column, end_line, end_column = data[at : at + 4]
        if not type(line) is type(column) is type(end_line) is type(end_column) is int:
            raise CacheError("malformed span")
        values.append(Span(file, line, column, end_line, end_column))
    if not check(values):
        raise CacheError(f"malformed {cls.__name__}")
    return cls(*values)


# -- entries: header line, then the payload --------------------------------------------------------


def serialise(module: ast.Module, key: str, digest: str) -> bytes:
    if module.file != key:
        raise CacheError("a module stored under another name than its own")  # its spans name its file
    payload = json.dumps(encode(module, module.file), separators=(",", ":")).encode("ascii")
    header = {"format": FORMAT, "key": key, "digest": digest, "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + b" " + json.dumps(header).encode("ascii") + b"\n" + payload


def deserialise(raw: bytes, key: str, digest: str) -> ast.Module:
    """Check the magic, the format, the key and the checksum before decoding anything."""
    first, newline, payload = raw.partition(b"\n")
    magic, _, header_text = first.partition(b" ")
    if magic != MAGIC or not newline:
        raise CacheError("not an nnci cache entry")
    header = json.loads(header_text)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CacheError("another format")
    if header.get("key") != key or header.get("digest") != digest:
        raise CacheError("stored under another key")
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise CacheError("checksum mismatch")
    module = decode(json.loads(payload), key)
    if not isinstance(module, ast.Module):
        raise CacheError("not a module")
    return module


def _private_folder(folder: Path, create: bool) -> bool:
    """Whether `folder` is a directory of ours that nobody else may write; created 0700 if asked."""
    if create:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)  # ours, but created by an older nnci or a umask that shares it
    return True


def _read_entry(path: Path, limit: int = MAX_ENTRY_BYTES) -> bytes:
    """The bytes of a regular file, without following a symlink or blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise CacheError("not a regular file of a plausible size")
        return handle.read(limit + 1)


def get(text: str, key: str) -> ast.Module | None:
    """The cached module for this text and key, or None. A bad entry is removed, never raised."""
    try:
        digest = _digest(text, key)
        if _memory is not None and digest in _memory:
            return _memory[digest]
        if not _on_disk():
            return None
    except Exception:
        return None
    path = entries_dir() / f"{digest}{SUFFIX}"
    raw = read_entry(path)
    if raw is None:
        return None
    try:
        module = deserialise(raw, key, digest)
    except Exception:  # any damage at all: the entry is dropped and the file parsed again
        remove(path)
        return None
    _remember(digest, module)
    return module


def read_entry(path: Path, limit: int = MAX_ENTRY_BYTES) -> bytes | None:
    """The bytes of an entry of ours (in a private folder of ours, a regular file within `limit`),
    or None: absent, not ours, or unreadable. Checking what it holds is the caller's."""
    try:
        if not os.path.lexists(path) or not _private_folder(path.parent, create=False):
            return None
        return _read_entry(path, limit)
    except Exception:
        return None


def write_entry(path: Path, data: bytes, suffix: str) -> bool:
    """Write atomically (a temporary file beside, then rename), so a reader never sees half an entry,
    into a private folder of ours (created); False when it cannot be written. Never raises."""
    import tempfile  # only when writing: it costs start-up time

    temporary: str | None = None
    try:
        if not _private_folder(path.parent, create=True):
            return False
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=suffix + ".tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        temporary = None
        return True
    except Exception:  # a full disk, a read-only folder: no cache
        return False
    finally:
        if temporary is not None:
            remove(Path(temporary))


def remove(path: Path) -> None:
    """Remove a file of ours if it is there (an entry that did not check out, a temporary one)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _remove_if_stale(path: Path) -> None:
    try:
        if time.time() - os.lstat(path).st_mtime > STALE_SECONDS:
            path.unlink()
    except OSError:
        pass


def put(text: str, key: str, module: ast.Module) -> None:
    """Store the module (in memory too, in a long-lived process); nothing here raises."""
    try:
        digest = _digest(text, key)
        _remember(digest, module)
        if not _on_disk():
            return
        data = serialise(module, key, digest)
    except Exception:  # a module that cannot be encoded: not cached
        return
    folder = entries_dir()
    if write_entry(folder / f"{digest}{SUFFIX}", data, SUFFIX):
        with contextlib.suppress(OSError):
            prune(folder, SUFFIX, MAX_ENTRIES)


def prune(folder: Path, suffix: str, keep: int, max_bytes: int | None = None) -> None:
    """Past `keep` of our own entries (`<sha256><suffix>`), drop the oldest down to three quarters of
    it (so the next puts do not stat every entry again), and our temporary files left by a killed
    process; with `max_bytes`, also the oldest past that many bytes in all (the newest is always
    kept). Nothing else in the folder is touched."""
    entry_name = re.compile(r"^[0-9a-f]{64}" + re.escape(suffix) + "$")
    temporary_name = re.compile(r"^\..+" + re.escape(suffix) + r"\.tmp$")
    names = os.listdir(folder)
    for name in names:
        if temporary_name.match(name):
            _remove_if_stale(folder / name)
    entries = [name for name in names if entry_name.match(name)]
    if len(entries) <= keep and max_bytes is None:
        return
    dated: list[tuple[float, int, str]] = []
    for name in entries:
        try:
            info = os.stat(os.path.join(folder, name))
        except OSError:
            continue
        dated.append((info.st_mtime, info.st_size, name))
    dated.sort(reverse=True)  # newest first
    kept = dated[:keep] if len(dated) <= keep else dated[: keep * 3 // 4]
    if max_bytes is not None:
        total, within = 0, 0
        for _, size, _ in kept:
            total += size
            if within and total > max_bytes:
                break
            within += 1
        kept = kept[:within]
    for _, _, stale in dated[len(kept) :]:
        remove(folder / stale)
