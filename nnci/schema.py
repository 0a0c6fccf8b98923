"""The declaration of every quantity and every kind of block, each written once.

`QUANTITIES` declares each quantity: its dimension, what it means, its plausible ranges, whether
it adds up over jobs (`total.<name>`, the sums over a table's rows), whether every job reports it,
and the unit results show it in. `BLOCK_KINDS` declares each kind of block: its fields (quantities
named from `QUANTITIES`, plus text, references and maps), the quantities nnci computes from others,
whether it is a job, and the figures `nnci catalog` shows. Everything else reads these two tables:
the resolver (which names exist), the checker (dimensions, ranges), the engine (any formula output
may also be given directly), the output (columns, JSON fields, units), the CLI and the catalog.

Adding a quantity is one entry in `QUANTITIES`, its name in the kinds that have it, and the formula
module that derives it (`nnci/formulas/`).
"""

from __future__ import annotations

from typing import Any, Literal

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
    VOLUME,
    Dimension,
    display_unit,
)

METHODS = ("nnci", "patterson", "llmcarbon", "bloom")
ROLES = ("accelerator", "host")  # a device without a role is an accelerator
COUNTED = (QUERY, TOKEN, FLOP)  # a bare number is accepted where one of these is expected
RESERVED_NAMES = ("total",)
# Names that mean something else, or meant something else before: the help an unknown field gets.
FORMER_NAMES = {
    "usage": "`usage` is now `lifetime_usage` (the share of its lifetime the hardware is in use, read by the "
    "`bloom` method's embodied carbon); for the share of peak power a job draws, write `utilization`",
}


