"""Golden cases: each `tests/cases/<stage>/<name>.nnci` beside `<name>.out`, the expected output.

`diagnostics/` cases run through `nnci check`, `validate/` cases through `nnci validate`, `sampling/`
cases through `nnci run --samples 100 --seed 1`; the
output is stderr then stdout, with the path as given (relative to the repository root). The
first line of every case, `# codes: E400 ...`, lists the codes its output must show.

Regenerate the .out files with `NNCI_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then read
every changed one: is the message clear, located (file:line:col, source line, caret) and helpful?
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from nnci.cli import main
from nnci.diagnostics import CODES

REPO = Path(__file__).resolve().parent.parent
CASES = Path("tests") / "cases"
UPDATE = os.environ.get("NNCI_UPDATE_GOLDEN") == "1"
COMMANDS = {"diagnostics": ["check"], "validate": ["validate"], "sampling": ["run", "--samples", "100", "--seed", "1"]}
# Codes that a golden file cannot show: E103 needs an unreadable file (tested below).
NOT_GOLDEN = {"E103", "E407"}  # E407 needs a chain of 20,000 links: tests/test_limits.py makes one
LOCATION = re.compile(r"^  --> (?P<file>.+?):(?P<line>\d+):(?P<column>\d+)$", re.M)


def cases(stage: str) -> list[str]:
    return sorted(p.as_posix() for p in (REPO / CASES / stage).glob("*.nnci"))


def relative(path: str) -> str:
    return Path(path).relative_to(REPO).as_posix()


def declared_codes(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith("# codes: "), f"{path}: first line must list the codes, e.g. `# codes: E400`"
    return first.removeprefix("# codes: ").split()


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def golden(stage: str, path: str, capsys: pytest.CaptureFixture[str]) -> str:
    rel = relative(path)
    code, output = run([*COMMANDS[stage], rel], capsys)
    expected_file = REPO / Path(rel).with_suffix(".out")
    if UPDATE:
        expected_file.write_text(output, encoding="utf-8")
    assert expected_file.exists(), f"no {expected_file.name}; run with NNCI_UPDATE_GOLDEN=1"
    assert output == expected_file.read_text(encoding="utf-8")
    assert code == (1 if "error[" in output else 0), output  # a case of warnings only checks, and says so
    assert "Traceback" not in output
    return output


MODELS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "models").glob("*.nnci"))


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("model", MODELS, ids=lambda p: Path(p).stem)
def test_run_output_of_every_example(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    """What `nnci run` prints for each bundled example, table and notes, as a user sees it."""
    code, output = run(["run", model], capsys)
    expected_file = REPO / CASES / "run" / (Path(model).stem + ".out")
    if UPDATE:
        expected_file.parent.mkdir(exist_ok=True)
        expected_file.write_text(output, encoding="utf-8")
    assert code == 0, output
    assert output == expected_file.read_text(encoding="utf-8")


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("path", cases("diagnostics"), ids=lambda p: Path(p).stem)
def test_check_diagnostics(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = golden("diagnostics", path, capsys)
    for code in declared_codes(Path(path)):
        assert f"error[{code}]" in output or f"warning[{code}]" in output, code
    locations = [(m["file"], int(m["line"]), int(m["column"])) for m in LOCATION.finditer(output)]
    assert locations, "every diagnostic here has a location"
    assert locations == sorted(locations), "diagnostics are reported in position order"


# Syntax errors must say what is wrong in the user's words, not the parser's.
FRIENDLY = {
    "e100_missing_equals": ("missing `=` before `300`", "`name = value`"),
    "e100_missing_value": ("missing value", "write a value after `=`"),
    "e100_missing_comma": ("missing `,` before `b`", "separate map entries"),
    "e100_missing_brace_open": ("missing `{`", "kind name { ... }"),
    "e100_single_quotes": ("unexpected character `'`", "double quotes"),
    "e100_one_line_block": ("unexpected `transport`", "own line"),
    "e101_missing_brace": ("missing `}`", "line 2"),
    "e101_missing_brace_at_end": ("missing `}` at end of file", "line 6"),
    "e100_trailing_slash": ("missing value", "after `/`"),
    "e300_unit_with_space": ("`kWh` is a unit, and units touch their number", "`429 gCO2e/kWh`"),
    "e300_unit_with_space_w_per_h": ("`h` is a unit, and units touch their number", "`300 W/h`"),
    "e300_unit_after_slash": ("`h` is a unit", "`300 W/h`"),
    "e100_one_line_block_two_fields": ("missing a new line before `grid`", "separated by new lines"),
    "e100_one_line_block_comma": ("unexpected `,`", "separated by new lines"),
    "e100_unknown_block_kind": ("`job` is not a kind of block", "did you mean `training`?"),
    "e100_plus_minus": ("`+-` is not an operator", "`normal(350 W, 50 W)`"),
    "e100_plus_minus_sign": ("`±` is not an operator", "`normal(350 W, 50 W)`"),
    "e402_share_over_100_percent": ("must lie in (0, 100 %]", "4 times the whole"),
    "e400_dimension_in_words": ("found mass per energy", "`400 gCO2e/kWh`"),
    "e300_misspelt_generation_source": ("unknown name `solr`", "did you mean `solar`?"),
    "e301_field_known_by_another_name": ("no field `max_power`", "did you mean `tdp`"),
    "e300_catalog_record_by_description": ("`germany` is not defined", "`g.deu_2023` (Germany, 2023)"),
    "e402_empty_inline_fleet": ("`fleet` is empty", "`fleet` maps devices"),
    "e405_zero_divisor": ("`s.energy_per_query` cannot be computed: `s.queries` is 0", "value above 0"),
}


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("name", sorted(FRIENDLY))
def test_friendly_syntax_messages(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    message, hint = FRIENDLY[name]
    code, output = run(["check", (CASES / "diagnostics" / f"{name}.nnci").as_posix()], capsys)
    assert code == 1
    header = output.split("\n", 1)[0]
    assert message in header, output
    assert hint in output, output


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("path", cases("validate"), ids=lambda p: Path(p).stem)
def test_validate(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = golden("validate", path, capsys)
    assert "FAIL" in output
    for code in declared_codes(Path(path)):
        assert code in output, f"{code} does not appear in the output of `nnci validate`"


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("path", cases("sampling"), ids=lambda p: Path(p).stem)
def test_sampling_diagnostics(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = golden("sampling", path, capsys)
    for code in declared_codes(Path(path)):
        assert f"error[{code}]" in output, code


def test_every_code_has_a_golden_case() -> None:
    # set: `--set`/`--vary` cases (tests/test_whatif.py)
    declared = {code for stage in (*COMMANDS, "set") for path in cases(stage) for code in declared_codes(Path(path))}
    # importers' cases (tests/test_interop.py): an input file beside the diagnostics it gives, `<name>.err`
    for err in (REPO / CASES / "interop").rglob("*.err"):
        declared |= set(re.findall(r"^(?:error|warning)\[(E\d+)\]", err.read_text(encoding="utf-8"), re.M))
    assert declared <= set(CODES), declared - set(CODES)
    assert set(CODES) - NOT_GOLDEN - declared == set()


def test_golden_cases_are_small_and_one_per_problem() -> None:
    for stage in (*COMMANDS, "set"):
        for path in cases(stage):
            assert len(Path(path).read_text(encoding="utf-8").splitlines()) <= 30, path


@pytest.mark.usefixtures("at_repo")
def test_overflow_message_is_words_not_an_errno_tuple(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["check", (CASES / "diagnostics" / "e405_overflow.nnci").as_posix()], capsys)
    assert code == 1
    header = output.split("\n", 1)[0]
    assert header.startswith("error[E405]: ")
    assert "(34," not in header and "Numerical result out of range" not in header, header
    assert "too large" in header or "overflow" in header, header


# -- E103: unreadable files ------------------------------------------------------------------


def test_missing_file_is_e103(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.nnci"
    code, output = run(["check", str(missing)], capsys)
    assert code == 1
    assert output.startswith("error[E103]: ")
    assert "nope.nnci" in output and "cannot be read" in output
    assert "No such file or directory" in output
    assert "Traceback" not in output


def test_non_utf8_file_is_e103(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.nnci"
    path.write_bytes('device gpu {\n  label = "Zürich"\n}\n'.encode("latin-1"))
    code, output = run(["check", str(path)], capsys)
    assert code == 1
    assert output.startswith("error[E103]: ")
    assert "is not UTF-8 text" in output
    assert re.search(r"--> .*latin1\.nnci:2:13\n", output), output  # the ü: line 2, column 13
    assert "byte 0xfc at line 2, column 13" in output and "Latin-1" in output


def test_a_utf16_file_is_told_to_be_saved_as_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "utf16.nnci"
    path.write_bytes("device gpu {\n  power = 300 W\n}\n".encode("utf-16"))
    code, output = run(["check", str(path)], capsys)
    assert code == 1 and "is not UTF-8 text" in output and "the file is UTF-16 text" in output


def test_directory_given_as_file_is_e103(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["check", str(tmp_path)], capsys)
    assert code == 1
    assert output.startswith("error[E103]: ")
    assert "cannot be read" in output


def test_unreadable_import_is_located_at_the_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.nnci").write_bytes(b'grid g {\n  label = "\xff"\n}\n')
    main_file = tmp_path / "main.nnci"
    main_file.write_text('import "bad" as b\n', encoding="utf-8")
    code, output = run(["check", str(main_file)], capsys)
    assert code == 1
    assert "error[E103]" in output and "is not UTF-8 text" in output
    assert re.search(r"--> .*main\.nnci:1:1", output), output
    assert "byte 0xff at line 2, column 12" in output


# -- E500-ish: a quantity that cannot be derived is unknown, never 0 ---------------------------

NO_EMBODIED = """grid g {
  intensity = 400 gCO2e/kWh
}

