"""`nnci import` and `nnci export`: golden files per importer, and the results checked by hand.

Golden cases live in tests/cases/interop/: an input (`<name>.yml`, `<name>.csv`, `<name>.sacct`)
beside what `nnci import` writes for it: `<name>.nnci` (and the tables it imports) and
`<name>.err`, the diagnostics. Regenerate with `NNCI_UPDATE_GOLDEN=1 pytest tests/test_interop.py`
and read every changed file.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnci import api
from nnci.cli import main
from nnci.engine import Derivation
from nnci.formatting import format_file
from nnci.interop import yaml_subset
from nnci.interop.codecarbon import catalog, import_codecarbon
from nnci.interop.manifest import import_manifest
from nnci.interop.printer import Call, Entry, Item, Map, Num, Ref, Scenario
from nnci.interop.slurm import parse_elapsed, read_sacct
from nnci.load import read_module

REPO = Path(__file__).resolve().parent.parent
CASES = Path("tests") / "cases" / "interop"
UPDATE = os.environ.get("NNCI_UPDATE_GOLDEN") == "1"
INPUTS = sorted(p.name for p in (REPO / CASES).iterdir() if p.suffix in (".yml", ".csv", ".sacct") and
                not p.name.endswith(("-observations.csv", "-jobs.csv")))  # fmt: skip


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def _import(name: str, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    stem = name.rsplit(".", 1)[0]
    out = out_dir / f"{stem}.nnci"
    argv = ["import", (CASES / name).as_posix(), "-o", str(out)]
    cluster = REPO / CASES / f"{stem}.cluster.nnci"
    if name.endswith(".sacct"):  # a log's cluster file, or the one of cluster-log.sacct
        cluster = cluster if cluster.exists() else REPO / CASES / "cluster-log.cluster.nnci"
        shutil.copy(cluster, out_dir / cluster.name)
        argv += ["--cluster", str(out_dir / cluster.name)]
    code = main(argv)
    err = capsys.readouterr().err
    err = "\n".join(line for line in err.split("\n") if not line.startswith("wrote "))
    return code, err, out


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("name", INPUTS)
def test_import_golden(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What `nnci import` writes and says for each input; a scenario it writes validates."""
    stem = name.rsplit(".", 1)[0]
    code, err, out = _import(name, tmp_path, capsys)
    assert "Traceback" not in err
    expected_err = REPO / CASES / f"{stem}.err"
    if UPDATE:
        expected_err.write_text(err, encoding="utf-8")
        for written in tmp_path.glob(f"{stem}*"):
            if written.suffix in (".nnci", ".csv") and not written.name.endswith(".cluster.nnci"):
                shutil.copy(written, REPO / CASES / written.name)
    assert err == expected_err.read_text(encoding="utf-8")
    expected = REPO / CASES / f"{stem}.nnci"
    if code != 0:
        assert not out.exists() and not expected.exists()
        assert re.search(r"--> tests/cases/interop/\S+:\d+:\d+", err), "errors are located"
        return
    assert out.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
    for table in tmp_path.glob(f"{stem}-*.csv"):
        assert table.read_text(encoding="utf-8") == (REPO / CASES / table.name).read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(out)]) == 0  # printed by the formatter of `nnci fmt`
    assert main(["validate", str(out)]) == 0, capsys.readouterr()  # its expect lines hold


def _nnci_ci(g: dict[str, float]) -> dict[str, float]:
    """The nn-ci plugins' formulas written out by hand (teto1992/NN-CI src/lib/NN-*/index.ts)."""
    e_t = g["pue_t"] * (g["gpus"] * g["p_gpu"] + g["servers_t"] * g["p_srv_t"]) * g["h_t"] / 1000
    e_q = g["servers_q"] * g["h_q"] * g["pue_q"] * g["p_srv_q"] / 1000
    emb = (
        g["ci_gpu_fab"] / g["tau_t"] * g["e_gpu"] * g["gpus"]
        + g["ci_srv_fab"] / g["tau_t"] * g["e_srv"] * g["servers_t"]
        + g["ci_srv_fab"] / g["tau_q"] * g["e_srv"] * g["servers_q"]
    )
    op = e_t * g["ci_t"] / g["tau_t"] + e_q * g["ci_q"] / g["tau_q"]
    return {"training": e_t, "queries": e_q, "embodied": emb, "operational": op, "total": emb + op}


