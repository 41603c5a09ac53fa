"""The README's promises: every example runs as written, its commands are the real ones, its lists are true.

A fenced block is run according to the HTML comment on the line above it:

* a ``python`` block with no comment is a complete program, run in a fresh interpreter in an
  empty folder; ``<!-- fragment -->`` continues the block above it (they run together);
* ``<!-- pytest -->``: a test module, run by pytest with the plugin;
* ``<!-- run -->`` on a ``bash`` block: each command runs in an empty folder and must succeed;
* ``<!-- not run: REASON -->``: not run, and the reason is stated in the README.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
_BLOCK = re.compile(r"(?:<!-- (?P<mark>[^\n]*?) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", flags=re.S)


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: its language, the comment above it, its code and the line it starts on."""

    lang: str
    mark: str
    code: str
    line: int


def _blocks() -> list[Block]:
    return [
        Block(m["lang"], m["mark"] or "", m["code"], README.count("\n", 0, m.start("code")) + 1)
        for m in _BLOCK.finditer(README)
    ]


def _programs() -> list[tuple[int, str]]:
    """The complete Python programs, each with the fragments that continue it."""
    programs: list[tuple[int, str]] = []
    for block in _blocks():
        if block.lang != "python":
            continue
        if block.mark == "fragment":
            assert programs, f"README line {block.line}: a fragment with no block above it"
            start, code = programs[-1]
            programs[-1] = (start, code + "\n" + block.code)
        elif not block.mark:
            programs.append((block.line, block.code))
    return programs


def _section_code(heading: str, lang: str) -> list[str]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def test_every_python_block_is_run_or_says_why_not():
    marks = {"", "fragment", "pytest"}
    for block in _blocks():
        if block.lang != "python":
            continue
        reason = block.mark.removeprefix("not run:").strip()
        assert block.mark in marks or (block.mark.startswith("not run:") and len(reason) > 20), (
            f"README line {block.line}: mark {block.mark!r} is not one of {sorted(marks)} "
            "or 'not run: <the reason>'"
        )
    assert len(_programs()) >= 4


@pytest.mark.parametrize(("line", "code"), _programs(), ids=[f"line{line}" for line, _ in _programs()])
def test_each_python_example_runs_as_written(tmp_path, line, code):
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"README line {line}:\n{done.stdout}\n{done.stderr}"


def test_the_readme_chaos_test_passes_as_written(pytester: pytest.Pytester) -> None:
    (example,) = [block.code for block in _blocks() if block.mark == "pytest"]
    assert len(example.strip().splitlines()) <= 25
    pytester.makepyfile(test_example=example)
    result = pytester.runpytest_subprocess(*BASE, "--strict-markers")
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_shell_commands_marked_to_run_succeed(tmp_path):
    blocks = [block for block in _blocks() if block.mark == "run"]
    assert blocks
    # The commands run with the scripts of the interpreter running the tests, activated or not.
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    for block in blocks:
        for text in block.code.splitlines():
            command = text.split("#", 1)[0].strip()
            if not command:
                continue
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=1200,
                check=False,
                env=env,
            )
            assert done.returncode == 0, f"README line {block.line}: {command}\n{done.stdout}\n{done.stderr}"


def _plugin_listing(flag: str, folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "harness.pytest_plugin", "-p", "no:cacheprovider", flag],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
        cwd=folder,
    )
    return done.stdout


def test_the_plugin_section_lists_exactly_the_fixtures_and_markers_the_plugin_registers(tmp_path):
    section = README.split("## The pytest plugin\n", 1)[1].split("\n## ", 1)[0]
    fixtures_text = section.split("Fixtures:", 1)[1].split(". A test", 1)[0]
    markers_text = section.split("Markers:", 1)[1].split("Fixtures:", 1)[0]
    listed_fixtures = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", fixtures_text)))
    listed_markers = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", markers_text)))

    fixtures = _plugin_listing("--fixtures", tmp_path)
    ours = set(re.findall(r"^(\w+)(?: \[\w+ scope\])? -- .*harness/", fixtures, flags=re.M))
    markers = _plugin_listing("--markers", tmp_path)
    builtin = {
        "filterwarnings",
        "skip",
        "skipif",
        "xfail",
        "parametrize",
        "usefixtures",
        "tryfirst",
        "trylast",
    }
    registered = set(re.findall(r"^@pytest\.mark\.(\w+)", markers, flags=re.M)) - builtin
    assert listed_fixtures == ours
    assert listed_markers == registered


def test_the_two_commands_are_the_ones_ci_runs() -> None:
    commands = [
        line
        for block in _section_code("Two commands", "bash")
        for line in block.splitlines()
        if line and not line.startswith("#")
    ]
    assert commands == [
        "pip install -e '.[all]' && harness run scenarios/",
        "pip install -e '.[test]' && pytest -n 2",
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
