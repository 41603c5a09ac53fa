"""Dask distributed for the swarm: a local cluster of worker processes, or a user's cluster by address.

``dask.distributed`` is the optional extra ``chaos-harness[swarm]``; it is imported here, when a
swarm starts, and nowhere else. Without it, :func:`require_distributed` raises a usage error that
says how to install it.

The local cluster is a ``dask scheduler`` process and ``K`` worker processes with one thread each
(a run is CPU-bound Python; a second thread would only contend for the GIL), listening on
127.0.0.1 only, without dashboards (:mod:`harness.swarm.local` says why not ``LocalCluster``).
A remote cluster is whatever a ``dask scheduler`` at ``tcp://HOST:PORT`` has; every worker must
run the same chaos-harness version as the client (checked: the digests depend on it) and be able
to import the scenarios' callables.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from harness._checks import integer, invalid
from harness._version import __version__
from harness.errors import UsageError
from harness.swarm.local import START_TIMEOUT, LocalClusterFailed, local_processes
from harness.swarm.task import warm_worker

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "INSTALL_HINT",
    "SwarmUnavailable",
    "client_paths",
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
    with local_processes(count) as cluster:
        local: Client = distributed.Client(cluster.address, timeout=CONNECT_TIMEOUT)
        with contextlib.closing(local):
            try:
                local.wait_for_workers(count, timeout=START_TIMEOUT)
            except TimeoutError:
                raise LocalClusterFailed(
                    f"the local Dask workers did not start within {START_TIMEOUT:.0f} s:\n"
                    f"{cluster.log_tail()}"
                ) from None
            _warm(local, client_paths())
            yield local
