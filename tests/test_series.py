"""Series values and jobs in time: every figure here is computed by hand in the test, or by brute force."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import StepProfile, step_profiles

import nnci
from nnci.diagnostics import NnciError
from nnci.engine import Derivation, Unknown
from nnci.evaluate import Results
from nnci.formatting import format_module
from nnci.parse import parse_module
from nnci.series_read import read_series
from nnci.timeparse import TimeError, format_instant, parse_duration, parse_instant

CASES = Path(__file__).resolve().parent / "cases" / "series"
HOURS = [100, 250, 400, 150, 300, 200]  # gCO2e/kWh from 2024-03-04T00:00Z, the fixtures' hours
G_PER_KWH = 1e-3 / 3.6e6  # one gCO2e/kWh in kgCO2e/J


def scenario(intensity: str, start: str = "2024-03-04T00:30Z", duration: str = "4 h", imports: str = "") -> str:
    return f"""nnci 0.1
{imports}
grid gb {{
  intensity = {intensity}
}}

datacenter dc {{
  pue = 1.0
  grid = gb
}}

device gpu {{
  power = 1000 W
}}

training run {{
  fleet = {{ gpu = 1 }}
  site = dc
  start = {start}
  duration = {duration}
}}
"""


def run_text(tmp_path: Path, text: str, *data: str) -> Results:
    for name in data:
        shutil.copy(CASES / name, tmp_path / name)
    path = tmp_path / "model.nnci"
    path.write_text(text, encoding="utf-8")
    return nnci.run(path)


def operational_kg(results: Results, job: str = "run") -> float:
    found = next(j for j in results.jobs if j.key.name == job)
    result = found.quantities["operational"]
    assert isinstance(result, Derivation), result
    return float(result.value.magnitude)


def inline(values: list[float], start: str = "2024-03-04T00:00Z", step: str = "1 h") -> str:
    return f"series({start}, {step}, " + ", ".join(f"{v} gCO2e/kWh" for v in values) + ")"


# -- instants ---------------------------------------------------------------------------------


def test_instants() -> None:
    assert parse_instant("1970-01-01T00:00Z") == 0.0
    assert parse_instant("2024-03-04T09:00Z") == 1709542800.0  # date -u -d 2024-03-04T09:00Z +%s
    assert parse_instant("2024-03-04T10:00+01:00") == parse_instant("2024-03-04T09:00Z")
    assert parse_instant("2024-03-04T04:00-0500") == parse_instant("2024-03-04T09:00Z")
    assert format_instant(1709542800.0) == "2024-03-04T09:00Z"
    assert parse_duration("1h") == 3600 and parse_duration("PT15M") == 900 and parse_duration("30 min") == 1800
    with pytest.raises(TimeError, match="no timezone"):
        parse_instant("2024-03-04T09:00")
    with pytest.raises(TimeError):
        parse_instant("2024-02-30T09:00Z")


def test_fmt_keeps_a_datetime_literal() -> None:
    text = scenario(inline([1, 2]), start="2024-03-04T00:30+01:00")
    module, problems = parse_module(text, "x.nnci")
    assert module is not None and not problems
    assert "start = 2024-03-04T00:30+01:00" in format_module(module, text)


# -- integration over the job's interval ------------------------------------------------------


def test_step_profile_with_partial_first_and_last_hours(tmp_path: Path) -> None:
    # 00:30 to 04:30 over hourly 100, 250, 400, 150, 300: ½·100 + 250 + 400 + 150 + ½·300 = 1000 g·h/kWh
    # at 1 kW: 1 kWh per hour, so 1000 g = 1 kg
    results = run_text(tmp_path, scenario(inline(HOURS)))
    assert operational_kg(results) == pytest.approx(1.0, rel=1e-12)


def test_sine_profile_against_minute_by_minute_sum(tmp_path: Path) -> None:
    values = [300 + 200 * math.sin(2 * math.pi * k / 24) for k in range(48)]
    start_minute, minutes = 75, 13 * 60 + 45  # 01:15 for 13 h 45 min: both ends fall inside an hour
    by_minute = sum(values[(start_minute + m) // 60] for m in range(minutes)) / 60  # g·h/kWh at 1 kW
    text = scenario(inline(values), start="2024-03-04T01:15Z", duration="825 min")
    assert operational_kg(run_text(tmp_path, text)) == pytest.approx(by_minute / 1000, rel=1e-12)


def test_half_hour_intervals(tmp_path: Path) -> None:
    # 30-minute values 100, 200, 300, 400; 00:15 to 01:45 = ¼ h·100 + ½·200 + ½·300 + ¼·400 = 375 g·h/kWh
    text = scenario(inline([100, 200, 300, 400], step="30 min"), start="2024-03-04T00:15Z", duration="90 min")
    assert operational_kg(run_text(tmp_path, text)) == pytest.approx(0.375, rel=1e-12)


def test_constant_series_reproduces_the_constant_exactly(tmp_path: Path) -> None:
    constant = operational_kg(run_text(tmp_path, scenario("429 gCO2e/kWh", duration="37 h")))
    series = operational_kg(run_text(tmp_path, scenario(inline([429] * 48), duration="37 h")))
    assert series == constant


def test_several_sites_pue_and_transport(tmp_path: Path) -> None:
    text = """nnci 0.1
