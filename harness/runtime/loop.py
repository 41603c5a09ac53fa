"""The event loop of a real-code simulation: virtual time, no real I/O, no worker threads.

:class:`SimulationLoop` is a :class:`~harness.clock.VirtualTimeLoop` (its ``time()`` is the run's
virtual clock, and when every task waits the clock jumps to the next timer) whose doors to the
real world are shut: opening connections or servers, resolving names, running a subprocess or
handing work to an executor thread raise :class:`~harness.runtime.guard.ForbiddenCall`, naming the
call and the line of the user's code that made it. Exceptions nobody retrieved from a task (a
background task that died) are counted by type instead of logged, so a run can journal them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, NoReturn

from harness.clock import VirtualClock, VirtualTimeLoop
from harness.runtime.guard import RealWorldGuard

__all__ = ["SimulationLoop"]

_NETWORK = (
    "a simulated run has no network; declare the service under dependencies: and point the code at "
    "${deps.NAME.url} (redis.asyncio and httpx.AsyncClient are routed to simulated dependencies)"
)
_DNS = "a simulated run resolves no names; use a dependency's simulated URL (${deps.NAME.url})"
_EXECUTOR = (
    "worker threads run outside virtual time; write the code as async def (asyncio.to_thread and "
    "sync endpoints of ASGI frameworks use a thread pool)"
)
_PROCESS = "a simulated run starts no processes; simulate the dependency instead (dependencies:)"


class SimulationLoop(VirtualTimeLoop):
    """A virtual-time loop that refuses real I/O, threads and subprocesses, in the name of ``guard``."""

    def __init__(self, clock: VirtualClock, guard: RealWorldGuard) -> None:
        super().__init__(clock, poll_when_busy=False)
        self.time = clock.now  # type: ignore[method-assign]  # the hottest call of the loop: no wrapper
        self.guard = guard
        self.unhandled: Counter[str] = Counter()
        self.set_exception_handler(self._unhandled)

    def _unhandled(self, loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.unhandled[type(exc).__name__ if exc is not None else "error"] += 1

    def _refuse(self, call: str, fix: str) -> NoReturn:
        raise self.guard.refuse(call, fix)

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.create_connection()", _NETWORK)

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.create_server()", _NETWORK)

    async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.create_datagram_endpoint()", _NETWORK)

    async def create_unix_connection(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.create_unix_connection()", _NETWORK)

    async def create_unix_server(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.create_unix_server()", _NETWORK)

    async def sock_connect(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run has no network."""
        self._refuse("loop.sock_connect()", _NETWORK)

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run resolves no names."""
        self._refuse("loop.getaddrinfo()", _DNS)

    async def getnameinfo(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run resolves no names."""
        self._refuse("loop.getnameinfo()", _DNS)

    async def subprocess_exec(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run starts no processes."""
        self._refuse("loop.subprocess_exec()", _PROCESS)

    async def subprocess_shell(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: a simulated run starts no processes."""
        self._refuse("loop.subprocess_shell()", _PROCESS)

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:  # type: ignore[override]
        """Refused: worker threads run outside virtual time."""
        self._refuse("loop.run_in_executor()", _EXECUTOR)
