"""Market-based carbon and offsets, reported beside the location-based figures, never in their place.

The GHG Protocol's Scope 2 Guidance asks for both: location-based (the grid's average intensity:
`operational`) and market-based (after contracts for carbon-free energy: `net_operational`). An
offset bought for the emissions is reported as its own amount (`offset_carbon`) and subtracted
from neither.
"""

from __future__ import annotations

from nnci.formulas.registry import Example, Formula, Input, Noted, register
from nnci.units import CARBON, DIMENSIONLESS, INTENSITY

GHG_SCOPE2 = (
    "GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015): location-based and market-based figures reported side by "
    "side (dual reporting)"
)
OFFSETS = (
    "GHG Protocol Corporate Standard (2004), ch. 8: offsets are reported separately from the inventory, "
    "never deducted from it"
)

register(Formula(
    "grid-net-from-cfe", "grid", "net_intensity", INTENSITY, "net α = (1 − CFE share) × α / τ",
    (Input("cfe", "cfe", DIMENSIONLESS), Input("intensity", "delivered_intensity", INTENSITY)),
    lambda cfe, intensity: (1 - cfe) * intensity, GHG_SCOPE2,
    (Example({"cfe": "0.6", "intensity": "400 gCO2e/kWh"}, "160 gCO2e/kWh"),),
))  # fmt: skip

register(Formula(
    "site-net-from-cfe", "datacenter", "net_intensity", INTENSITY, "net α = (1 − CFE share) × α of the site",
    (Input("cfe", "cfe", DIMENSIONLESS), Input("intensity", "intensity", INTENSITY)),
    lambda cfe, intensity: (1 - cfe) * intensity, GHG_SCOPE2,
    (Example({"cfe": "0.9", "intensity": "400 gCO2e/kWh"}, "40 gCO2e/kWh"),),
))  # fmt: skip

register(Formula(
    "site-grid-net", "datacenter", "net_intensity", INTENSITY, "net α of the datacenter's grid",
    (Input("grid", "grid.net_intensity", INTENSITY),), lambda grid: grid, GHG_SCOPE2,
    (Example({"grid": "160 gCO2e/kWh"}, "160 gCO2e/kWh"),),
))  # fmt: skip

for kind in ("training", "inference"):
    register(Formula(
        "offset", kind, "offset_carbon", CARBON, "offset = share offset × operational (not subtracted)",
        (Input("offset", "offset", DIMENSIONLESS), Input("operational", "operational", CARBON)),
        lambda offset, operational: Noted(offset * operational, "reported beside the emissions, not subtracted"),
        OFFSETS,
        # Llama 2 model card: 539 tCO2e, 100 % offset
        (Example({"offset": "1", "operational": "539 tCO2e"}, "539 tCO2e"),),
    ))  # fmt: skip
