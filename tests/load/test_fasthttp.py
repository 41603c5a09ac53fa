"""FastHttpTarget: the lean keep-alive client reads lengths, chunks and closes correctly."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiohttp import web

from harness.errors import InvalidConfig
from harness.examples.sample_service import serve
from harness.load import ConstantArrival, DriverConfig, FastHttpTarget, OpenModelDriver, RemoteTargetRefused


async def _app_server(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_reads_content_length_responses_and_reuses_connections() -> None:
    """Sequential requests share one connection; statuses come back as labels."""
    async with serve(rng=random.Random(1)) as service:
        target = FastHttpTarget(service.url + "/v/good/checkout?item=pen&quantity=2")
        await target.open(1)
        results = [await target.send() for _ in range(20)]
        await target.close()
    assert results == [(True, "200")] * 20
    assert len(service.stats.arrivals) == 20


async def test_reads_chunked_bodies_and_honours_connection_close() -> None:
    """Chunked bodies split over several writes are read whole; Connection: close is not reused."""
    connections: set[int] = set()

    async def chunked(request: web.Request) -> web.StreamResponse:
        connections.add(id(request.transport))
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b"a" * 3000, b"b" * 10, b"c"):
            await resp.write(part)
            await asyncio.sleep(0)
        await resp.write_eof()
        return resp

    async def closing(_: web.Request) -> web.Response:
        return web.Response(text="bye", status=503, headers={"Connection": "close"})

    app = web.Application()
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/close", closing)
    runner, url = await _app_server(app)
    try:
        target = FastHttpTarget(url + "/chunked")
        await target.open(1)
        assert [await target.send() for _ in range(5)] == [(True, "200")] * 5
        await target.close()
        assert len(connections) == 1
        closer = FastHttpTarget(url + "/close")
        await closer.open(1)
        assert [await closer.send() for _ in range(3)] == [(False, "503")] * 3
        await closer.close()
    finally:
        await runner.cleanup()


async def test_connection_refused_and_timeouts_are_labelled() -> None:
    """A closed port and a server that never answers give labelled errors within the timeout."""
    refused = FastHttpTarget("http://127.0.0.1:9/")
    await refused.open(1)
    assert await refused.send() == (False, "ConnectionRefusedError")

    release = asyncio.Event()

    async def silent(_: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/", silent)
    runner, url = await _app_server(app)
    try:
        target = FastHttpTarget(url + "/", timeout=0.2)
        await target.open(1)
        assert await target.send() == (False, "TimeoutError")
        await target.close()
    finally:
        release.set()
        await runner.cleanup()


async def test_drives_the_sample_service_at_the_planned_rate() -> None:
    """Under the driver, every planned request is sent and answered."""
    async with serve(rng=random.Random(2)) as service:
        config = DriverConfig(profile=ConstantArrival(rate=300, duration=1), connections=8)
        result = await OpenModelDriver(config, FastHttpTarget(service.url + "/ping")).run()
    assert result.completed == 300
    assert result.statuses == {"200": 300}


def test_refuses_https_and_remote_hosts() -> None:
    """Plain http on loopback only (https needs HttpTarget; remote needs allow_remote)."""
    with pytest.raises(InvalidConfig, match="use HttpTarget for https"):
        FastHttpTarget("https://127.0.0.1/")
    with pytest.raises(RemoteTargetRefused):
        FastHttpTarget("http://198.51.100.7/")
    with pytest.raises(InvalidConfig, match="timeout=0"):
        FastHttpTarget("http://127.0.0.1/", timeout=0)
