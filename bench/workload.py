"""The IF-equivalent workload: N observations of the nn-ci pipeline, for IF 1.1.0 and for nnci.

The benchmark against the Impact Framework (bench/vs_if.py) needs the same work in both tools'
languages and the answer both should reach. This module writes, for N observations:

- an IF 1.x manifest whose pipeline is the nn-ci plugins (nn-et, nn-eq, nn-emb, nn-c, sum)
  re-expressed with IF builtins only (Multiply, Sum, Divide), one input per observation;
- the nnci twin: per observation one `training t<i>` and one `inference q<i>` with their own
  grids, devices and datacenters (12 blocks, 54 lines), so nothing is shared between observations;
- the five nn-ci results per observation, in float64 and in the nn-ci TypeScript's operand order
  (IF's builtins reproduce them bit for bit, so they are the reference for both tools);
- with --table, the tabular form: one `training` job with `rows = jobs` over a jobs.csv.

Observation 0 is the nn-ci GPT-3 demo; the others vary its inputs by a few percent from a seeded
generator. The sequence of random draws is the one of the shared if-equivalent generators, so the
same N and seed give the same workload; `--compare-shared DIR` verifies that against those scripts
(it runs them; nothing else here reads the shared folder).

usage: workload.py -n N [--seed 42] [--check-lines] [--table] -o DIR
       workload.py --compare-shared DIR [--if-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

Observation = dict[str, float]

# The GPT-3 demo's 19 inputs, named as in the nn-ci manifest. Order matters: it is the order of the
# random draws, and of the keys in each IF input.
DEMO: dict[str, float] = {
    "gpu/training": 10000,
    "servers/training": 625,
    "gpu/training-manufacturing-energy": 1000,
    "location-gpu-manufacturing/carbon-intensity": 633,
    "servers-training-manufacturing-energy": 900,
    "location-server-manufacturing/carbon-intensity": 534,
    "time/training": 360,
    "pue/training": 1.1,
    "power/gpu-training": 300,
    "power/servers-training": 250,
    "carbon-intensity/training": 429,
    "energy-transport-factor/training": 0.95,
    "servers/query": 3620,
    "server-query-manufacturing-energy": 900,
    "time/query": 24,
    "pue/query": 1.1,
    "power/query": 250,
    "carbon-intensity/query": 429,
    "energy-transport-factor/query": 0.95,
}
# Ratios vary by ±3 % and keep three decimals; counts, powers, energies and intensities vary by
# ±5 % and stay positive integers.
RATIOS = frozenset({"pue/training", "pue/query", "energy-transport-factor/training", "energy-transport-factor/query"})
RESULTS = (
    "energy-consumed-by-training-NN",
    "energy-consumed-by-query-NN",
    "embodied-carbon-of-NN",
    "carbon-emission-by-NN",
    "total-carbon-emission-by-NN",
)
START = dt.datetime(2023, 12, 12, tzinfo=dt.UTC)  # observation i is the hour START + i h

# The nn-ci pipeline as IF builtins: (plugin, method, output, operands), operands in nn-ci's
# order; a Divide's operands are (numerator, denominator).
Plugin = tuple[str, str, str, tuple[str | int, ...]]
PLUGINS: tuple[Plugin, ...] = (
    # nn-et: E_train = pue * (gpus*P_gpu + servers*P_srv) * hours / 1000
    ("et-gpu-power", "Multiply", "power/gpu-training-total", ("gpu/training", "power/gpu-training")),
    ("et-server-power", "Multiply", "power/servers-training-total", ("servers/training", "power/servers-training")),
    ("et-it-power", "Sum", "power/it-training", ("power/gpu-training-total", "power/servers-training-total")),
    ("et-wh", "Multiply", "energy-training-Wh", ("pue/training", "power/it-training", "time/training")),
    ("nn-et", "Divide", "energy-consumed-by-training-NN", ("energy-training-Wh", 1000)),
    # nn-eq: E_query = servers * hours * pue * P / 1000
    ("eq-wh", "Multiply", "energy-query-Wh", ("servers/query", "time/query", "pue/query", "power/query")),
    ("nn-eq", "Divide", "energy-consumed-by-query-NN", ("energy-query-Wh", 1000)),
    # nn-emb: sum over device groups of (ci_mfg / tf) * (E_mfg * count)
    ("emb-ci-gpu", "Divide", "emb/ci-adj-gpu-training", ("location-gpu-manufacturing/carbon-intensity", "energy-transport-factor/training")),
    ("emb-ci-srv-training", "Divide", "emb/ci-adj-servers-training", ("location-server-manufacturing/carbon-intensity", "energy-transport-factor/training")),
    ("emb-ci-srv-query", "Divide", "emb/ci-adj-servers-query", ("location-server-manufacturing/carbon-intensity", "energy-transport-factor/query")),
    ("emb-e-gpu", "Multiply", "emb/energy-gpu-training", ("gpu/training-manufacturing-energy", "gpu/training")),
    ("emb-e-srv-training", "Multiply", "emb/energy-servers-training", ("servers-training-manufacturing-energy", "servers/training")),
    ("emb-e-srv-query", "Multiply", "emb/energy-servers-query", ("server-query-manufacturing-energy", "servers/query")),
    ("emb-c-gpu", "Multiply", "emb/carbon-gpu-training", ("emb/ci-adj-gpu-training", "emb/energy-gpu-training")),
    ("emb-c-srv-training", "Multiply", "emb/carbon-servers-training", ("emb/ci-adj-servers-training", "emb/energy-servers-training")),
    ("emb-c-srv-query", "Multiply", "emb/carbon-servers-query", ("emb/ci-adj-servers-query", "emb/energy-servers-query")),
    ("nn-emb", "Sum", "embodied-carbon-of-NN", ("emb/carbon-gpu-training", "emb/carbon-servers-training", "emb/carbon-servers-query")),
    # nn-c: sum over jobs of E * (ci / tf)
    ("c-ci-training", "Divide", "c/ci-adj-training", ("carbon-intensity/training", "energy-transport-factor/training")),
    ("c-ci-query", "Divide", "c/ci-adj-query", ("carbon-intensity/query", "energy-transport-factor/query")),
    ("c-training", "Multiply", "c/carbon-training", ("energy-consumed-by-training-NN", "c/ci-adj-training")),
    ("c-query", "Multiply", "c/carbon-query", ("energy-consumed-by-query-NN", "c/ci-adj-query")),
    ("nn-c", "Sum", "carbon-emission-by-NN", ("c/carbon-training", "c/carbon-query")),
    # sum
    ("sum", "Sum", "total-carbon-emission-by-NN", ("embodied-carbon-of-NN", "carbon-emission-by-NN")),
)  # fmt: skip


def vary(rng: random.Random, index: int) -> Observation:
    """Observation `index`: the demo itself for 0, else the demo varied by a few percent.

    Observation 0 draws nothing, so the others' draws do not depend on whether it is written."""
    if index == 0:
        return dict(DEMO)
    varied: Observation = {}
    for name, value in DEMO.items():
        if name in RATIOS:
            varied[name] = round(value * rng.uniform(0.97, 1.03), 3)
        else:
            varied[name] = max(1, round(value * rng.uniform(0.95, 1.05)))
    return varied