@attrs.frozen
class Range:
    """Values outside [low, high] are an error (impossible) or a warning (implausible)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    severity: str = "error"
    reason: str = ""
    whole: bool = False  # the value must also be a whole number (a count of devices)

    def violated(self, value: Any) -> Any:
        """Whether the value lies outside: a bool, or per row for an array (operators only)."""
        outside: Any = False
        if self.whole:
            outside = value % 1 != 0
        if self.low is not None:
            outside = (value < self.low) | ((value == self.low) & self.low_open)
        if self.high is not None:
            outside = outside | (value > self.high)
        return outside


NON_NEGATIVE = Range(0, reason="cannot be negative")
POSITIVE = Range(0, low_open=True, reason="must be positive")
SHARE = Range(0, 1, low_open=True, reason="must lie in (0, 100 %]")
WHOLE = Range(whole=True, reason="a count of devices is a whole number")
MANY_DEVICES = Range(high=1e7, severity="warning",
                     reason="more than 10,000,000 of one device in one fleet is more than any cluster built")  # fmt: skip

Reported = Literal["always", "if_known", ""]


@attrs.frozen
class QuantitySpec:
    """One quantity, declared once.

    `summed`: it adds up over jobs (so `total.<name>` exists) and over the rows of a table.
    `reported`: "always" is a headline figure of every job (the table's columns, the JSON fields,
    the totals); "if_known" is shown beside them when some job has it; "" only on request.
    `unit`: the unit results give it in (JSON, CSV, `--rows`); the default is the dimension's.
    `large`: the table switches to this unit once the largest total reaches `threshold` (in `unit`).
    """

    name: str
    dim: Dimension
    doc: str
    ranges: tuple[Range, ...] = ()
    summed: bool = False
    reported: Reported = ""
    unit: str | None = None
    large: tuple[str, float] | None = None
    agrees: bool = False  # given beside the inputs that derive it, it must agree with them (E420)

    @property
    def report_unit(self) -> str:
        return display_unit(self.dim) if self.unit is None else self.unit


def _declare(*specs: QuantitySpec) -> dict[str, QuantitySpec]:
    table: dict[str, QuantitySpec] = {}
    for spec in specs:
        if spec.name in table:
            raise ValueError(f"quantity `{spec.name}` is declared twice")
        table[spec.name] = spec
    return table


def _q(name: str, dim: Dimension, doc: str, *ranges: Range, **options: Any) -> QuantitySpec:
    return QuantitySpec(name, dim, doc, ranges, **options)


_PUE = Range(1, reason="PUE below 1 is impossible")

# Every quantity any block may hold. Order matters only among reported ones: it is the order of
# the columns and of the JSON fields.
QUANTITIES: dict[str, QuantitySpec] = _declare(
    # -- the headline figures of every job (the JSON contract of DESIGN §4) --
    _q("energy", ENERGY, "facility energy: IT energy times PUE, plus idle energy when given", NON_NEGATIVE,
       summed=True, reported="always", unit="kWh", large=("MWh", 1e4), agrees=True),
    _q("operational", CARBON, "carbon from the energy used (location-based)", NON_NEGATIVE,
       summed=True, reported="always", unit="kgCO2e", large=("tCO2e", 1e3), agrees=True),
    _q("embodied", CARBON, "share of the hardware's manufacturing carbon charged to this job", NON_NEGATIVE,
       summed=True, reported="always", unit="kgCO2e", large=("tCO2e", 1e3)),
    _q("total", CARBON, "operational plus embodied carbon", NON_NEGATIVE,
       summed=True, reported="always", unit="kgCO2e", large=("tCO2e", 1e3), agrees=True),
    _q("net_operational", CARBON, "operational carbon at the net (market-based) intensity", NON_NEGATIVE,
       summed=True, reported="if_known", unit="kgCO2e", large=("tCO2e", 1e3), agrees=True),
    # -- water (Li et al. 2023): on site for cooling, off site in generating the electricity --
    _q("water_onsite", VOLUME, "water used on site (cooling, humidification): IT energy × WUE", NON_NEGATIVE,
       summed=True, reported="if_known", unit="L", large=("m3", 1e4)),
    _q("water_offsite", VOLUME, "water consumed generating the electricity: energy × the grid's water intensity",
       NON_NEGATIVE, summed=True, reported="if_known", unit="L", large=("m3", 1e4)),
    _q("water", VOLUME, "water footprint: on-site plus off-site", NON_NEGATIVE,
       summed=True, reported="if_known", unit="L", large=("m3", 1e4)),
    _q("wue", VOLUME / ENERGY, "water usage effectiveness (The Green Grid): site water ÷ IT energy", NON_NEGATIVE,
       Range(high=5e-3 / 3.6e6, severity="warning",
             reason="WUE above 5 L/kWh is unusual (hyperscale fleets report 0.1-0.5 L/kWh)")),
    _q("water_intensity", VOLUME / ENERGY, "water consumed per kWh of electricity generated (EWIF)", NON_NEGATIVE,
       Range(high=50e-3 / 3.6e6, severity="warning", reason="more than 50 L/kWh of electricity is unusual")),
    # -- jobs --
    _q("duration", TIME, "wall-clock time the fleet runs", NON_NEGATIVE, Range(0, low_open=True,
       reason="a job that runs for no time uses nothing: give its duration, or leave it out to derive it"), agrees=True),
    _q("it_power", POWER, "power drawn by the fleet's devices", NON_NEGATIVE),
    _q("it_energy", ENERGY, "energy drawn by the devices, before datacenter overhead", NON_NEGATIVE, summed=True, agrees=True),
    _q("pue", DIMENSIONLESS, "power usage effectiveness", _PUE),
    _q("intensity", INTENSITY, "carbon intensity of the energy used", NON_NEGATIVE),
    _q("idle_power", POWER, "power the cluster draws outside the devices' work (infrastructure, idle nodes)",
       NON_NEGATIVE),
    _q("idle_energy", ENERGY, "energy the cluster draws outside the devices' work over the job", NON_NEGATIVE,
       summed=True),
    _q("accelerators", DIMENSIONLESS, "devices that do the computing; by default the fleet's devices whose role is "
       "accelerator (hosts are not counted)", NON_NEGATIVE, WHOLE),
    _q("device_hours", TIME, "accelerator-hours: accelerators × duration", NON_NEGATIVE, summed=True, agrees=True),
    _q("compute", FLOP, "total floating-point operations", NON_NEGATIVE, summed=True, agrees=True),
    _q("throughput", THROUGHPUT, "achieved FLOP/s per accelerator", NON_NEGATIVE),
    _q("peak", THROUGHPUT, "peak FLOP/s per accelerator", NON_NEGATIVE),
    _q("efficiency", DIMENSIONLESS, "achieved share of peak throughput (hardware efficiency)", SHARE),
    _q("parameters", DIMENSIONLESS, "model parameters", NON_NEGATIVE),
    _q("activated_parameters", DIMENSIONLESS, "parameters active per token (mixture of experts); dense: all",
       NON_NEGATIVE),
    _q("tokens", TOKEN, "tokens processed (trained on, or generated and read)", NON_NEGATIVE, summed=True),
    _q("net_intensity", INTENSITY, "market-based intensity after carbon-free energy", NON_NEGATIVE),
    _q("cfe", DIMENSIONLESS, "share of the electricity matched by carbon-free energy contracts (market-based)",
       Range(0, 1, reason="must lie in [0, 100 %]")),
    _q("offset", DIMENSIONLESS, "share of the job's operational emissions offset (reported, never subtracted)",
       Range(0, 1, reason="must lie in [0, 100 %]")),
    _q("offset_carbon", CARBON, "carbon offset for the job: offset share × operational; not subtracted from any "
       "figure", NON_NEGATIVE, summed=True, reported="if_known", unit="kgCO2e", large=("tCO2e", 1e3)),
    _q("energy_per_token", ENERGY / TOKEN, "facility energy per token", NON_NEGATIVE, unit="J/token"),
    _q("carbon_per_token", CARBON / TOKEN, "total carbon (operational and embodied) per token", NON_NEGATIVE,
       unit="mgCO2e/token"),
    _q("utilization", DIMENSIONLESS, "average share of its peak power a device draws above idle while the job runs "
       "(P = P_idle + u × (P_max − P_idle))", SHARE),
    _q("lifetime_usage", DIMENSIONLESS, "share of its lifetime the hardware is in use (BLOOM's embodied carbon per "
       "hour of use); not the utilisation of a job", SHARE),
    _q("queries", QUERY, "number of queries served", NON_NEGATIVE, summed=True, agrees=True),
    _q("energy_per_query", ENERGY / QUERY, "facility energy per query", NON_NEGATIVE, agrees=True),
    _q("carbon_per_query", CARBON / QUERY, "total carbon (operational and embodied) per query", NON_NEGATIVE),
    # -- grids and sources --
    _q("year", DIMENSIONLESS, "year of the data"),
    _q("transport", DIMENSIONLESS, "energy transport factor τ: share of generated electricity that arrives",
       Range(0, 1, low_open=True, reason="τ must lie in (0, 1]")),
    _q("delivered_intensity", INTENSITY, "α/τ: carbon per kWh delivered to the site", NON_NEGATIVE),
    # -- devices and fleets --
    _q("tdp", POWER, "thermal design power", NON_NEGATIVE),
    _q("power", POWER, "average power drawn per device while the job runs", NON_NEGATIVE),
    _q("peak_fp16", THROUGHPUT, "dense FP16/BF16 peak throughput", NON_NEGATIVE),
    _q("peak_fp32", THROUGHPUT, "FP32 peak throughput", NON_NEGATIVE),
    _q("memory", INFORMATION, "device memory", NON_NEGATIVE),
    _q("die_area", AREA, "die area", NON_NEGATIVE),
    _q("process_node", LENGTH, "process node (marketing name)", NON_NEGATIVE),
    _q("release_year", DIMENSIONLESS, "year of release"),
    _q("lifetime", TIME, "service life over which embodied carbon is amortised", POSITIVE),
    _q("manufacturing_energy", ENERGY, "energy used to manufacture one device", NON_NEGATIVE),
    _q("carbon_per_area", CARBON / AREA, "manufacturing carbon per die area (by process node)", NON_NEGATIVE),
    _q("capacity", INFORMATION, "memory or storage capacity an embodied estimate scales with", NON_NEGATIVE),
    _q("carbon_per_capacity", CARBON / INFORMATION, "manufacturing carbon per byte of capacity", NON_NEGATIVE),
    _q("count", DIMENSIONLESS, "number of devices", NON_NEGATIVE, WHOLE),
)  # fmt: skip


@attrs.frozen
class Spec:
    """One field of a kind of block. `type` is quantity, string, ref, map, fleet, method or rows.
    A quantity field's dimension and ranges come from `QUANTITIES` (plus ranges of its own kind)."""

    name: str
    doc: str
    type: str = "quantity"
    dim: Dimension | None = None
    target: str | None = None  # the kind a ref or map key names
    ranges: tuple[Range, ...] = ()
    shares: bool = False  # a map whose values must sum to 100 %
    choices: tuple[str, ...] = ()  # the values a string field may take (none: any)


