"""What the open-model driver sends requests to: an HTTP endpoint or a Python callable.

A :class:`Target` is opened with the driver's connection count, sends one request per ``send()``
and reports ``(ok, label)``; the label is the HTTP status or the exception's type name, counted
per run. :func:`ensure_loopback` refuses non-loopback hosts unless the caller opts in.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from harness._checks import positive
from harness.errors import InvalidConfig, UsageError
from harness.load.checks import CheckFailed, ResponseChecks, check_response

__all__ = [
    "CallableTarget",
    "HttpTarget",
    "RemoteTargetRefused",
    "ScheduledTarget",
    "Target",
    "ensure_loopback",
]


@runtime_checkable
class Target(Protocol):
    """Something that receives load: opened once, then ``send()`` per request, then closed."""

    async def open(self, connections: int) -> None:
        """Prepare up to ``connections`` concurrent requests."""
        ...

    async def send(self) -> tuple[bool, str]:
        """Send one request; ``(ok, label)`` where label is a status or an error type."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class ScheduledTarget(Target, Protocol):
    """A target that wants to know which request of the schedule it sends, and when it was due.

    The driver calls ``send_scheduled(number, intended)`` instead of ``send()``: ``number`` counts
    the profile's intended starts from 0, ``intended`` is when this one was due (seconds from the
    profile's start). A target that routes or labels requests by their place in the schedule (the
    live scenario engine) stays deterministic however the workers interleave.
    """

    async def send_scheduled(self, number: int, intended: float) -> tuple[bool, str]:
        """Send intended start ``number``, due ``intended`` seconds into the profile."""
        ...


class RemoteTargetRefused(UsageError):
    """A load test was pointed at a non-loopback host without the explicit opt-in."""


def ensure_loopback(url: str, *, allow_remote: bool = False) -> str:
    """``url``'s host if it is loopback (or ``allow_remote``); else raise ``RemoteTargetRefused``."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidConfig(
            f"{url!r} is not an http(s) URL with a host; write for example http://127.0.0.1:8080/checkout.",
            field="url",
            value=url,
        )
    host = parts.hostname
    if allow_remote or _is_loopback(host):
        return host
    raise RemoteTargetRefused(
        f"refusing to send load to {host!r} ({url}): load tests target loopback addresses only "
        "(127.0.0.0/8, ::1, localhost) so that a test never floods a shared or production host by "
        "accident. If you mean it, pass allow_remote=True (CLI: --allow-remote; pytest: "
        "@pytest.mark.load(allow_remote=True)).",
        host=host,
        url=url,
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpTarget:
    """Sends one HTTP request per ``send()`` over a keep-alive pool of ``connections`` (aiohttp).

    With ``checks`` a response is a success only when it passes them (the error names the check).
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10.0,
        allow_remote: bool = False,
        checks: ResponseChecks | None = None,
    ) -> None:
        ensure_loopback(url, allow_remote=allow_remote)
        if not timeout > 0:
            positive("timeout", timeout, "how long one request may take, e.g. 10.0", unit="seconds")
        self.url = url
        self.method = method.upper()
        self.headers = dict(headers or {})
        self.body = body
        self.timeout = timeout
        self.checks = checks
        self._session: Any = None

    async def open(self, connections: int) -> None:
        """Create the client session with a pool of ``connections`` connections."""
        import aiohttp

        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, use_dns_cache=True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,
        )

    async def send(self) -> tuple[bool, str]:
        """One request; the body is read fully so the connection can be reused."""
        import aiohttp

        session = self._session
        if session is None:
            raise UsageError("HttpTarget.send() before open(); the driver opens its targets itself.")
        try:
            async with session.request(self.method, self.url, headers=self.headers, data=self.body) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return False, type(exc).__name__
        if self.checks is None:
            return status < 400, str(status)
        try:
            check_response(
                self.checks, status, raw.decode(errors="replace") if self.checks.reads_body else ""
            )
        except CheckFailed as failed:
            return False, str(failed)
        return True, str(status)

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def __repr__(self) -> str:
        return f"HttpTarget({self.method} {self.url})"


class CallableTarget:
    """Calls a Python function per request; async functions are awaited, sync ones run inline.

    A call that raises counts as an error labelled with the exception's type name; any return
    value counts as success. A sync function blocks the event loop while it runs, exactly as it
    would in an asyncio service (the driver yields to the loop after each call, and its lag probe
    shows the blocking); give an async function to measure concurrent behaviour.
    """

    def __init__(self, fn: Callable[[], Any] | Callable[[], Awaitable[Any]]) -> None:
        if not callable(fn):
            raise InvalidConfig(
                f"{fn!r} is not callable; pass a function taking no arguments.", field="fn", value=fn
            )
        self.fn = fn
        self._is_async = inspect.iscoroutinefunction(fn)

    async def open(self, connections: int) -> None:
        """Nothing to prepare."""

    async def send(self) -> tuple[bool, str]:
        """Call the function once."""
        try:
            result = self.fn()
            if self._is_async or inspect.isawaitable(result):
                await result
            else:
                await asyncio.sleep(0)  # let the driver's other tasks run between blocking calls
        except Exception as exc:  # noqa: BLE001 - every failure of the code under load is a counted error
            return False, type(exc).__name__
        return True, "ok"

    async def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"CallableTarget({getattr(self.fn, '__qualname__', self.fn)!r})"
