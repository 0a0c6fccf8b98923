"""`nnci schedule`: the searches against brute force through the whole engine, and by enumeration."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

import nnci
from nnci.cli import main
from nnci.engine import Derivation
from nnci.schedule import fewest_pieces, schedule
from nnci.timeparse import format_instant, parse_instant

T0 = parse_instant("2024-03-04T00:00Z")
# 48 hourly values with no two windows alike (a daily cycle, a drift and an irregular term)
VALUES = [round(300 + 150 * math.sin(2 * math.pi * h / 24) + 2 * h + 40 * math.sin(h * h / 7), 3) for h in range(48)]
OTHER = [round(200 + 90 * math.cos(2 * math.pi * h / 24 + 1) - h + 25 * math.sin(h * 1.7), 3) for h in range(48)]


def model(start: str = "2024-03-04T03:00Z", site: str = "a", duration: str = "5 h") -> str:
    def series(values: list[float]) -> str:
        return "series(2024-03-04T00:00Z, 1 h, " + ", ".join(f"{v} gCO2e/kWh" for v in values) + ")"

    return f"""nnci 0.1
grid ga {{
  intensity = {series(VALUES)}
}}
grid gb {{
  intensity = {series(OTHER)}
  transport = 0.9
}}
datacenter a {{
  pue = 1.1
  grid = ga
}}
datacenter b {{
  pue = 1.4
  grid = gb
}}
device gpu {{
  power = 400 W
}}
training run {{
  fleet = {{ gpu = 8 }}
  site = {site}
  start = {start}
  duration = {duration}
}}
"""


def engine_carbon(tmp_path: Path, **changes: str) -> float:
    """The job's operational carbon through the whole pipeline, with its start or site changed."""
    path = tmp_path / "brute.nnci"
    path.write_text(model(**changes), encoding="utf-8")
    result = nnci.run(path).jobs[0].quantities["operational"]
    assert isinstance(result, Derivation)
    return float(result.value.magnitude)


def test_best_window_equals_brute_force_over_every_start(tmp_path: Path) -> None:
    program = nnci.loads(model())
    between = (T0, T0 + 24 * 3600)
    found = schedule(program, "run", between, 1800.0)  # every half hour: partial first and last hours
    starts = [T0 + k * 1800 for k in range(2 * 24 - 2 * 5 + 1)]
    brute = [(engine_carbon(tmp_path, start=format_instant(t)), t) for t in starts]
    best_carbon, best_start = min(brute)
    best = found.candidates[0]
    assert best.start == best_start
    assert best.carbon == pytest.approx(best_carbon, rel=1e-12)
    assert best.ties == 1
    own = engine_carbon(tmp_path)
    assert found.baseline is not None and found.baseline.carbon == pytest.approx(own, rel=1e-12)
    assert best.saving == pytest.approx(own - best_carbon, rel=1e-9)


def test_sites_are_ranked_like_brute_force(tmp_path: Path) -> None:
    program = nnci.loads(model())
    between = (T0 + 6 * 3600, T0 + 40 * 3600)
    found = schedule(program, "run", between, None, ("a", "b"))
    brute = {
        site: min(engine_carbon(tmp_path, site=site, start=format_instant(T0 + h * 3600)) for h in range(6, 36))
        for site in ("a", "b")
    }
    assert [c.site for c in found.candidates] == sorted(brute, key=brute.__getitem__)
    for candidate in found.candidates:
        assert candidate.carbon == pytest.approx(brute[candidate.site], rel=1e-12)


def test_a_window_counts_only_if_the_data_covers_it() -> None:
    program = nnci.loads(model())
    found = schedule(program, "run", (T0 + 40 * 3600, T0 + 60 * 3600), None)
    assert all(c.end <= T0 + 48 * 3600 for c in found.candidates)
    assert found.candidates[0].start <= T0 + 43 * 3600


