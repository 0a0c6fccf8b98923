"""The README stays true: its language tour runs and its expectations hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nnci

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_language_tour_validates(tmp_path: Path) -> None:
    tour = re.search(r"```\n(nnci 0\.1\n.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert tour is not None, "the README has a tour that starts with `nnci 0.1`"
    path = tmp_path / "tour.nnci"
    path.write_text(tour.group(1))
    program = nnci.load(path)
    nnci.check(program)
    results = nnci.evaluate(program)
    assert len(results.expects) >= 2
    assert all(e.passed for e in results.expects), [e.expect.target_text for e in results.expects if not e.passed]


def test_the_set_up_commands_are_the_ones_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pip install . && .venv/bin/nnci run models/nnci-demo.nnci" in text
    assert ".venv/bin/pip install '.[test]' && .venv/bin/pytest" in text
    assert 'pip" install --quiet "$repo[test]"' in ci and '/bin/pytest"' in ci


def test_the_pasted_statement_is_what_nnci_report_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README quotes `nnci report models/nnci-demo.nnci` as it is (one `> ` per line)."""
    from nnci.cli import main

    monkeypatch.chdir(README.parent)
    assert main(["report", "models/nnci-demo.nnci"]) == 0
    statement = capsys.readouterr().out.rstrip("\n")
    quoted = "\n".join("> " + line if line else ">" for line in statement.split("\n"))
    assert quoted in README.read_text(encoding="utf-8")
    assert (README.parent / "docs" / "report-demo.png").is_file()