grid hourly {
  intensity = series(2024-03-04T00:00Z, 1 h, 100 gCO2e/kWh, 300 gCO2e/kWh)
  transport = 0.8
}
grid flat {
  intensity = 50 gCO2e/kWh
}
datacenter a {
  pue = 1.2
  grid = hourly
}
datacenter b {
  pue = 1.5
  grid = flat
}
device gpu {
  power = 1000 W
}
training run {
  fleet = { gpu = 1 }
  site = { a = 60 %, b = 40 % }
  start = 2024-03-04T00:30Z
  duration = 1 h
}
"""
    # site a: 0.6 × 1.2 kWh at (½·100 + ½·300)/0.8 = 250 g/kWh → 180 g; site b: 0.4 × 1.5 kWh at 50 → 30 g
    assert operational_kg(run_text(tmp_path, text)) == pytest.approx(0.210, rel=1e-12)


def test_a_job_without_start_on_an_hourly_grid_is_unknown(tmp_path: Path) -> None:
    text = scenario(inline(HOURS)).replace("  start = 2024-03-04T00:30Z\n", "")
    results = run_text(tmp_path, text)
    result = results.jobs[0].quantities["operational"]
    assert isinstance(result, Unknown)
    assert "run.start" in result.missing


def test_a_start_on_a_constant_grid_changes_nothing(tmp_path: Path) -> None:
    results = run_text(tmp_path, scenario("429 gCO2e/kWh"))
    assert operational_kg(results) == pytest.approx(4 * 0.429, rel=1e-15)
    warnings = nnci.check(results.program)
    assert [w.code for w in warnings] == ["E204"] and "`run.start` changes nothing" in warnings[0].message
    assert warnings[0].span is not None and warnings[0].span.line == 19  # `start = ...`


# -- formats: the same numbers from every reader ----------------------------------------------


@pytest.mark.parametrize(
    ("file", "column"),
    [
        ("generic.csv", "carbon_intensity"),
        ("electricitymaps.csv", "carbon_intensity_direct"),
        ("electricitymaps-old.csv", "carbon_intensity_direct"),
        ("eia930.csv", "carbon_intensity"),
        ("carbon-aware.csv", "carbon_intensity"),
        ("uk-carbon-intensity.json", "actual"),
    ],
)
def test_every_format_gives_the_same_job_carbon(tmp_path: Path, file: str, column: str) -> None:
    text = scenario(f"data.{column}", imports=f'import "{file}" as data')
    assert operational_kg(run_text(tmp_path, text, file)) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("file", ["electricitymaps.csv", "electricitymaps-old.csv"])
def test_electricity_maps_life_cycle_column(file: str) -> None:
    table, problems = read_series((CASES / file).read_text(encoding="utf-8"), file)
    assert not problems and table is not None
    series = table.columns["carbon_intensity_lifecycle"]
    assert [round(v / G_PER_KWH, 9) for v in series.values] == [h + 40 for h in HOURS]
    assert series.start == parse_instant("2024-03-04T00:00Z") and series.step == 3600
    assert set(table.text) >= {"country", "zone_name", "zone_id", "data_source"}


def test_eia_labels_the_end_of_each_hour() -> None:
    table, problems = read_series((CASES / "eia930.csv").read_text(encoding="utf-8"), "eia930.csv")
    assert not problems and table is not None
    series = table.columns["co2_emissions_intensity_for_generated_electricity"]
    assert series.start == parse_instant("2024-03-04T00:00Z")  # 1:00 AM is the end of the first hour
    assert [v / G_PER_KWH for v in series.values] == pytest.approx(HOURS, rel=1e-12)  # lbs/MWh → g/kWh


def test_uk_json_forecast_and_half_hours() -> None:
    table, problems = read_series((CASES / "uk-carbon-intensity.json").read_text(encoding="utf-8"), "uk.json")
    assert not problems and table is not None
    forecast = table.columns["forecast"]
    assert forecast.step == 1800 and forecast.count == 12
    assert [v / G_PER_KWH for v in forecast.values[::2]] == pytest.approx([h + 5 for h in HOURS], rel=1e-12)
    assert table.ambiguous == ("actual", "forecast")


def test_carbon_intensity_is_ambiguous_in_an_electricity_maps_file(tmp_path: Path) -> None:
    text = scenario("data.carbon_intensity", imports='import "electricitymaps.csv" as data')
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text, "electricitymaps.csv")
    found = error.value.diagnostics[0]
    assert found.code == "E301"
    assert "data.carbon_intensity_direct" in (found.help or "") and "data.carbon_intensity_lifecycle" in (
        found.help or ""
    )


def test_empty_value_is_an_interval_without_data(tmp_path: Path) -> None:
    (tmp_path / "holes.csv").write_text(
        "timestamp,ci [gCO2e/kWh]\n2024-03-04T00:00Z,100\n2024-03-04T01:00Z,\n2024-03-04T02:00Z,300\n"
    )
    ok = scenario("data.ci", start="2024-03-04T02:00Z", duration="1 h", imports='import "holes.csv" as data')
    assert operational_kg(run_text(tmp_path, ok)) == pytest.approx(0.3, rel=1e-12)
    over = scenario("data.ci", start="2024-03-04T00:30Z", duration="1 h", imports='import "holes.csv" as data')
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, over)
    found = error.value.diagnostics[0]
    assert found.code == "E411"
    assert "no data for 2024-03-04T01:00Z–2024-03-04T01:30Z" in found.notes[0]


def test_an_interval_of_45_minutes_is_refused() -> None:
    text = "timestamp,ci [gCO2e/kWh]\n2024-03-04T00:00Z,1\n2024-03-04T00:45Z,2\n"
    table, problems = read_series(text, "odd.csv")
    assert table is None and problems[0].code == "E206" and problems[0].span is not None
    assert (problems[0].span.line, problems[0].span.column) == (3, 1)


# -- tables of jobs meet time -----------------------------------------------------------------


def test_job_log_rows_each_read_their_own_hours(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(
        "job,start,hours [h]\n"
        "a,2024-03-04T00:00Z,1\n"  # 100 g
        "b,2024-03-04T00:30Z,2\n"  # ½·100 + 250 + ½·400 = 500 g
        "c,2024-03-04T05:00+01:00,1.5\n"  # 04:00Z: 300 + ½·200 = 400 g
    )
    text = f"""nnci 0.1
