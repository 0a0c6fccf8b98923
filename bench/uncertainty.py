"""Benchmark (not a test): `nnci run --samples N` of the demo with five uncertain inputs, cold.

Run with the interpreter nnci is installed in:  .venv/bin/python bench/uncertainty.py [--runs 5]
Prints, for each sample count, the median wall time, CPU time and peak RSS of fresh processes (each
child's own, from wait4; NNCI_NO_CACHE=1, so nothing comes from a module cache), and the same for the
demo without --samples (what a scalar run costs).
The issue's budget: 100,000 samples ≤ 1 s, 1,000,000 samples ≤ 5 s and ≤ 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NNCI = str(Path(sys.executable).with_name("nnci"))

# The demo's five figures nobody knows exactly, as distributions around the values the demo writes.
UNCERTAIN = {
    "  intensity = 429 gCO2e/kWh": "  intensity = normal(429 gCO2e/kWh, 30 gCO2e/kWh)",
    "  power = 300 W": "  power = uniform(250 W, 330 W)",
    "  power = 250 W": "  power = triangular(200 W, 250 W, 320 W)",
    "  manufacturing_energy = 1000 kWh": "  manufacturing_energy = lognormal(1000 kWh, 1.5)",
    "  pue = 1.1": "  pue = triangular(1.08, 1.1, 1.4)",
}


def uncertain_demo() -> str:
    text = (ROOT / "models" / "nnci-demo.nnci").read_text(encoding="utf-8")
    for written, uncertain in UNCERTAIN.items():
        assert written in text, written
        text = text.replace(written, uncertain, 1)
    return re.sub(r"^expect .*\n", "", text, flags=re.M)  # the demo's figures are for its medians


def measure(args: list[str], cwd: str) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (bytes) of one fresh process."""
    start = time.perf_counter()
    pid = os.spawnv(os.P_NOWAIT, args[0], args)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0, args
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-uncertain.nnci"
        path.write_text(uncertain_demo(), encoding="utf-8")
        os.environ["NNCI_NO_CACHE"] = "1"  # cold: every run parses, nothing is read from a module cache
        cases = [("demo, no --samples", [NNCI, "run", str(path)])]
        cases += [
            (f"{n:,} samples", [NNCI, "run", str(path), "--samples", str(n), "--seed", "1"]) for n in args.samples
        ]
        null = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(1)
        print(f"{'case':<22} {'wall (median)':>14} {'CPU':>8} {'peak RSS':>10}   ({args.runs} runs each)")
        for name, command in cases:
            results = []
            for _ in range(args.runs):
                os.dup2(null, 1)
                try:
                    results.append(measure(command, folder))
                finally:
                    os.dup2(saved, 1)
            wall = statistics.median(r[0] for r in results)
            cpu = statistics.median(r[1] for r in results)
            rss = statistics.median(r[2] for r in results)
            print(f"{name:<22} {wall:>12.3f} s {cpu:>6.3f} s {rss / 2**20:>6.0f} MiB")


if __name__ == "__main__":
    main()