def observations(count: int, seed: int = 42) -> list[Observation]:
    """The `count` observations of one seed, in order."""
    rng = random.Random(seed)
    return [vary(rng, i) for i in range(count)]


def expected(g: Observation) -> tuple[float, float, float, float, float]:
    """The five nn-ci results of one observation (kWh, kWh, gCO2e, gCO2e, gCO2e).

    float64 in the nn-ci TypeScript's operand order: IF's builtins evaluate the same products in
    the same order, so IF should match these bit for bit and nnci to rounding."""
    ci_t = g["carbon-intensity/training"] / g["energy-transport-factor/training"]
    ci_q = g["carbon-intensity/query"] / g["energy-transport-factor/query"]
    it_power = g["gpu/training"] * g["power/gpu-training"] + g["servers/training"] * g["power/servers-training"]
    e_train = (g["pue/training"] * it_power * g["time/training"]) / 1000
    e_query = (g["servers/query"] * g["time/query"] * g["pue/query"] * g["power/query"]) / 1000
    groups = (  # (count, manufacturing energy, factory intensity, transport factor of the job)
        ("gpu/training", "gpu/training-manufacturing-energy", "location-gpu-manufacturing/carbon-intensity", "energy-transport-factor/training"),
        ("servers/training", "servers-training-manufacturing-energy", "location-server-manufacturing/carbon-intensity", "energy-transport-factor/training"),
        ("servers/query", "server-query-manufacturing-energy", "location-server-manufacturing/carbon-intensity", "energy-transport-factor/query"),
    )  # fmt: skip
    embodied = 0.0
    for count, energy, intensity, transport in groups:
        embodied += (g[intensity] / g[transport]) * (g[energy] * g[count])
    operational = 0.0
    for energy_kwh, intensity in ((e_train, ci_t), (e_query, ci_q)):
        operational += energy_kwh * intensity
    return e_train, e_query, embodied, operational, embodied + operational


# ---- the IF manifest


