"""Data provenance: a value written in a block with `@source` carries that source into `explain`,
`explain --format json` and `run --sources`. The expected sources are read from the files themselves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnci.cli import main
from nnci.formulas.registry import all_formulas
from nnci.resources import std_dir

SCENARIO = """\
import "std/grids" as g
import "std/hardware" as hw

device gpu = hw.a100_sxm4_80gb {
  lifetime = 5 years
}

datacenter dc {
  pue = 1.1
  grid = g.deu_2023
}

@source("our lab's job log, 2025")
training t {
  fleet = { gpu = 8 }
  site = dc
  duration = 24 h
}
"""


def std_source(module: str, block: str) -> list[str]:
    """The `@source(...)` texts written above a block of a std module."""
    text = (std_dir() / f"{module}.nnci").read_text(encoding="utf-8")
    head = text[: text.index(f" {block} ")]
    annotations = re.findall(r'@source\("((?:[^"\\]|\\.)*)"\)\n', head.rsplit("}\n", 1)[-1])
    assert annotations, block
    return annotations


@pytest.fixture
def scenario(tmp_path: Path) -> str:
    path = tmp_path / "s.nnci"
    path.write_text(SCENARIO, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_explain_shows_the_source_of_a_catalog_value(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    out = run(capsys, "explain", scenario, "t.operational")
    line = next(x for x in out.splitlines() if "std/grids.deu_2023.intensity" in x)
    number = re.search(r"given at std/grids:\d+:\d+ \[(\d+)\]", line)
    assert number is not None, line
    citations = dict(re.findall(r"^  \[(\d+)\] (.*)$", out, re.M))
    assert citations[number.group(1)] == std_source("grids", "deu_2023")[0]
    own = next(x for x in out.splitlines() if "t.duration" in x)  # the job's @source cites its own values
    assert citations[re.search(r"given at \S+ \[(\d+)\]", own).group(1)] == "our lab's job log, 2025"  # type: ignore[union-attr]
    pue = next(x for x in out.splitlines() if "dc.pue = " in x)
    assert re.search(r"given at \S+:\d+:\d+: ", pue), "a value in a block without @source cites nothing"


def nodes(tree: dict[str, object]) -> Iterator[dict[str, object]]:
    yield tree
    for child in tree.get("inputs", []):  # type: ignore[attr-defined]
        yield from nodes(child)


def test_explain_json_gives_the_source_of_each_given_input(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    tree = json.loads(run(capsys, "explain", scenario, "t.total", "--format", "json"))
    given = {str(n["quantity"]): n for n in nodes(tree) if "given_at" in n}
    assert all("source" in n and "written" in n for n in given.values())
    assert given["std/grids.deu_2023.intensity"]["source"] == std_source("grids", "deu_2023")[0]
    # the record's embodied figure, inherited by the amend, keeps the record's sources
    assert given["gpu.embodied"]["source"] == "; ".join(std_source("hardware", "a100_sxm4_80gb"))
    assert given["gpu.lifetime"]["source"] is None  # the amend's own value: it has no @source of its own
    assert given["t.duration"]["source"] == "our lab's job log, 2025"


def test_run_sources_lists_every_source_and_citation(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    out = run(capsys, "run", scenario, "--sources")
    bibliography = out[out.index("\nsources:\n") :]
    cited = re.findall(r"^  \[\d+\] (.*)$", bibliography, re.M)
    expected_data = [
        *std_source("hardware", "a100_sxm4_80gb"),
        *std_source("grids", "deu_2023"),
        "our lab's job log, 2025",
    ]
    assert set(expected_data) <= set(cited)
    # every formula the figures were derived with is cited, and nothing else
    tree = json.loads(run(capsys, "explain", scenario, "t.total", "--format", "json"))
    used = {str(n["formula"]) for n in nodes(tree) if "formula" in n}
    citations = {f.citation for f in all_formulas() if f.name in used}
    assert set(cited) == set(expected_data) | citations
    report = json.loads(run(capsys, "run", scenario, "--sources", "--format", "json"))
    assert {s["text"] for s in report["sources"]} >= set(cited)  # JSON lists every figure, so cites more
    assert next(s for s in report["sources"] if s["text"] == "our lab's job log, 2025")["kind"] == "data"
