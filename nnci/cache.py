"""A cache of lowered modules, keyed by a hash of the file's text and of the code that parsed it.

Parsing dominates a cold run: lark compiles a lexer per parser state, and the catalog files run
to thousands of lines. Loading a pickled AST skips both, and a run whose files are all cached
never imports lark. Entries live in $NNCI_CACHE_DIR, else $XDG_CACHE_HOME/nnci, else
~/.cache/nnci; the oldest are pruned past MAX_ENTRIES. A cache that cannot be read or written is
simply not used; NNCI_NO_CACHE=1 turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from pathlib import Path

from nnci.ast import Module
from nnci.resources import PACKAGE, grammar_path

MAX_ENTRIES = 256


def cache_dir() -> Path:
    if os.environ.get("NNCI_CACHE_DIR"):
        return Path(os.environ["NNCI_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnci"


@functools.cache
def _salt() -> bytes:
    """What an entry depends on besides the text: nnci's version, the grammar and the AST's code."""
    from nnci import __version__

    digest = hashlib.sha256(__version__.encode())
    for path in (grammar_path(), PACKAGE / "ast.py", PACKAGE / "lower.py", PACKAGE / "parse.py"):
        digest.update(path.read_bytes())
    return digest.digest()


def _entry(text: str, key: str) -> Path:
    digest = hashlib.sha256(_salt() + key.encode() + b"\0" + text.encode()).hexdigest()
    return cache_dir() / f"{digest}.pickle"


def wanted() -> bool:
    return os.environ.get("NNCI_NO_CACHE") is None


def get(text: str, key: str) -> Module | None:
    try:
        with open(_entry(text, key), "rb") as handle:
            module = pickle.load(handle)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return module if isinstance(module, Module) else None


def put(text: str, key: str, module: Module) -> None:
    """Write atomically (temporary file, then rename), so a reader never sees half an entry."""
    target = _entry(text, key)
    import tempfile  # only when writing: it costs start-up time

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as handle:
            pickle.dump(module, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, target)
        _prune(target.parent)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.pickle"))
    if len(entries) > MAX_ENTRIES:
        entries.sort(key=lambda p: p.stat().st_mtime)
        for stale in entries[: len(entries) - MAX_ENTRIES]:
            stale.unlink(missing_ok=True)
