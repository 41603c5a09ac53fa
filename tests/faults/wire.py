"""Loopback helpers for wire tests: an echo server on the proxy's loop and blocking clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from collections.abc import Iterator

from harness.faults import ApiServer


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _start_echo() -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _stop(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


@contextlib.contextmanager
def echo_server(api: ApiServer) -> Iterator[int]:
    """An echo server on the API's event loop for the block; yields its port."""
    server, port = api.call(_start_echo())
    try:
        yield port
    finally:
        api.call(_stop(server))


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    """A blocking TCP client with a bounded timeout and Nagle disabled."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Read exactly ``n`` bytes or fail on EOF."""
    chunks = bytearray()
    while len(chunks) < n:
        part = sock.recv(n - len(chunks))
        if not part:
            raise EOFError(f"connection closed after {len(chunks)} of {n} bytes")
        chunks += part
    return bytes(chunks)


def recv_all(sock: socket.socket) -> bytes:
    """Read until EOF."""
    out = bytearray()
    while part := sock.recv(1 << 16):
        out += part
    return bytes(out)


def rtt_p50(sock: socket.socket, count: int = 20, size: int = 64) -> float:
    """Median seconds for ``count`` round trips of ``size`` bytes."""
    payload = b"x" * size
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        sock.sendall(payload)
        recv_exactly(sock, size)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
