"""Embodied (manufacturing) carbon of hardware, charged in full or amortised over its lifetime."""

from __future__ import annotations

from nnci.formulas.citations import NNCI
from nnci.formulas.registry import Example, Formula, Input, Item, Noted, register
from nnci.units import CARBON, ENERGY, INTENSITY, TIME

AMORTISED = "Wu et al. 2022 (Sustainable AI) and Faiz et al. (LLMCarbon): embodied × time / lifetime"

register(Formula(
    "nn-emb-unit", "device", "embodied", CARBON, "C_mfg = E_mfg × α_h / τ_h",
    (Input("manufacturing_energy", "manufacturing_energy", ENERGY),
     Input("intensity", "made_in.delivered_intensity", INTENSITY)),
    lambda manufacturing_energy, intensity: manufacturing_energy * intensity, NNCI,
    (Example({"manufacturing_energy": "1000 kWh", "intensity": "666.316 gCO2e/kWh"}, "666.316 kgCO2e"),),
))  # fmt: skip


class MissingDuration(LookupError):
    """Raised when a device has a lifetime but the job has no duration to amortise over."""


def _job_embodied(embodied: list[Item], lifetime: list[Item], duration: float | None) -> Noted:
    total = 0.0
    amortised, full = 0, 0
    for unit, life in zip(embodied, lifetime, strict=True):
        if life.value is None:
            total = total + unit.weight * unit.value
            full += 1
            continue
        if duration is None:
            raise MissingDuration("duration")
        total = total + unit.weight * unit.value * duration / life.value
        amortised += 1
    if amortised and full:
        note = f"{amortised} device kind(s) amortised over duration/lifetime, {full} charged in full (no lifetime)"
    elif amortised:
        note = "amortised: embodied × duration / lifetime"
    else:
        note = "charged in full: no device has a lifetime (as the nn-ci seed does)"
    return Noted(total, note)


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
    ))  # fmt: skip