DEMO = dict(gpus=10000, p_gpu=300, servers_t=625, p_srv_t=250, h_t=360, pue_t=1.1, servers_q=3620, p_srv_q=250,
            h_q=24, pue_q=1.1, e_gpu=1000, e_srv=900, ci_gpu_fab=633, ci_srv_fab=534, ci_t=429, ci_q=429,
            tau_t=0.95, tau_q=0.95)  # fmt: skip


@pytest.mark.usefixtures("at_repo")
@pytest.mark.parametrize("name", ["nnci-demo-if03.yml", "nnci-demo-if1.yml"])
def test_imported_demo_runs_to_the_nn_ci_formulas(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, out = _import(name, tmp_path, capsys)
    assert code == 0
    hand = _nnci_ci(DEMO)
    assert hand["training"] == pytest.approx(1_249_875) and hand["total"] == pytest.approx(9_385_887_413.68)
    results = api.run(out)
    energy = {str(job.key): _magnitude(job.quantities["energy"]) for job in results.jobs}
    assert math.isclose(energy["training_run"] / 3.6e6, hand["training"], rel_tol=1e-12)  # J → kWh
    assert math.isclose(energy["queries"] / 3.6e6, hand["queries"], rel_tol=1e-12)
    for quantity in ("embodied", "operational", "total"):
        value = _magnitude(results.total[quantity]) * 1000  # kgCO2e → g
        assert math.isclose(value, hand[quantity], rel_tol=1e-12), quantity


def _magnitude(result: object) -> float:
    assert isinstance(result, Derivation), result
    return float(result.value.magnitude)


@pytest.mark.usefixtures("at_repo")
def test_two_observations_become_a_table_of_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, out = _import("sweep-two-observations.yml", tmp_path, capsys)
    assert code == 0
    assert "rows = sweep_two_observations_observations" in out.read_text()
    # by hand: 1.2 × (n_gpus × 400 W + n_hosts × 700 W) × hours, for (64, 8, 10 h) and (128, 16, 24 h)
    energy_kwh = 1.2 * (64 * 400 + 8 * 700) * 10 / 1000 + 1.2 * (128 * 400 + 16 * 700) * 24 / 1000
    embodied_g = (64 + 128) * 250 * 560 + (8 + 16) * 2000 * 560  # τ = 1 at the fab
    results = api.run(out)
    (job,) = results.jobs
    assert job.rows == 2
    assert math.isclose(_magnitude(job.quantities["energy"]) / 3.6e6, energy_kwh, rel_tol=1e-12)
    assert math.isclose(_magnitude(results.total["embodied"]) * 1000, embodied_g, rel_tol=1e-12)
    assert math.isclose(_magnitude(results.total["operational"]) * 1000, energy_kwh * 45 / 0.9, rel_tol=1e-12)


# -- CodeCarbon: measured energy


@pytest.mark.usefixtures("at_repo")
def test_codecarbon_run_keeps_its_measurement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, out = _import("codecarbon-v3-water.csv", tmp_path, capsys)
    assert code == 0, err
    (job,) = api.run(out).jobs
    # CodeCarbon's energy_consumed (135.790096 kWh) already holds its PUE (1.2): IT energy is 113.158…,
    # facility energy CodeCarbon's own figure, and operational carbon its emissions (7.604245 kg)
    assert math.isclose(_magnitude(job.quantities["energy"]) / 3.6e6, 135.790096, rel_tol=1e-12)
    assert math.isclose(_magnitude(job.quantities["operational"]), 7.604245, rel_tol=1e-9)
    text = out.read_text()
    assert "it_energy = 113.158413333333 kWh" in text and "pue = 1.2" in text and "grids.fra_2023" in text


@pytest.mark.usefixtures("at_repo")
def test_compare_measured_beside_estimated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, out = _import("codecarbon-v2.csv", tmp_path, capsys)
    assert code == 0, err
    assert main(["compare", str(out), "bert_finetune_9e8d7c6b", "--measured"]) == 0
    shown = capsys.readouterr().out
    # by hand: 8 A100 SXM4 80GB at their 400 W TDP for 7,200 s, PUE 1 → 6.4 kWh; CodeCarbon measured 4.72482 kWh
    ratio = 4.72482 / (8 * 400 * 7200 / 3.6e6)
    line = next(row for row in shown.split("\n") if row.startswith("energy "))
    assert "4.72482 kWh" in line and "6.4 kWh" in line and f"{ratio:.3f}" in line
    assert main(["compare", str(out), "no_such_job", "--measured"]) == 2


# -- Slurm: a job log with array jobs, steps, failed, pending and running jobs


@pytest.mark.usefixtures("at_repo")
def test_sacct_totals_per_user_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, out = _import("cluster-log.sacct", tmp_path, capsys)
    assert code == 0, err
    assert main(["run", str(out), "--by", "jobs.user", "--format", "json"]) == 0
    groups = {g["group"]["user"]: g for g in json.loads(capsys.readouterr().out)["slurm_jobs"]}
    # By hand from cluster-log.sacct and its cluster file: GPUs from gres/gpu, nodes × 700 W (GPU
    # partition) or × 450 W (CPU partition), PUE 1.2, 45 g/kWh; steps add nothing; 5005 (running)
    # and 5002_[3-4] (pending) are left out; the failed 5002_2 and the cancelled 5004 count.
    year = 365.25 * 24  # h
    jobs = {  # user: [(a100 GPUs, GPU nodes, CPU nodes, hours)]
        "alice": [(8, 2, 0, 1.5), (0, 0, 4, (45 * 60 + 30.5) / 3600)],  # 01:30:00; 00:45:30.500
        "bob": [(2, 1, 0, 26), (2, 1, 0, 12)],  # 1-02:00:00 (gres/gpu:a100=2); 12:00:00
        "carol": [(1, 1, 0, 2.25)],
    }
    assert set(groups) == set(jobs)
    for user, rows in jobs.items():
        it_wh = sum((g * 300 + n * 700 + c * 450) * h for g, n, c, h in rows)
        embodied_kg = sum(g * 150 * h / (5 * year) + (n * 2500 + c * 1500) * h / (6 * year) for g, n, c, h in rows)
        group = groups[user]
        assert group["rows"] == len(rows)
        assert math.isclose(group["energy"]["value"], it_wh * 1.2 / 1000, rel_tol=1e-12), user
        assert math.isclose(group["operational"]["value"], it_wh * 1.2 / 1000 * 0.045, rel_tol=1e-12), user
        assert math.isclose(group["embodied"]["value"], embodied_kg, rel_tol=1e-12), user
    assert "Left out: 1 pending, 1 running; 6 steps folded into their jobs." in out.read_text()


@pytest.mark.parametrize(
    ("text", "hours"),
    [("01:30:00", 1.5), ("1-02:00:00", 26), ("00:45:30.500", 0.75847222222222), ("3:00", 0.05), ("10-00:00:00", 240)],
)
def test_elapsed_times(text: str, hours: float) -> None:
    assert parse_elapsed(text) == pytest.approx(hours, rel=1e-12)


@pytest.mark.parametrize("text", ["1-5", "01:61:00", "INVALID", "", "1-", "00:00:60"])
def test_elapsed_times_refused(text: str) -> None:
    assert parse_elapsed(text) is None


# -- the printer: an AST built without source, printed by `nnci fmt`'s formatter


def test_printer_output_parses_back_to_the_tree_it_printed() -> None:
    out = Scenario()
    out.comment("A header comment, long enough to be wrapped by the printer " * 3)
    out.import_("jobs.csv", "jobs", "one job per row")
    out.doc("A documented grid.")
    out.block("grid", "g", [Item("intensity", Num(429, "gCO2e/kWh"), "from somewhere"), Item("transport", Num(0.95))],
              sources=["a citation"])  # fmt: skip
    out.block(
        "device",
        "gpu",
        [Item("power", Num(-1.5e-7, "W")), Item("tdp", Call("uniform", (Num(300, "W"), Num(350, "W"))))],
    )
    out.block("training", "t", [
        Item("rows", Ref("jobs")), Item("fleet", Map((Entry("gpu", Ref("jobs.gpus"), "column gpus"),))),
        Item("duration", Num(12_345.5, "h"))])  # fmt: skip
    out.expect("t.energy", Num(1_249_875, "kWh"), Num(1, "%"), "a comment")
    text = out.text()
    module, problems = read_module(text, "<generated>")
    assert not problems and module is not None
    assert module == out.module()  # the same tree: blocks, fields, values, docs (spans take no part)
    assert "12_345.5 h" in text and "-1.5e-7 W" in text
    assert [c.text for c in module.comments] == [c.text for c in sorted(out.module().comments, key=lambda c: c.line)]
    assert all(len(line) <= 100 for line in text.split("\n") if line.startswith("#"))


# -- the YAML subset reader


def test_yaml_reader_reads_the_flow_style_of_the_nn_ci_manifest() -> None:
    text = (
        "initialize:\n  plugins:\n    nn-et:\n      global-config:\n        input-parameters:\n          {\n"
        "            'hardware/count/training': 'gpu/training',  # a comment\n"
        "            list/x:\n              ['a', \"b\\u00e9\",\n               c],\n          }\n"
        "        output-parameter: 'energy'\nn: [1, -2.5, 1e3, 0x1F, .inf, ~, true, 'it''s']\n"
        "text: |\n  two\n  lines\nfolded: >-\n  one\n  line\n"
    )
    document = yaml_subset.read(text)
    params = document.data["initialize"]["plugins"]["nn-et"]["global-config"]["input-parameters"]
    assert params == {"hardware/count/training": "gpu/training", "list/x": ["a", "bé", "c"]}
    assert document.data["n"] == [1, -2.5, 1000.0, 31, math.inf, None, True, "it's"]
    assert document.data["text"] == "two\nlines\n" and document.data["folded"] == "one line"
    where = ("initialize", "plugins", "nn-et", "global-config", "input-parameters", "list/x", 2)
    assert document.positions[where] == (10, 16)


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("a: &x 1\nb: *x\n", "anchors", 1, 4),
        ("a: !!python/object:os.system 1\n", "tags", 1, 4),
        ("a: 1\na: 2\n", "duplicate key `a`", 2, 1),
        ("a:\n  - 1\n  b: 2\n", "unexpected indentation", 3, 3),
        ("a: [1, 2\n", "never closed", 1, 4),
        ("a: 'open\n", "not closed", 1, 4),
        ("a: 1\n---\nb: 2\n", "second YAML document", 2, 1),
    ],
)
def test_yaml_reader_refuses_what_manifests_never_need(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(yaml_subset.YamlError) as caught:
        yaml_subset.read(text)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_yaml_reader_nesting_is_bounded() -> None:
    with pytest.raises(yaml_subset.YamlError, match="nesting deeper"):
        yaml_subset.read("a: " + "[" * 10_000 + "]" * 10_000 + "\n")


# -- safe to open: any text gives diagnostics, never an exception


MANIFEST = (REPO / CASES / "nnci-demo-if03.yml").read_text(encoding="utf-8")
SACCT = (REPO / CASES / "cluster-log.sacct").read_text(encoding="utf-8")
EMISSIONS = (REPO / CASES / "codecarbon-v2.csv").read_text(encoding="utf-8")


def _mutated(base: str) -> st.SearchStrategy[str]:
    """The text with a slice replaced by other text: shapes close to real files, and broken ones."""
    return st.tuples(st.integers(0, len(base)), st.integers(0, 40), st.text(max_size=12)).map(
        lambda t: base[: t[0]] + t[2] + base[t[0] + t[1] :]
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), _mutated(MANIFEST)))
def test_any_manifest_text_gives_a_scenario_or_located_diagnostics(text: str) -> None:
    result = import_manifest(text, "m.yml", "m-observations.csv")
    if result.scenario is None:
        assert any(d.severity == "error" for d in result.diagnostics)
    else:
        module, problems = read_module(result.scenario, "<generated>")
        assert module is not None and not problems, result.scenario


