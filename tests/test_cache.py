"""The parsed-module cache: keyed by content, never trusted blindly, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnci
from nnci import cache

TEXT = "grid g {\n  intensity = 429 gCO2e/kWh\n}\n"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NNCI_CACHE_DIR", str(folder))
    monkeypatch.delenv("NNCI_NO_CACHE", raising=False)
    return folder


def test_a_second_load_comes_from_the_cache_and_agrees(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    first = nnci.load(path)
    entries = list(cache_dir.glob("*.pickle"))
    assert entries, "the parsed module was cached"
    second = nnci.load(path)
    assert second.blocks == first.blocks
    path.write_text(TEXT.replace("429", "430"))  # an edit is a new key, never the stale entry
    assert len(list(cache_dir.glob("*.pickle"))) == len(entries)
    edited = nnci.load(path)
    assert edited.blocks != first.blocks
    assert len(list(cache_dir.glob("*.pickle"))) == len(entries) + 1


def test_a_damaged_entry_is_ignored(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    expected = nnci.load(path).blocks
    for entry in cache_dir.glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert nnci.load(path).blocks == expected


def test_files_with_errors_are_not_cached(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.nnci"
    path.write_text("grid g {\n")
    with pytest.raises(nnci.NnciError):
        nnci.load(path)
    assert not cache._entry("grid g {\n", str(path)).exists()
    assert cache._entry(TEXT, str(path)) != cache._entry("grid g {\n", str(path))
    with pytest.raises(nnci.NnciError):
        nnci.load(path)  # still reported the second time


def test_the_cache_is_pruned(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for value in range(6):
        nnci.loads(TEXT.replace("429", str(value)), f"m{value}.nnci")
    assert len(list(cache_dir.glob("*.pickle"))) <= 3 + 1  # the prelude module adds one entry
