"""Benchmarks of issue 14 (not tests): the inputs that used to be quadratic or deeply recursive.

    .venv/bin/python bench/hardening.py [--fields 100000] [--imports 1000] [--jobs 10000] [--runs 3]

- `nnci check` of one block with N copies of the same field (N - 1 duplicate-field diagnostics),
  twice with the caches on (a file with diagnostics is never cached, so both runs parse it); the
  issue asks for ≤ 5 s at 100,000;
- `nnci check` of a chain of M files, each importing the next;
- `nnci explain FILE total.energy` over J jobs (bench/workload.py's observations, two jobs each),
  once with the cache off (everything parsed, resolved, planned, checked) and once from the
  compiled-program cache (after one unmeasured run stores it); the issue asks for ≤ 2 s at 10,000;
- the in-process cost of reading `std/grids` from the module cache (JSON, checked) beside
  pickling the same module, which the cache no longer does.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NNCI = [sys.executable, "-m", "nnci"]


CPU: list[float] = []  # CPU seconds (user + system) of each process timed, beside its wall time


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one process; its CPU seconds go to CPU (steadier on a busy machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def duplicate_fields(count: int, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "dup.nnci").write_text("device d {\n" + "  power = 300 W\n" * count + "}\n")
        cold, warm = [], []
        for run in range(runs):
            env = {**os.environ, "NNCI_CACHE_DIR": str(folder / f"cache{run}")}
            cold.append(timed([*NNCI, "check", "dup.nnci"], folder, env))
            warm.append(timed([*NNCI, "check", "dup.nnci"], folder, env))
        return statistics.median(cold), statistics.median(warm)


def nested_imports(depth: int, runs: int) -> float:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for i in range(depth):
            line = f'import "m{i + 1}" as m\n' if i < depth - 1 else ""
            (folder / f"m{i}.nnci").write_text(line + f"device d{i} {{\n  power = 300 W\n}}\n")
        env = {**os.environ, "NNCI_CACHE_DIR": str(folder / "cache")}
        timed([*NNCI, "check", "m0.nnci"], folder, env)  # fill the cache
        return statistics.median(timed([*NNCI, "check", "m0.nnci"], folder, env) for _ in range(runs))


def explain_total(jobs: int, runs: int) -> tuple[float, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from workload import generate

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        generate(folder, jobs // 2)
        args = [*NNCI, "explain", "s.nnci", "total.energy"]
        off = {**os.environ, "NNCI_NO_CACHE": "1"}
        cold = statistics.median(timed(args, folder, off) for _ in range(runs))
        env = {k: v for k, v in os.environ.items() if k != "NNCI_NO_CACHE"}
        env["NNCI_CACHE_DIR"] = str(folder / "cache")
        timed(args, folder, env)  # stores the compiled program
        warm = statistics.median(timed(args, folder, env) for _ in range(runs))
        return cold, warm


def cache_read(runs: int) -> tuple[float, float]:
    from nnci import cache
    from nnci.load import read_module
    from nnci.resources import std_dir

    text = (std_dir() / "grids.nnci").read_text(encoding="utf-8")
    module, _ = read_module(text, "std/grids")
    assert module is not None
    digest = cache._digest(text, "std/grids")
    entry = cache.serialise(module, "std/grids", digest)
    pickled = pickle.dumps(module, protocol=pickle.HIGHEST_PROTOCOL)

    def best(action: object) -> float:
        times = []
        for _ in range(runs * 5):
            start = time.perf_counter()
            action()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return min(times)

    return best(lambda: cache.deserialise(entry, "std/grids", digest)), best(lambda: pickle.loads(pickled))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fields", type=int, default=100_000)
    parser.add_argument("--imports", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cold, warm = duplicate_fields(args.fields, args.runs)
    cpu_cold, cpu_warm = statistics.median(CPU[0::2]), statistics.median(CPU[1::2])
    print(f"check, {args.fields:,} copies of a field: {cold:.2f} s, and {warm:.2f} s again (a file with "
          f"diagnostics is not cached) (CPU {cpu_cold:.2f} s and {cpu_warm:.2f} s)")  # fmt: skip
    CPU.clear()
    nested = nested_imports(args.imports, args.runs)
    print(f"check, {args.imports:,} nested imports (cached): {nested:.2f} s (CPU {statistics.median(CPU[1:]):.2f} s)")
    CPU.clear()
    cold, warm = explain_total(args.jobs, args.runs)
    cpu = CPU[: args.runs], CPU[args.runs + 1 :]
    print(
        f"explain total.energy over {args.jobs:,} jobs: {cold:.2f} s with the cache off, {warm:.2f} s from the "
        f"compiled-program cache (CPU {statistics.median(cpu[0]):.2f} s and {statistics.median(cpu[1]):.2f} s)"
    )
    checked, unpickled = cache_read(args.runs)
    print(f"std/grids from the cache: {checked * 1000:.1f} ms (JSON, checked); pickle.loads {unpickled * 1000:.1f} ms")


if __name__ == "__main__":
    main()
