"""The bundled live scenarios run against the live sample service, a real redis-server and the
downstream, pass, and leave no process or port behind."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.scenario.live_services import tcp_ready

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "harness" / "examples" / "scenarios" / "live"


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


@pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server on PATH (.ci/run installs it)"
)
def test_harness_run_live_runs_every_bundled_live_scenario_and_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(LIVE), "--mode", "live", "--report", str(reports)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    print(proc.stdout[-4000:], proc.stderr[-4000:])
    ready = [line for line in proc.stderr.splitlines() if " ready at " in line]
    pids = [int(line.split("(pid ")[1].split(",")[0]) for line in ready]
    ports = [int(line.split("ready at 127.0.0.1:")[1].split()[0]) for line in ready]
    assert proc.returncode == 0
    assert len(ready) == 5 + 5 + 4 + 5  # redis, downstream and one app per group, in each run
    assert [pid for pid in pids if alive(pid)] == []
    assert [port for port in ports if asyncio.run(tcp_ready("127.0.0.1", port))] == []
    results = {p.parent.parent.name: json.loads(p.read_text()) for p in reports.glob("*/*/result.json")}
    assert sorted(results) == [
        "live-canary-slow-downstream-latency",
        "live-experiment-redis-fallback",
        "live-experiment-redis-no-fallback",
        "live-shadow-leaky-fallback",
    ]
    assert all((p / "logs").is_dir() for p in reports.glob("*/*"))
