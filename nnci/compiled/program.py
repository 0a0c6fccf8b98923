"""The whole compiled program: the plan's stacked blocks and every other block written whole, the
lanes as columns per stacked block, where each block stands in the program's order; decoded with
the lanes left to build when first read (`ir.LazyBlocks`)."""

from __future__ import annotations

import array
import operator
from collections.abc import Callable
from typing import Any

import attrs

from nnci import ir
from nnci.compiled.lanes import LaneReader, LaneWriter, read_rare, texts_of
from nnci.compiled.values import Decoder, Encoder, Unusable, typed
from nnci.diagnostics import Diagnostic, NnciError
from nnci.plan import Group, Plan

Entry = tuple[dict[str, Any], memoryview]  # an entry's JSON data and its integers, checked but not decoded


@attrs.frozen
class Compiled:
    program: ir.Program
    plan: Plan
    warnings: tuple[Diagnostic, ...]
    # what the engine found while checking (a figure no output shows may still fault): a hit's engine
    # starts with them, so the run reports what it reports without the cache, in the same order
    found: tuple[Diagnostic, ...] = ()


def _storable(program: ir.Program) -> bool:
    return not program.tables and not program.instants and not program.uncertain


def encode(compiled: Compiled) -> tuple[dict[str, object], bytes]:
    """The compiled program as JSON data and 32-bit integers: where each block is, then the lanes'
    spans, one stream per stacked block (so that its lanes can be built apart from the others')."""
    program, plan = compiled.program, compiled.plan
    if not _storable(program):
        raise Unusable("a program with tables, series or distributions")
    encoder = Encoder()
    stacked_keys = list(plan.lanes)
    writers = [LaneWriter(encoder, plan.lanes) for _ in stacked_keys]
    templates = [plan.program.blocks[key] for key in stacked_keys]
    lane_of: dict[ir.BlockKey, tuple[int, int]] = {}
    for index, key in enumerate(stacked_keys):
        for lane, member in enumerate(plan.lanes[key]):
            lane_of.setdefault(member, (index, lane))
    order = list(program.blocks)
    position = {key: at for at, key in enumerate(order)}
    # per block in order: where it is among the whole blocks, then each stacked block's lanes (`source`),
    # and for each stacked block the lane of its plan block that each of its lanes is (`lane_numbers`)
    claimed: list[list[int]] = [[] for _ in stacked_keys]
    placement: list[tuple[int, int]] = []  # per block in order: its template (-1: whole) and claim number
    whole: list[object] = []
    for key in order:
        block = program.blocks[key]
        found = lane_of.get(key)
        if found is None:
            placement.append((-1, len(whole)))
            whole.append(encoder.value(block))
        else:
            template, lane = found
            placement.append((template, len(claimed[template])))
            claimed[template].append(lane)
            writers[template].block(templates[template], block, lane)
    offsets = [len(whole)]
    for lanes in claimed:
        offsets.append(offsets[-1] + len(lanes))
    source = [number if template == -1 else offsets[template] + number for template, number in placement]
    lane_numbers = [lane for lanes in claimed for lane in lanes]
    data: dict[str, object] = {
        "stacked": [encoder.value(template) for template in templates],
        "lanes": [[position[member] for member in plan.lanes[key]] for key in stacked_keys],
        "groups": [
            [[position[job] for job in group.jobs], stacked_keys.index(group.stacked) if group.stacked else -1]
            for group in plan.groups
        ],
        "whole": whole,
        "lane_names": [_joined(writer.names) for writer in writers],  # one string each: quick to read
        "lane_texts": [_joined(writer.texts) for writer in writers],
        "lane_rare": [writer.rare for writer in writers],
        "lane_ints": [len(writer.ints) for writer in writers],
        "roots": [position[key] for key in program.roots],
        "expects": encoder.value(program.expects),
        "aliases": encoder.value(program.aliases),
        "figures": encoder.value(program.figures),
        "checks": encoder.value(program.checks),
        "program_warnings": encoder.value(program.warnings),
        "warnings": encoder.value(compiled.warnings),
        "found": encoder.value(compiled.found),
    }
    data["files"] = list(encoder.files)  # last: every value above has named its files
    packed = array.array("i")
    try:
        packed.fromlist(source)
        packed.fromlist(lane_numbers)
        for writer in writers:
            packed.fromlist(writer.ints)
    except OverflowError as error:
        raise Unusable("a position too large to store") from error
    return data, len(source).to_bytes(8, "little") + packed.tobytes()


