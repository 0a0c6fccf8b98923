"""`nnci export FILE --to if`: a scenario as an Impact Framework 1.x manifest of builtins only.

The manifest computes every job's energy, operational, embodied and total carbon with IF's
Multiply, Sum and Divide, in the shape measured against the real `if-run` 1.1.0
(shared/reference/interop.md §1.5): one tree node per job (per row, for a job over a table),
holding one child per site (`it/power × pue × hours × share / 1000 → energy`, `× α / τ →
carbon-operational`) and one child per device kind (`count × manufacturing energy × α / τ ×
share charged`, or `count × embodied × share charged`). Every metric that IF aggregates has its
unit and `aggregation-method: {time: sum, component: sum}`; every child carries every metric
(`defaults`), `timestamp` and `duration`.

What IF's builtins cannot express, per feature:
- amortisation over a device's lifetime: computed into a constant (`charged-share` = Δt /
  lifetime, or 1 without a lifetime), with a comment;
- shares of the work between sites: one child per site, the share a constant input;
- values nnci derives (a power from a TDP, a duration from compute and throughput, an intensity
  from a generation mix): written as the constants nnci computed, with a comment saying so;
- an uncertain input (`uniform(...)`): its median, nnci's figure without `--samples`, with a
  warning;
- methods other than the seed's (`patterson`, `llmcarbon`, `bloom`), a given `energy`,
  `it_power`, idle energy or job `embodied`, or any rule the pipeline lacks (found by replaying
  it: a job's `utilization` over an idle power, say): the job's energy, operational and embodied
  carbon as nnci's constants (one child, summed by IF's `Sum`), with a comment naming why;
- a value that is a series (a grid's hourly intensity): the job as nnci's constants, as above;
- an unknown figure: refused with a diagnostic (E630) naming the job, because IF has no unknown
  and 0 would be wrong.
The manifest is checked before it is written: a float64 evaluation of the same builtins (in
`evaluate_manifest`) must give nnci's figures within 1e-12, relative.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from nnci import api, ir
from nnci.diagnostics import Diagnostic, NnciError
from nnci.engine import Derivation, Engine, Result
from nnci.evaluate import Results
from nnci.quantity import Quantity

KWH = 3.6e6  # J
G_PER_KWH = 1000 * KWH  # kgCO2e/J → gCO2e/kWh
TIMESTAMP = "2024-01-01T00:00:00.000Z"
METRICS = ("energy", "carbon-operational", "carbon-embodied", "carbon")
UNITS = {"energy": "kWh", "carbon-operational": "gCO2e", "carbon-embodied": "gCO2e", "carbon": "gCO2e"}
TOLERANCE = 1e-12


def device_label(i: int) -> str:
    """`device-a`, `device-b`, … `device-aa`: IF 1.1 takes an output name holding a digit for an
    arithmetic expression and fails (if-core arithmetic-helper: names must match
    `[a-zA-Z]+([-_/][a-zA-Z]+)*`), so the device slots are lettered."""
    letters = ""
    while i > 0:
        i, rest = divmod(i - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return f"device-{letters}"


OUTPUT_NAME = re.compile(r"[a-zA-Z]+(?:[-_/][a-zA-Z]+)*")


# The builtins: (plugin, method, config). Divide's denominators are input fields that are never
# 0 (a zero field is IF's MissingInputDataError) or the number 1000.
def _plugins(kinds: int) -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = {}
    for i in range(1, kinds + 1):
        d = device_label(i)
        plugins[f"{d}-power"] = _multiply([f"{d}/count", f"{d}/power"], f"{d}/total-power")
    plugins["it-power"] = _builtin("Sum", {"input-parameters": [f"{device_label(i)}/total-power"
                                                                for i in range(1, kinds + 1)],
                                           "output-parameter": "it/power"})  # fmt: skip
    plugins["facility-energy-wh"] = _multiply(["it/power", "pue", "time/hours", "site/share"], "energy-wh")
    plugins["energy-kwh"] = _builtin("Divide", {"numerator": "energy-wh", "denominator": 1000, "output": "energy"},
                                     "energy", "facility energy, PUE included")  # fmt: skip
    plugins["grid-carbon"] = _multiply(["energy", "grid/carbon-intensity"], "carbon-at-plant")
    plugins["operational-carbon"] = _builtin(
        "Divide", {"numerator": "carbon-at-plant", "denominator": "energy-transport-factor",
                   "output": "carbon-operational"}, "carbon-operational", "energy × α / τ")  # fmt: skip
    plugins["manufacturing-carbon-at-plant"] = _multiply(
        ["devices/count", "device/manufacturing-energy", "manufacturing/carbon-intensity", "charged-share"],
        "manufacturing-carbon-at-plant")  # fmt: skip
    plugins["manufacturing-embodied-carbon"] = _builtin(
        "Divide", {"numerator": "manufacturing-carbon-at-plant", "denominator": "energy-transport-factor",
                   "output": "carbon-embodied"}, "carbon-embodied", "count × E_manuf × α / τ × share charged")  # fmt: skip
    plugins["given-embodied-carbon"] = _builtin(
        "Multiply", {"input-parameters": ["devices/count", "device/embodied-carbon", "charged-share"],
                     "output-parameter": "carbon-embodied"}, "carbon-embodied", "count × embodied × share charged")  # fmt: skip
    plugins["total-carbon"] = _builtin(
        "Sum", {"input-parameters": ["carbon-operational", "carbon-embodied"], "output-parameter": "carbon"},
        "carbon", "operational + embodied")  # fmt: skip
    return plugins


def _builtin(method: str, config: dict[str, Any], output: str | None = None, what: str = "") -> dict[str, Any]:
    plugin: dict[str, Any] = {"path": "builtin", "method": method, "config": config}
    if output is not None:
        plugin["parameter-metadata"] = {"outputs": {output: {
            "unit": UNITS[output], "description": what, "aggregation-method": {"time": "sum", "component": "sum"}}}}  # fmt: skip
    return plugin


def _multiply(inputs: list[str], output: str) -> dict[str, Any]:
    return _builtin("Multiply", {"input-parameters": inputs, "output-parameter": output})


OPERATIONAL = ["it-power", "facility-energy-wh", "energy-kwh", "grid-carbon", "operational-carbon", "total-carbon"]


@attrs.frozen
class Node:
    """A tree node: its pipeline, defaults, one input, or children; comments for the YAML."""

    pipeline: list[str] | None = None
    defaults: dict[str, float] | None = None
    inputs: dict[str, Any] | None = None
    children: dict[str, Node] | None = None
    comments: tuple[str, ...] = ()


class Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class AsConstants(Exception):
    """The job's figures do not follow the builtins pipeline: they are written as nnci computed them."""

    def __init__(self, why: str) -> None:
        self.why = why


