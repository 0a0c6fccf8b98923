"""What each kind of block may contain: its quantities, their dimensions and plausible ranges.

One table serves the resolver (which names exist), the checker (dimensions, ranges) and the
engine (formula outputs are quantities of a kind, so a user may also give any of them directly:
a published energy figure overrides the formula that would derive it).
"""

from __future__ import annotations

from typing import Any

import attrs

from nnci.units import (
    AREA,
    CARBON,
    DIMENSIONLESS,
    ENERGY,
    FLOP,
    INFORMATION,
    INTENSITY,
    LENGTH,
    POWER,
    QUERY,
    THROUGHPUT,
    TIME,
    TOKEN,
    Dimension,
)

METHODS = ("nnci", "patterson", "llmcarbon", "bloom")
KINDS = ("grid", "source", "device", "fleet", "datacenter", "training", "inference")
JOB_KINDS = ("training", "inference")
COUNTED = (QUERY, TOKEN, FLOP)  # a bare number is accepted where one of these is expected


@attrs.frozen
class Range:
    """Values outside [low, high] are an error (impossible) or a warning (implausible)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    severity: str = "error"
    reason: str = ""

    def violated(self, value: Any) -> Any:
        """Whether the value lies outside: a bool, or per row for an array (operators only)."""
        outside: Any = False
        if self.low is not None:
            outside = (value < self.low) | ((value == self.low) & self.low_open)
        if self.high is not None:
            outside = outside | (value > self.high)
        return outside


@attrs.frozen
class Spec:
    """One named quantity of a kind. `type` is quantity, string, ref, map, fleet or method."""

    name: str
    doc: str
    type: str = "quantity"
    dim: Dimension | None = None
    target: str | None = None  # the kind a ref or map key names
    ranges: tuple[Range, ...] = ()
    shares: bool = False  # a map whose values must sum to 100 %


def q(name: str, dim: Dimension, doc: str, *ranges: Range) -> Spec:
    return Spec(name, doc, "quantity", dim, ranges=ranges)


def text(name: str, doc: str) -> Spec:
    return Spec(name, doc, "string")


NON_NEGATIVE = Range(0, reason="cannot be negative")
POSITIVE = Range(0, low_open=True, reason="must be positive")

_LABEL = text("label", "a human-readable name")
_SOURCES = (_LABEL, text("provider", "who publishes or operates it"), q("year", DIMENSIONLESS, "year of the data"))

SHARE = Range(0, 1, low_open=True, reason="must lie in (0, 100 %]")

_JOB = (
    Spec("method", "the published method to follow: " + ", ".join(METHODS), "method"),
    Spec("rows", "a table of jobs (`rows = jobs`): one job per row, `jobs.<column>` its cells", "rows"),
    Spec("fleet", "the hardware: a fleet block or an inline map of device counts", "fleet", target="fleet"),
    Spec("site", "where it runs: a datacenter, or a map of datacenters to shares of the work", "map",
         DIMENSIONLESS, "datacenter", (NON_NEGATIVE,), shares=True),
    q("duration", TIME, "wall-clock time the fleet runs", NON_NEGATIVE),
    Spec("start", "when the job starts: an ISO 8601 date and time with a timezone (`2024-03-04T09:00Z`), or a "
         "column of them (`jobs.start`); over an hourly grid intensity, operational carbon integrates over "
         "[start, start + duration]", "instant", TIME),
    q("it_power", POWER, "power drawn by the fleet's devices", NON_NEGATIVE),
    q("it_energy", ENERGY, "energy drawn by the devices, before datacenter overhead", NON_NEGATIVE),
    q("pue", DIMENSIONLESS, "power usage effectiveness of the sites, weighted by share",
      Range(1, reason="PUE below 1 is impossible")),
    q("intensity", INTENSITY, "carbon intensity of the energy used, weighted by site energy", NON_NEGATIVE),
    q("energy", ENERGY, "facility energy: IT energy times PUE, plus idle energy when given", NON_NEGATIVE),
    q("idle_power", POWER, "power the cluster draws outside the devices' work (infrastructure, idle nodes)",
      NON_NEGATIVE),
    q("idle_energy", ENERGY, "energy the cluster draws outside the devices' work over the job", NON_NEGATIVE),
    q("operational", CARBON, "carbon from the energy used", NON_NEGATIVE),
    q("embodied", CARBON, "share of the hardware's manufacturing carbon charged to this job", NON_NEGATIVE),
    q("total", CARBON, "operational plus embodied carbon", NON_NEGATIVE),
    q("accelerators", DIMENSIONLESS, "devices that do the computing; by default every device of the fleet (set it "
      "when the fleet also holds hosts)", NON_NEGATIVE),
    q("device_hours", TIME, "accelerator-hours: accelerators × duration", NON_NEGATIVE),
    q("compute", FLOP, "total floating-point operations", NON_NEGATIVE),
    q("throughput", THROUGHPUT, "achieved FLOP/s per accelerator", NON_NEGATIVE),
    q("peak", THROUGHPUT, "peak FLOP/s per accelerator", NON_NEGATIVE),
    q("efficiency", DIMENSIONLESS, "achieved share of peak throughput (hardware efficiency)", SHARE),
    q("parameters", DIMENSIONLESS, "model parameters", NON_NEGATIVE),
    q("activated_parameters", DIMENSIONLESS, "parameters active per token (mixture of experts); dense: all",
      NON_NEGATIVE),
    q("tokens", TOKEN, "tokens processed (trained on, or generated and read)", NON_NEGATIVE),
    q("net_intensity", INTENSITY, "market-based intensity after carbon-free energy, weighted by site energy",
      NON_NEGATIVE),
    q("net_operational", CARBON, "operational carbon at the net (market-based) intensity", NON_NEGATIVE),
    q("usage", DIMENSIONLESS, "share of its lifetime the hardware is in use (for amortising embodied carbon)", SHARE),
)  # fmt: skip

SCHEMA: dict[str, dict[str, Spec]] = {
    kind: {spec.name: spec for spec in specs}
    for kind, specs in {
        "source": (_LABEL, q("intensity", INTENSITY, "lifecycle emissions per kWh generated", NON_NEGATIVE)),
        "grid": (
            *_SOURCES,
            text("zone", "country code or grid zone"),
            text("metric", "how the intensity was measured"),
            q("intensity", INTENSITY, "average carbon intensity α of electricity", NON_NEGATIVE,
              Range(high=1500e-3 / 3.6e6, severity="warning", reason="no grid emits more than ~1,500 gCO2e/kWh")),
            q("transport", DIMENSIONLESS, "energy transport factor τ: share of generated electricity that arrives",
              Range(0, 1, low_open=True, reason="τ must lie in (0, 1]")),
            Spec("mix", "generation sources and their shares", "map", DIMENSIONLESS, "source",
                 (NON_NEGATIVE,), shares=True),
            q("delivered_intensity", INTENSITY, "α/τ: carbon per kWh delivered to the site", NON_NEGATIVE),
        ),
        "device": (
            _LABEL,
            text("vendor", "manufacturer"),
            text("form_factor", "SXM, PCIe, OAM, ..."),
            q("tdp", POWER, "thermal design power", NON_NEGATIVE),
            q("power", POWER, "average power drawn per device while the job runs", NON_NEGATIVE,
              Range(high=5000, severity="warning", reason="more than 5 kW per device is unusual")),
            q("peak_fp16", THROUGHPUT, "dense FP16/BF16 peak throughput", NON_NEGATIVE),
            q("peak_fp32", THROUGHPUT, "FP32 peak throughput", NON_NEGATIVE),
            q("memory", INFORMATION, "device memory", NON_NEGATIVE),
            q("die_area", AREA, "die area", NON_NEGATIVE),
            q("process_node", LENGTH, "process node (marketing name)", NON_NEGATIVE),
            q("release_year", DIMENSIONLESS, "year of release"),
            q("embodied", CARBON, "manufacturing (embodied) carbon of one device", NON_NEGATIVE),
            text("embodied_boundary", "what the embodied figure covers: die only, card, share of a baseboard"),
            q("lifetime", TIME, "service life over which embodied carbon is amortised", POSITIVE),
            q("manufacturing_energy", ENERGY, "energy used to manufacture one device", NON_NEGATIVE),
            Spec("made_in", "the grid that powered manufacturing", "ref", target="grid"),
            q("carbon_per_area", CARBON / AREA, "manufacturing carbon per die area (by process node)", NON_NEGATIVE),
            q("capacity", INFORMATION, "memory or storage capacity an embodied estimate scales with", NON_NEGATIVE),
            q("carbon_per_capacity", CARBON / INFORMATION, "manufacturing carbon per byte of capacity", NON_NEGATIVE),
        ),
        "fleet": (
            Spec("devices", "device counts", "map", DIMENSIONLESS, "device", (NON_NEGATIVE,)),
            q("power", POWER, "power drawn by all devices of the fleet", NON_NEGATIVE),
            q("count", DIMENSIONLESS, "number of devices", NON_NEGATIVE),
            q("peak", THROUGHPUT, "peak FLOP/s per device (dense FP16/BF16), averaged over devices", NON_NEGATIVE),
        ),
        "datacenter": (
            *_SOURCES,
            q("pue", DIMENSIONLESS, "power usage effectiveness", Range(1, reason="PUE below 1 is impossible"),
              Range(high=3, severity="warning", reason="PUE above 3 is unusual")),
            Spec("grid", "the grid that powers it", "ref", target="grid"),
            q("intensity", INTENSITY, "carbon per kWh delivered to the site (α/τ)", NON_NEGATIVE),
            q("net_intensity", INTENSITY, "market-based intensity after the operator's carbon-free energy",
              NON_NEGATIVE),
        ),
        "training": _JOB,
        "inference": (
            *_JOB,
            q("queries", QUERY, "number of queries served", NON_NEGATIVE),
            q("energy_per_query", ENERGY / QUERY, "facility energy per query", NON_NEGATIVE),
            q("carbon_per_query", CARBON / QUERY, "total carbon per query", NON_NEGATIVE),
        ),
    }.items()
}  # fmt: skip

# Quantities nnci computes from others (sums, products, weighted means). When one is unknown, the
# message names the inputs beneath it; for any other quantity it names the quantity itself first.
_JOB_AGGREGATES = frozenset(
    {"it_power", "it_energy", "pue", "intensity", "energy", "operational", "embodied", "total", "net_intensity",
     "net_operational", "idle_energy", "energy_per_query", "carbon_per_query", "activated_parameters", "accelerators"}
)  # fmt: skip
AGGREGATES: dict[str, frozenset[str]] = {
    "training": _JOB_AGGREGATES,
    "inference": _JOB_AGGREGATES,
    "grid": frozenset({"delivered_intensity"}),
    "fleet": frozenset({"power", "count", "peak"}),
    "datacenter": frozenset({"intensity"}),
}

# Quantities reported for every job and summed over the program; the optional ones when known.
REPORTED = ("energy", "operational", "embodied", "total")
REPORTED_IF_KNOWN = ("net_operational",)
RESERVED_NAMES = ("total",)
# What `total.<quantity>` may name: quantities that add up over jobs (per-query figures and
# weighted means do not).
ADDITIVE = ("energy", "it_energy", "idle_energy", "operational", "net_operational", "embodied", "total", "compute",
            "device_hours", "queries", "tokens")  # fmt: skip


def spec(kind: str, name: str) -> Spec | None:
    return SCHEMA[kind].get(name)
