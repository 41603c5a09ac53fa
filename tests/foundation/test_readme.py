"""The README's promises: its chaos-test example passes as written, its commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def _section_code(heading: str, lang: str) -> list[str]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def test_the_readme_chaos_test_passes_as_written(pytester: pytest.Pytester) -> None:
    (example,) = _section_code("A chaos test", "python")
    assert len(example.strip().splitlines()) <= 25
    pytester.makepyfile(test_example=example)
    result = pytester.runpytest_subprocess(*BASE, "--strict-markers")
    result.assert_outcomes(passed=1)


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    commands = [
        line
        for block in _section_code("Two commands", "bash")
        for line in block.splitlines()
        if line and not line.startswith("#")
    ]
    assert commands == [
        "pip install -e '.[all]' && harness run scenarios/",
        "pip install -e '.[test]' && pytest",
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
