"""Entries on disk: the key, the checked header and payload, the stand-in the loader takes instead
of parsing on a hit, and the private folder they live in."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnci import ast, cache
from nnci.compiled.program import Compiled, Entry, encode
from nnci.compiled.values import Unusable
from nnci.diagnostics import Span
from nnci.load import Program as LoadedProgram
from nnci.resources import PACKAGE, grammar_path

FORMAT = 1
SUBFOLDER = f"programs-v{FORMAT}"
SUFFIX = ".nnci-program"
MAGIC = b"nnci-program-cache"
MAX_ENTRY_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 16  # an entry of a large program runs to tens of MB: few are kept (the oldest pruned)
MAX_BYTES = 1024 * 1024 * 1024  # and no more than this in all, but for the newest


@functools.cache
def _salt() -> bytes:
    """Everything besides the files that decides the compiled form: nnci's version and its whole code."""
    from nnci import __version__

    digest = hashlib.sha256(f"{__version__}\0{FORMAT}\0{sys.version_info[:2]}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    grammar = grammar_path()  # inside the package once installed, beside it in a checkout
    digest.update(b"grammar\0" + grammar.read_bytes())
    return digest.digest()


def key_of(paths: Sequence[str | Path], everything: bool, allowed: Sequence[str | Path], max_bytes: int | None) -> str:
    """The files named and every option that decides which files are read and how they resolve."""
    from nnci.load import max_file_bytes

    limit = max_file_bytes() if max_bytes is None else max_bytes
    # Absolute paths, not the working folder: the hit's loader run finds every file's name again, so
    # a run from another folder that would name the files otherwise (relative paths) is a miss.
    what = [[os.path.abspath(p) for p in paths], everything, [os.path.abspath(a) for a in allowed], limit]
    text = json.dumps(what, ensure_ascii=True)  # lone surrogates (odd file names) escaped, never an error
    return hashlib.sha256(_salt() + text.encode("ascii")).hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def entries_dir() -> Path:
    return cache.cache_dir() / SUBFOLDER


def _entry(key: str) -> Path:
    return entries_dir() / f"{key}{SUFFIX}"


def wanted() -> bool:
    return os.environ.get("NNCI_NO_CACHE") is None


def serialise(compiled: Compiled, key: str, loaded: LoadedProgram) -> bytes:
    data, binary = encode(compiled)
    files = {module: _text_digest(text) for module, text in loaded.sources.items()}
    imports = {module: [[i.path, i.alias] for i in loaded.modules[module].imports] for module in loaded.modules}
    stored = {"files_read": files, "imports": imports, "bound": loaded.imports, "roots": list(loaded.roots),
              "program": data}  # fmt: skip
    text = json.dumps(stored, separators=(",", ":"), ensure_ascii=True, allow_nan=True).encode("ascii")
    payload = len(text).to_bytes(8, "little") + text + binary
    header = {"format": FORMAT, "key": key, "sha256": hashlib.sha256(payload).hexdigest()}
    return MAGIC + b" " + json.dumps(header).encode("ascii") + b"\n" + payload


def stand_in(entry: Entry) -> Callable[[str, str], ast.Module]:
    """What the loader takes instead of parsing: a file's module holding only its imports, provided its
    text hashes as stored (else Unusable: the entry is stale)."""
    files, imports = entry[0]["files_read"], entry[0]["imports"]
    if type(files) is not dict or type(imports) is not dict:
        raise Unusable("malformed entry")

    def module(text: str, key: str) -> ast.Module:
        written = imports.get(key)
        if files.get(key) != _text_digest(text) or type(written) is not list:
            raise Unusable(f"{key} changed")
        nowhere = Span(key, 1, 1, 1, 1)  # a loader diagnostic rejects the entry: no span is shown
        found = []
        for item in written:
            if type(item) is not list or len(item) != 2 or not all(type(v) is str for v in item):
                raise Unusable("malformed entry")
            found.append(ast.Import(item[0], item[1], nowhere))
        return ast.Module(key, None, tuple(found), (), ())

    return module


def same_files(entry: Entry, loaded: LoadedProgram) -> bool:
    """The loader, reading again, found exactly the files, roots and imports stored."""
    data = entry[0]
    return (
        not loaded.tables
        and not loaded.series
        and set(loaded.sources) == set(data["files_read"])
        and list(loaded.roots) == data["roots"]
        and loaded.imports == data["bound"]
    )


def _payload(raw: bytes, key: str) -> tuple[dict[str, Any], memoryview]:
    end = raw.find(b"\n", 0, 4096)
    magic, _, header_text = raw[: max(end, 0)].partition(b" ")
    if magic != MAGIC or end < 0:
        raise Unusable("not an nnci program entry")
    header = json.loads(header_text)
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        raise Unusable("another format or key")
    payload = memoryview(raw)[end + 1 :]  # 20 MB at 10,000 observations: read in place, not copied
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise Unusable("checksum mismatch")
    size = int.from_bytes(payload[:8], "little")
    data = json.loads(bytes(payload[8 : 8 + size]))
    if not isinstance(data, dict):
        raise Unusable("malformed entry")
    return data, payload[8 + size :]


def get(key: str) -> Entry | None:
    """The entry stored under `key` (checked, not yet decoded), or None; a damaged entry is removed."""
    if not wanted():
        return None
    path = _entry(key)
    raw = cache.read_entry(path, MAX_ENTRY_BYTES)
    if raw is None:
        return None
    try:
        return _payload(raw, key)
    except Exception:
        cache.remove(path)
        return None


def drop(key: str) -> None:
    cache.remove(_entry(key))


def put(key: str, compiled: Compiled, loaded: LoadedProgram) -> None:
    """Store atomically; anything that cannot be stored (or written) is simply not cached."""
    if not wanted():
        return
    try:
        data = serialise(compiled, key, loaded)
    except Exception:  # a program the compiled form cannot hold (a table, a distribution): not cached
        return
    if cache.write_entry(_entry(key), data, SUFFIX):
        with contextlib.suppress(OSError):
            cache.prune(entries_dir(), SUFFIX, MAX_ENTRIES, MAX_BYTES)
