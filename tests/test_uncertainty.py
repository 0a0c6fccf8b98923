"""Distributions, Monte Carlo and their summaries, checked against values computed here by hand."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import collapsed_programs

import nnci
from nnci import api, ir
from nnci.cli import main
from nnci.uncertain.distributions import DISTRIBUTIONS
from nnci.uncertain.sampling import Sampler

Z95 = NormalDist().inv_cdf(0.95)


def run_json(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    assert main(["run", str(path), "--format", "json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def write(tmp_path: Path, text: str, name: str = "model.nnci") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TWO_UNIFORM_DEVICES = """
grid g {
  intensity = 400 gCO2e/kWh
}
device a {
  power = uniform(200 W, 300 W)
}
device b {
  power = uniform(50 W, 150 W)
}
datacenter dc {
  pue = 1.2
  grid = g
}
training t {
  fleet = { a = 4, b = 2 }
  site = dc
  duration = 10 h
}
"""


def test_the_sampled_mean_of_a_linear_function_of_uniforms_is_its_exact_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # energy = PUE × (4 P_a + 2 P_b) × 10 h, linear in P_a ~ U(200, 300) W and P_b ~ U(50, 150) W
    samples = 20_000
    report = run_json(write(tmp_path, TWO_UNIFORM_DEVICES), capsys, "--samples", str(samples), "--seed", "7")
    energy = report["blocks"]["t"]["energy"]["samples"]
    exact_mean = 1.2 * (4 * 250 + 2 * 100) * 10 / 1000  # kWh
    exact_sd = 1.2 * 10 / 1000 * math.sqrt(16 * 100**2 / 12 + 4 * 100**2 / 12)
    standard_error = exact_sd / math.sqrt(samples)
    assert abs(energy["mean"] - exact_mean) <= 4 * standard_error
    assert energy["sd"] == pytest.approx(exact_sd, rel=0.05)
    assert energy["n"] == samples
    assert report["sampling"] == {"samples": samples, "seed": 7, "numpy": report["sampling"]["numpy"],
                                  "value": "the median (p50) of the samples"}  # fmt: skip
    assert report["blocks"]["t"]["energy"]["value"] == energy["p50"]


LOGNORMAL_PRODUCT = """
grid g {
  intensity = lognormal(400 gCO2e/kWh, 1.5)
}
datacenter dc {
  pue = 1.0
  grid = g
}
device d {
  power = 1 W
}
training t {
  fleet = { d = 1 }
  site = dc
  duration = 1 h
  energy = lognormal(1000 MWh, 1.3)
}
"""


def test_the_percentiles_of_a_product_of_lognormals_match_the_closed_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # operational = E × α: lognormal with median 1000 MWh × 400 g/kWh = 400 t and σ = √(ln²1.3 + ln²1.5)
    report = run_json(write(tmp_path, LOGNORMAL_PRODUCT), capsys, "--samples", "200000", "--unit", "tCO2e")
    operational = report["blocks"]["t"]["operational"]["samples"]
    sigma = math.hypot(math.log(1.3), math.log(1.5))
    assert operational["p50"] == pytest.approx(400, rel=0.01)
    assert operational["p5"] == pytest.approx(400 * math.exp(-Z95 * sigma), rel=0.01)
    assert operational["p95"] == pytest.approx(400 * math.exp(Z95 * sigma), rel=0.01)
    assert operational["mean"] == pytest.approx(400 * math.exp(sigma**2 / 2), rel=0.01)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(DISTRIBUTIONS)),
    centre=st.floats(0.5, 1e6),
    width=st.floats(0, 0.99),
    skew=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_draws_never_leave_the_support(name: str, centre: float, width: float, skew: float, seed: int) -> None:
    distribution = DISTRIBUTIONS[name]
    low, high = centre * (1 - width), centre * (1 + width)
    params = {
        "uniform": (low, high),
        "triangular": (low, low + skew * (high - low), high),
        "normal": (centre, width * centre),
        "lognormal": (centre, 1 + 3 * width),
        "choice": (low, centre, high, low + skew * (high - low)),
    }[name]
    span = nnci.diagnostics.Span("x.nnci", 1, 1, 1, 2)
    draws = Sampler(5000, seed).draw(distribution, params, span, "x.v", name)
    support_low, support_high = distribution.support(params)
    assert support_low <= draws.min() and draws.max() <= support_high
    if name in ("uniform", "triangular", "choice"):
        assert (low, high) == (support_low, support_high)


def test_the_same_seed_gives_identical_output_and_another_seed_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, TWO_UNIFORM_DEVICES)
    outputs = []
    for seed, fmt in (("42", "json"), ("42", "json"), ("43", "json"), ("42", "csv"), ("42", "csv")):
        assert main(["run", str(path), "--samples", "1000", "--seed", seed, "--format", fmt]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    assert outputs[3] == outputs[4]
    assert '"seed": 42' in outputs[0]


def test_the_table_shows_median_and_interval_and_the_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(write(tmp_path, TWO_UNIFORM_DEVICES)), "--samples", "2000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Monte Carlo: 2,000 samples, seed 3 (numpy ")
    # energy ∈ [1.2 × (800 + 100) × 10, 1.2 × (1200 + 300) × 10] Wh = [10.8, 18] kWh
    cells = re.findall(r"([\d.]+) \[([\d.]+) – ([\d.]+)\] kWh", out)
    assert cells, out
    for p50, p5, p95 in cells:
        assert 10.8 < float(p5) < float(p50) < float(p95) < 18


def test_a_run_without_samples_uses_each_median(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TWO_UNIFORM_DEVICES.replace("pue = 1.2", "pue = triangular(1.08, 1.1, 1.4)")
    report = run_json(write(tmp_path, text), capsys)
    # the median of a triangular(a, c, b) with c < (a + b)/2 is b − √((b − a)(b − c)/2)
    pue = 1.4 - math.sqrt((1.4 - 1.08) * (1.4 - 1.1) / 2)
    assert report["blocks"]["t"]["energy"]["value"] == pytest.approx(pue * (4 * 250 + 2 * 100) * 10 / 1000, rel=1e-12)
    assert "samples" not in report["blocks"]["t"]["energy"] and "sampling" not in report


def test_an_input_read_by_two_jobs_is_drawn_once_per_sample(tmp_path: Path) -> None:
    text = TWO_UNIFORM_DEVICES + "training u {\n  fleet = { a = 1 }\n  site = dc\n  duration = 3 h\n}\n"
    program = nnci.load(write(tmp_path, text))
    _plan, engine = api.compile(program, samples=500, seed=1)
    t = engine.quantity(ir.BlockKey("", "t"), "energy").value.magnitude
    u = engine.quantity(ir.BlockKey("", "u"), "energy").value.magnitude
    power_a = engine.quantity(ir.BlockKey("", "a"), "power").value.magnitude
    assert u == pytest.approx(1.2 * power_a * 3 * 3600, rel=1e-14)  # u reads the very draws of a.power
    assert t.std() > 0 and not (t == t[0]).all()


def test_a_run_without_samples_never_imports_numpy(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_UNIFORM_DEVICES)
    code = f"import sys; from nnci.cli import main; main(['run', {str(path)!r}]); print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("False"), result.stdout


@settings(max_examples=40, deadline=None)
@given(collapsed_programs())
def test_collapsed_distributions_sample_to_the_deterministic_run(program: tuple[str, str]) -> None:
    written, collapsed = program
    deterministic = api.evaluate(api.loads(written, "det.nnci"))
    loaded = api.loads(collapsed, "mc.nnci")
    plan, engine = api.compile(loaded, samples=7, seed=0)
    api.check(loaded, engine)
    sampled = api.evaluate(loaded, engine, plan)
    assert sampled.sampling is not None
    for expected, found in zip(
        [*deterministic.jobs[0].quantities.values(), *deterministic.total.values()],
        [*sampled.jobs[0].quantities.values(), *sampled.total.values()],
        strict=True,
    ):
        assert type(expected) is type(found)
        if isinstance(expected, nnci.engine.Derivation):
            assert found.value.magnitude == pytest.approx(expected.value.magnitude, rel=1e-12)


SENSITIVITY = """
grid g {
  intensity = lognormal(400 gCO2e/kWh, 1.05)
  transport = uniform(0.95, 0.95)
}
datacenter dc {
  pue = 1.0
  grid = g
}
device d {
  power = uniform(100 W, 200 W)
}
training t {
  fleet = { d = 1 }
  site = dc
  duration = 1 h
  energy = lognormal(1000 MWh, 1.628894627)
}
"""


def test_sensitivity_ranks_the_wider_factor_first_and_constant_inputs_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # operational = energy × intensity / τ; ln 1.628894627 = 10 × ln 1.05: the energy is ten times wider
    path = write(tmp_path, SENSITIVITY)
    assert main(["sensitivity", str(path), "t.operational", "--samples", "20000", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ranked = [entry["input"] for entry in report["inputs"]]
    assert ranked[0] == "t.energy" and ranked[1] == "g.intensity"
    assert set(ranked[2:]) == {"g.transport", "d.power"}  # constant, and not read by the figure
    for entry in report["inputs"][2:]:
        assert entry["explained"] == 0 and entry["swing"] == 0
    assert [e["reaches"] for e in report["inputs"]] == [True, True, True, False]
    # for log-additive normal terms ρ² of the energy ≈ 100/101; the intensity explains about 1/101
    assert report["inputs"][0]["explained"] > 0.95 and report["inputs"][1]["explained"] < 0.05
    # one at a time: energy at its 5th and 95th percentile, intensity at its median, τ = 0.95
    low = 1000e3 * 1.628894627 ** (-Z95) * 0.4 / 0.95  # kgCO2e
    assert report["unit"] == "kgCO2e"
    assert report["inputs"][0]["at_p5"] == pytest.approx(low, rel=1e-9)
    assert report["inputs"][0]["at_p95"] == pytest.approx(1000e3 * 1.628894627**Z95 * 0.4 / 0.95, rel=1e-9)


def test_sensitivity_table_names_the_method_and_the_inputs_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sensitivity", str(write(tmp_path, SENSITIVITY)), "t.operational", "--samples", "2000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sensitivity of t.operational: median ")
    assert "2,000 samples, seed 0" in out
    assert "not read by t.operational: d.power" in out
    assert "method: squared Spearman rank correlation" in out
    lines = [line for line in out.splitlines() if re.match(r"\s+\d+  ", line)]
    assert [line.split()[1] for line in lines] == ["t.energy", "g.intensity", "g.transport", "d.power"]


@pytest.mark.parametrize("samples", ["1", "2", "99"])
def test_sensitivity_refuses_too_few_samples_to_rank(
    samples: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # with 2 draws every rank correlation is ±1 and with 1 it is 0, whatever the model: no ranking is printed
    assert main(["sensitivity", str(write(tmp_path, SENSITIVITY)), "t.operational", "--samples", samples]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--samples {samples} is too few to rank inputs" in captured.err and "at least 100" in captured.err
    assert main(["sensitivity", str(write(tmp_path, SENSITIVITY)), "t.operational", "--samples", "100"]) == 0


def test_sensitivity_of_an_unknown_target_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensitivity", str(write(tmp_path, SENSITIVITY)), "nope.energy"]) == 2
    assert "no block `nope`" in capsys.readouterr().err


BOUNDS = (
    TWO_UNIFORM_DEVICES
    + """
