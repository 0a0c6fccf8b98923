"""The command line: formats, exit codes, explain, validate, usage errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from strategies import ONE_JOB

from nnci.cli import main

ROOT = Path(__file__).parent.parent
DEMO = str(ROOT / "models" / "nnci-demo.nnci")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "m.nnci") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_json_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", DEMO, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"nnci", "files", "blocks", "total"}
    assert data["files"] == [DEMO]
    training = data["blocks"]["gpt3_training"]
    assert training["kind"] == "training"
    assert training["energy"]["unit"] == "kWh"
    assert training["energy"]["value"] == pytest.approx(1_249_875)
    assert data["blocks"]["gpt3_queries"]["energy"]["value"] == pytest.approx(23_892)
    for quantity in ("operational", "embodied", "total"):
        assert data["total"][quantity]["unit"] == "kgCO2e"
    assert data["total"]["operational"]["value"] == pytest.approx(575_206.4, abs=0.1)
    assert data["total"]["embodied"]["value"] == pytest.approx(8_810_681, abs=1)


def test_run_json_units_can_be_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "run", DEMO, "--format", "json", "--unit", "MWh", "--unit", "tCO2e")
    data = json.loads(out)
    assert data["total"]["energy"] == {"value": pytest.approx(1273.767), "unit": "MWh"}
    assert data["total"]["total"]["unit"] == "tCO2e"
    assert data["total"]["total"]["value"] == pytest.approx(9385.887, abs=1e-3)


def test_unknown_output_unit_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", DEMO, "--unit", "kwh")
    assert code == 2
    assert "kWh" in err


def test_run_csv_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "run", DEMO, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    energy = next(r for r in rows if r["block"] == "total" and r["quantity"] == "energy")
    assert float(energy["value"]) == pytest.approx(1_273_767)
    assert energy["unit"] == "kWh"
    _, out, _ = run(capsys, "run", DEMO, "--format", "md")
    assert out.splitlines()[0] == "| block | kind | energy | operational | embodied | total |"
    assert "| total |  | 1,273.77 MWh | 575.206 tCO2e | 8,810.68 tCO2e | 9,385.89 tCO2e |" in out


def test_run_table_names_the_embodied_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", DEMO)
    assert code == 0
    assert "charged in full" in out
    assert "9,385.89 tCO2e" in out


def test_explain_shows_formulas_inputs_and_citations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", DEMO, "gpt3_training.operational")
    assert code == 0
    assert out.startswith("gpt3_training.operational = 564,417 kgCO2e")
    assert "nn-c" in out and "nn-et" in out
    assert "datacenter_grid.transport = 0.95   given at" in out
    assert "citations:" in out and "Impact Framework" in out


def test_explain_unknown_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", DEMO, "nope.energy")
    assert code == 2
    assert "gpt3_training" in err
    code, _, err = run(capsys, "explain", DEMO, "gpt3_training.energi")
    assert code == 2


def test_validate_passes_and_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "validate", DEMO)
    assert code == 0
    assert "6 passed, 0 failed" in out
    demo = (
        Path(DEMO)
        .read_text()
        .replace("expect gpt3_queries.energy = 23_892 kWh", "expect gpt3_queries.energy = 23_900 kWh")
    )
    code, out, _ = run(capsys, "validate", write(tmp_path, demo))
    assert code == 1
    assert "FAIL" in out and "5 passed, 1 failed" in out


def test_validate_reports_broken_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(capsys, "validate", write(tmp_path, "device d {\n  power = 3 Wh\n}\n"))
    assert code == 1
    assert "E400" in err


def test_missing_path_and_no_command_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "does/not/exist")
    assert code == 1 and "E103" in err, "a missing file is a diagnostic, as for every command"
    assert run(capsys, "run", DEMO, "--unit", "kWatt")[0] == 2, "not a unit"
    code, _, err = run(capsys, "run", DEMO, "--unit", "kW")
    assert code == 0 and "--unit kW: no figure shown is power; add `--show it_power,idle_power`" in err
    assert run(capsys)[0] == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["run"])
    assert exit_info.value.code == 2


def test_check_ok_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "check", DEMO)
    assert code == 0 and out.startswith("ok:")
    code, _, err = run(capsys, "check", str(tmp_path / "missing.nnci"))
    assert code == 1 and "E103" in err


def test_inference_per_query_figures(tmp_path: Path) -> None:
    import nnci

    program = nnci.loads(
        "device s {\n power = 250 W\n}\ndatacenter dc {\n pue = 1.2\n intensity = 100 gCO2e/kWh\n}\n"
        "inference api {\n fleet = { s = 4 }\n site = dc\n duration = 10 h\n queries = 12_000\n}\n"
    )
    engine = nnci.evaluate(program).engine
    key = program.jobs[0]
    per_query = engine.quantity(key, "energy_per_query")
    # 4 × 250 W × 10 h × 1.2 = 12 kWh over 12,000 queries = 1 Wh per query
    assert per_query.value.magnitude == pytest.approx(3600.0)  # type: ignore[union-attr]
    assert engine.quantity(key, "operational").value.magnitude == pytest.approx(1.2)  # type: ignore[union-attr]


def test_explain_json_is_the_same_tree_as_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", DEMO, "gpt3_queries.energy", "--format", "json")
    assert code == 0
    tree = json.loads(out)
    assert tree["quantity"] == "gpt3_queries.energy" and tree["formula"] == "nn-eq"
    assert tree["value"] == pytest.approx(23_892) and tree["unit"] == "kWh"
    pue, it_energy = tree["inputs"]
    share, site_pue = pue["inputs"]
    assert share["quantity"] == "gpt3_queries.site[dc]" and share["value"] == 1.0
    line = Path(DEMO).read_text().split("\n").index("  pue = 1.1") + 1
    assert site_pue["quantity"] == "dc.pue" and site_pue["given_at"].endswith(f"nnci-demo.nnci:{line}:3")
    # 3,620 servers × 250 W × 24 h
    assert it_energy["value"] == pytest.approx(3620 * 250 * 24 / 1000)


def test_compare_shows_every_method_with_inputs_and_the_spread(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", DEMO, "gpt3_training")
    assert code == 0
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines()[3:]}
    assert "nnci (default)" in rows and "llmcarbon" in rows and "patterson" in rows
    assert "6,979.34 tCO2e" in rows["nnci (default)"]  # the seed: whole manufacturing carbon
    # LLMCarbon amortises the same devices over 5 × 365 days: 360 h / 43,800 h of 6,979.34 t
    assert f"{6979.34 * 360 / 43_800:.4f}"[:5] in rows["llmcarbon"]
    assert "unknown" in rows["patterson"]  # Patterson does not estimate embodied carbon
    assert "121.66" in rows["spread (max/min)"]
    assert run(capsys, "compare", DEMO, "nope")[0] == 2


FIGURED = ONE_JOB + "\nfigure ratio = x.energy / x.duration\n"


def test_show_of_a_named_figure_says_it_is_a_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, FIGURED)
    code, out, err = run(capsys, "run", path, "--show", "ratio")
    assert code == 2 and out == ""
    assert f"`ratio` is a figure (`figure ratio = …` at {path}:20:1)" in err, err
    assert "figures are always printed under the table" in err and "no job has a quantity" not in err
    code, out, _ = run(capsys, "run", path)  # and it is: 8 × 300 W × 1.2 = 2,880 W
    assert code == 0 and "ratio = 2,880 W" in out.split("figures:", 1)[1]
    code, out, err = run(capsys, "sweep", path, "--vary", "gpu.power=300 W,400 W", "--show", "ratio")
    assert code == 1
    assert f"`ratio` is a named figure (`figure ratio = …` at {path}:20:1), not a sum over jobs" in err, err
    code, _, err = run(capsys, "run", path, "--show", "enrgy")  # a misspelt quantity is still one
    assert code == 2 and "no job has a quantity `enrgy`; did you mean `energy`" in err


def _command(args: list[str], stdin: bytes = b"", stdout: object = None) -> tuple[int, str]:
    """`python -m nnci ARGS` as a process (the console entry, which ends the process itself), buffered
    as a terminal-less run is (PYTHONUNBUFFERED unset): its exit code and standard error."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-m", "nnci", *args], input=stdin, env=env, check=False,
                          stdout=stdout if stdout is not None else subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    return done.returncode, done.stderr.decode()


