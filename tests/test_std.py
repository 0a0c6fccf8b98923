"""The standard library: every file checks, and its figures match the reference CSVs they come from.

Expected values are read from data/catalog (the repository's copy of the reference catalog), not
typed twice.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

import nnci
from nnci.engine import Derivation, Unknown
from nnci.ir import BlockKey
from nnci.resources import std_dir

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "data" / "catalog"
STD_FILES = sorted(std_dir().glob("*.nnci"))


def rows(name: str) -> list[dict[str, str]]:
    with open(CATALOG / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def value(program_text: str, block: str, quantity: str) -> float:
    program = nnci.loads(program_text)
    result = nnci.evaluate(program).engine.quantity(BlockKey("", block), quantity)
    assert isinstance(result, Derivation), result
    return float(result.value.magnitude)


def test_the_standard_library_has_its_files() -> None:
    assert {p.stem for p in STD_FILES} >= {"hardware", "grids", "pue", "sources"}


@pytest.mark.parametrize("path", STD_FILES, ids=lambda p: p.stem)
def test_every_std_file_checks_and_cites_every_record(path: Path) -> None:
    program = nnci.load(path)
    nnci.check(program)
    for key in program.roots:
        assert program.blocks[key].citations, f"{key} has no @source"


@pytest.mark.parametrize(
    ("label", "block"),
    [("NVIDIA V100 SXM2 16GB", "v100_sxm2_16gb"), ("NVIDIA H100 SXM5 80GB", "h100_sxm"),
     ("NVIDIA A100 SXM4 80GB", "a100_sxm4_80gb")],
)  # fmt: skip
def test_accelerator_figures_match_the_csv(label: str, block: str) -> None:
    row = next(r for r in rows("accelerators.csv") if r["name"] == label)
    text = f'import "std/hardware" as hw\ndevice d = hw.{block} {{\n}}\n'
    assert value(text, "d", "tdp") == pytest.approx(float(row["tdp_w"]))
    assert value(text, "d", "peak_fp16") == pytest.approx(float(row["peak_tflops_fp16_or_bf16_dense"]) * 1e12)
    assert value(text, "d", "memory") == pytest.approx(float(row["memory_gb"]) * 1e9)


def test_every_accelerator_of_the_csv_is_a_device() -> None:
    labels = {r["name"] for r in rows("accelerators.csv")}
    text = (std_dir() / "hardware.nnci").read_text()
    missing = [label for label in labels if f'label = "{label}"' not in text]
    assert not missing


def test_france_2024_is_embers_value() -> None:
    row = next(
        r for r in rows("grid_intensity.csv")
        if r["country_iso3"] == "FRA" and r["year"] == "2024" and "Ember" in r["source_dataset"]
    )  # fmt: skip
    text = 'import "std/grids_sharealike" as sa\ngrid g = sa.fra_2024 {\n}\n'
    assert value(text, "g", "intensity") == pytest.approx(float(row["gco2e_per_kwh"]) / 1000 / 3.6e6)


def test_a_mix_of_std_sources_is_the_weighted_mean() -> None:
    factors = {
        r["source"]: float(r["gco2e_per_kwh_lifecycle_median"])
        for r in rows("generation_sources.csv")
        if r["gco2e_per_kwh_lifecycle_median"]
    }
    expected = 0.45 * factors["coal"] + 0.37 * factors["gas"] + 0.10 * factors["nuclear"] + 0.08 * factors["solar"]
    text = (
        'import "std/sources" as s\n'
        "grid g {\n  mix = { s.coal = 45 %, s.gas = 37 %, s.nuclear = 10 %, s.solar = 8 % }\n}\n"
    )
    assert value(text, "g", "intensity") == pytest.approx(expected / 1000 / 3.6e6)


def test_std_files_are_up_to_date_with_the_catalog() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_std.py"), "--check", "--catalog", str(CATALOG)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_amend_overrides_a_catalog_value() -> None:
    text = 'import "std/hardware" as hw\ndevice mine = hw.a100_sxm4_80gb {\n  power = 350 W\n}\n'
    assert value(text, "mine", "power") == pytest.approx(350)
    assert value(text, "mine", "tdp") == pytest.approx(400)  # the rest of the record stays


def test_a_value_the_catalog_does_not_know_is_unknown_not_zero() -> None:
    program = nnci.loads('import "std/hardware" as hw\ndevice t = hw.tpu_v5e {\n}\n')
    result = nnci.evaluate(program).engine.quantity(BlockKey("", "t"), "die_area")
    assert isinstance(result, Unknown)


def test_catalog_search_finds_records(capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.cli import main

    assert main(["catalog", "a100", "80gb", "--kind", "device"]) == 0
    out = capsys.readouterr().out
    assert "std/hardware.a100_sxm4_80gb" in out and "tdp 400 W" in out
    assert "a100_sxm4_40gb" not in out
    assert main(["catalog", "no-such-thing-anywhere"]) == 0
    assert "no records match" in capsys.readouterr().out


def _references(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.startswith("std/")]


def test_catalog_search_ranks_names_and_labels_before_source_text(capsys: pytest.CaptureFixture[str]) -> None:
    """`tpu` appears in the source text of hundreds of records (paths like data/output/): those are
    counted, not listed; the records shown are those whose name or label says TPU."""
    from nnci import catalog
    from nnci.cli import main

    everything, _ = catalog.records()
    by_source = [r for r in everything if "tpu" in r.words]
    named = [r for r in by_source if "tpu" in r.name or "tpu" in r.label.lower()]
    assert main(["catalog", "tpu"]) == 0
    out = capsys.readouterr().out
    shown = _references(out)
    assert sorted(shown) == sorted(r.reference for r in named)
    assert f"{len(by_source) - len(named)} more matched only in the text of their sources" in out

    assert main(["catalog", "--kind", "device", "tpu"]) == 0
    out = capsys.readouterr().out
    devices = [r.reference for r in everything if r.kind == "device" and "tpu" in r.name]
    assert sorted(_references(out)) == sorted(devices)
    assert "v100" not in out and "a100" not in out and "h100" not in out

    assert main(["catalog", "--kind", "device", "tpu", "--all"]) == 0
    listed = _references(capsys.readouterr().out)
    assert listed[: len(devices)] == _references(out)  # the best first, then the rest
    assert {r.reference for r in everything if r.kind == "device" and "tpu" in r.words} == set(listed)


def test_catalog_search_puts_exact_descriptions_first(capsys: pytest.CaptureFixture[str]) -> None:
    from nnci.cli import main

    assert main(["catalog", "us", "average"]) == 0
    out = capsys.readouterr().out
    shown = _references(out)
    assert shown[0] == "std/grids.paper_llama_us_average"  # "US average" is its label; the others say more
    assert all("us" in r.split(".")[1].split("_") for r in shown)
    assert "more matched by description only" in out
    assert main(["catalog", "germany", "--kind", "grid"]) == 0
    shown = _references(capsys.readouterr().out)
    # label "Germany" exactly, newest first; then "Germany (Electricity Maps zone DE)"; then Azure's
    assert shown[:3] == ["std/grids_sharealike.deu_2024", "std/grids.deu_2023", "std/grids.deu_2020"]
    assert all("deu_" in r for r in shown[:6]) and all("azure_germany" in r for r in shown[6:])


def test_mix_keys_name_std_sources_without_an_import() -> None:
    factors = {r["source"]: r["gco2e_per_kwh_lifecycle_median"] for r in rows("generation_sources.csv")}
    expected = 0.45 * float(factors["coal"]) + 0.55 * float(factors["gas"])
    text = "grid g {\n  mix = { coal = 45 %, gas = 55 % }\n}\n"
    assert value(text, "g", "intensity") == pytest.approx(expected / 1000 / 3.6e6)
