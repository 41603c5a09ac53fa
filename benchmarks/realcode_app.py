"""A realistic small ASGI app for the real-code benchmark: a router, a JSON body, one Redis read
and one downstream call per request (Starlette, redis.asyncio, httpx)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def quote(request: Request) -> JSONResponse:
    """``POST /quote/{sku}`` with ``{"quantity": n}``: cached discount + downstream price."""
    body = await request.json()
    sku = request.path_params["sku"]
    state = request.state
    discount = await state.redis.get(f"discount:{sku}")
    price = (await state.http.get(f"/price/{sku}")).json()["price"]
    total = price * int(body.get("quantity", 1)) * (1 - float(discount or 0))
    return JSONResponse({"sku": sku, "total": round(total, 2)})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    """The clients; a few discounts in the cache."""
    redis = aioredis.from_url(os.environ["REDIS_URL"])
    http = httpx.AsyncClient(base_url=os.environ["PRICES_URL"], timeout=1.0)
    for i in range(0, 97, 3):
        await redis.set(f"discount:item-{i}", json.dumps(0.1))
    yield {"redis": redis, "http": http}
    await http.aclose()
    await redis.aclose()


app = Starlette(routes=[Route("/quote/{sku}", quote, methods=["POST"])], lifespan=lifespan)


def prices(rng: Any, clock: Any) -> Any:
    """The downstream: a price per SKU."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        return {"price": 10.0 + len(str(request["path"]))}

    return handle