def export_if(path: str | Path) -> tuple[str | None, list[Diagnostic], dict[str, str]]:
    """The manifest's text, or None and the diagnostics that say why not."""
    try:
        program = api.load(path)
        plan, engine = api.compile(program)
        warnings = api.check(program, engine)
        results = api.evaluate(program, engine, plan)
    except NnciError as error:
        return None, error.diagnostics, error.sources
    refused: list[Diagnostic] = []
    jobs: dict[str, Node] = {}
    kinds = 1
    by_key = {job.key: job for job in results.jobs}
    for key in program.jobs:
        table = program.rows_of(key)
        rows: list[int | None] = [None] if table is None else list(range(program.tables[table].rows))
        nodes: dict[str, Node] = {}
        try:
            for row in rows:
                node, used = _job(program, key, row, results)
                kinds = max(kinds, used)
                nodes["" if row is None else f"row-{row + 1}"] = node
        except Refused as refusal:
            refused.append(refusal.diagnostic)
            continue
        except AsConstants as constants:
            try:
                jobs[str(key)] = _constants(program.blocks[key], by_key[key], constants.why)
            except Refused as refusal:
                refused.append(refusal.diagnostic)
            continue
        if table is None:
            jobs[str(key)] = nodes[""]
        else:
            where = f"{program.blocks[key].kind} {key}: one child per row of {program.tables[table].file}"
            jobs[str(key)] = Node(children=nodes, comments=(where,))
    if refused:
        return None, [*warnings, *refused], program.sources
    if not jobs:
        return None, [*warnings, Diagnostic("E630", f"{path} has no job to export", None)], program.sources
    warnings = [*warnings, *_uncertain(program)]
    jobs = {name: _padded(node, kinds) for name, node in jobs.items()}
    manifest = _manifest(str(path), _plugins(kinds), jobs, kinds)
    computed = evaluate_manifest(manifest)
    differing = [job for job in results.jobs if _compare(computed, results, str(job.key))]
    if differing:  # rules the pipeline lacks (utilisation, say): nnci's figures as constants for those jobs
        why = "nnci's figures for it follow rules the builtins pipeline does not have"
        for job in differing:
            jobs[str(job.key)] = _constants(program.blocks[job.key], job, why)
        manifest = _manifest(str(path), _plugins(kinds), jobs, kinds)
        computed = evaluate_manifest(manifest)
    mismatch = _compare(computed, results)
    if mismatch:
        return None, [*warnings, Diagnostic("E630", "the exported manifest would not compute nnci's figures", None,
                                            notes=tuple(mismatch[:5]), help="please report it with the file")], program.sources  # fmt: skip
    return _yaml(manifest), warnings, program.sources