datacenter dc {
  pue = 1.25
  grid = g
}

device gpu {
  power = 400 W
}

training job {
  fleet = { gpu = 100 }
  site = dc
  duration = 100 h
}
"""


@pytest.fixture
def no_embodied(tmp_path: Path) -> str:
    path = tmp_path / "no_embodied.nnci"
    path.write_text(NO_EMBODIED, encoding="utf-8")
    return str(path)


def test_run_table_says_unknown_for_missing_embodied(no_embodied: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["run", no_embodied], capsys)
    assert code == 0, output
    job = next(line for line in output.splitlines() if line.startswith("job "))
    cells = job.split()
    assert cells[:2] == ["job", "training"]
    assert "5,000 kWh" in job or "5 MWh" in job  # energy is known
    assert cells.count("unknown") == 2, job  # embodied and total
    total = next(line for line in output.splitlines() if line.startswith("total "))
    assert total.split().count("unknown") == 2, total
    assert "job.embodied is unknown: inputs that would allow it:" in output
    assert "gpu.embodied" in output or "gpu.manufacturing_energy" in output


def test_run_json_gives_null_for_missing_embodied(no_embodied: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["run", no_embodied, "--format", "json"], capsys)
    assert code == 0, output
    report = json.loads(output)
    job = report["blocks"]["job"]
    assert job["energy"] == {"value": pytest.approx(5000.0), "unit": "kWh", "formula": "nn-et"}
    assert job["operational"]["value"] == pytest.approx(2000.0)
    for quantity in (job["embodied"], job["total"], report["total"]["embodied"], report["total"]["total"]):
        assert quantity["value"] is None
        assert quantity["unit"] == "kgCO2e"
        assert quantity["missing"], quantity
    assert report["total"]["energy"]["value"] == pytest.approx(5000.0)


def test_run_csv_leaves_missing_embodied_empty(no_embodied: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["run", no_embodied, "--format", "csv"], capsys)
    assert code == 0, output
    rows = [line.split(",") for line in output.splitlines()]
    embodied = next(r for r in rows if r[0] == "job" and r[2] == "embodied")
    assert embodied[3] == "" and embodied[5] == "unknown"


def test_explain_names_what_is_missing(no_embodied: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["explain", no_embodied, "job.embodied"], capsys)
    assert code == 0, output
    assert output.startswith("job.embodied is unknown")
    assert "would allow it" in output and "`gpu.embodied`" in output
