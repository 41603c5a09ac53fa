"""Every bundled scenario meets its own expectations in simulated mode, and replays exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.scenario import expand_paths, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = expand_paths([ROOT / "scenarios"])


def test_at_least_the_promised_scenarios_are_bundled() -> None:
    flows = {load_scenario(p).flow.kind.value for p in BUNDLED}
    assert {"shadow", "canary", "champion_challenger", "rollback", "none"} <= flows
    assert len(BUNDLED) >= 8
    live = [p for p in BUNDLED if load_scenario(p).live is not None]
    assert len(live) >= 2


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_scenario_passes(path: Path) -> None:
    result = run_scenario(path)
    failed = [f"{e.name}: observed {e.observed}, limit {e.limit} {e.detail}" for e in result.failed]
    assert failed == [], f"seed {result.seed}: {failed}"


def _digest_in_subprocess(path: Path, seed: int) -> str:
    code = (
        "import sys; from harness.scenario import run_scenario; "
        f"print(run_scenario({str(path)!r}, seed={seed}).digest)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=ROOT
    )
    return done.stdout.strip()


def test_same_seed_same_digest_in_another_process() -> None:
    path = ROOT / "scenarios" / "canary-redis-outage.yaml"
    assert _digest_in_subprocess(path, 5) == run_scenario(path, seed=5).digest


@pytest.mark.parametrize("name", ["shadow-subtle-diff", "sample-canary-slow", "rollback-corrupt-state"])
def test_same_seed_same_digest_and_another_seed_differs(name: str) -> None:
    path = ROOT / "scenarios" / f"{name}.yaml"
    here = run_scenario(path, seed=5).digest
    assert run_scenario(path, seed=5).digest == here
    assert run_scenario(path, seed=6).digest != here
