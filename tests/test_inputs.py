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
    return float(result.value.magnitude) / (parse_unit(unit).factor if unit else 1.0)


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


# -- utilisation -------------------------------------------------------------------------------

SERVE = """
device gpu {
  tdp = 400 W
  idle_power = 50 W
}
datacenter dc {
  pue = 1.5
  intensity = 100 gCO2e/kWh
}
inference serve {
  fleet = { gpu = 10 }
  site = dc
  duration = 10 h
  utilization = 60 %
}
"""


def test_utilization_with_idle_power_follows_the_linear_power_model() -> None:
    power = 50 + 0.6 * (400 - 50)  # W per device: P_idle + u × (P_max − P_idle) = 260 W
    assert close(figure(SERVE, "serve.it_power", "W"), 10 * power)
    assert close(figure(SERVE, "serve.energy", "kWh"), 10 * power * 10 * 1.5 / 1000)  # 39 kWh


def test_utilization_without_idle_power_is_a_usage_factor() -> None:
    text = SERVE.replace("  idle_power = 50 W\n", "")
    assert close(figure(text, "serve.it_power", "W"), 10 * 0.6 * 400)  # u × P_max = 2,400 W


def test_utilization_takes_the_given_power_as_peak_when_no_tdp() -> None:
    text = SERVE.replace("  tdp = 400 W\n  idle_power = 50 W\n", "  power = 300 W\n")
    assert close(figure(text, "serve.it_power", "W"), 10 * 0.6 * 300)


def test_a_device_kind_with_its_own_utilization_overrides_the_job() -> None:
    text = (
        SERVE.replace("fleet = { gpu = 10 }", "fleet = { gpu = 10, busy = 2 }")
        + """
device busy = gpu {
  utilization = 90 %
}
"""
    )
    expected = 10 * (50 + 0.6 * 350) + 2 * (50 + 0.9 * 350)  # 2,600 W + 730 W
    assert close(figure(text, "serve.it_power", "W"), expected)


def test_without_utilization_the_power_is_as_before() -> None:
    text = SERVE.replace("  utilization = 60 %\n", "")
    assert close(figure(text, "serve.it_power", "W"), 10 * 400)  # TDP as average power


# -- accelerators and hosts --------------------------------------------------------------------

MIXED = """
device gpu {
  power = 700 W
  peak_fp16 = 989 TFLOP/s
}
device node {
  role = "host"
  power = 1200 W
  peak_fp16 = 5 TFLOP/s
}
datacenter dc {
  pue = 1.1
  intensity = 100 gCO2e/kWh
}
training t {
  fleet = { gpu = 16, node = 2 }
  site = dc
  device_hours = 1600 h
}
"""


def test_hosts_are_not_counted_among_the_accelerators() -> None:
    assert figure(MIXED, "t.accelerators", "") == 16
    assert close(figure(MIXED, "t.duration", "h"), 1600 / 16)  # 100 h, not 1600 / 18 = 88.9 h
    # every device draws power for the whole run: (16 × 700 W + 2 × 1,200 W) × 100 h × PUE 1.1
    assert close(figure(MIXED, "t.energy", "kWh"), (16 * 700 + 2 * 1200) * 100 * 1.1 / 1000)  # 1,496 kWh


def test_compute_paths_use_the_accelerators_peak_only() -> None:
    text = MIXED.replace("device_hours = 1600 h", "compute = 1e21 FLOP\n  efficiency = 40 %")
    seconds = 1e21 / (16 * 989e12 * 0.4)  # the hosts' 5 TFLOP/s is not averaged in
    assert close(figure(text, "t.duration", "s"), seconds)


def test_a_fleet_of_hosts_only_described_by_compute_is_an_error() -> None:
    text = "nnci 0.1\n" + MIXED.replace("gpu = 16, node = 2", "node = 2")
    with pytest.raises(nnci.NnciError) as error:
        nnci.check(nnci.loads(text))
    assert "E303" in str(error.value) and "only hosts" in str(error.value)


def test_a_role_is_accelerator_or_host() -> None:
    with pytest.raises(nnci.NnciError) as error:
        nnci.loads("nnci 0.1\n" + MIXED.replace('role = "host"', 'role = "hots"'))
    assert "did you mean `host`" in str(error.value)


def test_catalog_hosts_and_idle_powers() -> None:
    text = """import "std/hardware" as hw
training t {
  fleet = { hw.a100_sxm4_80gb = 8, hw.p5_48xlarge_host = 1 }
  device_hours = 800 h
  utilization = 50 %
}
"""
    # the A100's idle power (CCF: 46 W) and TDP (400 W); the host's 1.2 kW average is its P_max
    expected = 8 * (46 + 0.5 * (400 - 46)) + 1 * 0.5 * 1200
    assert close(figure(text, "t.it_power", "W"), expected)
    assert close(figure(text, "t.duration", "h"), 100)