@settings(max_examples=100, deadline=None)
@given(_mutated(SACCT))
def test_any_sacct_text_gives_jobs_or_located_diagnostics(text: str) -> None:
    jobs, _, problems = read_sacct(text, "log.sacct")
    assert all(d.span is not None and d.span.file == "log.sacct" for d in problems)
    assert all(job.hours >= 0 and job.nodes >= 0 for job in jobs)


@settings(max_examples=60, deadline=None)
@given(_mutated(EMISSIONS))
def test_any_emissions_text_gives_a_scenario_or_located_diagnostics(text: str) -> None:
    result = import_codecarbon(text, "e.csv", CATALOG)
    if result.scenario is None:
        assert any(d.severity == "error" and d.span is not None for d in result.diagnostics)
    else:
        module, problems = read_module(result.scenario, "<generated>")
        assert module is not None and not problems, result.scenario


CATALOG = catalog()


@pytest.mark.usefixtures("at_repo")
def test_readme_worked_example_of_compare_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table the README shows is what the commands it names print."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "nnci import tests/cases/interop/codecarbon-v2.csv -o runs.nnci" in readme
    runs = tmp_path / "runs.nnci"
    assert main(["import", "tests/cases/interop/codecarbon-v2.csv", "-o", str(runs)]) == 0
    capsys.readouterr()
    assert main(["compare", str(runs), "bert_finetune_9e8d7c6b", "--measured"]) == 0
    table = capsys.readouterr().out.split("\n\n", 1)[1].rstrip("\n")
    assert f"```\n{table}\n```" in readme