def _uncertain(program: ir.Program) -> list[Diagnostic]:
    """Uncertain inputs are exported at their median (nnci's figure without --samples), and said so."""
    found: list[ir.Distribution] = []

    def walk(expr: Any) -> None:
        if isinstance(expr, ir.Distribution):
            found.append(expr)
        for child in (*getattr(expr, "args", ()), getattr(expr, "left", None), getattr(expr, "right", None),
                      getattr(expr, "operand", None), *(e.value for e in getattr(expr, "entries", ()))):  # fmt: skip
            if child is not None:
                walk(child)

    for block in program.blocks.values():
        for field in block.fields.values():
            walk(field.expr)
    return [Diagnostic("E630", f"`{d.name}(...)` is exported at its median: IF's builtins hold one number per input",
                       d.span, "warning", help="run nnci with --samples N for its spread") for d in found]  # fmt: skip


def _constants(block: ir.Block, job: Any, why: str) -> Node:
    """A job whose figures IF's builtins cannot derive: nnci's figures as inputs, summed by IF."""
    figures = {}
    for metric, value in _in_if_units(job.quantities, block).items():
        if metric != "carbon":
            figures[metric] = value
    inputs = {"timestamp": TIMESTAMP, "duration": 1, **figures}
    note = (f"{block.kind} {block.key}: {why}; energy (kWh), operational and embodied carbon (g) are nnci's figures, "
            "written as constants")  # fmt: skip
    return Node(children={"figures": Node(["total-carbon"], None, inputs, comments=(note,))})


def _value(result: Result, what: str, block: ir.Block, figures: bool = False) -> float:
    """One number of the job's pipeline; a series (hour by hour) sends the job out as nnci's figures,
    unless these are the figures themselves (`figures`)."""
    if not isinstance(result, Derivation):
        raise Refused(Diagnostic("E630", f"`{block.key}` cannot be exported: {what} is unknown", block.span,
                                 notes=("IF has no unknown: a metric missing from one output fails its aggregation, "
                                        "and writing 0 would be wrong",),
                                 help="give what nnci needs to derive it (nnci explain shows what is missing)"))  # fmt: skip
    magnitude = result.value.magnitude
    if not isinstance(magnitude, int | float) and not figures:
        raise AsConstants(f"{what} is a series (one value per interval), and a builtins pipeline holds one number "
                          "per input")  # fmt: skip
    if not isinstance(magnitude, int | float):
        raise Refused(Diagnostic("E630", f"`{block.key}` cannot be exported: {what} is not one number "
                                 "(samples or a series); an IF manifest of builtins holds one number per input",
                                 block.span))  # fmt: skip
    return float(magnitude)


