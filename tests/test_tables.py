"""Jobs over tables: `rows = jobs`, cells as values, text columns naming blocks, --rows, --by, explain a row.

Expected values are hand calculations written here: energy = n × P × Δt × PUE, carbon = energy × α.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnci
from nnci.cli import main
from nnci.diagnostics import NnciError

JOBS = """job,account,cluster,gpus,hours [h]
a,nlp,east,8,10
b,vision,west,16,2.5
c,nlp,west,4,100
"""

SCENARIO = """nnci 0.1
import "jobs.csv" as jobs

grid g1 {
  intensity = 400 gCO2e/kWh
}
grid g2 {
  intensity = 100 gCO2e/kWh
}
device gpu {
  power = 300 W
  embodied = 150 kgCO2e
  lifetime = 5 years
}
datacenter east {
  pue = 1.2
  grid = g1
}
datacenter west {
  pue = 1.1
  grid = g2
}
training nightly {
  rows = jobs
  fleet = { gpu = jobs.gpus }
  site = jobs.cluster
  duration = jobs.hours
}
"""

YEAR_H = 365.25 * 24
# (gpus, hours, pue, gCO2e/kWh) per row
ROWS = [(8, 10.0, 1.2, 400.0), (16, 2.5, 1.1, 100.0), (4, 100.0, 1.1, 100.0)]
ENERGY = [n * 0.3 * h * pue for n, h, pue, _ in ROWS]  # kWh
OPERATIONAL = [e * a / 1000 for e, (_, _, _, a) in zip(ENERGY, ROWS, strict=True)]  # kgCO2e
EMBODIED = [n * 150 * h / (5 * YEAR_H) for n, h, _, _ in ROWS]  # kgCO2e, amortised


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def scenario(tmp_path: Path, text: str = SCENARIO, table: str = JOBS) -> str:
    (tmp_path / "jobs.csv").write_text(table)
    path = tmp_path / "log.nnci"
    path.write_text(text)
    return str(path)


def test_a_job_over_a_table_sums_its_rows(tmp_path: Path) -> None:
    results = nnci.run(scenario(tmp_path))
    (job,) = results.jobs
    assert job.rows == 3
    assert job.quantities["energy"].value.to("kWh") == pytest.approx(sum(ENERGY), rel=1e-12)  # type: ignore[union-attr]
    assert job.quantities["operational"].value.to("kgCO2e") == pytest.approx(sum(OPERATIONAL), rel=1e-12)  # type: ignore[union-attr]
    assert job.quantities["embodied"].value.to("kgCO2e") == pytest.approx(sum(EMBODIED), rel=1e-12)  # type: ignore[union-attr]
    assert results.total["total"].value.to("kgCO2e") == pytest.approx(sum(OPERATIONAL) + sum(EMBODIED), rel=1e-12)  # type: ignore[union-attr]


def test_run_rows_gives_one_result_row_per_input_row(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--rows", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["job"] for r in rows] == ["a", "b", "c"]
    assert list(rows[0])[:6] == ["row", "job", "account", "cluster", "gpus", "hours [h]"]
    for row, energy, operational in zip(rows, ENERGY, OPERATIONAL, strict=True):
        assert float(row["energy [kWh]"]) == pytest.approx(energy, rel=1e-12)
        assert float(row["operational [kgCO2e]"]) == pytest.approx(operational, rel=1e-12)


def test_run_rows_json_gives_values_with_units(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--rows", "--format", "json")
    assert code == 0
    rows = json.loads(out)["nightly"]
    assert rows[1]["row"] == 2 and rows[1]["input"]["job"] == "b"
    assert rows[1]["input"]["hours"] == {"value": 2.5, "unit": "h"}
    assert rows[1]["energy"]["unit"] == "kWh"
    assert rows[1]["energy"]["value"] == pytest.approx(ENERGY[1], rel=1e-12)


def test_run_by_a_text_column_totals_each_group(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--by", "jobs.account", "--format", "json")
    assert code == 0
    groups = {g["group"]["account"]: g for g in json.loads(out)["nightly"]}
    assert groups["nlp"]["rows"] == 2 and groups["vision"]["rows"] == 1
    assert groups["nlp"]["energy"]["value"] == pytest.approx(ENERGY[0] + ENERGY[2], rel=1e-12)
    assert groups["vision"]["operational"]["value"] == pytest.approx(OPERATIONAL[1], rel=1e-12)


def test_run_by_two_columns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "run", scenario(tmp_path), "--by", "jobs.account", "--by", "jobs.cluster", "--format", "csv"
    )
    assert code == 0
    *rows, total = list(csv.DictReader(io.StringIO(out)))
    assert [(r["account"], r["cluster"]) for r in rows] == [("nlp", "east"), ("nlp", "west"), ("vision", "west")]
    assert total["account"] == "total" and total["rows"] == "3"
    assert float(total["energy [kWh]"]) == pytest.approx(sum(ENERGY), rel=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "jobs.hours"], "is not a column of `jobs` that names groups"),
        (["--by", "nope.account"], "is not TABLE.COLUMN"),
    ],
)
def test_by_names_a_column_of_names_or_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "run", scenario(tmp_path), *args)
    assert code == 2 and message in err


def test_explain_replays_one_row(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "explain", scenario(tmp_path), "nightly[3].energy", "--format", "json")
    assert code == 0
    tree = json.loads(out)
    assert tree["row"] == 3 and tree["at"].endswith("jobs.csv:4:1")
    assert tree["value"] == pytest.approx(ENERGY[2], rel=1e-12)
    code, out, _ = run(capsys, "explain", scenario(tmp_path), "nightly[3].energy")
    assert out.splitlines()[0].startswith("nightly[3]: row 3 of") and "jobs.csv:4:1" in out.splitlines()[0]


def test_explain_of_a_row_that_does_not_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "explain", scenario(tmp_path), "nightly[4].energy")
    assert code == 2 and "rows 1 to 3" in err


def test_explain_of_the_sum_over_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "explain", scenario(tmp_path), "nightly.energy")
    assert code == 0
    assert out.startswith("nightly.energy = Σ 174 kWh over 3 rows")


def errors(path: str) -> str:
    with pytest.raises(NnciError) as caught:
        nnci.run(path)
    return str(caught.value)


def test_unknown_datacenter_names_are_one_diagnostic_with_rows(tmp_path: Path) -> None:
    table = JOBS + "d,nlp,north,1,1\ne,nlp,north,1,1\nf,nlp,mars,1,1\n"
    text = errors(scenario(tmp_path, table=table))
    assert "E300" in text and "names 2 unknown datacenter(s)" in text
    assert "`north` in rows 4, 5, first at " in text and "jobs.csv:5:7" in text  # row 4 is line 5
    assert "`mars` in row 6, first at " in text and "jobs.csv:7:7" in text


def test_an_empty_cell_naming_a_datacenter_is_said_to_be_empty_where_it_stands(tmp_path: Path) -> None:
    with pytest.raises(NnciError) as caught:
        nnci.run(scenario(tmp_path, table=JOBS + "d,nlp,,1,1\n"))
    found = next(d for d in caught.value.diagnostics if d.code == "E300")
    assert " ".join(found.notes).startswith("an empty cell in row 4, first at ")
    assert [(label, Path(span.file).name, span.line, span.column) for label, span in found.related] == [
        ("an empty cell", "jobs.csv", 5, 7)
    ]


def test_a_column_outside_a_job_over_its_table(tmp_path: Path) -> None:
    text = SCENARIO.replace("  power = 300 W\n", "  power = jobs.gpus * 1 W\n")
    assert "only a job over that table has rows" in errors(scenario(tmp_path, text))


def test_an_unknown_column_says_which_exist(tmp_path: Path) -> None:
    text = SCENARIO.replace("duration = jobs.hours", "duration = jobs.hour")
    message = errors(scenario(tmp_path, text))
    assert "table `jobs` has no column `hour`" in message and "did you mean `hours`" in message


def test_a_numeric_column_cannot_name_sites(tmp_path: Path) -> None:
    text = SCENARIO.replace("site = jobs.cluster", "site = jobs.gpus")
    assert "is a numeric column" in errors(scenario(tmp_path, text))


def test_a_text_column_is_not_a_number(tmp_path: Path) -> None:
    text = SCENARIO.replace("duration = jobs.hours", "duration = jobs.account")
    assert "is a text column" in errors(scenario(tmp_path, text))


def test_rows_must_name_a_table(tmp_path: Path) -> None:
    text = SCENARIO.replace("rows = jobs", "rows = east")
    assert "`rows` names an imported table" in errors(scenario(tmp_path, text))


def test_a_value_out_of_range_names_the_rows_and_cells(tmp_path: Path) -> None:
    table = JOBS.replace("c,nlp,west,4,100", "c,nlp,west,4,-100")
    message = errors(scenario(tmp_path, table=table))
    assert "E402" in message and "`duration` is out of range in row 3 (of 3): cannot be negative" in message
    assert "jobs.csv:4:" in message


def test_a_division_by_zero_in_one_row_is_located_and_unknown(tmp_path: Path) -> None:
    table = "gpus,gpu_hours [h]\n8,80\n0,10\n4,8\n"
    text = SCENARIO.replace("site = jobs.cluster", "site = east").replace(
        "duration = jobs.hours", "device_hours = jobs.gpu_hours"
    )
    results = nnci.run(scenario(tmp_path, text, table))
    energy = results.jobs[0].quantities["energy"]
    assert isinstance(energy, nnci.engine.Unknown)
    assert energy.reason is not None and "row 2 (of 3)" in energy.reason


def test_evaluating_copies_as_a_table_equals_evaluating_each_alone(tmp_path: Path) -> None:
    """The property of issue 7 on fixed data: each row of a table equals the same job written alone."""
    check_copies(tmp_path, [(8, 10.0, "east"), (16, 2.5, "west"), (4, 100.0, "west"), (1, 0.5, "east")])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.floats(0, 10_000, allow_nan=False, exclude_min=True),
            st.sampled_from(["east", "west"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_rows_equal_separate_jobs(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, float, str]]) -> None:
    check_copies(tmp_path_factory.mktemp("copies"), rows)


def check_copies(folder: Path, rows: list[tuple[int, float, str]]) -> None:
    table = "gpus,hours [h],cluster\n" + "".join(f"{n},{h!r},{c}\n" for n, h, c in rows)
    over_table = nnci.run(scenario(folder, SCENARIO.replace("site = jobs.cluster", "site = jobs.cluster"), table))
    head = SCENARIO.split("training nightly", 1)[0].replace('import "jobs.csv" as jobs\n', "")
    jobs = "".join(
        f"training j{i} {{\n  fleet = {{ gpu = {n} }}\n  site = {c}\n  duration = {h!r} h\n}}\n"
        for i, (n, h, c) in enumerate(rows)
    )
    alone = folder / "alone.nnci"
    alone.write_text(head + jobs)
    separate = nnci.run(str(alone))
    for name in ("energy", "operational", "embodied", "total"):
        per_row = over_table.jobs[0].per_row[name].value.magnitude  # type: ignore[union-attr]
        for i, job in enumerate(separate.jobs):
            expected = job.quantities[name].value.magnitude  # type: ignore[union-attr]
            got = per_row[i] if getattr(per_row, "ndim", 0) else per_row
            assert got == expected, (name, i)


def test_a_text_column_may_name_fleets(tmp_path: Path) -> None:
    """`fleet = jobs.partition`: each row counts the devices of the fleet its cell names."""
    text = SCENARIO.replace(
        "datacenter east {",
        "device host {\n  power = 100 W\n}\nfleet small {\n  devices = { gpu = 1, host = 1 }\n}\n"
        "fleet big {\n  devices = { gpu = 8, host = 2 }\n}\ndatacenter east {",
    ).replace("fleet = { gpu = jobs.gpus }", "fleet = jobs.partition")
    table = "partition,cluster,hours [h]\nsmall,east,10\nbig,west,2\nsmall,west,1\n"
    results = nnci.run(scenario(tmp_path, text, table))
    energy = results.jobs[0].per_row["energy"].value.to("kWh")  # type: ignore[union-attr]
    expected = [(300 + 100) * 10 * 1.2 / 1000, (8 * 300 + 2 * 100) * 2 * 1.1 / 1000, (300 + 100) * 1 * 1.1 / 1000]
    assert list(energy) == pytest.approx(expected, rel=1e-12)


def test_a_fleet_named_by_rows_lists_its_devices_only(tmp_path: Path) -> None:
    text = SCENARIO.replace(
        "datacenter east {", "fleet small {\n  devices = { gpu = 1 }\n  power = 5 W\n}\ndatacenter east {"
    ).replace("fleet = { gpu = jobs.gpus }", "fleet = jobs.account")
    table = "account,cluster,hours [h]\nsmall,east,10\n"
    assert "must list its devices and nothing else" in errors(scenario(tmp_path, text, table))


def amend_scenario(tmp_path: Path, amend: str) -> str:
    (tmp_path / "other.csv").write_text("job,account,cluster,gpus,hours [h]\nx,nlp,east,1,1\ny,nlp,west,2,2\n")
    text = SCENARIO.replace('import "jobs.csv" as jobs\n', 'import "jobs.csv" as jobs\nimport "other.csv" as other\n')
    return scenario(tmp_path, text + amend)


def test_an_amend_over_another_table_reads_its_cells(tmp_path: Path) -> None:
    """`u = nightly { rows = other }` reads every column nightly reads from `other`, by name."""
    path = amend_scenario(tmp_path, "training u = nightly {\n  rows = other\n  site = other.cluster\n}\n")
    results = nnci.run(path)
    u = next(job for job in results.jobs if str(job.key) == "u")
    energy = u.per_row["energy"].value.to("kWh")  # type: ignore[union-attr]
    assert list(energy) == pytest.approx([1 * 0.3 * 1 * 1.2, 2 * 0.3 * 2 * 1.1], rel=1e-12)


def test_an_amend_over_another_table_must_choose_sites_again(tmp_path: Path) -> None:
    path = amend_scenario(tmp_path, "training u = nightly {\n  rows = other\n}\n")
    assert "must choose its blocks per row again" in errors(path)


def test_an_amend_keeps_its_base_table(tmp_path: Path) -> None:
    path = amend_scenario(tmp_path, "training u = nightly {\n  duration = jobs.hours * 2\n}\n")
    results = nnci.run(path)
    u = next(job for job in results.jobs if str(job.key) == "u")
    assert u.rows == 3
    assert u.quantities["energy"].value.to("kWh") == pytest.approx(2 * sum(ENERGY), rel=1e-12)  # type: ignore[union-attr]


def test_a_quantity_that_differs_by_row_is_not_read_from_elsewhere(tmp_path: Path) -> None:
    job = "training u {\n  fleet = { gpu = 1 }\n  site = east\n  duration = nightly.duration\n}\n"
    assert "`nightly.duration` differs by row" in errors(scenario(tmp_path, SCENARIO + job))


def test_a_column_of_another_table_is_named_as_such(tmp_path: Path) -> None:
    path = amend_scenario(tmp_path, "")
    text = Path(path).read_text().replace("duration = jobs.hours", "duration = other.hours")
    Path(path).write_text(text)
    assert "is a column of `" in errors(path) and "but this job's rows are those of" in errors(path)


def test_a_typo_in_a_numeric_column_is_located_at_its_cell(tmp_path: Path) -> None:
    table = JOBS.replace("b,vision,west,16,2.5", "b,vision,west,sixteen,2.5")
    message = errors(scenario(tmp_path, table=table))
    assert "jobs.csv:3:15" in message and "`sixteen` is not a number" in message


def test_a_broken_table_is_reported_once(tmp_path: Path) -> None:
    table = JOBS.replace("b,vision,west,16,2.5", "b,vision,west,,2.5")
    message = errors(scenario(tmp_path, table=table))
    assert "unknown name" not in message and "jobs.csv:3:" in message


def test_a_row_that_fails_leaves_the_other_rows_and_groups_known(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = "account,gpus,gpu_hours [h]\na,8,80\nb,0,10\na,4,8\n"
    text = SCENARIO.replace("site = jobs.cluster", "site = east").replace(
        "duration = jobs.hours", "device_hours = jobs.gpu_hours"
    )
    path = scenario(tmp_path, text, table)
    code, out, err = run(capsys, "run", path, "--rows", "--format", "json")
    assert code == 1 and "E405" in err and "row 2 (of 3)" in err
    rows = json.loads(out)["nightly"]
    assert rows[0]["energy"]["value"] == pytest.approx(8 * 0.3 * 10 * 1.2, rel=1e-12)  # 80 GPU-h over 8 GPUs
    assert rows[1]["energy"]["value"] is None
    assert rows[2]["energy"]["value"] == pytest.approx(4 * 0.3 * 2 * 1.2, rel=1e-12)
    code, out, _ = run(capsys, "run", path, "--by", "jobs.account", "--format", "json")
    groups = {g["group"]["account"]: g for g in json.loads(out)["nightly"]}
    assert groups["a"]["energy"]["value"] == pytest.approx(28.8 + 2.88, rel=1e-12)
    assert groups["b"]["energy"]["value"] is None


def test_compare_on_a_job_over_a_table_compares_its_sums(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "compare", scenario(tmp_path), "nightly")
    assert code == 0 and "nnci (default)" in out and "0.174 MWh" in out


def test_input_columns_named_like_results_hide_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = "row,energy [kWh],cluster,gpus,hours [h]\n7,1,east,8,10\n"
    code, out, _ = run(capsys, "run", scenario(tmp_path, table=table), "--rows", "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert code == 0 and header[:3] == ["row", "input.row", "input.energy [kWh]"] and len(set(header)) == len(header)
    code, out, _ = run(capsys, "run", scenario(tmp_path, table=table), "--rows", "--format", "json")
    (row,) = json.loads(out)["nightly"]
    assert code == 0
    assert row["row"] == 1 and row["input"]["row"] == 7 and row["input"]["energy"]["value"] == 1
    assert row["energy"]["value"] == pytest.approx(8 * 0.3 * 10 * 1.2, rel=1e-12)


def test_a_bad_cell_in_a_column_no_job_reads_is_harmless(tmp_path: Path) -> None:
    table = "job,exit_code,cluster,gpus,hours [h]\na,0,east,8,10\nb,,west,16,2.5\n"
    results = nnci.run(scenario(tmp_path, table=table))
    assert results.jobs[0].rows == 2
    text = SCENARIO.replace("duration = jobs.hours", "duration = jobs.hours + jobs.exit_code * 1 h")
    message = errors(scenario(tmp_path, text, table))
    assert "row 2, column `exit_code`: the cell is empty" in message and "jobs.csv:3:3" in message


@pytest.mark.parametrize(("alias", "message"), [("total", "`total` is reserved"), ("east", "also the name of a block")])
def test_an_alias_may_not_hide_a_name(tmp_path: Path, alias: str, message: str) -> None:
    text = SCENARIO.replace("as jobs\n", f'as jobs\nimport "jobs.csv" as {alias}\n')
    assert message in errors(scenario(tmp_path, text))


def test_a_table_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "elsewhere.csv").write_text(JOBS)
    path = project / "log.nnci"
    path.write_text(SCENARIO.replace('"jobs.csv"', '"../elsewhere.csv"'))
    message = errors(str(path))
    assert "E104" in message and "unknown name" not in message
    results = nnci.run(str(path), allow_imports=[tmp_path])
    assert results.jobs[0].rows == 3


def test_a_column_without_its_unit_says_where_the_unit_goes(tmp_path: Path) -> None:
    message = errors(scenario(tmp_path, table=JOBS.replace("hours [h]", "hours")))
    assert "`duration` expects time, found a pure number" in message and "`hours [h]`" in message


def test_a_table_named_as_a_scenario_says_how_to_use_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario(tmp_path)
    code, _, err = run(capsys, "run", str(tmp_path / "jobs.csv"))
    assert code == 1 and "is a table, not a scenario" in err and 'import "jobs.csv" as jobs' in err


def test_rows_and_by_together_show_both(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--rows", "--by", "jobs.account", "--format", "json")
    assert code == 0
    found = json.loads(out)
    assert [r["input"]["job"] for r in found["nightly"]] == ["a", "b", "c"]
    groups = {g["group"]["account"]: g for g in found["nightly by account"]}
    assert groups["nlp"]["rows"] == 2
    assert groups["nlp"]["energy"]["value"] == pytest.approx(ENERGY[0] + ENERGY[2], rel=1e-12)
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--rows", "--by", "jobs.account")
    assert code == 0 and "nightly:" in out and re.search(r"nightly by account:\n *account +rows +energy", out), out
    code, out, err = run(capsys, "run", scenario(tmp_path), "--rows", "--by", "jobs.account", "--format", "csv")
    assert code == 2 and out == "" and "a CSV file holds one table" in err


def test_by_labels_a_group_of_empty_cells(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = JOBS + "d,,east,2,1\ne,,west,1,3\n"  # two jobs of no account
    code, out, _ = run(capsys, "run", scenario(tmp_path, table=table), "--by", "jobs.account")
    assert code == 0
    lines = out.splitlines()
    empty = next(line for line in lines if line.lstrip().startswith("(empty)"))
    assert empty.split()[1] == "2"  # rows d and e
    # rows d and e: 2 × 0.3 kW × 1 h × 1.2 + 1 × 0.3 kW × 3 h × 1.1
    assert float(empty.split()[2]) == pytest.approx(2 * 0.3 * 1 * 1.2 + 0.3 * 3 * 1.1, rel=1e-6)
    assert "note: (empty): 2 rows have an empty `account` cell" in out
    code, out, _ = run(capsys, "run", scenario(tmp_path, table=table), "--by", "jobs.account", "--format", "json")
    groups = {g["group"]["account"]: g["rows"] for g in json.loads(out)["nightly"]}
    assert groups == {"": 2, "nlp": 2, "vision": 1}  # JSON keeps the cell as it is


def test_explaining_a_total_over_a_job_of_rows_shows_the_rows_derivation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The sum is not said to be the value of each row, and the job's own derivation is shown beneath
    the total, not marked `derived above` (a breaker's finding)."""
    (tmp_path / "jobs.csv").write_text("id,gpus,hours [h]\n1,8,10\n2,3,9\n3,1,2\n")
    (tmp_path / "s.nnci").write_text(
        'nnci 0.1\nimport "jobs.csv" as jobs\ndevice gpu {\n  power = 300 W\n}\ndatacenter dc {\n  pue = 1.1\n}\n'
        "training m {\n  rows = jobs\n  fleet = { gpu = jobs.gpus }\n  site = dc\n  duration = jobs.hours\n}\n"
    )
    code, out, _ = run(capsys, "explain", str(tmp_path / "s.nnci"), "total.energy")
    energy = 1.1 * 300 * (8 * 10 + 3 * 9 + 1 * 2) / 1000  # kWh: PUE × P × Σ n·Δt
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"total.energy = {energy:.2f} kWh"
    assert lines[1].startswith(f"└─ m.energy = Σ {energy:.2f} kWh over 3 rows   [nn-et")
    assert "in each of" not in lines[1] and "derived above" not in out
    assert any(line.strip(" │├└─").startswith("m.pue = 1.1 in each of 3 rows") for line in lines)


