"""The scenario file reference is generated from the JSON Schema and kept current by this test."""

from __future__ import annotations

import json
from pathlib import Path

from harness.scenario import scenario_schema
from harness.scenario.reference import scenario_reference

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scenario-reference.md"
REGENERATE = "python -m harness.scenario.reference > docs/scenario-reference.md"


def test_the_committed_reference_matches_the_current_schema():
    assert DOC.read_text() == scenario_reference(), f"the scenario schema changed: run {REGENERATE}"


def test_every_field_of_every_object_has_a_row():
    schema = json.loads(scenario_schema())
    text = scenario_reference(schema)
    for node in [schema, *schema["$defs"].values()]:
        for field in node.get("properties", {}):
            assert f"| `{field}` |" in text, field
    for name in schema["$defs"]:
        assert f"\n## {name}\n" in text, name


def test_a_new_field_changes_the_reference():
    schema = json.loads(scenario_schema())
    schema["$defs"]["LiveSpec"]["properties"]["warmup"] = {
        "title": "Duration",
        "type": "string",
        "default": 0.5,
    }
    assert "| `warmup` | duration | `500ms` |" in scenario_reference(schema)
    assert scenario_reference(schema) != DOC.read_text()


def test_durations_print_with_their_unit_and_required_fields_say_so():
    text = scenario_reference()
    assert "| `window` | duration | `10s` |" in text
    assert "| `duration` | duration | required |" in text
