"""Figures derived from figures: `expect` and top-level `check` lines on any expression of quantities,
and named `figure` lines shown by run, JSON, CSV, explain and the API. Values are computed by hand."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import nnci
from nnci.cli import main
from nnci.formatting import format_module
from nnci.parse import parse_module

JOBS = """\
device gpu {
  power = 300 W
  embodied = 150 kgCO2e
}

grid g {
  intensity = 400 gCO2e/kWh
}

datacenter dc {
  pue = 1.1
  grid = g
}

training train {
  fleet = { gpu = 64 }
  site = dc
  duration = 10 days
}

inference serve {
  fleet = { gpu = 8 }
  site = dc
  duration = 24 h
  queries = 1000
}
"""
# by hand: energy ∝ devices × hours, so serve/train = (8 × 24) / (64 × 240) = 0.0125
ENERGY_RATIO = (8 * 24) / (64 * 240)
# total carbon: operational (kWh × 0.4 kg) + embodied charged in full (devices × 150 kg)
SERVE_TOTAL = 8 * 300 * 24 * 1.1 / 1000 * 0.4 + 8 * 150
TRAIN_TOTAL = 64 * 300 * 240 * 1.1 / 1000 * 0.4 + 64 * 150
FIGURES = """
figure serving_vs_training = serve.total / train.total
figure serving_share = serve.energy / total.energy   # of all the energy
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.nnci"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_expect_an_expression_of_quantities(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = JOBS + f"\nexpect serve.energy / train.energy = {ENERGY_RATIO} within 0.001 %\n"
    text += "expect serve.energy / train.energy = 0.0130 within 1 %\n"  # 0.0125 is 3.8 % off: fails
    code, out, err = run(capsys, "validate", write(tmp_path, text))
    assert code == 1
    rows = [line for line in out.splitlines() if "serve.energy / train.energy" in line]
    assert rows[0].endswith("pass") and rows[1].endswith("FAIL")
    assert "`serve.energy / train.energy` is 0.0125, expected 0.013 (1 %)" in err


def test_expect_a_named_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ratio = SERVE_TOTAL / TRAIN_TOTAL
    text = JOBS + FIGURES + f"expect serving_vs_training = {ratio:.4f} within 0.1 %\n"
    code, out, _ = run(capsys, "validate", write(tmp_path, text))
    assert code == 0, out


def test_check_between_blocks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    holds = JOBS + 'check serve.total < train.total / 5, "a day of serving is under a fifth of training"\n'
    assert run(capsys, "check", write(tmp_path, holds))[0] == 0  # 1,225 kg < 11,627 kg / 5
    fails = JOBS + 'check serve.total > train.total / 5, "serving dominates"\n'
    code, _, err = run(capsys, "check", write(tmp_path, fails))
    assert code == 1 and "check failed: serving dominates" in err and f"s.nnci:{JOBS.count(chr(10)) + 1}:1" in err


def test_run_prints_the_figures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, JOBS + FIGURES)
    out = run(capsys, "run", path)[1]
    lines = out[out.index("figures:") :].splitlines()
    assert lines[1].split() == ["serving_vs_training", "=", f"{SERVE_TOTAL / TRAIN_TOTAL:.6g}", "(serve.total",
                                "/", "train.total)"]  # fmt: skip
    share = (8 * 24) / (8 * 24 + 64 * 240)
    assert lines[2].split()[:3] == ["serving_share", "=", f"{share:.6g}"]
    report = json.loads(run(capsys, "run", path, "--format", "json")[1])
    assert report["figures"]["serving_vs_training"]["value"] == pytest.approx(SERVE_TOTAL / TRAIN_TOTAL)
    assert report["figures"]["serving_share"] == {"value": pytest.approx(share), "unit": "", "formula": "figure"}
    rows = list(csv.DictReader(io.StringIO(run(capsys, "run", path, "--format", "csv")[1])))
    assert float(next(r for r in rows if r["quantity"] == "serving_share")["value"]) == pytest.approx(share)


def test_explain_a_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, JOBS + FIGURES)
    out = run(capsys, "explain", path, "serving_vs_training")[1]
    first = out.splitlines()[0]
    assert first.startswith(f"serving_vs_training = {SERVE_TOTAL / TRAIN_TOTAL:.6g}   given at ")
    assert "├─ serve.total = " in out and "└─ train.total = " in out
    tree = json.loads(run(capsys, "explain", path, "serving_vs_training", "--format", "json")[1])
    assert [child["quantity"] for child in tree["inputs"]] == ["serve.total", "train.total"]


def test_api_gives_a_figure() -> None:
    results = nnci.evaluate(nnci.loads(JOBS + FIGURES))
    assert results.quantity("serving_vs_training").to("") == pytest.approx(SERVE_TOTAL / TRAIN_TOTAL)
    with pytest.raises(KeyError, match="no figure `nothing`"):
        results.quantity("nothing")


def test_a_figure_may_use_figures_and_units_apply(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = JOBS + "figure per_day = serve.energy / serve.duration\nfigure per_week = per_day * 7 days\n"
    out = run(capsys, "run", write(tmp_path, text), "--unit", "MWh", "--unit", "W")[1]
    per_day = 8 * 300 * 1.1  # W: the serving fleet's facility power
    assert f"per_day  = {per_day:,.0f} W" in out
    assert f"per_week = {per_day * 24 * 7 / 1e6:.6g} MWh" in out


def format_text(text: str, file: str) -> str:
    module, diagnostics = parse_module(text, file)
    assert module is not None and not diagnostics
    return format_module(module, text)


def test_fmt_keeps_figures_checks_and_expressions(tmp_path: Path) -> None:
    text = JOBS + FIGURES + 'check serve.total<train.total, "x"\nexpect serve.energy/train.energy = 0.0125 within 1 %\n'
    formatted = format_text(text, "s.nnci")
    assert "figure serving_vs_training = serve.total / train.total" in formatted
    assert "figure serving_share = serve.energy / total.energy  # of all the energy" in formatted
    assert 'check serve.total < train.total, "x"' in formatted
    assert "expect serve.energy / train.energy = 0.0125 within 1 %" in formatted
    assert format_text(formatted, "s.nnci") == formatted


def test_a_figure_of_a_job_over_a_table_uses_its_sums(tmp_path: Path) -> None:
    """Outside any block, a job over a table is its sum over the rows (as `expect` and `total` see it);
    a figure that is no sum (a PUE that differs by row) is unknown, with the reason."""
    models = Path(__file__).resolve().parent.parent / "models"
    text = (models / "cluster-job-log.nnci").read_text(encoding="utf-8")
    (tmp_path / "cluster-job-log.csv").write_text((models / "cluster-job-log.csv").read_text(encoding="utf-8"))
    text += "\nfigure kwh_per_gpu_hour = month.energy / month.device_hours\nfigure month_pue = month.pue\n"
    results = nnci.run(write(tmp_path, text))
    expected = results.quantity("total", "energy").to("kWh") / results.quantity("total", "device_hours").to("h")
    assert results.quantity("kwh_per_gpu_hour").to("kWh/h") == pytest.approx(expected)
    with pytest.raises(nnci.UnknownQuantity, match="differs by row"):
        results.quantity("month_pue")
