"""`nnci report`: golden statements (Markdown, text, LaTeX) for the demo and a multi-site scenario,
and the numbers in them checked against `nnci run --format json` and by hand.

Regenerate the golden files with `NNCI_UPDATE_GOLDEN=1 pytest tests/test_report.py`, then read
every changed one as a reader of the paper would.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from nnci.cli import main
from nnci.report import equivalents, references, rounding
from nnci.units import ENERGY

REPO = Path(__file__).resolve().parent.parent
CASES = Path("tests") / "cases" / "report"
SCENARIOS = {"demo": "models/nnci-demo.nnci", "multi_site": (CASES / "multi_site.nnci").as_posix()}
SUFFIX = {"md": ".md", "text": ".txt", "latex": ".tex"}
UPDATE = os.environ.get("NNCI_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["report", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def run_json(capsys: pytest.CaptureFixture[str], path: str) -> dict:
    assert main(["run", path, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("form", sorted(SUFFIX))
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_statements(name: str, form: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, SCENARIOS[name], "--format", form)
    golden = REPO / CASES / f"{name}{SUFFIX[form]}"
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_statement_figures_are_the_run_figures_rounded(capsys: pytest.CaptureFixture[str]) -> None:
    """Every rounded figure in the table of the Markdown statement equals the JSON figure rounded by the rule."""
    document = run_json(capsys, SCENARIOS["demo"])
    out = report(capsys, SCENARIOS["demo"])
    rows = {line.split(" | ")[0].strip("| ").replace("\\_", "_"): line.split(" | ")[1:]
            for line in out.splitlines() if line.startswith("| gpt3") or line.startswith("| total")}  # fmt: skip
    # Demo inputs: PUE 1.1 and τ 0.95 (two figures) are the least precise numbers written: 2 significant figures.
    factors = {"kWh": 1.0, "MWh": 1e3, "GWh": 1e6, "kgCO2e": 1.0, "tCO2e": 1e3}
    for block, cells in rows.items():
        source = document["total"] if block == "total" else document["blocks"][block]
        for name, cell in zip(("energy", "operational", "embodied", "total"), cells, strict=True):
            number, unit = cell.strip(" |").split(" ")
            shown = float(number.replace(",", "")) * factors[unit]
            exact = source[name]["value"]
            assert shown == float(f"{exact:.2g}"), (block, name, cell, exact)


def test_significant_figures_of_written_numbers() -> None:
    assert rounding.significant("300 W") == 3
    assert rounding.significant("1.1") == 2
    assert rounding.significant("0.95") == 2
    assert rounding.significant("0.050 kWh") == 2
    assert rounding.significant("10_000") is None  # a count: exact
    assert rounding.significant("3.14e23 FLOP") == 3
    assert rounding.significant("45 %") == 2
    assert rounding.number_text(3_825_000, 3) == "3,830,000"  # halves round up
    assert rounding.number_text(0.0041666, 2) == "0.0042"
    assert rounding.number_text(575.2064, 2) == "580"
    # with an interval: the last digit shown is the second significant figure of the half-width
    assert rounding.from_interval(575.2, 540.1, 610.3) == 3  # half-width 35 → units: 575
    assert rounding.from_interval(8.61, 1.62, 15.94) == 2  # half-width 7.2 → tenths: 8.6 (1.6–15.9)
    assert rounding.from_interval(1.143, 1.104, 1.180) == 4  # half-width 0.038 → thousandths
    # counted in the unit shown, not in joules (a new user's finding: 1,280 MWh where 1,275 was due)
    kwh = 3.6e6  # J
    assert rounding.from_interval(1_275_282, 1_201_108, 1_350_975) == 4  # half-width 75 MWh → 1,275 MWh
    assert rounding.from_interval(1_275_282 * kwh, 1_201_108 * kwh, 1_350_975 * kwh) == 3  # in J: one fewer
    assert rounding.interval_digits(ENERGY, 1_275_282 * kwh, 1_201_108 * kwh, 1_350_975 * kwh) == 4


def test_multi_site_split_follows_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    """Per site: energy ∝ share × PUE; operational ∝ that × intensity; the sums are the job's figures."""
    from nnci import api
    from nnci.report import build

    results = api.run(SCENARIOS["multi_site"])
    statement = build(results, [SCENARIOS["multi_site"]], "epa")
    [job] = statement.jobs
    iowa, finland = job.sites
    assert (iowa.share, finland.share) == (0.6, 0.4)
    energy = results.jobs[0].quantities["energy"].value.magnitude
    operational = results.jobs[0].quantities["operational"].value.magnitude
    assert iowa.energy == pytest.approx(energy * 0.6) and finland.energy == pytest.approx(energy * 0.4)  # same PUE
    # std/grids: us-central1 2023 at 430 g/kWh, europe-north1 2023 at 46 g/kWh (τ = 1)
    assert iowa.operational == pytest.approx(energy * 0.6 * 430e-3 / 3.6e6)
    assert finland.operational == pytest.approx(energy * 0.4 * 46e-3 / 3.6e6)
    assert (iowa.operational or 0) + (finland.operational or 0) == pytest.approx(operational)