def _refuse(block: ir.Block, why: str, hint: str | None = None) -> Refused:
    return Refused(Diagnostic("E630", f"`{block.key}` cannot be exported to IF builtins: {why}", block.span,
                              help=hint))  # fmt: skip


def _job(program: ir.Program, key: ir.BlockKey, row: int | None, results: Results) -> tuple[Node, int]:
    """The node of one job (or one row of a job over a table), and how many device kinds it has."""
    block = program.blocks[key]
    engine = Engine(program, row=row) if row is not None else results.engine
    method = engine.method_of(key, None) or "nnci"
    if method != "nnci":
        raise AsConstants(f"method `{method}` has formulas IF's builtins do not have")
    for given in ("energy", "it_power", "it_energy", "idle_power", "idle_energy", "embodied", "operational", "pue",
                  "intensity", "total"):  # fmt: skip
        if given in block.fields:
            raise AsConstants(f"`{given}` is given, so its figures do not follow from its devices and sites")
    fleet_field = block.fields.get("fleet")
    if fleet_field is None or not isinstance(fleet_field.expr, ir.BlockRef):
        raise _refuse(block, "it has no fleet")
    fleet = program.blocks[fleet_field.expr.block]
    devices = fleet.fields["devices"].expr
    assert isinstance(devices, ir.Map)
    duration = _value(engine.quantity(key, "duration"), "its duration", block)
    hours = duration / 3600
    kinds: list[dict[str, Any]] = []
    embodied: dict[str, Node] = {}
    for entry in devices.entries:
        count = engine.try_evaluate(entry.value, fleet.key)
        if not isinstance(count, Quantity) or not isinstance(count.magnitude, int | float):
            raise _refuse(block, f"the count of `{entry.block}` is unknown or not one number")
        n = float(count.magnitude)
        device = program.blocks[entry.block]
        power = _value(engine.quantity(entry.block, "power"), f"the power of `{entry.block}`", block)
        kinds.append({"count": n, "power": power, "name": str(entry.block)})
        embodied[f"{_name(entry.block)}-embodied"] = _embodied(program, engine, block, device, n, duration)
    sites = _sites(program, engine, block)
    operational: dict[str, Node] = {}
    for site, share, pue, alpha, tau, note in sites:
        inputs: dict[str, Any] = {"timestamp": TIMESTAMP, "duration": _seconds(duration)}
        for i, kind in enumerate(kinds, 1):
            inputs[f"{device_label(i)}/count"] = kind["count"]
            inputs[f"{device_label(i)}/power"] = kind["power"]
        inputs |= {"pue": pue, "time/hours": hours, "site/share": share, "grid/carbon-intensity": alpha,
                   "energy-transport-factor": tau}  # fmt: skip
        comments = [f"devices: {', '.join(k['name'] for k in kinds)} (power in W, as nnci evaluates it)",
                    f"site {site}: share {share:g} of the work" + (f"; {note}" if note else "")]  # fmt: skip
        operational[f"{_name(site)}" if len(sites) == 1 else f"at-{_name(site)}"] = Node(
            inputs=inputs, comments=tuple(comments)
        )
    node = Node(
        children={**operational, **embodied},
        comments=(f"{block.kind} {key}" + (f", row {row + 1} of its table" if row is not None else ""),),
    )
    return node, len(kinds)


def _seconds(duration: float) -> float:
    return duration if duration > 0 else 1  # IF's aggregation needs a duration; nothing here reads it


def _name(key: ir.BlockKey) -> str:
    return str(key).replace(".", "-").replace("_", "-")


