"""Benchmarks (not tests): cold `nnci run` of the demo, and parse+check throughput.

Run with the interpreter nnci is installed in:  .venv/bin/python bench/run.py [--runs 7]
(the README's install); prints medians of several runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


NNCI = str(Path(sys.executable).with_name("nnci"))  # the console script of this interpreter's install


def cold(args: list[str], runs: int, fresh_cache: bool = False) -> float:
    """Median wall time of a fresh process running `args` (with an empty module cache each time if
    `fresh_cache`). It runs in an empty folder, so the installed package is measured, as users run
    it, not the source tree."""
    times = []
    for _ in range(runs):
        run_env = dict(os.environ)
        with tempfile.TemporaryDirectory() as cache:
            if fresh_cache:
                run_env["NNCI_CACHE_DIR"] = cache
            start = time.perf_counter()
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=cache, env=run_env)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def generated_file(lines: int) -> str:
    """A realistic file of about `lines` lines: grids, devices, datacenters and jobs that use them."""
    out = ["nnci 0.1", ""]
    i = 0
    while len(out) < lines:
        out += [
            f"## scenario {i}",
            f"grid g{i} {{", f"  intensity = {100 + i % 700} gCO2e/kWh", "  transport = 0.95", "}",
            f"device d{i} {{", f"  power = {200 + i % 500} W", f"  embodied = {150 + i % 50} kgCO2e",
            "  lifetime = 5 years", "}",
            f"datacenter dc{i} {{", f"  pue = {1 + (i % 50) / 100}", f"  grid = g{i}",
            '  check pue >= 1, "PUE below 1 is impossible"', "}",
            f"training t{i} {{", f"  fleet = {{ d{i} = {1 + i % 4096} }}", f"  site = dc{i}",
            f"  duration = {1 + i % 30} days", "}", "",
        ]  # fmt: skip
        i += 1
    return "\n".join(out) + "\n"


def throughput(lines: int, runs: int) -> tuple[int, float, float]:
    from nnci import api
    from nnci.parse import parse_module

    os.environ["NNCI_NO_CACHE"] = "1"  # measure parsing, not the module cache
    text = generated_file(lines)
    count = text.count("\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.nnci"
        path.write_text(text)
        parse_times, check_times = [], []
        for _ in range(runs):
            start = time.perf_counter()
            parse_module(text, "big.nnci")
            parse_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            api.check(api.load(path))
            check_times.append(time.perf_counter() - start)
    return count, count / statistics.median(parse_times), count / statistics.median(check_times)


def grids_import(runs: int) -> tuple[float, float]:
    """In-process median cost of `import "std/grids"`: parsed from text, and from the module cache."""
    from nnci import api

    text = 'import "std/grids" as g\ngrid x = g.fra_2023 {\n}\n'
    timings = {}
    for label, env in (("parsed", {"NNCI_NO_CACHE": "1"}), ("cached", {})):
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        api.loads(text)  # fill the cache
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            api.check(api.loads(text))
            times.append(time.perf_counter() - start)
        timings[label] = statistics.median(times)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
    return timings["parsed"], timings["cached"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    demo_file, all_std = str(ROOT / "models" / "nnci-demo.nnci"), str(ROOT / "bench" / "all-std.nnci")
    cold([NNCI, "run", demo_file], 1)  # warm lark's table cache, the module cache and the OS file cache
    baseline = cold([sys.executable, "-c", "pass"], args.runs)
    demo = cold([NNCI, "run", demo_file], args.runs)
    no_cache_demo = cold([NNCI, "run", demo_file], args.runs, fresh_cache=True)
    print(f"python -c pass (baseline)            median {baseline * 1000:7.1f} ms over {args.runs} runs")
    print(f"cold nnci run models/nnci-demo.nnci  median {demo * 1000:7.1f} ms over {args.runs} runs")
    print(f"  the same with an empty module cache median {no_cache_demo * 1000:7.1f} ms (first run after an edit)")
    cold([NNCI, "run", all_std], 1)  # fill the module cache
    std = cold([NNCI, "run", all_std], args.runs)
    no_cache = cold([NNCI, "run", all_std], args.runs, fresh_cache=True)
    print(f"cold run importing all of std        median {std * 1000:7.1f} ms (module cache filled)")
    print(f"  the same with an empty module cache median {no_cache * 1000:7.1f} ms (first run after an install)")
    parsed, cached = grids_import(args.runs)
    print(
        f'import "std/grids" (3,500 lines)    median {parsed * 1000:7.1f} ms parsed, {cached * 1000:.1f} ms from the cache'
    )
    count, parse_rate, check_rate = throughput(args.lines, max(3, args.runs // 2))
    print(f"parse of a {count}-line file          median {parse_rate:9,.0f} lines/s")
    print(f"load+resolve+check of the same file  median {check_rate:9,.0f} lines/s")


if __name__ == "__main__":
    main()
