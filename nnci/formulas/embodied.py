"""Embodied (manufacturing) carbon of hardware, charged in full or amortised over its lifetime."""

from __future__ import annotations

from typing import Any

from nnci.formulas.citations import BLOOM, LLMCARBON, NNCI
from nnci.formulas.registry import Example, Formula, Input, Item, NotApplicable, Noted, register
from nnci.units import AREA, CARBON, DIMENSIONLESS, ENERGY, INFORMATION, INTENSITY, TIME

AMORTISED = "Wu et al. 2022 (Sustainable AI) and Faiz et al. (LLMCarbon): embodied × time / lifetime"

register(Formula(
    "nn-emb-unit", "device", "embodied", CARBON, "C_mfg = E_mfg × α_h / τ_h",
    (Input("manufacturing_energy", "manufacturing_energy", ENERGY),
     Input("intensity", "made_in.delivered_intensity", INTENSITY)),
    lambda manufacturing_energy, intensity: manufacturing_energy * intensity, NNCI,
    (Example({"manufacturing_energy": "1000 kWh", "intensity": "666.316 gCO2e/kWh"}, "666.316 kgCO2e"),),
))  # fmt: skip

register(Formula(
    "llmcarbon-chip", "device", "embodied", CARBON, "CO2eq_chip = area × CPA",
    (Input("die_area", "die_area", AREA), Input("carbon_per_area", "carbon_per_area", CARBON / AREA)),
    lambda die_area, carbon_per_area: die_area * carbon_per_area, LLMCARBON,
    # V100: 8.15 cm2 at 1.2 kg/cm2 (TSMC 12 nm)
    (Example({"die_area": "8.15 cm2", "carbon_per_area": "1.2 kgCO2e/cm2"}, "9.78 kgCO2e"),),
))  # fmt: skip

register(Formula(
    "llmcarbon-capacity", "device", "embodied", CARBON, "CO2eq = capacity × carbon per GB (memory, storage)",
    (Input("capacity", "capacity", INFORMATION),
     Input("carbon_per_capacity", "carbon_per_capacity", CARBON / INFORMATION)),
    lambda capacity, carbon_per_capacity: capacity * carbon_per_capacity, LLMCARBON,
    (Example({"capacity": "256 GB", "carbon_per_capacity": "0.4 kgCO2e/GB"}, "102.4 kgCO2e"),),
))  # fmt: skip

register(Formula(
    "llmcarbon-lifetime", "device", "lifetime", TIME, "lifetime = 5 × 365 days",
    (), lambda: Noted(1825 * 86400.0, "LLMCarbon's default lifetime, 5 × 365 days"), LLMCARBON,
    (Example({}, "1825 days"),), method="llmcarbon",
    estimate=True,
))  # fmt: skip


def _job_embodied(embodied: list[Item], lifetime: list[Item], duration: float | None) -> Noted:
    total = 0.0
    amortised, full = 0, 0
    for unit, life in zip(embodied, lifetime, strict=True):
        if life.value is None:
            total = total + unit.weight * unit.value
            full += 1
            continue
        if duration is None:
            raise NotApplicable("duration (to amortise over lifetimes)")
        total = total + unit.weight * unit.value * duration / life.value
        amortised += 1
    if amortised and full:
        note = f"{amortised} device kind(s) amortised over duration/lifetime, {full} charged in full (no lifetime)"
    elif amortised:
        note = "amortised: embodied × duration / lifetime"
    else:
        note = "charged in full: no device has a lifetime (as the nn-ci seed does)"
    return Noted(total, note)


def _amortised(embodied: list[Item], lifetime: list[Item], duration: float) -> float:
    return sum((e.weight * e.value * duration / life.value for e, life in zip(embodied, lifetime, strict=True)), 0.0)


def _per_use_hour(embodied: list[Item], lifetime: list[Item], duration: float, lifetime_usage: float | None) -> Noted:
    share = 1.0 if lifetime_usage is None else lifetime_usage
    value = _amortised(embodied, lifetime, duration) / share
    note = "per hour of use: embodied ÷ (lifetime × lifetime usage) × device-hours"
    return Noted(value, note + ("; lifetime_usage not given, taken as 100 %" if lifetime_usage is None else ""))


