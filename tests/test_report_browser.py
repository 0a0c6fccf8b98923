"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package) renders it, and
the page is read back through the DevTools protocol (tools/chromium.py): no console errors, charts
present and drawn, and every figure in the page equal to `nnci run --format json`.

Skipped, saying so, where no Chromium is installed (`apt-get install chromium`, or set
$NNCI_CHROMIUM); `.ci/run` installs it when it can.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nnci.cli import main

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ["models/nnci-demo.nnci", "tests/cases/report/multi_site.nnci", "tests/cases/report/uncertain.nnci",
             "models/carbon-aware-training.nnci"]  # fmt: skip
OPTIONS = {"tests/cases/report/uncertain.nnci": ["--samples", "1000"]}  # a Monte Carlo run: medians and intervals
FACTORS = {"kWh": 1.0, "MWh": 1e3, "GWh": 1e6, "gCO2e": 1e-3, "kgCO2e": 1.0, "tCO2e": 1e3}


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nnci_chromium", REPO / "tools" / "chromium.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chromium = _driver()
BINARY = chromium.find()
pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="no Chromium to render the HTML report: install Debian's `chromium` (apt-get install chromium), "
    "or name the binary in $NNCI_CHROMIUM",
)

READ_PAGE = """JSON.stringify({
  figures: [...document.querySelectorAll('[data-value]')].map(e => ({
    block: e.dataset.block, quantity: e.dataset.quantity, value: e.dataset.value, unit: e.dataset.unit,
    text: e.textContent})),
  charts: [...document.querySelectorAll('svg.chart')].map(s => {
    const box = s.getBoundingClientRect();
    const bars = [...s.querySelectorAll('rect, polyline')].filter(r => { const b = r.getBBox(); return b.width > 0 && b.height > 0; });
    return {width: box.width, height: box.height, drawn: bars.length, title: s.querySelector('title').textContent};
  }),
  unknown: [...document.querySelectorAll('.figure.unknown')].map(e => [e.dataset.block, e.dataset.quantity]),
  links: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1)),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  background: getComputedStyle(document.documentElement).backgroundColor,
  external: [...document.querySelectorAll('script, link, img, iframe')].length,
})"""


def _render(tmp_path: Path, scenario: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict]:
    page = tmp_path / (Path(scenario).stem + ".html")
    options = OPTIONS.get(scenario, [])
    assert main(["report", scenario, "--format", "html", "-o", str(page), *options]) == 0
    assert main(["run", scenario, "--format", "json", *options]) == 0
    document = json.loads(capsys.readouterr().out)
    return page, document


def last_digit(number: str) -> float:
    """The value of the last significant digit shown: `1,200` → 100, `0.042` → 0.001, `575` → 1."""
    whole, _, decimals = number.replace(",", "").partition(".")
    if decimals:
        return 10.0 ** -len(decimals)
    return 10.0 ** (len(whole) - len(whole.rstrip("0"))) if whole.strip("0") else 1.0


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with chromium.Browser(BINARY) as opened:
        yield opened


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: Path(s).stem)
def test_report_renders_in_chromium(
    scenario: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, browser
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    page, document = _render(tmp_path, scenario, capsys)
    browser.events.clear()
    browser.open(page)
    seen = json.loads(browser.evaluate(READ_PAGE))
    assert browser.errors() == []
    assert seen["external"] == 0
    # charts: present, laid out, and with drawn marks
    assert seen["charts"], "the report has charts"
    for chart in seen["charts"]:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["drawn"] >= 1, chart
    # every figure in the page is the run's figure, and its text is that figure rounded
    expected = {("total", q): v for q, v in document["total"].items()}
    for block, entry in document["blocks"].items():
        expected.update({(block, q): v for q, v in entry.items() if isinstance(v, dict) and "value" in v})
    shown = {}
    for figure in seen["figures"]:
        key = (figure["block"], figure["quantity"])
        if key in expected:
            assert expected[key]["value"] is not None, key
            assert float(figure["value"]) == expected[key]["value"] and figure["unit"] == expected[key]["unit"], key
            shown[key] = figure
        match = re.fullmatch(r"(-?[\d,.]+(?:e[+-]?\d+)?)(?: (.+))?", figure["text"])
        assert match is not None, figure
        number, unit = match.groups()
        if unit in FACTORS and figure["unit"] in FACTORS:
            value = float(number.replace(",", "")) * FACTORS[unit] / FACTORS[figure["unit"]]
            half = 0.5 * last_digit(number) * FACTORS[unit] / FACTORS[figure["unit"]]
            assert abs(value - float(figure["value"])) <= half * (1 + 1e-9), figure
    known = {key for key, v in expected.items() if v["value"] is not None}
    assert set(shown) == known, known - set(shown)
    unknown = {key for key, v in expected.items() if v["value"] is None}  # shown as unknown, never as 0
    assert unknown <= {tuple(pair) for pair in seen["unknown"]}, unknown
    # each figure's link leads to its derivation on the page
    assert set(seen["links"]) <= set(seen["ids"])


def test_report_reads_in_dark_mode_and_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, browser
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    page, _ = _render(tmp_path, SCENARIOS[0], capsys)
    browser.open(page, dark=False)
    light = json.loads(browser.evaluate(READ_PAGE))["background"]
    browser.open(page, dark=True)
    dark = json.loads(browser.evaluate(READ_PAGE))["background"]
    assert light == "rgb(255, 255, 255)" and dark != light
    assert browser.pdf().startswith(b"%PDF")
    assert browser.errors() == []


def test_sweep_page_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    page = tmp_path / "sweep.html"
    assert main(["sweep", SCENARIOS[0], "--vary", "dc.pue=1.1,1.2,1.3", "--format", "html", "-o", str(page)]) == 0
    browser.events.clear()
    browser.open(page)
    seen = json.loads(browser.evaluate(READ_PAGE))
    assert browser.errors() == [] and len(seen["charts"]) == 1 and seen["charts"][0]["drawn"] == 3
