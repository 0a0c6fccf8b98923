"""Energy: fleet power, IT energy, datacenter overhead (PUE) and per-query energy."""

from __future__ import annotations

from typing import Any

from nnci.formulas.citations import BLOOM, LLMCARBON, NNCI, NNCI_RULE, PATTERSON
from nnci.formulas.registry import Example, Formula, Input, Item, NotApplicable, Noted, Skip, register
from nnci.units import DIMENSIONLESS, ENERGY, POWER, TIME


def _weighted_sum(items: list[Item]) -> float:
    return sum((item.weight * item.value for item in items), 0.0)


def _weighted_mean(items: list[Item]) -> float:
    return _weighted_sum(items) / sum((item.weight for item in items), 0.0)


register(Formula(
    "power-from-tdp", "device", "power", POWER, "power = tdp",
    (Input("tdp", "tdp", POWER),),
    lambda tdp: Noted(tdp, "TDP used as average power (an upper bound; measured power is usually lower)"),
    "Luccioni et al. 2023 (BLOOM) and Green Algorithms use TDP when measured power is unknown",
    (Example({"tdp": "400 W"}, "400 W"),),
    estimate=True,
))  # fmt: skip

register(Formula(
    "fleet-power", "fleet", "power", POWER, "P = Σ_h n_h × P_h",
    (Input("devices", "devices[].power", POWER),),
    lambda devices: _weighted_sum(devices), NNCI,
    (Example({"devices": [("10000", "300 W"), ("625", "250 W")]}, "3156.25 kW"),),
))  # fmt: skip

FAN = (
    "Fan, Weber, Barroso 2007, Power Provisioning for a Warehouse-sized Computer, ISCA: P = P_idle + u × "
    "(P_max − P_idle); without an idle power, Lannelongue et al. 2021, Green Algorithms, Adv. Sci. 8:2100707: "
    "P = u × P_max (usage factor)"
)


def at_utilization(u: Any, p_max: Any, idle: Any) -> Any:
    """A device's average power at utilisation u: the linear model with an idle power, else u × P_max."""
    return u * p_max if idle is None else idle + u * (p_max - idle)


def _power_at_utilization(utilization: Any, own: list[Item], tdp: list[Item], power: list[Item],
                          idle: list[Item]) -> Noted:  # fmt: skip
    if utilization is None and all(item.value is None for item in own):
        raise Skip
    total: Any = 0.0
    linear = factor = 0
    for mine, rated, average, rest in zip(own, tdp, power, idle, strict=True):
        u = utilization if mine.value is None else mine.value
        p_max = average.value if rated.value is None else rated.value
        if u is None:  # a device kind with no utilisation of its own while the job has none: its power
            if average.value is None:
                raise NotApplicable("a power for every device of the fleet")
            total = total + mine.weight * average.value
            continue
        if p_max is None:
            raise NotApplicable("a tdp (or power) for every device of the fleet, to take the utilisation of")
        total = total + mine.weight * at_utilization(u, p_max, rest.value)
        linear, factor = linear + (rest.value is not None), factor + (rest.value is None)
    notes = []
    if linear:
        notes.append(f"{linear} device kind(s) at P_idle + u × (P_max − P_idle) (linear power model)")
    if factor:
        notes.append(f"{factor} device kind(s) at u × P_max (usage factor: no idle power known)")
    return Noted(total, "; ".join(notes))


def _device_hours_energy(device_hours: Any, utilization: Any, own: Any, tdp: Any, power: Any, idle: Any) -> Noted:
    u = utilization if own is None else own
    if u is None:
        if power is None:
            raise NotApplicable("the device's power (or tdp)")
        return Noted(device_hours * power, "device-hours × power of one device kind (no count)")
    p_max = power if tdp is None else tdp
    if p_max is None:
        raise NotApplicable("the device's tdp (or power), to take the utilisation of")
    model = "usage factor u × P_max" if idle is None else "linear power model"
    return Noted(device_hours * at_utilization(u, p_max, idle), f"device-hours × power at the utilisation ({model})")


