"""The local cluster's processes: the scheduler outside the client, nothing left behind on any exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from harness.swarm import local

from .conftest import requires_dask

if TYPE_CHECKING:
    from distributed import Client

pytestmark = [requires_dask, pytest.mark.slow]


def test_the_scheduler_runs_outside_the_client_process(dask_client: Client) -> None:
    """Dask's scheduler keeps a record per finished task while a swarm keeps it busy; in the
    client's process (``LocalCluster``) that grew the client by about 9 KB a task."""
    scheduler_pid = dask_client.run_on_scheduler(os.getpid)
    worker_pids = set(dask_client.run(os.getpid).values())
    assert scheduler_pid != os.getpid()
    assert os.getpid() not in worker_pids
    assert len(worker_pids) == 2


def _descendants() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def test_leaving_the_block_stops_every_process_also_on_an_error(tmp_path: Path) -> None:
    before = {p.pid for p in _descendants()}
    started: list[psutil.Process] = []

    def fail_inside() -> None:
        with local.local_processes(1, cwd=str(tmp_path)) as cluster:
            assert cluster.address.startswith("tcp://127.0.0.1:")
            started.extend(p for p in _descendants() if p.pid not in before)
            raise KeyError("the caller failed")

    with pytest.raises(KeyError):
        fail_inside()
    assert started
    _, alive = psutil.wait_procs(started, timeout=local.STOP_TIMEOUT)
    assert alive == []


def test_a_scheduler_that_cannot_start_is_the_machines_failure_with_its_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local, "SCHEDULER_IDLE_TIMEOUT", "not-a-duration")
    with pytest.raises(local.LocalClusterFailed) as failed:  # noqa: SIM117 - the block must not run
        with local.local_processes(1, cwd=str(tmp_path)):
            pytest.fail("the block ran without a scheduler")
    message = str(failed.value)
    assert "the local Dask scheduler exited with code" in message
    assert "ValueError: could not convert string" in message  # the scheduler's own error, from its log
    assert not isinstance(failed.value, ValueError)


_KILLED_CLIENT = textwrap.dedent(
    """
    import os, signal, sys
    from harness.swarm.local import local_processes

    with local_processes(1) as cluster:
        print(cluster.address, flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_processes_die_with_a_client_killed_by_sigkill(tmp_path: Path) -> None:
    """No ``finally`` runs on SIGKILL: the kernel's parent-death signal stops the cluster."""
    client = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CLIENT],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdin is not None
    assert client.stdout is not None
    address = client.stdout.readline()
    assert address.startswith("tcp://127.0.0.1:"), address
    cluster = psutil.Process(client.pid).children(recursive=True)
    assert cluster
    client.stdin.write("\n")
    client.stdin.close()
    assert client.wait(timeout=60) == -signal.SIGKILL
    client.stdout.close()
    _, alive = psutil.wait_procs(cluster, timeout=local.STOP_TIMEOUT)
    for proc in alive:
        proc.kill()
    assert alive == []
