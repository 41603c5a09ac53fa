"""The local cluster: a ``dask scheduler`` process and a ``dask worker`` process tree on 127.0.0.1.

These are the programs a user starts on several machines (README, "Scale"), started here in a
session of their own, so the local swarm and a cluster of many machines run the same way.

Why not ``LocalCluster``: its scheduler runs inside the client's process, and Dask's scheduler
keeps one ``TaskGroup`` per finished task in the computation of a cluster that never goes idle
(a swarm keeps tasks in flight until its last seed). That history is the scheduler's; in the
client's process it made the client grow by about 9 KB per task, 2.3 MiB per 1,000 runs of the
fastest bundled scenario at 4 seeds a task. In a process of its own it no longer counts against
the client, which holds a bounded number of futures and writes every record as it arrives.

The processes never outlive the client: they are stopped (SIGTERM to their process group, then
SIGKILL) on every exit path, Ctrl-C included; on Linux they also get SIGTERM when the client
process dies (``PR_SET_PDEATHSIG``), elsewhere the scheduler closes after
:data:`SCHEDULER_IDLE_TIMEOUT` without tasks and the workers after :data:`WORKER_DEATH_TIMEOUT`
without a scheduler. Being in their own session, they do not receive a terminal's Ctrl-C: the
client cancels its tasks first, then stops them. Their output goes to a log file whose tail is
part of the error when the cluster cannot start.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness._checks import integer
from harness.clock import Clock, SystemClock

__all__ = [
    "SCHEDULER_IDLE_TIMEOUT",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "WORKER_DEATH_TIMEOUT",
    "LocalClusterFailed",
    "LocalProcesses",
    "local_processes",
]

SCHEDULER_IDLE_TIMEOUT = "10 minutes"
"""The scheduler closes after this long without a task (a client that died without stopping it)."""
WORKER_DEATH_TIMEOUT = "60s"
"""A worker closes after this long without its scheduler."""
START_TIMEOUT = 60.0
"""Seconds for the scheduler to write its address, and for every worker to join."""
STOP_TIMEOUT = 30.0
"""Seconds a process group gets to exit after SIGTERM before SIGKILL."""

_PR_SET_PDEATHSIG = 1
_LOG_TAIL = 2000


class LocalClusterFailed(RuntimeError):
    """The local scheduler or workers did not start: the machine's failure, not bad input (exit 3)."""


@dataclass(frozen=True, slots=True)
class LocalProcesses:
    """A running local cluster: its scheduler's address and the log of its processes."""

    address: str
    log: Path

    def log_tail(self) -> str:
        """The last lines the scheduler and workers printed (for an error message)."""
        return _tail(self.log)


def _tail(log: Path) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-_LOG_TAIL:].strip()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _preexec() -> Callable[[], None] | None:
    return _die_with_parent if sys.platform.startswith("linux") else None


def _spawn(args: list[str], log: Path, cwd: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603 - our interpreter and Dask's own modules, no shell
            [sys.executable, "-m", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_preexec(),  # noqa: PLW1509 - prctl only, no Python state touched
        )


def _wait_for_address(
    scheduler_file: Path, scheduler: subprocess.Popen[bytes], log: Path, clock: Clock
) -> str:
    deadline = clock.now() + START_TIMEOUT
    while clock.now() < deadline:
        if scheduler.poll() is not None:
            raise LocalClusterFailed(
                f"the local Dask scheduler exited with code {scheduler.returncode} before it "
                f"listened:\n{_tail(log)}"
            )
        with contextlib.suppress(OSError, ValueError, KeyError):
            address = str(json.loads(scheduler_file.read_text(encoding="utf-8"))["address"])
            if address:
                return address
        clock.sleep_sync(0.05)
    raise LocalClusterFailed(
        f"the local Dask scheduler did not listen within {START_TIMEOUT:.0f} s:\n{_tail(log)}"
    )


def _stop(procs: list[subprocess.Popen[bytes]], clock: Clock) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = clock.now() + STOP_TIMEOUT
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - clock.now()))
        # past the deadline, or a worker process left in the group after its nanny exited
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def local_processes(
    workers: int, *, cwd: str | None = None, clock: Clock | None = None
) -> Iterator[LocalProcesses]:
    """A ``dask scheduler`` and ``dask worker --nworkers workers --nthreads 1`` on 127.0.0.1.

    Yields once the scheduler listens (the caller waits for the workers with its client); stops
    every process of both on leaving the block. ``cwd`` is the workers' working directory (where
    a scenario's callables import from), the client's by default.
    """
    clock = clock or SystemClock()
    count = integer("workers", workers, at_least=1)
    where = cwd or os.getcwd()
    with tempfile.TemporaryDirectory(prefix="harness-swarm-") as folder:
        scheduler_file = Path(folder) / "scheduler.json"
        log = Path(folder) / "cluster.log"
        procs: list[subprocess.Popen[bytes]] = []
        try:
            scheduler = _spawn(
                [
                    "distributed.cli.dask_scheduler",
                    *("--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
                    *("--scheduler-file", str(scheduler_file)),
                    *("--idle-timeout", SCHEDULER_IDLE_TIMEOUT),
                ],
                log,
                where,
            )
            procs.append(scheduler)
            address = _wait_for_address(scheduler_file, scheduler, log, clock)
            worker = _spawn(
                [
                    "distributed.cli.dask_worker",
                    address,
                    *("--nworkers", str(count), "--nthreads", "1"),
                    *("--host", "127.0.0.1", "--no-dashboard"),
                    *("--death-timeout", WORKER_DEATH_TIMEOUT),
                ],
                log,
                where,
            )
            procs.insert(0, worker)  # stopped first: a worker without its scheduler only retries
            yield LocalProcesses(address=address, log=log)
        finally:
            _stop(procs, clock)
