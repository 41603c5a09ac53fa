"""A lean HTTP/1.1 keep-alive client for the open-model driver (plain ``http://`` only).

aiohttp spends most of a loopback request's CPU in its own Python layers. For load generation
the request is always the same bytes, so :class:`FastHttpTarget` writes prebuilt bytes on an
``asyncio.Protocol`` per connection and parses just enough of the response (status line,
``Content-Length`` or chunked body, ``Connection: close``) to reuse the connection. Use
:class:`~harness.load.targets.HttpTarget` for TLS, redirects, cookies or anything richer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import urlsplit

from harness._checks import positive
from harness.errors import InvalidConfig, UsageError
from harness.load.targets import ensure_loopback

__all__ = ["FastHttpTarget"]

_HEAD_END = b"\r\n\r\n"


class _ResponseError(Exception):
    """The server's bytes were not an HTTP/1.1 response we can read."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.body_left = -1  # bytes of body still expected; -1 while reading the head
        self.chunked = False
        self.reusable = True
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(
                exc or ConnectionResetError("connection closed before the response ended")
            )

    def send(self, request: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.body_left = -1
        self.chunked = False
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            done = self._parse()
        except _ResponseError as exc:
            self.reusable = False
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(exc)
            return
        if done and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.status)

    def _parse(self) -> bool:
        if self.body_left < 0:
            end = self.buffer.find(_HEAD_END)
            if end < 0:
                return False
            self._head(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        if self.chunked:
            return self._chunks()
        if len(self.buffer) >= self.body_left:
            del self.buffer[: self.body_left]
            return True
        return False

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise _ResponseError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        self.status = int(parts[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
            elif key == b"connection" and value.strip().lower() == b"close":
                self.reusable = False
        if not self.chunked and length is None:
            raise _ResponseError("response has neither Content-Length nor chunked encoding")
        self.body_left = 0 if self.chunked else int(length or 0)

    def _chunks(self) -> bool:
        while True:
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return False
            size = int(bytes(self.buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                trailer_end = self.buffer.find(_HEAD_END, line_end)
                if trailer_end < 0 and self.buffer[line_end : line_end + 4] != _HEAD_END:
                    return False
                self.buffer.clear()
                return True
            if len(self.buffer) < line_end + 2 + size + 2:
                return False
            del self.buffer[: line_end + 2 + size + 2]


class FastHttpTarget:
    """Sends one prebuilt HTTP/1.1 request per ``send()`` over keep-alive connections (one per worker)."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 10.0,
        allow_remote: bool = False,
    ) -> None:
        host = ensure_loopback(url, allow_remote=allow_remote)
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise InvalidConfig(
                f"{url!r}: FastHttpTarget speaks plain http only; use HttpTarget for https.",
                field="url",
                value=url,
            )
        if not timeout > 0:
            positive("timeout", timeout, "how long one request may take, e.g. 10.0", unit="seconds")
        self.url = url
        self.timeout = timeout
        self._host, self._port = host, parts.port or 80
        self._request = _request_bytes(method, parts, headers or {}, body)
        self._idle: deque[_Connection] = deque()
        self._open = False

    async def open(self, connections: int) -> None:
        """Connections are made lazily, at most one per concurrent request."""
        self._open = True

    async def _connection(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, self._host, self._port)
        return conn

    async def send(self) -> tuple[bool, str]:
        """One request; the connection returns to the pool when the response was complete."""
        if not self._open:
            raise UsageError("FastHttpTarget.send() before open(); the driver opens its targets itself.")
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                conn = await self._connection()
                status = await conn.send(self._request)
        except (OSError, TimeoutError, _ResponseError) as exc:
            if conn is not None and conn.transport is not None:
                conn.transport.abort()
            return False, type(exc).__name__
        if conn.reusable and not conn.closed:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        return status < 400, str(status)

    async def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None:
                conn.transport.close()
        self._open = False

    def __repr__(self) -> str:
        return f"FastHttpTarget({self.url})"


def _request_bytes(method: str, parts: object, headers: dict[str, str], body: bytes) -> bytes:
    from urllib.parse import SplitResult

    assert isinstance(parts, SplitResult)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    lines = [f"{method.upper()} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method.upper() in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