import "log.csv" as log
grid gb {{
  intensity = {inline(HOURS)}
}}
datacenter dc {{
  pue = 1.0
  grid = gb
}}
device gpu {{
  power = 1000 W
}}
training month {{
  rows = log
  fleet = {{ gpu = 1 }}
  site = dc
  start = log.start
  duration = log.hours
}}
"""
    results = run_text(tmp_path, text)
    per_row = results.jobs[0].per_row["operational"]
    assert isinstance(per_row, Derivation)
    assert list(per_row.value.magnitude) == pytest.approx([0.1, 0.5, 0.4], rel=1e-12)
    assert operational_kg(results, "month") == pytest.approx(1.0, rel=1e-12)


def test_a_row_outside_the_data_is_located_at_its_cell(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("job,start,hours [h]\na,2024-03-04T00:00Z,1\nb,2024-03-04T05:30Z,1\n")
    text = scenario(inline(HOURS), start="log.start", duration="log.hours", imports='import "log.csv" as log')
    text = text.replace("training run {", "training run {\n  rows = log")
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text)
    found = error.value.diagnostics[0]
    assert found.code == "E411" and found.span is not None
    assert (Path(found.span.file).name, found.span.line, found.span.column) == ("log.csv", 3, 3)
    assert "row 2" in found.message


def test_a_start_cell_without_timezone_is_located(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("job,start,hours [h]\na,2024-03-04T00:00,1\n")
    text = scenario(inline(HOURS), start="log.start", duration="log.hours", imports='import "log.csv" as log')
    text = text.replace("training run {", "training run {\n  rows = log")
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text)
    found = error.value.diagnostics[0]
    assert found.code == "E305" and "no timezone" in found.message and found.span is not None
    assert (found.span.line, found.span.column) == (2, 3)


# -- the rest of the pipeline -----------------------------------------------------------------


def test_explain_json_shows_the_series_and_the_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from nnci.cli import main

    path = tmp_path / "model.nnci"
    path.write_text(scenario(inline(HOURS)), encoding="utf-8")
    assert main(["explain", str(path), "run.intensity", "--format", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["value"] == pytest.approx(250.0, rel=1e-12)  # (½·100 + 250 + 400 + 150 + ½·300) / 4 h
    found = {node["quantity"]: node for node in tree["inputs"]}
    assert found["run.start"]["value"] == "2024-03-04T00:30Z"
    series = found["dc.intensity"]["series"]
    assert (series["start"], series["end"], series["count"], series["min"], series["max"]) == (
        "2024-03-04T00:00Z", "2024-03-04T06:00Z", 6, 100.0, 400.0)  # fmt: skip


def test_an_implausible_hour_is_a_warning(tmp_path: Path) -> None:
    program_path = tmp_path / "model.nnci"
    program_path.write_text(scenario(inline([100, 2000, 300]), duration="2 h"), encoding="utf-8")
    warnings = nnci.check(nnci.load(program_path))
    assert [(w.code, w.severity) for w in warnings] == [("E402", "warning")]
    assert "reaches 2,000 gCO2e/kWh" in warnings[0].message


def test_the_bundled_profiles_are_what_the_tool_writes() -> None:
    import importlib.util

    tool = Path(__file__).resolve().parent.parent / "tools" / "make_grid_profiles.py"
    spec = importlib.util.spec_from_file_location("make_grid_profiles", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUTPUT.read_text(encoding="utf-8") == module.text()
    results = nnci.run(module.OUTPUT.parent / "carbon-aware-training.nnci")
    for name, tonnes in module.expected().items():  # summed hour by hour by the tool, not by nnci
        job = next(j for j in results.jobs if j.key.name == name.split(".")[0])
        result = job.quantities["operational"]
        assert isinstance(result, Derivation)
        assert float(result.value.magnitude) / 1000 == pytest.approx(tonnes, rel=1e-12)


def test_a_series_with_uncertain_transport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = scenario(inline(HOURS)).replace("}\n\ndatacenter", "  transport = uniform(0.8, 1.0)\n}\n\ndatacenter", 1)
    path = tmp_path / "model.nnci"
    path.write_text(text, encoding="utf-8")
    import json

    from nnci.cli import main

    assert main(["run", str(path), "--samples", "4000", "--seed", "3", "--format", "json"]) == 0
    samples = json.loads(capsys.readouterr().out)["blocks"]["run"]["operational"]["samples"]
    # 1 kg at τ = 1 (the step profile above), divided by τ ~ U(0.8, 1): median 1/0.9, 5th percentile 1/0.99
    assert samples["p50"] == pytest.approx(1 / 0.9, rel=0.01)
    assert samples["p5"] == pytest.approx(1 / 0.99, rel=0.01)


def test_a_power_profile_weights_the_hours(tmp_path: Path) -> None:
    # 1 kW-equivalent energy 2 kWh, drawn as 1 kW then 3 kW from 00:30: (½·100 + ½·250 + 3·(½·250 + ½·400)) / 4
    text = scenario(inline(HOURS), duration="2 h").replace(
        "  duration = 2 h\n", "  duration = 2 h\n  profile = series(2000-01-01T00:00Z, 1 h, 1 kW, 3 kW)\n"
    )
    expected = 2 * (0.5 * 100 + 0.5 * 250 + 3 * (0.5 * 250 + 0.5 * 400)) / 4 / 1000
    assert operational_kg(run_text(tmp_path, text)) == pytest.approx(expected, rel=1e-12)


def test_a_half_hourly_utilisation_profile_against_a_minute_sum(tmp_path: Path) -> None:
    utilisation = [60, 95, 90, 40, 100, 75, 85]  # %, every 30 min from the job's start
    text = scenario(inline(HOURS), start="2024-03-04T00:45Z", duration="200 min").replace(
        "  duration = 200 min\n",
        "  duration = 200 min\n  profile = series(2024-03-04T00:45Z, 30 min, "
        + ", ".join(f"{u} %" for u in utilisation) + ")\n",
    )  # fmt: skip
    weights = [utilisation[m // 30] for m in range(200)]
    alphas = [HOURS[(45 + m) // 60] for m in range(200)]
    mean = sum(w * a for w, a in zip(weights, alphas, strict=True)) / sum(weights)
    energy_kwh = 200 / 60
    assert operational_kg(run_text(tmp_path, text)) == pytest.approx(energy_kwh * mean / 1000, rel=1e-12)


def test_a_profile_shorter_than_the_job_is_located(tmp_path: Path) -> None:
    text = scenario(inline(HOURS), duration="3 h").replace(
        "  duration = 3 h\n", "  duration = 3 h\n  profile = series(2000-01-01T00:00Z, 1 h, 1 kW, 3 kW)\n"
    )
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text)
    found = error.value.diagnostics[0]
    assert found.code == "E411" and "longer than its power profile" in found.message


def test_an_unread_series_file_is_reported(tmp_path: Path) -> None:
    shutil.copy(CASES / "generic.csv", tmp_path / "generic.csv")
    path = tmp_path / "model.nnci"
    path.write_text(scenario("429 gCO2e/kWh", imports='import "generic.csv" as data'), encoding="utf-8")
    warnings = nnci.check(nnci.load(path))
    assert [(w.code, w.severity) for w in warnings] == [("E204", "warning"), ("E204", "warning")]
    assert "nothing reads it" in warnings[0].message
    assert "`run.start` changes nothing" in warnings[1].message  # the job's grid is constant


def test_a_null_actual_is_an_interval_without_data(tmp_path: Path) -> None:
    import json

    document = json.loads((CASES / "uk-carbon-intensity.json").read_text(encoding="utf-8"))
    document["data"][5]["intensity"]["actual"] = None  # 02:30 to 03:00, as the API answers for the future
    (tmp_path / "uk.json").write_text(json.dumps(document), encoding="utf-8")
    table, problems = read_series((tmp_path / "uk.json").read_text(encoding="utf-8"), "uk.json")
    assert not problems and table is not None
    assert math.isnan(table.columns["actual"].values[5]) and not math.isnan(table.columns["forecast"].values[5])
    text = scenario("uk.actual", imports='import "uk.json" as uk')
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text)
    assert "no data for 2024-03-04T02:30Z–2024-03-04T03:00Z" in error.value.diagnostics[0].notes[0]
    forecast = scenario("uk.forecast", imports='import "uk.json" as uk')
    assert operational_kg(run_text(tmp_path, forecast)) == pytest.approx(1.0 + 4 * 0.005, rel=1e-12)


def test_a_start_cell_with_an_impossible_date_is_located(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("job,start,hours [h]\na,2024-03-04T00:00Z,1\nb,2024-02-30T00:00Z,1\n")
    text = scenario(inline(HOURS), start="log.start", duration="log.hours", imports='import "log.csv" as log')
    text = text.replace("training run {", "training run {\n  rows = log")
    with pytest.raises(NnciError) as error:
        run_text(tmp_path, text)
    found = error.value.diagnostics[0]
    assert found.code == "E305" and found.span is not None and (found.span.line, found.span.column) == (3, 3)


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(step_profiles())
def test_the_integral_equals_the_minute_by_minute_sum(profile: StepProfile) -> None:
    import numpy as np

    from nnci.series import Series
    from nnci.units import INTENSITY

    series = Series("p", "p", 0.0, profile.step_minutes * 60.0, np.array(profile.values), INTENSITY, "")
    total, uncovered = series.integral(profile.first * 60.0, (profile.first + profile.length) * 60.0)
    assert not uncovered
    assert float(total) == pytest.approx(profile.minute_sum() * 60.0, rel=1e-12, abs=1e-9)
    mean, _ = series.mean(profile.first * 60.0, (profile.first + profile.length) * 60.0)
    assert min(profile.values) - 1e-9 <= float(mean) <= max(profile.values) + 1e-9


def test_a_job_log_over_two_clusters_one_hourly(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(
        "job,cluster,start,hours [h]\n"
        "a,hourly,2024-03-04T00:30Z,2\n"  # ½·100 + 250 + ½·400 = 500 g·h/kWh at 1 kW, PUE 1
        "b,flat,2030-01-01T00:00Z,2\n"  # 2 kWh × 1.5 PUE at 50 g/kWh: the hourly data does not matter here
        "c,hourly,2024-03-04T04:00Z,1\n"  # 300 g
    )
    text = f"""nnci 0.1