def _embodied(program: ir.Program, engine: Engine, job: ir.Block, device: ir.Block, n: float, duration: float) -> Node:
    lifetime = engine.quantity(device.key, "lifetime")
    share = 1.0
    why = "no lifetime: charged in full, as the nn-ci seed does"
    if isinstance(lifetime, Derivation):
        share = duration / _value(lifetime, f"the lifetime of `{device.key}`", job)
        why = f"Δt / lifetime = {duration:g} s / {lifetime.value.magnitude:g} s, computed by nnci (IF cannot amortise)"
    base = {"timestamp": TIMESTAMP, "duration": _seconds(duration), "devices/count": n, "charged-share": share}
    grid_field = device.fields.get("made_in")
    given = "embodied" in device.fields or grid_field is None or "manufacturing_energy" not in device.fields
    if not given and grid_field is not None and isinstance(grid_field.expr, ir.BlockRef):
        grid = grid_field.expr.block
        energy = _value(engine.quantity(device.key, "manufacturing_energy"), "a manufacturing energy", job) / KWH
        alpha = _value(engine.quantity(grid, "intensity"), f"the intensity of `{grid}`", job) * G_PER_KWH
        tau = _value(engine.quantity(grid, "transport"), f"the transport factor of `{grid}`", job)
        inputs = {**base, "device/manufacturing-energy": energy, "manufacturing/carbon-intensity": alpha,
                  "energy-transport-factor": tau}  # fmt: skip
        return Node(["manufacturing-carbon-at-plant", "manufacturing-embodied-carbon", "total-carbon"],
                    {"energy": 0, "carbon-operational": 0}, inputs,
                    comments=(f"{device.key}: manufacturing energy in kWh, made on {grid}", f"charged-share: {why}"))  # fmt: skip
    unit = _value(engine.quantity(device.key, "embodied"), f"the embodied carbon of `{device.key}`", job) * 1000
    return Node(["given-embodied-carbon", "total-carbon"], {"energy": 0, "carbon-operational": 0},
                {**base, "device/embodied-carbon": unit},
                comments=(f"{device.key}: embodied carbon per device in g, as nnci evaluates it", f"charged-share: {why}"))  # fmt: skip


def _sites(
    program: ir.Program, engine: Engine, job: ir.Block
) -> list[tuple[ir.BlockKey, float, float, float, float, str]]:
    """(datacenter, share, PUE, α in g/kWh, τ, note) for each site of a job; shares normalised."""
    field = job.fields.get("site")
    if field is None:
        raise _refuse(job, "it has no site")
    if isinstance(field.expr, ir.BlockRef):
        weights = [(field.expr.block, 1.0)]
    elif isinstance(field.expr, ir.Map):
        weights = []
        for entry in field.expr.entries:
            share = engine.try_evaluate(entry.value, job.key)
            if not isinstance(share, Quantity) or not isinstance(share.magnitude, int | float):
                raise _refuse(job, f"the share of `{entry.block}` is unknown or not one number")
            weights.append((entry.block, float(share.magnitude)))
    else:
        raise _refuse(job, "its site is neither a datacenter nor a map of shares")
    total = sum(w for _, w in weights)
    out = []
    for centre, weight in weights:
        if weight == 0:
            continue
        block = program.blocks[centre]
        pue = _value(engine.quantity(centre, "pue"), f"the PUE of `{centre}`", job)
        delivered = _value(engine.quantity(centre, "intensity"), f"the intensity of `{centre}`", job) * G_PER_KWH
        grid_field = block.fields.get("grid")
        note = ""
        if "intensity" not in block.fields and grid_field is not None and isinstance(grid_field.expr, ir.BlockRef):
            grid = grid_field.expr.block
            alpha = _value(engine.quantity(grid, "intensity"), f"the intensity of `{grid}`", job) * G_PER_KWH
            tau = _value(engine.quantity(grid, "transport"), f"the transport factor of `{grid}`", job)
            if "intensity" not in program.blocks[grid].fields:
                note = f"intensity of {grid} computed by nnci (from its mix)"
        else:
            alpha, tau, note = delivered, 1.0, f"intensity given on {centre} (α/τ), so τ = 1 here"
        out.append((centre, weight / total, pue, alpha, tau, note))
    return out


