"""The live sample service: ``GET /price?item=NAME`` through a Redis cache to the downstream."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = ["CACHE_TTL", "LiveVersion", "ServiceMetrics", "make_app"]

CACHE_TTL = 5
"""Seconds a cached price lives."""
_REDIS_TIMEOUT = 1.0  # seconds; a Redis that is gone refuses or resets at once, a slow one waits this long
_DOWNSTREAM_TIMEOUT = 5.0
_SLOW_EXTRA = 0.02  # seconds the slow version adds to every request
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LiveVersion(enum.StrEnum):
    """The versions of the live sample service (see the package docstring)."""

    GOOD = "good"
    SLOW = "slow"
    LEAKY_FALLBACK = "leaky-fallback"
    NO_FALLBACK = "no-fallback"


@dataclass(slots=True)
class ServiceMetrics:
    """The service's Prometheus metrics, in a registry of their own."""

    registry: CollectorRegistry
    requests: Counter
    duration: Histogram

    @classmethod
    def create(cls) -> ServiceMetrics:
        """Fresh metrics: the request counter and the duration histogram, labelled by version."""
        registry = CollectorRegistry()
        requests = Counter(
            "sample_requests",
            "Requests answered, by version and status.",
            ["version", "status"],
            registry=registry,
        )
        duration = Histogram(
            "sample_request_duration_seconds",
            "Time to answer a request, by version.",
            ["version"],
            buckets=_BUCKETS,
            registry=registry,
        )
        return cls(registry, requests, duration)


class _Prices:
    """The price lookup of one version: cache, downstream and the version's fallback."""

    def __init__(self, version: LiveVersion, cache: aioredis.Redis, downstream: str) -> None:
        self.version = version
        self.cache = cache
        self.downstream = downstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def fetch(self, item: str) -> float:
        assert self.session is not None
        url = f"{self.downstream}/price"
        timeout = aiohttp.ClientTimeout(total=_DOWNSTREAM_TIMEOUT)
        async with self.session.get(url, params={"item": item}, timeout=timeout) as resp:
            resp.raise_for_status()
            body = await resp.json()
        return float(body["price"])

    async def lookup(self, item: str) -> tuple[int, dict[str, object]]:
        """The status and JSON body answering a request for ``item``."""
        if self.version is LiveVersion.SLOW:
            await asyncio.sleep(_SLOW_EXTRA)
            return 200, {"item": item, "price": await self.fetch(item)}
        key = f"price:{item}"
        try:
            cached = await self.cache.get(key)
        except (RedisError, OSError):
            return await self._cache_down(item)
        if cached is not None:
            return 200, {"item": item, "price": float(cached)}
        price = await self.fetch(item)
        with contextlib.suppress(RedisError, OSError):  # the answer stands; the next request retries
            await self.cache.set(key, price, ex=CACHE_TTL)
        return 200, {"item": item, "price": price}

    async def _cache_down(self, item: str) -> tuple[int, dict[str, object]]:
        if self.version is LiveVersion.NO_FALLBACK:
            return 500, {"error": "cache unavailable"}
        if self.version is LiveVersion.LEAKY_FALLBACK:
            return 200, {"item": item, "price": None}
        return 200, {"item": item, "price": await self.fetch(item)}


def make_app(version: LiveVersion | str, *, redis_url: str, downstream_url: str) -> web.Application:
    """The service for ``version``, caching in the Redis at ``redis_url``, pricing at ``downstream_url``."""
    chosen = LiveVersion(version)
    metrics = ServiceMetrics.create()
    cache = aioredis.Redis.from_url(
        redis_url,
        socket_timeout=_REDIS_TIMEOUT,
        socket_connect_timeout=_REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # a failed call falls back at once instead of retrying
    )
    prices = _Prices(chosen, cache, downstream_url)

    async def price(request: web.Request) -> web.Response:
        started = time.perf_counter()
        item = request.query.get("item", "")
        body: dict[str, object]
        if not item:
            status, body = 400, {"error": "item is required"}
        else:
            try:
                status, body = await prices.lookup(item)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, body = 502, {"error": f"downstream: {type(exc).__name__}"}
        metrics.requests.labels(chosen.value, str(status)).inc()
        metrics.duration.labels(chosen.value).observe(time.perf_counter() - started)
        return web.json_response(body, status=status)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def exported(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        prices.session = aiohttp.ClientSession()
        yield
        await prices.session.close()
        await cache.aclose()

    app = web.Application()
    app.router.add_get("/price", price)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", exported)
    app.cleanup_ctx.append(lifecycle)
    return app