def _scalar(value: str | int) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _plugin_yaml(name: str, method: str, output: str, operands: tuple[str | int, ...]) -> str:
    """One builtin's definition: Multiply and Sum take a list of inputs, Divide a numerator and a
    denominator (a parameter name or a number)."""
    head = f"    {name}:\n      method: {method}\n      path: builtin\n      config:\n"
    if method == "Divide":
        numerator, denominator = operands
        return head + (
            f"        numerator: {_scalar(numerator)}\n"
            f"        denominator: {_scalar(denominator)}\n"
            f"        output: {_scalar(output)}\n"
        )
    inputs = ", ".join(map(_scalar, operands))
    return head + f"        input-parameters: [{inputs}]\n        output-parameter: {_scalar(output)}\n"


def timestamp(index: int) -> str:
    return (START + dt.timedelta(hours=index)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def manifest_text(obs: list[Observation], seed: int) -> str:
    """The IF 1.x manifest: all plugins, one child whose pipeline runs them on every observation."""
    parts = [
        f"name: nnci-if-equivalent-n{len(obs)}\n",
        f"description: nn-ci pipeline from IF builtins, {len(obs)} observation(s), seed {seed} (bench/workload.py)\n",
        "tags:\n",
        "initialize:\n  plugins:\n",
        *(_plugin_yaml(*plugin) for plugin in PLUGINS),
        "tree:\n  pipeline:\n    compute:\n",
        *(f"      - {plugin[0]}\n" for plugin in PLUGINS),
        "  children:\n    child-1:\n      inputs:\n",
    ]
    for i, g in enumerate(obs):
        parts.append(f"        - timestamp: '{timestamp(i)}'\n          duration: 3600\n")
        parts.extend(f"          {name}: {value!r}\n" for name, value in g.items())
    return "".join(parts)


# ---- the nnci twin


def nnci_header(count: int, seed: int) -> str:
    # The comment names the shared generator whose output this reproduces byte for byte.
    return f"nnci 0.1\n## IF-anchor equivalent: {count} observation(s), seed {seed} (gen_nnci.py)\n\n"


def _grid(name: str, intensity: float, transport: float) -> str:
    return f"grid {name} {{\n  intensity = {intensity} gCO2e/kWh\n  transport = {transport}\n}}\n"


def _device(name: str, power: float, energy: float, made_in: str) -> str:
    return f"device {name} {{\n  power = {power} W\n  manufacturing_energy = {energy} kWh\n  made_in = {made_in}\n}}\n"


def _datacenter(name: str, pue: float, grid: str, check_line: bool) -> str:
    check = '  check pue >= 1, "PUE below 1 is impossible"\n' if check_line else ""
    return f"datacenter {name} {{\n  pue = {pue}\n  grid = {grid}\n{check}}}\n"


def _job(kind: str, name: str, fleet: dict[str, float], site: str, hours: float) -> str:
    devices = ", ".join(f"{device} = {count}" for device, count in fleet.items())
    return f"{kind} {name} {{\n  fleet = {{ {devices} }}\n  site = {site}\n  duration = {hours} h\n}}\n"


def nnci_blocks(i: int, g: Observation, check_line: bool = False) -> str:
    """Observation i as 12 blocks: its operating grids, factory grids (one per job's transport
    factor, because nn-emb divides the factory intensity by the job's factor), devices,
    datacenters and the two jobs."""
    tf_t, tf_q = g["energy-transport-factor/training"], g["energy-transport-factor/query"]
    gpu_factory = g["location-gpu-manufacturing/carbon-intensity"]
    server_factory = g["location-server-manufacturing/carbon-intensity"]
    return "".join(
        (
            _grid(f"dcgt{i}", g["carbon-intensity/training"], tf_t),
            _grid(f"dcgq{i}", g["carbon-intensity/query"], tf_q),
            _grid(f"gf{i}", gpu_factory, tf_t),
            _grid(f"sft{i}", server_factory, tf_t),
            _grid(f"sfq{i}", server_factory, tf_q),
            _device(f"gpu{i}", g["power/gpu-training"], g["gpu/training-manufacturing-energy"], f"gf{i}"),
            _device(f"st{i}", g["power/servers-training"], g["servers-training-manufacturing-energy"], f"sft{i}"),
            _device(f"sq{i}", g["power/query"], g["server-query-manufacturing-energy"], f"sfq{i}"),
            _datacenter(f"dct{i}", g["pue/training"], f"dcgt{i}", check_line),
            _datacenter(f"dcq{i}", g["pue/query"], f"dcgq{i}", check_line),
            _job(
                "training",
                f"t{i}",
                {f"gpu{i}": g["gpu/training"], f"st{i}": g["servers/training"]},
                f"dct{i}",
                g["time/training"],
            ),
            _job("inference", f"q{i}", {f"sq{i}": g["servers/query"]}, f"dcq{i}", g["time/query"]),
            "\n",
        )
    )


def nnci_text(obs: list[Observation], seed: int, check_lines: bool = False) -> str:
    return nnci_header(len(obs), seed) + "".join(nnci_blocks(i, g, check_lines) for i, g in enumerate(obs))


# ---- the table form

TABLE_COLUMNS = ("gpus", "servers", "hours [h]")
TABLE_RESULTS = ("energy [kWh]", "operational [kgCO2e]", "embodied [kgCO2e]", "total [kgCO2e]")


def table_nnci_text(count: int, seed: int) -> str:
    """One training job over every row of jobs.csv: per-row GPU and server counts and hours, one
    shared set of devices, grids and datacenter (the demo's)."""
    d = DEMO
    return (
        f"nnci 0.1\n## IF-equivalent table form: {count} row(s) of jobs.csv, seed {seed} (bench/workload.py)\n"
        'import "jobs.csv" as jobs\n\n'
        + _grid("g", d["carbon-intensity/training"], d["energy-transport-factor/training"])
        + _grid("gpu_factory", d["location-gpu-manufacturing/carbon-intensity"], d["energy-transport-factor/training"])
        + _grid("server_factory", d["location-server-manufacturing/carbon-intensity"], d["energy-transport-factor/training"])
        + _device("gpu", d["power/gpu-training"], d["gpu/training-manufacturing-energy"], "gpu_factory")
        + _device("host", d["power/servers-training"], d["servers-training-manufacturing-energy"], "server_factory")
        + _datacenter("dc", d["pue/training"], "g", False)
        + "training t {\n  rows = jobs\n  fleet = { gpu = jobs.gpus, host = jobs.servers }\n"
        "  site = dc\n  duration = jobs.hours\n}\n"
    )  # fmt: skip


def table_row(g: Observation) -> tuple[float, float, float]:
    return g["gpu/training"], g["servers/training"], g["time/training"]


def table_expected(g: Observation) -> tuple[float, float, float, float]:
    """One row's training results (kWh, kgCO2e x3), the demo's devices and site with the row's
    counts and hours, in nn-ci's operand order."""
    d = DEMO
    gpus, servers, hours = table_row(g)
    tf = d["energy-transport-factor/training"]
    energy = (
        d["pue/training"] * (gpus * d["power/gpu-training"] + servers * d["power/servers-training"]) * hours
    ) / 1000
    operational = energy * (d["carbon-intensity/training"] / tf)
    embodied = (d["location-gpu-manufacturing/carbon-intensity"] / tf) * (d["gpu/training-manufacturing-energy"] * gpus)
    embodied += (d["location-server-manufacturing/carbon-intensity"] / tf) * (
        d["servers-training-manufacturing-energy"] * servers
    )
    return energy, operational / 1000, embodied / 1000, (embodied + operational) / 1000


# ---- files


@dataclass(frozen=True)
class Workload:
    """The files of one generated workload and the reference results."""

    count: int
    seed: int
    manifest: Path
    scenario: Path
    expected: list[tuple[float, float, float, float, float]]
    table: Path | None = None
    table_expected: list[tuple[float, float, float, float]] | None = None


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, count: int, seed: int = 42, *, check_lines: bool = False, table: bool = False) -> Workload:
    """Write m.yml, s.nnci and expected.csv (and with `table`, jobs.csv, table.nnci and
    table-expected.csv) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    obs = observations(count, seed)
    results = [expected(g) for g in obs]
    manifest, scenario = folder / "m.yml", folder / "s.nnci"
    manifest.write_text(manifest_text(obs, seed))
    scenario.write_text(nnci_text(obs, seed, check_lines))
    _write_csv(
        folder / "expected.csv",
        ("index", "timestamp", *RESULTS),
        ([i, timestamp(i), *map(repr, r)] for i, r in enumerate(results)),
    )
    if not table:
        return Workload(count, seed, manifest, scenario, results)
    _write_csv(folder / "jobs.csv", TABLE_COLUMNS, (table_row(g) for g in obs))
    (folder / "table.nnci").write_text(table_nnci_text(count, seed))
    rows = [table_expected(g) for g in obs]
    _write_csv(folder / "table-expected.csv", TABLE_RESULTS, ([*map(repr, r)] for r in rows))
    return Workload(count, seed, manifest, scenario, results, folder / "table.nnci", rows)


# ---- YAML, read with IF's own parser


def read_yaml(path: Path, if_dir: Path | None = None) -> object:
    """A YAML file as Python data, parsed by the js-yaml that IF itself uses (exact doubles, and
    fast enough for a 10,000-observation out.yaml); PyYAML only when IF is not installed."""
    js_yaml = if_dir / "node_modules" / "js-yaml" if if_dir else None
    if js_yaml and js_yaml.is_dir() and shutil.which("node"):
        script = (
            "const y = require(process.argv[1]), fs = require('fs');"
            "fs.writeSync(1, JSON.stringify(y.load(fs.readFileSync(process.argv[2], 'utf8'))));"
        )
        done = subprocess.run(["node", "-e", script, str(js_yaml), str(path)], capture_output=True, check=True)
        return json.loads(done.stdout)
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        sys.exit(f"cannot read {path}: neither IF's js-yaml (--if-dir) nor PyYAML is available")
    return yaml.safe_load(path.read_text())


# ---- comparison with the shared generators


def compare_shared(shared: Path, if_dir: Path | None) -> bool:
    """Run the shared gen_nnci.py / gen_manifest.py for a few N and seeds and compare: the .nnci
    byte for byte, the manifest as parsed YAML (everything but its name and description), the
    expected results as exact float64 values."""
    cases = ((1, 42, False), (2, 42, True), (50, 7, False), (1000, 42, False), (1000, 123, True))
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        for count, seed, check_lines in cases:
            ours = generate(tmp / f"ours-{count}-{seed}", count, seed, check_lines=check_lines)
            theirs_nnci, theirs_yml, theirs_csv = (
                tmp / f"theirs-{count}-{seed}.{ext}" for ext in ("nnci", "yml", "csv")
            )
            flags = ["--check-lines"] if check_lines else []
            base = [sys.executable]
            subprocess.run([*base, str(shared / "gen_nnci.py"), "-n", str(count), "--seed", str(seed), *flags,
                            "-o", str(theirs_nnci)], check=True)  # fmt: skip
            subprocess.run([*base, str(shared / "gen_manifest.py"), "-n", str(count), "--seed", str(seed),
                            "-o", str(theirs_yml), "--expected", str(theirs_csv)], check=True)  # fmt: skip
            same_nnci = ours.scenario.read_bytes() == theirs_nnci.read_bytes()
            a, b = read_yaml(ours.manifest, if_dir), read_yaml(theirs_yml, if_dir)
            assert isinstance(a, dict) and isinstance(b, dict)
            same_yaml = all(a.get(key) == b.get(key) for key in ("tags", "initialize", "tree"))
            same_yaml = same_yaml and set(a) == set(b)
            with theirs_csv.open() as handle:
                rows = [[float(row[name]) for name in RESULTS] for row in csv.DictReader(handle)]
            same_expected = rows == [list(r) for r in ours.expected]
            lines = ours.scenario.read_text().count("\n") - 3
            print(
                f"N={count:<5} seed={seed:<4} check-lines={check_lines!s:<5}  "
                f".nnci {'identical' if same_nnci else 'DIFFERENT'}  "
                f"manifest {'equivalent' if same_yaml else 'DIFFERENT'}  "
                f"expected {'identical' if same_expected else 'DIFFERENT'}  "
                f"({lines / count:.0f} lines per observation)"
            )
            ok = ok and same_nnci and same_yaml and same_expected
    print("MATCHES the shared generators" if ok else "DOES NOT MATCH the shared generators")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, help="observations (one training + one inference job each)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("-o", "--out", type=Path, help="folder to write m.yml, s.nnci, expected.csv into")
    parser.add_argument("--check-lines", action="store_true", help="add the demo's `check pue >= 1` to datacenters")
    parser.add_argument("--table", action="store_true", help="also write jobs.csv and table.nnci (rows = jobs)")
    parser.add_argument("--compare-shared", type=Path, metavar="DIR", help="compare with the shared generators")
    parser.add_argument("--if-dir", type=Path, default=Path(tempfile.gettempdir()) / "nnci-if",
                        help="an IF install whose js-yaml parses the manifests (else PyYAML)")  # fmt: skip
    args = parser.parse_args()
    if args.compare_shared:
        sys.exit(0 if compare_shared(args.compare_shared, args.if_dir) else 1)
    if args.n is None or args.out is None:
        parser.error("-n and -o are required (or --compare-shared DIR)")
    work = generate(args.out, args.n, args.seed, check_lines=args.check_lines, table=args.table)
    print(f"wrote {work.manifest}, {work.scenario}" + (f", {work.table}" if work.table else ""))


if __name__ == "__main__":
    main()
