"""Edge cases found in review: each once gave a traceback or a silently wrong number."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnci
from nnci.cli import main
from nnci.engine import Derivation
from nnci.ir import TOTAL, BlockKey

SITE = "datacenter dc {\n  pue = 1\n  intensity = 100 gCO2e/kWh\n}\n"


def codes(text: str, tmp_path: Path, name: str = "m.nnci") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    try:
        nnci.check(nnci.load(path))
    except nnci.NnciError as error:
        return [d.code for d in error.diagnostics]
    return []


def value(text: str, block: str, quantity: str) -> float:
    result = nnci.evaluate(nnci.loads(text)).engine.quantity(BlockKey("", block), quantity)
    assert isinstance(result, Derivation), result
    return float(result.value.magnitude)


def test_a_negative_unit_exponent_binds_to_the_unit() -> None:
    # 100 kWh × 2 per hour = 200 kW (not 100 kWh ÷ 2 h)
    assert value("device d {\n  power = 100 kWh * 2 h^-1\n}\n", "d", "power") == pytest.approx(200_000)


def test_a_huge_unit_exponent_is_an_unknown_unit(tmp_path: Path) -> None:
    assert codes("device d {\n  power = 1 kW^999\n}\n", tmp_path) == ["E302"]


def test_a_number_that_overflows_in_si_units_is_refused(tmp_path: Path) -> None:
    assert codes("training t {\n  energy = 1e308 kWh\n}\n", tmp_path) == ["E305"]


def test_an_error_in_an_imported_map_weight_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "lib.nnci").write_text(
        "device gpu {\n  power = 1 kW\n}\n" + SITE + "training x {\n  fleet = { gpu = 1 / 0 }\n  site = dc\n}\n"
    )
    assert codes('import "lib" as l\ntraining y = l.x {\n  duration = 5 h\n}\n', tmp_path) == ["E405"]


def test_imported_values_are_range_checked_when_used(tmp_path: Path) -> None:
    (tmp_path / "neg.nnci").write_text("device gpu {\n  power = -300 W\n}\n")
    text = 'import "neg" as n\n' + SITE + "training t {\n  fleet = { n.gpu = 1 }\n  site = dc\n  duration = 1 h\n}\n"
    assert codes(text, tmp_path) == ["E402"]


@pytest.mark.parametrize(("field", "code"), [("site = {}", "E403"), ("fleet = {}", "E402")])
def test_an_empty_map_is_an_error(field: str, code: str, tmp_path: Path) -> None:
    text = (
        "device d {\n  power = 1 W\n}\n"
        + SITE
        + "training t {\n  fleet = { d = 1 }\n  site = dc\n  duration = 1 h\n}\n"
    )
    text = text.replace("  fleet = { d = 1 }" if field.startswith("fleet") else "  site = dc", "  " + field)
    assert code in codes(text, tmp_path)


def test_total_queries_sums_the_inference_jobs_only() -> None:
    text = (
        "device d {\n  power = 1 W\n}\n" + SITE
        + "training t {\n  fleet = { d = 1 }\n  site = dc\n  duration = 1 h\n}\n"
        + "inference a {\n  fleet = { d = 1 }\n  site = dc\n  duration = 1 h\n  queries = 100\n}\n"
        + "inference b {\n  fleet = { d = 1 }\n  site = dc\n  duration = 1 h\n  queries = 50\n}\n"
    )  # fmt: skip
    result = nnci.evaluate(nnci.loads(text)).engine.quantity(TOTAL, "queries")
    assert isinstance(result, Derivation) and result.value.magnitude == 150


def test_explain_finds_imported_blocks_nothing_refers_to(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.nnci"
    path.write_text('import "std/hardware" as hw\n')
    assert main(["explain", str(path), "hw.a100_sxm4_80gb.tdp"]) == 0
    assert "= 400 W" in capsys.readouterr().out
    assert main(["explain", str(path), "total"]) == 2


def test_a_file_named_twice_is_validated_once(capsys: pytest.CaptureFixture[str]) -> None:
    demo = str(Path(__file__).resolve().parent.parent / "models" / "nnci-demo.nnci")
    assert main(["validate", demo, demo]) == 0
    assert "6 passed, 0 failed" in capsys.readouterr().out


def test_a_value_out_of_range_is_reported_wherever_it_is_written() -> None:
    """Range checks judge a constant once per field (10,000 jobs repeat a few): a value out of range is
    still reported at each place it is written, one in range nowhere."""
    text = "".join(f"datacenter d{i} {{\n  pue = {pue}\n}}\n" for i, pue in enumerate(["0.5", "1.1", "0.5", "1.1"]))
    with pytest.raises(nnci.NnciError) as raised:
        nnci.check(nnci.loads(text))
    lines = sorted(d.span.line for d in raised.value.diagnostics if d.code == "E402" and d.span is not None)
    assert lines == [2, 8]


def test_equality_in_a_check_line_allows_for_rounding_only() -> None:
    """1.1 × 3 is 3.3 but for the last bit: `==` holds; 1.1 against 1.1000001 does not."""
    nnci.check(nnci.loads('datacenter a {\n  pue = 1.1\n}\ncheck a.pue * 3 == 3.3, "product"\n'))
    with pytest.raises(nnci.NnciError):
        nnci.check(nnci.loads('datacenter a {\n  pue = 1.1\n}\ncheck a.pue == 1.1000001, "close"\n'))
    nnci.check(nnci.loads('datacenter a {\n  pue = 1.1\n}\ncheck a.pue != 1.1000001, "close"\n'))


def test_a_sum_over_jobs_too_large_for_a_float_is_unknown_not_a_traceback(tmp_path: Path) -> None:
    """Each job's energy is a float (300 W × 8 × 1.5e301 h ≈ 1.3e308 J), their sum is not: the total is
    unknown as a fault, saying why, and every other figure is still shown."""
    job = "training t{i} {{\n  fleet = {{ g = 8 }}\n  site = dc\n  duration = 1.5e301 h\n}}\n"
    text = "nnci 0.1\n" + SITE + "device g {\n  power = 300 W\n}\n" + job.format(i=1) + job.format(i=2)
    results = nnci.evaluate(nnci.loads(text))
    energy = results.total["energy"]
    assert not isinstance(energy, Derivation) and energy.fault and "too large" in (energy.reason or "")
    each = results.figure("t1", "energy")
    assert isinstance(each, Derivation) and each.value.magnitude == 300 * 8 * 1.5e301 * 3600
    path = tmp_path / "big.nnci"
    path.write_text(text)
    assert main(["run", str(path), "--format", "json"]) == 0