def _padded(node: Node, kinds: int) -> Node:
    """Every operational child names device-1 … device-K (count 0, power 0 past its own): the plugins are shared."""
    children = {}
    for name, child in (node.children or {}).items():
        if child.inputs is not None and "site/share" in child.inputs:
            inputs = dict(child.inputs)
            for i in range(1, kinds + 1):
                inputs.setdefault(f"{device_label(i)}/count", 0)
                inputs.setdefault(f"{device_label(i)}/power", 0)
            child = attrs.evolve(child, inputs=inputs)
        children[name] = child
    return attrs.evolve(node, children=children)


def _manifest(source: str, plugins: dict[str, dict[str, Any]], jobs: dict[str, Node], kinds: int) -> dict[str, Any]:
    pipeline = [f"{device_label(i)}-power" for i in range(1, kinds + 1)] + OPERATIONAL
    return {
        "name": f"nnci export of {Path(source).name}",
        "description": f"{source} as IF builtins (nnci export --to if); totals in tree.aggregated",
        "explainer": True,
        "aggregation": {"metrics": list(METRICS), "type": "both"},
        "initialize": {"plugins": plugins},
        "tree": {"pipeline": {"compute": pipeline}, "defaults": {"carbon-embodied": 0}, "children": jobs},
    }


# -- a float64 evaluation of the builtins, to check the manifest before it is written ------------


