"""``harness examples list|run|copy`` and ``harness run --examples``: the shipped examples from any folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import EXIT_OK, EXIT_USAGE, main
from harness.examples import scenario_files
from harness.examples.catalog import COPY_PACKAGE, copy_examples, example_scenarios


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_every_bundled_scenario_is_listed_with_its_name_and_description(capsys):
    examples = example_scenarios()
    assert [e.path for e in examples] == scenario_files()
    assert all(e.name and e.description for e in examples)
    assert main(["examples", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    for example in examples:
        assert example.name in out


def test_run_needs_scenario_paths_or_the_examples_flag(capsys):
    assert main(["run"]) == EXIT_USAGE
    assert "--examples" in capsys.readouterr().err


def test_a_copy_names_its_own_package_and_nothing_of_harness_examples(tmp_path):
    written = copy_examples(tmp_path)
    assert {p.name for p in (tmp_path / "scenarios").iterdir()} == {p.name for p in scenario_files()}
    assert (tmp_path / COPY_PACKAGE / "sample_service" / "versions.py") in written
    for path in written:
        text = path.read_text()
        assert "harness.examples" not in text, path
    assert (
        f"{COPY_PACKAGE}.scenario_versions:"
        in (tmp_path / "scenarios" / "sample-canary-good.yaml").read_text()
    )


def test_copy_refuses_to_overwrite_without_force_and_writes_nothing(tmp_path, capsys):
    edited = tmp_path / "scenarios" / "canary-good.yaml"
    edited.parent.mkdir()
    edited.write_text("mine")
    assert main(["examples", "copy", str(tmp_path)]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    assert edited.read_text() == "mine"
    assert not (tmp_path / COPY_PACKAGE).exists()
    assert main(["examples", "copy", str(tmp_path), "--force"]) == EXIT_OK
    assert edited.read_text() != "mine"


@pytest.mark.slow
def test_copied_examples_run_from_their_folder_against_the_copied_systems(tmp_path):
    copy_examples(tmp_path)
    versions = tmp_path / COPY_PACKAGE / "scenario_versions.py"
    versions.write_text(versions.read_text() + '\ngood_async = _async("flaky")\n')  # an edit the run must see
    done = _harness("run", "scenarios/sample-canary-good.yaml", "--no-report", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no user errors" in done.stdout


@pytest.mark.slow
def test_the_examples_run_from_an_empty_folder(tmp_path):
    done = _harness("run", "--examples", "--no-report", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(scenario_files())} passed, 0 failed" in done.stdout
    assert list(tmp_path.iterdir()) == []
