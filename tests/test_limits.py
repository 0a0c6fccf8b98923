"""Inputs at the edges: long chains, numbers a float cannot hold, exponents, negative totals."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnci
from nnci.cli import main
from nnci.diagnostics import NnciError

CHAIN = 10_000


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_chain_of_ten_thousand_references(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Each datacenter's PUE is the next one's, written before it: resolving and evaluating recurse."""
    head = "grid g {\n  intensity = 400 gCO2e/kWh\n}\ndevice d {\n  power = 1000 W\n}\n"
    job = "training t {\n  fleet = { d = 1 }\n  site = c1\n  duration = 1 h\n}\n"
    links = "".join(f"datacenter c{i} {{\n  pue = c{i + 1}.pue\n  grid = g\n}}\n" for i in range(1, CHAIN))
    last = f"datacenter c{CHAIN} {{\n  pue = 1.25\n  grid = g\n}}\n"
    path = tmp_path / "chain.nnci"
    path.write_text(head + job + links + last)
    code, out, err = run(capsys, "run", str(path), "--format", "csv")
    assert code == 0, err
    assert "t,training,energy,1.25,kWh" in out  # 1 kW for 1 h at PUE 1.25


def test_a_chain_of_ten_thousand_amends(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    amends = "".join(f"device d{i} = d{i - 1} {{\n  lifetime = {i} h\n}}\n" for i in range(CHAIN - 1, 0, -1))
    text = (
        "datacenter c {\n  pue = 1\n}\ntraining t {\n"
        f"  fleet = {{ d{CHAIN - 1} = 1 }}\n  site = c\n  duration = 1 h\n}}\n"
        + amends
        + "device d0 {\n  power = 500 W\n}\n"
    )
    path = tmp_path / "amends.nnci"
    path.write_text(text)
    code, out, err = run(capsys, "run", str(path), "--format", "csv")
    assert code == 0, err
    assert "t,training,energy,0.5,kWh" in out  # the power of d0 flows through 9,999 amends


def test_a_chain_too_deep_is_a_diagnostic_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "".join(f"datacenter c{i} {{\n  pue = c{i + 1}.pue\n}}\n" for i in range(1, 3000))
        + "datacenter c3000 {\n  pue = 1\n}\n"
    )
    path = tmp_path / "deep.nnci"
    path.write_text(text)
    monkeypatch.setattr("nnci.deep.DEEPEST", 50)  # a small limit, so that the test is quick
    code, _, err = run(capsys, "check", str(path))
    assert code == 1
    assert "error[E407]" in err and "nests too deeply" in err and "Traceback" not in err
    with pytest.raises(NnciError, match="E407"):
        nnci.check(nnci.loads(text))


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("expect j.energy = 0e400 kWh", "`0e400` is out of the range", "an exponent of at most 308"),
        ("expect j.energy = 1e-400 kWh", "`1e-400` is out of the range", "an exponent of at least -308"),
    ],
)
def test_a_number_a_float_cannot_hold_is_an_error(line: str, message: str, hint: str) -> None:
    text = "device d {\n  power = 1 W\n}\ndatacenter c {\n  pue = 1\n}\n"
    text += "training j {\n  fleet = { d = 1 }\n  site = c\n  duration = 1 h\n}\n" + line + "\n"
    with pytest.raises(NnciError, match=message) as raised:
        nnci.loads(text)
    assert hint in (raised.value.diagnostics[0].help or "")


def test_a_subnormal_number_is_a_number() -> None:
    program = nnci.loads("device d {\n  power = 5e-324 W\n}\n")
    assert not nnci.check(program)


def test_a_negative_total_is_an_error() -> None:
    text = "training j {\n  total = -1 kgCO2e\n}\n"
    with pytest.raises(NnciError, match="`total` = -1 kgCO2e: cannot be negative"):
        nnci.check(nnci.loads(text))


@pytest.mark.parametrize("exponent", ["0.0001", "0.123"])
def test_a_unit_to_an_odd_power_is_an_error(exponent: str) -> None:
    text = f"datacenter c {{\n  pue = (300 W) ^ {exponent}\n}}\n"
    with pytest.raises(NnciError, match="has no unit nnci can name"):
        nnci.check(nnci.loads(text))


def test_a_simple_fractional_power_of_a_unit_is_fine() -> None:
    program = nnci.loads("device d {\n  die_area = (100 mm2 ^ 0.5) ^ 2\n}\n")
    assert not nnci.check(program)


def test_deep_runs_in_two_threads_at_once_keep_their_room() -> None:
    """The recursion limit is the process's: a deep run that ends while another is deep inside its
    chain must not lower it under that one (the language server analyses beside a request; a breaker
    saw the second one report a false E407 and the limit left raised after both)."""
    import sys
    import threading
    import time

    from nnci.deep import with_deep_stack

    started, ended = threading.Event(), threading.Event()
    before = sys.getrecursionlimit()

    def short() -> str:
        started.set()
        ended.wait(5)
        return "short"

    def deep() -> int:
        started.wait(5)
        ended.set()  # the short run ends now, while this one goes 5,000 frames down
        time.sleep(0.2)

        def down(n: int) -> int:
            return 0 if n == 0 else 1 + down(n - 1)

        return down(5000)

    found: dict[str, object] = {}
    threads = [threading.Thread(target=lambda f=f, n=n: found.__setitem__(n, with_deep_stack(f)))
               for n, f in (("short", short), ("deep", deep))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == {"short": "short", "deep": 5000}
    assert sys.getrecursionlimit() == before


def test_an_implausible_count_of_devices_is_a_warning() -> None:
    """1e300 GPUs ran without a word (a breaker's finding): above 10,000,000 of one device is said."""
    text = "device gpu {\n  power = 300 W\n}\ntraining t {\n  fleet = { gpu = 1e300 }\n  duration = 1 h\n}\n"
    found = nnci.check(nnci.loads(text))
    assert [(d.code, d.severity, d.span.line) for d in found] == [("E402", "warning", 5)]  # type: ignore[union-attr]
    assert "the count of `gpu` is" in found[0].message and "more than any cluster built" in found[0].message
    assert not nnci.check(nnci.loads(text.replace("1e300", "200_000")))


@pytest.mark.parametrize(
    ("written", "value"),
    [("1.728 ^ (1/3)", 1.728 ** (1 / 3)), ("2 ^ 3 ^ 2 / 500", 2**9 / 500), ("4 ^ -(1/2) + 1", 1.5)],
)
def test_an_exponent_of_plain_numbers_is_known_when_resolving(written: str, value: float) -> None:
    """`^ (1/3)` passed the check and then failed to evaluate (the two read exponents differently):
    one reading now serves both, and folds any arithmetic of plain numbers."""
    program = nnci.loads(f"datacenter dc {{\n  pue = {written}\n}}\n")
    assert not nnci.check(program)
    from nnci.engine import Derivation, Engine

    result = Engine(program).quantity(nnci.ir.BlockKey("", "dc"), "pue")
    assert isinstance(result, Derivation) and result.value.magnitude == pytest.approx(value, rel=1e-15)
