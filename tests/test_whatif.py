"""`--set`, `nnci sweep` and `nnci diff`, checked against runs of amended files and hand calculations.

Golden cases for their diagnostics live in `tests/cases/set/`: the first line lists the codes, a
line `# args: ...` the options, `# command: ...` the command (default `run`). Regenerate the .out
files with `NNCI_UPDATE_GOLDEN=1`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
from pathlib import Path

import pytest
from strategies import ONE_JOB

from nnci import api, sweep
from nnci.cli import main
from nnci.diagnostics import NnciError

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "models" / "nnci-demo.nnci"
UPDATE = os.environ.get("NNCI_UPDATE_GOLDEN") == "1"
LOCATION = re.compile(r"^  --> (?P<file>.+?):(?P<line>\d+):(?P<column>\d+)$", re.M)
CASES = sorted((REPO / "tests" / "cases" / "set").glob("*.nnci"))
GRIDS = {"grids.usa_2023": 369.473, "grids.fra_2023": 56.039, "grids.deu_2023": 380.95}  # gCO2e/kWh, std/grids


def header(path: Path, name: str) -> str | None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"# {name}: "):
            return line.removeprefix(f"# {name}: ")
    return None


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_set_and_vary_diagnostics(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    rel = path.relative_to(REPO).as_posix()
    args = shlex.split(header(path, "args") or "")
    code = main([header(path, "command") or "run", rel, *args])
    captured = capsys.readouterr()
    output = captured.err if code else captured.err + "\n(exit 0)\n"
    expected = path.with_suffix(".out")
    if UPDATE:
        expected.write_text(output, encoding="utf-8")
    assert output == expected.read_text(encoding="utf-8")
    assert "Traceback" not in output
    for diagnostic_code in (header(path, "codes") or "").split():
        assert f"[{diagnostic_code}]" in output, diagnostic_code
    locations = [m["file"] for m in LOCATION.finditer(output)]
    assert locations and any(f in ("--set", "--vary") for f in locations), "each points at the argument"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["run", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def amended(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def figures(document: dict) -> dict[tuple[str, str], float]:
    found = {("total", q): v["value"] for q, v in document["total"].items()}
    for block, entry in document["blocks"].items():
        found.update({(block, q): v["value"] for q, v in entry.items() if isinstance(v, dict) and "value" in v})
    return found


# -- --set -------------------------------------------------------------------------------------


def test_set_equals_the_amended_file_and_the_hand_calculation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DEMO.read_text(encoding="utf-8")
    edited = amended(tmp_path, "demo.nnci", text.replace("  power = 300 W\n", "  power = 350 W\n", 1))
    by_set = run_json(capsys, str(DEMO), "--set", "gpu.power=350W")
    by_file = run_json(capsys, str(edited))
    assert figures(by_set) == figures(by_file)
    # PUE × (10,000 × 350 W + 625 × 250 W) × 360 h
    assert by_set["blocks"]["gpt3_training"]["energy"]["value"] == pytest.approx(1.1 * 3_656_250 * 360 / 1000)


def test_set_a_grid_from_the_standard_library_without_an_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grids.fra_2023` in a value imports std/grids as `grids` for that file, as an import line would."""
    text = DEMO.read_text(encoding="utf-8").replace("nnci 0.1\n", 'nnci 0.1\nimport "std/grids" as grids\n', 1)
    edited = amended(tmp_path, "demo.nnci", text.replace("grid = datacenter_grid", "grid = grids.fra_2023"))
    by_set = run_json(capsys, str(DEMO), "--set", "dc.grid=grids.fra_2023")
    assert figures(by_set) == figures(run_json(capsys, str(edited)))
    energy = by_set["total"]["energy"]["value"]
    assert by_set["total"]["operational"]["value"] == pytest.approx(energy * 56.039 / 1000)  # τ = 1 in std/grids


