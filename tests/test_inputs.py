"""The inputs people hold (issue 10): water, utilisation, device-hours, market-based carbon and
offsets, per-token figures, and inputs that change nothing. Every expected value is worked out by
hand in the test."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import nnci
from nnci.engine import Derivation, Engine
from nnci.units import parse_unit

REPO = Path(__file__).resolve().parent.parent


def figure(text: str, target: str, unit: str) -> float:
    """`job.quantity` of the program in `text`, in `unit` (the program must check)."""
    program = nnci.loads("nnci 0.1\n" + text)
    nnci.check(program)
    block, _, name = target.rpartition(".")
    key = next(k for k in program.blocks if str(k) == block)
    result = Engine(program).quantity(key, name)
    assert isinstance(result, Derivation), result
    return float(result.value.magnitude) / parse_unit(unit).factor


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12)


# -- water -------------------------------------------------------------------------------------

WATER = """
grid g {
  intensity = 400 gCO2e/kWh
  water_intensity = 3 L/kWh
}
device gpu {
  power = 400 W
}
datacenter dc {
  pue = 1.2
  grid = g
  wue = 0.5 L/kWh
}
training t {
  fleet = { gpu = 100 }
  site = dc
  duration = 100 h
}
"""


def test_water_on_site_off_site_and_total() -> None:
    it_energy = 100 * 400 * 100 / 1000  # kWh: 100 GPUs × 400 W × 100 h = 4,000 kWh
    onsite = it_energy * 0.5  # L: IT energy × WUE = 2,000 L
    offsite = it_energy * 1.2 * 3  # L: IT energy × PUE × EWIF = 14,400 L
    assert close(figure(WATER, "t.water_onsite", "L"), onsite)
    assert close(figure(WATER, "t.water_offsite", "L"), offsite)
    assert close(figure(WATER, "t.water", "L"), onsite + offsite)  # 16,400 L


def test_water_over_two_sites_weights_wue_by_it_energy_and_ewif_by_site_energy() -> None:
    text = (
        WATER.replace("site = dc", "site = { dc = 25 %, dry = 75 % }")
        + """
grid hydro {
  intensity = 20 gCO2e/kWh
  water_intensity = 17 L/kWh
}
datacenter dry {
  pue = 1.1
  grid = hydro
  wue = 0.1 L/kWh
}
"""
    )
    it_energy = 4000.0  # kWh, split 1,000 / 3,000 between the sites
    onsite = 1000 * 0.5 + 3000 * 0.1  # 800 L
    offsite = 1000 * 1.2 * 3 + 3000 * 1.1 * 17  # 3,600 + 56,100 = 59,700 L
    assert close(figure(text, "t.water_onsite", "L"), onsite)
    assert close(figure(text, "t.water_offsite", "L"), offsite)
    assert close(figure(text, "t.wue", "L/kWh"), onsite / it_energy)


def test_water_is_unknown_without_a_water_intensity_never_zero() -> None:
    program = nnci.loads("nnci 0.1\n" + WATER.replace("  water_intensity = 3 L/kWh\n", ""))
    results = nnci.evaluate(program)
    job = results.jobs[0]
    assert "water" not in job.quantities  # not reported: it is unknown
    unknown = Engine(program).quantity(job.key, "water")
    assert not isinstance(unknown, Derivation)
    assert "g.water_intensity" in unknown.missing
    assert close(figure(WATER.replace("  water_intensity = 3 L/kWh\n", ""), "t.water_onsite", "L"), 2000)


def test_standard_catalog_water_figures() -> None:
    """EcoLogits' EWIF for Germany (1.947 L/kWh) and AWS's 2024 fleet WUE (0.15 L/kWh), from water.csv."""
    text = """import "std/water" as water
import "std/pue" as pue
grid de {
  intensity = 380 gCO2e/kWh
  water_intensity = water.deu.water_intensity
}
datacenter site = pue.aws_fleet_2024 {
  grid = de
  wue = water.aws_fleet_2024.wue
}
device gpu {
  power = 700 W
}
inference serve {
  fleet = { gpu = 8 }
  site = site
  duration = 1000 h
}
"""
    it_energy = 8 * 0.7 * 1000  # kWh
    assert close(figure(text, "serve.water", "L"), it_energy * 0.15 + it_energy * 1.15 * 1.947)


def test_water_is_a_column_a_json_field_and_a_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from nnci.cli import main

    path = tmp_path / "w.nnci"
    path.write_text("nnci 0.1\n" + WATER, encoding="utf-8")
    assert main(["run", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["blocks"]["t"]["water"]["value"] == pytest.approx(16_400) and report["total"]["water"]["unit"] == "L"
    assert main(["run", str(path), "--unit", "m3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[-1] == "water" and table[2].split()[-2:] == ["16.4", "m3"]
