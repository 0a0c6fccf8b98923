"""`nnci import MANIFEST.yml`: an nn-ci manifest for the Impact Framework → a `.nnci` scenario.

Reads both shapes the nn-ci pipeline was written in: IF 0.3 (`global-config`, `pipeline` a
list) and IF 1.x (`config`, `pipeline.compute`). The plugins' *keys* are fixed by the nn-ci code
(`hardware/count/training`, `list/device-count`, ...); the *values* are the user's own field
names, so everything here goes through the plugin config's key → field mapping, never through
the demo's names. The scenario reproduces the manifest: nn-et becomes a training job, nn-eq an
inference job, each nn-emb device group a device of the job whose fleet count it shares (or an
embodied-only job), each nn-c datacenter the grid of the job whose energy it reads. `expect`
lines give the five nn-ci results, computed here with the plugins' own formulas, so `nnci
validate` shows the scenario reproduces them. Units are the ones the nn-ci plugins assume
(W, h, kWh, gCO2e/kWh; τ and PUE without unit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from nnci.diagnostics import Diagnostic, sort_diagnostics
from nnci.interop import yaml_subset
from nnci.interop.common import READS, Imported, at, failed
from nnci.interop.printer import Entry, Item, Map, Num, Ref, Scenario, identifier

METHODS = {"NNET": "nn-et", "NNEQ": "nn-eq", "NNEmb": "nn-emb", "NNC": "nn-c", "Sum": "sum"}
KEYS = {
    "NNET": ("hardware/count/training", "hardware/power/training", "servers/count/training",
             "servers/power/training", "time/training", "pue/training"),
    "NNEQ": ("servers/count/query", "servers/power/query", "time/query", "pue/query"),
    "NNEmb": ("list/device-count", "list/device-production-energy", "list/carbon-intensity",
              "list/energy-transport"),
    "NNC": ("location/datacenter-energy", "location/carbon-intensity", "location/energy-transport"),
}  # fmt: skip
UNITS_NOTE = (
    "units assumed from the nn-ci README (the manifest states none): power in W, time in h, energy in kWh, "
    "carbon intensity in gCO2e/kWh, PUE and transport factor without unit"
)
TOLERANCE = Num(1e-6, "%", "0.000001")  # the results are recomputed in float64, in another order


@attrs.frozen
class Plugin:
    name: str
    method: str
    params: dict[str, Any]  # plugin key → field name (or list of them)
    output: str | None
    path: tuple[str | int, ...]  # of its config, for messages


@attrs.frozen
class Value:
    number: float
    path: tuple[str | int, ...]  # where in the manifest, e.g. tree.children.child-1.inputs[0].power/gpu-training

    @property
    def where(self) -> str:
        return _dotted(self.path)


class ManifestError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def import_manifest(text: str, file: str, table: str | None = None) -> Imported:
    """The scenario for a manifest; `table` names the CSV written beside it when the manifest
    holds several observations (one job per observation, over that table)."""
    try:
        document = yaml_subset.read(text)
    except yaml_subset.YamlError as error:
        note = "nnci reads the YAML that manifests are written in: mappings, lists, scalars, comments"
        guessed = not file.lower().endswith((".yml", ".yaml"))  # read as a manifest for want of a better guess
        notes = (note, f"{READS}; --from says which FILE is") if guessed else (note,)
        return failed([Diagnostic("E600", f"not a manifest nnci can read: {error.message}",
                                  at(file, error.line, error.column), notes=notes, help=error.hint)],
                      file, text)  # fmt: skip
    reader = _Manifest(document, file)
    try:
        scenario, tables = reader.scenario(table)
    except ManifestError as error:
        return failed(sort_diagnostics([*reader.warnings, error.diagnostic]), file, text)
    return Imported(scenario, tables, tuple(sort_diagnostics(reader.warnings)), {file: text})


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Manifest:
    def __init__(self, document: yaml_subset.Document, file: str) -> None:
        self.data = document.data
        self.positions = document.positions
        self.file = file
        self.warnings: list[Diagnostic] = []

    # -- locations and errors

    def span_of(self, path: Sequence[str | int]) -> Any:
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        line, column = self.positions.get(path, (1, 1))
        return at(self.file, line, column)

    def error(self, message: str, path: Sequence[str | int], help: str | None = None, *notes: str) -> ManifestError:
        return ManifestError(Diagnostic("E601", message, self.span_of(path), notes=notes, help=help))

    # -- the plugins

    def plugins(self) -> tuple[dict[str, Plugin], str]:
        if not isinstance(self.data, dict):
            raise self.error("a manifest is a mapping with `initialize` and `tree`", (),
                             "see the Impact Framework's manifest format")  # fmt: skip
        initialize = self.data.get("initialize")
        plugins = initialize.get("plugins") if isinstance(initialize, dict) else None
        if not isinstance(plugins, dict) or not plugins:
            raise self.error("the manifest declares no plugins (`initialize.plugins`)", ("initialize",))
        found: dict[str, Plugin] = {}
        unknown: list[str] = []
        shape = "IF 1.x"
        for name, spec in plugins.items():
            where = ("initialize", "plugins", name)
            if not isinstance(spec, dict):
                raise self.error(f"plugin `{name}` is not a mapping", where)
            method = spec.get("method")
            if "global-config" in spec:
                shape = "IF 0.3"
            config = spec.get("global-config", spec.get("config")) or {}
            config_key = "global-config" if "global-config" in spec else "config"
            if method not in METHODS:
                unknown.append(f"`{name}` (method {method}, path {spec.get('path')}) at {self.span_of(where)}")
                continue
            if not isinstance(config, dict):
                raise self.error(f"`{_dotted((*where, config_key))}` is not a mapping", (*where, config_key))
            params = config.get("input-parameters")
            output = config.get("output-parameter")
            params = params if isinstance(params, dict) else {"": params}
            mapping = spec.get("mapping")  # IF 1.x: a parameter's name → the name the manifest's inputs use
            if isinstance(mapping, dict):
                params = {key: _mapped(value, mapping) for key, value in params.items()}
                output = mapping.get(output, output) if isinstance(output, str) else output
            found[name] = Plugin(name, str(method), params, output if isinstance(output, str) else None,
                                 (*where, config_key))  # fmt: skip
        if not any(p.method in KEYS for p in found.values()):
            raise self.error("the manifest uses none of the nn-ci plugins (NNET, NNEQ, NNEmb, NNC)",
                             ("initialize", "plugins"), "nnci imports manifests of the nn-ci pipeline "
                             "(teto1992/NN-CI); for other manifests, write the scenario by hand",
                             *(["plugins found: " + ", ".join(unknown)] if unknown else []))  # fmt: skip
        if unknown:
            self.warnings.append(Diagnostic(
                "E602", f"{len(unknown)} plugin(s) nnci does not know; their outputs are not in the scenario",
                self.span_of(("initialize", "plugins")), "warning", tuple(unknown),
                "nnci knows the nn-ci plugins (NNET, NNEQ, NNEmb, NNC) and Sum",
            ))  # fmt: skip
        return found, shape

    # -- the tree: nodes with inputs, pipeline and defaults inherited

    def nodes(self) -> list[tuple[tuple[str | int, ...], list[str], list[dict[str, Value]]]]:
        tree = self.data.get("tree")
        if not isinstance(tree, dict):
            raise self.error("the manifest has no `tree`", ())
        out: list[tuple[tuple[str | int, ...], list[str], list[dict[str, Value]]]] = []

        def walk(node: Any, path: tuple[str | int, ...], pipeline: list[str], defaults: dict[str, Value]) -> None:
            if not isinstance(node, dict):
                raise self.error(f"`{_dotted(path)}` is not a node (a mapping)", path)
            if "pipeline" in node:
                pipeline = self.pipeline(node["pipeline"], (*path, "pipeline"))
            if isinstance(node.get("defaults"), dict):
                defaults = {**defaults, **self.values(node["defaults"], (*path, "defaults"))}
            inputs = node.get("inputs")
            if isinstance(inputs, list) and inputs:
                observations = []
                for index, observation in enumerate(inputs):
                    where = (*path, "inputs", index)
                    if not isinstance(observation, dict):
                        raise self.error(f"`{_dotted(where)}` is not a mapping of fields", where)
                    given = self.values(observation, where)
                    observations.append({**defaults, **given})  # defaults fill absent (or null) fields
                out.append((path, pipeline, observations))
            children = node.get("children")
            if isinstance(children, dict):
                for name, child in children.items():
                    walk(child, (*path, "children", name), pipeline, defaults)

        walk(tree, ("tree",), [], {})
        return out

    def pipeline(self, value: Any, path: tuple[str | int, ...]) -> list[str]:
        if isinstance(value, list):  # IF 0.3
            return [str(v) for v in value]
        if isinstance(value, dict):  # IF 1.x: observe, regroup, compute
            compute = value.get("compute") or []
            return [str(v) for v in compute] if isinstance(compute, list) else []
        raise self.error(f"`{_dotted(path)}` is neither a list of plugins nor `compute: [...]`", path)

    def values(self, mapping: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Value]:
        out = {}
        for key, value in mapping.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue  # timestamps, labels: only numbers are inputs of the nn-ci plugins
            if not math.isfinite(value):
                raise self.error(f"`{key}` is not a finite number", (*path, key))
            out[key] = Value(float(value), (*path, key))
        return out

    # -- the scenario

    def scenario(self, table: str | None) -> tuple[str, dict[str, str]]:
        plugins, shape = self.plugins()
        nodes = [n for n in self.nodes() if any(p in plugins and plugins[p].method in KEYS for p in n[1])]
        if not nodes:
            raise self.error("no node of the tree has inputs and a pipeline with the nn-ci plugins", ("tree",))
        self.warnings.append(Diagnostic("E604", "units assumed from the nn-ci README", self.span_of(("initialize",)),
                                        "warning", (UNITS_NOTE,)))  # fmt: skip
        out = Scenario()
        name = self.data.get("name")
        out.comment(f"Imported from {self.file} ({shape} manifest" + (f" `{name}`" if name else "") + ") by `nnci "
                    "import`. Each value's comment names the manifest path it came from; the expect lines are "
                    "the manifest's results, by the nn-ci plugins' formulas.", "", UNITS_NOTE[0].upper() + UNITS_NOTE[1:] + ".")  # fmt: skip
        tables: dict[str, str] = {}
        built = _Builder(self, out, plugins)
        for path, pipeline, observations in nodes:
            prefix = identifier(str(path[-1])) + "_" if len(nodes) > 1 else ""
            if len(observations) > 1:
                if table is None:
                    raise self.error(f"`{_dotted(path)}` has {len(observations)} observations: they become a "
                                     "table of jobs, written beside the scenario", (*path, "inputs"),
                                     "name the scenario with -o FILE.nnci")  # fmt: skip
                built.table(path, pipeline, observations, prefix, table, tables)
            else:
                built.observation(path, pipeline, observations[0], prefix)
        built.expectations()
        return out.text(), tables


def _mapped(value: Any, mapping: dict[str, Any]) -> Any:
    if isinstance(value, str):
        renamed = mapping.get(value, value)
        return renamed if isinstance(renamed, str) else value
    if isinstance(value, list):
        return [_mapped(v, mapping) for v in value]
    return value


def _field_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


@attrs.frozen
class _Job:
    role: str  # training or queries
    plugin: Plugin
    devices: tuple[tuple[str, str, str], ...]  # (device role, count field, power field)
    time: str
    pue: str


# Where a field may vary from row to row of a table of jobs: what a job's own fields hold.
ROW_UNITS = {"count": None, "time": "h", "energy": "kWh"}


class _Builder:
    """Blocks for the observations of the nn-ci plugins, and the results they must reproduce."""

    def __init__(self, manifest: _Manifest, out: Scenario, plugins: dict[str, Plugin]) -> None:
        self.manifest = manifest
        self.out = out
        self.plugins = plugins
        self.names: set[str] = set()
        self.energies: dict[str, tuple[float, str]] = {}  # job → (nn-ci energy summed over rows, plugin)
        self.totals: dict[str, float] = {}  # embodied, operational, total: summed over observations
        self.zero_noted: set[tuple[str | int, ...]] = set()
        self.columns: dict[str, tuple[str, str | None]] = {}  # field → (column, unit) in a table of jobs
        self.alias = ""
        self.node: tuple[str | int, ...] = ()  # of the table being written

    # -- reading the plugin config

    def field(self, plugin: Plugin, key: str) -> str:
        value = plugin.params.get(key)
        if not isinstance(value, str):
            raise self.manifest.error(
                f"plugin `{plugin.name}` ({plugin.method}) needs `{key}` in `input-parameters`, naming an input field",
                (*plugin.path, "input-parameters"), f"add `{key}: <field name>`")  # fmt: skip
        return value

    def fields(self, plugin: Plugin, key: str) -> list[str]:
        value = _field_list(plugin.params.get(key))
        if value is None:
            raise self.manifest.error(
                f"plugin `{plugin.name}` ({plugin.method}) needs `{key}` in `input-parameters`, a list of field names",
                (*plugin.path, "input-parameters"), f"add `{key}: [<field>, ...]`")  # fmt: skip
        return value

    def lists(self, plugin: Plugin, keys: Sequence[str]) -> list[tuple[str, ...]]:
        lists = [self.fields(plugin, key) for key in keys]
        if len({len(values) for values in lists}) != 1:
            raise self.manifest.error(
                f"the lists of `{plugin.name}` ({plugin.method}) have different lengths "
                f"({', '.join(str(len(v)) for v in lists)})", (*plugin.path, "input-parameters"),
                "each entry of one list goes with the entry at the same place in the others")  # fmt: skip
        return list(zip(*lists, strict=True))

    def method(self, pipeline: list[str], method: str) -> Plugin | None:
        return next((self.plugins[n] for n in pipeline if n in self.plugins and self.plugins[n].method == method), None)

    def stages(self, pipeline: list[str]) -> _Stages:
        et, eq = self.method(pipeline, "NNET"), self.method(pipeline, "NNEQ")
        jobs = []
        if et is not None:
            jobs.append(_Job("training", et, (
                ("accelerator", self.field(et, "hardware/count/training"), self.field(et, "hardware/power/training")),
                ("server", self.field(et, "servers/count/training"), self.field(et, "servers/power/training"))),
                self.field(et, "time/training"), self.field(et, "pue/training")))  # fmt: skip
        if eq is not None:
            jobs.append(_Job("queries", eq, (
                ("server", self.field(eq, "servers/count/query"), self.field(eq, "servers/power/query")),),
                self.field(eq, "time/query"), self.field(eq, "pue/query")))  # fmt: skip
        emb, c = self.method(pipeline, "NNEmb"), self.method(pipeline, "NNC")
        groups = self.lists(emb, KEYS["NNEmb"]) if emb else []
        sites = self.lists(c, KEYS["NNC"]) if c else []
        return _Stages(jobs, emb, groups, c, sites, self.method(pipeline, "Sum"))

    # -- values

    def value(self, obs: dict[str, Value], name: str, plugin: Plugin, node: tuple[str | int, ...]) -> Value:
        found = obs.get(name)
        if found is None:
            raise self.manifest.error(
                f"input `{name}` (read by `{plugin.name}`, {plugin.method}) is not a number in `{_dotted(node)}`",
                (*node, "inputs"), f"add `{name}: <number>` to the inputs or to the node's defaults")  # fmt: skip
        if found.number == 0 and found.path not in self.zero_noted:
            self.zero_noted.add(found.path)
            self.manifest.warnings.append(Diagnostic(
                "E603", f"`{name}` is 0: nnci keeps it as 0", self.manifest.span_of(found.path), "warning",
                (f"the nn-ci plugins reject 0 as a missing input (`if (!input[...])`), so `{plugin.name}` fails on "
                 "this manifest in the Impact Framework",),
            ))  # fmt: skip
        return found

    def number(self, value: Value, unit: str | None, name: str | None = None) -> tuple[Num | Ref, str]:
        """The value as written in the scenario (a column of the table when it varies by row)."""
        if name is not None and name in self.columns:
            column, _ = self.columns[name]
            return Ref(f"{self.alias}.{column}"), f"column {column}: {_dotted(self.node)}.inputs[*].{name}"
        return Num(value.number, unit), value.where

    def name(self, text: str) -> str:
        return identifier(text, self.names)

    # -- one observation, or a table of them

    def observation(self, node: tuple[str | int, ...], pipeline: list[str], obs: dict[str, Value], prefix: str) -> None:
        stages = self.stages(pipeline)
        self.record(stages, obs, self.blocks(node, stages, obs, prefix))

    def table(self, node: tuple[str | int, ...], pipeline: list[str], observations: list[dict[str, Value]],
              prefix: str, table: str, tables: dict[str, str]) -> None:  # fmt: skip
        stages = self.stages(pipeline)
        row_fields: dict[str, str] = {}  # field → kind (count, time, energy): what may vary by row
        for job in stages.jobs:
            for _, count, _ in job.devices:
                row_fields[count] = "count"
            row_fields[job.time] = "time"
        for group in stages.groups:
            row_fields.setdefault(group[0], "count")
        fleet_outputs = {job.plugin.output for job in stages.jobs}
        for energy, _, _ in stages.sites:
            if energy not in fleet_outputs:
                row_fields.setdefault(energy, "energy")
        read = (
            set(row_fields)
            | {f for job in stages.jobs for d in job.devices for f in d[1:]}
            | {job.pue for job in stages.jobs}
            | {f for g in stages.groups for f in g}
            | {f for s in stages.sites for f in s}
        )
        names = sorted(read & {k for obs in observations for k in obs})  # what the nn-ci plugins read
        varying = [k for k in names if len({obs[k].number if k in obs else None for obs in observations}) > 1]
        fixed = [k for k in varying if k not in row_fields]
        if fixed:
            self.manifest.warnings.append(Diagnostic(
                "E604", f"the observations of `{_dotted(node)}` differ in values a table of jobs holds once "
                f"({', '.join(f'`{k}`' for k in fixed)}): one set of blocks per observation",
                self.manifest.span_of((*node, "inputs")), "warning",
                ("a row of a table of jobs may differ in device counts, hours and given energies; power, PUE and "
                 "intensities belong to the devices, datacenters and grids",)))  # fmt: skip
            for index, obs in enumerate(observations):
                self.observation((*node,), pipeline, obs, f"{prefix}o{index + 1}_")
            return
        plugin_of = {f: job.plugin for job in stages.jobs for d in job.devices for f in d[1:]}
        for field in names:  # every row's zeros are reported, not only the first's
            for obs in observations[1:]:
                if field in obs and obs[field].number == 0:
                    plugin = plugin_of.get(field) or stages.emb or stages.c or stages.jobs[0].plugin
                    self.value(obs, field, plugin, node)
        self.alias, self.node = identifier(table.removesuffix(".csv")), node
        taken: set[str] = set()
        self.columns = {k: (identifier(k, taken), ROW_UNITS[row_fields[k]]) for k in varying}
        header = ["observation", *(f"{c} [{u}]" if u else c for c, u in self.columns.values())]
        rows = [",".join(header)]
        for index, obs in enumerate(observations):
            cells = [f"{identifier(str(node[-1]))}_{index}"]
            for field in self.columns:
                if field not in obs:
                    raise self.manifest.error(f"observation {index} of `{_dotted(node)}` has no `{field}`",
                                              (*node, "inputs", index))  # fmt: skip
                cells.append(repr(obs[field].number).removesuffix(".0"))
            rows.append(",".join(cells))
        tables[table] = "\n".join(rows) + "\n"
        self.out.import_(table, self.alias, f"{len(observations)} observations of {_dotted(node)}, one job per row")
        names = self.blocks(node, stages, observations[0], prefix)
        for obs in observations:
            self.record(stages, obs, names)
        self.columns, self.alias = {}, ""

    def blocks(self, node: tuple[str | int, ...], stages: _Stages, obs: dict[str, Value], prefix: str) -> list[str]:
        """The blocks of one observation (of a table's first row); the names of its nn-et/nn-eq jobs."""

        def get(name: str, plugin: Plugin) -> Value:
            return self.value(obs, name, plugin, node)

        rows = [Item("rows", Ref(self.alias))] if self.alias else []
        site_of: dict[str, tuple[str, str]] = {}
        extra: list[tuple[str, str, str]] = []
        outputs = {job.plugin.output: job for job in stages.jobs}
        for energy, intensity, transport in stages.sites:
            job = outputs.get(energy)
            if job is not None and job.role not in site_of:
                site_of[job.role] = (intensity, transport)
            else:
                extra.append((energy, intensity, transport))
        used: set[int] = set()
        names = []
        for job in stages.jobs:
            name = self.name(prefix + ("training_run" if job.role == "training" else job.role))
            names.append(name)
            fleet = []
            for device_role, count_field, power_field in job.devices:
                device = self.name(f"{name}_{device_role}")
                power = get(power_field, job.plugin)
                items = [Item("power", Num(power.number, "W"), power.where)]
                group = next((i for i, g in enumerate(stages.groups) if g[0] == count_field and i not in used), None)
                if group is not None:
                    used.add(group)
                    items += self.manufacture(device, stages.groups[group], get, stages.emb)
                else:
                    why = (
                        f"{stages.emb.name} does not count this device" if stages.emb else "the pipeline has no nn-emb"
                    )
                    items.append(
                        Item("embodied", Num(0, "gCO2e"), f"{why}: the manifest counts no embodied carbon for it")
                    )
                self.out.block("device", device, items)
                count, where = self.number(get(count_field, job.plugin), None, count_field)
                fleet.append(Entry(device, count, where))
            grid = self.name(f"{name}_grid")
            if job.role in site_of and stages.c is not None:
                self.grid(grid, *site_of[job.role], get, stages.c)
            else:
                self.out.block("grid", grid, [Item("intensity", Num(0, "gCO2e/kWh"),
                               "nn-c does not read this job's energy: the manifest counts no operational carbon for it")])  # fmt: skip
            pue = get(job.pue, job.plugin)
            site = self.name(f"{name}_site")
            self.out.block("datacenter", site, [Item("pue", Num(pue.number), pue.where), Item("grid", Ref(grid))])
            duration, where = self.number(get(job.time, job.plugin), "h", job.time)
            kind = "training" if job.role == "training" else "inference"
            self.out.block(kind, name, [
                *rows, Item("fleet", Map(tuple(fleet))), Item("site", Ref(site)), Item("duration", duration, where)],
                sources=[f"{self.manifest.file}: {_dotted(job.plugin.path[:3])} ({job.plugin.method}) on "
                         f"{_dotted(node)}"])  # fmt: skip
            self.energies[name] = (0.0, METHODS[job.plugin.method])
        for index, unused in enumerate(stages.groups):
            if index in used or stages.emb is None:
                continue
            device = self.name(f"{prefix}embodied_{identifier(unused[0])}")
            self.out.block("device", device, self.manufacture(device, unused, get, stages.emb))
            given, at_path = self.number(get(unused[0], stages.emb), None, unused[0])
            self.out.block("training", self.name(f"{device}_only"), [
                *rows, Item("fleet", Map((Entry(device, given, at_path),))),
                Item("energy", Num(0, "kWh"), f"embodied only: {stages.emb.name} counts these devices, no job runs them"),
                Item("operational", Num(0, "gCO2e"))])  # fmt: skip
        for energy_field, intensity, transport in extra:
            assert stages.c is not None
            base = f"{prefix}{identifier(energy_field)}"
            grid = self.name(f"{base}_grid")
            self.grid(grid, intensity, transport, get, stages.c)
            site = self.name(f"{base}_site")
            self.out.block("datacenter", site, [Item("pue", Num(1), "the energy nn-c reads is already facility energy"),
                                                Item("grid", Ref(grid))])  # fmt: skip
            given, at_path = self.number(get(energy_field, stages.c), "kWh", energy_field)
            self.out.block("training", self.name(base), [
                *rows, Item("energy", given, at_path), Item("site", Ref(site)),
                Item("embodied", Num(0, "gCO2e"), f"{stages.c.name} counts only the operational carbon of this energy")])  # fmt: skip
        return names

    def grid(self, name: str, intensity: str, transport: str, get: Any, plugin: Plugin) -> None:
        alpha, tau = get(intensity, plugin), get(transport, plugin)
        self.out.block("grid", name, [Item("intensity", Num(alpha.number, "gCO2e/kWh"), alpha.where),
                                      Item("transport", Num(tau.number), tau.where)])  # fmt: skip

    def manufacture(self, device: str, group: tuple[str, ...], get: Any, emb: Plugin | None) -> list[Item]:
        assert emb is not None
        _, energy, intensity, transport = group
        factory = self.name(f"{device}_factory")
        self.grid(factory, intensity, transport, get, emb)
        made = get(energy, emb)
        return [Item("manufacturing_energy", Num(made.number, "kWh"), made.where), Item("made_in", Ref(factory))]

    # -- the results the scenario must reproduce: the nn-ci plugins' formulas, in their order

    def record(self, stages: _Stages, obs: dict[str, Value], names: list[str]) -> None:
        n = {k: v.number for k, v in obs.items()}
        outputs: dict[str, float] = {}
        for job, name in zip(stages.jobs, names, strict=True):
            if job.role == "training":
                (hw, hp), (sc, sp) = ((d[1], d[2]) for d in job.devices)
                energy = n[job.pue] * (n[hw] * n[hp] + n[sc] * n[sp]) * n[job.time] / 1000
            else:
                ((_, sc, sp),) = job.devices
                energy = n[sc] * n[job.time] * n[job.pue] * n[sp] / 1000
            outputs[job.plugin.output or job.plugin.name] = energy
            previous, plugin = self.energies[name]
            self.energies[name] = (previous + energy, plugin)
        values = {**n, **outputs}
        if stages.emb is not None:
            embodied = sum(_over(values[i], values[t]) * values[e] * values[k] for k, e, i, t in stages.groups)
            outputs[stages.emb.output or stages.emb.name] = embodied
            self.add("embodied", embodied)
        values = {**n, **outputs}
        if stages.c is not None:
            for energy_field, _, _ in stages.sites:
                if energy_field not in values:
                    raise self.manifest.error(f"`{stages.c.name}` reads `{energy_field}`, which is neither an input "
                                              "nor an output of an earlier plugin",
                                              (*stages.c.path, "input-parameters"))  # fmt: skip
            operational = sum(_over(values[e] * values[i], values[t]) for e, i, t in stages.sites)
            outputs[stages.c.output or stages.c.name] = operational
            self.add("operational", operational)
        if stages.sum is not None:
            names = _field_list(stages.sum.params.get("")) or []
            values = {**n, **outputs}
            missing = [name for name in names if name not in values]
            if missing or not names:
                raise self.manifest.error(f"`{stages.sum.name}` sums `{missing[0] if missing else '?'}`, which no "
                                          "earlier plugin computes", (*stages.sum.path, "input-parameters"))  # fmt: skip
            self.add("total", sum(values[name] for name in names))
            carbon = {p.output for p in (stages.emb, stages.c) if p is not None}
            if set(names) != carbon:
                self.manifest.warnings.append(Diagnostic(
                    "E602", f"`{stages.sum.name}` does not sum exactly the nn-emb and nn-c outputs; the scenario's "
                    "total is operational plus embodied carbon", self.manifest.span_of(stages.sum.path), "warning"))  # fmt: skip

    def add(self, role: str, value: float) -> None:
        self.totals[role] = self.totals.get(role, 0.0) + value

    def expectations(self) -> None:
        for job, (energy, plugin) in self.energies.items():
            self.expect(f"{job}.energy", energy, "kWh", plugin)
        for role, plugin in (("embodied", "nn-emb"), ("operational", "nn-c"), ("total", "sum")):
            if role in self.totals and not math.isnan(self.totals[role]):  # NaN: the plugin divides by a 0 (E603)
                self.expect(f"total.{role}", self.totals[role], "gCO2e", plugin)

    def expect(self, target: str, value: float, unit: str, plugin: str) -> None:
        shown = float(f"{value:.12g}")
        self.out.expect(target, Num(shown, unit), TOLERANCE, f"{plugin}, by the nn-ci plugin's formula")


def _over(numerator: float, denominator: float) -> float:
    """The nn-ci plugins' quotient; NaN where they divide by 0 (they fail there: no expectation is written)."""
    return numerator / denominator if denominator else math.nan


@attrs.frozen
class _Stages:
    jobs: list[_Job]
    emb: Plugin | None
    groups: list[tuple[str, ...]]  # (count, production energy, intensity, transport) per device group
    c: Plugin | None
    sites: list[tuple[str, ...]]  # (energy, intensity, transport) per datacenter
    sum: Plugin | None