def test_set_flows_into_what_is_derived_from_it(capsys: pytest.CaptureFixture[str]) -> None:
    """The override is late-bound: the GPU factory's grid feeds each GPU's embodied carbon."""
    document = run_json(capsys, str(DEMO), "--set", "gpu_factory.intensity=700gCO2e/kWh")
    # 10,000 GPUs × 1000 kWh × 700 g/kWh / 0.95, plus 625 servers × 900 kWh × 534 g/kWh / 0.95
    expected = (10_000 * 1000 * 0.700 + 625 * 900 * 0.534) / 0.95
    assert document["blocks"]["gpt3_training"]["embodied"]["value"] == pytest.approx(expected)


def test_set_twice_is_an_error_at_the_second(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO), "--set", "dc.pue=1.2", "--set", "dc.pue=1.3"]) == 1
    err = capsys.readouterr().err
    assert "error[E203]: `dc.pue` is set twice" in err and "--> --set:2:4" in err


def test_set_in_the_api_raises_located_errors() -> None:
    with pytest.raises(NnciError) as raised:
        api.load(DEMO, overrides=["dc.pue=fast"])
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.code == "E300" and diagnostic.span is not None and diagnostic.span.file == "--set"
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 8)


# -- sweep -------------------------------------------------------------------------------------