def test_if1_mapping_renames_the_fields_a_plugin_reads() -> None:
    """IF 1.x `mapping`: the plugin's name for a parameter → the name the inputs use."""
    text = """name: mapped
initialize:
  plugins:
    nn-eq:
      path: if-plugin-nnci
      method: NNEQ
      mapping: {servers: replicas, power: watts-per-replica}
      config:
        input-parameters: {servers/count/query: servers, servers/power/query: power, time/query: hours, pue/query: pue}
        output-parameter: kwh
tree:
  children:
    serve:
      pipeline: {compute: [nn-eq]}
      inputs:
        - {timestamp: '2024-01-01T00:00:00Z', replicas: 4, watts-per-replica: 500, hours: 10, pue: 1.5}
"""
    result = import_manifest(text, "mapped.yml")
    assert result.scenario is not None, result.diagnostics
    assert re.search(r"power = 500 W +# tree\.children\.serve\.inputs\[0\]\.watts-per-replica", result.scenario)
    # by hand: 4 replicas × 10 h × PUE 1.5 × 500 W = 30 kWh
    (job,) = api.evaluate(api.loads(result.scenario)).jobs
    assert math.isclose(_magnitude(job.quantities["energy"]) / 3.6e6, 30, rel_tol=1e-12)


def test_readme_worked_example_of_a_job_log(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("cluster-log.sacct", "cluster-log.cluster.nnci"):
        shutil.copy(REPO / CASES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "cluster-log.sacct", "--cluster", "cluster-log.cluster.nnci", "-o", "log.nnci"]) == 0
    capsys.readouterr()
    assert main(["run", "log.nnci", "--by", "jobs.user"]) == 0
    assert f"```\n{capsys.readouterr().out.rstrip()}\n```" in readme


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "nnci" / "std").glob("*.nnci")))
def test_the_standard_library_is_printed_as_nnci_fmt_prints_it(name: str) -> None:
    """tools/build_std.py writes the catalog through the printer: `nnci fmt` changes nothing."""
    result = format_file(REPO / "nnci" / "std" / name)
    assert not result.diagnostics and result.formatted == result.original


