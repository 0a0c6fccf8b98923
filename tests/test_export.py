"""`nnci export --to if`: the manifest IF's builtins compute to nnci's figures.

The real `if-run` 1.1.0 is run by `tools/if_roundtrip.py` (CI runs it where npm is available);
what it computed is recorded in tests/cases/interop/if-run/*.json (`--write-golden`). Here the
exported manifest is read back as YAML and evaluated by the small interpreter below, written from
IF 1.1's builtins (src/if-run/builtins/{multiply,sum,divide}), independently of the exporter,
and compared with both the recorded if-run figures and `nnci run`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest

from nnci import api
from nnci.cli import main
from nnci.interop import yaml_subset
from nnci.interop.export import export_if, nnci_figures

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "cases" / "interop" / "if-run"
EXPORT_CASES = Path("tests") / "cases" / "interop" / "export"
RECORDED = sorted(GOLDEN.glob("*.json"))
METRICS = ("energy", "carbon-operational", "carbon-embodied", "carbon")
NAME = re.compile(r"[a-zA-Z]+(?:[-_/][a-zA-Z]+)*")  # if-core: an output name any other way is an expression


def if_builtins(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each node's aggregated metrics as IF 1.1 computes them, by path."""
    plugins = manifest["initialize"]["plugins"]
    out: dict[str, dict[str, float]] = {}

    def node(tree: dict[str, Any], path: str, pipeline: list[str], defaults: dict[str, Any]) -> dict[str, float]:
        if "pipeline" in tree:
            pipeline = tree["pipeline"]["compute"]
        defaults = {**defaults, **(tree.get("defaults") or {})}
        if tree.get("children"):
            sums = dict.fromkeys(METRICS, 0.0)
            for name, child in tree["children"].items():
                got = node(child, f"{path}.{name}" if path else name, pipeline, defaults)
                sums = {m: sums[m] + got[m] for m in METRICS}  # component aggregation: sum
            out[path] = sums
            return sums
        (observation,) = tree["inputs"]
        assert "timestamp" in observation and observation["duration"] > 0  # aggregation needs both
        values = {**defaults, **observation}  # defaults fill only what the input lacks
        for name in pipeline:
            method, config = plugins[name]["method"], plugins[name]["config"]
            if method == "Multiply":
                values[config["output-parameter"]] = math.prod(values[p] for p in config["input-parameters"])
            elif method == "Sum":
                values[config["output-parameter"]] = sum(values[p] for p in config["input-parameters"])
            else:
                assert method == "Divide", method
                denominator = config["denominator"]
                if isinstance(denominator, str):
                    assert values[denominator] != 0, "IF 1.1: a zero denominator field is a MissingInputDataError"
                    denominator = values[denominator]
                values[config["output"]] = values[config["numerator"]] / denominator
        out[path] = {m: float(values[m]) for m in METRICS}
        return out[path]

    node(manifest["tree"], "", [], {})
    return out


def _exported(scenario: str) -> dict[str, Any]:
    text, diagnostics, _ = export_if(REPO / scenario)
    assert text is not None, diagnostics
    return yaml_subset.read(text).data


@pytest.mark.parametrize("record", RECORDED, ids=lambda p: p.stem)
def test_export_computes_nnci_figures_as_if_run_did(record: Path) -> None:
    recorded = json.loads(record.read_text())
    manifest = _exported(recorded["scenario"])
    computed = if_builtins(manifest)
    nnci = nnci_figures(api.run(REPO / recorded["scenario"]))
    for path, figures in nnci.items():
        for metric in METRICS:
            assert math.isclose(computed[path][metric], figures[metric], rel_tol=1e-12, abs_tol=1e-9), (path, metric)
            real = recorded["aggregated"][path][metric]  # what the real if-run 1.1.0 computed
            assert math.isclose(real, figures[metric], rel_tol=1e-12, abs_tol=1e-9), (path, metric)


def test_the_demo_is_recorded_and_matches_the_published_totals() -> None:
    recorded = json.loads((GOLDEN / "nnci-demo.json").read_text())
    root = recorded["aggregated"][""]
    # shared/reference/interop.md §1.5, the nn-ci golden values
    assert math.isclose(root["energy"], 1_273_767, rel_tol=1e-12)
    assert math.isclose(root["carbon-operational"], 575_206_361.0526317, rel_tol=1e-12)
    assert math.isclose(root["carbon-embodied"], 8_810_681_052.631578, rel_tol=1e-12)
    assert math.isclose(root["carbon"], 9_385_887_413.68421, rel_tol=1e-12)


@pytest.mark.parametrize("record", RECORDED, ids=lambda p: p.stem)
def test_manifest_uses_only_builtins_with_metadata(record: Path) -> None:
    manifest = _exported(json.loads(record.read_text())["scenario"])
    plugins = manifest["initialize"]["plugins"]
    assert all(p["path"] == "builtin" and p["method"] in ("Multiply", "Sum", "Divide") for p in plugins.values())
    for plugin in plugins.values():
        config = plugin["config"]
        assert NAME.fullmatch(config.get("output-parameter", config.get("output")))
    declared = {}
    for plugin in plugins.values():
        for metric, meta in plugin.get("parameter-metadata", {}).get("outputs", {}).items():
            assert meta["aggregation-method"] == {"time": "sum", "component": "sum"}
            assert declared.setdefault(metric, meta["unit"]) == meta["unit"]  # the explainer wants one unit
    assert set(manifest["aggregation"]["metrics"]) == set(declared) == set(METRICS)
    assert declared == {"energy": "kWh", "carbon-operational": "gCO2e", "carbon-embodied": "gCO2e", "carbon": "gCO2e"}


def test_every_model_is_exported_or_refused_with_a_reason() -> None:
    recorded = {json.loads(p.read_text())["scenario"] for p in RECORDED}
    for model in sorted((REPO / "models").glob("*.nnci")):
        text, diagnostics, _ = export_if(model)
        name = model.relative_to(REPO).as_posix()
        if text is None:
            assert diagnostics and all(d.code == "E630" for d in diagnostics if d.severity == "error"), name
            assert name not in recorded
        else:
            assert name in recorded, f"{name} exports: record it with tools/if_roundtrip.py --write-golden"


@pytest.mark.parametrize("case", sorted((REPO / EXPORT_CASES).glob("*.nnci")), ids=lambda p: p.stem)
def test_export_golden(case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What `nnci export` says for each case (`<name>.err`); a manifest it writes computes nnci's figures."""
    monkeypatch.chdir(REPO)
    code = main(["export", (EXPORT_CASES / case.name).as_posix(), "--to", "if"])
    captured = capsys.readouterr()
    expected = case.with_suffix(".err")
    if os.environ.get("NNCI_UPDATE_GOLDEN") == "1":
        expected.write_text(captured.err, encoding="utf-8")
    assert captured.err == expected.read_text(encoding="utf-8")
    if code == 0:
        computed = if_builtins(yaml_subset.read(captured.out).data)
        for path, figures in nnci_figures(api.run(case)).items():
            for metric in METRICS:
                assert math.isclose(computed[path][metric], figures[metric], rel_tol=1e-12, abs_tol=1e-9)
    else:
        assert "error[E630]" in captured.err and captured.out == ""
