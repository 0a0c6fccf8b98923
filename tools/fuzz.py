"""Mutation fuzzing of nnci: no input may produce a traceback or take more than --timeout seconds.

Seeds are every file of `models/`, `nnci/std/` and the golden cases (`tests/cases/`); large files
are cut into windows of whole blocks so each input stays small. A seeded mutator deletes,
inserts, replaces and swaps characters, tokens and lines (and makes numbers extreme, nests
parentheses, repeats lines), then each input runs

- in-process: `nnci.loads` + `nnci.check` + `nnci.evaluate`, and the formatter's round trip
  (parse, format, parse again); any exception other than `NnciError` is a crash;
- through the CLI (`python -m nnci` in a subprocess: check, run, fmt, validate, explain): a
  crash is "Traceback" on stderr or an exit code other than 0, 1 or 2.

Runs slower than --timeout are counted as slow. Each crashing or slow input is saved, reduced
to the lines that still make it fail, in `tests/cases/fuzz/` (or --save-dir), where
`tests/test_hardening.py` runs it on every test run. Everything runs in a scratch folder with a
private module cache, so relative imports in mutated files read nothing of the repository.

    .venv/bin/python tools/fuzz.py --seed 1 --count 20000 --cli-count 500 --timeout 2
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
SAVE_DIR = ROOT / "tests" / "cases" / "fuzz"
WINDOW_LINES = 60  # a seed longer than this is cut into windows of whole blocks
HARD_CAP = 30.0  # an in-process input still running after this is stopped (and saved as slow)

TOKENS = [
    "{", "}", "(", ")", "=", ",", ".", "#", '"', "\\\n", "\n", "\r\n", "\t", " ", "%", "^", "*", "/", "+",
    "-", "_", "@", "@source(", "1e999", "0e400", "-1", "1e-400", "0", "1_000", "0.0001", "nan", "inf",
    "1e308", "W", "kWh", "MWh", "gCO2e/kWh", "tCO2e", "kgCO2e", "h", "days", "years", "FLOP", "TFLOP/s",
    "W/h", "import", " as ", "expect", "within", "check", "nnci 0.1", "nnci 9.9", "grid", "device",
    "datacenter", "training", "inference", "fleet", "source", "total", "min(", "max(", "sum(", "power",
    "pue", "intensity", "duration", "mix", "site", "queries", "energy", "lifetime", "embodied", "method",
    "parameters", "tokens", "label", "made_in", "transport", "compute", "throughput", "efficiency",
    '"std/hardware"', '"std/../x"', '"/etc/passwd"', '"../x"', '"a\\x00"', '"\\u12"', '"\\xff"',
    "\x00", "\x1b[2J", "\ufeff", "é", "→", "\u202e", "\udcff", "total.energy", "= patterson", "= llmcarbon",
]  # fmt: skip
NUMBER = re.compile(r"\b\d[\d_]*(\.\d+)?([eE][+-]?\d+)?\b")
EXTREMES = ["0", "1e999", "1e-999", "0e400", "1e308", "5e-324", "-0", "123456789012345678901234567890", "1_"]


@attrs.frozen
class Seed:
    name: str
    text: str


@attrs.frozen
class Outcome:
    kind: str  # "ok", "diagnostics", "crash", "slow"
    seconds: float
    detail: str = ""


# -- seeds ---------------------------------------------------------------------------------------


def seed_files(root: Path = ROOT) -> list[Path]:
    folders = [root / "models", root / "nnci" / "std", root / "tests" / "cases"]
    return sorted(p for folder in folders for p in folder.rglob("*.nnci") if "fuzz" not in p.parts)


def windows(text: str, lines: int = WINDOW_LINES) -> list[str]:
    """A long file as windows of whole blocks (cut where a line starts at column 1 after a `}`)."""
    all_lines = text.split("\n")
    if len(all_lines) <= lines:
        return [text]
    cuts = [0] + [i + 1 for i, line in enumerate(all_lines) if line == "}"]
    out, start = [], 0
    for cut in cuts[1:]:
        if cut - start >= lines:
            out.append("\n".join(all_lines[start:cut]) + "\n")
            start = cut
    if start < len(all_lines) - 1:
        out.append("\n".join(all_lines[start:]) + "\n")
    return out


def load_seeds(root: Path = ROOT) -> list[Seed]:
    seeds = []
    for path in seed_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for index, part in enumerate(windows(text)):
            seeds.append(Seed(f"{path.relative_to(root)}#{index}", part))
    return seeds


# -- mutations -----------------------------------------------------------------------------------


def _position(rng: random.Random, text: str) -> int:
    return rng.randrange(len(text) + 1)


def delete_chars(rng: random.Random, text: str) -> str:
    at = _position(rng, text)
    return text[:at] + text[at + rng.randint(1, 8) :]


def insert_token(rng: random.Random, text: str) -> str:
    at = _position(rng, text)
    return text[:at] + rng.choice(TOKENS) + text[at:]


def replace_chars(rng: random.Random, text: str) -> str:
    at = _position(rng, text)
    return text[:at] + rng.choice(TOKENS) + text[at + rng.randint(1, 6) :]


def swap_chars(rng: random.Random, text: str) -> str:
    if len(text) < 2:
        return text
    i, j = sorted(rng.sample(range(len(text)), 2))
    return text[:i] + text[j] + text[i + 1 : j] + text[i] + text[j + 1 :]


def _lines_op(text: str, change: Callable[[list[str]], None]) -> str:
    lines = text.split("\n")
    change(lines)
    return "\n".join(lines)


def duplicate_line(rng: random.Random, text: str) -> str:
    def change(lines: list[str]) -> None:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])

    return _lines_op(text, change)


def delete_line(rng: random.Random, text: str) -> str:
    return _lines_op(text, lambda lines: lines.pop(rng.randrange(len(lines))) if lines else None)


def swap_lines(rng: random.Random, text: str) -> str:
    def change(lines: list[str]) -> None:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]

    return _lines_op(text, change)


def repeat_line(rng: random.Random, text: str) -> str:
    """Many copies of one line: duplicate fields, long chains, big maps (stays under a few kB)."""

    def change(lines: list[str]) -> None:
        i = rng.randrange(len(lines))
        lines[i : i + 1] = [lines[i]] * rng.randint(20, 400)

    return _lines_op(text, change)


def extreme_number(rng: random.Random, text: str) -> str:
    numbers = list(NUMBER.finditer(text))
    if not numbers:
        return insert_token(rng, text)
    match = rng.choice(numbers)
    return text[: match.start()] + rng.choice(EXTREMES) + text[match.end() :]


def nest_parentheses(rng: random.Random, text: str) -> str:
    numbers = list(NUMBER.finditer(text))
    if not numbers:
        return text
    match = rng.choice(numbers)
    depth = rng.choice([2, 50, 199, 201, 400])
    return text[: match.start()] + "(" * depth + match.group() + ")" * depth + text[match.end() :]


def truncate(rng: random.Random, text: str) -> str:
    return text[: _position(rng, text)]


MUTATIONS: list[Callable[[random.Random, str], str]] = [
    delete_chars, insert_token, insert_token, replace_chars, swap_chars, duplicate_line, delete_line,
    swap_lines, repeat_line, extreme_number, extreme_number, nest_parentheses, truncate,
]  # fmt: skip


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.choice([1, 1, 2, 3, 4])):
        text = rng.choice(MUTATIONS)(rng, text)
    return text


def inputs(seed: int, count: int, seeds: list[Seed]) -> Iterator[tuple[str, str]]:
    """`count` (seed name, mutated text) pairs, the same for the same `seed`."""
    rng = random.Random(seed)
    for _ in range(count):
        chosen = rng.choice(seeds)
        yield chosen.name, mutate(rng, chosen.text)


# -- running -------------------------------------------------------------------------------------


class _Stopped(Exception):
    """Raised by the alarm when an in-process input runs past HARD_CAP."""


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def stop(_number: int, _frame: object) -> None:
        raise _Stopped

    usable = hasattr(signal, "setitimer") and _in_main_thread()
    previous = signal.signal(signal.SIGALRM, stop) if usable else None
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def pipeline(text: str) -> str:
    """The whole of nnci on one text, in-process: what a user of the API and of `fmt` reaches."""
    import nnci
    from nnci.formatting import Layout, format_module
    from nnci.load import read_module

    result = "ok"
    try:
        program = nnci.loads(text, "fuzz.nnci")
        nnci.check(program)
        nnci.evaluate(program)
    except nnci.NnciError as error:
        str(error)  # rendering is part of the path
        result = "diagnostics"
    layout = Layout.of(text)
    body = layout.strip(text)
    module, _ = read_module(body, "fuzz.nnci")
    if module is not None:
        format_module(module, body)
    return result


def run_api(text: str, timeout: float) -> Outcome:
    start = time.perf_counter()
    try:
        with _alarm(max(HARD_CAP, timeout)):
            kind = pipeline(text)
    except _Stopped:
        return Outcome("slow", time.perf_counter() - start, f"stopped after {HARD_CAP} s")
    except Exception as error:
        return Outcome("crash", time.perf_counter() - start, _where(error))
    seconds = time.perf_counter() - start
    return Outcome("slow" if seconds > timeout else kind, seconds, f"{seconds:.2f} s" if seconds > timeout else "")


def _where(error: BaseException) -> str:
    """`Type: message at file:line` of the innermost nnci frame, to tell distinct crashes apart."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "nnci" in f.filename]
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}: {str(error)[:120]}{place}"


