"""Functions and classes the fault-injection tests patch by dotted path."""

from __future__ import annotations


def fetch(key: str) -> str:
    """A synchronous dependency."""
    return f"value:{key}"


async def afetch(key: str) -> str:
    """An asynchronous dependency."""
    return f"avalue:{key}"


class Cache:
    """A class whose methods are patched."""

    def get(self, key: str) -> str:
        return f"cache:{key}"

    @staticmethod
    def version() -> int:
        return 1

    @classmethod
    def make(cls) -> Cache:
        return cls()
