"""The declaration (`schema.QUANTITIES`, `schema.BLOCK_KINDS`) is the one list: the grammar, the
catalog builder, the output and the CLI agree with it, and a new quantity reaches every output."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from nnci import catalog, output, schema
from nnci.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_grammar_lists_the_declared_kinds() -> None:
    grammar = (REPO / "grammar" / "nnci.lark").read_text(encoding="utf-8")
    match = re.search(r"^KIND: (.+)$", grammar, re.M)
    assert match is not None
    assert tuple(re.findall(r'"(\w+)"', match[1])) == schema.KINDS


def test_catalog_builder_reserves_every_kind() -> None:
    spec = importlib.util.spec_from_file_location("build_std", REPO / "tools" / "build_std.py")
    assert spec is not None and spec.loader is not None
    build_std = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_std)
    assert set(schema.KINDS) <= build_std.KEYWORDS


def test_every_quantity_field_is_declared_once_with_its_dimension() -> None:
    for kind, fields in schema.SCHEMA.items():
        for name, field in fields.items():
            if field.type == "quantity":
                declared = schema.QUANTITIES[name]
                assert field.dim == declared.dim, (kind, name)
                assert set(declared.ranges) <= set(field.ranges), (kind, name)
    used = {n for fields in schema.SCHEMA.values() for n, f in fields.items() if f.type == "quantity"}
    assert used == set(schema.QUANTITIES), "a declared quantity no kind has"


def test_views_follow_the_declaration() -> None:
    assert schema.REPORTED == ("energy", "operational", "embodied", "total")
    assert "net_operational" in schema.REPORTED_IF_KNOWN
    assert set(schema.ADDITIVE) == {n for n, q in schema.QUANTITIES.items() if q.summed}
    assert schema.JOB_KINDS == ("training", "inference")
    assert catalog.KEY_FIELDS["device"] == schema.BLOCK_KINDS["device"].catalog
    # every reported quantity adds up (a total row is printed for each)
    assert all(schema.QUANTITIES[n].summed for n in (*schema.REPORTED, *schema.REPORTED_IF_KNOWN))


def test_reported_units_come_from_the_declaration() -> None:
    assert output.unit_for("energy", schema.QUANTITIES["energy"].dim, {}) == "kWh"
    assert output.unit_for("total", schema.QUANTITIES["total"].dim, {}) == "kgCO2e"


def test_unit_of_no_figure_shown_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Any unit applies to the figures of its dimension; one that changes nothing shown is said."""
    assert main(["run", str(REPO / "models" / "nnci-demo.nnci"), "--unit", "TFLOP/s"]) == 0
    assert "no figure shown is compute throughput; add `--show throughput,peak`" in capsys.readouterr().err


def test_every_quantity_is_reported_in_a_unit_of_its_dimension() -> None:
    """A figure shown with `--all` or in JSON is written in a unit nnci can read back."""
    from nnci.units import DIMENSIONLESS, parse_unit

    for name, spec in schema.QUANTITIES.items():
        unit = spec.report_unit
        assert (parse_unit(unit).dimension if unit else DIMENSIONLESS) == spec.dim, name
        if spec.large is not None:
            assert parse_unit(spec.large[0]).dimension == spec.dim, name
