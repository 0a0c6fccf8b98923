"""Benchmark nnci against the real Impact Framework (IF) 1.1.0 on the IF-equivalent workload.

nnci claims to do what the nn-ci plugins do in IF, faster and with less memory. This measures it:
for each N, bench/workload.py writes N observations of the nn-ci pipeline as an IF manifest (IF
builtins only) and as the equivalent .nnci file, then each round runs, one after the other,

- IF:             node_modules/.bin/if-run -m m.yml -o out   (its out.yaml must say status: success)
- nnci cached:    nnci run s.nnci --format json              (NNCI_CACHE_DIR warmed by one unmeasured run)
- nnci uncached:  the same with NNCI_NO_CACHE=1

each as a fresh process in a fresh temporary folder, timed by wall clock, with the child's peak RSS
from wait4. Both tools' results are compared with the float64 reference (nnci must agree to a
relative 1e-12; IF's agreement is reported). It also times the demo's cold run against importing
nnci's dependencies, `nnci explain` on the 10,000-observation file, and (--table) the tabular form.

Run it with the interpreter nnci is installed in; IF is installed with npm into a scratch folder:

    .venv/bin/python bench/vs_if.py --install-if /tmp/nnci-if          # once (npm install)
    .venv/bin/python bench/vs_if.py --n 1,1000,10000 --runs 5 --runs-big 3 --json vs_if.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workload import RESULTS, Workload, generate, read_yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "models" / "nnci-demo.nnci"
IF_VERSION = "1.1.0"
IF_PACKAGE = f"@grnsft/if@{IF_VERSION}"
DEFAULT_IF_DIR = Path(tempfile.gettempdir()) / "nnci-if"
SYSTEMS = {"if": f"IF {IF_VERSION}", "cached": "nnci, cache warm", "uncached": "nnci, NNCI_NO_CACHE=1"}
TOLERANCE = 1e-12  # relative; nnci sums and scales in its own order, so bit identity is not required
IMPORT_BASELINE = "import lark, attrs, cattrs"
DEMO_TARGET = 2.5  # cold demo run ÷ importing the dependencies
EXPLAIN_N = 10_000


class BenchError(Exception):
    """A run that cannot be measured honestly (failed, wrong results): stop and say why."""


# ---- running one child


@dataclass(frozen=True)
class Sample:
    """One child process: wall time, its own CPU time and peak RSS (wait4, not this process's),
    exit status. CPU time is reported too because the machine may be shared: other load stretches
    wall time far more than CPU time."""

    wall: float  # s
    cpu: float  # s, user + system
    rss_mib: float
    code: int
    timed_out: bool = False
    load: float = 0.0  # 1-minute load average when it started (≈ 1 from this run alone)


def spawn_and_wait(argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Sample:
    """Run `argv` in `cwd` with stdout/stderr to files there (a pipe could fill and stall it),
    reaped with os.wait4 for the child's own ru_maxrss; killed with its process group past
    `timeout` seconds. Runs in the launcher process (see Launcher)."""
    fired = threading.Event()

    def kill(pgid: int) -> None:
        fired.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    load = os.getloadavg()[0]
    with (cwd / "stdout").open("wb") as out, (cwd / "stderr").open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, kill, (child.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; tell Popen so it does not wait again
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall, cpu, usage.ru_maxrss / 1024, child.returncode, fired.is_set(), load)


def own_peak_rss_mib() -> float:
    """This process's own high-water RSS (VmHWM, of its current address space only)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def serve_children() -> None:
    """The launcher's loop: one JSON request per line on stdin, one Sample per line on stdout."""
    print(json.dumps({"floor_mib": own_peak_rss_mib()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sample = spawn_and_wait(request["argv"], Path(request["cwd"]), request["env"], request["timeout"])
        print(json.dumps(dataclasses.asdict(sample)), flush=True)


class Launcher:
    """A small process, started before this one grows, that starts every measured child.

    Linux carries a process's peak RSS across fork and exec (the kernel keeps the old address
    space's high-water mark), so a child spawned by this benchmark once it holds a parsed
    10,000-observation out.yaml would report at least the benchmark's own RSS. Children spawned by
    the launcher report max(their own peak, the launcher's), and the launcher stays at `floor_mib`
    (~19 MiB), below every child measured here."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--launcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.floor_mib = float(json.loads(self._read())["floor_mib"])

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise BenchError("the launcher process exited")
        return line

    def run(self, argv: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Sample:
        assert self.process.stdin is not None
        request = {"argv": list(argv), "cwd": str(cwd), "env": env, "timeout": timeout}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return Sample(**json.loads(self._read()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def run_child(ctx: Context, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Sample:
    """One measured child, started by the launcher and bounded by the timeout."""
    return ctx.launcher.run(argv, cwd, env, ctx.timeout)


def stderr_tail(cwd: Path, lines: int = 15) -> str:
    text = (cwd / "stderr").read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def fresh_folder(root: Path, prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


# ---- the two systems


@dataclass(frozen=True)
class Context:
    """What every run needs: where things are and how long a child may take."""

    root: Path  # scratch folder of this invocation
    nnci: Path
    if_dir: Path
    cache: Path  # NNCI_CACHE_DIR of the cached runs
    timeout: float
    launcher: Launcher

    @property
    def if_run(self) -> Path:
        return self.if_dir / "node_modules" / ".bin" / "if-run"


def python_env() -> dict[str, str]:
    """This environment as a user's Python has it: compiled bytecode is cached. With
    PYTHONDONTWRITEBYTECODE set (some shells and tools set it), an editable install of nnci would
    compile every one of its modules again in every run, 0.07 s that no installed nnci pays (pip
    compiles a wheel's modules when it installs them)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def nnci_env(ctx: Context, cached: bool) -> dict[str, str]:
    """The cached runs share one warm cache; the uncached ones turn it off (and point at an empty
    folder, so they could not touch the user's cache even if the switch were ignored)."""
    env = {k: v for k, v in python_env().items() if k not in ("NNCI_NO_CACHE", "NNCI_CACHE_DIR")}
    if cached:
        env["NNCI_CACHE_DIR"] = str(ctx.cache)
    else:
        env["NNCI_NO_CACHE"] = "1"
        env["NNCI_CACHE_DIR"] = str(fresh_folder(ctx.root, "empty-cache-"))
    return env


def run_nnci(ctx: Context, args: Sequence[str], cached: bool) -> tuple[Sample, Path]:
    """`nnci ARGS` as the installed console script, from a fresh working folder."""
    cwd = fresh_folder(ctx.root, "nnci-")
    sample = run_child(ctx, [str(ctx.nnci), *args], cwd, nnci_env(ctx, cached))
    if not sample.timed_out and sample.code != 0:
        raise BenchError(f"`nnci {' '.join(args)}` exited {sample.code}:\n{stderr_tail(cwd)}")
    return sample, cwd


def if_status(out_yaml: Path) -> tuple[str, str]:
    """`execution.status` of an out.yaml and its error, read from the text: IF exits 0 even when
    the manifest fails, and parsing a 10,000-observation file every round would dominate."""
    status, error, inside = "missing", "", False
    with out_yaml.open() as handle:
        for line in handle:
            if line.startswith("execution:"):
                inside = True
            elif inside and not line.startswith(" "):
                break
            elif inside and line.startswith("  status:"):
                status = line.split(":", 1)[1].strip()
            elif inside and line.startswith("  error:"):
                error = line.split(":", 1)[1].strip()
    return status, error


def run_if(ctx: Context, work: Workload) -> tuple[Sample, Path]:
    """if-run on the manifest, from a fresh folder; fails loudly unless out.yaml says success."""
    cwd = fresh_folder(ctx.root, "if-")
    sample = run_child(ctx, [str(ctx.if_run), "-m", str(work.manifest), "-o", "out"], cwd, dict(os.environ))
    if sample.timed_out:
        return sample, cwd
    out = cwd / "out.yaml"
    if not out.exists():
        raise BenchError(f"if-run wrote no out.yaml (exit {sample.code}):\n{stderr_tail(cwd)}")
    status, error = if_status(out)
    if status != "success":
        raise BenchError(f"if-run: execution.status is {status!r} at N={work.count}: {error}\n{stderr_tail(cwd)}")
    return sample, cwd


# ---- checking results


@dataclass
class Agreement:
    """How closely N observations' five results match the reference."""

    count: int = 0  # observations (or rows)
    values: int = 0  # values compared
    worst: float = 0.0  # max relative difference over all values
    identical: int = 0  # values equal bit for bit
    missing: str = ""  # why the results could not be read, if they could not

    def ok(self) -> bool:
        return not self.missing and self.worst <= TOLERANCE

    def summary(self) -> str:
        if self.missing:
            return f"FAIL: {self.missing}"
        verdict = "agree" if self.ok() else "DISAGREE"
        return f"{verdict}: max rel diff {self.worst:.1e}, {self.identical}/{self.values} bit-identical"


def agreement(got: Iterable[Sequence[float]], expected: Sequence[Sequence[float]]) -> Agreement:
    result = Agreement(count=len(expected))
    rows = list(got)
    if len(rows) != len(expected):
        result.missing = f"{len(rows)} observations in the output, {len(expected)} expected"
        return result
    for row, want in zip(rows, expected, strict=True):
        for value, reference in zip(row, want, strict=True):
            result.worst = max(result.worst, abs(value - reference) / abs(reference))
            result.identical += value == reference
            result.values += 1
    return result


def nnci_results(out_json: Path, count: int) -> list[tuple[float, ...]]:
    """The five IF results of each observation from `nnci run --format json`: energies of t<i> and
    q<i> in kWh, the sums of the two jobs' carbon converted from kgCO2e to IF's grams."""
    blocks = json.loads(out_json.read_text())["blocks"]
    rows = []
    for i in range(count):
        t, q = blocks[f"t{i}"], blocks[f"q{i}"]
        if t["energy"]["unit"] != "kWh" or t["embodied"]["unit"] != "kgCO2e":
            raise BenchError(f"unexpected units in nnci's output: {t['energy']['unit']}, {t['embodied']['unit']}")
        carbon = [1000 * (t[key]["value"] + q[key]["value"]) for key in ("embodied", "operational", "total")]
        rows.append((t["energy"]["value"], q["energy"]["value"], *carbon))
    return rows


def if_results(out_yaml: Path, if_dir: Path) -> list[tuple[float, ...]]:
    """The five results of each output of child-1 in IF's out.yaml."""
    tree = read_yaml(out_yaml, if_dir)
    outputs = tree["tree"]["children"]["child-1"]["outputs"]  # type: ignore[index]
    return [tuple(float(o[name]) for name in RESULTS) for o in outputs]


def check(
    reader: Callable[..., list[tuple[float, ...]]], *args: object, expected: Sequence[Sequence[float]]
) -> Agreement:
    """Read one output with `reader` and compare; an unreadable output is a failed agreement."""
    try:
        return agreement(reader(*args), expected)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError, subprocess.CalledProcessError) as error:
        return Agreement(count=len(expected), missing=f"unreadable output ({type(error).__name__}: {error})")


# ---- series of runs


@dataclass
class Series:
    """The measured runs of one system at one N."""

    system: str
    n: int
    samples: list[Sample] = field(default_factory=list)
    timed_out: bool = False
    agreement: Agreement | None = None

    def wall(self) -> float | None:
        done = [s.wall for s in self.samples if not s.timed_out]
        return statistics.median(done) if done else None

    def cpu(self) -> float | None:
        done = [s.cpu for s in self.samples if not s.timed_out]
        return statistics.median(done) if done else None

    def rss(self) -> float | None:
        done = [s.rss_mib for s in self.samples if not s.timed_out]
        return statistics.median(done) if done else None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_once(ctx: Context, system: str, work: Workload, series: Series, check_output: bool) -> None:
    """One run of `system`; the first measured run of each series is also checked."""
    if system == "if":
        sample, cwd = run_if(ctx, work)
    else:
        sample, cwd = run_nnci(ctx, ["run", str(work.scenario), "--format", "json"], cached=system == "cached")
    series.samples.append(sample)
    if sample.timed_out:
        series.timed_out = True
        log(f"  TIMEOUT: {SYSTEMS[system]} at N={work.count} exceeded {ctx.timeout:g} s and was killed; "
            "its remaining runs at this N are skipped")  # fmt: skip
    elif check_output and system == "if":
        series.agreement = check(if_results, cwd / "out.yaml", ctx.if_dir, expected=work.expected)
    elif check_output:
        series.agreement = check(nnci_results, cwd / "stdout", work.count, expected=work.expected)
    if not sample.timed_out:
        log(f"  {SYSTEMS[system]:<22} N={work.count:<6} {sample.wall:8.3f} s wall {sample.cpu:8.3f} s CPU "
            f"{sample.rss_mib:7.1f} MiB  (load {sample.load:.2f})")  # fmt: skip
    shutil.rmtree(cwd, ignore_errors=True)  # out.yaml reaches hundreds of MB at 100,000


def bench_size(ctx: Context, work: Workload, systems: Sequence[str], runs: int) -> list[Series]:
    """`runs` rounds at one N, the systems interleaved in each round so that drifts in the machine
    (other load, thermal state) hit all of them alike."""
    all_series = {system: Series(system, work.count) for system in systems}
    if "cached" in systems:
        log(f"N={work.count}: warming the module cache (unmeasured)")
        warm, cwd = run_nnci(ctx, ["run", str(work.scenario), "--format", "json"], cached=True)
        shutil.rmtree(cwd, ignore_errors=True)
        if warm.timed_out:
            log(f"  TIMEOUT: the warm-up run at N={work.count} exceeded {ctx.timeout:g} s; nnci cached runs skipped")
            all_series["cached"].timed_out = True
    for round_index in range(runs):
        for system in systems:
            series = all_series[system]
            if series.timed_out:
                continue
            measure_once(ctx, system, work, series, check_output=round_index == 0)
    return list(all_series.values())


# ---- the other measurements


def interpreter_of(script: Path) -> str:
    """The Python a console script runs in (its shebang), for the import baseline."""
    first = script.read_text(errors="replace").split("\n", 1)[0]
    candidate = first[2:].strip() if first.startswith("#!") else ""
    return candidate if candidate and "python" in Path(candidate).name else sys.executable


def timed(ctx: Context, argv: Sequence[str], env: dict[str, str]) -> Sample:
    """One run of `argv` in a fresh folder, which must succeed."""
    cwd = fresh_folder(ctx.root, "demo-")
    sample = run_child(ctx, argv, cwd, env)
    if sample.timed_out or sample.code != 0:
        raise BenchError(f"`{' '.join(argv)}` failed (exit {sample.code}, timed out: {sample.timed_out})")
    shutil.rmtree(cwd, ignore_errors=True)
    return sample


def bench_demo(ctx: Context, runs: int) -> dict[str, object]:
    """The demo's cold run (a new process, module cache warm) against a process that only imports
    nnci's dependencies: what nnci adds on top of the interpreter and libraries it cannot avoid."""
    python = interpreter_of(ctx.nnci)
    commands = (
        ([python, "-c", IMPORT_BASELINE], python_env()),
        ([str(ctx.nnci), "run", str(DEMO)], nnci_env(ctx, cached=True)),
    )
    for argv, env in commands:  # unmeasured: the disk's and nnci's module caches
        timed(ctx, argv, env)
    baseline, demo = [], []
    for _ in range(runs):  # interleaved, so a burst of other load hits both
        baseline.append(timed(ctx, *commands[0]))
        demo.append(timed(ctx, *commands[1]))
    demo_s, import_s = statistics.median(s.wall for s in demo), statistics.median(s.wall for s in baseline)
    return {
        "demo_s": demo_s,
        "demo_cpu_s": statistics.median(s.cpu for s in demo),
        "demo_rss_mib": statistics.median(s.rss_mib for s in demo),
        "import_s": import_s,
        "import_cpu_s": statistics.median(s.cpu for s in baseline),
        "ratio": demo_s / import_s,
        "python": python,
        "samples": {"demo": demo, "import": baseline},
    }


def bench_explain(ctx: Context, work: Workload, runs: int) -> dict[str, object]:
    """`nnci explain s.nnci total.energy` on the big file (cache warm): the derivation tree of a
    sum over every job, which is where a slow explain would show. One unmeasured run first, which
    stores explain's own compiled program (it resolves every block; `run` resolves those it needs)."""
    args = ["explain", str(work.scenario), "total.energy"]
    samples, first_line, lines = [], "", []
    for index in range(-1, runs):
        sample, cwd = run_nnci(ctx, args, cached=True)
        if sample.timed_out:
            return {"n": work.count, "timed_out": True}
        lines = (cwd / "stdout").read_text().splitlines()
        first_line = lines[0] if lines else ""
        shutil.rmtree(cwd, ignore_errors=True)
        if index >= 0:
            samples.append(sample)
    if not first_line.startswith("total.energy ="):
        raise BenchError(f"nnci explain printed {first_line!r} first, not total.energy")
    return {
        "n": work.count,
        "wall_s": statistics.median(s.wall for s in samples),
        "rss_mib": statistics.median(s.rss_mib for s in samples),
        "lines": len(lines),
        "first_line": first_line,
    }


def bench_table(ctx: Context, work: Workload, runs: int) -> dict[str, object]:
    """The tabular form (one job, rows = jobs over jobs.csv), if this nnci accepts it: until the
    table syntax lands, `nnci check` rejects it and the mode is skipped, saying so."""
    assert work.table is not None and work.table_expected is not None
    cwd = fresh_folder(ctx.root, "table-check-")
    sample = run_child(ctx, [str(ctx.nnci), "check", str(work.table)], cwd, nnci_env(ctx, cached=True))
    if sample.timed_out or sample.code != 0:
        output = (cwd / "stderr").read_text() + (cwd / "stdout").read_text()
        first = next((line for line in output.splitlines() if line.strip()), "no message")
        return {"n": work.count, "skipped": f"`nnci check table.nnci` rejects the table form ({first})"}
    args = ["run", str(work.table), "--format", "json"]
    warm, cwd = run_nnci(ctx, args, cached=True)
    shutil.rmtree(cwd, ignore_errors=True)
    if warm.timed_out:
        return {"n": work.count, "skipped": f"`nnci run table.nnci` exceeded {ctx.timeout:g} s"}
    all_series = {mode: Series(mode, work.count) for mode in ("cached", "uncached")}
    for index in range(runs):  # interleaved, as the per-observation runs
        for mode, series in all_series.items():
            if series.timed_out:
                continue
            sample, cwd = run_nnci(ctx, args, cached=mode == "cached")
            series.samples.append(sample)
            series.timed_out = sample.timed_out
            if index == 0 and not sample.timed_out:
                series.agreement = check(table_totals, cwd / "stdout", expected=[table_sums(work)])
            shutil.rmtree(cwd, ignore_errors=True)
    return {"n": work.count, "series": list(all_series.values())}


def table_sums(work: Workload) -> tuple[float, ...]:
    """The expected totals of the table job (energy, operational, embodied, total), summed exactly
    (fsum), since nnci may add the rows in any order."""
    assert work.table_expected is not None
    return tuple(math.fsum(column) for column in zip(*work.table_expected, strict=True))


def table_totals(out_json: Path) -> list[tuple[float, ...]]:
    """`total` of nnci's JSON: the per-row output shape is not settled, the totals are."""
    total = json.loads(out_json.read_text())["total"]
    return [tuple(total[key]["value"] for key in ("energy", "operational", "embodied", "total"))]


# ---- installing IF


def installed_if_version(folder: Path) -> str | None:
    meta = folder / "node_modules" / "@grnsft" / "if" / "package.json"
    return json.loads(meta.read_text())["version"] if meta.exists() else None


def install_if(folder: Path, timeout: float) -> None:
    """npm install IF 1.1.0 into a scratch folder of its own (its own package.json, so npm does
    not climb to a parent project), never into the repository."""
    folder = folder.resolve()
    if folder.is_relative_to(ROOT):
        raise BenchError(f"refusing to install IF inside the repository ({folder}); pick a folder under /tmp")
    if installed_if_version(folder) == IF_VERSION:
        log(f"IF {IF_VERSION} is already installed in {folder}")
        return
    if not shutil.which("npm"):
        raise BenchError("npm is not on PATH; IF needs Node.js and npm")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text('{"name": "nnci-bench-if", "private": true}\n')
    log(f"npm install {IF_PACKAGE} in {folder}")
    command = ["npm", "install", "--no-audit", "--no-fund", "--save-exact", IF_PACKAGE]
    subprocess.run(command, cwd=folder, check=True, timeout=timeout)
    if installed_if_version(folder) != IF_VERSION:
        raise BenchError(f"npm finished but {folder} has IF {installed_if_version(folder)}, not {IF_VERSION}")


def check_if_install(folder: Path) -> None:
    version = installed_if_version(folder)
    if version != IF_VERSION or not (folder / "node_modules" / ".bin" / "if-run").exists():
        found = f"IF {version}" if version else "no IF"
        raise BenchError(f"{found} in {folder}; install {IF_VERSION} with --install-if {folder}")


# ---- report


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def wall_cell(series: Series, timeout: float) -> str:
    if series.timed_out:
        done = series.wall()
        return f"TIMEOUT >{timeout:g}" + (f" ({fmt(done)} in {len(series.samples) - 1} runs)" if done else "")
    return fmt(series.wall())


def ratio(a: float | None, b: float | None) -> str:
    return fmt(a / b, 2) if a is not None and b else "–"


@dataclass
class Extras:
    """The measurements besides the per-N series."""

    environment: dict[str, object]
    demo: dict[str, object] | None = None
    explain: dict[str, object] | None = None
    tables: list[dict[str, object]] = field(default_factory=list)


def markdown(results: list[Series], extras: Extras, timeout: float) -> str:
    """The tables the README quotes: per N and system, medians and ratios to IF; then linearity."""
    lines = [
        "| N | system | runs | wall [s] | CPU [s] | peak RSS [MiB] | wall ÷ IF | CPU ÷ IF | RSS ÷ IF "
        "| results vs float64 reference |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ] if results else []  # fmt: skip
    by_key = {(s.system, s.n): s for s in results}
    for s in results:
        peer = by_key.get(("if", s.n))
        peer_wall, peer_cpu, peer_rss = (peer.wall(), peer.cpu(), peer.rss()) if peer else (None, None, None)
        lines.append(
            f"| {s.n:,} | {SYSTEMS[s.system]} | {len(s.samples)} | {wall_cell(s, timeout)} | {fmt(s.cpu())} | "
            f"{fmt(s.rss(), 1)} | {ratio(s.wall(), peer_wall)} | {ratio(s.cpu(), peer_cpu)} | {ratio(s.rss(), peer_rss)} | "
            f"{s.agreement.summary() if s.agreement else '–'} |"
        )
    loads = [sample.load for s in results for sample in s.samples]
    if loads:
        lines += ["", f"1-minute load average at the start of the measured runs: {min(loads):.2f}–{max(loads):.2f} "
                  f"on {os.cpu_count()} CPUs (wall time stretches under other load; CPU time much less)."]  # fmt: skip
    floor = extras.environment.get("rss_floor_mib")
    if floor:
        lines += ["", f"Peak RSS is each child's own (wait4); children are started by a launcher of {floor:.1f} MiB, "
                  "the lowest peak that can be read."]  # fmt: skip
    timeouts = [f"{SYSTEMS[s.system]} at N={s.n:,}" for s in results if s.timed_out]
    if timeouts:
        lines += ["", f"TIMEOUTS (a child was killed after {timeout:g} s; later runs skipped): {'; '.join(timeouts)}."]
    pairs = [(system, by_key.get((system, 1000)), by_key.get((system, 10_000))) for system in SYSTEMS]
    pairs = [(system, small, big) for system, small, big in pairs if small and big]
    if pairs:
        lines += ["", "Linearity (median at 10,000 ÷ at 1,000; 10 is linear):", ""]
    for system, small, big in pairs:
        lines.append(
            f"- {SYSTEMS[system]}: wall {ratio(big.wall(), small.wall())}, CPU {ratio(big.cpu(), small.cpu())}"
        )
    demo = extras.demo
    if demo:
        verdict = "meets" if demo["ratio"] <= DEMO_TARGET else "MISSES"
        lines += ["", f"Cold `nnci run models/nnci-demo.nnci` (cache warm): {demo['demo_s'] * 1000:.0f} ms, "
                  f"{demo['demo_rss_mib']:.1f} MiB; `python -c \"{IMPORT_BASELINE}\"`: {demo['import_s'] * 1000:.0f} ms; "
                  f"ratio {demo['ratio']:.2f} ({verdict} the target ≤ {DEMO_TARGET})."]  # fmt: skip
    explain = extras.explain
    if explain:
        if explain.get("timed_out"):
            lines += ["", f"`nnci explain s.nnci total.energy` at N={explain['n']:,}: TIMEOUT >{timeout:g} s."]
        else:
            lines += ["", f"`nnci explain s.nnci total.energy` at N={explain['n']:,} (cache warm): "
                      f"{explain['wall_s']:.3f} s, {explain['rss_mib']:.1f} MiB, {explain['lines']:,} lines "
                      f"(`{explain['first_line']}`)."]  # fmt: skip
    return "\n".join(lines + table_markdown(extras.tables, timeout))


def table_markdown(tables: list[dict[str, object]], timeout: float) -> list[str]:
    """The table form's own table (one job over N rows; not comparable with IF's N observations,
    which also have an inference job each)."""
    lines = [f"Table form at N={t['n']:,}: skipped — {t['skipped']}." for t in tables if t.get("skipped")]
    measured = [series for t in tables for series in t.get("series", [])]  # type: ignore[attr-defined]
    if measured:
        lines += ["Table form (`training t { rows = jobs ... }` over jobs.csv):", "",
                  "| rows | system | runs | wall [s] | CPU [s] | peak RSS [MiB] | totals vs exact sums |",
                  "|---:|---|---:|---:|---:|---:|---|"]  # fmt: skip
        for s in measured:
            lines.append(
                f"| {s.n:,} | {SYSTEMS[s.system]} | {len(s.samples)} | {wall_cell(s, timeout)} | {fmt(s.cpu())} | "
                f"{fmt(s.rss(), 1)} | {s.agreement.summary() if s.agreement else '–'} |"
            )
    return ["", *lines] if lines else []


def environment(ctx: Context) -> dict[str, object]:
    version = subprocess.run([str(ctx.nnci), "--version"], capture_output=True, text=True).stdout.strip()
    node = (
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("node")
        else None
    )
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nnci": version,
        "nnci_path": str(ctx.nnci),
        "if": installed_if_version(ctx.if_dir),
        "node": node,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
    }


def to_json(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_json(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


# ---- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    default_nnci = Path(sys.executable).with_name("nnci")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--n", default="1,1000,10000", help="observation counts, comma-separated (default 1,1000,10000)"
    )
    parser.add_argument("--with-100k", action="store_true", help="add N=100,000 (IF needs ~150 s and 2 GiB per run)")
    parser.add_argument("--runs", type=int, default=5, help="rounds per N (default 5)")
    parser.add_argument("--runs-big", type=int, help="rounds for N >= 10,000 (default: --runs)")
    parser.add_argument("--systems", default="if,cached,uncached", help="any of if,cached,uncached")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one child may take (default 600)")
    parser.add_argument(
        "--nnci",
        type=Path,
        default=default_nnci if default_nnci.exists() else None,
        help="the nnci console script (default: the one beside this interpreter)",
    )
    parser.add_argument(
        "--if-dir", type=Path, default=DEFAULT_IF_DIR, help=f"where IF is installed (default {DEFAULT_IF_DIR})"
    )
    parser.add_argument(
        "--install-if",
        type=Path,
        nargs="?",
        const=DEFAULT_IF_DIR,
        metavar="DIR",
        help="npm install IF 1.1.0 into DIR (a scratch folder outside the repository) first",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--table", action="store_true", help="also the table form (skipped while nnci rejects it)")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo cold run vs the import baseline")
    parser.add_argument("--no-explain", action="store_true", help=f"skip nnci explain at N={EXPLAIN_N:,}")
    parser.add_argument("--json", type=Path, help="also write every sample and summary here")
    args = parser.parse_args(argv)
    args.sizes = [int(n) for n in args.n.split(",") if n] + ([100_000] if args.with_100k else [])
    args.systems = [s for s in args.systems.split(",") if s]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {','.join(SYSTEMS)}")
    if args.nnci is None:
        found = shutil.which("nnci")
        if not found:
            parser.error("no nnci console script found; pass --nnci PATH")
        args.nnci = Path(found)
    if args.install_if:
        args.if_dir = args.install_if
    return args


def run(args: argparse.Namespace, root: Path, launcher: Launcher) -> int:
    ctx = Context(root, args.nnci.resolve(), args.if_dir.resolve(), root / "cache", args.timeout, launcher)
    ctx.cache.mkdir()
    if args.install_if:
        install_if(ctx.if_dir, args.timeout)
    if "if" in args.systems:
        check_if_install(ctx.if_dir)
    env = environment(ctx)
    env["rss_floor_mib"] = launcher.floor_mib
    log(f"nnci: {env['nnci']} ({ctx.nnci}); IF: {env['if']} ({ctx.if_dir}); {env['machine']}")
    if "if" in args.systems:  # an unmeasured IF run first: node's and the disk's caches, as nnci's warm-up
        _, cwd = run_if(ctx, generate(fresh_folder(root, "w-"), 1, args.seed))
        shutil.rmtree(cwd, ignore_errors=True)
    results: list[Series] = []
    extras = Extras(env)
    for n in args.sizes:
        work = generate(root / f"n{n}", n, args.seed, table=args.table)
        runs = args.runs_big if args.runs_big and n >= 10_000 else args.runs
        results += bench_size(ctx, work, args.systems, runs)
        if args.table:
            extras.tables.append(bench_table(ctx, work, runs))
        if n == EXPLAIN_N and not args.no_explain:
            log(f"nnci explain at N={n}")
            extras.explain = bench_explain(ctx, work, runs)
    if not args.no_demo:
        log("demo cold run vs the import baseline")
        extras.demo = bench_demo(ctx, args.runs)
    print(markdown(results, extras, args.timeout))
    if args.json:
        args.json.write_text(json.dumps(to_json({"series": results, "extras": extras}), indent=2) + "\n")
    failed = [s for s in results if s.system != "if" and s.agreement and not s.agreement.ok()]
    for s in failed:
        log(f"FAIL: {SYSTEMS[s.system]} at N={s.n}: {s.agreement.summary()}")  # type: ignore[union-attr]
    return 1 if failed else 0


def main() -> None:
    if sys.argv[1:] == ["--launcher"]:
        serve_children()
        return
    args = parse_args()
    launcher = Launcher()  # before this process grows
    try:
        with tempfile.TemporaryDirectory(prefix="nnci-vs-if-") as root:
            sys.exit(run(args, Path(root), launcher))
    except BenchError as error:
        sys.exit(f"vs_if: {error}")
    finally:
        launcher.close()


if __name__ == "__main__":
    main()