for kind in ("training", "inference"):
    register(Formula(
        "nn-emb", kind, "embodied", CARBON,
        "C_emb = Σ_h n_h × C_mfg,h × (Δt / lifetime_h, or 1 without a lifetime)",
        (Input("embodied", "fleet.devices[].embodied", CARBON),
         Input("lifetime", "fleet.devices[].lifetime", TIME, optional=True),
         Input("duration", "duration", TIME, optional=True)),
        _job_embodied, f"{NNCI}; amortisation: {AMORTISED}",
        (Example({"embodied": [("10000", "666.316 kgCO2e")], "lifetime": [("10000", None)],
                  "duration": "360 h"}, "6663.16 tCO2e"),
         Example({"embodied": [("48", "2500 kgCO2e")], "lifetime": [("48", "4 years")],
                  "duration": "1 year"}, "30 tCO2e")),
        method="nnci",
    ))  # fmt: skip
    register(Formula(
        "llmcarbon-embodied", kind, "embodied", CARBON, "CO2eq_emb = Σ_i t_i × CO2eq_chip,i / lifetime_i",
        (Input("embodied", "fleet.devices[].embodied", CARBON), Input("lifetime", "fleet.devices[].lifetime", TIME),
         Input("duration", "duration", TIME)),
        _amortised, LLMCARBON,
        # XLM: 512 V100 dies of 9.78 kg for 20.4 of 1825 days
        (Example({"embodied": [("512", "9.78 kgCO2e")], "lifetime": [("512", "1825 days")],
                  "duration": "20.4 days"}, "55.97 kgCO2e"),),
        method="llmcarbon",
    ))  # fmt: skip
    register(Formula(
        "bloom-embodied", kind, "embodied", CARBON,
        "C_emb = Σ_h embodied_h ÷ (lifetime_h × lifetime usage) × device-hours_h",
        (Input("embodied", "fleet.devices[].embodied", CARBON), Input("lifetime", "fleet.devices[].lifetime", TIME),
         Input("duration", "duration", TIME),
         Input("lifetime_usage", "lifetime_usage", DIMENSIONLESS, optional=True)),
        _per_use_hour, BLOOM + ", §4.1",
        # BLOOM: 384 GPUs of 150 kg, 6 × 8,760 h at 85 % usage, 2,820.286 h each
        (Example({"embodied": [("384", "150 kgCO2e")], "lifetime": [("384", "52560 h")],
                  "duration": "2820.286 h", "lifetime_usage": "0.85"}, "3636.1 kgCO2e"),),
        method="bloom",
    ))  # fmt: skip


def _device_hours_embodied(device_hours: Any, embodied: Any, lifetime: Any, lifetime_usage: Any) -> Noted:
    share = 1.0 if lifetime_usage is None else lifetime_usage
    return Noted(device_hours * embodied / (lifetime * share), "amortised: device-hours × embodied / lifetime")


for kind, method in (
    ("training", "nnci"),
    ("inference", "nnci"),
    ("training", "llmcarbon"),
    ("inference", "llmcarbon"),
):
    register(Formula(
        "device-hours-embodied", kind, "embodied", CARBON, "C_emb = device-hours × C_mfg / lifetime (one device kind)",
        (Input("device_hours", "device_hours", TIME), Input("embodied", "device.embodied", CARBON),
         Input("lifetime", "device.lifetime", TIME)),
        lambda device_hours, embodied, lifetime: Noted(
            device_hours * embodied / lifetime, "amortised: device-hours × embodied / lifetime"),
        AMORTISED,
        # 100,000 GPU-hours of a 150 kg GPU with a 5-year (43,830 h) life
        (Example({"device_hours": "100000 h", "embodied": "150 kgCO2e", "lifetime": "43830 h"}, "342.231 kgCO2e"),),
        method=method, needs=("device",),
    ))  # fmt: skip

for kind in ("training", "inference"):
    register(Formula(
        "bloom-device-hours-embodied", kind, "embodied", CARBON,
        "C_emb = embodied ÷ (lifetime × lifetime usage) × device-hours (one device kind)",
        (Input("device_hours", "device_hours", TIME), Input("embodied", "device.embodied", CARBON),
         Input("lifetime", "device.lifetime", TIME), Input("lifetime_usage", "lifetime_usage", DIMENSIONLESS,
                                                            optional=True)),
        _device_hours_embodied, BLOOM + ", §4.1",
        (Example({"device_hours": "1082990 h", "embodied": "150 kgCO2e", "lifetime": "52560 h",
                  "lifetime_usage": "0.85"}, "3636.1 kgCO2e"),),
        method="bloom", needs=("device",),
    ))  # fmt: skip
