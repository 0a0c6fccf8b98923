"""Front-end throughput: lines/s of parse+lower on generated files (a benchmark, not a test).

Generates a scenario of N observations, twelve blocks each (five grids, three devices, two
datacenters, a training and an inference job: 54 lines per observation), the pattern of the
IF-equivalent benchmark, and times, as medians of several runs:

- new: `nnci.parse.parse_module` (generated LALR tables, one-regexp lexer, AST built by the
  reductions; the garbage collector paused while the AST is built);
- the same with the garbage collector left running (what pausing it saves);
- old: lark's parse (propagate_positions) then `nnci.lower.lower`, as nnci did before;
- with --end-to-end, also load+resolve+check (`nnci.check(nnci.load(path))`) of a file;
- with --broken K, also parse_module of the file with K fields broken (a missing `=`, spread
  evenly): the recovering parse (nnci.recover), which reports K errors and lowers the rest.

Wall-clock and CPU (process) time are both shown: on a busy machine wall-clock time also counts
the time other processes held the CPU.

    .venv/bin/python bench/parse_speed.py                      # 1,000 and 10,000 observations
    .venv/bin/python bench/parse_speed.py --sizes 1000 --runs 7
    .venv/bin/python bench/parse_speed.py --skip-old --end-to-end 1852   # ~100,000 lines
    .venv/bin/python bench/parse_speed.py --sizes 19 --runs 21 --skip-old --broken 3   # ~1,000 lines, 3 errors
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def observation(i: int) -> str:
    """One observation: the twelve blocks of the IF-equivalent pattern, with values that vary by i."""
    ci_t, ci_q, ci_gpu, ci_server = 300 + i % 200, 250 + i % 300, 500 + i % 250, 450 + i % 150
    tf_t, tf_q = f"0.{90 + i % 10}", f"0.{85 + i % 15}"
    grid = "grid {name} {{\n  intensity = {ci} gCO2e/kWh\n  transport = {tf}\n}}\n"
    device = "device {name} {{\n  power = {power} W\n  manufacturing_energy = {energy} kWh\n  made_in = {grid}\n}}\n"
    return (
        grid.format(name=f"dcgt{i}", ci=ci_t, tf=tf_t)
        + grid.format(name=f"dcgq{i}", ci=ci_q, tf=tf_q)
        + grid.format(name=f"gf{i}", ci=ci_gpu, tf=tf_t)
        + grid.format(name=f"sft{i}", ci=ci_server, tf=tf_t)
        + grid.format(name=f"sfq{i}", ci=ci_server, tf=tf_q)
        + device.format(name=f"gpu{i}", power=250 + i % 150, energy=1000 + i % 500, grid=f"gf{i}")
        + device.format(name=f"st{i}", power=200 + i % 100, energy=900 + i % 300, grid=f"sft{i}")
        + device.format(name=f"sq{i}", power=200 + i % 120, energy=900 + i % 200, grid=f"sfq{i}")
        + f"datacenter dct{i} {{\n  pue = 1.{1 + i % 5}\n  grid = dcgt{i}\n}}\n"
        + f"datacenter dcq{i} {{\n  pue = 1.{1 + i % 7}\n  grid = dcgq{i}\n}}\n"
        + f"training t{i} {{\n  fleet = {{ gpu{i} = {1000 + i % 9000}, st{i} = {100 + i % 600} }}\n"
        + f"  site = dct{i}\n  duration = {100 + i % 400} h\n}}\n"
        + f"inference q{i} {{\n  fleet = {{ sq{i} = {100 + i % 4000} }}\n  site = dcq{i}\n  duration = {1 + i % 48} h\n}}\n\n"
    )


def generated(observations: int) -> str:
    header = f"nnci 0.1\n## {observations} observation(s) of twelve blocks (bench/parse_speed.py)\n\n"
    return header + "".join(observation(i) for i in range(observations))


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of `action` over `runs` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        del result
    return statistics.median(walls), statistics.median(cpus)


def report(label: str, lines: int, seconds: tuple[float, float], runs: int) -> None:
    wall, cpu = seconds
    print(f"  {label:<34} {lines / wall:>10,.0f} lines/s wall ({wall:6.3f} s)   "
          f"{lines / cpu:>10,.0f} lines/s CPU ({cpu:6.3f} s)   median of {runs}")  # fmt: skip


def measure(size: int, args: argparse.Namespace) -> None:
    from nnci.lower import lower
    from nnci.parse import REPLAY_MIN_CHARS, _fast_parser, _prepare, parse, parse_module

    fast = _fast_parser()
    assert fast is not None, "the fast parser is disabled (stale nnci/_parse_table.py?)"
    text = generated(size)
    lines = text.count("\n")
    print(f"{size:,} observations, {lines:,} lines, {len(text) / 1e6:.1f} MB")
    module, problems = parse_module(text, "big.nnci")
    assert module is not None and not problems and len(module.blocks) == 12 * size
    del module
    report("new: parse_module", lines, timed(lambda: parse_module(text, "big.nnci"), args.runs), args.runs)
    prepared = _prepare(text)
    report("new, without replaying blocks written alike", lines,
           timed(lambda: fast.run(prepared, "big.nnci", replay=False), args.runs), args.runs)  # fmt: skip
    report("new, garbage collector running", lines,
           timed(lambda: fast._parse(prepared, "big.nnci", len(prepared) >= REPLAY_MIN_CHARS), args.runs),
           args.runs)  # fmt: skip
    if not args.skip_old:

        def old() -> object:
            parsed = parse(text, "big.nnci")
            assert parsed.tree is not None
            return lower(parsed.tree, "big.nnci", parsed.comments)

        report("old: lark parse + lower", lines, timed(old, args.old_runs), args.old_runs)
    if args.broken:
        broken = with_broken_fields(text, args.broken)
        module, problems = parse_module(broken, "big.nnci")
        assert module is not None and len(problems) == args.broken, problems
        seconds = timed(lambda: parse_module(broken, "big.nnci"), args.runs)
        report(f"recovering, {args.broken} errors", lines, seconds, args.runs)
        print(f"  {'':<34} {seconds[0] * 1000:>10.1f} ms wall per file")


def with_broken_fields(text: str, count: int) -> str:
    """The text with `count` of its `pue = ` fields, evenly spread, missing their `=`."""
    lines = text.split("\n")
    fields = [i for i, line in enumerate(lines) if line.startswith("  pue = ")]
    assert len(fields) >= count, f"only {len(fields)} fields to break"
    for k in range(count):
        index = fields[k * len(fields) // count + len(fields) // (2 * count)]
        lines[index] = lines[index].replace(" = ", " ", 1)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000], help="observations per file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--old-runs", type=int, default=3, help="runs of the old (lark) path, which is slow")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--end-to-end", type=int, metavar="N", help="also time load+resolve+check of N observations")
    parser.add_argument("--broken", type=int, metavar="K", help="also time the recovering parse with K errors")
    args = parser.parse_args()

    from nnci.parse import parser as lark_parser

    lark_parser()  # build lark's parser outside the timings
    for size in args.sizes:
        measure(size, args)
    if args.end_to_end:
        import nnci

        text = generated(args.end_to_end)
        lines = text.count("\n")
        os.environ["NNCI_NO_CACHE"] = "1"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big.nnci"
            path.write_text(text, encoding="utf-8")
            print(f"{args.end_to_end:,} observations, {lines:,} lines: load + resolve + check")
            report(
                "nnci.check(nnci.load(path))", lines, timed(lambda: nnci.check(nnci.load(path)), args.runs), args.runs
            )


if __name__ == "__main__":
    main()
