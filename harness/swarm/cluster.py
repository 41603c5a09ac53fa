"""Dask distributed for the swarm: a local cluster of worker processes, or a user's cluster by address.

``dask.distributed`` is the optional extra ``chaos-harness[swarm]``; it is imported here, when a
swarm starts, and nowhere else. Without it, :func:`require_distributed` raises a usage error that
says how to install it.

The local cluster is ``K`` worker processes with one thread each (a run is CPU-bound Python; a
second thread would only contend for the GIL), listening on 127.0.0.1 only, without dashboards.
A remote cluster is whatever a ``dask scheduler`` at ``tcp://HOST:PORT`` has; every worker must
run the same chaos-harness version as the client (checked: the digests depend on it) and be able
to import the scenarios' callables.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from harness._checks import integer, invalid
from harness._version import __version__
from harness.errors import UsageError
from harness.swarm.task import warm_worker

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "INSTALL_HINT",
    "SwarmUnavailable",
    "client_paths",
    "leave_interrupts_to_the_client",
    "require_distributed",
    "swarm_client",
]

INSTALL_HINT = "pip install 'chaos-harness[swarm]'"
"""How to install the swarm's optional dependency."""
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a remote scheduler to answer, and for its first worker."""

_ADDRESS = re.compile(r"^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


class SwarmUnavailable(UsageError):
    """The swarm cannot start: Dask is not installed, or the cluster cannot be reached or used."""


def require_distributed() -> ModuleType:
    """``distributed``, or :class:`SwarmUnavailable` with the install command when it is missing."""
    try:
        import distributed
    except ImportError:
        raise SwarmUnavailable(
            f"harness swarm needs Dask distributed, which is not installed: {INSTALL_HINT}"
        ) from None
    return distributed


def _check_address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise invalid("scheduler", address, "tcp://HOST:PORT", "for example tcp://127.0.0.1:8786")
    return address


def _local(distributed: ModuleType, workers: int) -> contextlib.AbstractContextManager[object]:
    cluster = distributed.LocalCluster(
        n_workers=workers,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        worker_dashboard_address=None,
        # the scheduler's small HTTP server (health, metrics) on a free loopback port, not :8787
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,  # a worker that loses its scheduler on Ctrl-C logs tracebacks
    )
    return contextlib.closing(cluster)


def _connect(distributed: ModuleType, address: str) -> Client:
    try:
        client: Client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise SwarmUnavailable(
            f"cannot reach the Dask scheduler at {address} ({exc}); start one with "
            "'dask scheduler --host HOST --port PORT' and workers with 'dask worker tcp://HOST:PORT'"
        ) from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        client.close()
        raise SwarmUnavailable(
            f"the Dask scheduler at {address} has no workers; start some with 'dask worker {address}'"
        ) from None
    return client


def _warm(client: Client, paths: Sequence[str]) -> None:
    versions: dict[str, str] = client.run(warm_worker, list(paths))
    other = {address: v for address, v in versions.items() if v != __version__}
    if other:
        raise SwarmUnavailable(
            f"workers run another chaos-harness version than this client ({__version__}): {other}; "
            "install the same version everywhere, or the digests would not replay"
        )


def leave_interrupts_to_the_client() -> bool:
    """On a local worker process: ignore SIGINT, so Ctrl-C reaches only the client, which shuts down.

    A terminal sends Ctrl-C to the whole process group; without this each worker would die with
    a KeyboardInterrupt traceback while the client is still cancelling and closing the cluster.
    Only the swarm's own local workers do this, never the workers of a user's cluster.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True


def client_paths() -> tuple[str, ...]:
    """What the workers add to ``sys.path``: the client's working directory (where callables resolve)."""
    return (os.getcwd(),)


@contextlib.contextmanager
def swarm_client(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client on ``workers`` local processes, or on the cluster at ``scheduler``.

    The workers are warmed (the engine imported, ``sys.path`` set) before this yields, so the
    first task's time is a run's time. Leaving the block closes the client and, for a local
    cluster, stops its scheduler and every worker process, also on Ctrl-C.
    """
    if workers is not None and scheduler is not None:
        raise invalid("workers", workers, "left out with --scheduler", "the cluster's workers are its own")
    distributed = require_distributed()
    if scheduler is not None:
        client = _connect(distributed, _check_address(scheduler))
        with contextlib.closing(client):
            _warm(client, client_paths())
            yield client
        return
    count = integer("workers", workers if workers is not None else os.cpu_count() or 1, at_least=1)
    with _local(distributed, count) as cluster, distributed.Client(cluster) as local:
        local.run(leave_interrupts_to_the_client)
        _warm(local, client_paths())
        yield local