def test_output_lost_on_a_full_disk_is_said_and_fails(tmp_path: Path) -> None:
    """The command ends without freeing its objects, after flushing its output: a flush that fails
    for want of space is a message and exit 1, not a silent 0 (a breaker found it swallowed)."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("this system has no /dev/full")
    with full.open("wb") as sink:
        code, err = _command(["run", DEMO], stdout=sink)
    assert code == 1 and "could not be written" in err and "No space left" in err
    with (tmp_path / "out.txt").open("wb") as sink:
        assert _command(["run", DEMO], stdout=sink) == (0, "")
    assert "gpt3_training" in (tmp_path / "out.txt").read_text()


def test_the_language_server_ends_cleanly_on_exit() -> None:
    """`initialize`, `shutdown`, `exit`: exit code 0 and nothing on standard error (the client has
    closed standard output by then; flushing it must not raise)."""
    pytest.importorskip("pygls")

    def message(body: dict[str, object]) -> bytes:
        text = json.dumps(body).encode()
        return b"Content-Length: %d\r\n\r\n" % len(text) + text

    session = b"".join(message(m) for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None,
                                                                        "rootUri": None}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ))  # fmt: skip
    import subprocess

    assert _command(["lsp"], session, subprocess.PIPE) == (0, "")


def test_samples_without_any_distribution_is_said_to_change_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.nnci"
    path.write_text(ONE_JOB)
    code, out, err = run(capsys, "run", str(path), "--samples", "100")
    assert code == 0 and "--samples 100 changes nothing: no input is a distribution" in err
    assert "Monte Carlo" not in out and out == run(capsys, "run", str(path))[1]


def test_run_says_a_failed_expectation_and_validate_fails_on_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.nnci"
    energy = 1.2 * 8 * 300 * 10 / 1000  # kWh: PUE × n × P × Δt
    path.write_text(ONE_JOB + f"expect x.energy = {energy * 2} kWh within 1 %\n")
    code, _, err = run(capsys, "run", str(path))
    assert code == 0 and "warning[E501]: `x.energy` is" in err and "`nnci validate` fails on it" in err
    assert run(capsys, "validate", str(path))[0] == 1
    assert "E501" not in run(capsys, "run", str(path), "--set", "gpu.power=600 W")[2]  # a what-if: not said


def test_an_expectation_within_0_percent_allows_floating_point_rounding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """1.1 × 8 × 300 W × 10 h is 26.400000000000006 kWh in floating point: `within 0 %` of 26.4 holds
    (a breaker's finding), and a value a millionth away does not."""
    path = tmp_path / "s.nnci"
    job = "device gpu {\n  power = 300 W\n}\ndatacenter dc {\n  pue = 1.1\n}\n"
    job += "training t {\n  fleet = { gpu = 8 }\n  site = dc\n  duration = 10 h\n}\n"
    import nnci

    assert nnci.evaluate(nnci.loads(job)).jobs[0].quantities["energy"].value.magnitude / 3.6e6 != 26.4  # type: ignore[union-attr]
    path.write_text(job + "expect t.energy = 26.4 kWh within 0 %\n")
    assert run(capsys, "validate", str(path))[0] == 0
    path.write_text(job + "expect t.energy = 26.400026 kWh within 0 %\n")
    assert run(capsys, "validate", str(path))[0] == 1


def test_fmt_formats_standard_input_to_standard_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("device  gpu {\npower=300 W\n}\n"))
    assert run(capsys, "fmt", "-")[:2] == (0, "device gpu {\n  power = 300 W\n}\n")
    code, _, err = run(capsys, "fmt", "-", "-w")
    assert code == 2 and "standard input: it has no file to --write" in err


def test_max_file_bytes_must_be_a_positive_number_of_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["check", DEMO, "--max-file-bytes", "-1"])
    assert raised.value.code == 2 and "needs at least 1 byte" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "said"),
    [(["--show", ""], "--show names no quantity"), (["--show", "energy,energy"], "--show energy: given twice"),
     (["--unit", "kWh", "--unit", "MWh"], "--unit kWh and --unit MWh are both energy")],
)  # fmt: skip
def test_options_that_would_change_nothing_or_contradict_are_refused(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.nnci"
    path.write_text(ONE_JOB)
    code, _, err = run(capsys, "run", str(path), *args)
    assert code == 2 and said in err


def test_fmt_of_a_table_and_check_of_a_folder_say_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "jobs.csv").write_text("id,gpus\n1,8\n")
    code, _, err = run(capsys, "fmt", str(tmp_path / "jobs.csv"))
    assert code == 2 and "is not a .nnci file" in err
    code, _, err = run(capsys, "check", str(tmp_path))
    assert code == 1 and "it is a directory" in err and f"`nnci validate {tmp_path}`" in err
