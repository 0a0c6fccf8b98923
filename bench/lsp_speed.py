"""How long the language server takes from an edit to its diagnostics, on a 1,000-line file.

The file is the IF-equivalent workload of bench/workload.py (19 observations of twelve blocks: 1,029
lines, 38 jobs) with two standard-library imports and a catalog amend on top, so every analysis
also loads std/hardware and std/grids (kept in memory after the first: nnci/cache.py). Each run
edits one number (a different value each time, so the document is never the same text twice) and
measures, as medians of several runs:

- in process: `nnci.lsp.analysis.analyse` (load, resolve, check, evaluate, expectations) and the
  conversion of the diagnostics' spans to protocol ranges: the work the server does per edit, in
  wall-clock and CPU time (the steadier figure on a busy machine);
- through the server (`nnci lsp`, a subprocess over stdio, with --server): from sending
  `didChange` to receiving its `publishDiagnostics`, end to end: the quiet time the server waits
  for another keystroke (as long as its last analysis took, 20–150 ms) included.

Warm means after the first analysis of the session (std modules lowered, code loaded).

    .venv/bin/python bench/lsp_speed.py                 # in process, 15 runs
    .venv/bin/python bench/lsp_speed.py --server --runs 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HEADER = """import "std/hardware" as hw
import "std/grids" as grids

device catalog_gpu = hw.a100_sxm4_80gb {
  power = 400 W
}

grid catalog_grid = grids.fra_2023 {
}

"""


def document() -> str:
    from workload import nnci_text, observations

    text = nnci_text(observations(19), 42)
    first = text.index("\n", text.index("nnci 0.1")) + 1 if text.startswith("nnci") else 0
    return text[:first] + HEADER + text[first:]


def edited(text: str, run: int) -> str:
    """The document with the first job's duration changed to a value of its own."""
    return text.replace("duration = ", f"duration = {run + 1}", 1)


def in_process(text: str, runs: int) -> tuple[list[float], list[float]]:
    from nnci import cache
    from nnci.lsp.analysis import analyse
    from nnci.lsp.positions import index_of

    cache.keep_in_memory()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.nnci"
        path.write_text(text, encoding="utf-8")
        analyse(path, text)  # the first: code imported, std modules lowered
        walls, cpus = [], []
        for run in range(runs):
            version = edited(text, run)
            start, cpu = time.perf_counter(), time.process_time()
            found = analyse(path, version)
            lines = index_of(version)
            ranges = [lines.range_of(d.span) for d in found.diagnostics if d.span is not None]
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - start)
            del ranges
        return walls, cpus


class _Client:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "nnci", "lsp"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        self.next_id = 0

    def send(self, method: str, params: object, request: bool = False) -> None:
        message: dict[str, object] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict[str, object]:
        stream = self.process.stdout
        assert stream is not None
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            header += stream.read(1)
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        return json.loads(stream.read(length))

    def until(self, method: str, version: int | None = None) -> dict[str, object]:
        while True:
            message = self.receive()
            params = message.get("params")
            if message.get("method") == method and (
                version is None or (isinstance(params, dict) and params.get("version") == version)
            ):
                return message


def through_server(text: str, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.nnci"
        path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        client = _Client()
        client.send("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, request=True)
        client.receive()
        client.send("initialized", {})
        client.send(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "nnci", "version": 1, "text": text}}
        )
        client.until("textDocument/publishDiagnostics", 1)
        times = []
        for run in range(runs):
            version = run + 2
            start = time.perf_counter()
            client.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                   "contentChanges": [{"text": edited(text, run)}]})  # fmt: skip
            client.until("textDocument/publishDiagnostics", version)
            times.append(time.perf_counter() - start)
        client.send("shutdown", None, request=True)
        client.receive()
        client.send("exit", None)
        client.process.wait(10)
        return times


def show(label: str, times: list[float]) -> None:
    ms = [t * 1000 for t in times]
    print(
        f"  {label:<46} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}   ({len(ms)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--server", action="store_true", help="also through a real `nnci lsp` over stdio")
    args = parser.parse_args()
    text = document()
    print(f"a {text.count(chr(10)):,}-line document, an edit per run, warm:")
    walls, cpus = in_process(text, args.runs)
    show("in process: analyse + ranges (wall)", walls)
    show("in process: analyse + ranges (CPU)", cpus)
    if args.server:
        show("nnci lsp: didChange → publishDiagnostics", through_server(text, args.runs))


if __name__ == "__main__":
    main()
