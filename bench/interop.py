#!/usr/bin/env python3
"""How long `nnci import` takes on large inputs: medians of several runs, in this process.

- an nn-ci manifest (IF 1.x, the demo's plugins) with N observations that differ in GPU count
  and hours, which becomes one job over a table of N rows (the YAML reader, then the importer);
- a Slurm `sacct -P` log of N jobs, each with two steps;
- a CodeCarbon emissions.csv of N runs.

    .venv/bin/python bench/interop.py [--sizes 1000 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nnci.interop import yaml_subset  # noqa: E402
from nnci.interop.codecarbon import catalog, import_codecarbon  # noqa: E402
from nnci.interop.manifest import import_manifest  # noqa: E402
from nnci.interop.slurm import import_sacct  # noqa: E402

CASES = REPO / "tests" / "cases" / "interop"


def manifest(count: int) -> str:
    """The demo manifest of tests/cases/interop with `count` observations (GPU count and hours vary)."""
    text = (CASES / "nnci-demo-if1.yml").read_text(encoding="utf-8")
    head, observation = text.split("      inputs:\n")
    rows = ["      inputs:\n"]
    for i in range(count):
        rows.append(observation.replace("gpu/training: 10000", f"gpu/training: {10000 + i % 500}")
                    .replace("time/training: 360 ", f"time/training: {300 + i % 97} "))  # fmt: skip
    return head + "".join(rows)


def sacct(count: int) -> str:
    lines = ["JobID|User|Account|Partition|NNodes|Elapsed|State|AllocTRES"]
    for i in range(count):
        user, gpus = f"user{i % 37}", 1 + i % 8
        lines.append(f"{9000 + i}|{user}|acct{i % 5}|gpu|1|{i % 24:02d}:{i % 60:02d}:00|COMPLETED|gres/gpu={gpus}")
        lines.append(f"{9000 + i}.batch||||1|{i % 24:02d}:{i % 60:02d}:00|COMPLETED|gres/gpu={gpus}")
        lines.append(f"{9000 + i}.0||||1|{i % 24:02d}:{i % 60:02d}:00|COMPLETED|gres/gpu={gpus}")
    return "\n".join(lines) + "\n"


def emissions(count: int) -> str:
    header, row = (CASES / "codecarbon-v2.csv").read_text(encoding="utf-8").split("\n")[:2]
    rows = [header]
    for i in range(count):
        rows.append(row.replace("6b1c0d3e", f"{i:08x}", 1))
    return "\n".join(rows) + "\n"


def median_time(work: object, runs: int) -> float:
    """Median wall time; the cyclic collector off during each run, as `nnci` itself runs (nnci/cli.py)."""
    times = []
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            work()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    known = catalog()
    cluster = CASES / "cluster-log.cluster.nnci"
    print(f"{'input':34} {'size':>8} {'median':>9}  per item")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "log.nnci"
        (Path(scratch) / cluster.name).write_text(cluster.read_text(encoding="utf-8"), encoding="utf-8")
        for count in args.sizes:
            text, log, runs_csv = manifest(count), sacct(count), emissions(count)
            cases = {
                f"YAML reader ({len(text) / 1e6:.1f} MB manifest)": partial(yaml_subset.read, text),
                "nnci import manifest.yml": partial(import_manifest, text, "m.yml", "m-observations.csv"),
                "nnci import sacct (3 lines a job)": partial(
                    import_sacct, log, "log.sacct", Path(scratch) / cluster.name, out, "log-jobs.csv"
                ),
                "nnci import emissions.csv": partial(import_codecarbon, runs_csv, "e.csv", known),
            }
            for name, work in cases.items():
                seconds = median_time(work, args.runs)
                print(f"{name:34} {count:>8,} {seconds:>8.3f}s  {seconds / count * 1e6:,.0f} µs")


if __name__ == "__main__":
    main()
