"""Operational carbon: grid intensity (direct or from a generation mix), transport factor, sites."""

from __future__ import annotations

from nnci.formulas.citations import IPCC, NNCI, NNCI_RULE
from nnci.formulas.registry import Example, Formula, Input, Item, Noted, register
from nnci.units import CARBON, DIMENSIONLESS, ENERGY, INTENSITY, QUERY


def _mix(mix: list[Item]) -> float:
    return sum((item.weight * item.value for item in mix), 0.0) / sum((item.weight for item in mix), 0.0)


register(Formula(
    "grid-mix", "grid", "intensity", INTENSITY, "α = Σ_s share_s × α_s",
    (Input("mix", "mix[].intensity", INTENSITY),), _mix, IPCC,
    (Example({"mix": [("45 %", "820 gCO2e/kWh"), ("55 %", "12 gCO2e/kWh")]}, "375.6 gCO2e/kWh"),),
))  # fmt: skip

register(Formula(
    "default-transport", "grid", "transport", DIMENSIONLESS, "τ = 1",
    (), lambda: Noted(1.0, "τ defaults to 1 (no transport loss)"), NNCI,
    (Example({}, "1"),),
))  # fmt: skip

register(Formula(
    "delivered-intensity", "grid", "delivered_intensity", INTENSITY, "α / τ",
    (Input("intensity", "intensity", INTENSITY), Input("transport", "transport", DIMENSIONLESS)),
    lambda intensity, transport: intensity / transport, NNCI,
    (Example({"intensity": "429 gCO2e/kWh", "transport": "0.95"}, "451.579 gCO2e/kWh"),),
))  # fmt: skip

register(Formula(
    "site-grid", "datacenter", "intensity", INTENSITY, "α_d / τ_d of the datacenter's grid",
    (Input("grid", "grid.delivered_intensity", INTENSITY),), lambda grid: grid, NNCI,
    (Example({"grid": "451.579 gCO2e/kWh"}, "451.579 gCO2e/kWh"),),
))  # fmt: skip


def _site_intensity(pue: list[Item], intensity: list[Item]) -> float:
    energy_weights = [p.weight * p.value for p in pue]
    weighted = sum((w * i.value for w, i in zip(energy_weights, intensity, strict=True)), 0.0)
    return weighted / sum(energy_weights, 0.0)


for kind in ("training", "inference"):
    register(Formula(
        "site-intensity", kind, "intensity", INTENSITY,
        "α = Σ_d s_d PUE_d α_d/τ_d ÷ Σ_d s_d PUE_d (weighted by each site's energy)",
        (Input("pue", "site[].pue", DIMENSIONLESS), Input("intensity", "site[].intensity", INTENSITY)),
        _site_intensity, NNCI_RULE,
        (Example({"pue": [("60 %", "1.1"), ("40 %", "1.2")],
                  "intensity": [("60 %", "400 gCO2e/kWh"), ("40 %", "100 gCO2e/kWh")]}, "273.684 gCO2e/kWh"),),
    ))  # fmt: skip
    register(Formula(
        "nn-c", kind, "operational", CARBON, "C = Σ_d E_d × α_d / τ_d",
        (Input("energy", "energy", ENERGY), Input("intensity", "intensity", INTENSITY)),
        lambda energy, intensity: energy * intensity, NNCI,
        (Example({"energy": "1273767 kWh", "intensity": "451.578947 gCO2e/kWh"}, "575.206 tCO2e"),),
    ))  # fmt: skip
    register(Formula(
        "sum", kind, "total", CARBON, "total = operational + embodied",
        (Input("operational", "operational", CARBON), Input("embodied", "embodied", CARBON)),
        lambda operational, embodied: operational + embodied, NNCI,
        (Example({"operational": "575.206 tCO2e", "embodied": "8810.68 tCO2e"}, "9385.886 tCO2e"),),
    ))  # fmt: skip

register(Formula(
    "carbon-per-query", "inference", "carbon_per_query", CARBON / QUERY, "c = total / queries",
    (Input("total", "total", CARBON), Input("queries", "queries", QUERY)),
    lambda total, queries: total / queries, NNCI_RULE,
    (Example({"total": "340 kgCO2e", "queries": "230768 queries"}, "1.47334 gCO2e/query"),),
))  # fmt: skip
