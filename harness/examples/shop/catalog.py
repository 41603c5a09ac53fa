"""The catalog service the shop calls, as a handler (simulated) and as a Starlette app (live).

``make(rng, clock)`` is the scenario factory for a simulated HTTP dependency
(``simulate: {callable: {target: harness.examples.shop.catalog:make}}``): the handler answers
``/catalog/popular`` and ``/catalog/{sku}`` with a price that depends only on the SKU.
``app`` serves the same answers over HTTP for live runs (``uvicorn harness.examples.shop.catalog:app``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["POPULAR", "answer", "app", "make", "price_of"]

POPULAR = [f"item-{i}" for i in range(10)]


def price_of(sku: str) -> float:
    """A stable price for ``sku`` (cents precision)."""
    digest = hashlib.sha256(sku.encode()).digest()
    return round(1 + int.from_bytes(digest[:2], "big") / 100, 2)


def answer(path: str) -> tuple[int, Any]:
    """The status and body for ``path``."""
    if path == "/catalog/popular":
        return 200, [{"sku": sku, "price": price_of(sku)} for sku in POPULAR]
    if path.startswith("/catalog/"):
        sku = path.removeprefix("/catalog/")
        return 200, {"sku": sku, "price": price_of(sku)}
    return 404, {"error": "not found"}


def make(rng: random.Random, clock: Any) -> Any:
    """A simulated catalog: answers from :func:`answer`."""

    def handle(request: Mapping[str, Any]) -> tuple[int, Any]:
        return answer(str(request["path"]))

    return handle


async def _serve(request: Request) -> JSONResponse:
    status, body = answer(request.url.path)
    return JSONResponse(body, status_code=status)


app = Starlette(routes=[Route("/catalog/{rest:path}", _serve)])