import "log.csv" as log
grid gh {{
  intensity = {inline(HOURS)}
}}
grid gf {{
  intensity = 50 gCO2e/kWh
}}
datacenter hourly {{
  pue = 1.0
  grid = gh
}}
datacenter flat {{
  pue = 1.5
  grid = gf
}}
device gpu {{
  power = 1000 W
}}
training month {{
  rows = log
  fleet = {{ gpu = 1 }}
  site = log.cluster
  start = log.start
  duration = log.hours
}}
"""
    per_row = run_text(tmp_path, text).jobs[0].per_row["operational"]
    assert isinstance(per_row, Derivation)
    assert list(per_row.value.magnitude) == pytest.approx([0.5, 0.15, 0.3], rel=1e-12)


FIXTURES = sorted(p.name for p in CASES.iterdir())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FIXTURES),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 4), st.sampled_from(list(',\n"Z:-.0a '))), max_size=6),
)
def test_damaged_series_files_give_diagnostics_never_a_traceback(name: str, edits: list[tuple[int, int, str]]) -> None:
    text = (CASES / name).read_text(encoding="utf-8")
    for position, width, char in edits:
        at = position % (len(text) + 1)
        text = text[:at] + char + text[at + width :]
    table, problems = read_series(text, name)
    assert (table is None) == any(p.severity == "error" for p in problems)
    for problem in problems:
        assert problem.span is None or problem.span.line >= 1