def decode(entry: Entry, sources: dict[str, str], discard: Callable[[], None] = lambda: None) -> Compiled:
    """The compiled program of an entry; the lanes of each stacked block are built when first read."""
    data, binary = entry[0]["program"], entry[1]
    if type(data) is not dict:
        raise Unusable("malformed entry")
    files = data["files"]
    if type(files) is not list or not all(type(f) is str for f in files):
        raise Unusable("malformed file list")
    decoder = Decoder(files)
    count = int.from_bytes(binary[:8], "little")  # blocks in the program's order
    if len(binary) % 4 != 0 or len(binary) < 8:
        raise Unusable("malformed integers")
    packed = array.array("i")
    packed.frombytes(binary[8:])
    stacked = [decoder.value(b) for b in data["stacked"]]
    if not all(type(b) is ir.Block and b.key.module == ir.PLAN_MODULE for b in stacked):
        raise Unusable("malformed stacked block")
    whole = [decoder.value(b) for b in data["whole"]]
    if not all(type(b) is ir.Block for b in whole):
        raise Unusable("malformed block")
    names, texts, rares, sizes = data["lane_names"], data["lane_texts"], data["lane_rare"], data["lane_ints"]
    if not all(type(v) is list and len(v) == len(stacked) for v in (names, texts, rares, sizes)):
        raise Unusable("malformed lanes")
    name_lists: list[list[str]] = []  # each stacked block's lanes' names
    for template, block in enumerate(stacked):  # every text a lane reads is there, of the right type
        if type(names[template]) is not str or type(texts[template]) is not str:
            raise Unusable("malformed lanes")
        lane_names = _split(names[template])
        name_lists.append(lane_names)
        expected = len(lane_names) * texts_of(block)  # the texts are split when the lanes are built
        if texts[template].count(SEPARATOR) + 1 != expected and not (expected == 0 and texts[template] == ""):
            raise Unusable("malformed lanes")
    claims = [len(lane_names) for lane_names in name_lists]
    first_int = count + sum(claims)
    if count != len(whole) + sum(claims) or not all(type(n) is int and n >= 0 for n in sizes):
        raise Unusable("malformed lanes")
    if sum(sizes) != len(packed) - first_int:
        raise Unusable("malformed lanes")
    starts = [first_int]
    for size in sizes:
        starts.append(starts[-1] + size)
    rare = [read_rare(lanes, decoder) for lanes in rares]
    # each stacked block's lanes in the order stored: their keys, then where each block of the program is
    lane_keys = [_keys(name_lists[t], rare[t]) for t in range(len(stacked))]
    every = [block.key for block in whole]
    for keys in lane_keys:
        every += keys
    source = packed[:count].tolist()
    order = _picked(every, source)
    built = {block.key: block for block in whole}
    pending: dict[ir.BlockKey, int] = {}
    for t, keys in enumerate(lane_keys):
        pending.update(dict.fromkeys(keys, t))
    numbers = packed[count:first_int].tolist()
    claimed, at = [], 0
    for keys in lane_keys:
        claimed.append(list(zip(keys, numbers[at : at + len(keys)], strict=True)))
        at += len(keys)
    # each block once: its place in `every` taken once, and no key twice there
    if len(set(source)) != len(source) or len(built) + len(pending) != len(order):
        raise Unusable("malformed lanes")
    lanes = {
        block.key: tuple(_picked(order, positions)) for block, positions in zip(stacked, data["lanes"], strict=True)
    }
    for block in stacked:  # a column holds one value per lane of its block
        if any(len(column) != len(lanes[block.key]) for column in _columns(block)):
            raise Unusable("a column of another length than its block's lanes")

    def build(template: int) -> dict[ir.BlockKey, ir.Block]:
        ints = iter(packed[starts[template] : starts[template + 1]].tolist())
        reader = LaneReader(files, ints, iter(_split(texts[template])), lanes, rare[template])
        made = {}
        try:
            for index, (key, lane) in enumerate(claimed[template]):
                made[key] = reader.block(stacked[template], key, index, lane)
            if next(ints, None) is not None:
                raise Unusable("trailing data")
        except (Unusable, StopIteration, IndexError, TypeError, ValueError) as error:
            discard()
            raise Damaged(str(error)) from error
        return made

    def written(template: int) -> dict[ir.BlockKey, ir.Written]:
        ints = iter(packed[starts[template] : starts[template + 1]].tolist())
        reader = LaneReader(files, ints, iter(()), lanes, rare[template])
        try:
            citations = cited(template)
            return {key: (citations[key], reader.field_spans(stacked[template])) for key, _ in claimed[template]}
        except (Unusable, StopIteration, IndexError, TypeError, ValueError) as error:
            discard()
            raise Damaged(str(error)) from error

    def cited(template: int) -> dict[ir.BlockKey, tuple[str, ...]]:
        found = rare[template]
        return {key: found[index][2] if index in found else () for index, (key, _) in enumerate(claimed[template])}

    kinds = {index: block.kind for index, block in enumerate(stacked)}
    lazy = ir.Lanes(pending, kinds, build, written, cited)
    program = ir.Program(
        ir.LazyBlocks(order, built, lazy),
        tuple(_picked(order, data["roots"])),
        typed(decoder.value(data["expects"]), tuple, ir.Expect),
        sources,
        aliases=typed(decoder.value(data["aliases"]), dict, str),
        warnings=typed(decoder.value(data["program_warnings"]), tuple, Diagnostic),
        figures=typed(decoder.value(data["figures"]), dict, ir.Figure),
        checks=typed(decoder.value(data["checks"]), tuple, ir.Check),
    )
    groups = tuple(
        Group(tuple(_picked(order, jobs)), stacked[index].key if index >= 0 else None) for jobs, index in data["groups"]
    )
    with_stacked = ir.LazyBlocks([*order, *(b.key for b in stacked)], {**built, **{b.key: b for b in stacked}}, lazy)
    planned = attrs.evolve(program, blocks=with_stacked)
    warnings = typed(decoder.value(data["warnings"]), tuple, Diagnostic)
    found = typed(decoder.value(data["found"]), tuple, Diagnostic)
    return Compiled(program, Plan(planned, groups, lanes), warnings, found)