def q(name: str, doc: str | None = None, *ranges: Range) -> Spec:
    """A quantity field: the declared quantity, with a doc saying what it is in this kind, and any
    ranges this kind adds (a grid's plausible intensity, a datacenter's unusual PUE)."""
    quantity = QUANTITIES[name]
    return Spec(name, doc or quantity.doc, "quantity", quantity.dim, ranges=(*quantity.ranges, *ranges))


def text(name: str, doc: str) -> Spec:
    return Spec(name, doc, "string")


@attrs.frozen
class KindSpec:
    """One kind of block: its fields, the quantities nnci computes from others (when one is unknown,
    the message names the inputs beneath it rather than the quantity itself), whether it is a job,
    and the figures `nnci catalog` shows for its records."""

    name: str
    doc: str
    fields: tuple[Spec, ...]
    derived: frozenset[str] = frozenset()
    job: bool = False
    catalog: tuple[str, ...] = ()


_LABEL = text("label", "a human-readable name")
_SOURCES = (_LABEL, text("provider", "who publishes or operates it"), q("year"))

_JOB = (
    Spec("method", "the published method to follow: " + ", ".join(METHODS), "method"),
    Spec("rows", "a table of jobs (`rows = jobs`): one job per row, `jobs.<column>` its cells", "rows"),
    Spec("fleet", "the hardware: a fleet block or an inline map of device counts", "fleet", target="fleet"),
    Spec("device", "one kind of device, for a job given as its device-hours without a count (`device = h100`, "
         "`device_hours = 1_300_000 h`)", "ref", target="device"),
    Spec("site", "where it runs: a datacenter, or a map of datacenters to shares of the work", "map",
         DIMENSIONLESS, "datacenter", (NON_NEGATIVE,), shares=True),
    q("duration"),
    Spec("start", "when the job starts: an ISO 8601 date and time with a timezone (`2024-03-04T09:00Z`), or a "
         "column of them (`jobs.start`); over an hourly grid intensity, operational carbon integrates over "
         "[start, start + duration]", "instant", TIME),
    Spec("profile", "how the job's energy is spread over its interval: a series of utilisation or power "
         "(`series(...)` or a column of a series file) whose first value is the job's first interval; by "
         "default uniform. It shapes when the energy is drawn, not how much", "profile", DIMENSIONLESS),
    q("it_power"),
    q("it_energy"),
    q("pue", "power usage effectiveness of the sites, weighted by share"),
    q("intensity", "carbon intensity of the energy used, weighted by site energy"),
    q("energy"),
    q("idle_power"),
    q("idle_energy"),
    q("operational"),
    q("embodied"),
    q("total"),
    q("accelerators"),
    q("device_hours"),
    q("compute"),
    q("throughput"),
    q("peak"),
    q("efficiency"),
    q("parameters"),
    q("activated_parameters"),
    q("tokens"),
    q("net_intensity", "market-based intensity after carbon-free energy, weighted by site energy"),
    q("net_operational"),
    q("offset"),
    q("offset_carbon"),
    q("lifetime_usage"),
    q("utilization", "utilisation of every device of the fleet (a device's own `utilization` wins)"),
    q("wue", "WUE of the sites, weighted by share of the work (of IT energy)"),
    q("water_intensity", "water intensity of the sites' electricity, weighted by site energy"),
    q("water_onsite"),
    q("water_offsite"),
    q("water"),
)  # fmt: skip
_JOB_DERIVED = frozenset(
    {"it_power", "it_energy", "pue", "intensity", "energy", "operational", "embodied", "total", "net_intensity",
     "net_operational", "idle_energy", "energy_per_query", "carbon_per_query", "activated_parameters", "accelerators",
     "wue", "water_intensity", "water_onsite", "water_offsite", "water", "offset_carbon", "energy_per_token",
     "carbon_per_token"}
)  # fmt: skip