def test_a_table_separated_by_semicolons_is_told_to_use_commas(tmp_path: Path) -> None:
    (tmp_path / "jobs.csv").write_text("id;gpus;hours [h]\n1;8;10\n")
    (tmp_path / "s.nnci").write_text('nnci 0.1\nimport "jobs.csv" as jobs\n')
    with pytest.raises(NnciError) as raised:
        nnci.load(tmp_path / "s.nnci")
    found = raised.value.diagnostics[0]
    assert found.code == "E100" and "separated by commas" in (found.help or "") and "`;`" in (found.help or "")


def test_run_rows_shows_the_figures_show_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--show` with `--rows` picks the figures of each row (a breaker found it ignored)."""
    code, out, _ = run(capsys, "run", scenario(tmp_path), "--rows", "--show", "duration,energy", "--format", "csv")
    header = next(csv.reader(io.StringIO(out)))
    assert code == 0 and header[-2:] == ["duration [h]", "energy [kWh]"] and "total [kgCO2e]" not in header


def test_explaining_a_tables_column_says_what_to_explain_instead(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "explain", scenario(tmp_path), "jobs.hours")
    assert code == 2 and "`jobs` is an imported table (" in err and "jobs.csv), not a block" in err
    assert "one row: `nightly[1].energy`" in err


def test_a_column_named_like_a_field_that_nothing_reads_is_said(tmp_path: Path) -> None:
    """`energy [kWh]` beside the derived energy looked used (a breaker's finding): said at its header cell."""
    table = "job,account,cluster,gpus,hours [h],energy [kWh]\na,nlp,east,8,10,99\nb,vision,west,16,2.5,1\n"
    program = nnci.load(scenario(tmp_path, table=table))
    found = [d for d in program.warnings if d.code == "E204"]
    assert [d.message for d in found] == [
        "column `energy` of `jobs` is named like a field of a job, but no field reads it"
    ]
    assert found[0].span is not None and Path(found[0].span.file).name == "jobs.csv" and found[0].span.line == 1
