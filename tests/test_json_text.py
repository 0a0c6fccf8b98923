"""The JSON writer's text is exactly `json.dumps(..., indent=2, ensure_ascii=False)`, built faster."""

from __future__ import annotations

import json

from hypothesis import given, settings
from strategies import json_values

from nnci.output import indented_json


@settings(max_examples=500)
@given(json_values)
def test_indented_json_is_the_text_json_dumps_gives(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


@given(json_values)
def test_a_nested_value_continues_its_lines_at_its_level(value: object) -> None:
    assert indented_json(value, "\n    ") == json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n    ")
