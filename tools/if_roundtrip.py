#!/usr/bin/env python3
"""The real round trip: `nnci export --to if`, then the Impact Framework's own `if-run` 1.1.0.

For each scenario (default: every models/*.nnci and the scenarios of tests/cases/interop/ that
`nnci import` wrote), export it, run `if-run -m manifest.yml -o out` in a scratch folder, read
the output manifest with IF's own YAML parser (js-yaml, through node), require
`execution.status: success` (if-run exits 0 even when a manifest fails) and compare the
`aggregated` energy, carbon-operational, carbon-embodied and carbon of every job's node and of
the root with `nnci run` (relative difference at most 1e-12). Scenarios the exporter refuses are
listed with the reason. Exit 1 if any comparison fails.

    python tools/if_roundtrip.py --install /tmp/nnci-if     # npm install @grnsft/if@1.1.0 there
    python tools/if_roundtrip.py [--if-dir /tmp/nnci-if] [FILE.nnci ...]
    python tools/if_roundtrip.py --write-golden             # record if-run's figures in
                                                            # tests/cases/interop/if-run/ (read by the tests)

Needs Node.js and npm; IF is installed outside the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nnci import api  # noqa: E402
from nnci.diagnostics import render_all  # noqa: E402
from nnci.interop.export import METRICS, export_if, nnci_figures  # noqa: E402

IF_VERSION = "1.1.0"
GOLDEN = REPO / "tests" / "cases" / "interop" / "if-run"
READ_YAML = (
    "const y = require(process.argv[1]), fs = require('fs');"
    "fs.writeSync(1, JSON.stringify(y.load(fs.readFileSync(process.argv[2], 'utf8'))));"
)


def install(folder: Path) -> None:
    if shutil.which("npm") is None:
        sys.exit("npm is not on PATH: install Node.js to run the Impact Framework")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(folder), f"@grnsft/if@{IF_VERSION}"], check=True)


def read_yaml(path: Path, if_dir: Path) -> dict:
    done = subprocess.run(["node", "-e", READ_YAML, str(if_dir / "node_modules" / "js-yaml"), str(path)],
                          capture_output=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


def aggregated(node: dict, path: str, out: dict[str, dict[str, float]]) -> None:
    """Every node's `aggregated` metrics by dotted path ("" for the root)."""
    found = node.get("aggregated")
    if isinstance(found, list):  # time-series aggregation: one entry per time step; here there is one
        found = found[0] if len(found) == 1 else None
    if isinstance(found, dict):
        out[path] = {m: float(found[m]) for m in METRICS if m in found}
    for name, child in (node.get("children") or {}).items():
        aggregated(child, f"{path}.{name}" if path else name, out)


def round_trip(scenario: Path, if_dir: Path, scratch: Path) -> tuple[str, dict[str, dict[str, float]] | None]:
    text, diagnostics, sources = export_if(scenario)
    if text is None:
        first = render_all(diagnostics, sources).split("\n", 1)[0]
        return f"refused: {first}", None
    manifest = scratch / f"{scenario.stem}.yml"
    manifest.write_text(text, encoding="utf-8")
    run = subprocess.run([str(if_dir / "node_modules" / ".bin" / "if-run"), "-m", manifest.name, "-o", "out"],
                         cwd=scratch, capture_output=True, text=True)  # fmt: skip
    output = scratch / "out.yaml"
    if not output.exists():
        return f"FAIL: if-run wrote no output (exit {run.returncode}): {run.stderr[-400:]}", None
    result = read_yaml(output, if_dir)
    status = result.get("execution", {}).get("status")
    if status != "success":
        error = result.get("execution", {}).get("error", "")
        return f"FAIL: execution.status is {status!r} (if-run exit code {run.returncode}): {error}", None
    figures: dict[str, dict[str, float]] = {}
    aggregated(result["tree"], "", figures)
    expected = nnci_figures(api.run(scenario))
    worst = 0.0
    for path, metrics in expected.items():
        got = figures.get(path)
        if got is None:
            return f"FAIL: no aggregated figures at {path or 'the root'}", figures
        for metric, value in metrics.items():
            difference = abs(got[metric] - value) / abs(value) if value else abs(got[metric])
            worst = max(worst, difference)
            if not math.isclose(got[metric], value, rel_tol=1e-12, abs_tol=1e-9):
                return f"FAIL: {path or 'root'} {metric}: if-run {got[metric]!r}, nnci {value!r}", figures
    output.unlink()
    return f"ok: {len(expected) - 1} job(s) and the root agree (largest relative difference {worst:.1e})", figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--if-dir", type=Path, default=Path(tempfile.gettempdir()) / "nnci-if")
    parser.add_argument("--install", type=Path, metavar="DIR", help=f"npm install @grnsft/if@{IF_VERSION} into DIR")
    parser.add_argument("--write-golden", action="store_true", help=f"record the figures in {GOLDEN.relative_to(REPO)}")
    args = parser.parse_args()
    if args.install:
        install(args.install)
        args.if_dir = args.install
    if not (args.if_dir / "node_modules" / ".bin" / "if-run").exists():
        sys.exit(f"no if-run in {args.if_dir}: run with --install {args.if_dir}")
    files = args.files or [
        *sorted((REPO / "models").glob("*.nnci")),
        *sorted(
            p for p in (REPO / "tests" / "cases" / "interop").glob("*.nnci") if not p.name.endswith(".cluster.nnci")
        ),
        *sorted((REPO / "tests" / "cases" / "interop" / "export").glob("*.nnci")),
    ]
    failed = 0
    for scenario in files:
        with tempfile.TemporaryDirectory() as scratch:
            verdict, figures = round_trip(scenario.resolve(), args.if_dir, Path(scratch))
        shown = scenario.resolve().relative_to(REPO) if scenario.resolve().is_relative_to(REPO) else scenario
        print(f"{shown!s:58} {verdict}")
        failed += verdict.startswith("FAIL")
        if args.write_golden and figures is not None and verdict.startswith("ok"):
            GOLDEN.mkdir(parents=True, exist_ok=True)
            record = {
                "scenario": str(shown),
                "made_by": f"python tools/if_roundtrip.py --write-golden (if-run {IF_VERSION}, builtins only)",
                "aggregated": figures,
            }
            (GOLDEN / f"{scenario.stem}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"\n{len(files) - failed} of {len(files)} without failure" + (f", {failed} FAILED" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
