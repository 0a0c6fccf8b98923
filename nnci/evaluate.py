"""Evaluation: ask the engine for every job's reported quantities, the totals and the expectations."""

from __future__ import annotations

import re

import attrs

from nnci import ir
from nnci.engine import Derivation, Engine, Result
from nnci.quantity import Quantity
from nnci.schema import METHODS, REPORTED, REPORTED_IF_KNOWN
from nnci.units import unit_factor


@attrs.frozen
class JobResult:
    key: ir.BlockKey
    kind: str
    quantities: dict[str, Result]
    citations: tuple[str, ...]


@attrs.frozen
class ExpectResult:
    expect: ir.Expect
    expected: Quantity
    tolerance: Quantity  # absolute, in the expected value's dimension
    tolerance_text: str  # empty when the tolerance came from the digits written
    computed: Result

    @property
    def passed(self) -> bool:
        if not isinstance(self.computed, Derivation):
            return False
        return bool(
            abs(self.computed.value.magnitude - self.expected.magnitude) <= self.tolerance.magnitude * (1 + 1e-12)
        )

    @property
    def ratio(self) -> float | None:
        if not isinstance(self.computed, Derivation) or self.expected.magnitude == 0:
            return None  # no ratio to a zero
        return float(self.computed.value.magnitude / self.expected.magnitude)


@attrs.frozen
class Results:
    program: ir.Program
    jobs: tuple[JobResult, ...]
    total: dict[str, Result]
    expects: tuple[ExpectResult, ...]
    engine: Engine
    # devices without a lifetime whose whole embodied carbon is charged to each of several jobs
    charged_in_full_by_several: tuple[tuple[ir.BlockKey, tuple[ir.BlockKey, ...]], ...] = ()


def evaluate(program: ir.Program, engine: Engine | None = None) -> Results:
    engine = engine or Engine(program)
    jobs = tuple(
        JobResult(key, program.blocks[key].kind, _reported(engine, key), program.blocks[key].citations)
        for key in program.jobs
    )
    total = _reported(engine, ir.TOTAL)
    expects = tuple(e for e in (_expect(engine, expect) for expect in program.expects) if e is not None)
    return Results(program, jobs, total, expects, engine, _charged_in_full_by_several(program, engine, jobs))


def _charged_in_full_by_several(
    program: ir.Program, engine: Engine, jobs: tuple[JobResult, ...]
) -> tuple[tuple[ir.BlockKey, tuple[ir.BlockKey, ...]], ...]:
    """total.embodied counts such a device once per job: worth a warning."""
    charged: dict[ir.BlockKey, list[ir.BlockKey]] = {}
    for job in jobs:
        embodied = job.quantities["embodied"]
        if not isinstance(embodied, Derivation) or embodied.formula is None or embodied.formula.name != "nn-emb":
            continue
        for device in _fleet_devices(program, job.key):
            if not isinstance(engine.quantity(device, "lifetime"), Derivation):
                charged.setdefault(device, []).append(job.key)
    return tuple((device, tuple(keys)) for device, keys in charged.items() if len(keys) > 1)


def _fleet_devices(program: ir.Program, job: ir.BlockKey) -> list[ir.BlockKey]:
    fleet = program.blocks[job].fields.get("fleet")
    if fleet is None or not isinstance(fleet.expr, ir.BlockRef):
        return []
    devices = program.blocks[fleet.expr.block].fields.get("devices")
    return [e.block for e in devices.expr.entries] if devices and isinstance(devices.expr, ir.Map) else []


def compare(program: ir.Program, job: ir.BlockKey) -> list[tuple[str, dict[str, Result]]]:
    """One job under every method whose inputs give at least one of the reported figures."""
    rows = []
    for method in METHODS:
        engine = Engine(program, {job: method})
        quantities = {name: engine.quantity(job, name) for name in REPORTED}
        if any(isinstance(q, Derivation) for q in quantities.values()):
            rows.append((method, quantities))
    return rows


def _reported(engine: Engine, key: ir.BlockKey) -> dict[str, Result]:
    """The four reported quantities, and the optional ones (net operational carbon) when known."""
    quantities = {name: engine.quantity(key, name) for name in REPORTED}
    for name in REPORTED_IF_KNOWN:
        result = engine.quantity(key, name)
        if isinstance(result, Derivation):
            quantities[name] = result
    return quantities


def _expect(engine: Engine, expect: ir.Expect) -> ExpectResult | None:
    """None when the expected value or tolerance cannot be computed (check reports why)."""
    expected = engine.try_evaluate(expect.value, None)
    if not isinstance(expected, Quantity):
        return None
    computed = engine.quantity(expect.block, expect.quantity)
    if expect.tolerance is None:
        assert isinstance(expect.value, ir.Const), "resolve requires `within` for anything but a literal"
        tolerance = Quantity(half_last_digit(expect.value), expected.dimension)
        text = ""  # shown by the output as ± the absolute tolerance
    else:
        given = engine.try_evaluate(expect.tolerance, None)
        if not isinstance(given, Quantity):
            return None
        if ir.is_percentage(expect.tolerance):
            tolerance = Quantity(abs(expected.magnitude) * given.magnitude, expected.dimension)
            text = f"{given.magnitude * 100:g} %"
        else:
            tolerance = Quantity(given.magnitude, expected.dimension)
            text = "± " + given.format()
    return ExpectResult(expect, expected, tolerance, text, computed)


def half_last_digit(const: ir.Const) -> float:
    """Half a unit in the last written digit, in SI: `552.1 tCO2e` → 50 kg, `1287 MWh` → 0.5 MWh."""
    written, _, unit = const.text.partition(" ")
    match = re.fullmatch(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", written.replace("_", ""))
    assert match is not None
    decimals = len(match.group(2) or "")
    exponent = int(match.group(3) or 0)
    return 0.5 * 10.0 ** (exponent - decimals) * unit_factor(unit)
