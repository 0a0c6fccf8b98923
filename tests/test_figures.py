"""Every figure out: `--show`, `--all`, `--unit` with any unit, JSON/CSV/Markdown listing every known
quantity, and the API's `results.quantity()`. Expected values are computed by hand in each test."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import nnci
from nnci.cli import main
from nnci.engine import Unknown
from nnci.schema import REPORTED, SCHEMA

SCENARIO = """\
device gpu {
  power = 300 W
  embodied = 150 kgCO2e
}

grid g {
  intensity = 400 gCO2e/kWh
}

datacenter dc {
  pue = 1.1
  grid = g
}

training train {
  fleet = { gpu = 64 }
  site = dc
  duration = 10 days
  parameters = 1e9
  tokens = 2e10 tokens
}

inference serve {
  fleet = { gpu = 8 }
  site = dc
  duration = 24 h
  queries = 1000
}
"""
# by hand: serve.energy = 8 × 300 W × 24 h × 1.1 = 63.36 kWh, per query 63.36 Wh;
# train.energy = 64 × 300 W × 240 h × 1.1 = 5068.8 kWh; train.compute = 6 × 1e9 × 2e10 = 1.2e20 FLOP
SERVE_KWH = 8 * 300 * 24 * 1.1 / 1000
TRAIN_KWH = 64 * 300 * 240 * 1.1 / 1000


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def scenario(tmp_path: Path) -> str:
    path = tmp_path / "s.nnci"
    path.write_text(SCENARIO, encoding="utf-8")
    return str(path)


def test_show_picks_the_columns(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, out, _ = run(capsys, "run", scenario, "--show", "duration,compute,energy_per_query")
    assert code == 0
    header, _, train, serve, _, total = out.splitlines()[:6]
    assert header.split() == ["block", "kind", "duration", "compute", "energy", "per", "query"]
    assert train.split() == ["train", "training", "240", "h", "1.20000e+20", "FLOP", "–"]  # training has no queries
    assert serve.split()[:4] == ["serve", "inference", "24", "h"] and serve.endswith("63.36 Wh/query")
    assert "unknown" in serve  # serve gives no parameters or tokens: its compute is unknown, never 0
    assert total.split() == ["total", "–", "unknown", "–"]  # a sum of durations means nothing


def test_unit_applies_to_every_figure_of_its_dimension(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, out, err = run(capsys, "run", scenario, "--show", "duration,device_hours,energy_per_query",
                         "--unit", "days", "--unit", "J/query")  # fmt: skip
    assert code == 0 and err == ""
    train = out.splitlines()[2]
    assert "10 days" in train and f"{64 * 10:,} days" in train  # device-hours are a time too
    assert f"{SERVE_KWH * 3.6e6 / 1000:,.0f} J/query" in out.splitlines()[3]  # 63.36 Wh = 228,096 J


def test_all_lists_every_known_figure(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, out, _ = run(capsys, "run", scenario, "--all")
    assert code == 0
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert lines["device hours"].split()[2:] == ["h", "15,360", "192", "15,552"]  # 64×240, 8×24, their sum
    assert lines["energy per query"].split()[-2:] == ["63.36", "–"]
    assert lines["compute"].split()[1:3] == ["FLOP", "1.20000e+20"]


def test_json_lists_every_known_quantity(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, out, _ = run(capsys, "run", scenario, "--format", "json")
    assert code == 0
    report = json.loads(out)
    results = nnci.run(scenario)
    for name, block in report["blocks"].items():
        kind = block["kind"]
        known = set()
        for quantity, spec in SCHEMA[kind].items():
            if spec.type == "quantity" and not isinstance(results.figure(name, quantity), Unknown):
                known.add(quantity)
        listed = {k for k, v in block.items() if isinstance(v, dict) and v.get("value") is not None}
        assert listed == known, name
        assert all(key in block for key in REPORTED)  # the keys of DESIGN §4 stay
    assert report["blocks"]["serve"]["energy_per_query"] == {
        "value": pytest.approx(SERVE_KWH * 1000 / 1000), "unit": "Wh/query", "formula": "energy-per-query"}  # fmt: skip
    assert report["total"]["device_hours"]["value"] == pytest.approx(64 * 240 + 8 * 24)
    assert report["total"]["queries"]["value"] == 1000


def test_json_gives_the_rule_notes(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    report = json.loads(run(capsys, "run", scenario, "--format", "json")[1])
    assert any("charged in full" in note for note in report["blocks"]["train"]["notes"])


def test_csv_and_markdown_carry_the_figures(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    out = run(capsys, "run", scenario, "--format", "csv", "--unit", "days")[1]
    rows = list(csv.DictReader(io.StringIO(out)))
    duration = next(r for r in rows if r["block"] == "train" and r["quantity"] == "duration")
    assert float(duration["value"]) == 10 and duration["unit"] == "days"
    energy = next(r for r in rows if r["block"] == "total" and r["quantity"] == "energy")
    assert float(energy["value"]) == pytest.approx(SERVE_KWH + TRAIN_KWH)
    md = run(capsys, "run", scenario, "--format", "md", "--show", "energy_per_query")[1]
    assert md.splitlines()[3] == "| serve | inference | 63.36 Wh/query |"


def test_show_names_a_quantity(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, _, err = run(capsys, "run", scenario, "--show", "energy_per_querry")
    assert code == 2 and "did you mean `energy_per_query`" in err


def test_api_quantity_of_any_block() -> None:
    program = nnci.loads(SCENARIO)
    results = nnci.evaluate(program)
    assert isinstance(results, nnci.Results)
    assert results.quantity("serve", "energy_per_query").to("Wh/query") == pytest.approx(SERVE_KWH)
    assert results.quantity("train", "compute").to("FLOP") == pytest.approx(6 * 1e9 * 2e10)
    assert results.quantity("total", "energy").to("kWh") == pytest.approx(SERVE_KWH + TRAIN_KWH)
    assert results.quantity("dc", "intensity").to("gCO2e/kWh") == pytest.approx(400)
    with pytest.raises(nnci.UnknownQuantity, match=r"serve\.compute is unknown: inputs that would allow it"):
        results.quantity("serve", "compute")
    with pytest.raises(KeyError, match="has no quantity `queries`"):
        results.quantity("train", "queries")
    with pytest.raises(KeyError, match="no block `nowhere`"):
        results.quantity("nowhere", "energy")


def test_compare_takes_a_unit(capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    code, out, _ = run(capsys, "compare", scenario, "train", "--unit", "kWh", "--unit", "kgCO2e")
    assert code == 0
    nnci_row = next(line for line in out.splitlines() if line.startswith("nnci"))
    assert f"{TRAIN_KWH:,.1f} kWh" in nnci_row and f"{TRAIN_KWH * 0.4 * 1.0:,.2f} kgCO2e" in nnci_row
    assert run(capsys, "compare", scenario, "train", "--unit", "h")[0] == 2


def test_the_readme_api_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's loop over regions: each line's energy is 8 × 300 W × 24 h × 1.1 = 63.36 kWh, and
    per-query carbon follows each grid's intensity (France's low-carbon grid lowest)."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(.*?)```", readme, re.S)
    assert found is not None
    exec(compile(found.group(1), "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["fra_2023", "deu_2023", "usa_2023"]
    assert all(line.endswith(f"{SERVE_KWH:.2f} kWh") for line in lines)
    grams = [float(line.split(": ")[1].split()[0]) for line in lines]
    assert grams[0] == min(grams)


@pytest.mark.parametrize("form", ["table", "json", "md", "csv"])
def test_a_named_figure_of_a_dimension_without_a_display_unit_is_printed(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Energy per carbon has no unit of its own: it is shown in base units, in every format (a breaker
    found each format raising DimensionError on the base spelling it had chosen itself)."""
    path = tmp_path / "f.nnci"
    path.write_text(
        "grid g {\n  intensity = 429 gCO2e/kWh\n}\ndevice d {\n  power = 300 W\n}\n"
        "datacenter dc {\n  pue = 1.1\n  grid = g\n}\n"
        "training t {\n  fleet = { d = 8 }\n  site = dc\n  duration = 10 h\n}\n"
        "figure ratio = t.energy / t.operational\n"
    )
    assert main(["run", str(path), "--format", form]) == 0
    out = capsys.readouterr().out
    energy_j = 1.1 * 8 * 300 * 10 * 3600  # J
    operational_kg = 1.1 * 8 * 300 * 10 / 1000 * 0.429  # kgCO2e
    if form == "json":
        ratio = json.loads(out)["figures"]["ratio"]
        assert ratio["unit"] == "m^2·kg/s^2·kgCO2e"
        assert ratio["value"] == pytest.approx(energy_j / operational_kg, rel=1e-12)
    else:
        assert "m^2·kg/s^2·kgCO2e" in out or form == "csv"