BLOCK_KINDS: dict[str, KindSpec] = {
    kind.name: kind
    for kind in (
        KindSpec("grid", "an electricity grid: its carbon intensity, given or from a mix of sources", (
            *_SOURCES,
            text("zone", "country code or grid zone"),
            text("metric", "how the intensity was measured"),
            q("intensity", "average carbon intensity α of electricity",
              Range(high=1500e-3 / 3.6e6, severity="warning", reason="no grid emits more than ~1,500 gCO2e/kWh")),
            q("transport"),
            Spec("mix", "generation sources and their shares", "map", DIMENSIONLESS, "source",
                 (NON_NEGATIVE,), shares=True),
            q("delivered_intensity"),
            q("water_intensity", "off-site water consumed per kWh of this grid's electricity (EWIF)"),
            q("net_intensity", "market-based intensity of the electricity bought (after carbon-free energy)"),
            q("cfe"),
        ), frozenset({"delivered_intensity"}), catalog=("intensity", "water_intensity", "year")),
        KindSpec("source", "a generation source (coal, wind, ...) and its lifecycle intensity", (
            _LABEL, q("intensity", "lifecycle emissions per kWh generated"),
            q("water_intensity", "water consumed per kWh generated (operational)"),
        ), catalog=("intensity", "water_intensity")),
        KindSpec("device", "one accelerator or host: power, peak throughput, embodied carbon", (
            _LABEL,
            text("vendor", "manufacturer"),
            text("form_factor", "SXM, PCIe, OAM, ..."),
            Spec("role", "`accelerator` (does the computing; counted in a job's `accelerators`) or `host` "
                 "(a server, node or baseboard record)", "string", choices=ROLES),
            q("tdp"),
            q("idle_power", "power the device draws idle: P_idle of the linear power model"),
            q("utilization"),
            q("power", None, Range(high=5000, severity="warning", reason="more than 5 kW per device is unusual")),
            q("peak_fp16"),
            q("peak_fp32"),
            q("memory"),
            q("die_area"),
            q("process_node"),
            q("release_year"),
            q("embodied", "manufacturing (embodied) carbon of one device"),
            text("embodied_boundary", "what the embodied figure covers: die only, card, share of a baseboard"),
            q("lifetime"),
            q("manufacturing_energy"),
            Spec("made_in", "the grid that powered manufacturing", "ref", target="grid"),
            q("carbon_per_area"),
            q("capacity"),
            q("carbon_per_capacity"),
        ), catalog=("tdp", "power", "peak_fp16", "memory", "embodied", "lifetime")),
        KindSpec("fleet", "devices and their counts", (
            Spec("devices", "device counts", "map", DIMENSIONLESS, "device", (NON_NEGATIVE, WHOLE, MANY_DEVICES)),
            q("power", "power drawn by all devices of the fleet"),
            q("count"),
            q("accelerators", "devices of the fleet that do the computing: role accelerator (or no role), not host"),
            q("peak", "peak FLOP/s per accelerator (dense FP16/BF16), averaged over the accelerators"),
        ), frozenset({"power", "count", "accelerators", "peak"})),
        KindSpec("datacenter", "a site: its PUE and the grid that powers it", (
            *_SOURCES,
            q("pue", None, Range(high=3, severity="warning", reason="PUE above 3 is unusual")),
            Spec("grid", "the grid that powers it", "ref", target="grid"),
            q("intensity", "carbon per kWh delivered to the site (α/τ)"),
            q("net_intensity", "market-based intensity after the operator's carbon-free energy"),
            q("cfe", "share of the site's electricity matched by the operator's carbon-free energy"),
            q("wue", "on-site water usage effectiveness: site water ÷ IT energy"),
            q("water_intensity", "off-site water per kWh of the electricity supplying the site (its grid's)"),
        ), frozenset({"intensity", "water_intensity", "net_intensity"}), catalog=("pue", "wue", "year")),
        KindSpec("training", "a training job", _JOB, _JOB_DERIVED, job=True),
        KindSpec("inference", "serving queries", (
            *_JOB,
            q("queries"),
            q("energy_per_query"),
            q("carbon_per_query"),
            q("energy_per_token"),
            q("carbon_per_token"),
        ), _JOB_DERIVED, job=True),
    )
}  # fmt: skip