def test_ties_are_counted_and_the_earliest_is_chosen() -> None:
    flat = model().replace("transport = 0.9", "transport = 1")
    text = flat.replace(", ".join(f"{v} gCO2e/kWh" for v in VALUES), ", ".join(["250 gCO2e/kWh"] * 48))
    found = schedule(nnci.loads(text), "run", (T0, T0 + 10 * 3600), None)
    assert found.candidates[0].start == T0 and found.candidates[0].ties == 6  # starts 00:00 … 05:00


def _brute_pieces(cost: list[float], count: int, max_pieces: int) -> float:
    best = math.inf
    for chosen in itertools.combinations(range(len(cost)), count):
        runs = 1 + sum(1 for a, b in itertools.pairwise(chosen) if b != a + 1)
        if runs <= max_pieces:
            best = min(best, sum(cost[i] for i in chosen))
    return best


@pytest.mark.parametrize("max_pieces", [1, 2, 3, 10])
def test_fewest_pieces_equals_enumeration(max_pieces: int) -> None:
    cost = [5.0, 1.0, 7.0, 2.0, 2.5, 9.0, 0.5, 3.0, 8.0, 1.5, 4.0, 6.0]
    picked = fewest_pieces(cost, 4, max_pieces)
    assert picked is not None and len(picked) == 4
    runs = 1 + sum(1 for a, b in itertools.pairwise(picked) if b != a + 1)
    assert runs <= max_pieces
    assert sum(cost[i] for i in picked) == pytest.approx(_brute_pieces(cost, 4, max_pieces))


def test_interruptible_equals_brute_force(tmp_path: Path) -> None:
    program = nnci.loads(model(duration="4 h"))
    between = (T0, T0 + 12 * 3600)
    energy_per_hour_kwh = 8 * 0.4 * 1.1
    for max_pieces in (None, 2):
        found = schedule(program, "run", between, None, interruptible=True, max_pieces=max_pieces)
        best = found.candidates[0]
        hand = _brute_pieces(VALUES[:12], 4, max_pieces or 12) * energy_per_hour_kwh / 1000  # kg
        assert best.carbon == pytest.approx(hand, rel=1e-12)
        assert len(best.pieces) <= (max_pieces or 12)
        assert sum(b - a for a, b in best.pieces) == 4 * 3600
        contiguous = schedule(program, "run", between, None).candidates[0].carbon
        assert best.carbon <= contiguous * (1 + 1e-12)
        assert any(note.startswith("pausing saves") for note in found.notes)


def test_interruptible_with_a_partial_interval() -> None:
    program = nnci.loads(model(duration="150 min"))
    found = schedule(program, "run", (T0, T0 + 6 * 3600), None, interruptible=True)
    ordered = sorted(VALUES[:6])
    hand = (ordered[0] + ordered[1] + 0.5 * ordered[2]) * 8 * 0.4 * 1.1 / 1000
    assert found.candidates[0].carbon == pytest.approx(hand, rel=1e-12)


def test_cli_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.nnci"
    path.write_text(model(), encoding="utf-8")
    argv = ["schedule", str(path), "run", "--between", "2024-03-04T00:00Z", "2024-03-05T00:00Z", "--sites", "a,b"]
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["site"] for c in data["candidates"]] and data["baseline"]["site"] == "a"
    first = data["candidates"][0]
    assert set(first) >= {"job", "site", "start", "end", "carbon", "saving", "ties"}
    assert first["carbon"]["unit"] == "kgCO2e"
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "saving vs own start" in out and "^ chosen" in out


def test_cli_refuses_what_it_cannot_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.nnci"
    path.write_text(model(), encoding="utf-8")
    base = ["schedule", str(path), "run", "--between"]
    assert main([*base, "2024-03-04T00:00", "2024-03-05T00:00Z"]) == 2
    assert "no timezone" in capsys.readouterr().err
    assert main([*base, "2024-03-04T00:00Z", "2024-03-05T00:00Z", "--sites", "zz"]) == 2
    assert "not a datacenter" in capsys.readouterr().err
    assert main([*base, "2024-03-04T00:00Z", "2024-03-04T02:00Z"]) == 2
    assert "shorter than the job" in capsys.readouterr().err


