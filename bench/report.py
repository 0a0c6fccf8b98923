"""Times `nnci report` and `nnci sweep` as a user runs them: fresh processes, medians of several runs.

    .venv/bin/python bench/report.py [--runs 7]

Rows: a cold `nnci report` of the demo in each format (with the module cache warm, and with
NNCI_NO_CACHE=1), `nnci run` of the same file for scale, and a 1,000-combination sweep of the demo
(10 grids × 10 GPU powers × 10 PUEs). Targets from the issue: report ≤ 1 s, the sweep ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "models" / "nnci-demo.nnci"
NNCI = Path(sys.executable).parent / "nnci"
GRIDS = ("usa", "fra", "deu", "gbr", "swe", "pol", "ind", "chn", "bra", "can")
POWERS = [f"{300 + 10 * i}W" for i in range(10)]
PUES = [f"{1.05 + 0.05 * i:.2f}" for i in range(10)]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    timed(argv, env)  # the first run fills the module cache (when it is on)
    samples = [timed(argv, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="nnci-bench-report-"))
    cached = dict(os.environ)
    uncached = {**os.environ, "NNCI_NO_CACHE": "1"}
    vary = ["--vary", "dc.grid=" + ",".join(f"grids.{g}_2023" for g in GRIDS),
            "--vary", "gpu.power=" + ",".join(POWERS), "--vary", "dc.pue=" + ",".join(PUES)]  # fmt: skip
    cases = [
        ("nnci run (for scale)", [str(NNCI), "run", str(DEMO)]),
        *((f"nnci report --format {form}", [str(NNCI), "report", str(DEMO), "--format", form, "-o", str(out / f"r.{form}")])
          for form in ("md", "text", "latex", "html")),
        ("nnci sweep, 1,000 combinations", [str(NNCI), "sweep", str(DEMO), *vary, "--format", "csv", "-o",
                                            str(out / "sweep.csv")]),
    ]  # fmt: skip
    print(f"medians of {args.runs} fresh processes; load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<34} {'wall (cache)':>13} {'CPU (cache)':>12} {'wall (no cache)':>16} {'CPU (no cache)':>15}")
    for label, argv in cases:
        warm = median(argv, cached, args.runs)
        cold = median(argv, uncached, args.runs)
        print(f"{label:<34} {warm[0]:>11.3f} s {warm[1]:>10.3f} s {cold[0]:>14.3f} s {cold[1]:>13.3f} s")
    rows = (out / "sweep.csv").read_text(encoding="utf-8").count("\n")
    print(f"\nthe sweep wrote {rows - 1:,} combinations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
