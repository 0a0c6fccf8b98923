"""`nnci fmt`: canonical layout, comments kept, parse(fmt(x)) == parse(x), idempotent, safe writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import mutated, programs

from nnci.cli import main
from nnci.formatting import format_file, format_module
from nnci.lower import lower
from nnci.parse import parse
from nnci.resources import std_dir

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.joinpath("models").glob("*.nnci"), *std_dir().glob("*.nnci")])


def module_of(text: str):  # type: ignore[no-untyped-def]
    parsed = parse(text, "x.nnci")
    assert parsed.tree is not None, parsed.diagnostics
    return lower(parsed.tree, "x.nnci", parsed.comments)[0]


def assert_round_trip(text: str) -> str:
    module = module_of(text)
    formatted = format_module(module, text)
    again = module_of(formatted)
    assert again == module
    assert [c.text for c in again.comments] == [c.text for c in module.comments]
    assert format_module(again, formatted) == formatted, "formatting is idempotent"
    return formatted


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_shipped_file_round_trips(path: Path) -> None:
    assert_round_trip(path.read_text())


def test_layout_is_canonical_and_comments_stay_in_place() -> None:
    text = (
        "nnci 0.1\n## the grid\ngrid  g{\n   intensity=429 gCO2e/kWh   # α\n\n\n  transport = 0.95\n}\n"
        "training t {\n  fleet = {d=1,\n   e = 2}\n  duration = (1 h + 2 h) * 3\n}\n"
        "expect t.energy = 1 kWh within 1 %\n"
    )
    assert assert_round_trip(text) == (
        "nnci 0.1\n\n## the grid\ngrid g {\n  intensity = 429 gCO2e/kWh  # α\n  transport = 0.95\n}\n\n"
        "training t {\n  fleet = { d = 1, e = 2 }\n  duration = (1 h + 2 h) * 3\n}\n\n"
        "expect t.energy = 1 kWh within 1 %\n"
    )


def test_a_map_with_comments_stays_on_several_lines() -> None:
    text = "grid g {\n  mix = {\n    coal = 45 %,  # IEA\n    # the rest\n    gas = 55 %\n  }\n}\n"
    assert assert_round_trip(text) == (
        "grid g {\n  mix = {\n    coal = 45 %,  # IEA\n    # the rest\n    gas = 55 %,\n  }\n}\n"
    )


def test_parentheses_follow_precedence() -> None:
    text = "device d {\n  power = (2 W - (1 W - 3 W)) * -(4 - 1) ^ 2 / (2 ^ 3) ^ 2 + (-2) ^ 2 * 1 W\n}\n"
    formatted = assert_round_trip(text)
    assert "(2 W - (1 W - 3 W)) * -(4 - 1) ^ 2 / (2 ^ 3) ^ 2 + (-2) ^ 2 * 1 W" in formatted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_round_trip(program: tuple[str, dict[str, object]]) -> None:
    assert_round_trip(program[0])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_round_trip_when_they_parse(text: str) -> None:
    if parse(text, "x.nnci").tree is not None:
        assert_round_trip(text)


def test_write_is_atomic_and_only_when_needed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.nnci"
    path.write_text("grid g {\n  intensity   = 429 gCO2e/kWh\n}\n")
    assert main(["fmt", "--check", str(path)]) == 1
    assert main(["fmt", "-w", str(path)]) == 0
    assert path.read_text() == "grid g {\n  intensity = 429 gCO2e/kWh\n}\n"
    assert main(["fmt", "--check", str(path)]) == 0
    assert list(tmp_path.iterdir()) == [path], "no temporary file is left behind"


@pytest.mark.parametrize(
    ("original", "code", "count"),
    [
        ("grid g {\n  intensity = 429 gCO2e/kWh\n", "E101", 1),  # does not parse
        # the parser recovers and lowers the rest, but formatting what is left would delete the broken fields
        ("grid  g {\n  intensity 429 gCO2e/kWh\n  transport=0.95\n}\ndevice d {\n  power = 300 W W\n}\n", "E100", 2),
    ],
    ids=["unclosed", "broken-fields"],
)
def test_a_file_with_syntax_errors_is_never_written(
    original: str, code: str, count: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.nnci"
    path.write_text(original)
    assert main(["fmt", "-w", str(path)]) == 1
    assert path.read_text() == original
    assert capsys.readouterr().err.count(f"error[{code}]") == count
    assert format_file(path).formatted == original


def test_a_read_only_file_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ro.nnci"
    original = "grid g {\n  intensity   = 429 gCO2e/kWh\n}\n"
    path.write_text(original)
    path.chmod(0o444)
    assert main(["fmt", "-w", str(path)]) == 1
    assert path.read_text() == original
    assert "read-only" in capsys.readouterr().err


def test_a_comment_on_a_continued_line_is_kept() -> None:
    formatted = assert_round_trip("device d {\n  power = 1 W + \\\n    2 W  # both parts\n}\n")
    assert formatted == "device d {\n  power = 1 W + 2 W  # both parts\n}\n"


def test_an_empty_file_stays_empty() -> None:
    assert format_module(module_of(""), "") == ""


@pytest.mark.parametrize(
    "text",
    [
        "grid g { intensity = 429 gCO2e/kWh }  # note\n",
        "grid g {intensity = 429 gCO2e/kWh  # note\n  transport = 0.9\n}\n",
        "datacenter d {\n  pue = 1.1 }  # note\n",
    ],
)
def test_a_comment_after_a_block_on_one_line_goes_with_its_field_once(text: str) -> None:
    formatted = assert_round_trip(text)
    assert formatted.count("# note") == 1
    assert next(line for line in formatted.splitlines() if "# note" in line).lstrip().split()[0] in ("intensity", "pue")