def test_sweep_over_three_grids_equals_three_runs_with_amended_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DEMO.read_text(encoding="utf-8").replace("nnci 0.1\n", 'nnci 0.1\nimport "std/grids" as grids\n', 1)
    expected = {}
    for grid in GRIDS:
        path = amended(tmp_path, f"{grid}.nnci", text.replace("grid = datacenter_grid", f"grid = {grid}"))
        expected[grid] = run_json(capsys, str(path))["total"]
    assert main(["sweep", str(DEMO), "--vary", "dc.grid=" + ",".join(GRIDS), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["combinations"]
    assert [r["values"]["dc.grid"] for r in rows] == sorted(GRIDS, key=lambda g: expected[g]["total"]["value"])
    for row in rows:
        total = expected[row["values"]["dc.grid"]]
        for name in ("energy", "operational", "embodied", "total"):
            assert row[name] == total[name], (row["values"], name)


def test_sweep_of_two_axes_is_every_combination_by_hand() -> None:
    powers = {"300W": 300.0, "350W": 350.0, "400W": 400.0}
    result = sweep.run([DEMO], ["dc.grid=" + ",".join(GRIDS), "gpu.power=" + ",".join(powers)])
    assert len(result.combinations) == 9
    seen = set()
    for combination in result.combinations:
        grid, power = combination.texts(result.axes)
        seen.add((grid, power))
        it_power = 10_000 * powers[power] + 625 * 250 + 3620 * 250 * 24 / 360  # W; queries: 24 of 360 h
        energy = 1.1 * it_power * 360 * 3600  # J
        assert combination.total["energy"].value.magnitude == pytest.approx(energy)
        operational = energy / 3.6e6 * GRIDS[grid] / 1000  # kgCO2e
        assert combination.total["operational"].value.magnitude == pytest.approx(operational)
    assert seen == set(itertools.product(GRIDS, powers))
    totals = [c.total["total"].value.magnitude for c in result.combinations]
    assert totals == sorted(totals)


def test_a_large_sweep_is_one_array_run_with_the_same_figures_as_single_runs() -> None:
    pues = [f"{1 + i / 100:.2f}" for i in range(5, 25)]  # 20 values: jobs of one shape are stacked
    result = sweep.run([DEMO], ["dc.pue=" + ",".join(pues)])
    assert result.jobs_stacked == result.jobs_evaluated == 40
    for combination in result.combinations:
        [pue] = combination.texts(result.axes)
        single = api.run(DEMO, overrides=[f"dc.pue={pue}"])
        for name in ("energy", "operational", "embodied", "total"):
            assert math.isclose(
                combination.total[name].value.magnitude, single.total[name].value.magnitude, rel_tol=1e-12
            )


def test_sweep_shares_jobs_that_depend_on_nothing_varied() -> None:
    result = sweep.run([DEMO], ["gpu.power=300W,400W"])  # the inference job has no GPU
    assert result.jobs_evaluated == 2 + 1
    [queries] = {c.jobs["gpt3_queries"]["energy"].value.magnitude for c in result.combinations}
    assert queries == pytest.approx(1.1 * 3620 * 250 * 24 * 3600)  # J


def test_sweep_show_and_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(DEMO), "--vary", "dc.pue=1.1,1.2", "--show", "energy", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "rank,dc.pue,energy [MWh],total [tCO2e]"
    assert lines[1].startswith("1,1.1,")
    assert main(["sweep", str(DEMO), "--vary", "dc.pue=1.1,1.2", "--show", "pue"]) == 1
    assert "not a figure that adds up" in capsys.readouterr().err


# -- diff --------------------------------------------------------------------------------------


def test_diff_against_a_set_shows_each_change_and_the_inputs_that_differ(capsys: pytest.CaptureFixture[str]) -> None:
    old = run_json(capsys, str(DEMO))
    new = run_json(capsys, str(DEMO), "--set", "gpu.power=350W")
    assert main(["diff", str(DEMO), "--set", "gpu.power=350W", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    for change in document["changes"]:
        source_old = old["total"] if change["job"] == "total" else old["blocks"][change["job"]]
        source_new = new["total"] if change["job"] == "total" else new["blocks"][change["job"]]
        a, b = source_old[change["quantity"]]["value"], source_new[change["quantity"]]["value"]
        assert change["old"]["value"] == a and change["new"]["value"] == b
        assert change["change"]["value"] == pytest.approx(b - a)
        assert change["ratio"] == pytest.approx(b / a)
    [power] = document["inputs"]["gpt3_training"]
    assert power["input"] == "gpu.power"
    assert (power["old"]["value"], power["new"]["value"]) == (300.0, 350.0)
    assert power["new"]["given_at"] == "--set:1:5"
    assert "gpt3_queries" not in document["inputs"]  # its inputs are the same


def test_diff_of_two_files_names_the_inputs_that_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEMO.read_text(encoding="utf-8")
    edited = amended(
        tmp_path, "b.nnci", text.replace("  transport = 0.95\n}\n\ngrid gpu_factory", "}\n\ngrid gpu_factory")
    )
    assert main(["diff", str(DEMO), str(edited)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"datacenter_grid\.transport\s+0\.95 → 1   \(default\)", out), out
    # operational carbon scales with 1/τ: new/old = 0.95
    line = next(x for x in out.splitlines() if x.startswith("total") and " operational " in x)
    assert line.split()[-1] == "0.9500"


FIGURED = ONE_JOB


def test_diff_includes_named_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files that differ only by a `figure` line: the figure's row and its definition, not "no input differs"."""
    plain = str(amended(tmp_path, "a.nnci", FIGURED))
    ratio = str(amended(tmp_path, "b.nnci", FIGURED + "figure ratio = x.energy / x.duration\n"))
    half = str(amended(tmp_path, "c.nnci", FIGURED + "figure ratio = x.energy / x.duration / 2\n"))
    assert main(["diff", plain, ratio]) == 0
    out = capsys.readouterr().out
    # 8 × 300 W × PUE 1.2 = 2,880 W, only in B
    assert re.search(r"^figure\s+ratio\s+—\s+2,880 W$", out, re.M), out
    assert re.search(r"ratio\s+\(not in this scenario\) → `x\.energy / x\.duration`", out), out
    assert main(["diff", ratio, half]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^figure\s+ratio\s+2,880 W\s+1,440 W\s+-1,440 W\s+0\.5000$", out, re.M), out
    assert "`x.energy / x.duration` → `x.energy / x.duration / 2`" in out
    assert main(["diff", ratio, "--set", "gpu.power=400 W", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    [row] = [c for c in found["changes"] if c["job"] == "figure"]
    assert row["quantity"] == "ratio" and row["new"] == {"value": pytest.approx(3840.0), "unit": "W"}
    assert [i["input"] for i in found["inputs"]["figure ratio"]] == ["gpu.power"]
    assert found["figures_written_differently"] == []


def test_a_vary_that_changes_nothing_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo gives each device's power, so a TDP changes nothing; the factory's τ changes embodied carbon."""
    argv = ["sweep", str(DEMO), "--vary", "gpu_factory.transport=0.9,0.95", "--vary", "server.tdp=300W,400W"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "warning[E205]: `--vary server.tdp` changes none of the figures shown" in err and "--> --vary:2:1" in err
    assert "gpu_factory.transport` changes" not in err


def test_set_method_is_not_said_to_change_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """A method has no node in the derivation, but it decides every formula: no E205 for it."""
    assert main(["run", str(DEMO), "--set", "gpt3_training.method=patterson", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "E205" not in captured.err
    assert json.loads(captured.out)["blocks"]["gpt3_training"]["energy"]["formula"] == "patterson-energy"


def test_sweep_over_start_times_on_an_hourly_grid() -> None:
    """Each start integrates the hourly intensity over its own hours: starting `planned` twelve hours later
    gives the model's `shifted` figure (0.5609 tCO2e, summed hour by hour by tools/make_grid_profiles.py)."""
    model = REPO / "models" / "carbon-aware-training.nnci"
    result = sweep.run([model], ["planned.start=2024-03-04T18:00Z,2024-03-05T06:00Z"])
    by_start = {c.texts(result.axes)[0]: c.jobs["planned"]["operational"].value.magnitude for c in result.combinations}
    assert by_start["2024-03-05T06:00Z"] == pytest.approx(560.9, abs=0.05)  # kgCO2e
    assert by_start["2024-03-04T18:00Z"] == pytest.approx(627.4, abs=0.05)
    assert result.combinations[0].texts(result.axes) == ["2024-03-05T06:00Z"]  # lowest first


def test_diff_and_sweep_in_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(DEMO), "--set", "dc.pue=1.2", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| job | quantity | old | new | change | ratio |")
    assert "| gpt3_training | energy | 1,249.875 MWh | 1,363.5 MWh | +113.625 MWh | 1.0909 |" in out  # × 1.2/1.1
    assert "| gpt3_training | dc.pue | 1.1 | 1.2 | --set:1:4 |" in out
    assert main(["sweep", str(DEMO), "--vary", "dc.pue=1.2,1.1", "--format", "md"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert rows[0].startswith("| 1 | 1.1 |") and rows[1].startswith("| 2 | 1.2 |")


def test_a_comment_after_a_set_or_vary_value_is_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.overrides import _without_comment

    assert _without_comment("300 W # measured") == "300 W"
    assert _without_comment('"GPU #3" # the third') == '"GPU #3"'  # a `#` in a quoted text is text
    path = str(amended(tmp_path, "a.nnci", FIGURED))
    assert main(["sweep", path, "--vary", "gpu.power=300 W, 400 W # a, b", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found["combinations"]) == 2  # not three: `b` is in the comment


@pytest.mark.parametrize(
    ("override", "written"),
    [("dc.pue=1.20", "1.2"), ("gpu.power=0.3 kW", "300 W"), ("x.duration=6000 min", "100 h"),
     ("g.intensity=0.4 kgCO2e/kWh", "400 gCO2e/kWh"), ("gpu.power=300W", "300 W")],
)  # fmt: skip
def test_a_set_of_the_same_value_in_other_words_changes_nothing_and_is_said(
    override: str, written: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A breaker's finding: only the same text was said to change nothing; a value is the same in any
    unit and spelling, and the warning quotes it as the file writes it."""
    path = amended(tmp_path, "s.nnci", ONE_JOB)
    plain = run_json(capsys, str(path))
    assert main(["run", str(path), "--set", override, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert f"is already `{written}`: this --set changes nothing" in captured.err
    assert json.loads(captured.out)["total"] == plain["total"]
    assert main(["run", str(path), "--set", override.split("=")[0] + "=301"]) in (0, 1)
    assert "changes nothing" not in capsys.readouterr().err
