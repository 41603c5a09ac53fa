"""The bundled scenarios ship in the package; a clone, an editable and a wheel install all find them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.examples import scenario_files, scenarios_dir

ROOT = Path(__file__).resolve().parents[2]
NAMES = sorted(p.name for p in (ROOT / "harness" / "examples" / "scenarios").glob("*.yaml"))


def test_the_bundled_scenarios_are_found_through_the_package() -> None:
    assert scenarios_dir() == ROOT / "harness" / "examples" / "scenarios"
    assert [p.name for p in scenario_files()] == NAMES
    assert len(NAMES) >= 10


def test_the_repository_scenarios_folder_is_the_package_folder_not_a_copy() -> None:
    link = ROOT / "scenarios"
    assert link.is_symlink()
    assert link.resolve() == scenarios_dir()


def test_bundled_scenarios_name_only_packaged_code() -> None:
    """Every ``module:attr`` a bundled scenario names lives in ``harness.examples`` (or harness itself)."""
    for path in scenario_files():
        text = path.read_text()
        assert "fixtures." not in text, path.name


def test_bundled_scenarios_validate_from_any_directory(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "scenarios", "validate", str(scenarios_dir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_wheel_ships_the_scenarios_and_an_installed_wheel_finds_them(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("chaos_harness-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        prefix = "harness/examples/scenarios/"
        shipped = sorted(name.removeprefix(prefix) for name in archive.namelist() if name.startswith(prefix))
    folder = ROOT / "harness" / "examples" / "scenarios"
    assert shipped == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml"))

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = "import harness.examples as e; print(e.scenarios_dir()); print(len(e.scenario_files()))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    folder, count = proc.stdout.split()
    assert Path(folder) == target / "harness" / "examples" / "scenarios"
    assert int(count) == len(NAMES)