# -- device-hours of one device kind, without a count ------------------------------------------

GPU_HOURS = """
device a100 {
  tdp = 400 W
  embodied = 150 kgCO2e
}
datacenter dc {
  pue = 1.2
  intensity = 385 gCO2e/kWh
}
training t {
  device = a100
  site = dc
  device_hours = 100_000 h
}
"""


def test_gpu_hours_times_power_times_pue() -> None:
    assert close(figure(GPU_HOURS, "t.energy", "kWh"), 100_000 * 400 * 1.2 / 1000)  # 48,000 kWh
    assert close(figure(GPU_HOURS, "t.operational", "kgCO2e"), 48_000 * 0.385)


def test_gpu_hours_without_a_count_leave_duration_and_unamortised_embodied_unknown() -> None:
    program = nnci.loads("nnci 0.1\n" + GPU_HOURS)
    engine = Engine(program)
    job = next(k for k in program.jobs)
    assert not isinstance(engine.quantity(job, "duration"), Derivation)  # no count, so no wall-clock time
    embodied = engine.quantity(job, "embodied")
    assert not isinstance(embodied, Derivation) and "a100.lifetime" in embodied.missing  # never a guess


def test_gpu_hours_embodied_is_amortised_over_the_lifetime() -> None:
    text = GPU_HOURS.replace("  embodied = 150 kgCO2e\n", "  embodied = 150 kgCO2e\n  lifetime = 5 years\n")
    lifetime_h = 5 * 365.25 * 24
    assert close(figure(text, "t.embodied", "kgCO2e"), 100_000 * 150 / lifetime_h)  # 342.2 kg


def test_gpu_hours_with_a_count_give_the_duration() -> None:
    text = GPU_HOURS.replace("device_hours = 100_000 h", "device_hours = 100_000 h\n  accelerators = 1000")
    assert close(figure(text, "t.duration", "h"), 100)


def test_gpu_hours_under_bloom_are_times_tdp_without_pue() -> None:
    text = GPU_HOURS.replace("device = a100", "device = a100\n  method = bloom")
    assert close(figure(text, "t.energy", "kWh"), 100_000 * 400 / 1000)


def test_gpu_hours_at_a_utilization() -> None:
    text = GPU_HOURS.replace("device_hours = 100_000 h", "device_hours = 100_000 h\n  utilization = 50 %")
    assert close(figure(text, "t.energy", "kWh"), 100_000 * 0.5 * 400 * 1.2 / 1000)  # usage factor: 24,000 kWh


# -- market-based carbon and offsets -----------------------------------------------------------

MARKET = """
grid g {
  intensity = 400 gCO2e/kWh
  cfe = 75 %
}
device gpu {
  tdp = 500 W
  embodied = 100 kgCO2e
}
datacenter dc {
  pue = 1.0
  grid = g
}
training t {
  method = METHOD
  fleet = { gpu = 10 }
  site = dc
  duration = 100 h
  offset = 100 %
}
"""


@pytest.mark.parametrize("method", ["nnci", "patterson", "llmcarbon", "bloom"])
def test_net_operational_and_offsets_under_every_method(method: str) -> None:
    text = MARKET.replace("METHOD", method)
    energy = 10 * 500 * 100 / 1000  # 500 kWh at TDP (PUE 1; bloom has no PUE either way)
    assert close(figure(text, "t.energy", "kWh"), energy)
    assert close(figure(text, "t.operational", "kgCO2e"), energy * 0.4)  # location-based: 200 kg
    assert close(figure(text, "t.net_operational", "kgCO2e"), energy * 0.4 * (1 - 0.75))  # market-based: 50 kg
    assert close(figure(text, "t.offset_carbon", "kgCO2e"), energy * 0.4)  # 100 % of the operational emissions
    results = nnci.evaluate(nnci.loads("nnci 0.1\n" + text))
    operational = results.jobs[0].quantities["operational"]
    assert isinstance(operational, Derivation) and close(float(operational.value.magnitude) * 1, 200.0)  # not reduced


def test_a_datacenter_net_intensity_or_cfe_of_its_own() -> None:
    text = MARKET.replace("METHOD", "nnci").replace("  grid = g\n", "  grid = g\n  cfe = 90 %\n")
    assert close(figure(text, "t.net_operational", "kgCO2e"), 500 * 0.4 * 0.1)


# -- serving: per token and per query ----------------------------------------------------------

