"""``harness init``: the scaffolded chaos setup passes its own tests as generated and overwrites nothing."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import EXIT_OK, EXIT_USAGE, main
from harness.examples.scaffold import scaffold

# pytest-asyncio is installed here (not in the generated project's install) and warns without this.
PYTEST = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def _pytest_chaos(folder: Path) -> subprocess.CompletedProcess[str]:
    # A fresh session, not an xdist worker of this one (pytest-benchmark would warn that it is).
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "chaos", *PYTEST],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--asgi"]], ids=["http", "asgi"])
def test_the_scaffolded_project_passes_its_own_tests(tmp_path, flags):
    assert main(["init", str(tmp_path), *flags]) == EXIT_OK
    done = _pytest_chaos(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_init_refuses_to_overwrite_without_force_and_writes_nothing(tmp_path, capsys):
    mine = tmp_path / "chaos" / "conftest.py"
    mine.parent.mkdir()
    mine.write_text("# mine\n")
    assert main(["init", str(tmp_path)]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    assert mine.read_text() == "# mine\n"
    assert not (tmp_path / ".github").exists()
    assert main(["init", str(tmp_path), "--force"]) == EXIT_OK
    assert mine.read_text() != "# mine\n"


def test_the_pytest_config_registers_every_marker_the_generated_tests_use(tmp_path):
    files = scaffold(tmp_path)
    ini = files[tmp_path / "chaos" / "pytest.ini"]
    assert "--strict-markers" in ini
    for marker in ("chaos", "scenario", "load", "slo"):
        assert f"\n    {marker}" in ini


def test_the_workflow_runs_the_chaos_tests_the_scenarios_and_the_ab_gate_with_a_summary(tmp_path, capsys):
    files = scaffold(tmp_path)
    workflow = yaml.safe_load(files[tmp_path / ".github" / "workflows" / "chaos.yml"])
    runs = [step.get("run", "") for step in workflow["jobs"]["chaos"]["steps"]]
    assert "pytest chaos" in runs
    assert any(run.startswith("harness run chaos/scenarios/") for run in runs)
    (gate,) = [run for run in runs if "harness gate" in run]
    words = shlex.split(gate.split("harness gate", 1)[1].replace("\\\n", " "))
    assert "--ab" in words
    assert words[words.index("--markdown") + 1] == "$GITHUB_STEP_SUMMARY"
    assert all("--benchmark-json={out}" in w for w in words[words.index("--ab") + 1 :])
    assert main(["gate", "--help"]) == EXIT_OK
    assert "--markdown" in capsys.readouterr().out
