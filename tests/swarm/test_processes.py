"""The swarm as a user runs it, in real processes: Ctrl-C on the command, and a cluster of a
``dask scheduler`` and two ``dask worker`` processes started separately, as on several machines."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.scenario import run_scenario
from harness.swarm import SeedRange, SeedRun, load_swarm_scenarios, run_swarm

from .conftest import FAST, REGRESSION, ROOT, requires_dask

if TYPE_CHECKING:
    from distributed import Client

pytestmark = [requires_dask, pytest.mark.slow]

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def _harness(*args: str, cwd: Path = ROOT) -> Iterator[subprocess.Popen[str]]:
    """``harness ARGS`` in its own session; still running when the block ends (a failed test),
    its group is killed, and with it the local cluster (its processes die with their parent)."""
    proc = subprocess.Popen(
        [str(BIN / "harness"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _runs(folder: Path) -> dict[tuple[str, int], str]:
    (runs_file,) = folder.glob("swarm/*/runs.jsonl")
    lines = [json.loads(line) for line in runs_file.read_text().splitlines()]
    return {(r["scenario"], r["seed"]): r["digest"] for r in lines}


def test_workers_2_runs_prints_the_table_and_exits_0(tmp_path: Path) -> None:
    """The README's form: local worker processes, the table with intervals, reports, exit 0."""
    with _harness("swarm", str(FAST), "--seeds", "1..6", "--workers", "2", "--report", str(tmp_path)) as proc:
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "runs on 2 workers" in out
    assert "rollback-lineage │ 6    │ 0" in out
    assert len(_runs(tmp_path)) == 6


@pytest.mark.parametrize(
    ("whole_group", "signum"),
    [(False, signal.SIGINT), (True, signal.SIGINT), (False, signal.SIGTERM)],
    ids=["sigint-to-harness", "ctrl-c-to-group", "sigterm-to-harness"],
)
def test_ctrl_c_cancels_reports_what_finished_and_leaves_no_process(
    tmp_path: Path, whole_group: bool, signum: signal.Signals
) -> None:
    """SIGINT (to the command, or to its whole process group as a terminal's Ctrl-C does) or SIGTERM
    stops the swarm: exit 130, the reports of the runs that finished, no worker process left."""
    import psutil

    with _harness(
        "swarm", str(FAST), "--seeds", "1..1000000", "--workers", "2", "--report", str(tmp_path)
    ) as proc:
        assert proc.stdout is not None
        started = proc.stdout.readline()
        assert started.startswith("swarm: 1 scenarios x 1000000 seeds"), started
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2
        if whole_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "interrupted:" in out
    assert "Traceback" not in out, out
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    (report,) = tmp_path.glob("swarm/*/swarm.json")
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["runs"] == len(_runs(tmp_path)) < 1000000


@contextlib.contextmanager
def _dask_cluster(workdir: Path) -> Iterator[str]:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started from ``workdir``."""
    dask = str(BIN / "dask")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs = [scheduler]
    try:
        assert scheduler.stderr is not None
        address = ""
        for line in scheduler.stderr:
            if "Scheduler at:" in line:
                address = line.split("Scheduler at:")[1].strip()
                break
        assert address.startswith("tcp://127.0.0.1:"), address
        drain = threading.Thread(target=scheduler.stderr.read, daemon=True)  # a full pipe would block it
        drain.start()
        for _ in range(2):
            worker_cmd = [dask, "worker", address, "--nworkers", "1", "--nthreads", "1"]
            worker_cmd += ["--host", "127.0.0.1", "--no-dashboard"]
            quiet = {"stderr": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
            procs.append(subprocess.Popen(worker_cmd, cwd=workdir, **quiet))
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if scheduler.stderr is not None:
            scheduler.stderr.close()


def test_a_separately_started_cluster_gives_the_digests_of_the_local_cluster_and_of_sequential_runs(
    tmp_path: Path, dask_client: Client
) -> None:
    """Same per-seed digests from `dask scheduler` + 2 `dask worker`, the local cluster, and one by one."""
    with _dask_cluster(ROOT) as address:
        from distributed import Client

        with Client(address, timeout=30) as waiting:
            waiting.wait_for_workers(2, timeout=60)
        args = ["swarm", str(FAST), str(REGRESSION), "--seeds", "1..4", "--scheduler", address]
        with _harness(*args, "--report", str(tmp_path)) as proc:
            out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "runs on 2 workers" in out
    remote = _runs(tmp_path)
    local_runs: list[SeedRun] = []
    scenarios = load_swarm_scenarios([FAST, REGRESSION])
    run_swarm(dask_client, scenarios, SeedRange(1, 4), on_run=local_runs.append)
    local = {(scenarios[r.scenario].name, r.seed): r.digest for r in local_runs}
    sequential = {
        (run.scenario.name, seed): run.digest
        for path in (FAST, REGRESSION)
        for seed in range(1, 5)
        for run in [run_scenario(path, seed=seed)]
    }
    assert remote == local == sequential
