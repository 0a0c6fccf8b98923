"""The JSON writer's text is exactly `json.dumps(..., indent=2, ensure_ascii=False)`, built faster."""

from __future__ import annotations

import json

import cattrs
import pytest
from hypothesis import given, settings
from strategies import json_values, observation

import nnci
from nnci.evaluate import ALL
from nnci.output import _json_block, indented_json, unit_choices, write_json


@settings(max_examples=500)
@given(json_values)
def test_indented_json_is_the_text_json_dumps_gives(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


@given(json_values)
def test_a_nested_value_continues_its_lines_at_its_level(value: object) -> None:
    assert indented_json(value, "\n    ") == json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def _written_by_the_general_path(results: nnci.Results, units: list[str]) -> dict[str, object]:
    """The report as plain dicts, each block from `_json_block` (no templates), for comparison."""
    converter = cattrs.Converter(omit_if_default=True)
    overrides = unit_choices(units)
    return {str(job.key): _json_block(job, overrides, converter) for job in results.jobs}


@pytest.mark.parametrize("units", [[], ["MWh", "tCO2e"]])
def test_the_templated_report_is_the_general_text_of_every_job(units: list[str]) -> None:
    """20 jobs of one shape (stacked) and a demo job: every block's text, written from a template per
    quantity, is the one json.dumps gives for the block the general path builds."""
    text = "".join(observation(i, 300 + i, 1.1 + i / 100, 400, 0.95, 8 + i, 10) for i in range(20))
    results = nnci.evaluate(nnci.loads(text), figures=ALL)
    written: list[str] = []
    write_json(results, ["x.nnci"], units, written.append)
    report = "".join(written)
    assert report == json.dumps(json.loads(report), indent=2, ensure_ascii=False) + "\n"
    assert json.loads(report)["blocks"] == _written_by_the_general_path(results, units)
