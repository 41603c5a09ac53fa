"""Callable versions for live-engine tests on virtual time: they wait only on the clock they get."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from harness.clock import Clock

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _fixed(seconds: float) -> Callable[[random.Random, Clock], Handler]:
    def make(rng: random.Random, clock: Clock) -> Handler:
        async def handle(request: dict[str, Any]) -> dict[str, Any]:
            await clock.sleep(seconds)
            return {"id": request["id"]}

        return handle

    return make


def jittered(rng: random.Random, clock: Clock) -> Handler:
    """About 20 ms, log-normally spread by the version's seeded stream."""

    async def handle(request: dict[str, Any]) -> dict[str, Any]:
        await clock.sleep(rng.lognormvariate(-3.9, 0.3))
        return {"id": request["id"]}

    return handle


fast = _fixed(0.010)
slow = _fixed(0.030)
hanging = _fixed(3600.0)
