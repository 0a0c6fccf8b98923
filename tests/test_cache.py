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
    entries = list(cache_dir.glob("modules-v2/*.nnci-module"))
    assert entries, "the parsed module was cached"
    second = nnci.load(path)
    assert second.blocks == first.blocks
    path.write_text(TEXT.replace("429", "430"))  # an edit is a new key, never the stale entry
    assert len(list(cache_dir.glob("modules-v2/*.nnci-module"))) == len(entries)
    edited = nnci.load(path)
    assert edited.blocks != first.blocks
    assert len(list(cache_dir.glob("modules-v2/*.nnci-module"))) == len(entries) + 1


def test_a_damaged_entry_is_ignored(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    expected = nnci.load(path).blocks
    for entry in cache_dir.glob("modules-v2/*.nnci-module"):
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
    assert len(list(cache_dir.glob("modules-v2/*.nnci-module"))) <= 3 + 1  # the prelude module adds one entry


# -- issue 14: entries are data, checked, and only nnci's own -------------------------------------


def _entry_of(path: Path) -> Path:
    """The entry of the file at `path` (the prelude, std/sources, has one of its own)."""
    entry = cache._entry(path.read_text(), str(path))
    assert entry.exists()
    return entry


class _Planted:
    """A pickle that would create `marker` if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, (f"touch {self.marker}",))


def _old_style_name(text: str, key: str) -> str:
    """Where nnci 0.1 looked for an entry: the pickle file that issue 14 planted."""
    import hashlib

    return hashlib.sha256(cache._salt() + key.encode() + b"\0" + text.encode()).hexdigest() + ".pickle"


def test_a_planted_pickle_is_never_executed(cache_dir: Path, tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    marker = tmp_path / "pwned"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / _old_style_name(TEXT, str(path))).write_bytes(pickle.dumps(_Planted(marker)))
    first = nnci.load(path)
    entry = _entry_of(path)
    entry.write_bytes(pickle.dumps(_Planted(marker)))  # and one where entries live now
    assert nnci.load(path).blocks == first.blocks
    assert not marker.exists()
    assert _entry_of(path).read_bytes().startswith(cache.MAGIC), "the bad entry was replaced"


def test_damaged_entries_are_ignored_and_removed(cache_dir: Path, tmp_path: Path) -> None:
    import random

    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    expected = nnci.load(path).blocks
    entry = _entry_of(path)
    good = entry.read_bytes()
    rng = random.Random(14)
    damaged = [good[:n] for n in (0, 5, len(good) // 2, len(good) - 1)]
    for _ in range(200):
        flipped = bytearray(good)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        damaged.append(bytes(flipped))
    for raw in damaged:
        entry.write_bytes(raw)
        assert cache.get(TEXT, str(path)) is None or raw == good
        assert not entry.exists() or raw == good, "a damaged entry is removed"
    assert nnci.load(path).blocks == expected


def test_a_well_formed_entry_that_is_not_an_ast_is_removed(cache_dir: Path, tmp_path: Path) -> None:
    import hashlib
    import json

    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    nnci.load(path)
    entry = _entry_of(path)
    header, payload = entry.read_bytes().split(b"\n", 1)
    data = json.loads(payload)
    for poison in ([1, "x"], {"a": 1}, [999], [], "str", [data[0], *data[1:-1]], [data[0], data[1], 5, *data[3:]]):
        body = json.dumps(poison).encode()
        meta = json.loads(header.partition(b" ")[2])
        meta["sha256"] = hashlib.sha256(body).hexdigest()  # the checksum is right: the structure is not
        entry.write_bytes(cache.MAGIC + b" " + json.dumps(meta).encode() + b"\n" + body)
        assert cache.get(TEXT, str(path)) is None, poison
        assert not entry.exists()


def test_an_entry_stored_under_another_key_is_refused(cache_dir: Path, tmp_path: Path) -> None:
    other = TEXT.replace("429", "1")
    nnci.loads(other, "a.nnci")
    nnci.loads(TEXT, "b.nnci")
    a, b = cache._entry(other, "a.nnci"), cache._entry(TEXT, "b.nnci")
    b.write_bytes(a.read_bytes())  # a valid entry, planted under the demo's name
    assert cache.get(TEXT, "b.nnci") is None
    assert nnci.loads(TEXT, "b.nnci").blocks != nnci.loads(other, "a.nnci").blocks


def test_the_folder_is_private_and_foreign_files_are_untouched(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir()
    foreign = [cache_dir / "notes.pickle", cache_dir / "x.txt", cache_dir / ("0" * 64 + ".pickle")]
    sub = cache_dir / cache.SUBFOLDER
    for file in foreign:
        file.write_text("mine")
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for value in range(6):
        nnci.loads(TEXT.replace("429", str(value)), f"m{value}.nnci")
        if value == 0:
            foreign += [sub / "keep.pickle", sub / ("a" * 64 + ".nnci-module.bak")]
            for file in foreign[-2:]:
                file.write_text("mine")
    assert all(f.read_text() == "mine" for f in foreign)
    assert len(list(sub.glob("*" + cache.SUFFIX))) == 2
    assert sub.stat().st_mode & 0o777 == 0o700
    assert not list(sub.glob(".*")), "no temporary file is left behind"


def test_a_shared_subfolder_is_made_private_again(cache_dir: Path) -> None:
    sub = cache_dir / cache.SUBFOLDER
    sub.mkdir(parents=True)
    sub.chmod(0o777)
    nnci.loads(TEXT, "m.nnci")
    assert sub.stat().st_mode & 0o777 == 0o700


def test_a_fifo_in_place_of_an_entry_does_not_hang(cache_dir: Path) -> None:
    import os

    nnci.loads(TEXT, "m.nnci")
    entry = cache._entry(TEXT, "m.nnci")
    entry.unlink()
    os.mkfifo(entry)
    assert cache.get(TEXT, "m.nnci") is None  # would block for ever if opened for reading without O_NONBLOCK


def test_a_file_name_that_is_not_utf8_is_cached(cache_dir: Path, tmp_path: Path) -> None:
    import os

    name = os.fsdecode(b"\xff\xfe.nnci")
    path = tmp_path / name
    path.write_text(TEXT)
    first = nnci.load(path)
    assert _entry_of(path).exists()
    assert nnci.load(path).blocks == first.blocks
    assert nnci.loads(TEXT, "\ud800.nnci").blocks  # a lone surrogate, as an API caller may pass


def test_every_shipped_module_round_trips_through_the_encoding() -> None:
    from nnci.load import read_module
    from nnci.resources import std_dir

    for file in sorted(std_dir().glob("*.nnci")):
        text = file.read_text()
        module, _ = read_module(text, file.stem)
        assert module is not None
        digest = cache._digest(text, file.stem)
        again = cache.deserialise(cache.serialise(module, file.stem, digest), file.stem, digest)
        assert again == module and again.comments == module.comments
        assert [b.span for b in again.blocks] == [b.span for b in module.blocks]


def test_only_our_stale_temporary_files_are_swept(cache_dir: Path) -> None:
    import os
    import time

    sub = cache_dir / cache.SUBFOLDER
    sub.mkdir(parents=True, mode=0o700)
    old = time.time() - 2 * cache.STALE_SECONDS
    stale, fresh, foreign = sub / ".x1.nnci-module.tmp", sub / ".x2.nnci-module.tmp", sub / ".x3.tmp"
    for path in (stale, fresh, foreign):
        path.write_text("")
    for path in (stale, foreign):
        os.utime(path, (old, old))
    nnci.loads(TEXT, "m.nnci")
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_a_long_lived_process_keeps_modules_in_memory(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nnci lsp` lowers each module once per text: the same object again, from memory, not from disk."""
    monkeypatch.setattr(cache, "_memory", None)
    from nnci.load import load

    path = tmp_path / "m.nnci"
    path.write_text(TEXT)
    cache.keep_in_memory()
    first, _ = load([path])
    for entry in cache_dir.glob("modules-v2/*.nnci-module"):
        entry.unlink()  # the disk copy gone: only memory can answer now
    again, _ = load([path])
    key = first.roots[0]
    assert again.modules[key] is first.modules[key]
    monkeypatch.setenv("NNCI_NO_CACHE", "1")  # memory serves even with the disk cache off
    third, _ = load([path])
    assert third.modules[key] is first.modules[key]
    assert not list(cache_dir.glob("modules-v2/*.nnci-module"))
    for index in range(cache.MEMORY_ENTRIES + 5):  # bounded: the oldest are dropped
        cache.put(f"grid g{index} {{\n  intensity = 1 gCO2e/kWh\n}}\n", "x", first.modules[key])
    assert cache._memory is not None and len(cache._memory) == cache.MEMORY_ENTRIES
