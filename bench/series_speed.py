"""Speed of series: the carbon-aware search and jobs integrated over their own hours (issue 9's targets).

    .venv/bin/python bench/series_speed.py [--runs 5]

1. A year of hourly data (8,784 h, 2024) for 100 sites: scanning every start hour of the year for a
   168-hour job at every site (`nnci.schedule.schedule` with `--sites` of all 100). Target ≤ 1 s.
2. 100,000 logged jobs, each integrated over its own hours of one site's year (a job over a table
   with `start = log.start`). Target ≤ 2 s.

Each is timed as the search or the evaluation alone (in process, the program already loaded) and as
the whole `nnci` command in a fresh process (reading the CSV files included); medians of --runs.
The files are generated in a temporary folder; the figures are checked against a direct numpy sum.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import nnci
from nnci.schedule import schedule
from nnci.timeparse import format_instant, parse_instant

HOURS = 8784
SITES = 100
JOBS = 100_000
YEAR = parse_instant("2024-01-01T00:00Z")
NNCI = [sys.executable, "-m", "nnci"]


def profiles() -> np.ndarray:
    hours = np.arange(HOURS)
    phase = np.arange(SITES)[:, None]
    daily = 120 * np.maximum(0, np.sin(np.pi * ((hours % 24) - 6 - phase % 5) / 12))
    weekly = 80 * np.sin(2 * np.pi * hours / (24 * (3 + phase % 7)))
    return np.round(380 - daily + weekly + 10 * np.sin(hours * 0.37 + phase), 1)


def write_sites(folder: Path, values: np.ndarray) -> Path:
    header = "timestamp," + ",".join(f"s{i} [gCO2e/kWh]" for i in range(SITES))
    stamps = [format_instant(YEAR + 3600 * h) for h in range(HOURS)]
    lines = [header] + [stamps[h] + "," + ",".join(map(str, values[:, h])) for h in range(HOURS)]
    (folder / "sites.csv").write_text("\n".join(lines) + "\n")
    blocks = ['nnci 0.1\nimport "sites.csv" as data\n\ndevice gpu {\n  power = 700 W\n}\n']
    for i in range(SITES):
        blocks.append(
            f"grid g{i} {{\n  intensity = data.s{i}\n}}\n\ndatacenter d{i} {{\n  pue = 1.1\n  grid = g{i}\n}}\n"
        )
    blocks.append("training run {\n  fleet = { gpu = 8 }\n  site = d0\n  start = 2024-03-04T09:00Z\n"
                  "  duration = 168 h\n}\n")  # fmt: skip
    path = folder / "sites.nnci"
    path.write_text("\n".join(blocks))
    return path


def write_log(folder: Path, values: np.ndarray) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    starts = YEAR + 900 * rng.integers(0, (HOURS - 200) * 4, JOBS)  # on quarter hours
    hours = rng.integers(1, 4 * 72, JOBS) / 4
    lines = ["job,start,hours [h]"] + [
        f"{i},{format_instant(s)},{h}" for i, (s, h) in enumerate(zip(starts, hours, strict=True))
    ]
    (folder / "log.csv").write_text("\n".join(lines) + "\n")
    header = "timestamp,ci [gCO2e/kWh]"
    (folder / "one.csv").write_text(header + "\n" + "\n".join(
        f"{format_instant(YEAR + 3600 * h)},{values[0, h]}" for h in range(HOURS)) + "\n")  # fmt: skip
    path = folder / "log.nnci"
    path.write_text('nnci 0.1\nimport "one.csv" as grid\nimport "log.csv" as log\n\n'
                    "grid g {\n  intensity = grid.ci\n}\n\ndatacenter dc {\n  pue = 1.2\n  grid = g\n}\n\n"
                    "device gpu {\n  power = 500 W\n}\n\n"
                    "training jobs {\n  rows = log\n  fleet = { gpu = 4 }\n  site = dc\n  start = log.start\n"
                    "  duration = log.hours\n}\n")  # fmt: skip
    return path, starts.astype(float), hours * 3600


def median_time(function: object, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = function()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def command_time(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "NNCI_NO_CACHE": "1"})
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    values = profiles()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sites_file = write_sites(folder, values)
        program = nnci.load(sites_file)
        names = tuple(f"d{i}" for i in range(SITES))
        between = (YEAR, YEAR + HOURS * 3600)
        search, found = median_time(lambda: schedule(program, "run", between, 3600.0, names), args.runs)
        # check: the best site's window against a direct sum over every start
        best = found.candidates[0]  # type: ignore[attr-defined]
        site = int(best.site[1:])
        window = np.convolve(values[site], np.ones(168), "valid")
        hand_kg = float(window.min()) * 8 * 0.7 * 1.1 / 1000
        assert math.isclose(best.carbon, hand_kg, rel_tol=1e-9), (best.carbon, hand_kg)
        whole = command_time([*NNCI, "schedule", str(sites_file), "run", "--between", "2024-01-01T00:00Z",
                              "2025-01-01T00:00Z", "--sites", ",".join(names), "--format", "json"], args.runs)  # fmt: skip
        print(f"1. {SITES} sites × {HOURS:,} h, every start hour of a 168-h job ({SITES * (HOURS - 167):,} windows):")
        print(f"   search {search:.3f} s (target ≤ 1 s); whole command with reading {whole:.2f} s")

        log_file, starts, seconds = write_log(folder, values)
        program = nnci.load(log_file)
        evaluation, results = median_time(lambda: nnci.evaluate(program), args.runs)
        operational = results.jobs[0].per_row["operational"].value.magnitude  # type: ignore[attr-defined]
        cumulative = np.concatenate([[0.0], np.cumsum(values[0])])  # g·h/kWh at whole hours

        def integral(t: np.ndarray) -> np.ndarray:
            hours = (t - YEAR) / 3600
            whole_hours = np.floor(hours).astype(int)
            return cumulative[whole_hours] + values[0][whole_hours] * (hours - whole_hours)

        hand = (integral(starts + seconds) - integral(starts)) * 4 * 0.5 * 1.2 / 1000  # kg
        assert np.allclose(operational, hand, rtol=1e-9), float(np.max(np.abs(operational / hand - 1)))
        whole = command_time([*NNCI, "run", str(log_file)], args.runs)
        loading, _ = median_time(lambda: nnci.load(log_file), max(1, args.runs // 2))
        print(f"2. {JOBS:,} logged jobs, each over its own hours of one site's year:")
        print(f"   evaluation {evaluation:.3f} s (target ≤ 2 s); loading (parsing {JOBS:,} start times) "
              f"{loading:.2f} s; whole `nnci run` {whole:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