SERVING = """
device gpu {
  power = 500 W
  embodied = 100 kgCO2e
  lifetime = 10_000 h
}
datacenter dc {
  pue = 1.2
  intensity = 300 gCO2e/kWh
}
inference serve {
  fleet = { gpu = 4 }
  site = dc
  duration = 100 h
  tokens = 60e6 tokens
}
"""


def test_per_token_figures() -> None:
    energy = 4 * 500 * 100 * 1.2  # Wh: 240 kWh
    total = energy / 1000 * 0.3 + 4 * 100 * 100 / 10_000  # kg: 72 operational + 4 embodied
    assert close(figure(SERVING, "serve.energy_per_token", "Wh/token"), energy / 60e6)
    assert close(figure(SERVING, "serve.carbon_per_token", "gCO2e/token"), total * 1000 / 60e6)


def test_queries_from_energy_and_energy_per_query_and_the_reverse() -> None:
    text = SERVING.replace("tokens = 60e6 tokens", "energy_per_query = 2 Wh/query")
    assert close(figure(text, "serve.queries", "queries"), 240_000 / 2)  # 120,000 queries
    text = SERVING.replace("  fleet = { gpu = 4 }\n", "").replace(
        "tokens = 60e6 tokens", "energy_per_query = 2 Wh/query\n  queries = 1e6"
    )
    assert close(figure(text, "serve.energy", "kWh"), 2 * 1e6 / 1000)  # 2,000 kWh


# -- over-determined inputs and inputs that change nothing --------------------------------------


def problems(text: str) -> list[tuple[str, str]]:
    """(code, message) of every diagnostic of `nnci check` on the program."""
    program = nnci.loads("nnci 0.1\n" + text)
    try:
        found = nnci.check(program)
    except nnci.NnciError as error:
        found = error.diagnostics
    return [(d.code, d.message) for d in found]


OVER = """
device gpu {
  power = 400 W
}
datacenter dc {
  pue = 1.25
  intensity = 100 gCO2e/kWh
}
training t {
  fleet = { gpu = 4 }
  site = dc
  duration = 10 h
  EXTRA
}
"""


def test_agreeing_device_hours_pass_and_disagreeing_ones_are_an_error() -> None:
    assert problems(OVER.replace("EXTRA", "device_hours = 40 h")) == []  # 4 × 10 h
    assert problems(OVER.replace("EXTRA", "device_hours = 40.3 h")) == []  # within 1 %
    found = problems(OVER.replace("EXTRA", "device_hours = 50 h"))
    assert [code for code, _ in found] == ["E420"]  # one error for the pair, not one per side
    assert "12.5 h" in found[0][1]  # the duration the 50 device-hours imply on 4 GPUs


def test_a_given_energy_must_agree_with_the_fleet_that_draws_it() -> None:
    assert problems(OVER.replace("EXTRA", "energy = 20 kWh")) == []  # 4 × 400 W × 10 h × 1.25
    assert [c for c, _ in problems(OVER.replace("EXTRA", "energy = 25 kWh"))] == ["E420"]


def test_compute_beside_throughput_and_device_hours() -> None:
    text = OVER.replace("EXTRA", "throughput = 100 TFLOP/s\n  compute = COMPUTE")
    assert problems(text.replace("COMPUTE", f"{100e12 * 40 * 3600:.6e} FLOP")) == []
    assert [c for c, _ in problems(text.replace("COMPUTE", "1e19 FLOP"))] == ["E420"]


def test_a_measured_energy_below_the_tdp_estimate_is_not_a_disagreement() -> None:
    """TDP is an upper bound (BLOOM's API: 914 kWh measured on 16 A100 for 18 days)."""
    text = OVER.replace("power = 400 W", "tdp = 400 W").replace("EXTRA", "energy = 12 kWh")
    assert problems(text) == []


def test_a_field_that_changes_nothing_is_a_warning_naming_what_reads_it() -> None:
    found = problems(OVER.replace("EXTRA", "lifetime_usage = 85 %"))
    assert [c for c, _ in found] == ["E421"] and "`t.lifetime_usage`" in found[0][1]
    program = nnci.loads("nnci 0.1\n" + OVER.replace("EXTRA", "lifetime_usage = 85 %"))
    warning = nnci.check(program)[0]
    assert warning.severity == "warning" and warning.help is not None and "`bloom`" in warning.help
    assert (
        problems(
            OVER.replace("EXTRA", "lifetime_usage = 85 %\n  method = bloom").replace(
                "power = 400 W", "tdp = 400 W\n  embodied = 100 kgCO2e\n  lifetime = 6 years"
            )
        )
        == []
    )
