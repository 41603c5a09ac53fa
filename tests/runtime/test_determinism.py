"""Same scenario, seed and package version, same journal digest: checked, in any process and hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.scenario import run_scenario
from harness.scenario.determinism import check_determinism, first_difference

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "harness" / "examples" / "scenarios").glob("shop-*.yaml"))


def _wall_clock(tmp_path: Path) -> Path:
    path = tmp_path / "wall.yaml"
    path.write_text(
        "name: wall\ndescription: reads the wall clock through datetime.now\nduration: 20s\n"
        "versions:\n  v1: {callable: {target: 'tests.runtime.apps.callables:wall_clock'}}\n"
        "traffic: {rate: 20}\n"
    )
    return path


def test_the_check_catches_a_deliberately_non_deterministic_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """datetime.now() reads the wall clock: the runs part at the version's first window, exit 1."""
    assert main(["run", str(_wall_clock(tmp_path)), "--check-determinism", "--no-report"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "NOT deterministic" in out
    assert "first run: t=0s window version/v1" in out


def test_the_check_passes_a_deterministic_app_and_names_no_difference() -> None:
    """The shop's brownout scenario (shortened) replays in a fresh process with another hash seed."""
    from harness.scenario import load_scenario

    scenario = load_scenario(ROOT / "harness/examples/scenarios/shop-catalog-brownout.yaml")
    short = scenario.model_copy(
        update={"duration": 60.0, "faults": [f.model_copy(update={"at": 20.0}) for f in scenario.faults]}
    )
    report = check_determinism(short)
    assert report.deterministic, report.difference.describe() if report.difference else ""
    assert report.digests[0] == report.digests[1]


def test_first_difference_names_the_first_differing_event(tmp_path: Path) -> None:
    """Two runs of the wall-clock app differ; the first differing event is a window's request digest."""
    a = run_scenario(_wall_clock(tmp_path), seed=1)
    b = run_scenario(_wall_clock(tmp_path), seed=1)
    difference = first_difference(a.journal, b.journal)
    assert difference is not None
    assert difference.first is not None
    assert difference.first.kind in {"requests", "window"}
    assert first_difference(a.journal, a.journal) is None


def _digest(path: Path, hash_seed: int) -> str:
    code = "import sys\nfrom harness.scenario import run_scenario\nprint(run_scenario(sys.argv[1]).digest)\n"
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_real_code_scenarios_replay_across_processes_and_hash_seeds(path: Path) -> None:
    """Three fresh processes, hash seeds 0, 1 and 12345, and this process: one digest."""
    here = run_scenario(path).digest
    assert {_digest(path, seed) for seed in (0, 1, 12345)} == {here}
