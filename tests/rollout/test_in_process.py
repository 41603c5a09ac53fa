"""Flows around real async callables: router, window builder and controllers on virtual time."""

import asyncio
import random
from typing import Any

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.rollout import (
    Action,
    CanaryFlow,
    MirrorConfig,
    Outcome,
    Router,
    ShadowConfig,
    ShadowFlow,
    WindowBuilder,
)
from harness.seeding import Seeds

from ._helpers import canary_config


def _service(rng: random.Random, *, slow: float, error_rate: float, price_bug: bool = False) -> Any:
    async def handle(req: int) -> dict[str, Any]:
        await asyncio.sleep(rng.lognormvariate(-3.0, 0.4) * slow)
        if rng.random() < error_rate:
            raise RuntimeError("boom")
        price = req % 97 + (1 if price_bug and req % 10 == 0 else 0)
        return {"id": req, "price": price, "served_at": rng.random()}

    return handle


async def _drive_canary(flow: CanaryFlow, handlers: dict[str, Any], seeds: Seeds) -> None:
    router = Router(flow.weights, seed=seeds.int_seed("router"))
    builder = WindowBuilder(rng=seeds.stream("windows"))
    loop = asyncio.get_running_loop()

    async def one(key: str, req: int) -> None:
        version = router.route(key)
        t0 = loop.time()
        try:
            await router.call(key, req, handlers)
        except RuntimeError:
            builder.record(version, latency=loop.time() - t0, error=True)
        else:
            builder.record(version, latency=loop.time() - t0)

    start, req = loop.time(), 0
    while not flow.terminal:
        await asyncio.gather(*(one(f"user-{req + i}", req + i) for i in range(1500)))
        req += 1500
        await asyncio.sleep(max(0.0, start + 10 - loop.time()))
        decision = flow.observe(builder.cut(start, loop.time()))
        start = loop.time()
        router.set_weights(decision.weights)


@pytest.mark.parametrize(
    ("slow", "error_rate", "outcome"),
    [(1.0, 0.01, Outcome.PROMOTED), (1.3, 0.01, Outcome.ROLLED_BACK), (1.0, 0.06, Outcome.ROLLED_BACK)],
)
def test_canary_around_real_callables(slow: float, error_rate: float, outcome: Outcome) -> None:
    """Real coroutines behind the router: a good v2 is promoted, a slow or failing one rolled back."""
    seeds = Seeds(42)
    handlers = {
        "v1": _service(seeds.stream("v1"), slow=1.0, error_rate=0.01),
        "v2": _service(seeds.stream("v2"), slow=slow, error_rate=error_rate),
    }
    flow = CanaryFlow(canary_config())
    VirtualClock().run(_drive_canary(flow, handlers, seeds))
    assert flow.outcome is outcome


def test_shadow_around_real_callables_finds_the_price_bug() -> None:
    """Mirrored to a secondary and a candidate, the noisy served_at cancels and the price bug shows."""
    seeds = Seeds(43)
    handlers = {
        "v1": _service(seeds.stream("p"), slow=1.0, error_rate=0.0),
        "v1b": _service(seeds.stream("s"), slow=1.0, error_rate=0.0),
        "v2": _service(seeds.stream("c"), slow=1.0, error_rate=0.0, price_bug=True),
    }
    flow = ShadowFlow(ShadowConfig(primary="v1", candidate="v2", windows=3))
    builder = WindowBuilder(secondary="v1b", candidate="v2")

    async def main() -> None:
        router = Router(
            {"v1": 100},
            seed=1,
            shadows=("v1b", "v2"),
            on_mirror=builder.on_mirror,
            mirror=MirrorConfig(max_concurrency=1000),
        )
        for w in range(3):
            await asyncio.gather(*(router.call(f"k{w}-{i}", w * 1000 + i, handlers) for i in range(400)))
            await router.drain()
            flow.observe(builder.cut(10.0 * w, 10.0 * w + 10))

    VirtualClock().run(main())
    assert flow.outcome is Outcome.REJECTED
    regressions = [r.field for r in flow.report() if r.regression]
    assert regressions == ["price"]
    served_at = next(r for r in flow.report() if r.field == "served_at")
    assert served_at.candidate_rate > 0.99
    assert not served_at.regression
    assert flow.observe(builder.cut(30, 40)).action is Action.ABORT


def test_window_builder_bounds_samples_and_validates() -> None:
    """Reservoir sampling caps kept latencies; counts stay exact; bad settings are rejected."""
    builder = WindowBuilder(max_samples=100, rng=Seeds(1).stream("b"))
    for i in range(10_000):
        builder.record("v1", latency=i / 10_000, error=i % 100 == 0, metrics={"cpu": 1.0})
    w = builder.cut(0, 10)
    vw = w.version("v1")
    assert (vw.requests, vw.errors, vw.latencies.size) == (10_000, 100, 100)
    assert 0.3 < float(vw.latencies.mean()) < 0.7
    assert vw.metrics["cpu"].size == 10_000
    assert builder.cut(10, 20).versions == {}
    with pytest.raises(InvalidConfig, match="max_samples"):
        WindowBuilder(max_samples=0)
    with pytest.raises(InvalidConfig, match="both secondary and candidate"):
        WindowBuilder(secondary="a")
