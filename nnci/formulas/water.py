"""Water: on site (cooling, humidification) from the datacenter's WUE, off site from the water
intensity of the electricity (EWIF), and their sum (Li et al. 2023, Making AI Less Thirsty).

Withdrawal is not consumption: WUE is the operator's own figure (Microsoft defines it as water
consumed for cooling and humidification; most operators do not say which), and the standard
library's EWIF values (EcoLogits, from WRI data) are consumption. Sum only figures of one kind.
"""

from __future__ import annotations

from nnci.formulas.registry import Example, Formula, Input, Item, register
from nnci.units import DIMENSIONLESS, ENERGY, VOLUME

WATER_PER_ENERGY = VOLUME / ENERGY
LI = (
    "Li, Yang, Islam, Ren 2023, Making AI Less Thirsty, arXiv:2304.03271: water = E_IT × WUE_onsite + "
    "E_IT × PUE × EWIF_offsite"
)
WUE = (
    "The Green Grid WP#35 (2011), Water Usage Effectiveness: annual site water ÷ IT energy (L/kWh); "
    "operators' figures are consumption (Microsoft) or unstated (withdrawal vs consumption)"
)
EWIF = (
    "Li et al. 2023 (arXiv:2304.03271) EWIF: water consumed per kWh generated, weighted by the grid's mix; "
    "consumption, not withdrawal"
)


def _mix(mix: list[Item]) -> float:
    return sum((item.weight * item.value for item in mix), 0.0) / sum((item.weight for item in mix), 0.0)


register(Formula(
    "grid-water-mix", "grid", "water_intensity", WATER_PER_ENERGY, "EWIF = Σ_s share_s × EWIF_s",
    (Input("mix", "mix[].water_intensity", WATER_PER_ENERGY),), _mix, EWIF,
    # Li et al.'s code: coal 1.7034 L/kWh, wind 0
    (Example({"mix": [("40 %", "1.7034 L/kWh"), ("60 %", "0 L/kWh")]}, "0.68136 L/kWh"),),
))  # fmt: skip

register(Formula(
    "site-grid-water", "datacenter", "water_intensity", WATER_PER_ENERGY, "EWIF of the datacenter's grid",
    (Input("grid", "grid.water_intensity", WATER_PER_ENERGY),), lambda grid: grid, EWIF,
    (Example({"grid": "3.1321 L/kWh"}, "3.1321 L/kWh"),),
))  # fmt: skip


def _share_mean(site: list[Item]) -> float:
    return sum((item.weight * item.value for item in site), 0.0) / sum((item.weight for item in site), 0.0)


def _energy_weighted(pue: list[Item], water_intensity: list[Item]) -> float:
    weights = [p.weight * p.value for p in pue]
    return sum((w * i.value for w, i in zip(weights, water_intensity, strict=True)), 0.0) / sum(weights, 0.0)


for kind in ("training", "inference"):
    register(Formula(
        "site-wue", kind, "wue", WATER_PER_ENERGY, "WUE = Σ_d s_d WUE_d ÷ Σ_d s_d (weighted by IT energy)",
        (Input("site", "site[].wue", WATER_PER_ENERGY),), _share_mean, WUE,
        (Example({"site": [("60 %", "0.2 L/kWh"), ("40 %", "0.5 L/kWh")]}, "0.32 L/kWh"),),
    ))  # fmt: skip
    register(Formula(
        "site-water-intensity", kind, "water_intensity", WATER_PER_ENERGY,
        "EWIF = Σ_d s_d PUE_d EWIF_d ÷ Σ_d s_d PUE_d (weighted by each site's energy)",
        (Input("pue", "site[].pue", DIMENSIONLESS), Input("water_intensity", "site[].water_intensity", WATER_PER_ENERGY)),
        _energy_weighted, EWIF,
        (Example({"pue": [("50 %", "1.1"), ("50 %", "1.3")],
                  "water_intensity": [("50 %", "2 L/kWh"), ("50 %", "4 L/kWh")]}, "3.08333 L/kWh"),),
    ))  # fmt: skip
    register(Formula(
        "water-onsite", kind, "water_onsite", VOLUME, "W_on = E_IT × WUE",
        (Input("it_energy", "it_energy", ENERGY), Input("wue", "wue", WATER_PER_ENERGY)),
        lambda it_energy, wue: it_energy * wue, LI,
        (Example({"it_energy": "1000 kWh", "wue": "0.3 L/kWh"}, "300 L"),),
    ))  # fmt: skip
    register(Formula(
        "water-offsite", kind, "water_offsite", VOLUME,
        "W_off = E × EWIF  (E = E_IT × PUE, plus idle energy when given)",
        (Input("energy", "energy", ENERGY), Input("water_intensity", "water_intensity", WATER_PER_ENERGY)),
        lambda energy, water_intensity: energy * water_intensity, LI,
        (Example({"energy": "1200 kWh", "water_intensity": "3.1321 L/kWh"}, "3758.52 L"),),
    ))  # fmt: skip
    register(Formula(
        "water-total", kind, "water", VOLUME, "W = W_on + W_off",
        (Input("water_onsite", "water_onsite", VOLUME), Input("water_offsite", "water_offsite", VOLUME)),
        lambda water_onsite, water_offsite: water_onsite + water_offsite, LI,
        (Example({"water_onsite": "300 L", "water_offsite": "3758.52 L"}, "4058.52 L"),),
    ))  # fmt: skip