SEPARATOR = "\n"  # between the names (or number texts) of a stacked block's lanes: in none of them


def _joined(texts: list[str]) -> str:
    if any(SEPARATOR in text or not text for text in texts):
        raise Unusable("a name or number text that cannot be stored")
    return SEPARATOR.join(texts)


def _split(joined: str) -> list[str]:
    return joined.split(SEPARATOR) if joined else []


def _columns(block: ir.Block) -> list[Any]:
    """The arrays among a stacked block's constants."""
    found, stack = [], [field.expr for field in block.fields.values()]
    while stack:
        expr = stack.pop()
        if isinstance(expr, ir.Const):
            if type(expr.value.magnitude).__name__ == "ndarray":
                found.append(expr.value.magnitude)
        elif isinstance(expr, ir.Map):
            stack.extend(entry.value for entry in expr.entries)
        elif isinstance(expr, ir.Binary):
            stack += (expr.left, expr.right)
        elif isinstance(expr, ir.Negate):
            stack.append(expr.operand)
        elif isinstance(expr, ir.Call | ir.Distribution):
            stack.extend(expr.args)
    return found


def _keys(names: list[str], rare: dict[int, Any]) -> list[ir.BlockKey]:
    """The keys of a stacked block's lanes: in the files named (module ""), unless their rare part says."""
    make = tuple.__new__
    keys = [make(ir.BlockKey, ("", name)) for name in names]
    for index, parts in rare.items():
        if not 0 <= index < len(names):
            raise Unusable("a rare part of no lane")
        keys[index] = ir.BlockKey(parts[0], names[index])
    return keys


def _picked(items: list[Any], positions: Any) -> list[Any]:
    """`[items[p] for p in positions]`, at C speed, every position checked to be one of `items`."""
    if type(positions) is not list or not set(map(type, positions)) <= {int}:
        raise Unusable("malformed positions")
    if not positions:
        return []
    if min(positions) < 0 or max(positions) >= len(items):
        raise Unusable("a position out of range")
    if len(positions) == 1:
        return [items[positions[0]]]
    return list(operator.itemgetter(*positions)(items))


class Damaged(NnciError):
    """A lane that cannot be built from an entry whose checksum held (written by something else than
    nnci): found only when the lane is first read, so the command stops; `decode`'s `discard` has
    removed the entry by then."""

    def __init__(self, reason: str) -> None:
        message = f"an entry of the compiled-program cache could not be read ({reason})"
        super().__init__([Diagnostic("E103", message, None, notes=("it was removed: run the command again",))])