def test_equivalents_come_from_the_table_with_its_edition(capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, SCENARIOS["demo"], "--format", "text")
    total_kg = 9_400_000  # the total as shown (2 significant figures)
    miles = total_kg / 0.393  # EPA 2024 edition, kgCO2e per mile (data/catalog/equivalents.csv)
    assert f"{float(f'{miles:.2g}'):,.0f} miles" in out
    assert "2024 edition" in " ".join(out.split())
    assert "US EPA Greenhouse Gas Equivalencies Calculator" in " ".join(out.split())
    rows = equivalents.table()
    for chosen, items in equivalents.EQUIVALENT_SETS.items():
        for name, _ in items:
            assert name in rows, (chosen, name)
    other = report(capsys, SCENARIOS["demo"], "--format", "md", "--equivalents", "desnz")
    assert "UK DESNZ" in other and f"{float(f'{total_kg / 0.16725:.2g}'):,.0f} km driven" in other


def test_equivalents_table_is_the_catalog_copy() -> None:
    shipped = (REPO / "nnci" / "std" / "equivalents.csv").read_text(encoding="utf-8")
    assert shipped == (REPO / "data" / "catalog" / "equivalents.csv").read_text(encoding="utf-8")


def test_bibtex_entries_parse_author_and_year() -> None:
    refs = [references.Reference(1, "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training", "method"),
            references.Reference(2, "nn-ci demo manifest", "data"),
            references.Reference(3, "Patterson et al. 2021, another paper", "method")]  # fmt: skip
    keys = references.keys(refs)
    assert keys == {1: "patterson2021", 2: "nnci-2", 3: "patterson2021a"}
    text = references.bibtex(refs)
    assert "@misc{patterson2021,\n  author = {Patterson and others},\n  year = {2021}," in text
    assert text.count("@misc{") == 3 and "title = {{nn-ci demo manifest}}" in text


def test_latex_cites_every_reference_it_lists(capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, SCENARIOS["multi_site"], "--format", "latex")
    cited = {key for group in re.findall(r"\\cite\{([^}]*)\}", out) for key in group.split(",")}
    listed = set(re.findall(r"@misc\{([^,]+),", out))
    assert cited == listed and cited
    assert "\\begin{filecontents*}[overwrite]{nnci-references.bib}" in out
    assert "_" not in re.sub(
        r"\\_|\$_2\$|nnci-references|@misc\{[^,]+,|\\begin\{filecontents\*\}",
        "",
        out.split("\\begin{filecontents")[0].split("\n", 3)[3],
    )


