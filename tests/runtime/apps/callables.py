"""Callable versions for real-code engine tests: concurrency, timeouts, forbidden calls, adapter bugs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def locked(rng: random.Random, clock: Any) -> Handler:
    """Every request holds one lock for 100 ms: concurrent requests queue behind each other."""
    lock = asyncio.Lock()

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        async with lock:
            await asyncio.sleep(0.1)
        return {"ok": True}

    return handle


def timing_out(rng: random.Random, clock: Any) -> Handler:
    """Odd requests wait 1 s inside a 50 ms asyncio.timeout, which fires; even ones answer at once."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        async with asyncio.timeout(0.05):
            if request["id"] % 2:
                await asyncio.sleep(1.0)
        return {"ok": True}

    return handle


def background(rng: random.Random, clock: Any) -> Handler:
    """A background task ticks every second; each request answers with the ticks so far."""
    ticks = [0]
    started: list[asyncio.Task[None]] = []

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            ticks[0] += 1

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        if not started:
            started.append(asyncio.get_running_loop().create_task(tick()))
        return {"ticks": ticks[0], "now": time.monotonic()}

    return handle


def connects(rng: random.Random, clock: Any) -> Handler:
    """Opens a real socket (and swallows the error, as fallback code would)."""

    async def handle(request: dict[str, Any]) -> None:
        with contextlib.suppress(Exception), socket.socket() as sock:
            sock.connect(("127.0.0.1", 9))

    return handle


def resolves(rng: random.Random, clock: Any) -> Handler:
    """Resolves a host name."""

    async def handle(request: dict[str, Any]) -> None:
        socket.getaddrinfo("example.invalid", 80)

    return handle


def threads(rng: random.Random, clock: Any) -> Handler:
    """Starts a thread."""

    async def handle(request: dict[str, Any]) -> None:
        threading.Thread(target=lambda: None).start()

    return handle


def to_thread(rng: random.Random, clock: Any) -> Handler:
    """Hands work to a worker thread through asyncio."""

    async def handle(request: dict[str, Any]) -> None:
        await asyncio.to_thread(lambda: None)

    return handle


def sleeps(rng: random.Random, clock: Any) -> Handler:
    """Blocks the loop with time.sleep."""

    async def handle(request: dict[str, Any]) -> None:
        time.sleep(0.01)  # noqa: ASYNC251 - the forbidden call under test

    return handle


def opens_connection(rng: random.Random, clock: Any) -> Handler:
    """Opens an asyncio connection."""

    async def handle(request: dict[str, Any]) -> None:
        await asyncio.open_connection("127.0.0.1", 9)

    return handle


def uuid_one(rng: random.Random, clock: Any) -> Handler:
    """Makes a time-based UUID."""

    async def handle(request: dict[str, Any]) -> str:
        return str(uuid.uuid1())

    return handle


def reads_clocks(rng: random.Random, clock: Any) -> Handler:
    """Reads time.time, time.monotonic, random and uuid4: all of them the run's."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        return {
            "time": time.time(),
            "monotonic": time.monotonic(),
            "random": random.random(),
            "uuid": str(uuid.uuid4()),
        }

    return handle


def wall_clock(rng: random.Random, clock: Any) -> Handler:
    """Deliberately not deterministic: fails on odd microseconds of the wall clock."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        now = datetime.datetime.now(tz=datetime.UTC)
        if now.microsecond % 2:
            raise ConnectionError("odd microsecond")
        return {"at": now.isoformat()}

    return handle


def typo(rng: random.Random, clock: Any) -> Handler:
    """An adapter bug: it reads a request field that does not exist."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        return {"item": request["itme"]}

    return handle


def failing_service(rng: random.Random, clock: Any) -> Handler:
    """A service whose own code path raises KeyError (a bug in the service, not the adapter)."""
    from tests.runtime.apps.service_code import lookup

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        return lookup(str(request["item"]))

    return handle


def declared(rng: random.Random, clock: Any) -> Handler:
    """Raises ValueError on every third request (declared as its failure in the scenario)."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request["id"] % 3 == 0:
            raise ValueError("out of stock")
        return {"ok": True}

    return handle
