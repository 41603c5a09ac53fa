"""Same scenario, seed and package version, same journal digest: checked, in any process and hash seed."""

from __future__ import annotations

import os
import re
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
    """datetime.now() reads the wall clock: the runs part at one of the version's windows, exit 1."""
    assert main(["run", str(_wall_clock(tmp_path)), "--check-determinism", "--no-report"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "NOT deterministic" in out
    # The first window's error counts of two runs agree by chance about 5% of the time (two draws
    # of Binomial(210, 1/2)), so the journals may part at a later event: which one is not fixed.
    assert re.search(r"first run: t=\d+s \w+ version/v1 .* second run: t=\d+s \w+ version/v1", out), out


def test_the_check_passes_a_deterministic_app_and_names_no_difference() -> None:
    """The shop's brownout scenario (shortened) replays in a fresh process with another hash seed."""
    from harness.scenario import load_scenario

    scenario = load_scenario(ROOT / "harness/examples/scenarios/shop-catalog-brownout.yaml")
    faults = [f.model_copy(update={"at": 20.0}) for f in scenario.faults]
    quiet = scenario.expectations.model_copy(update={"steady_state": []})  # no window after the faults
    short = scenario.model_copy(update={"duration": 60.0, "faults": faults, "expectations": quiet})
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


def _digests(paths: list[Path], hash_seed: int) -> subprocess.Popen[str]:
    code = (
        "import sys\nfrom harness.scenario import run_scenario\n"
        "for path in sys.argv[1:]:\n    print(run_scenario(path).digest)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, paths)], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


@pytest.mark.slow
def test_bundled_real_code_scenarios_replay_across_processes_and_hash_seeds() -> None:
    """Three fresh processes at once (hash seeds 0, 1 and 12345) and this process: one digest each."""
    assert len(BUNDLED) >= 3
    processes = [_digests(BUNDLED, seed) for seed in (0, 1, 12345)]
    here = [run_scenario(path).digest for path in BUNDLED]
    for process in processes:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        assert out.split() == here
