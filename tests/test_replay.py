"""Blocks written alike are parsed once and replayed (nnci.replay): the module, every span, the
comments, docs and diagnostics are those the LALR driver gives parsing every block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from strategies import alike_blocks, mutated, observation

from nnci import parse, replay

REPO = Path(__file__).resolve().parent.parent


def same(a: Any, b: Any, path: str = "result") -> None:
    """Equal, spans included (the AST's equality leaves spans out)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if attrs.has(type(a)):
        for field in attrs.fields(type(a)):
            same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{path}: {len(a)} vs {len(b)} items"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{index}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            same(a[key], b[key], f"{path}[{key!r}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def both_ways(text: str) -> tuple[Any, Any]:
    """The fast parser's result replaying and not. Where it gives up (an int: where the syntax error
    is; None: not known), lark's path parses the file again and decides: only that both gave up is
    compared."""
    fast = parse._fast_parser()
    assert fast is not None
    prepared = parse._prepare(text)
    replayed, driven = fast.parse(prepared, "<t>", replay=True), fast.parse(prepared, "<t>", replay=False)
    if not isinstance(driven, tuple) or not isinstance(replayed, tuple):
        assert not isinstance(driven, tuple) and not isinstance(replayed, tuple), (replayed, driven)
        return None, None
    return replayed, driven


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many blocks were replayed, then how many of them cloned."""
    counted = [0, 0]
    replayed, cloned = replay.Template.replay, replay.Clone.run

    def counting(self: replay.Template, *args: Any) -> Any:
        counted[0] += 1
        return replayed(self, *args)

    def counting_clones(self: replay.Clone, *args: Any) -> Any:
        counted[1] += 1
        return cloned(self, *args)

    monkeypatch.setattr(replay.Template, "replay", counting)
    monkeypatch.setattr(replay.Clone, "run", counting_clones)
    return counted


def test_the_workload_is_replayed_and_parses_as_the_driver_does(replays: list[int]) -> None:
    text = "nnci 0.1\n## generated\n" + "".join(
        observation(i, 300 + i, 1.1, 400 + i, 0.95, 8, 10 + i) for i in range(40)
    )
    replayed, driven = both_ways(text)
    assert isinstance(replayed, tuple)
    same(replayed, driven)
    assert replays[0] >= 7 * 39 - 5  # every block after the first of its shape, about
    assert replays[1] >= replays[0] - 10  # and all but the first replayed of each shape cloned


@pytest.mark.parametrize("path", sorted((REPO / "models").glob("*.nnci")), ids=lambda p: p.stem)
def test_every_model_parses_the_same_replayed(path: Path) -> None:
    replayed, driven = both_ways(path.read_text())
    same(replayed, driven)


@settings(max_examples=300, deadline=None)
@given(alike_blocks())
def test_blocks_written_alike_parse_the_same_replayed(text: str) -> None:
    replayed, driven = both_ways(text)
    same(replayed, driven)


@settings(max_examples=150, deadline=None)
@given(alike_blocks(max_blocks=6).flatmap(lambda text: mutated([text + text])))
def test_damaged_files_of_blocks_written_alike_fail_where_the_driver_fails(text: str) -> None:
    replayed, driven = both_ways(text)
    same(replayed, driven)


def test_a_large_file_is_replayed_by_default(replays: list[int]) -> None:
    text = "nnci 0.1\n" + "".join(observation(i, 300, 1.1, 400, 0.95, 8, 10) for i in range(400))
    assert len(text) >= parse.REPLAY_MIN_CHARS
    module, diagnostics = parse.parse_module(text, "<t>")
    assert module is not None and not diagnostics and len(module.blocks) == 7 * 400 and replays[0] > 2000


def test_nothing_of_a_replayed_parse_outlives_its_module_without_the_collector() -> None:
    """`nnci` runs with the garbage collector off: a reference cycle among the replay's closures would
    keep every block of the file alive after its module is gone (it once did: 56 MB at 10,000
    observations)."""
    import gc
    import weakref

    text = "nnci 0.1\n" + "".join(observation(i, 300, 1.1, 400, 0.95, 8, 10) for i in range(400))
    enabled = gc.isenabled()
    gc.disable()
    try:
        module, _ = parse.parse_module(text, "<t>")
        assert module is not None
        kept = [weakref.ref(block) for block in module.blocks[:: len(module.blocks) // 20]]
        del module
        assert all(ref() is None for ref in kept)
    finally:
        if enabled:
            gc.enable()


def _blocks(line: str, values: list[str], end: str = "\n") -> str:
    return "nnci 0.1\n" + "".join(f"grid g{i} {{\n  {line.format(v)}\n}}{end}" for i, v in enumerate(values))


@pytest.mark.parametrize(
    "text",
    [
        _blocks("x = {} (a, 2 W)", ["max", "max", "max", "min"]),  # a call's name, a space before `(`
        "nnci 0.1\n" + "grid z {\n  x = 1\n}\n" * 3 + "  grid c {\n  x = 1\n}\n",  # an indented block
        _blocks("x = 5 W*{}", ["_a", "_a", "h", "h"]),  # a name after a unit's `*` would extend it
        _blocks("x = 5 W*{}.b", ["_a", "_a", "_a", "c"]),  # ... and here makes a syntax error
        _blocks("{} \f= 1", list("xxxy")),  # a form feed before `=`: still a field's name
        "nnci 0.1\ngrid a {\n  x = 300 \\\ngrid \n}\n",  # a unit after a line continuation
    ],
    ids=["call", "indented", "unit-times-name", "unit-times-dotted", "form-feed", "continuation"],
)
def test_what_a_breaker_found_parses_as_the_driver_does(text: str) -> None:
    replayed, driven = both_ways(text)
    same(replayed, driven)


@pytest.mark.parametrize(
    ("inside", "codes"),
    [(" + 1 W" * 20_000, ["E305"]), ("\n" * 100_000, []), ("\n  # a note" * 10_000, [])],
    ids=["20,000 additions", "100,000 blank lines", "10,000 comment lines"],
)
def test_a_block_longer_than_a_template_holds_is_parsed_not_recorded(
    inside: str, codes: list[str], replays: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a breaker's files held (a field of 20,000 additions; 3,000,000 blank lines): a template's
    pattern would take seconds to compile and gigabytes to hold, so none is recorded and the block is
    parsed. A chain too long is refused in one diagnostic, and the job naming the block refused is not
    then said to name an unknown block."""
    recorded: list[object] = []
    record = replay.record
    monkeypatch.setattr(replay, "record", lambda *args: recorded.append(record(*args)) or recorded[-1])
    text = f"nnci 0.1\ndevice gpu {{\n  power = 300 W{inside}\n}}\ntraining t {{\n  fleet = {{ gpu = 8 }}\n}}\n"
    assert len(text) >= parse.REPLAY_MIN_CHARS
    module, diagnostics = parse.parse_module(text, "<t>")
    assert recorded[0] is None and replays == [0, 0]
    assert [d.code for d in diagnostics] == codes and module is not None
    assert module.dropped == (("gpu",) if codes else ())
