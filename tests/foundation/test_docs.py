"""docs/formats.md lists what the code accepts: toxics, load profiles, thresholds, commands, variables."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from harness.cli import COMMANDS
from harness.faults.backend import TOXIPROXY_URL_ENV
from harness.faults.toxics import _ATTRIBUTES, ToxicType
from harness.load import profiles
from harness.load.thresholds import _ALL
from harness.pytest_fixtures.scenario import REDIS_URL_ENV

ROOT = Path(__file__).resolve().parents[2]
FORMATS = (ROOT / "docs" / "formats.md").read_text()


def _table_row(first_cell: str) -> str:
    match = re.search(rf"^\| {re.escape(first_cell)} \|(.*)$", FORMATS, flags=re.M)
    assert match is not None, f"no row for {first_cell}"
    return match.group(1)


def test_every_toxic_type_is_documented_with_its_attributes():
    for kind in ToxicType:
        row = _table_row(f"`{kind.value}`")
        for attribute in _ATTRIBUTES[kind][1]:
            assert f"`{attribute}`" in row, (kind, attribute)


def test_every_load_profile_kind_is_documented_with_its_fields():
    for kind, cls in profiles._KINDS.items():
        row = _table_row(f"`{kind}`")
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in row, (kind, field.name)


def test_every_threshold_metric_is_documented():
    section = FORMATS.split("Thresholds (", 1)[1].split("\n## ", 1)[0]
    for metric in _ALL:
        name = metric.removeprefix("service_")
        assert f"`{name}`" in section, metric


def test_every_command_has_its_exit_codes_documented():
    section = FORMATS.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for command in COMMANDS:
        assert f"`harness {command.name}`" in section, command.name


def test_the_environment_variables_are_documented_and_the_readme_links_the_docs():
    for variable in (REDIS_URL_ENV, TOXIPROXY_URL_ENV):
        assert f"`{variable}`" in FORMATS
    readme = (ROOT / "README.md").read_text()
    assert "docs/formats.md" in readme
    assert "docs/scenario-reference.md" in readme