for kind in ("training", "inference"):
    register(Formula(
        "power-at-utilization", kind, "it_power", POWER,
        "P_it = Σ_h n_h × (P_idle,h + u_h × (P_max,h − P_idle,h)), or n_h × u_h × P_max,h without P_idle; "
        "P_max = tdp (or power)",
        (Input("utilization", "utilization", DIMENSIONLESS, optional=True),
         Input("own", "fleet.devices[].utilization", DIMENSIONLESS, optional=True),
         Input("tdp", "fleet.devices[].tdp", POWER, optional=True),
         Input("power", "fleet.devices[].power", POWER, optional=True),
         Input("idle", "fleet.devices[].idle_power", POWER, optional=True)),
        _power_at_utilization, FAN,
        # 8 A100 (400 W TDP, 46 W idle) at 60 %: 8 × (46 + 0.6 × 354) = 2,067.2 W; without idle, 8 × 240 W
        (Example({"utilization": "0.6", "own": [("8", None)], "tdp": [("8", "400 W")], "power": [("8", "400 W")],
                  "idle": [("8", "46 W")]}, "2067.2 W"),
         Example({"utilization": "0.6", "own": [("8", None)], "tdp": [("8", "400 W")], "power": [("8", "400 W")],
                  "idle": [("8", None)]}, "1920 W")),
    ))  # fmt: skip
    register(Formula(
        "it-power", kind, "it_power", POWER, "P_it = power of the fleet",
        (Input("fleet", "fleet.power", POWER),), lambda fleet: fleet, NNCI,
        (Example({"fleet": "3156.25 kW"}, "3156.25 kW"),),
    ))  # fmt: skip
    register(Formula(
        "it-energy", kind, "it_energy", ENERGY, "E_it = P_it × Δt",
        (Input("it_power", "it_power", POWER), Input("duration", "duration", TIME)),
        lambda it_power, duration: it_power * duration, NNCI,
        (Example({"it_power": "3156.25 kW", "duration": "360 h"}, "1136250 kWh"),),
    ))  # fmt: skip
    register(Formula(
        "device-hours-energy", kind, "it_energy", ENERGY,
        "E_it = device-hours × P (P at the utilisation when one is given: P_idle + u × (P_max − P_idle))",
        (Input("device_hours", "device_hours", TIME),
         Input("utilization", "utilization", DIMENSIONLESS, optional=True),
         Input("own", "device.utilization", DIMENSIONLESS, optional=True),
         Input("tdp", "device.tdp", POWER, optional=True), Input("power", "device.power", POWER, optional=True),
         Input("idle", "device.idle_power", POWER, optional=True)),
        _device_hours_energy, f"{PATTERSON} (GPU-hours × power); utilisation: {FAN}",
        # 100,000 A100 GPU-hours at 400 W
        (Example({"device_hours": "100000 h", "utilization": None, "own": None, "tdp": "400 W", "power": "400 W",
                  "idle": None}, "40000 kWh"),),
        needs=("device",),
    ))  # fmt: skip
    register(Formula(
        "site-pue", kind, "pue", DIMENSIONLESS, "PUE = Σ_d s_d × PUE_d (shares of the work)",
        (Input("site", "site[].pue", DIMENSIONLESS),), lambda site: _weighted_mean(site), NNCI_RULE,
        (Example({"site": [("60 %", "1.1"), ("40 %", "1.5")]}, "1.26"),),
    ))  # fmt: skip


def _with_overhead(pue: float, it_energy: float, idle_energy: float | None) -> Noted:
    if idle_energy is None:
        return Noted(pue * it_energy, "")
    return Noted(pue * it_energy + idle_energy, "includes the idle energy")