def evaluate_manifest(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each node's aggregated metrics (by dotted path; "" for the root) as IF 1.1's builtins compute
    them: pipeline and defaults inherited, defaults filling absent fields, Multiply, Sum and Divide
    in input order, component aggregation as a sum over children."""
    plugins = manifest["initialize"]["plugins"]
    metrics = manifest["aggregation"]["metrics"]
    out: dict[str, dict[str, float]] = {}

    def walk(node: Any, path: str, pipeline: list[str], defaults: dict[str, Any]) -> dict[str, float]:
        if isinstance(node, Node):
            pipeline = node.pipeline if node.pipeline is not None else pipeline
            defaults = {**defaults, **(node.defaults or {})}
            inputs, children = node.inputs, node.children
        else:
            pipeline = node.get("pipeline", {}).get("compute", pipeline) if "pipeline" in node else pipeline
            defaults = {**defaults, **node.get("defaults", {})}
            inputs = node["inputs"][0] if node.get("inputs") else None
            children = node.get("children")
        if children:
            totals = dict.fromkeys(metrics, 0.0)
            for name, child in children.items():
                got = walk(child, f"{path}.{name}" if path else name, pipeline, defaults)
                totals = {m: totals[m] + got[m] for m in metrics}
            out[path] = totals
            return totals
        assert inputs is not None
        values = {**{k: v for k, v in defaults.items()}, **{k: v for k, v in inputs.items() if v is not None}}
        for name in pipeline:
            run_builtin(plugins[name], values)
        out[path] = {m: float(values[m]) for m in metrics}
        return out[path]

    walk(manifest["tree"], "", [], {})
    return out


def run_builtin(plugin: dict[str, Any], values: dict[str, Any]) -> None:
    """One builtin on one observation, with IF 1.1's rules (a zero denominator field is an error)."""
    config = plugin["config"]
    method = plugin["method"]
    output = config.get("output-parameter", config.get("output"))
    if not isinstance(output, str) or not OUTPUT_NAME.fullmatch(output):
        raise ValueError(f"IF 1.1 reads the output name {output!r} as an arithmetic expression and fails")
    if method in ("Multiply", "Sum"):
        result = 1.0 if method == "Multiply" else 0.0
        for name in config["input-parameters"]:
            operand = values[name]
            result = result * operand if method == "Multiply" else result + operand
        values[config["output-parameter"]] = result
    elif method == "Divide":
        denominator = config["denominator"]
        if isinstance(denominator, str):
            if not values.get(denominator):
                raise ZeroDivisionError(f"{denominator} is 0 or missing (MissingInputDataError in IF)")
            denominator = values[denominator]
        values[config["output"]] = (
            values[config["numerator"]] / denominator if denominator else values[config["numerator"]]
        )
    elif method == "Coefficient":
        values[config["output-parameter"]] = values[config["input-parameter"]] * config["coefficient"]
    else:
        raise ValueError(f"not a builtin nnci evaluates: {method}")


def _compare(computed: dict[str, dict[str, float]], results: Results, only: str | None = None) -> list[str]:
    """Where the manifest's figures differ from nnci's (relative 1e-12); `only` one node's."""
    problems = []
    expected = nnci_figures(results)
    for path, figures in expected.items():
        if only is not None and path != only:
            continue
        got = computed.get(path)
        if got is None:
            problems.append(f"{path or 'root'}: missing")
            continue
        for metric, value in figures.items():
            if not math.isclose(got[metric], value, rel_tol=TOLERANCE, abs_tol=1e-9):
                problems.append(f"{path or 'root'} {metric}: manifest {got[metric]!r}, nnci {value!r}")
    return problems


def nnci_figures(results: Results) -> dict[str, dict[str, float]]:
    """nnci's figures in the manifest's units, by tree path: each job (summed over its rows) and the root."""
    out: dict[str, dict[str, float]] = {}
    for job in results.jobs:
        out[str(job.key)] = _in_if_units(job.quantities, results.program.blocks[job.key])
    out[""] = _in_if_units(results.total, None)
    return out


def _in_if_units(quantities: Mapping[str, Result], block: ir.Block | None) -> dict[str, float]:
    scale = {"energy": 1 / KWH, "operational": 1000, "embodied": 1000, "total": 1000}
    names = {"energy": "energy", "operational": "carbon-operational", "embodied": "carbon-embodied", "total": "carbon"}
    figures = {}
    for name, metric in names.items():
        result = quantities[name]
        if block is None:
            assert isinstance(result, Derivation) and isinstance(result.value.magnitude, int | float)
            figures[metric] = float(result.value.magnitude) * scale[name]
        else:
            figures[metric] = _value(result, f"its {name}", block, figures=True) * scale[name]
    return figures


# -- YAML out: block style, strings as JSON (a subset of YAML), floats as their shortest exact form


def _yaml(manifest: dict[str, Any]) -> str:
    lines = ["# Written by `nnci export --to if`: Impact Framework 1.x builtins only (Multiply, Sum, Divide).",
             "# Run it with `if-run -m THIS.yml -o out`; tree.aggregated holds the totals, each job's node its own."]  # fmt: skip
    _emit(manifest, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, Node):
        for comment in value.comments:
            lines.append(f"{pad}# {comment}")
        data: dict[str, Any] = {}
        if value.pipeline is not None:
            data["pipeline"] = {"compute": value.pipeline}
        if value.defaults is not None:
            data["defaults"] = value.defaults
        if value.inputs is not None:
            data["inputs"] = [value.inputs]
        if value.children is not None:
            data["children"] = value.children
        _emit(data, indent, lines)
        return
    assert isinstance(value, dict)
    for key, item in value.items():
        head = f"{pad}{_scalar(key) if not _plain_key(key) else key}:"
        if isinstance(item, dict | Node) and item:
            lines.append(head)
            _emit(item, indent + 1, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(head)
            for element in item:
                lines.append(f"{pad}  - {{{', '.join(f'{_key(k)}: {_scalar(v)}' for k, v in element.items())}}}")
        elif isinstance(item, list):
            lines.append(f"{head} [{', '.join(_scalar(v) for v in item)}]")
        elif isinstance(item, dict):
            lines.append(f"{head} {{}}")
        else:
            lines.append(f"{head} {_scalar(item)}")


def _plain_key(key: str) -> bool:
    return bool(key) and all(c.isalnum() or c in "-_/" for c in key) and not key[0].isdigit()


def _key(key: str) -> str:
    return key if _plain_key(key) else _scalar(key)