CLI_COMMANDS = [
    ["check"], ["run"], ["run", "--format", "json"], ["fmt"], ["fmt", "--check"], ["validate"],
    ["explain", "{file}", "total.energy"], ["run", "-"],
]  # fmt: skip


def run_cli(text: str, command: list[str], folder: Path, timeout: float) -> Outcome:
    """One `python -m nnci` process on the text written to a file in `folder` (or on stdin)."""
    path = folder / "fuzz.nnci"
    data = text.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    args = [a.replace("{file}", path.name) for a in command]
    if "{file}" not in command and command != ["run", "-"]:
        args.append(path.name)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nnci", *args], cwd=folder, input=data if "-" in args else None,
            capture_output=True, timeout=max(HARD_CAP, timeout), env=_environment(folder),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Outcome("slow", time.perf_counter() - start, f"{' '.join(args)}: killed after {HARD_CAP} s")
    seconds = time.perf_counter() - start
    stderr = done.stderr.decode("utf-8", "replace")
    if "Traceback" in stderr or done.returncode not in (0, 1, 2):
        last = stderr.strip().splitlines()[-1:] or [""]
        return Outcome("crash", seconds, f"{' '.join(args)}: exit {done.returncode}: {last[0][:160]}")
    if seconds > timeout:
        return Outcome("slow", seconds, f"{' '.join(args)}: {seconds:.2f} s")
    return Outcome("ok" if done.returncode == 0 else "diagnostics", seconds)


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNCI_")}
    env["NNCI_CACHE_DIR"] = str(folder / ".cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


# -- findings ------------------------------------------------------------------------------------


def reduce(text: str, fails: Callable[[str], bool], budget: int = 200) -> str:
    """Drop lines (then runs of characters) while the input still fails, within `budget` tries."""
    lines = text.split("\n")
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and budget > 0:
        i, removed = 0, False
        while i < len(lines) and budget > 0:
            trial = lines[:i] + lines[i + chunk :]
            budget -= 1
            if trial and fails("\n".join(trial)):
                lines, removed = trial, True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    return "\n".join(lines)


def save(text: str, kind: str, detail: str, folder: Path) -> Path:
    """A failing input as a case of its own (named by its hash, so a rerun does not duplicate it)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    path = folder / f"{kind}-{digest}.nnci"
    header = "# " + detail.replace("\n", " ")[:200] + "\n"
    path.write_bytes((header + text).encode("utf-8", "surrogatepass"))
    return path


@attrs.define
class Tally:
    inputs: int = 0
    kinds: Counter[str] = attrs.field(factory=Counter)
    crashes: Counter[str] = attrs.field(factory=Counter)
    slow: list[str] = attrs.field(factory=list)
    slowest: float = 0.0
    seconds: float = 0.0
    saved: list[Path] = attrs.field(factory=list)
    interrupted: bool = False

    def add(self, outcome: Outcome) -> None:
        self.inputs += 1
        self.kinds[outcome.kind] += 1
        self.seconds += outcome.seconds
        self.slowest = max(self.slowest, outcome.seconds)
        if outcome.kind == "crash":
            self.crashes[outcome.detail] += 1
        elif outcome.kind == "slow":
            self.slow.append(outcome.detail)

    def report(self, title: str) -> str:
        title += " (interrupted)" if self.interrupted else ""
        lines = [f"{title}: {self.inputs} inputs in {self.seconds:.1f} s: " + ", ".join(
            f"{self.kinds[k]} {k}" for k in ("ok", "diagnostics", "crash", "slow")) +
            f"; slowest {self.slowest:.2f} s"]  # fmt: skip
        lines += [f"  crash ×{n}: {detail}" for detail, n in self.crashes.most_common()]
        lines += [f"  slow: {detail}" for detail in self.slow[:20]]
        lines += [f"  saved {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}" for p in self.saved]
        return "\n".join(lines)


def fuzz_api(seed: int, count: int, timeout: float, save_dir: Path | None = None) -> Tally:
    """`count` mutated inputs through the API in this process; failures saved to `save_dir`."""
    tally = Tally()
    seeds = load_seeds()
    with _scratch():
        for number, (_name, text) in _interruptible(enumerate(inputs(seed, count, seeds), 1), tally):
            outcome = run_api(text, timeout)
            tally.add(outcome)
            if outcome.kind == "crash" and tally.crashes[outcome.detail] == 1 and save_dir is not None:
                detail = outcome.detail

                def fails(trial: str, detail: str = detail) -> bool:
                    return run_api(trial, timeout).detail == detail

                tally.saved.append(save(reduce(text, fails), "api-crash", detail, save_dir))
            elif outcome.kind == "slow" and save_dir is not None:
                tally.saved.append(save(text, "api-slow", outcome.detail, save_dir))
            _progress(number, count, tally)
    return tally


def _interruptible(items: Iterator[tuple[int, tuple[str, str]]], tally: Tally) -> Iterator[tuple[int, tuple[str, str]]]:
    """The items, until Ctrl-C or SIGTERM: the handler only sets a flag, read between inputs, so
    a long run stopped early still reports what it counted."""
    for item in items:
        if STOP:
            tally.interrupted = True
            return
        yield item


STOP: list[int] = []


def _progress(number: int, count: int, tally: Tally) -> None:
    """A line on stderr every 1,000 inputs, for long runs."""
    if number % 1000 == 0 and number < count:
        print(
            f"  {number}/{count}: {tally.kinds['crash']} crash, {tally.kinds['slow']} slow", file=sys.stderr, flush=True
        )


def fuzz_cli(seed: int, count: int, timeout: float, save_dir: Path | None = None) -> Tally:
    """`count` mutated inputs, each through one `nnci` command in a fresh process."""
    tally = Tally()
    rng = random.Random(seed + 1)
    with _scratch() as folder:
        for number, (_name, text) in _interruptible(enumerate(inputs(seed + 1, count, load_seeds()), 1), tally):
            _progress(number * 10, count * 10, tally)  # every 100 runs
            command = rng.choice(CLI_COMMANDS)
            outcome = run_cli(text, command, folder, timeout)
            tally.add(outcome)
            first = outcome.kind == "slow" or tally.crashes[outcome.detail] == 1
            if outcome.kind in ("crash", "slow") and first and save_dir is not None:
                tally.saved.append(save(text, f"cli-{outcome.kind}", outcome.detail, save_dir))
    return tally


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    """A scratch working folder with its own module cache, restored afterwards."""
    saved = {k: os.environ.get(k) for k in ("NNCI_CACHE_DIR", "NNCI_NO_CACHE")}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="nnci-fuzz-") as name:
        folder = Path(name)
        os.environ["NNCI_CACHE_DIR"] = str(folder / ".cache")
        os.environ.pop("NNCI_NO_CACHE", None)
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(cwd)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _interrupt(number: int, _frame: object) -> None:
    STOP.append(number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation fuzzing of nnci (in-process API and CLI).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=2000, help="inputs through the API, in-process")
    parser.add_argument("--cli-count", type=int, default=100, help="inputs through the CLI, one process each")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds after which an input counts as slow")
    parser.add_argument("--save-dir", type=Path, default=SAVE_DIR, help="where failing inputs are saved")
    parser.add_argument("--no-save", action="store_true", help="count failures without saving them")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    save_dir = None if args.no_save else args.save_dir
    sys.path.insert(0, str(ROOT))
    failed = False
    if args.count:
        api = fuzz_api(args.seed, args.count, args.timeout, save_dir)
        print(api.report(f"api (seed {args.seed})"), flush=True)
        failed |= bool(api.kinds["crash"] or api.kinds["slow"])
    if args.cli_count:
        cli = fuzz_cli(args.seed, args.cli_count, args.timeout, save_dir)
        print(cli.report(f"cli (seed {args.seed})"), flush=True)
        failed |= bool(cli.kinds["crash"] or cli.kinds["slow"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
