"""Every scenario in models/ checks, evaluates, and its `expect` lines hold; the seed demo by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnci
from nnci.engine import Derivation
from nnci.ir import TOTAL

MODELS = sorted(Path(__file__).parent.parent.joinpath("models").glob("*.nnci"))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_model_checks_and_its_expectations_hold(path: Path) -> None:
    program = nnci.load(path)
    assert not nnci.check(program), "models carry no warnings"
    results = nnci.evaluate(program)
    assert results.expects, "every model states published figures"
    failed = [e.expect.target_text for e in results.expects if not e.passed]
    assert not failed


def kwh(value: float) -> float:
    return value * 3.6e6


def test_seed_demo_reproduces_the_manifest_by_hand() -> None:
    """The nn-ci GPT-3 demo, recomputed here from the manifest's inputs."""
    results = nnci.run(Path(__file__).parent.parent / "models" / "nnci-demo.nnci")
    pue, alpha, tau = 1.1, 429e-3, 0.95  # kgCO2e/kWh
    training_kwh = pue * (10_000 * 300 + 625 * 250) * 360 / 1000
    query_kwh = pue * 3620 * 250 * 24 / 1000
    operational_kg = (training_kwh + query_kwh) * alpha / tau
    gpu_kg = 1000 * 633e-3 / 0.95
    server_kg = 900 * 534e-3 / 0.95
    embodied_kg = 10_000 * gpu_kg + (625 + 3620) * server_kg

    assert training_kwh == pytest.approx(1_249_875)
    assert query_kwh == pytest.approx(23_892)
    jobs = {str(job.key): job.quantities for job in results.jobs}
    assert jobs["gpt3_training"]["energy"].value.magnitude == pytest.approx(kwh(training_kwh))  # type: ignore[union-attr]
    assert jobs["gpt3_queries"]["energy"].value.magnitude == pytest.approx(kwh(query_kwh))  # type: ignore[union-attr]
    total = {name: r.value.magnitude for name, r in results.total.items() if isinstance(r, Derivation)}
    assert total["operational"] == pytest.approx(operational_kg, rel=1e-12)
    assert total["embodied"] == pytest.approx(embodied_kg, rel=1e-12)
    assert total["total"] == pytest.approx(operational_kg + embodied_kg, rel=1e-12)
    # the figures the issue quotes, to their printed digits
    assert round(total["operational"] / 1000, 3) == 575.206
    assert round(total["embodied"] / 1000, 2) == 8810.68
    assert round(total["total"] / 1000, 2) == 9385.89
    assert results.engine.quantity(TOTAL, "energy").value.magnitude == pytest.approx(kwh(1_273_767))  # type: ignore[union-attr]


def test_the_cluster_job_log_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    """models/cluster-job-log.nnci: each row's energy, carbon and amortised embodied carbon by hand,
    summed per account, against `nnci run --by jobs.account`."""
    import csv
    import json

    from nnci.cli import main

    year_h = 365.25 * 24
    pue = {"sweden": 1.15, "virginia": 1.5}
    alpha = {"sweden": 40.695, "virginia": 308.0}  # gCO2e/kWh: std/grids swe_2023, us_va_2020
    expected: dict[str, list[float]] = {}
    folder = Path(__file__).parent.parent / "models"
    with open(folder / "cluster-job-log.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            gpus, nodes, hours = int(row["gpus"]), int(row["nodes"]), float(row["hours [h]"])
            energy = (gpus * 300 + nodes * 700) * hours / 1000 * pue[row["cluster"]]  # kWh
            embodied = gpus * 150 * hours / (5 * year_h) + nodes * 2500 * hours / (6 * year_h)  # kgCO2e
            sums = expected.setdefault(row["account"], [0.0, 0.0, 0.0])
            sums[0] += energy
            sums[1] += energy * alpha[row["cluster"]] / 1000
            sums[2] += embodied
    assert main(["run", str(folder / "cluster-job-log.nnci"), "--by", "jobs.account", "--format", "json"]) == 0
    groups = {g["group"]["account"]: g for g in json.loads(capsys.readouterr().out)["month"]}
    assert set(groups) == set(expected)
    for account, (energy, operational, embodied) in expected.items():
        assert groups[account]["energy"]["value"] == pytest.approx(energy, rel=1e-12)
        assert groups[account]["operational"]["value"] == pytest.approx(operational, rel=1e-12)
        assert groups[account]["embodied"]["value"] == pytest.approx(embodied, rel=1e-12)


def test_a_group_of_rows_sums_as_the_by_table_does() -> None:
    """`group(month.X, jobs.account, "a")` is the sum over that account's rows, by hand from the CSV; the
    groups of a column add up to the job's total."""
    import csv

    folder = Path(__file__).parent.parent / "models"
    program = nnci.load(folder / "cluster-job-log.nnci")
    pue = {"sweden": 1.15, "virginia": 1.5}
    by_account: dict[str, float] = {}
    with open(folder / "cluster-job-log.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            energy = (int(row["gpus"]) * 300 + int(row["nodes"]) * 700) * float(row["hours [h]"]) * pue[row["cluster"]]
            by_account[row["account"]] = by_account.get(row["account"], 0.0) + energy * 3600  # J
    sums = []
    for account, expected in by_account.items():
        text = f'figure g = group(month.energy, jobs.account, "{account}")\n'
        amended = nnci.loads((folder / "cluster-job-log.nnci").read_text() + text, str(folder / "with-group.nnci"))
        got = nnci.evaluate(amended).derived["g"]
        assert isinstance(got, Derivation)
        assert got.value.magnitude == pytest.approx(expected, rel=1e-12), account
        sums.append(got.value.magnitude)
    total = nnci.evaluate(program).quantity("month", "energy").magnitude
    assert sum(sums) == pytest.approx(total, rel=1e-12)