expect p95(t.energy) <= 17.4 kWh
expect p5(total.energy) >= 11.4 kWh
expect mean(t.energy) > 14.5 kWh
expect p50(t.energy) < 14 kWh
"""
)


def test_bounds_on_statistics_of_samples_are_judged_on_a_seeded_run(tmp_path: Path) -> None:
    # energy = 0.012 kWh/W × (4 P_a + 2 P_b), P_a ~ U(200, 300) W, P_b ~ U(50, 150) W: mean 14.4 kWh, and
    # 4 P_a + 2 P_b has the density of a sum of U(800, 1200) and U(100, 300); its median is the mean
    results = api.run(write(tmp_path, BOUNDS))
    bounds = {e.expect.target_text: e for e in results.expects if e.expect.statistic}
    assert set(bounds) == {"p95(t.energy)", "p5(total.energy)", "mean(t.energy)", "p50(t.energy)"}
    # p95 of the sum: the upper tail is a triangle of the two widths (400 and 200): P(S > 1500 − x) = x²/(2·400·200)
    p95 = (1500 - math.sqrt(0.05 * 2 * 400 * 200)) * 0.012
    assert bounds["p95(t.energy)"].computed.value.to("kWh") == pytest.approx(p95, rel=0.01)
    assert bounds["p95(t.energy)"].passed and bounds["p5(total.energy)"].passed
    assert not bounds["mean(t.energy)"].passed and not bounds["p50(t.energy)"].passed
    assert bounds["p50(t.energy)"].tolerance_text == "p50 of 10,000 samples, seed 0"


def test_a_bound_round_trips_through_fmt_and_both_parsers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_fast_parser import assert_same

    from nnci import formatting

    path = write(tmp_path, BOUNDS)
    assert formatting.format_file(path).formatted.count("expect p95(t.energy) <= 17.4 kWh") == 1
    assert assert_same(BOUNDS), "the fast parser reads bounds as lark does (spans included)"


def test_explain_shows_a_given_distribution_and_the_interval_of_a_derived_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, TWO_UNIFORM_DEVICES)
    assert main(["explain", str(path), "t.energy", "--samples", "4000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Monte Carlo: 4,000 samples, seed 0")
    # a uniform's 90 % interval is its middle 90 %: 205 W … 295 W
    assert "~ uniform: median 250 W, 90 % of its values in 205 W … 295 W" in out
    assert re.search(r"t\.energy = [\d.]+ kWh .* median of 4,000 samples; p5 … p95: [\d.]+ kWh … [\d.]+ kWh", out)
    assert main(["explain", str(path), "t.energy", "--format", "json", "--samples", "1000"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["sampling"]["samples"] == 1000 and tree["samples"]["n"] == 1000
    given = [node for node in tree["inputs"][-1]["inputs"] if "distribution" in node] or [
        node for node in _walk(tree) if "distribution" in node
    ]
    assert {"name": "uniform", "low": 200.0, "high": 300.0} in [g["distribution"] for g in given]


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("inputs", []) for n in _walk(child))]


def test_explain_of_a_figure_without_uncertain_inputs_does_not_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TWO_UNIFORM_DEVICES + "training fixed {\n  energy = 5 kWh\n  site = dc\n}\n"
    assert main(["explain", str(write(tmp_path, text)), "fixed.operational"]) == 0
    assert "Monte Carlo" not in capsys.readouterr().out


def test_catalog_spreads_are_the_lowest_and_highest_fleet_pue_reported_since_2020(tmp_path: Path) -> None:
    import csv

    rows = list(csv.DictReader((Path(__file__).parent.parent / "data" / "catalog" / "pue.csv").open(encoding="utf-8")))
    expected: dict[str, list[float]] = {}
    for row in rows:
        years = re.findall(r"\b20\d\d\b", row["period"])
        fleet = row["scope"] == "fleet" and row["entity"] in ("Google", "AWS", "Microsoft", "Meta")
        if fleet and years and int(years[0]) >= 2020:
            expected.setdefault(row["entity"].lower(), []).append(float(row["pue"]))
    uses = "".join(f"datacenter {p} = pue.{p}_fleet_spread {{\n}}\n" for p in ("aws", "google", "microsoft"))
    loaded = nnci.load(write(tmp_path, 'import "std/pue" as pue\n' + uses))
    spreads = {k.name.removesuffix("_fleet_spread"): b for k, b in loaded.blocks.items() if k.name.endswith("_spread")}
    assert set(spreads) == {name for name, values in expected.items() if len(values) >= 2}  # Meta: one year
    for name, block in spreads.items():
        expr = block.fields["pue"].expr
        assert isinstance(expr, ir.Distribution) and expr.name == "uniform"
        low, high = (a.value.magnitude for a in expr.args if isinstance(a, ir.Const))
        assert (low, high) == (min(expected[name]), max(expected[name]))
        assert len(block.citations) == len(expected[name])


CHOICE = TWO_UNIFORM_DEVICES.replace("pue = 1.2", "pue = choice(1.1, 1.1, 1.2, 1.58)")


def test_a_choice_is_its_lower_middle_alternative_and_draws_each_by_its_weight(tmp_path: Path) -> None:
    program = nnci.load(write(tmp_path, CHOICE))
    # sorted 1.1, 1.1, 1.2, 1.58: the CDF reaches 1/2 at 1.1 (the second of four)
    energy = nnci.evaluate(program).jobs[0].quantities["energy"].value.to("kWh")
    assert energy == pytest.approx(1.1 * (4 * 250 + 2 * 100) * 10 / 1000, rel=1e-12)
    _plan, engine = api.compile(program, samples=40_000, seed=5)
    pue = engine.quantity(ir.BlockKey("", "dc"), "pue").value.magnitude
    for value, weight in ((1.1, 0.5), (1.2, 0.25), (1.58, 0.25)):
        share = float((pue == value).mean())
        assert abs(share - weight) <= 4 * math.sqrt(weight * (1 - weight) / 40_000), (value, share)
    assert set(pue.tolist()) == {1.1, 1.2, 1.58}


def test_sensitivity_gives_ties_their_mean_rank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # energy rises with the PUE: with ties ranked by their mean rank the correlation of a choice is exact
    text = CHOICE.replace("uniform(200 W, 300 W)", "250 W").replace("uniform(50 W, 150 W)", "100 W")
    assert main(["sensitivity", str(write(tmp_path, text)), "t.energy", "--format", "json", "--samples", "500"]) == 0
    entry = json.loads(capsys.readouterr().out)["inputs"][0]
    assert entry["input"] == "dc.pue" and entry["spearman"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("gsd", ["1e200", "1e300"])
def test_a_huge_geometric_spread_is_a_located_error_with_a_bound_that_can_be_written(gsd: str) -> None:
    """Found by tools/fuzz.py: gsd ** 6 and gsd ** 2 overflowed (OverflowError) while checking the support."""
    text = f"datacenter dc {{\n  pue = lognormal(1.1, {gsd})\n}}\n"
    with pytest.raises(nnci.NnciError) as raised:
        nnci.check(nnci.loads(text))
    rendered = str(raised.value)
    assert "E409" in rendered and "inf" not in rendered.split("help:")[1]


@pytest.mark.parametrize("command", [["run", "--samples", "10"], ["sensitivity", "t.total", "--samples", "10"]])
def test_a_negative_seed_is_a_usage_error(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "u.nnci"
    path.write_text("device g {\n  power = uniform(100 W, 200 W)\n}\ntraining t {\n  fleet = { g = 1 }\n"
                    "  duration = 1 h\n}\n", encoding="utf-8")  # fmt: skip
    argv = [command[0], str(path), *command[1:], "--seed", "-1"]
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2 and "seed" in capsys.readouterr().err


def test_more_samples_than_the_memory_budget_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.uncertain import MAX_SAMPLES

    with pytest.raises(SystemExit) as exit_status:
        main(["run", "models/nnci-demo.nnci", "--samples", str(MAX_SAMPLES + 1)])
    assert exit_status.value.code == 2
    assert "at most 4,000,000" in capsys.readouterr().err


def test_rounding_noise_is_not_reported_as_a_spread() -> None:
    """An intensity weighted by energies that all scale with one draw varies only in its last bits."""
    import numpy as np

    from nnci.uncertain.sampling import summarise

    noisy = 380.9 * (1 + np.array([0.0, 1, -1, 2, -2] * 200) * 2.2e-16)
    summary = summarise(noisy, noisy.size)
    assert summary.sd == 0 and summary.p5 == summary.p95 == summary.p50
    spread = summarise(380.9 * (1 + np.linspace(-1e-6, 1e-6, 1000)), 1000)
    assert spread.sd > 0 and spread.p5 < spread.p95  # a real, if small, spread is kept