# Views of the two declarations, for the modules that read them.
KINDS = tuple(BLOCK_KINDS)
JOB_KINDS = tuple(name for name, kind in BLOCK_KINDS.items() if kind.job)
SCHEMA: dict[str, dict[str, Spec]] = {name: {s.name: s for s in kind.fields} for name, kind in BLOCK_KINDS.items()}
AGGREGATES: dict[str, frozenset[str]] = {name: kind.derived for name, kind in BLOCK_KINDS.items() if kind.derived}
# Quantities reported for every job and summed over the program; the optional ones when known.
REPORTED = tuple(name for name, spec in QUANTITIES.items() if spec.reported == "always")
REPORTED_IF_KNOWN = tuple(name for name, spec in QUANTITIES.items() if spec.reported == "if_known")
# What `total.<quantity>` may name: quantities that add up over jobs (per-query figures and
# weighted means do not).
ADDITIVE = tuple(name for name, spec in QUANTITIES.items() if spec.summed)
# Every quantity a job may have (what `total` and the output look up).
JOB_QUANTITIES = tuple(
    dict.fromkeys(s.name for kind in JOB_KINDS for s in BLOCK_KINDS[kind].fields if s.type == "quantity")
)


def spec(kind: str, name: str) -> Spec | None:
    return SCHEMA[kind].get(name)


