"""The shop service: ``GET /products/{sku}``, ``POST /orders``, ``GET /health``.

Configuration comes from the environment when the module is imported, as in many services:

- ``REDIS_URL``: the cache (``redis://127.0.0.1:6379/0``);
- ``CATALOG_URL``: the catalog service that owns prices (``http://127.0.0.1:9100``);
- ``SHOP_VARIANT``: ``good`` (default), or ``no-fallback``: a regression that lets a cache error
  fail the request instead of reading through to the catalog.

The read path is cache-aside: a Redis ``GET`` bounded by :data:`CACHE_TIMEOUT`; on a miss the
catalog is asked (each attempt bounded by :data:`CATALOG_TIMEOUT`, :data:`CATALOG_ATTEMPTS`
attempts with a short backoff) and the answer cached for :data:`CACHE_TTL` seconds. A cache
failure reads through to the catalog; a catalog failure serves the last price the background
refresher saw (stale but available) and says so. The refresher asks the catalog for the popular
products every :data:`REFRESH_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = [
    "CACHE_TIMEOUT",
    "CACHE_TTL",
    "CATALOG_ATTEMPTS",
    "CATALOG_BACKOFF",
    "CATALOG_TIMEOUT",
    "REFRESH_EVERY",
    "CatalogUnavailable",
    "Shop",
    "app",
    "health",
    "lifespan",
    "order",
    "product",
]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CATALOG_URL = os.environ.get("CATALOG_URL", "http://127.0.0.1:9100")
VARIANT = os.environ.get("SHOP_VARIANT", "good")

CACHE_TIMEOUT = 0.05
CACHE_TTL = 60
CATALOG_TIMEOUT = 0.2
CATALOG_ATTEMPTS = 3
CATALOG_BACKOFF = 0.02
REFRESH_EVERY = 30.0


class CatalogUnavailable(Exception):
    """The catalog did not answer within the attempts allowed."""


class Shop:
    """The service's state: its clients, the stale copy the refresher keeps, and counters."""

    def __init__(self, cache: aioredis.Redis, catalog: httpx.AsyncClient) -> None:
        self.cache = cache
        self.catalog = catalog
        self.stale: dict[str, dict[str, Any]] = {}
        self.counts = {"hits": 0, "misses": 0, "cache_errors": 0, "stale": 0, "refreshes": 0}
        self.refresh_lock = asyncio.Lock()

    async def cached(self, sku: str) -> dict[str, Any] | None:
        """The cached product, or None on a miss; a cache error falls back to a miss (good variant)."""
        try:
            async with asyncio.timeout(CACHE_TIMEOUT):
                raw = await self.cache.get(f"product:{sku}")
        except (RedisError, TimeoutError):
            self.counts["cache_errors"] += 1
            if VARIANT == "no-fallback":
                raise
            return None
        if raw is None:
            self.counts["misses"] += 1
            return None
        self.counts["hits"] += 1
        return dict(json.loads(raw))

    async def remember(self, sku: str, product: dict[str, Any]) -> None:
        """Cache ``product``; a cache that cannot take it is not the request's problem."""
        with contextlib.suppress(RedisError, TimeoutError):
            async with asyncio.timeout(CACHE_TIMEOUT):
                await self.cache.set(f"product:{sku}", json.dumps(product), ex=CACHE_TTL)

    async def from_catalog(self, path: str) -> Any:
        """GET ``path`` from the catalog with a timeout per attempt and retries with backoff."""
        last: Exception | None = None
        for attempt in range(CATALOG_ATTEMPTS):
            try:
                response = await self.catalog.get(path, timeout=CATALOG_TIMEOUT)
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.json()
                last = CatalogUnavailable(f"catalog answered {response.status_code}")
            except httpx.TransportError as exc:  # timeouts, refused and reset connections
                last = exc
            await asyncio.sleep(CATALOG_BACKOFF * (2**attempt))
        raise CatalogUnavailable(f"catalog failed {CATALOG_ATTEMPTS} times: {last!r}")

    async def product(self, sku: str) -> tuple[dict[str, Any], str]:
        """The product and where it came from: cache, catalog or stale."""
        found = await self.cached(sku)
        if found is not None:
            return found, "cache"
        try:
            product = dict(await self.from_catalog(f"/catalog/{sku}"))
        except CatalogUnavailable:
            if sku in self.stale:
                self.counts["stale"] += 1
                return self.stale[sku], "stale"
            raise
        await self.remember(sku, product)
        return product, "catalog"

    async def refresh(self) -> None:
        """Warm the stale copy (and the cache) with the popular products."""
        async with self.refresh_lock:
            try:
                popular = await self.from_catalog("/catalog/popular")
            except CatalogUnavailable:
                return
            for product in popular:
                self.stale[product["sku"]] = product
                await self.remember(product["sku"], product)
            self.counts["refreshes"] += 1


async def _refresher(shop: Shop) -> None:
    while True:
        await shop.refresh()
        await asyncio.sleep(REFRESH_EVERY)


def _shop(request: Request) -> Shop:
    shop: Shop = request.state.shop
    return shop


async def product(request: Request) -> JSONResponse:
    """``GET /products/{sku}``: the product with its price, 503 when nothing can tell it."""
    sku = request.path_params["sku"]
    try:
        found, source = await _shop(request).product(sku)
    except CatalogUnavailable:
        return JSONResponse({"error": "catalog unavailable"}, status_code=503)
    return JSONResponse({**found, "source": source})


async def order(request: Request) -> JSONResponse:
    """``POST /orders`` with ``{"item": sku, "quantity": n}``: the order's total."""
    body = await request.json()
    sku, quantity = str(body["item"]), int(body.get("quantity", 1))
    try:
        found, source = await _shop(request).product(sku)
    except CatalogUnavailable:
        return JSONResponse({"ok": False, "error": "catalog unavailable"}, status_code=503)
    return JSONResponse({"ok": True, "sku": sku, "total": found["price"] * quantity, "source": source})


async def health(request: Request) -> JSONResponse:
    """``GET /health``: counters of the read path."""
    return JSONResponse({"ok": True, "variant": VARIANT, **_shop(request).counts})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    """Open the clients, start the refresher; close both at shutdown."""
    cache = aioredis.from_url(REDIS_URL, socket_timeout=1.0)
    catalog = httpx.AsyncClient(base_url=CATALOG_URL)
    shop = Shop(cache, catalog)
    refresher = asyncio.create_task(_refresher(shop))
    try:
        yield {"shop": shop}
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await catalog.aclose()
        await cache.aclose()


app = Starlette(
    routes=[
        Route("/products/{sku}", product, methods=["GET"]),
        Route("/orders", order, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ],
    lifespan=lifespan,
)