def test_output_file_and_html_is_self_contained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.html"
    assert main(["report", SCENARIOS["multi_site"], "--format", "html", "-o", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert capsys.readouterr().out == ""
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page.split('<section id="references">')[0]  # no resource is fetched
    assert page.count("<svg") == 3  # carbon per job; energy and carbon per site
    assert 'id="explain-llm.energy"' in page and 'href="#explain-llm.energy"' in page
    assert "prefers-color-scheme: dark" in page and "@media print" in page


def test_report_with_set(capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, SCENARIOS["demo"], "--set", "dc.grid=grids.fra_2023", "--format", "text")
    flat = " ".join(out.split())
    assert "grid std/grids.fra_2023 (France), 56.039 gCO2e/kWh delivered, intensity of 2023" in flat
    assert math.isfinite(float(re.search(r"emitted ([\d.,]+) tCO2e of operational", flat)[1].replace(",", "")))  # type: ignore[index]


UNCERTAIN = (REPO / CASES / "uncertain.nnci").read_text(encoding="utf-8")


def test_an_uncertain_scenario_shows_its_intervals_rounded_at_their_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "uncertain.nnci"
    path.write_text(UNCERTAIN, encoding="utf-8")
    assert main(["run", str(path), "--samples", "2000", "--format", "json"]) == 0
    sampled = json.loads(capsys.readouterr().out)["blocks"]["t"]["energy"]["samples"]
    out = report(capsys, str(path), "--samples", "2000", "--format", "md")
    p5, p50, p95 = (sampled[k] / 1000 for k in ("p5", "p50", "p95"))  # MWh
    half = (p95 - p5) / 2
    place = math.floor(math.log10(half)) - 1  # the second significant figure of the half-width

    def at(v: float) -> str:
        return f"{round(v, -place):,.{max(0, -place)}f}"

    assert f"| t | {at(p50)} MWh [{at(p5)}–{at(p95)} MWh] |" in out, out
    assert "sampled 2,000 times (seed 0" in out
    assert rounding.INTERVAL_RULE in " ".join(out.split())


def test_water_is_stated_when_the_scenario_knows_it(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, SCENARIOS["multi_site"])["blocks"]["llm"]
    it_energy = 512 * 560 * 720 / 1000  # kWh: 512 H100 at 560 W for 30 days
    onsite = it_energy * (0.6 * 1.1 + 0.4 * 0.5)  # L: IT energy × each site's WUE, by share
    offsite = it_energy * 1.1 * (0.6 * 3.1321 + 0.4 * 4.5289)  # L: facility energy × EWIF (std/water USA, FIN)
    assert document["water_onsite"]["value"] == pytest.approx(onsite)
    assert document["water_offsite"]["value"] == pytest.approx(offsite)
    flat = " ".join(report(capsys, SCENARIOS["multi_site"], "--format", "text").split())
    shown = [f"{float(f'{v / 1000:.2g}'):,.0f} m3" for v in (onsite + offsite, onsite, offsite)]
    assert f"consumed {shown[0]} of water ({shown[1]} on site, {shown[2]} off site" in flat


def test_a_job_over_a_table_is_split_between_sites_row_by_row(capsys: pytest.CaptureFixture[str]) -> None:
    """`site = jobs.cluster`: each site's figures are the sums over its rows, as `nnci run --by` gives them."""
    from nnci import api
    from nnci.report import build

    assert main(["run", "models/cluster-job-log.nnci", "--by", "jobs.cluster", "--format", "json"]) == 0
    groups = {g["group"]["cluster"]: g for g in json.loads(capsys.readouterr().out)["month"]}
    statement = build(api.run("models/cluster-job-log.nnci"), ["models/cluster-job-log.nnci"], "epa")
    [job] = statement.jobs
    assert {s.name for s in job.sites} == set(groups)
    for site in job.sites:
        assert site.energy is not None and site.operational is not None
        assert site.energy / 3.6e6 == pytest.approx(groups[site.name]["energy"]["value"], rel=1e-12)
        assert site.operational == pytest.approx(groups[site.name]["operational"]["value"], rel=1e-12)


def test_an_uncertain_report_ranks_inputs_as_nnci_sensitivity_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "uncertain.nnci"
    path.write_text(UNCERTAIN, encoding="utf-8")
    assert main(["sensitivity", str(path), "total.total", "--samples", "2000", "--format", "json"]) == 0
    ranked = [i for i in json.loads(capsys.readouterr().out)["inputs"] if i["reaches"]]
    flat = " ".join(report(capsys, str(path), "--samples", "2000", "--format", "text").split())
    shares = " and ".join(f"{i['input']} (ρ² = {i['explained']:.2f})" for i in ranked)
    assert f"(0 to 1 for each input; they need not sum to 1): {shares}." in flat
    # ρ² are not shares of a whole: they are never written as percentages that look as if they add up
    assert not re.search(r"`\w+\.\w+` \(\d+ %\)", flat), flat
    page = report(capsys, str(path), "--samples", "2000", "--format", "html")
    assert 'id="chart-sensitivity"' in page and 'id="chart-interval"' in page
    chart = page.split('id="chart-sensitivity"', 1)[1].split("</figure>", 1)[0]
    bar_labels = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert all(f"{i['explained']:.2f}" in bar_labels for i in ranked), bar_labels
    assert not any(label.endswith("%") for label in bar_labels), bar_labels


def test_too_few_samples_give_no_ranking_but_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.uncertain.sensitivity import MIN_SAMPLES

    path = tmp_path / "uncertain.nnci"
    path.write_text(UNCERTAIN, encoding="utf-8")
    flat = " ".join(report(capsys, str(path), "--samples", str(MIN_SAMPLES - 1), "--format", "text").split())
    assert f"{MIN_SAMPLES - 1} samples are too few to rank the inputs" in flat
    assert "ρ²" not in flat
    page = report(capsys, str(path), "--samples", str(MIN_SAMPLES - 1), "--format", "html")
    assert 'id="chart-sensitivity"' not in page


def test_an_hourly_grid_is_charted_with_the_jobs_hours(capsys: pytest.CaptureFixture[str]) -> None:
    """The series in the report is the CSV's column; the job's stated intensity is its mean over the job's hours."""
    import csv

    from nnci import api
    from nnci.report import build

    model = "models/carbon-aware-training.nnci"
    with open("models/carbon-aware-training.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    statement = build(api.run(model), [model], "epa")
    planned = next(j for j in statement.jobs if j.key == "planned")
    [site] = planned.sites
    assert site.series is not None and site.series.label == "profiles.solar"
    assert site.series.values == pytest.approx([float(r["solar [gCO2e/kWh]"]) for r in rows])
    first = [r["timestamp"] for r in rows].index("2024-03-04T18:00Z")  # the job's start, 36 hours
    mean = sum(float(r["solar [gCO2e/kWh]"]) for r in rows[first : first + 36]) / 36
    assert planned.intensity is not None and planned.intensity.magnitude("gCO2e/kWh") == pytest.approx(mean)
    page = report(capsys, model, "--format", "html")
    assert page.count('<figure id="chart-series-') == 3 and 'class="band"' in page
    assert "for 36 h from 2024-03-04T18:00Z" in " ".join(report(capsys, model, "--format", "text").split())


def test_an_output_path_that_cannot_be_written_is_said(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.md"
    assert main(["report", SCENARIOS["demo"], "-o", str(target)]) == 1
    assert "cannot write it" in capsys.readouterr().err and not target.exists()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_references_are_those_of_run_sources(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The statement cites what `nnci run --sources` lists for its figures (nnci's own definitions aside), and
    besides only the sources of the other figures it states (hours, device-hours, PUE, intensity)."""
    from nnci import api
    from nnci.formulas.citations import NNCI_RULE
    from nnci.report import build

    assert main(["run", SCENARIOS[name], "--sources"]) == 0
    listed = re.findall(r"^  \[\d+\] (.+)$", capsys.readouterr().out.split("\nsources:\n", 1)[1], re.M)
    statement = build(api.run(SCENARIOS[name]), [SCENARIOS[name]], "epa")
    cited = {r.text for r in statement.references[: statement.cited]}
    assert set(listed) - {NNCI_RULE} <= cited
    texts = {r.number: r.text for r in statement.references}
    described = {texts[n] for job in statement.jobs for f in (job.duration, job.device_hours, job.pue, job.intensity)
                 if f is not None for n in f.citations}  # fmt: skip
    assert cited - set(listed) <= described


def test_offsets_are_stated_and_not_subtracted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "offset.nnci"
    text = (REPO / CASES / "uncertain.nnci").read_text(encoding="utf-8")
    text = (
        text.replace("power = uniform(250 W, 350 W)", "power = 300 W")
        .replace("pue = triangular(1.08, 1.1, 1.4)", "pue = 1.1")
        .replace("  duration = 360 h\n", "  duration = 360 h\n  offset = 50 %\n")
    )
    path.write_text(text, encoding="utf-8")
    flat = " ".join(report(capsys, str(path), "--format", "text").split())
    operational = 1.1 * 1000 * 300 * 360 / 1000 * 0.429  # kgCO2e: PUE × 1,000 GPUs × 300 W × 360 h × 429 g/kWh
    assert f"emitted {operational / 1000:.0f} tCO2e of operational carbon" in flat
    assert f"Offsets of {operational / 2000:.0f} tCO2e are reported beside these figures, not subtracted." in flat


def test_a_label_with_a_line_break_stays_in_its_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A breaker's finding: a `\\n` in a label broke the Markdown paragraph it is quoted in."""
    path = tmp_path / "s.nnci"
    path.write_text(
        'device gpu {\n  power = 300 W\n  label = "A100\\nSXM"\n}\ndatacenter dc {\n  pue = 1.1\n}\n'
        "training t {\n  fleet = { gpu = 8 }\n  site = dc\n  duration = 10 h\n}\n"
    )
    assert main(["report", str(path), "--format", "md"]) == 0
    paragraph = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Training `t`"))
    assert "(A100 SXM)" in paragraph
