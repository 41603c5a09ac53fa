"""The same seed replays toxicity and jitter decisions per connection; another seed does not."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.faults import FaultProxy, Toxic


class _Echo:
    """An echo server that waits for its handlers when stopped."""

    def __init__(self) -> None:
        self.handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            await writer.wait_closed()


async def _run(seed: int, connections: int = 12) -> list[dict[str, Any]]:
    echo = _Echo()
    server = await asyncio.start_server(echo.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = FaultProxy("db", f"127.0.0.1:{port}", seed=seed)
    await proxy.start()
    proxy.add_toxic(Toxic.make("latency", latency=2, jitter=2, toxicity=0.5))
    proxy.add_toxic(Toxic.make("slicer", stream="upstream", average_size=4, size_variation=3, toxicity=0.7))
    host, _, lport = proxy.listen.rpartition(":")
    writers = []
    try:
        for _ in range(connections):
            reader, writer = await asyncio.open_connection(host, int(lport))
            writers.append(writer)
            for message in (b"ping-one", b"ping-two", b"ping-three"):
                writer.write(message)
                await reader.readexactly(len(message))
        return proxy.decisions()
    finally:
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        await proxy.stop()
        server.close()
        await asyncio.wait_for(asyncio.gather(*echo.handlers, return_exceptions=True), 5)
        await server.wait_closed()


async def test_same_seed_same_decisions_and_draws() -> None:
    """Two runs with one seed agree on every toxicity decision and every jitter/slice draw."""
    first = await _run(42)
    second = await _run(42)
    assert first == second
    applied = [d["applies"] for d in first]
    assert True in applied
    assert False in applied
    assert any(d["draws"] for d in first)


async def test_other_seed_other_decisions() -> None:
    """A different seed gives a different decision record."""
    assert await _run(42) != await _run(43)


async def test_toxicity_rate_matches_probability() -> None:
    """Across connections a toxicity of 0.5 applies to about half of them."""
    decisions = await _run(7, connections=40)
    latency = [d["applies"] for d in decisions if d["toxic"] == "latency_downstream"]
    assert len(latency) == 40
    assert 10 <= sum(latency) <= 30


def test_latency_toxic_runs_on_virtual_time() -> None:
    """On a virtual clock a 30 s latency toxic takes 30 s of clock time and no wall time."""
    import time

    from harness.clock import VirtualClock

    clock = VirtualClock()

    async def main() -> float:
        echo = _Echo()
        server = await asyncio.start_server(echo.handle, "127.0.0.1", 0)
        proxy = FaultProxy("slow", f"127.0.0.1:{server.sockets[0].getsockname()[1]}", clock=clock)
        await proxy.start()
        proxy.add_toxic(Toxic.make("latency", latency=30_000))
        host, _, port = proxy.listen.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        start = clock.now()
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        elapsed = clock.now() - start
        writer.close()
        await writer.wait_closed()
        await proxy.stop()
        server.close()
        await asyncio.wait_for(asyncio.gather(*echo.handlers, return_exceptions=True), 5)
        return elapsed

    wall = time.perf_counter()
    elapsed = clock.run(main())
    assert 30.0 <= elapsed < 31.0
    assert time.perf_counter() - wall < 5.0