def report_unit(name: str) -> str:
    """The unit results give a quantity in, unless the user chose another (`--unit`)."""
    return QUANTITIES[name].report_unit


# What people call a field or a block kind elsewhere (papers, other tools), for "did you mean":
# `max_power` is the TDP, `mfu` (model FLOPs utilisation) the achieved share of peak.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "max_power": ("tdp",), "power_limit": ("tdp",), "tdp_w": ("tdp",), "board_power": ("tdp",),
    "mfu": ("efficiency",), "hfu": ("efficiency",), "utilisation": ("utilization", "efficiency"),
    "usage": ("lifetime_usage", "utilization"), "usage_factor": ("utilization",), "load": ("utilization",),
    "gpus": ("fleet",), "num_gpus": ("fleet",), "hardware": ("fleet",),
    "hours": ("duration",), "time": ("duration",), "runtime": ("duration",), "wall_time": ("duration",),
    "gpu_hours": ("device_hours",), "carbon_intensity": ("intensity",), "ci": ("intensity",),
    "emission_factor": ("intensity",), "flops": ("compute",), "flop": ("compute",), "params": ("parameters",),
    "n_params": ("parameters",), "region": ("site", "grid"), "location": ("site", "grid"),
    "datacenter": ("site",), "requests": ("queries",), "request": ("queries",), "prompts": ("queries",), "lifespan": ("lifetime",),
    "embodied_carbon": ("embodied",), "area": ("die_area",), "vram": ("memory",),
}  # fmt: skip
KIND_SYNONYMS: dict[str, str] = {
    "job": "training", "train": "training", "run": "training", "model": "training", "pretraining": "training",
    "serve": "inference", "serving": "inference", "deployment": "inference", "query": "inference",
    "gpu": "device", "accelerator": "device", "hardware": "device", "chip": "device",
    "cluster": "fleet", "pod": "fleet", "dc": "datacenter", "site": "datacenter", "region": "grid",
    "zone": "grid", "mix": "grid", "country": "grid",
}  # fmt: skip


def article(word: str) -> str:
    """`a training`, `an inference`: the article a kind (or any word) takes in a message."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
