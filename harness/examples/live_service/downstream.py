"""The downstream price service the live sample service calls: deterministic prices over HTTP."""

from __future__ import annotations

import hashlib

from aiohttp import web

__all__ = ["make_downstream", "price_of"]


def price_of(item: str) -> float:
    """The price of ``item`` in the downstream's catalogue (the same for every instance and run)."""
    digest = hashlib.sha256(item.encode()).digest()
    return round(1.0 + int.from_bytes(digest[:4], "big") % 10_000 / 100.0, 2)


async def _price(request: web.Request) -> web.Response:
    item = request.query.get("item", "")
    if not item:
        return web.json_response({"error": "item is required"}, status=400)
    return web.json_response({"item": item, "price": price_of(item)})


async def _health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_downstream() -> web.Application:
    """``GET /price?item=NAME`` -> ``{"item": NAME, "price": P}``; ``GET /health``."""
    app = web.Application()
    app.router.add_get("/price", _price)
    app.router.add_get("/health", _health)
    return app
