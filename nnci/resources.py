"""Where the grammar, the standard library and the bundled models live.

In a wheel they sit inside the package (hatch's force-include puts them there); in a source
checkout the grammar and models sit at the repository's top level, beside the package.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _first(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[-1]


def grammar_path() -> Path:
    return _first(PACKAGE / "grammar" / "nnci.lark", PACKAGE.parent / "grammar" / "nnci.lark")


def std_dir() -> Path:
    return PACKAGE / "std"


def models_dir() -> Path:
    return _first(PACKAGE / "models", PACKAGE.parent / "models")
