"""`group(job.figure, table.column, "name")`: one group's sum over the rows of a job over a table."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import REPO

import nnci
from nnci.ast import string_literal
from nnci.engine import Derivation, Unknown
from nnci.lower import _string

JOB = """import "jobs.csv" as jobs

device gpu {
  power = 1000 W
  embodied = 100 kgCO2e
}

datacenter a {
  pue = 1
  intensity = 100 gCO2e/kWh
}

training month {
  rows = jobs
  fleet = { gpu = jobs.gpus }
  site = a
  duration = jobs.hours
}
"""

ROWS = [("nlp", 1, 2.0), ("nlp", 2, 1.0), ("vision", 4, 3.0), ("speech", 1, 1.0), ("vision", 1, 0.5)]


def scenario(folder: Path, figures: str, rows: list[tuple[str, int, float]] = ROWS, job: str = JOB) -> nnci.Results:
    lines = ["account,gpus,hours [h]", *(f"{a},{g},{h}" for a, g, h in rows)]
    (folder / "jobs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "log.nnci").write_text(job + figures, encoding="utf-8")
    return nnci.evaluate(nnci.load(folder / "log.nnci"))


def figure(results: nnci.Results, name: str) -> float:
    found = results.derived[name]
    assert isinstance(found, Derivation), found
    return float(found.value.magnitude)


def test_a_group_is_the_sum_over_its_rows(tmp_path: Path) -> None:
    kwh = {a: math.fsum(g * 1000 * h / 1000 for b, g, h in ROWS if b == a) for a, _, _ in ROWS}  # 1 kW × gpus × h
    text = "".join(f'figure {a} = group(month.energy, jobs.account, "{a}")\n' for a in kwh)
    results = scenario(tmp_path, text)
    for account, expected in kwh.items():
        assert figure(results, account) == pytest.approx(expected * 3.6e6, rel=1e-12)
    assert math.fsum(figure(results, a) for a in kwh) == pytest.approx(
        results.quantity("month", "energy").magnitude, rel=1e-12
    )


def test_a_figure_the_same_in_every_row_counts_once_per_row(tmp_path: Path) -> None:
    """Embodied carbon charged in full (no lifetime) is 100 kgCO2e in each of 5 rows: 500 kgCO2e seen from
    outside the job, in a figure, a total and a check alike, and the groups' shares add up to 1."""
    text = (
        "figure all = month.embodied\nfigure sum = total.embodied\n"
        'figure nlp = group(month.embodied, jobs.account, "nlp") / month.embodied\n'
        'check month.embodied > 450 kgCO2e, "five rows of 100 kgCO2e"\n'
    )
    results = scenario(tmp_path, text, job=JOB.replace("{ gpu = jobs.gpus }", "{ gpu = 1 }"))
    assert figure(results, "all") == pytest.approx(500.0)
    assert figure(results, "sum") == pytest.approx(500.0)
    assert figure(results, "nlp") == pytest.approx(2 / 5)


def test_a_bad_row_spoils_its_own_group_only(tmp_path: Path) -> None:
    rows = [("nlp", 8, 80.0), ("nlp", 0, 10.0), ("vision", 4, 8.0)]
    job = JOB.replace("duration = jobs.hours", "device_hours = jobs.hours")  # 0 GPUs: no duration in row 2
    text = 'figure vision = group(month.energy, jobs.account, "vision")\n'
    assert figure(scenario(tmp_path, text, rows, job), "vision") == pytest.approx(8 * 1000 * 3600)
    spoilt = scenario(tmp_path, 'figure nlp = group(month.energy, jobs.account, "nlp")\n', rows, job).derived["nlp"]
    assert isinstance(spoilt, Unknown) and spoilt.fault
    assert 'not a finite number in row 2, of the group account = "nlp"' in (spoilt.reason or "")


def test_a_group_of_a_job_in_an_imported_file(tmp_path: Path) -> None:
    scenario(tmp_path, "")
    (tmp_path / "main.nnci").write_text(
        'import "log" as log\nfigure nlp = group(log.month.energy, log.jobs.account, "nlp")\n', encoding="utf-8"
    )
    results = nnci.evaluate(nnci.load(tmp_path / "main.nnci"))
    assert figure(results, "nlp") == pytest.approx((1 * 2 + 2 * 1) * 1000 * 3600)


def test_a_name_matches_whichever_way_its_accents_are_written(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "été")
    results = scenario(tmp_path, 'figure e = group(month.energy, jobs.account, "été")\n', [(decomposed, 1, 1.0)])
    assert figure(results, "e") == pytest.approx(3.6e6)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_a_string_literal_reads_back_to_its_text(text: str) -> None:
    assert _string(string_literal(text)) == text


def test_a_division_by_zero_in_some_rows_of_a_field_leaves_the_other_groups_standing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`duration = jobs.hours * 4 / jobs.gpus` with 0 GPUs in one row: the run still prints, the group
    without that row has its figure (by hand: vision 4 × (3 h × 4 / 4) + 1 × (0.5 h × 4 / 1) kWh = 14
    kWh), the error comes after the results and the exit code is 1."""
    from nnci.cli import main

    rows = [("nlp", 0, 2.0), ("nlp", 2, 1.0), ("vision", 4, 3.0), ("vision", 1, 0.5)]
    scenario(tmp_path, "", rows, JOB.replace("duration = jobs.hours", "duration = jobs.hours * 4 / jobs.gpus"))
    assert main(["run", str(tmp_path / "log.nnci"), "--by", "jobs.account", "--format", "json"]) == 1
    captured = capsys.readouterr()
    groups = {g["group"]["account"]: g for g in json.loads(captured.out)["month"]}
    assert groups["vision"]["energy"]["value"] == pytest.approx(14.0)
    assert groups["nlp"]["energy"]["value"] is None
    assert "division by zero in row 1 (of 4)" in captured.err


def test_explaining_one_row_does_not_say_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.cli import main

    assert main(["explain", str(REPO / "models" / "cluster-job-log.nnci"), "month[17].energy"]) == 0
    assert "in each of" not in capsys.readouterr().out


def test_plain_numbers_without_a_unit_name_groups_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Slurm project id column (1001, 1002): `--by` shows the ids as written, and `group(..., "1001")`
    sums the same rows (by hand: 1 kW × (1 GPU × 2 h + 4 GPUs × 3 h) = 14 kWh)."""
    from nnci.cli import main

    (tmp_path / "jobs.csv").write_text("project,gpus,hours [h]\n1001,1,2\n1002,2,1\n1001,4,3\n", encoding="utf-8")
    job = JOB + 'figure p = group(month.energy, jobs.project, "1001")\n'
    (tmp_path / "log.nnci").write_text(job, encoding="utf-8")
    assert figure(nnci.evaluate(nnci.load(tmp_path / "log.nnci")), "p") == pytest.approx(14 * 3.6e6)
    assert main(["run", str(tmp_path / "log.nnci"), "--by", "jobs.project", "--format", "json"]) == 0
    groups = {g["group"]["project"]: g["energy"]["value"] for g in json.loads(capsys.readouterr().out)["month"]}
    assert groups == pytest.approx({"1001": 14.0, "1002": 2.0})
