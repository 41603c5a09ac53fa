"""One slow connection never freezes the fault proxy: the API and other connections stay prompt.

A slicer with ``delay: 0`` and ``average_size: 1`` turns a large body into a write per byte. The
pipe must plan that in bounded parts and yield between them, so ``GET /version`` and a round trip
on another connection answer while the body streams. Bounds are wall-clock but generous (1 s
against the 6-11 s the unyielding loop took); the ratio to the idle answer time is printed.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from harness.faults import ApiServer, serve_api
from tests.faults.wire import connect, recv_exactly

BODY = 4 << 20  # 4 MiB: at one write per byte, far longer than the test
PROMPT = 1.0  # seconds; the bug answered after 6-11 s


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """``blast`` gets BODY bytes; anything else is echoed."""
    try:
        first = await reader.read(16)
        if first == b"blast":
            writer.write(b"b" * BODY)
            await writer.drain()
        else:
            while first:
                writer.write(first)
                await writer.drain()
                first = await reader.read(1 << 16)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _start() -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _stop(server: asyncio.Server) -> None:
    server.close()


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with serve_api(port=0, seed=5) as server:
        yield server


def _version_seconds(api: ApiServer) -> float:
    client = api.client(timeout=30.0)
    start = time.perf_counter()
    assert client.version()["version"]
    return time.perf_counter() - start


def test_api_and_other_connections_answer_while_a_slicer_streams(api: ApiServer) -> None:
    """/version and a round trip on another connection answer within 1 s during a 1-byte-slice stream."""
    server, port = api.call(_start())
    try:
        proxy = api.client().create("sliced", f"127.0.0.1:{port}")
        proxy.add("slicer", average_size=1, size_variation=0, delay=0)
        idle = statistics.median(_version_seconds(api) for _ in range(5))
        streaming = threading.Event()
        stop = threading.Event()
        received = [0]

        def read() -> None:
            with connect(proxy.port, timeout=30.0) as sock:
                sock.sendall(b"blast")
                while not stop.is_set():
                    got = sock.recv(1 << 16)
                    if not got:
                        return
                    received[0] += len(got)
                    streaming.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert streaming.wait(30.0), "the body never started to stream"
        busy = [_version_seconds(api) for _ in range(5)]
        with connect(proxy.port, timeout=30.0) as other:
            start = time.perf_counter()
            other.sendall(b"ping")
            assert recv_exactly(other, 4) == b"ping"
            round_trip = time.perf_counter() - start
        still_streaming = received[0] < BODY
        stop.set()
        proxy.delete()
        reader.join(timeout=30.0)
    finally:
        api.call(_stop(server))
    print(
        f"/version idle median {idle * 1000:.1f} ms, while streaming max {max(busy) * 1000:.1f} ms "
        f"(x{max(busy) / idle:.1f}); other connection round trip {round_trip * 1000:.1f} ms; "
        f"{received[0]} of {BODY} bytes streamed meanwhile"
    )
    assert still_streaming, "the body finished before the API was measured: measure nothing"
    assert max(busy) < PROMPT
    assert round_trip < PROMPT


def test_slicer_plans_a_large_chunk_in_bounded_parts() -> None:
    """plan_bytes bounds one plan to MAX_PIECES pieces, whatever the slice size and variation."""
    import random

    from harness.faults.toxics import MAX_PIECES, Piece, Toxic, ToxicState

    for average, variation in ((1, 0), (3, 2), (100, 10)):
        state = ToxicState(
            Toxic.make("slicer", average_size=average, size_variation=variation), random.Random(1)
        )
        limit = state.plan_bytes()
        assert limit is not None
        pieces = state.plan([Piece(0.0, b"x" * limit)])
        assert len(pieces) <= MAX_PIECES
    latency = ToxicState(Toxic.make("latency", latency=5), random.Random(1))
    assert latency.plan_bytes() is None