@pytest.mark.parametrize(
    "text",
    [
        "a" + " " * 50_000 + "b\n",  # a lazy key pattern before `\s*:` backtracked quadratically here
        "- " + ": " * 50_000 + "\n",
        "k: [\n" + "  1,\n" * 50_000 + "]\n",  # a flow list over many lines was parsed again per line
        "- : : :\n",  # an empty key once indexed an empty string
    ],
    ids=["spaces", "colons", "long-flow", "empty-key"],
)
def test_yaml_reader_inputs_that_once_went_wrong(text: str) -> None:
    try:
        document = yaml_subset.read(text)
    except yaml_subset.YamlError as error:
        assert error.line >= 1
    else:
        assert document.data is not None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="-:{}[],'\"#? \n\t|>&*!%@`ab1.", max_size=60))
def test_yaml_reader_gives_data_or_a_located_error(text: str) -> None:
    try:
        yaml_subset.read(text)
    except yaml_subset.YamlError as error:
        assert 1 <= error.line <= text.count("\n") + 1 and error.column >= 1


@pytest.mark.usefixtures("at_repo")
def test_an_output_that_cannot_be_written_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-folder"
    assert main(["import", (CASES / "nnci-demo-if1.yml").as_posix(), "-o", str(missing / "x.nnci")]) == 1
    assert main(["export", "models/nnci-demo.nnci", "--to", "if", "-o", str(missing / "x.yml")]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


# -- nothing a user wrote is overwritten: an input never, a table beside the scenario only if asked


@pytest.mark.usefixtures("at_repo")
def test_an_import_never_overwrites_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("cluster-log.sacct", "cluster-log.cluster.nnci"):
        shutil.copy(REPO / CASES / name, tmp_path / name)
    log, cluster = tmp_path / "cluster-log.sacct", tmp_path / "cluster-log.cluster.nnci"
    before = {p: p.read_bytes() for p in (log, cluster)}
    assert main(["import", str(log), "--cluster", str(cluster), "-o", str(log)]) == 2
    assert f"-o would overwrite the input {log}" in capsys.readouterr().err
    assert main(["import", str(log), "--cluster", str(cluster), "-o", str(tmp_path / "." / cluster.name)]) == 2
    assert f"would overwrite the input {cluster}" in capsys.readouterr().err
    # the companion table of -o is the input: a log named like the table `-o log.nnci` writes
    table = tmp_path / "log-jobs.csv"
    shutil.copy(log, table)
    assert (
        main(["import", str(table), "--from", "sacct", "--cluster", str(cluster), "-o", str(tmp_path / "log.nnci")])
        == 2
    )
    assert f"{table}, the table of -o" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (log, cluster)} == before and table.read_bytes() == before[log]
    assert not (tmp_path / "log.nnci").exists()


