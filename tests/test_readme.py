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


def test_the_uncertain_report_example_is_what_nnci_report_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's uncertain example names its command; the figure it quotes is in that command's output,
    and the rounding rule it states is the one the statement prints."""
    from nnci.cli import main
    from nnci.report import rounding

    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(r"`nnci report (\S+) --samples (\d+)` states `([^`]+)`", text)
    assert found is not None, "the README quotes an uncertain report with its command"
    monkeypatch.chdir(README.parent)
    assert main(["report", found[1], "--samples", found[2]]) == 0
    statement = " ".join(capsys.readouterr().out.split())
    assert found[3] in statement
    assert rounding.INTERVAL_RULE in statement
    # the README's wording of the rule names the same bounds the code applies
    assert f"no fewer than 1 and no more than {rounding.MOST + 2}" in rounding.INTERVAL_RULE
    assert f"median kept to no fewer than 1 and no more than {rounding.MOST + 2}" in text
    assert rounding.from_interval(128.0, 128.0 - 1e-9, 128.0 + 1e-9) == rounding.MOST + 2
    assert rounding.from_interval(128.0, 0.0, 1e6) == 1


def test_the_validation_table_is_what_validate_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's table of every `expect` line of models/ (a new user found three rows missing)."""
    from nnci.cli import main

    text = README.read_text(encoding="utf-8")
    start = text.index("| file | quantity | expected | computed | ratio | tolerance | result |")
    shown = text[start : text.index("\n\n", start)]
    monkeypatch.chdir(README.parent)  # the table names the files as `models/...`
    assert main(["validate", "models/", "--format", "md"]) == 0
    printed = capsys.readouterr().out
    assert printed[printed.index("| file | quantity") :].split("\n\n")[0].rstrip("\n") == shown
