"""The 'service' behind a callable adapter: a lookup with a bug for some items."""

from __future__ import annotations

from typing import Any

PRICES = {f"item-{i}": i for i in range(50)}


def lookup(item: str) -> dict[str, Any]:
    """The item's price; items past item-49 are missing (a KeyError from the service's own code)."""
    return {"item": item, "price": PRICES[item]}