@pytest.mark.usefixtures("at_repo")
def test_a_table_that_differs_is_replaced_only_with_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO / CASES / "cluster-log.cluster.nnci", tmp_path / "cluster.nnci")
    argv = ["import", (CASES / "cluster-log.sacct").as_posix(), "--cluster", str(tmp_path / "cluster.nnci"),
            "-o", str(tmp_path / "log.nnci")]  # fmt: skip
    assert main(argv) == 0
    table = tmp_path / "log-jobs.csv"
    written = table.read_text(encoding="utf-8")
    assert main(argv) == 0  # the same import again: the table it finds is the one it writes
    table.write_text(written + "hand,edited\n", encoding="utf-8")
    assert main(argv) == 2
    assert "log-jobs.csv exists and differs" in capsys.readouterr().err
    assert table.read_text(encoding="utf-8") == written + "hand,edited\n"
    assert main([*argv, "--force"]) == 0
    assert table.read_text(encoding="utf-8") == written


@pytest.mark.usefixtures("at_repo")
def test_a_scenario_given_to_import_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    """`nnci import cluster.nnci` (the cluster file in the log's place): what import reads, and a hint."""
    assert main(["import", (CASES / "cluster-log.cluster.nnci").as_posix()]) == 1
    err = capsys.readouterr().err
    golden = REPO / CASES / "scenario-given.err"
    if UPDATE:
        golden.write_text(err, encoding="utf-8")
    assert err == golden.read_text(encoding="utf-8")
    assert "looks like an nnci scenario" in err and "CodeCarbon emissions.csv" in err and "sacct" in err


def test_a_file_read_as_a_manifest_for_want_of_a_guess_says_what_import_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("energy: [1, 2\n", encoding="utf-8")
    assert main(["import", str(notes)]) == 1
    err = capsys.readouterr().err
    assert "not a manifest nnci can read" in err and "a CodeCarbon emissions.csv or a Slurm sacct log" in err
    named = tmp_path / "notes.yml"
    named.write_text("energy: [1, 2\n", encoding="utf-8")
    assert main(["import", str(named)]) == 1
    assert "CodeCarbon" not in capsys.readouterr().err  # a .yml is a manifest: no guess to explain


def test_an_export_never_overwrites_its_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "demo.nnci"
    shutil.copy(REPO / "models" / "nnci-demo.nnci", scenario)
    before = scenario.read_bytes()
    assert main(["export", str(scenario), "--to", "if", "-o", str(scenario)]) == 2
    assert "-o would overwrite the scenario" in capsys.readouterr().err
    assert scenario.read_bytes() == before


def test_a_zero_the_plugins_divide_by_gives_a_scenario_without_that_expectation() -> None:
    """nn-c divides by the transport factor: at 0 the plugin fails in IF, so the import says so (E603)
    and writes no expectation of the operational carbon or the total (once a ZeroDivisionError)."""
    text = MANIFEST.replace("energy-transport-factor/query: 0.95", "energy-transport-factor/query: 0", 1)
    assert text != MANIFEST
    result = import_manifest(text, "m.yml", "m-observations.csv")
    assert result.scenario is not None and "E603" in [d.code for d in result.diagnostics]
    expects = [line for line in result.scenario.splitlines() if line.startswith("expect")]
    assert expects and not any("total.operational" in e or "total.total" in e or "nan" in e for e in expects)
    module, problems = read_module(result.scenario, "<generated>")
    assert module is not None and not problems