def test_a_power_profile_moves_with_the_start(tmp_path: Path) -> None:
    profiled = model(duration="3 h").replace(
        "  duration = 3 h\n", "  duration = 3 h\n  profile = series(2024-03-04T03:00Z, 1 h, 1 kW, 4 kW, 2 kW)\n"
    )
    found = schedule(nnci.loads(profiled), "run", (T0, T0 + 12 * 3600), None)
    path = tmp_path / "p.nnci"
    brute = []
    for h in range(10):
        path.write_text(profiled.replace("start = 2024-03-04T03:00Z", f"start = {format_instant(T0 + h * 3600)}"))
        result = nnci.run(path).jobs[0].quantities["operational"]
        assert isinstance(result, Derivation)
        brute.append((float(result.value.magnitude), T0 + h * 3600))
    assert (found.candidates[0].carbon, found.candidates[0].start) == pytest.approx(min(brute), rel=1e-12)


def test_of_windows_equal_but_for_rounding_the_earliest_is_chosen() -> None:
    """The same day three times: the prefix sums differ in their last bits between days."""
    day = [round(300 + 150 * math.sin(2 * math.pi * h / 24) + 17.3 * math.sin(h * h / 5), 3) for h in range(24)]
    text = model(duration="6 h").replace(", ".join(f"{v} gCO2e/kWh" for v in VALUES),
                                         ", ".join(f"{v} gCO2e/kWh" for v in day * 2))  # fmt: skip
    found = schedule(nnci.loads(text), "run", (T0, T0 + 48 * 3600), None)
    best = found.candidates[0]
    assert best.ties >= 2 and best.start < T0 + 24 * 3600  # the first day's window, not the second's
    carbon = [sum(day[(h + k) % 24] for k in range(6)) for h in range(24)]
    assert best.start == T0 + 3600 * carbon.index(min(carbon))


def test_a_site_with_a_constant_grid_is_ranked_beside_an_hourly_one() -> None:
    text = model().replace("intensity = series(2024-03-04T00:00Z, 1 h, " + ", ".join(f"{v} gCO2e/kWh" for v in OTHER) + ")",
                           "intensity = 200 gCO2e/kWh")  # fmt: skip
    program = nnci.loads(text)
    between = (T0, T0 + 24 * 3600)
    for interruptible in (False, True):
        found = schedule(program, "run", between, None, ("a", "b"), interruptible=interruptible)
        constant = next(c for c in found.candidates if c.site == "b")
        energy_b = 8 * 400 * 5 * 3600 * 1.4  # J: b's PUE; its grid loses 10 % in transport
        assert constant.carbon == pytest.approx(energy_b * 200 / 3.6e9 / 0.9, rel=1e-9)
        assert constant.start == T0  # every start costs the same: the earliest


def test_a_zero_step_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.nnci"
    path.write_text(model(), encoding="utf-8")
    code = main(["schedule", str(path), "run", "--between", "2024-03-04T00:00Z", "2024-03-05T00:00Z", "--step", "0h"])
    assert code != 0 and "positive" in capsys.readouterr().err


@pytest.mark.parametrize(("values", "problem"), [("200 %, 50 %", "reaches 200 %"), ("60 %, -10 %", "reaches -10 %"),
                                                 ("0 %, 0 %", "zero throughout"), ("-1 kW, 3 kW", "reaches -1,000 W")])  # fmt: skip
def test_a_profile_no_job_can_have_is_refused(values: str, problem: str) -> None:
    text = model(duration="2 h").replace(
        "  duration = 2 h\n", f"  duration = 2 h\n  profile = series(2024-03-04T03:00Z, 1 h, {values})\n"
    )
    with pytest.raises(nnci.NnciError) as raised:
        nnci.check(nnci.loads(text))
    assert "E402" in str(raised.value) and problem in str(raised.value)