# Each method's energy is the devices' energy times PUE; registered under each method's name and
# citation so the trace says whose formula was applied.
for name, kinds, method, equation, citation, example in (
    ("nn-et", ("training",), "nnci", "E_t = PUE × (Σ_h n_h × P_h) × Δt", NNCI, ("1136250 kWh", "1249875 kWh")),
    ("nn-eq", ("inference",), "nnci", "E_q = PUE × n_srv × P_srv × Δt", NNCI, ("21720 kWh", "23892 kWh")),
    # GPT-3, Table 4: 10,000 V100 at 330 W for 14.8 days
    (
        "patterson-energy",
        ("training", "inference"),
        "patterson",
        "kWh = hours × processors × average system power per processor × PUE",
        PATTERSON,
        ("1172160 kWh", "1289376 kWh"),
    ),
    (
        "llmcarbon-energy",
        ("training", "inference"),
        "llmcarbon",
        "energy_oper = PUE × Σ_i P_i × n_i × t_i",
        LLMCARBON,
        ("1000 MWh", "1100 MWh"),
    ),
):
    for kind in kinds:
        register(Formula(
            name, kind, "energy", ENERGY, equation,
            (Input("pue", "pue", DIMENSIONLESS), Input("it_energy", "it_energy", ENERGY),
             Input("idle_energy", "idle_energy", ENERGY, optional=True)),
            _with_overhead, citation,
            (Example({"pue": "1.1", "it_energy": example[0], "idle_energy": None}, example[1]),), method=method,
        ))  # fmt: skip


def _dynamic(tdp: list[Item], duration: float, idle_energy: float | None) -> Noted:
    counted = [item for item in tdp if item.value is not None]
    if not counted and idle_energy is None:
        raise NotApplicable("a TDP for at least one device of the fleet, or idle_power")
    energy = sum((item.weight * item.value for item in counted), 0.0) * duration
    parts = ["devices at TDP, no PUE (dynamic consumption)"] if counted else []
    left_out = len(tdp) - len(counted)
    if left_out:
        parts.append(f"{left_out} device kind(s) without a TDP left out of the dynamic consumption")
    if idle_energy is not None:
        energy = energy + idle_energy
        parts.append("plus idle consumption")
    return Noted(energy, "; ".join(parts))


for kind in ("training", "inference"):
    register(Formula(
        "bloom-dynamic", kind, "energy", ENERGY, "E_dynamic = Σ_h n_h × TDP_h × Δt  (GPU-hours × TDP)",
        (Input("tdp", "fleet.devices[].tdp", POWER, optional=True), Input("duration", "duration", TIME),
         Input("idle_energy", "idle_energy", ENERGY, optional=True)),
        _dynamic, BLOOM,
        # BLOOM: 1,082,990 GPU-hours at 400 W; the 48 nodes draw only idle power
        (Example({"tdp": [("384", "400 W")], "duration": "2820.286 h", "idle_energy": None}, "433196 kWh"),
         Example({"tdp": [("48", None)], "duration": "2820.286 h", "idle_energy": "256646 kWh"}, "256646 kWh")),
        method="bloom",
        estimate=True,
    ))  # fmt: skip

for kind in ("training", "inference"):
    register(Formula(
        "bloom-device-hours", kind, "energy", ENERGY, "E_dynamic = GPU-hours × TDP (one device kind, no count)",
        (Input("device_hours", "device_hours", TIME), Input("tdp", "device.tdp", POWER),
         Input("idle_energy", "idle_energy", ENERGY, optional=True)),
        lambda device_hours, tdp, idle_energy: Noted(
            device_hours * tdp + (0.0 if idle_energy is None else idle_energy),
            "GPU-hours × TDP, no PUE (dynamic consumption)" + ("" if idle_energy is None else "; plus idle consumption")),
        BLOOM,
        (Example({"device_hours": "1082990 h", "tdp": "400 W", "idle_energy": None}, "433196 kWh"),),
        method="bloom", needs=("device",),
        estimate=True,
    ))  # fmt: skip

for kind in ("training", "inference"):
    register(Formula(
        "idle-energy", kind, "idle_energy", ENERGY, "E_idle = P_idle × Δt",
        (Input("idle_power", "idle_power", POWER), Input("duration", "duration", TIME)),
        lambda idle_power, duration: idle_power * duration, BLOOM + ", §4.3",
        # BLOOM: Infrastructure (27 kW) + Idle (64 kW) levels over 1,082,990 / 384 h
        (Example({"idle_power": "91 kW", "duration": "2820.286 h"}, "256646 kWh"),),
    ))  # fmt: skip
