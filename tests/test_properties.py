"""Properties of the nn-ci calculations on generated programs, checked against hand formulas."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import expected, programs

import nnci
from nnci.engine import Derivation, Unknown
from nnci.ir import BlockKey

KWH, KG = 3.6e6, 1.0
SETTINGS = settings(max_examples=60, deadline=None)


def computed(text: str, job: str) -> dict[str, float | None]:
    engine = nnci.evaluate(nnci.loads(text)).engine
    out: dict[str, float | None] = {}
    for name, unit in (("energy", KWH), ("operational", KG), ("embodied", KG), ("total", KG)):
        result = engine.quantity(BlockKey("", job), name)
        out[name] = result.value.magnitude / unit if isinstance(result, Derivation) else None
    return out


@SETTINGS
@given(programs())
def test_generated_programs_match_the_hand_formulas(program: tuple[str, dict[str, Any]]) -> None:
    text, params = program
    got, want = computed(text, params["job"]), expected(params)
    assert got["energy"] == pytest.approx(want["energy"], rel=1e-9)
    assert got["operational"] == pytest.approx(want["operational"], rel=1e-9, abs=1e-12)
    if want["embodied"] is None:
        assert got["embodied"] is None and got["total"] is None, "unknown embodied stays unknown, never 0"
    else:
        assert got["embodied"] == pytest.approx(want["embodied"], rel=1e-9)
        assert got["total"] == pytest.approx(want["operational"] + want["embodied"], rel=1e-9, abs=1e-12)


def scenario(n: float, power: float, hours: float, pue: float, intensity: float, transport: float) -> str:
    return (
        f"grid g {{\n  intensity = {intensity!r} gCO2e/kWh\n  transport = {transport!r}\n}}\n"
        f"device d {{\n  power = {power!r} W\n}}\n"
        f"datacenter dc {{\n  pue = {pue!r}\n  grid = g\n}}\n"
        f"training t {{\n  fleet = {{ d = {n!r} }}\n  site = dc\n  duration = {hours!r} h\n}}\n"
    )


positive = st.floats(0.5, 5e3, allow_nan=False)
inputs = st.tuples(
    st.integers(1, 10_000).map(float), positive, positive, st.floats(1.0, 2.5), st.floats(0.0, 1200.0),
    st.floats(0.5, 1.0),
)  # fmt: skip


@SETTINGS
@given(inputs, st.integers(0, 3), st.floats(1.0, 4.0))
def test_energy_is_linear_in_count_power_duration_and_pue(values: tuple[float, ...], which: int, k: float) -> None:
    scaled = list(values)
    scaled[which] *= k
    before = computed(scenario(*values), "t")["energy"]
    after = computed(scenario(*scaled), "t")["energy"]
    assert before is not None and after is not None
    assert after == pytest.approx(k * before, rel=1e-9)


@SETTINGS
@given(inputs, st.floats(0.0, 1200.0))
def test_operational_carbon_is_monotone_in_intensity(values: tuple[float, ...], other: float) -> None:
    low, high = sorted((values[4], other))
    at_low = computed(scenario(*values[:4], low, values[5]), "t")["operational"]
    at_high = computed(scenario(*values[:4], high, values[5]), "t")["operational"]
    assert at_low is not None and at_high is not None
    assert at_low <= at_high


def test_several_sites_weight_by_share_and_pue() -> None:
    text = (
        "datacenter a {\n  pue = 1.1\n  intensity = 400 gCO2e/kWh\n}\n"
        "datacenter b {\n  pue = 1.5\n  intensity = 100 gCO2e/kWh\n}\n"
        "device d {\n  power = 1 kW\n}\n"
        "training t {\n  fleet = { d = 10 }\n  site = { a = 60 %, b = 40 % }\n  duration = 100 h\n}\n"
    )
    got = computed(text, "t")
    # 1,000 kWh of IT energy: 600 kWh at PUE 1.1 (660 kWh) and 400 kWh at PUE 1.5 (600 kWh)
    assert got["energy"] == pytest.approx(660 + 600)
    assert got["operational"] == pytest.approx(660 * 0.4 + 600 * 0.1)


def test_a_given_energy_overrides_the_formula_downstream() -> None:
    text = (
        "datacenter dc {\n  pue = 1.1\n  intensity = 429 gCO2e/kWh\n}\n"
        "device d {\n  power = 330 W\n}\n"
        "training t {\n  fleet = { d = 1 }\n  site = dc\n  duration = 1 h\n  energy = 1287 MWh\n}\n"
    )
    assert computed(text, "t")["operational"] == pytest.approx(1_287_000 * 0.429)


def test_an_amend_override_flows_into_what_the_base_derives() -> None:
    text = (
        "grid fab {\n  intensity = 500 gCO2e/kWh\n}\n"
        "device base {\n  manufacturing_energy = 1000 kWh\n  made_in = fab\n  power = 300 W\n}\n"
        "device cheaper = base {\n  manufacturing_energy = 500 kWh\n}\n"
    )
    engine = nnci.evaluate(nnci.loads(text)).engine
    embodied = engine.quantity(BlockKey("", "cheaper"), "embodied")
    assert isinstance(embodied, Derivation)
    assert embodied.value.magnitude == pytest.approx(500 * 0.5)
    assert isinstance(engine.quantity(BlockKey("", "base"), "lifetime"), Unknown)


def test_a_circle_through_a_formula_is_an_error_and_a_missing_input_is_not() -> None:
    text = (
        "device c {\n  power = 1 kW\n}\ndatacenter dc {\n  pue = 1\n  intensity = 1 gCO2e/kWh\n}\n"
        "training j {\n  fleet = { c = 1 }\n  site = dc\n  duration = energy / 1 kW\n}\n"
    )
    with pytest.raises(nnci.NnciError) as error:
        nnci.check(nnci.loads(text))
    assert [d.code for d in error.value.diagnostics] == ["E406"]
    without_duration = text.replace("  duration = energy / 1 kW\n", "")
    assert nnci.check(nnci.loads(without_duration)) == []  # unknown duration: no circle to report
