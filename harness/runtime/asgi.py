"""Calling an ASGI 3 application in process: its lifespan, and one HTTP request at a time.

:class:`AsgiApp` runs any ASGI 3 app (Starlette, FastAPI, Quart...) on the running loop the way a
server would: :meth:`~AsgiApp.startup` and :meth:`~AsgiApp.shutdown` drive the ``lifespan``
protocol (an app without lifespan support is run without it, as uvicorn's ``auto`` does), and
:meth:`~AsgiApp.request` sends one request and collects the response. The lifespan ``state``
(what a Starlette lifespan yields) is copied into every request's scope, as servers do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError

__all__ = ["AsgiApp", "AsgiResponse", "LifespanFailed"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_ASGI = {"version": "3.0", "spec_version": "2.3"}


class LifespanFailed(UsageError):
    """The app's lifespan startup failed or did not finish: the app cannot serve."""


@dataclass(frozen=True, slots=True)
class AsgiResponse:
    """What the app answered: status, headers, body, and the exception it raised (if any)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    error: BaseException | None = None

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class AsgiApp:
    """An ASGI 3 application served in process on the running event loop."""

    def __init__(self, app: App, *, host: str = "app.sim") -> None:
        self.app = app
        self.host = host
        self.state: dict[str, Any] = {}
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: asyncio.Queue[Message] | None = None
        self.supports_lifespan = True

    # -- lifespan ------------------------------------------------------------------------------------

    async def startup(self, grace: float = 60.0) -> None:
        """Run the app's lifespan startup; :class:`LifespanFailed` if it fails or outlasts ``grace``."""
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}
        self._lifespan = asyncio.get_running_loop().create_task(self._run_lifespan(scope))
        await self._to_app.put({"type": "lifespan.startup"})
        reply = await self._reply(grace, "startup")
        if reply is None:
            self.supports_lifespan = False
        elif reply["type"] == "lifespan.startup.failed":
            raise LifespanFailed(f"the app's lifespan startup failed: {reply.get('message', '')}")

    async def shutdown(self, grace: float = 60.0) -> None:
        """Run the app's lifespan shutdown (when it has one)."""
        if self._lifespan is None or self._to_app is None or not self.supports_lifespan:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        reply = await self._reply(grace, "shutdown")
        if reply is not None and reply["type"] == "lifespan.shutdown.failed":
            raise LifespanFailed(f"the app's lifespan shutdown failed: {reply.get('message', '')}")

    async def _run_lifespan(self, scope: MutableMapping[str, Any]) -> None:
        assert self._to_app is not None
        assert self._from_app is not None
        receive, send = self._to_app.get, self._from_app.put
        try:
            await self.app(scope, receive, send)
        finally:
            await self._from_app.put({"type": "lifespan.ended"})

    async def _reply(self, grace: float, phase: str) -> Message | None:
        """The app's answer to a lifespan event; ``None`` when the app has no lifespan support."""
        assert self._from_app is not None
        assert self._lifespan is not None
        try:
            async with asyncio.timeout(grace):
                reply = await self._from_app.get()
        except TimeoutError:
            raise LifespanFailed(
                f"the app's lifespan {phase} did not finish within {grace:g}s of virtual time; it may "
                "wait on something that never happens in a simulation"
            ) from None
        if reply["type"] != "lifespan.ended":
            return reply
        await asyncio.wait({self._lifespan})
        if not self._lifespan.cancelled():
            error = self._lifespan.exception()  # an app without lifespan support raises on the scope
            if error is not None and not isinstance(error, Exception):
                raise error
        return None

    # -- requests ------------------------------------------------------------------------------------

    def scope(self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> dict[str, Any]:
        """The HTTP scope of one request."""
        raw_path, _, query = path.partition("?")
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": (self.host, 80),
            "state": dict(self.state),
        }

    async def request(
        self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], body: bytes = b""
    ) -> AsgiResponse:
        """Send one request; an exception the app raises before answering is a 500 carrying it."""
        sent = False
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        finished = asyncio.Event()

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        error: BaseException | None = None
        try:
            await self.app(self.scope(method, path, headers), receive, send)
        except Exception as exc:  # noqa: BLE001 - the app's exception is its answer, kept with it
            error = exc
        finally:
            finished.set()
        return AsgiResponse(status, tuple(response_headers), b"".join(chunks), error)
