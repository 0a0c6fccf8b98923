"""Operational carbon: grid intensity (direct or from a generation mix), transport factor, sites."""

from __future__ import annotations

from nnci.formulas.citations import BLOOM, IPCC, LLMCARBON, NNCI, NNCI_RULE, PATTERSON
from nnci.formulas.registry import Example, Formula, Input, Item, Noted, register
from nnci.units import CARBON, DIMENSIONLESS, ENERGY, INTENSITY


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
    estimate=True,
))  # fmt: skip

register(Formula(
    "delivered-intensity", "grid", "delivered_intensity", INTENSITY, "α / τ",
    (Input("intensity", "intensity", INTENSITY), Input("transport", "transport", DIMENSIONLESS)),
    lambda intensity, transport: intensity / transport, NNCI,
    (Example({"intensity": "429 gCO2e/kWh", "transport": "0.95"}, "451.579 gCO2e/kWh"),),
    takes_series=True,  # an hourly α stays a series: α(t) / τ
))  # fmt: skip

register(Formula(
    "site-grid", "datacenter", "intensity", INTENSITY, "α_d / τ_d of the datacenter's grid",
    (Input("grid", "grid.delivered_intensity", INTENSITY),), lambda grid: grid, NNCI,
    (Example({"grid": "451.579 gCO2e/kWh"}, "451.579 gCO2e/kWh"),),
    takes_series=True,
))  # fmt: skip


def _times(energy: float, intensity: float) -> float:
    return energy * intensity


def _share_mean(items: list[Item]) -> float:
    return sum((item.weight * item.value for item in items), 0.0) / sum((item.weight for item in items), 0.0)


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
        "site-intensity-by-share", kind, "intensity", INTENSITY,
        "α = Σ_d s_d α_d/τ_d ÷ Σ_d s_d (when the sites' PUEs are unknown)",
        (Input("intensity", "site[].intensity", INTENSITY),),
        lambda intensity: Noted(_share_mean(intensity), "sites weighted by share of the work (their PUE is unknown)"),
        NNCI_RULE,
        (Example({"intensity": [("60 %", "400 gCO2e/kWh"), ("40 %", "100 gCO2e/kWh")]}, "280 gCO2e/kWh"),),
    ))  # fmt: skip
    register(Formula(
        "patterson-net", kind, "net_operational", CARBON, "tCO2e = kWh × net kg CO2e per kWh ÷ 1000",
        (Input("energy", "energy", ENERGY), Input("net_intensity", "net_intensity", INTENSITY)),
        lambda energy, net_intensity: energy * net_intensity, PATTERSON,
        # Switch Transformer, Table 4: 179 MWh at 0.330 kg/kWh net
        (Example({"energy": "179 MWh", "net_intensity": "330 gCO2e/kWh"}, "59.07 tCO2e"),),
    ))  # fmt: skip
    register(Formula(
        "site-net-intensity", kind, "net_intensity", INTENSITY,
        "net α = Σ_d s_d PUE_d net α_d ÷ Σ_d s_d PUE_d",
        (Input("pue", "site[].pue", DIMENSIONLESS), Input("intensity", "site[].net_intensity", INTENSITY)),
        _site_intensity, NNCI_RULE,
        (Example({"pue": [("100 %", "1.09")], "intensity": [("100 %", "177 gCO2e/kWh")]}, "177 gCO2e/kWh"),),
    ))  # fmt: skip
    # Every method computes operational carbon as energy × intensity; each is registered under its
    # own name and citation, so the trace says whose formula was applied.
    for name, method, equation, citation, example in (
        ("nn-c", "nnci", "C = Σ_d E_d × α_d / τ_d", NNCI, ("1273767 kWh", "451.578947 gCO2e/kWh", "575.206 tCO2e")),
        (
            "patterson-carbon",
            "patterson",
            "tCO2e = kWh × kg CO2e per kWh ÷ 1000 (gross)",
            PATTERSON,
            ("1287 MWh", "429 gCO2e/kWh", "552.123 tCO2e"),
        ),
        (
            "llmcarbon-carbon",
            "llmcarbon",
            "CO2eq_oper = energy_oper × carb_inten",
            LLMCARBON,
            ("91.09 MWh", "413 gCO2e/kWh", "37.62 tCO2e"),
        ),
        (
            "bloom-carbon",
            "bloom",
            "CO2eq = energy × grid carbon intensity",
            BLOOM,
            ("433196 kWh", "57 gCO2e/kWh", "24.69 tCO2e"),
        ),
    ):
        register(Formula(
            name, kind, "operational", CARBON, equation,
            (Input("energy", "energy", ENERGY), Input("intensity", "intensity", INTENSITY)),
            _times, citation, (Example({"energy": example[0], "intensity": example[1]}, example[2]),), method=method,
        ))  # fmt: skip
    register(Formula(
        "sum", kind, "total", CARBON, "total = operational + embodied",
        (Input("operational", "operational", CARBON), Input("embodied", "embodied", CARBON)),
        lambda operational, embodied: operational + embodied, NNCI_RULE,
        (Example({"operational": "575.206 tCO2e", "embodied": "8810.68 tCO2e"}, "9385.886 tCO2e"),),
    ))  # fmt: skip
